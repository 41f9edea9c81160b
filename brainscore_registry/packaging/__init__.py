"""Packaging published datasets into the registry: one module per dataset (cowley2023, geirhos2019,
kriegeskorte2008), each of which verifies the raw files' SHA256 first, then builds and registers the
stimulus sets and assemblies with full metadata, and names the benchmark specs that pin them.

The raw files stay where they are (default `../shared/data` next to the repository, or `--raw PATH`,
or `$BSR_RAW_DATA`); only catalogue entries, `.dvc` pins and specs enter the repository. Packaging is
deterministic: rebuilding from the same raw files gives the same versions, bit for bit.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..data.hashing import file_sha256
from ..errors import UserInputError

REPOSITORY = Path(__file__).resolve().parents[2]


def default_raw_root() -> Path:
    return Path(os.environ.get("BSR_RAW_DATA", REPOSITORY.parent / "shared" / "data"))


def verify_raw(folder: Path, wanted: list[str] | None = None) -> dict[str, str]:
    """Check the raw files against the folder's SHA256SUMS (all of them, or `wanted`); returns name → sha256."""
    sums_file = folder / "SHA256SUMS"
    if not sums_file.is_file():
        raise UserInputError(
            f"no raw data at {folder} (SHA256SUMS missing)",
            file=sums_file,
            field="raw",
            fix="point --raw (or $BSR_RAW_DATA) at the folder that holds the published datasets",
        )
    expected = {}
    for line in sums_file.read_text().splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            expected[name.strip().removeprefix("./")] = digest
    names = wanted if wanted is not None else sorted(expected)
    for name in names:
        path = folder / name
        if not path.is_file():
            raise UserInputError(f"raw file missing: {path}", file=sums_file, field=name, fix="restore the raw data folder")
        actual = file_sha256(path)
        if actual != expected[name]:
            raise UserInputError(
                f"raw file {name} has sha256 {actual}, SHA256SUMS says {expected[name]}",
                file=path,
                field="sha256",
                fix="restore the original file; packaging only accepts the published bytes",
            )
    return {name: expected[name] for name in names}


@dataclass
class Package:
    """What one dataset's packaging registers: prepared files, then benchmark specs over the versions."""

    name: str
    folder: str  # raw folder name under the raw root
    prepare: Callable[[Path, Path], "Prepared"]
    specs: Callable[[dict[str, str]], list[dict]]


@dataclass
class Prepared:
    """Files ready to register, in order: stimulus sets (directory, table, meta), then assemblies (source, meta)."""

    stimulus_sets: list[tuple[Path, Path, dict]] = field(default_factory=list)
    assemblies: list[tuple[object, dict]] = field(default_factory=list)
