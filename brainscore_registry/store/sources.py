"""Where a version can come from, and the one error for a version that can come from nowhere.

A pull looks in order: the workspace, the machine's shared DVC cache, the default remote, then the
public remote. When none holds a version, DVC's own message ("Is your cache up to date?") tells a
new user nothing they can act on; `unavailable` says instead what was tried (every remote by name
and URL, and whether it answered), how the data can be rebuilt (published datasets: from their raw
files with `bsr package`, whose sources are documented), and whom to ask (the catalogue's citation).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..data.schemas import StoredVersion
from ..errors import BsrError, JobError
from .public import PUBLIC_REMOTE, PUBLIC_URL_ENV

# store/ may not import packaging/ (a higher layer), so the module that rebuilds a dataset is found by
# the packaging convention instead: `brainscore_registry/packaging/<author><year>.py` packages every
# dataset named `<Author><Year>.*` (tests/test_public_remote.py holds the catalogue to it).
PACKAGING_DIR = Path(__file__).resolve().parents[1] / "packaging"


@dataclass(frozen=True)
class RemoteCheck:
    """One remote as a command found it: its name, URL, role and, when it could not be asked, why."""

    name: str
    url: str
    default: bool = False
    overridden: bool = False  # the URL came from $BSR_PUBLIC_REMOTE
    problem: str | None = None
    error: BsrError | None = field(default=None, compare=False, repr=False)

    @property
    def label(self) -> str:
        role = ", default" if self.default else ""
        origin = f", from ${PUBLIC_URL_ENV}" if self.overridden else ""
        return f"'{self.name}' ({self.url}{role}{origin})"

    def outcome(self, count: int = 1) -> str:
        if self.problem:
            return f"not reachable: {self.problem}"
        return "reachable, does not hold it" if count == 1 else "reachable, does not hold them"


class UnavailableError(JobError):
    """No copy of a version anywhere this machine can reach: not here, not cached, in no remote."""

    def __init__(self, message: str, *, versions: list[str], checks: list[RemoteCheck], **kwargs) -> None:
        self.versions = versions
        self.checks = checks
        super().__init__(message, **kwargs)


def packaging_name(stored: StoredVersion) -> str | None:
    """The `bsr package` name that rebuilds this dataset from its raw files, or None."""
    name = stored.version.name.split(".")[0].lower()
    return name if (PACKAGING_DIR / f"{name}.py").is_file() else None


def _source(stored: StoredVersion) -> str | None:
    provenance = stored.metadata.get("provenance") or {}
    source, revision = provenance.get("source"), provenance.get("revision")
    if not source:
        return None
    return f"{source} at {str(revision)[:12]}" if revision else str(source)


def _rebuild_hint(missing: list[StoredVersion]) -> str:
    packages = sorted({n for n in map(packaging_name, missing) if n})
    sources = sorted({s for s in map(_source, missing) if s})
    from_source = f" (the catalogue's provenance: {'; '.join(sources)})" if sources else ""
    if packages:
        commands = " and ".join(f"`bsr package {n} --raw PATH`" for n in packages)
        documented = ", ".join(f"brainscore_registry/packaging/{n}.py" for n in packages)
        return (
            f"rebuild them from their raw files: {commands}. Where the raw files come from is documented in the "
            f"docstring of {documented}{from_source} and in the PROVENANCE.md beside them in the raw-data folder "
            "(../shared/data next to the repository, or $BSR_RAW_DATA); rebuilding gives exactly the pinned versions"
        )
    return (
        "published datasets are rebuilt from their raw files with `bsr package NAME --raw PATH` (`bsr package --help` "
        f"lists them), but these were registered by hand, not packaged{from_source}: whoever holds a copy can "
        "`bsr push` it to a shared remote or `bsr publish` it"
    )


def _remote_hint(checks: list[RemoteCheck]) -> str:
    public = next((c for c in checks if c.name == PUBLIC_REMOTE), None)
    if public is None:
        return (
            "this registry declares no public remote: ask its maintainers where its data are published and set it "
            f"(`bsr remote set-url {PUBLIC_REMOTE} URL --local`, or ${PUBLIC_URL_ENV}=URL), or add a shared remote "
            "(`bsr remote add NAME s3://bucket/prefix --default`)"
        )
    if public.problem:
        return (
            f"check the network and rerun, or point the public remote at a reachable mirror for this machine "
            f"(`bsr remote set-url {PUBLIC_REMOTE} URL --local`, or ${PUBLIC_URL_ENV}=URL)"
        )
    return "the public remote does not hold them (yet): its maintainers publish versions with `bsr publish`"


def _citations(missing: list[StoredVersion]) -> str:
    cited = sorted({str(v.metadata.get("citation") or "").strip() for v in missing} - {""})
    return "; ".join(cited) if cited else "the registry's maintainers"


def unavailable(missing: list[StoredVersion], checks: list[RemoteCheck], cache: Path, entry_file: Path) -> UnavailableError:
    """The one error for versions that are nowhere: what was tried, how to rebuild, whom to ask."""
    names = ", ".join(f"{v.version.name}@sha256:{v.version.hexdigest[:12]}…" for v in missing)
    tried = "; ".join(f"remote {c.label}: {c.outcome(len(missing))}" for c in checks) or "no remote is configured"
    message = (
        f"no copy of {names} anywhere this machine can reach: not in the workspace, not in the DVC cache "
        f"({cache}), and no remote holds {'it' if len(missing) == 1 else 'them'}. Remotes tried: {tried}"
    )
    fix = f"(1) {_remote_hint(checks)}; (2) {_rebuild_hint(missing)}; (3) ask the dataset's authors: {_citations(missing)}"
    return UnavailableError(message, versions=[str(v.version) for v in missing], checks=checks, file=entry_file, fix=fix)
