"""Moving versions between a registry checkout and its DVC remotes: push, pull (verified), status,
and `publish` to the place the public remote serves.

A target is a dataset name (its latest version) or `Name@sha256:<hex>`; an assembly brings its
pinned stimulus set along, since one is useless without the other.

A pull takes each version from the first place that holds all of it: the workspace, the machine's
shared DVC cache (a checkout, no transfer), the default remote, then the read-only public remote.
A version that is nowhere is one error that says what was tried and where data can come from
(`sources.unavailable`), never DVC's own text.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

from ..data.file_digests import mismatched_files
from ..data.identifiers import Version
from ..data.schemas import StoredVersion
from ..data.verification import store_digest
from ..errors import BsrError, IntegrityError, JobError, UserInputError
from ..paths import bsr_home
from ..progress import Progress
from .directory_fetch import fetch_verified, holds_manifest, link_store
from .integrity import FILES, check_local, is_intact, record_verified, verify_fully
from .public import PUBLIC_REMOTE, is_http
from .registry import Registry
from .sources import RemoteCheck, unavailable
from .storage import Storage, shared_cache_dir

CACHE = "cache"  # a version's source when every object is in the shared DVC cache


@dataclass(frozen=True)
class VersionStatus:
    """Where one version is: here (the workspace), in the shared DVC cache, in the default (or named)
    remote, in the public remote. `remote`/`public` are None when that remote could not be asked
    (named in `unreachable`) or, for `public`, when the registry declares none."""

    version: Version
    path: str
    size: int
    local: bool
    remote: bool | None
    intact: bool | None = None  # the cheap check against the verified stamp; None: never verified here
    cache: bool = False
    public: bool | None = None
    unreachable: tuple[str, ...] = ()

    @property
    def state(self) -> str:
        if self.local and self.intact is False:
            return "DAMAGED here: bsr pull --repair"
        if self.local:
            if self.remote:
                return "synced"
            return "here, published" if self.public else "local only: push it"
        if self.cache:
            return "in cache: pull it (instant)"
        if self.remote:
            return "in remote: pull it"
        if self.public:
            return "in public remote: pull it"
        return f"nowhere reachable ({', '.join(self.unreachable)} not reachable)" if self.unreachable else "missing everywhere"


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


def _refused(registry: Registry, stored: StoredVersion, what: str, source: str | None) -> IntegrityError:
    """Move a pulled copy that failed its check aside (its cache objects dropped) and say why."""
    aside = None
    if registry.layout.local_path(stored).exists():
        aside = _quarantine(registry, stored)
    else:
        registry.storage.purge_cache(stored.dvc.md5)
    return IntegrityError(
        f"pulled data for {stored.version.name} does not match its pin: {what}."
        + (f" The bad copy was moved aside to {aside} and will not be used" if aside else " Nothing of it was kept"),
        file=stored.path,
        fix="this machine's DVC cache held a damaged copy, now dropped: pull again to fetch it from a remote"
        if source == CACHE
        else f"remote {source!r} holds a damaged object: re-push the version from a good copy, then pull again",
    )


def _differ(files: list[str]) -> str:
    return f"{len(files)} file(s) differ from their recorded sha256 ({', '.join(files[:3])}{', ...' if len(files) > 3 else ''})"


def verify_pulled(registry: Registry, stored: StoredVersion, progress: Progress | None = None, source: str | None = None) -> None:
    """Check a pulled store: every file against its recorded sha256 (in parallel) when the catalogue
    records them, else the logical hash; refuse and move aside a copy that differs."""
    store = registry.layout.local_path(stored)
    if stored.file_sha256 is not None:
        bad = mismatched_files(store, stored.file_sha256)
        if bad:
            raise _refused(registry, stored, _differ(bad), source)
        record_verified(store, stored, FILES)
        return
    try:
        actual = store_digest(store, progress)
    except IntegrityError as exc:
        actual = f"unreadable ({exc.message})"
    if actual != stored.version.digest:
        raise _refused(registry, stored, f"expected {stored.version.digest}, got {actual}", source)
    record_verified(store, stored)


def _fetch_from_directory(registry: Registry, stored: StoredVersion, remote: Path, source: str, force: bool) -> None:
    """A directory remote: objects copied into the cache and checked on all cores, then the store built
    from them by links in a staging directory and renamed into place (never half there); the linked
    files are the checked objects, so the store is stamped without another read."""
    bad = fetch_verified(remote, shared_cache_dir(), stored)
    if bad:
        raise _refused(registry, stored, _differ(bad), source)
    final = registry.layout.local_path(stored)
    if final.exists():
        if not force:
            raise JobError(
                f"an incomplete copy of {stored.version} is in the way (no zarr.json)",
                file=final,
                fix=f"`bsr pull --repair {stored.version}` moves it aside and fetches the version again",
            )
        shutil.rmtree(final)
    with registry.publication.staging() as stage:
        staged = stage / final.name
        link_store(shared_cache_dir(), stored, staged)
        registry.publication.move_into_place(staged, final)
    record_verified(final, stored, FILES)


def _ask(storage: Storage, check: RemoteCheck, md5s: list[str]) -> tuple[RemoteCheck, set[str] | None]:
    """Which of `md5s` a remote holds wholly; None (and the reason in the check) when it cannot be asked."""
    if check.problem:
        return check, None
    try:
        return check, storage.held(md5s, check.name)
    except BsrError as exc:
        return replace(check, problem=exc.message.splitlines()[0][:300], error=exc), None


def locate(
    registry: Registry, versions: list[StoredVersion], remote: str | None = None
) -> tuple[dict[str, str], list[RemoteCheck]]:
    """Where to get each version (manifest md5 → `CACHE` or a remote's name), asking the remotes in
    read order (`Storage.read_order`) only for what is still missing; absent from the map: nowhere.
    Also returns every remote asked, with why it could not be, for the error that names them."""
    storage = registry.storage
    md5s = [stored.dvc.md5 for stored in versions if stored.dvc]
    where = dict.fromkeys(storage.cached(md5s), CACHE)
    checks = []
    for name in storage.read_order(remote):
        rest = [m for m in md5s if m not in where]
        if not rest:
            break
        check, found = _ask(storage, storage.check(name), rest)
        checks.append(check)
        where.update(dict.fromkeys(found or (), name))
    return where, checks


def _fetch(
    registry: Registry, versions: list[StoredVersion], remote: str | None, progress: Progress | None, force: bool = False
) -> None:
    """Bring versions that are not here from where `locate` finds them, verifying each; one error
    naming every version that is nowhere, before anything is transferred."""
    for stored in versions:
        _dvc_file(stored)
    where, checks = locate(registry, versions, remote)
    nowhere = [stored for stored in versions if stored.dvc.md5 not in where]
    if nowhere:
        if len(checks) == 1 and checks[0].error is not None:  # the one remote's own error (credentials, network)
            raise checks[0].error
        raise unavailable(nowhere, checks, shared_cache_dir(), registry.layout.entry_path(nowhere[0].version.name))
    total, done = sum(v.dvc.size for v in versions), 0
    for stored in versions:
        source = where[stored.dvc.md5]
        directory = registry.storage.directory(source) if source != CACHE and stored.file_sha256 is not None else None
        if directory is not None and holds_manifest(directory, stored):
            _fetch_from_directory(registry, stored, directory, source, force)
        else:
            if source == CACHE:
                registry.storage.checkout([stored.dvc.file], force=force)
            else:
                registry.storage.pull([stored.dvc.file], source, force=force)
            if not registry.layout.is_local(stored):
                raise JobError(
                    f"{stored.version} did not arrive from {'the DVC cache' if source == CACHE else f'remote {source!r}'}",
                    fix="rerun the command; `bsr status` shows where each version is",
                )
            verify_pulled(registry, stored, progress, source)
        done += stored.dvc.size
        if progress:
            progress("pull", done, total)


def pull(
    registry: Registry, targets: list[str], remote: str | None = None, progress: Progress | None = None
) -> list[StoredVersion]:
    """Bring versions here (from the cache, the default remote, then the public one) and verify each
    by its logical hash; a version already here is checked, not fetched again."""
    registry.storage.check_remote(remote)
    versions = resolve_targets(registry, targets, all_if_empty=False)
    absent = []
    for stored in versions:
        if registry.layout.is_local(stored):  # a damaged local copy needs --repair, not a pull over it
            check_local(registry.layout, stored, progress)
        else:
            absent.append(stored)
    if absent:
        _fetch(registry, absent, remote, progress)
    return versions


@dataclass(frozen=True)
class StatusReport:
    """`bsr status`: a row per version, and every remote asked (with why one could not be)."""

    rows: list[VersionStatus]
    checks: list[RemoteCheck]


def status_report(registry: Registry, targets: list[str] | None = None, remote: str | None = None) -> StatusReport:
    """For each version: here (and intact), in the shared cache, in the default (or named) remote, in
    the public remote. A remote that cannot be asked is reported, not fatal: a fresh clone on a
    machine without network still learns what it has."""
    storage = registry.storage
    order = storage.read_order(remote)
    versions = resolve_targets(registry, targets, all_if_empty=True)
    md5s = [v.dvc.md5 for v in versions if v.dvc]
    cached = storage.cached(md5s)
    answers = [_ask(storage, storage.check(name), md5s) for name in order]
    checks = [check for check, _ in answers]
    held = {check.name: found for check, found in answers}
    unreachable = tuple(check.name for check in checks if check.problem)
    first, public = order[0], (PUBLIC_REMOTE if PUBLIC_REMOTE in held else None)
    rows = []
    for stored in versions:
        md5 = stored.dvc.md5 if stored.dvc else None

        def has(name: str | None) -> bool | None:
            return None if name is None or held[name] is None else md5 in held[name]

        local = registry.layout.is_local(stored)
        rows.append(
            VersionStatus(
                stored.version,
                stored.path,
                stored.stored_bytes,
                local,
                has(first),
                is_intact(registry.layout, stored) if local else None,
                md5 in cached,
                has(public),
                unreachable,
            )
        )
    return StatusReport(rows, checks)


def status(registry: Registry, targets: list[str] | None = None, remote: str | None = None) -> list[VersionStatus]:
    """The rows of `status_report`."""
    return status_report(registry, targets, remote).rows


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
    fetched again (from the cache when it holds it, else the default remote, then the public one),
    then verified; intact copies are left alone."""
    registry.storage.check_remote(remote)
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
        _fetch(registry, [stored], remote, progress, force=True)
        results.append(DataCheck(stored.version, stored.path, "repaired", detail))
    return results


def publish_destination(destination: str) -> str:
    """The URL DVC uploads to for `bsr publish --to`: an S3 URL as given, a directory made absolute."""
    if is_http(destination):
        raise UserInputError(
            f"{destination} is an HTTP location: the public remote is read-only over HTTP",
            field="to",
            fix="publish to what the web server serves: its directory (`--to /srv/www/bsr`), or the S3 bucket behind it "
            "(`--to s3://bucket/prefix`)",
        )
    if destination.startswith("s3://"):
        return destination
    if "://" in destination:
        raise UserInputError(f"{destination} is neither a directory nor s3://bucket/prefix", field="to", fix="give one of those")
    path = Path(destination).expanduser().resolve()
    if path.exists() and not path.is_dir():
        raise UserInputError("is not a directory", file=path, field="to", fix="give a directory (created when missing)")
    path.mkdir(parents=True, exist_ok=True)
    return str(path)


def publish(
    registry: Registry,
    targets: list[str] | None,
    destination: str,
    endpoint_url: str | None = None,
    progress: Progress | None = None,
) -> tuple[list[StoredVersion], int]:
    """Upload versions (all by default, each assembly with its stimulus set) from this machine to
    `destination` in DVC's remote layout, i.e. what the public remote serves; returns the versions and
    the number of objects sent. Everything named must be on this machine: publishing only part of what
    the catalogue pins would leave the public remote silently incomplete."""
    url = publish_destination(destination)
    versions = resolve_targets(registry, targets, all_if_empty=True)
    for stored in versions:
        _dvc_file(stored)
    md5s = [v.dvc.md5 for v in versions]
    cached = registry.storage.cached(md5s)
    absent = [v.version for v in versions if v.dvc.md5 not in cached and not registry.layout.is_local(v)]
    if absent:
        raise UserInputError(
            f"not on this machine to publish: {', '.join(absent)}",
            field="TARGET",
            fix="pull them first (`bsr pull NAME`), rebuild published datasets from their raw files "
            "(`bsr package NAME --raw PATH`), or name only the versions `bsr status` shows here or in the cache",
        )
    for stored in versions:
        if stored.dvc.md5 not in cached:  # here, but its cache objects are gone: checked, then cached again
            check_local(registry.layout, stored, progress)
            registry.storage.recache(stored.dvc.file)
    sent = registry.storage.publish([v.dvc.file for v in versions], md5s, url, endpoint_url)
    if progress:
        total = sum(v.dvc.size for v in versions)
        progress("push", total, total)
    return versions, sent
