"""The catalogue: version resolution, concurrent registrations, validation on load."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from brainscore_registry import JobError, UserInputError, load_assembly, register_assembly
from brainscore_registry.data.assemblies import read_assembly_source


def _variant(experiment, k: int):
    da = read_assembly_source(experiment.neural)
    return da.copy(data=da.values + k)


def test_versions_resolve_by_name_prefix_and_full_hash(registry, stimuli, experiment):
    first = register_assembly(_variant(experiment, 0), experiment.neural_meta, registry=registry)
    second = register_assembly(_variant(experiment, 1), experiment.neural_meta, registry=registry)
    entry = registry.catalog.read_entry("Synthetic2026.V4IT")
    assert [v.version for v in entry.versions] == [str(first.version), str(second.version)]
    assert registry.catalog.resolve("Synthetic2026.V4IT")[1].version == str(second.version)  # a name means the latest
    assert registry.catalog.resolve(str(first.version))[1].version == str(first.version)
    assert registry.catalog.resolve(f"Synthetic2026.V4IT@sha256:{first.version.short}")[1].version == str(first.version)
    np.testing.assert_array_equal(load_assembly(str(first.version), registry=registry).values, _variant(experiment, 0).values)


@pytest.mark.parametrize(
    "reference, pattern",
    [
        ("Synthetic2026.V4IT@sha256:abc", r"hash of 3 hex digits"),
        ("Synthetic2026.V4IT@md5:" + "0" * 32, r"is not a dataset version"),
        ("Synthetic2026.V4IT@sha256:" + "f" * 64, r"matches no version of Synthetic2026.V4IT"),
        ("Synthetic2026.V4", r"no dataset 'Synthetic2026.V4'.*Did you mean 'Synthetic2026.V4IT'"),
    ],
)
def test_bad_references(registry, stimuli, experiment, reference, pattern):
    register_assembly(experiment.neural, experiment.neural_meta, registry=registry)
    with pytest.raises(UserInputError, match=pattern):
        registry.catalog.resolve(reference)


def test_stimulus_set_pinned_by_version(registry, experiment, tmp_path):
    """An assembly's metadata may pin an older stimulus-set version; the pin is stored, not the name."""
    import yaml

    from brainscore_registry import register_stimulus_set

    old = register_stimulus_set(experiment.stimuli_dir, experiment.table, experiment.stimuli_meta, registry=registry)
    meta = yaml.safe_load(experiment.stimuli_meta.read_text())
    meta["description"] += " (second release)"
    newer_meta = tmp_path / "stimuli2.yaml"
    newer_meta.write_text(yaml.safe_dump(meta))
    new = register_stimulus_set(experiment.stimuli_dir, experiment.table, newer_meta, registry=registry)
    assert new.version != old.version
    neural_meta = yaml.safe_load(experiment.neural_meta.read_text())
    neural_meta["stimulus_set"] = str(old.version)
    path = tmp_path / "neural_pinned.yaml"
    path.write_text(yaml.safe_dump(neural_meta))
    pinned = register_assembly(experiment.neural, path, registry=registry)
    latest = register_assembly(experiment.neural, experiment.neural_meta, registry=registry)
    assert pinned.stored.stimulus_set == str(old.version)
    assert latest.stored.stimulus_set == str(new.version)
    assert pinned.version != latest.version  # the pin is part of the content


CONCURRENT = textwrap.dedent("""
    import sys
    from brainscore_registry import register_assembly
    from brainscore_registry.data.assemblies import read_assembly_source
    k, root, source, meta = int(sys.argv[1]), *sys.argv[2:5]
    da = read_assembly_source(source)
    print(register_assembly(da.copy(data=da.values + k), meta, registry=root).version)
""")


def test_concurrent_registrations_lose_nothing(tmp_path, registry, stimuli, experiment):
    script = tmp_path / "register.py"
    script.write_text(CONCURRENT)
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(k % 3), str(registry.root), str(experiment.neural), str(experiment.neural_meta)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for k in range(4)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    versions = {out.strip() for out, _ in outputs}
    assert len(versions) == 3  # two processes registered identical content: one version
    entry = registry.catalog.read_entry("Synthetic2026.V4IT")
    assert {v.version for v in entry.versions} == versions and len(entry.versions) == 3


def test_corrupt_catalogue_file_is_reported(registry, stimuli):
    path = registry.layout.entry_path("Synthetic2026.images")
    path.write_text(path.read_text().replace("kind: stimuli", "kind: pictures"))
    with pytest.raises(UserInputError, match=r"Synthetic2026.images.yaml.*'kind'"):
        registry.catalog.read_entry("Synthetic2026.images")
    path.write_text("identifier: [")
    with pytest.raises(JobError, match="not valid YAML"):
        registry.catalog.read_entry("Synthetic2026.images")


def test_missing_store_is_reported(registry, stimuli):
    import shutil

    shutil.rmtree(stimuli.path)
    from brainscore_registry import load_stimulus_set

    with pytest.raises(JobError, match="store is not here.*\\n.*bsr pull"):
        load_stimulus_set("Synthetic2026.images", registry=registry)
