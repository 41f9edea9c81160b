"""Where everything lives inside a registry checkout: one object instead of paths joined by hand.

    registry/datasets/<Name>.yaml      the catalogue (committed)
    registry/benchmarks/<id>.yaml      benchmark specs, fingerprints.json, aggregates.yaml (committed)
    assemblies/<Name>/<hash12>.zarr    assembly stores (DVC-tracked, git-ignored)
    stimulus_sets/<Name>/<hash12>.zarr stimulus-set stores (DVC-tracked, git-ignored)
    records/<benchmark>--<model>.json  signed score records (git-ignored)
    .bsr-tmp/                          staging, intents and the registry lock (git-ignored)

Store paths come from catalogue files, which a clone takes from someone else's repository: a path that
leaves the checkout is refused before anything reads or deletes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..data.identifiers import Version, check_identifier
from ..errors import JobError
from ..paths import REGISTRY_MARKER

if TYPE_CHECKING:
    from ..data.schemas import StoredVersion

STORE_DIRS = {"stimuli": "stimulus_sets", "neural": "assemblies", "behavioral": "assemblies", "similarity": "assemblies"}
WORK_DIR = ".bsr-tmp"
RECORDS_DIR = "records"
GITIGNORE = f"""\
# Registered stores are DVC-tracked data, never committed to git.
/assemblies/**/*.zarr
/stimulus_sets/**/*.zarr
/{WORK_DIR}/
/{RECORDS_DIR}/
"""


@dataclass(frozen=True)
class Layout:
    """The paths of one registry checkout."""

    root: Path

    @property
    def datasets_dir(self) -> Path:
        return self.root / REGISTRY_MARKER

    @property
    def benchmarks_dir(self) -> Path:
        return self.root / "registry" / "benchmarks"

    @property
    def records_dir(self) -> Path:
        return self.root / RECORDS_DIR

    @property
    def work_dir(self) -> Path:
        """Private scratch space on the registry's filesystem (git-ignored)."""
        return self.root / WORK_DIR

    def entry_path(self, name: str) -> Path:
        return self.datasets_dir / f"{check_identifier(name)}.yaml"

    def store_path(self, kind: str, version: Version) -> Path:
        """Where a new version's store is published."""
        return self.root / STORE_DIRS[kind] / version.name / f"{version.short}.zarr"

    def relative(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()

    def local_path(self, stored: StoredVersion) -> Path:
        """The store of a catalogued version in this checkout, confined to the checkout."""
        path = (self.root / stored.path).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise JobError(
                f"the catalogue places {stored.version} outside the registry ({stored.path})",
                file=self.entry_path(stored.version.name),
                field="path",
                fix="restore the catalogue file from git; store paths are relative to the registry root",
            )
        return path

    def is_local(self, stored: StoredVersion) -> bool:
        """A complete store is here: its root metadata exists (a pull or a registration finished)."""
        return (self.local_path(stored) / "zarr.json").is_file()

    def record_path(self, benchmark_id: str, model: str, layer: str | None = None) -> Path:
        """The default file of a score record: `records/<benchmark>--<model>[--<layer>].json`."""
        return self.records_dir / f"{benchmark_id}--{model}{f'--{layer}' if layer else ''}.json"
