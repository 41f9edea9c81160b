"""Standard networks through layer sweeps: which layers are candidates (ResNet-18, the example models,
transformer shapes), how `--layers` names them, the memory bound checked before any work, layers a
metric cannot use skipped with a note and no record, and several models in one `bsr score`."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from torch import nn

from brainscore_registry import UserInputError
from brainscore_registry.benchmarks.specs import record_versions
from brainscore_registry.models.activations import candidate_layers, extract, probe_layers, select_layers
from brainscore_registry.models.model_card import load_card

from .scoring_setup import CONVNET, EXAMPLES, WIDENET, build_benchmark_registry

RESNET18 = EXAMPLES / "resnet18" / "card.yaml"


@pytest.fixture(scope="module")
def bench_registry(tmp_path_factory):
    """The synthetic benchmarks plus `Syn.IT-pls`: pls needs 25 features, so a 10-unit head is unusable."""
    registry = build_benchmark_registry(tmp_path_factory.mktemp("networks"))
    directory = registry.layout.benchmarks_dir
    spec = yaml.safe_load((directory / "Syn.IT-ridge.yaml").read_text())
    spec.update(id="Syn.IT-pls", metric={"name": "pls", "params": {"stratification_coord": "object_name"}})
    (directory / "Syn.IT-pls.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    record_versions(registry.root)
    return registry


@pytest.fixture
def small_resnet(tmp_path) -> Path:
    """The ResNet-18 example at 32 px with a 10-class head (as the issue's user had): same definition."""
    directory = tmp_path / "resnet18_10"
    shutil.copytree(RESNET18.parent, directory)
    with (directory / "model.py").open("a") as f:
        f.write("\n\ndef build_10():\n    return build(classes=10)\n")
    card = yaml.safe_load(RESNET18.read_text())
    card.update(name="resnet18_10", factory="model.py:build_10")
    card["preprocessing"]["image_size"] = 32
    (directory / "card.yaml").write_text(yaml.safe_dump(card, sort_keys=False))
    return directory / "card.yaml"


def _network(card: Path) -> nn.Module:
    return load_card(card).build()


def _score(cli, registry, *args):
    return cli("--registry", registry.root, "score", "--device", "cpu", "--json", *args)


# -- which layers are candidates -----------------------------------------------------------------


def test_candidates_are_the_blocks_of_resnet18_and_the_example_models():
    assert candidate_layers(_network(RESNET18)) == ["layer1", "layer2", "layer3", "layer4", "avgpool", "fc"]
    assert candidate_layers(_network(CONVNET)) == ["stage1", "stage2", "stage3", "stage4", "pool", "classifier"]
    assert candidate_layers(_network(WIDENET)) == ["stem", "block1", "block2", "head", "out"]


def test_no_activation_batch_norm_or_bare_conv_stem_is_a_candidate():
    network = _network(RESNET18)
    modules = dict(network.named_modules())
    skipped = (nn.ReLU, nn.BatchNorm2d, nn.Conv2d, nn.MaxPool2d)
    assert not [name for name in candidate_layers(network) if isinstance(modules[name], skipped)]
    assert {"conv1", "bn1", "relu", "maxpool"}.isdisjoint(candidate_layers(network))


class _EncoderBlock(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.attention = nn.MultiheadAttention(width, 2, batch_first=True)
        self.mlp = nn.Sequential(nn.Linear(width, 2 * width), nn.GELU(), nn.Linear(2 * width, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.norm(x)
        x = x + self.attention(y, y, y, need_weights=False)[0]
        return x + self.mlp(x)


class _Encoder(nn.Module):  # torchvision's ViT: dropout, a Sequential of blocks, a norm
    def __init__(self, width: int, depth: int) -> None:
        super().__init__()
        self.dropout = nn.Dropout(0.0)
        self.layers = nn.Sequential(*[_EncoderBlock(width) for _ in range(depth)])
        self.ln = nn.LayerNorm(width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.ln(self.layers(self.dropout(x)))


class _ViT(nn.Module):
    def __init__(self, width: int = 16, depth: int = 3) -> None:
        super().__init__()
        self.conv_proj = nn.Conv2d(3, width, 8, 8)
        self.encoder = _Encoder(width, depth)
        self.heads = nn.Sequential()
        self.heads.add_module("head", nn.Linear(width, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = self.encoder(self.conv_proj(x).flatten(2).transpose(1, 2))
        return self.heads(tokens[:, 0])


class _ListEncoder(nn.Module):  # transformers' ViT: an encoder holding only a ModuleList `layer`
    def __init__(self, width: int, depth: int) -> None:
        super().__init__()
        self.layer = nn.ModuleList([_EncoderBlock(width) for _ in range(depth)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.layer:
            x = block(x)
        return x


class _Embeddings(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.patch = nn.Conv2d(3, width, 8, 8)
        self.dropout = nn.Dropout(0.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.patch(x).flatten(2).transpose(1, 2))


class _Backbone(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.embeddings = _Embeddings(width)
        self.encoder = _ListEncoder(width, 2)
        self.layernorm = nn.LayerNorm(width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layernorm(self.encoder(self.embeddings(x)))


class _Classifier(nn.Module):
    def __init__(self, width: int = 16) -> None:
        super().__init__()
        self.vit = _Backbone(width)
        self.classifier = nn.Linear(width, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.vit(x)[:, 0])


def test_transformer_candidates_are_the_encoder_blocks():
    assert candidate_layers(_ViT()) == ["encoder.layers.0", "encoder.layers.1", "encoder.layers.2", "heads"]
    assert candidate_layers(_Classifier()) == ["vit.embeddings", "vit.encoder.layer.0", "vit.encoder.layer.1", "classifier"]
    probes = probe_layers(_ViT(), candidate_layers(_ViT()), 32)
    assert {name: p.units for name, p in probes.items()} == {**{f"encoder.layers.{i}": 16 * 16 for i in range(3)}, "heads": 10}


class _NormAct(nn.BatchNorm2d):  # timm's BatchNormAct2d: a batch norm with an activation inside
    def __init__(self, channels: int) -> None:
        super().__init__(channels)
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(super().forward(x))


class _DenseBlock(nn.ModuleDict):  # torchvision's DenseNet block: a ModuleDict with a forward of its own
    def __init__(self) -> None:
        super().__init__({name: nn.Sequential(nn.Conv2d(4, 4, 3, padding=1), nn.ReLU()) for name in ("a", "b")})

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.values():
            x = layer(x)
        return x


def test_subclassed_steps_stay_steps_and_a_list_with_a_forward_is_a_block():
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)
            self.norm = _NormAct(4)
            self.dense1, self.dense2 = _DenseBlock(), _DenseBlock()
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(4, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fc(self.pool(self.dense2(self.dense1(self.norm(self.conv(x))))).flatten(1))

    assert candidate_layers(Net()) == ["dense1", "dense2", "pool", "fc"]


def test_a_flat_network_falls_back_to_its_children_with_parameters():
    flat = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.Conv2d(4, 4, 3), nn.ReLU())
    assert candidate_layers(flat) == ["0", "2"]


# -- naming layers, sizing them, extracting them --------------------------------------------------


def test_select_layers_takes_all_lists_and_globs_part_by_part():
    network = _network(RESNET18)
    assert select_layers(network, "all") == candidate_layers(network)
    assert select_layers(network, "layer*") == ["layer1", "layer2", "layer3", "layer4"]
    assert select_layers(network, "layer4.*") == ["layer4.0", "layer4.1"]  # '*' stays within one part
    assert select_layers(network, "fc, layer2,layer2") == ["fc", "layer2"]
    with pytest.raises(UserInputError, match=r"'layr\*' matches no layer.*Candidates \(--layers all\): layer1, layer2"):
        select_layers(network, "layr*")
    with pytest.raises(UserInputError, match="'layer9' matches no layer.*Did you mean"):
        select_layers(network, "layer9")
    with pytest.raises(UserInputError, match="empty name"):
        select_layers(network, "layer1,")


def test_one_probe_pass_sizes_every_layer():
    network = _network(RESNET18)
    probes = probe_layers(network, candidate_layers(network), 224)
    units = {name: probe.units for name, probe in probes.items()}
    assert units == {"layer1": 200704, "layer2": 100352, "layer3": 50176, "layer4": 25088, "avgpool": 512, "fc": 1000}
    assert all(probe.calls == 1 and probe.problem is None for probe in probes.values())
    assert probes["layer1"].bytes_for(640) == 640 * 200704 * 4  # 514 MB: the sweep's largest layer at 224 px

    class Unused(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(3, 2, 3)
            self.spare = nn.Linear(2, 2)  # never called by forward

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.conv(x)

    assert probe_layers(Unused(), ["spare"], 8)["spare"].problem == "it does not run in the network's forward pass"


def test_stopping_after_the_layer_gives_the_same_activations():
    from PIL import Image

    card = load_card(RESNET18)
    network = card.build()
    rng = np.random.default_rng(0)
    images = [Image.fromarray(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)) for _ in range(5)]
    settings = dict(count=5, preprocessing=card.card.preprocessing, batch_size=2)
    early = extract(network, ["layer2"], images, stop_early=True, **settings)["layer2"]
    full = extract(network, ["layer2", "fc"], images, **settings)["layer2"]
    np.testing.assert_array_equal(early, full)
    assert early.shape == (5, 25088)


# -- sweeps through the CLI ------------------------------------------------------------------------


def test_resnet18_layers_all_skips_the_head_pls_cannot_use_and_writes_no_record_for_it(cli, bench_registry, small_resnet):
    result = _score(cli, bench_registry, "-b", "Syn.IT-pls", "-m", small_resnet, "--layers", "all")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    scored = [row for row in rows if row["skipped"] is None]
    assert [row["model"] for row in scored] == [
        f"resnet18_10 ({layer})" for layer in ("layer1", "layer2", "layer3", "layer4", "avgpool")
    ]
    [skipped] = [row for row in rows if row["skipped"]]
    assert skipped["layer"] == "fc" and skipped["units"] == 10 and "pls needs at least 25" in skipped["skipped"]
    assert skipped["record"] is None
    records = bench_registry.layout.records_dir
    assert not (records / "Syn.IT-pls--resnet18_10--fc.json").exists()
    for row in scored:
        assert Path(row["record"]).is_file() and -1 <= row["raw"] <= 1 and row["model"] == f"resnet18_10 ({row['layer']})"
    shown = _score(cli, bench_registry, "-b", "Syn.IT-pls", "-m", small_resnet, "--layers", "fc,avgpool")
    assert shown.exit_code == 0
    text = cli(
        "--registry", bench_registry.root, "score", "--device", "cpu", "-b", "Syn.IT-pls", "-m", small_resnet, "--layers", "fc"
    )
    assert text.exit_code == 0 and "skipped" in text.stdout and "(no record)" in text.stdout


def test_a_layer_above_the_bound_is_refused_before_any_record(cli, bench_registry, small_resnet):
    records = bench_registry.layout.records_dir
    before = sorted(records.glob("*.json")) if records.exists() else []
    args = ("-b", "Syn.IT-ridge", "-b", "Syn.IT-pls", "-m", small_resnet, "--layers", "all", "--max-layer-gb", "0.0001")
    result = _score(cli, bench_registry, *args)
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "resnet18_10 (layer1) on Syn.IT-ridge, Syn.IT-pls: 40 stimuli × 4,096 units × 4 bytes = 640.0 KiB" in result.output
    assert "bound of 104.9 KiB" in result.output
    assert "--max-layer-gb" in result.output and "image_size" in result.output
    assert (sorted(records.glob("*.json")) if records.exists() else []) == before
    assert _score(cli, bench_registry, *args[:-2], "--max-layer-gb", "0").exit_code == 2


def test_a_committed_layer_the_metric_cannot_use_is_refused_before_any_record(cli, bench_registry, tmp_path):
    directory = tmp_path / "head"
    shutil.copytree(CONVNET.parent, directory)
    card = yaml.safe_load(CONVNET.read_text())
    card.update(name="convnet4_head", layers={"IT": "classifier"})
    (directory / "card.yaml").write_text(yaml.safe_dump(card))
    result = _score(cli, bench_registry, "-b", "Syn.IT-ridge", "-b", "Syn.IT-pls", "-m", directory / "card.yaml")
    assert result.exit_code == 2 and "pls needs at least 25" in result.output and "field 'layers'" in result.output
    assert not list(bench_registry.layout.records_dir.glob("*convnet4_head*"))


def test_globs_select_layers_and_a_miss_lists_the_candidates(cli, bench_registry):
    result = _score(cli, bench_registry, "-b", "Syn.IT-ridge", "-m", CONVNET, "--layers", "stage*")
    assert result.exit_code == 0, result.output
    assert [row["model"] for row in json.loads(result.stdout)] == [f"convnet4 (stage{i})" for i in range(1, 5)]
    missed = _score(cli, bench_registry, "-b", "Syn.IT-ridge", "-m", CONVNET, "--layers", "block*")
    assert missed.exit_code == 2 and "Candidates (--layers all): stage1, stage2" in missed.output


def test_every_model_given_is_scored(cli, bench_registry):
    result = _score(cli, bench_registry, "-b", "Syn.IT-ridge", "-b", "Syn.IT-rsa", "-m", CONVNET, "-m", WIDENET)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [(row["benchmark"], row["model"]) for row in rows] == [
        ("Syn.IT-ridge", "convnet4 (stage4)"),
        ("Syn.IT-ridge", "widenet (block2)"),
        ("Syn.IT-rsa", "convnet4 (stage4)"),
        ("Syn.IT-rsa", "widenet (block2)"),
    ]
    assert len({row["record"] for row in rows}) == 4
    twice = _score(cli, bench_registry, "-b", "Syn.IT-ridge", "-m", CONVNET, "-m", CONVNET)
    assert twice.exit_code == 2 and "given twice" in twice.output
    one_out = _score(cli, bench_registry, "-b", "Syn.IT-ridge", "-m", CONVNET, "-m", WIDENET, "--out", "r.json")
    assert one_out.exit_code == 2 and "--out names one record" in one_out.output


def test_map_layers_leaves_out_what_pls_cannot_use(cli, bench_registry, tmp_path):
    directory = tmp_path / "card"
    shutil.copytree(CONVNET.parent, directory)
    args = ("--registry", bench_registry.root, "map-layers", "-m", directory / "card.yaml", "-b", "Syn.IT-pls")
    result = cli(*args, "--device", "cpu", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert list(summary["scores"]["IT"]) == ["stage1", "stage2", "stage3", "stage4", "pool"]
    assert "pls needs at least 25" in summary["skipped"]["IT"]["classifier"]
    assert yaml.safe_load((directory / "card.yaml").read_text())["layers"]["IT"] == summary["layers"]["IT"]
    none_left = cli(*args, "--device", "cpu", "--layers", "classifier")
    assert none_left.exit_code == 2 and "no selected layer can be scored for region IT" in none_left.output


def test_the_resnet18_example_loads_a_state_dict_saved_from_its_own_definition(tmp_path):
    """Module names as torchvision's: a state dict of the same architecture loads strictly."""
    spec = importlib.util.spec_from_file_location("resnet18_example", RESNET18.parent / "model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    keys = set(module.build().state_dict())
    assert {"conv1.weight", "bn1.running_mean", "layer1.0.conv1.weight", "layer2.0.downsample.0.weight", "fc.bias"} <= keys
    assert len(keys) == 122  # torchvision.models.resnet18().state_dict() has 122 entries
