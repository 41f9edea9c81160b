"""Moving versions between a registry checkout and its DVC remote: push, pull (verified), status.

A target is a dataset name (its latest version) or `Name@sha256:<hex>`; an assembly brings its
pinned stimulus set along, since one is useless without the other.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from ..data.identifiers import Version
from ..data.schemas import StoredVersion
from ..data.verification import store_digest
from ..errors import IntegrityError, JobError, UserInputError
from ..paths import bsr_home
from ..progress import Progress
from .integrity import check_local, is_intact, record_verified, verify_fully
from .registry import Registry


@dataclass(frozen=True)
class VersionStatus:
    version: Version
    path: str
    size: int
    local: bool
    remote: bool
    intact: bool | None = None  # the cheap check against the verified stamp; None: never verified here

    @property
    def state(self) -> str:
        if self.local and self.intact is False:
            return "DAMAGED here: bsr pull --repair"
        return {
            (True, True): "synced",
            (True, False): "local only: push it",
            (False, True): "in remote: pull it",
            (False, False): "missing everywhere",
        }[(self.local, self.remote)]


def resolve_targets(registry: Registry, targets: list[str] | None, *, all_if_empty: bool) -> list[StoredVersion]:
    """The versions `targets` name (plus each assembly's stimulus set), or every version."""
    if not targets:
        if not all_if_empty:
            raise UserInputError(
                "no target given", field="TARGET", fix="name datasets (`Name` or `Name@sha256:<hex>`); `bsr list` shows them"
            )
        return [v for e in registry.catalog.entries() for v in e.versions]
    chosen: dict[Version, StoredVersion] = {}
    for target in targets:
        _, stored = registry.catalog.resolve(target, field="TARGET")
        if stored.stimulus_set:
            chosen.setdefault(stored.stimulus_set, registry.catalog.resolve(stored.stimulus_set, field="stimulus_set")[1])
        chosen[stored.version] = stored
    return list(chosen.values())


def _dvc_file(stored: StoredVersion) -> str:
    if stored.dvc is None:
        raise JobError(f"{stored.version} is not DVC-tracked", fix="register it again in a registry made by `bsr init`")
    return stored.dvc.file


def push(
    registry: Registry, targets: list[str] | None = None, remote: str | None = None, progress: Progress | None = None
) -> list[StoredVersion]:
    """Send local versions to the remote (all of them by default); returns the versions pushed."""
    remote = registry.storage.check_remote(remote)
    versions = resolve_targets(registry, targets, all_if_empty=True)
    absent = [v.version for v in versions if not registry.layout.is_local(v)]
    if targets and absent:
        raise UserInputError(
            f"not here to push: {', '.join(absent)}",
            field="TARGET",
            fix="pull those versions first, or push only what `bsr status` shows as local",
        )
    versions = [v for v in versions if registry.layout.is_local(v)]
    total, done = sum(v.dvc.size if v.dvc else 0 for v in versions), 0
    for stored in versions:
        registry.storage.push([_dvc_file(stored)], remote)
        done += stored.dvc.size
        if progress:
            progress("push", done, total)
    return versions


def _quarantine(registry: Registry, stored: StoredVersion) -> Path:
    """Move a copy that failed verification aside (never used again) and drop it from the cache."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    target = bsr_home() / "quarantine" / f"{stored.version.replace(':', '-')}-{stamp}"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(registry.layout.local_path(stored)), str(target))
    registry.storage.purge_cache(stored.dvc.md5)
    return target


def verify_pulled(registry: Registry, stored: StoredVersion, progress: Progress | None = None) -> None:
    """Recompute the logical hash of a pulled store; refuse and move aside a copy that differs."""
    try:
        actual = store_digest(registry.layout.local_path(stored), progress)
    except IntegrityError as exc:
        actual = f"unreadable ({exc.message})"
    if actual == stored.version.digest:
        record_verified(registry.layout.local_path(stored), stored)
        return
    aside = _quarantine(registry, stored)
    raise IntegrityError(
        f"pulled data for {stored.version.name} does not match its pin: expected {stored.version.digest}, "
        f"got {actual}. The bad copy was moved aside to {aside} and will not be used",
        file=stored.path,
        fix="the remote holds a damaged object: re-push the version from a good copy, then pull again",
    )


def pull(
    registry: Registry, targets: list[str], remote: str | None = None, progress: Progress | None = None
) -> list[StoredVersion]:
    """Fetch versions from the remote and verify each by its logical hash."""
    remote = registry.storage.check_remote(remote)
    versions = resolve_targets(registry, targets, all_if_empty=False)
    total, done = sum(v.dvc.size if v.dvc else 0 for v in versions), 0
    for stored in versions:
        if registry.layout.is_local(stored):  # a damaged local copy needs --repair, not a pull over it
            check_local(registry.layout, stored, progress)
        registry.storage.pull([_dvc_file(stored)], remote)
        if not registry.layout.is_local(stored):
            raise JobError(f"{stored.version} is not in the remote", fix="push it from a checkout that has it")
        verify_pulled(registry, stored, progress)
        done += stored.dvc.size
        if progress:
            progress("pull", done, total)
    return versions


def status(registry: Registry, targets: list[str] | None = None, remote: str | None = None) -> list[VersionStatus]:
    """For each version: here (complete store in the workspace) and/or complete in the remote."""
    remote = registry.storage.check_remote(remote)
    versions = resolve_targets(registry, targets, all_if_empty=True)
    rows = []
    for stored in versions:
        local = registry.layout.is_local(stored)
        remote_has = bool(stored.dvc) and registry.storage.in_remote(stored.dvc.md5, remote)
        intact = is_intact(registry.layout, stored) if local else None
        rows.append(VersionStatus(stored.version, stored.path, stored.stored_bytes, local, remote_has, intact))
    return rows


@dataclass(frozen=True)
class DataCheck:
    version: Version
    path: str
    state: str  # "intact", "damaged", "not here"
    detail: str = ""


def verify_data(registry: Registry, targets: list[str] | None = None, progress: Progress | None = None) -> list[DataCheck]:
    """Recompute the logical hash of every local copy named (all by default); stamps the intact ones."""
    checks = []
    for stored in resolve_targets(registry, targets, all_if_empty=True):
        if not registry.layout.is_local(stored):
            checks.append(DataCheck(stored.version, stored.path, "not here"))
            continue
        try:
            verify_fully(registry.layout, stored, progress)
            checks.append(DataCheck(stored.version, stored.path, "intact"))
        except IntegrityError as exc:
            checks.append(DataCheck(stored.version, stored.path, "damaged", exc.message))
    return checks


def repair(
    registry: Registry, targets: list[str] | None = None, remote: str | None = None, progress: Progress | None = None
) -> list[DataCheck]:
    """`bsr pull --repair`: every named version (all by default) whose local copy is damaged or missing
    is moved aside (kept under $BSR_HOME/quarantine, its objects dropped from the local cache) and
    fetched again from the remote, then verified; intact copies are left alone."""
    remote = registry.storage.check_remote(remote)
    results = []
    for stored in resolve_targets(registry, targets, all_if_empty=True):
        if registry.layout.is_local(stored):
            try:
                verify_fully(registry.layout, stored, progress)
                results.append(DataCheck(stored.version, stored.path, "intact"))
                continue
            except IntegrityError as exc:
                aside = _quarantine(registry, stored)
                detail = f"{exc.message}; the damaged copy was moved to {aside}"
        else:
            detail = "was not here"
        registry.storage.pull([_dvc_file(stored)], remote, force=True)
        if not registry.layout.is_local(stored):
            raise JobError(f"{stored.version} is not in the remote", fix="push it from a checkout that has a good copy")
        verify_pulled(registry, stored, progress)
        results.append(DataCheck(stored.version, stored.path, "repaired", detail))
    return results
