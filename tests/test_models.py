"""Model cards and the torch adapter: content-keyed activation cache (identical, reused, safe under
concurrent processes, corruption recomputed), visual-degree placement, and clear refusals."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from PIL import Image

from brainscore_registry import UserInputError
from brainscore_registry.benchmarks.screen import GREY, PlacedStimuli, place
from brainscore_registry.models.activation_cache import ActivationCache
from brainscore_registry.models.model_card import load_card
from brainscore_registry.models.torch_model import TorchBrainModel
from brainscore_registry.runs.records import read_record
from brainscore_registry.runs.reproduction import tolerance_for
from brainscore_registry.store.loading import load_stimulus_set

from .scoring_setup import CONVNET, WIDENET, build_benchmark_registry


@pytest.fixture(scope="module")
def bench_registry(tmp_path_factory):
    return build_benchmark_registry(tmp_path_factory.mktemp("bench"))


@pytest.fixture
def placed(bench_registry):
    entry = bench_registry.catalog.read_entry("Synthetic2026.images")
    return PlacedStimuli.of(load_stimulus_set(entry.latest.version, registry=bench_registry), 8, 8)


def _it_responses(card, placed, cache):
    model = TorchBrainModel(load_card(card), device="cpu", cache=cache)
    model.start_recording("IT", [(70, 170)])
    return model, model.look_at(placed)


def test_a_second_identical_request_comes_from_the_cache(placed, tmp_path):
    cache = ActivationCache(tmp_path / "cache")
    first_model, first = _it_responses(CONVNET, placed, cache)
    second_model, second = _it_responses(CONVNET, placed, cache)
    assert first_model.cache_hits == 0 and second_model.cache_hits == 1
    assert second_model._network is None  # not even built: no forward pass
    np.testing.assert_array_equal(first.values, second.values)
    assert first.dims == ("presentation", "neuroid", "time_bin")


def test_the_key_is_content_not_names(placed, tmp_path):
    cache = ActivationCache(tmp_path / "cache")
    _it_responses(CONVNET, placed, cache)
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / "model.py").write_text(
        (CONVNET.parent / "model.py").read_text().replace("build(seed: int = 0)", "build(seed: int = 7)")
    )
    (copy / "card.yaml").write_text(CONVNET.read_text())  # same name, same card, other network
    model, _ = _it_responses(copy / "card.yaml", placed, cache)
    assert model.cache_hits == 0
    moved = PlacedStimuli.of(placed.stimulus_set, 4, 8)  # other placement: other pixels
    model = TorchBrainModel(load_card(CONVNET), device="cpu", cache=cache)
    model.start_recording("IT", [(70, 170)])
    model.look_at(moved)
    assert model.cache_hits == 0


def test_a_corrupted_entry_is_detected_and_recomputed(placed, tmp_path):
    cache = ActivationCache(tmp_path / "cache")
    _, first = _it_responses(CONVNET, placed, cache)
    [entry] = list((tmp_path / "cache").rglob("*.npz"))
    data = bytearray(entry.read_bytes())
    data[len(data) // 2] ^= 0xFF
    entry.write_bytes(bytes(data))
    model, again = _it_responses(CONVNET, placed, cache)
    assert model.cache_hits == 0  # not used
    np.testing.assert_array_equal(first.values, again.values)
    assert cache.get(next((tmp_path / "cache").rglob("*.npz")).stem) is not None  # rewritten whole


def test_four_concurrent_processes_leave_a_valid_cache(bench_registry, tmp_path):
    script = tmp_path / "score.py"
    script.write_text(
        "import sys, json\n"
        "from brainscore_registry.store.registry import Registry\n"
        "from brainscore_registry.store.loading import load_stimulus_set\n"
        "from brainscore_registry.models.model_card import load_card\n"
        "from brainscore_registry.benchmarks.screen import PlacedStimuli\n"
        "from brainscore_registry.models.torch_model import TorchBrainModel\n"
        "reg = Registry(sys.argv[1])\n"
        "stimuli = load_stimulus_set(reg.catalog.read_entry('Synthetic2026.images').latest.version, registry=reg)\n"
        "model = TorchBrainModel(load_card(sys.argv[2]), device='cpu')\n"
        "model.start_recording('IT', [(70, 170)])\n"
        "values = model.look_at(PlacedStimuli.of(stimuli, 8, 8)).values\n"
        "print(json.dumps(float(values.sum())))\n"
    )
    env = {**os.environ, "BSR_HOME": str(tmp_path / "home"), "OMP_NUM_THREADS": "1"}
    processes = [
        subprocess.Popen(
            [sys.executable, script, bench_registry.root, CONVNET], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
        )
        for _ in range(4)
    ]
    outputs = [p.communicate(timeout=300) for p in processes]
    assert all(p.returncode == 0 for p in processes), [o[1].decode()[-2000:] for o in outputs]
    sums = {json.loads(o[0]) for o in outputs}
    assert len(sums) == 1
    home = tmp_path / "home"  # the processes' BSR_HOME: their cache and the one HMAC secret they agreed on
    cache = ActivationCache(home / "cache" / "activations", secret_file=home / "keys" / "cache.key")
    entries = list(cache.directory.rglob("*.npz"))
    assert len(entries) == 1 and cache.get(entries[0].stem) is not None
    assert not list(cache.directory.rglob("*.tmp"))
    assert [p.name for p in (home / "keys").iterdir()] == ["cache.key"]  # no staged secret left behind


def test_placement_follows_brain_score():
    image = Image.new("RGB", (40, 40), (255, 0, 0))
    larger = place(image, 2.0)  # the model sees twice the stimulus' degrees: image on grey, unscaled
    assert larger.size == (80, 80) and larger.getpixel((0, 0)) == GREY and larger.getpixel((40, 40)) == (255, 0, 0)
    smaller = place(image, 0.5)  # the model sees half: the centre crop
    assert smaller.size == (20, 20)


def _card(tmp_path: Path, **changes) -> Path:
    card = yaml.safe_load(CONVNET.read_text())
    card.update(changes)
    directory = tmp_path / "bad"
    directory.mkdir(exist_ok=True)
    (directory / "model.py").write_text((CONVNET.parent / "model.py").read_text())
    (directory / "card.yaml").write_text(yaml.safe_dump(card))
    return directory / "card.yaml"


def test_bad_cards_say_what_and_where(tmp_path, placed):
    with pytest.raises(UserInputError, match="unknown key 'layer'"):
        load_card(_card(tmp_path, layer={"IT": "stage4"}))
    with pytest.raises(UserInputError, match="field 'factory'.*nowhere.py does not exist"):
        load_card(_card(tmp_path, factory="nowhere.py:build"))
    raising = _card(tmp_path, factory="model.py:build")
    (raising.parent / "model.py").write_text("def build():\n    raise RuntimeError('no GPU here')\n")
    with pytest.raises(UserInputError, match="model.py:build raised RuntimeError: no GPU here"):
        load_card(raising).build()
    model = TorchBrainModel(
        load_card(_card(tmp_path, layers={"IT": "stage9"})), device="cpu", cache=ActivationCache(tmp_path / "c")
    )
    model.start_recording("IT", [(70, 170)])
    with pytest.raises(
        UserInputError,
        match=r"card.yaml: field 'layers': the network has no layer 'stage9'. Did you mean 'stage4'.*Available: stage1, ",
    ):
        model.look_at(placed)
    torch.save(torch.nn.Linear(3, 2).state_dict(), tmp_path / "bad" / "other.pt")
    with pytest.raises(UserInputError, match="the weights do not match the network"):
        load_card(_card(tmp_path, weights="other.pt")).build()


def test_bad_cards_through_the_cli_exit_2(cli, bench_registry, tmp_path):
    card = _card(tmp_path, layers={"IT": "stage9"})
    result = cli("--registry", bench_registry.root, "score", "-b", "Syn.IT-ridge", "-m", card, "--device", "cpu")
    assert result.exit_code == 2 and "Available:" in result.output and "Traceback" not in result.output
    result = cli("--registry", bench_registry.root, "score", "-b", "Syn.IT-ridg", "-m", CONVNET, "--device", "cpu")
    assert result.exit_code == 2 and "Did you mean 'Syn.IT-ridge'" in result.output


def test_reproduce_with_another_thread_count_is_held_to_the_documented_tolerance(cli, bench_registry, tmp_path):
    assert (
        cli(
            "--registry",
            bench_registry.root,
            "score",
            "-b",
            "Syn.IT-ridge",
            "-m",
            WIDENET,
            "--device",
            "cpu",
            "--out",
            tmp_path / "r.json",
        ).exit_code
        == 0
    )
    record = read_record(tmp_path / "r.json")
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1 if threads != 1 else 2)
        result = cli(
            "--registry", bench_registry.root, "reproduce", tmp_path / "r.json", "-m", WIDENET, "--device", "cpu", "--json"
        )
    finally:
        torch.set_num_threads(threads)
    report = json.loads(result.stdout)
    assert result.exit_code == 0 and report["tolerance"] == {"setting": "cpu_threads", "value": 1e-6}
    here = record.environment
    assert tolerance_for(record, {**here, "device": "cuda"}) == ("gpu_vs_cpu", 1e-3)
    assert tolerance_for(record, here) == ("same_setting", 0.0)
    other_kernel = [{**b, "architecture": "SomeOtherKernel"} for b in here["blas"]]
    assert here["blas"] and tolerance_for(record, {**here, "blas": other_kernel}) == ("blas_kernel", 1e-6)


def test_safetensors_weights_load_and_count_in_the_identity(tmp_path):
    from safetensors.torch import save_file

    card_path = _card(tmp_path, weights="weights.safetensors")
    network = load_card(CONVNET).build()
    save_file({k: v.contiguous() for k, v in network.state_dict().items()}, str(card_path.parent / "weights.safetensors"))
    card = load_card(card_path)
    loaded = card.build()
    for name, value in network.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], value)
    assert card.identity()["weights_sha256"] and card.identity_hash() != load_card(CONVNET).identity_hash()
