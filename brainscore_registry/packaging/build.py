"""Run a dataset's packaging into a registry: verify the raw files, register its stimulus sets and
assemblies (each assembly pinned to the exact stimulus-set version just registered), and write the
benchmark specs that pin them under `registry/benchmarks/`."""

from __future__ import annotations

import tempfile
from pathlib import Path

import yaml

from ..errors import UserInputError, did_you_mean
from ..paths import write_atomic
from ..store.registration import register_assembly, register_stimulus_set
from ..store.registry import Registry
from . import Package, default_raw_root
from .cowley2023 import PACKAGE as COWLEY
from .geirhos2019 import PACKAGE as GEIRHOS
from .kriegeskorte2008 import PACKAGE as KRIEGESKORTE

PACKAGES: dict[str, Package] = {p.name: p for p in (COWLEY, GEIRHOS, KRIEGESKORTE)}


def find_package(name: str) -> Package:
    if name not in PACKAGES:
        raise UserInputError(
            f"no packaging for {name!r}.{did_you_mean(name, PACKAGES)}", field="dataset", fix=f"use one of: {', '.join(PACKAGES)}"
        )
    return PACKAGES[name]


def raw_available(raw_root: Path | None = None, names: list[str] | None = None) -> bool:
    root = Path(raw_root) if raw_root else default_raw_root()
    return all((root / PACKAGES[n].folder / "SHA256SUMS").is_file() for n in (names or PACKAGES))


def build(
    name: str, registry: Registry, raw_root: Path | None = None, *, write_specs: bool = True, progress=None
) -> tuple[dict[str, str], list[dict]]:
    """Register one dataset from its raw files; returns ({identifier: version}, benchmark specs)."""
    package = find_package(name)
    raw_root = Path(raw_root) if raw_root else default_raw_root()
    versions: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix=f"bsr-package-{name}-") as work:
        prepared = package.prepare(raw_root, Path(work))
        for directory, table, meta in prepared.stimulus_sets:
            versions[meta["identifier"]] = str(
                register_stimulus_set(directory, table, meta, registry=registry, progress=progress).version
            )
        for source, meta in prepared.assemblies:
            meta = {**meta, "stimulus_set": versions[meta["stimulus_set"]]}  # pinned, not "latest"
            versions[meta["identifier"]] = str(register_assembly(source, meta, registry=registry, progress=progress).version)
    specs = package.specs(versions)
    if write_specs:
        for spec in specs:
            path = registry.layout.benchmarks_dir / f"{spec['id']}.yaml"
            text = yaml.safe_dump(spec, sort_keys=False, width=200)
            if not path.is_file() or path.read_text() != text:
                write_atomic(path, text)
    return versions, specs
