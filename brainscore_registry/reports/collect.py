"""Which records a leaderboard shows, and why the others are not shown.

Every record is read strictly and its signature and score checked first (`runs.trust`). One that
fails is *rejected*, with the reason, and never shown as a score. One whose signature is valid but
whose signer is not trusted is shown, marked as untrusted. Of several records for one model on one
version of a benchmark, the newest (by when it finished) counts and the others are listed as
*superseded*, so no score disappears without a trace.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from ..errors import BsrError, JobError, UserInputError
from ..metrics.score import BenchmarkScore
from ..runs.records import ScoreRecord, check_signature, read_bounded, record_from_bytes, record_score
from ..runs.rollup import model_label
from ..runs.trust import TrustPolicy


@dataclass(frozen=True)
class Shown:
    """A record that passed its checks, with what the pages need of it."""

    path: Path
    record: ScoreRecord
    score: BenchmarkScore
    trusted: bool
    sha256: str  # of the bytes that were checked: the site copies exactly those (`verified_bytes`)

    @property
    def model(self) -> str:
        return model_label(self.record)

    @property
    def benchmark(self) -> str:
        return self.record.benchmark.id

    @property
    def version(self) -> int:
        return self.record.benchmark.version

    @property
    def finished(self) -> str:
        return self.record.timestamps.get("finished", "")

    def verified_bytes(self) -> bytes:
        """The record file's bytes, refused if they are not the ones checked (changed during the build)."""
        raw = read_bounded(self.path)
        if hashlib.sha256(raw).hexdigest() != self.sha256:
            raise JobError("changed after it was verified, while the site was built", file=self.path, fix="build the site again")
        return raw

    @property
    def slug(self) -> str:
        """A file name for the record's page: readable, and unique by the record's signature."""
        digest = hashlib.sha256((self.record.signature or "").encode()).hexdigest()[:12]
        return f"{slugify(self.benchmark, 60)}--{slugify(self.model, 60)}--{digest}"


@dataclass(frozen=True)
class Rejected:
    path: Path
    reason: str


@dataclass
class Collection:
    """The records of a leaderboard: shown (one per model × benchmark version), superseded, rejected."""

    shown: list[Shown] = field(default_factory=list)
    superseded: list[tuple[Shown, Shown]] = field(default_factory=list)  # (older, the record that replaced it)
    rejected: list[Rejected] = field(default_factory=list)


def _precedence(shown: Shown) -> tuple:
    """Which of two records of one model on one benchmark version counts: a trusted signer's before an
    untrusted one (whose `finished` time is only its own word), then the newest."""
    return (shown.trusted, shown.finished, str(shown.path))


def slugify(text: str, limit: int = 80) -> str:
    """A name safe in a file name and a URL: letters, digits, `.`, `_`, `-`, at most `limit` of them (and
    never `.` or `..`). Not unique: see `unique_slugs`."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", text)
    slug = re.sub(r"-{2,}", "-", slug).strip("_.-")[:limit].rstrip("-")  # "--" is kept for `unique_slugs`
    return slug or "_"


def unique_slugs(names: Iterable[str]) -> dict[str, str]:
    """name → a slug no other name shares, even on a case-insensitive file system: names whose slugs
    would collide (`a/b`, `a_b`, `A b`) each get `--` and a hash of the name appended. A slug never holds
    `--` otherwise, so no name can be chosen to take another's suffixed slug."""
    names = sorted(set(names))
    bases = {name: slugify(name) for name in names}
    taken = Counter(base.lower() for base in bases.values())
    digest = lambda name: hashlib.sha256(name.encode()).hexdigest()[:16]  # noqa: E731
    return {name: base if taken[base.lower()] == 1 else f"{base}--{digest(name)}" for name, base in bases.items()}


def record_files(sources: list[Path], exclude: Path | None = None) -> list[Path]:
    """The record files named: files as given, directories searched for `*.json`, each file once however
    it was named, none under `exclude` (a site's own copies); a source that does not exist is the user's
    mistake."""
    files: list[Path] = []
    for source in sources:
        if source.is_dir():
            files += sorted(p for p in source.rglob("*.json") if p.is_file())
        elif source.is_file():
            files.append(source)
        else:
            raise UserInputError(
                "does not exist (or is a broken or looping link)",
                file=source,
                field="RECORD_OR_DIR",
                fix="give record files or directories of them",
            )
    unique = {path.resolve(): path for path in reversed(files)}  # the first spelling of each file
    kept = [unique[real] for real in dict.fromkeys(p.resolve() for p in files)]
    return [p for p in kept if exclude is None or not p.resolve().is_relative_to(exclude)]


def check(path: Path, policy: TrustPolicy) -> Shown | Rejected:
    """One file: a record to show (trusted or not), or the reason it is rejected."""
    try:
        raw = read_bounded(path)
        record = record_from_bytes(raw, path)
        check_signature(record, path)
        score = record_score(record, path)
    except BsrError as exc:
        return Rejected(path, exc.message)
    return Shown(path, record, score, policy.trusts(record), hashlib.sha256(raw).hexdigest())


PARALLEL_FROM = 256  # records; fewer are checked in this process (starting workers costs more)


def check_all(paths: list[Path], policy: TrustPolicy) -> list[Shown | Rejected]:
    """`check` over every file, in order; on all cores when there are many (canonical JSON, which the
    signature covers, is most of the cost: about a millisecond per record)."""
    workers = os.cpu_count() or 1
    if len(paths) < PARALLEL_FROM or workers == 1:
        return [check(path, policy) for path in paths]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(partial(check, policy=policy), paths, chunksize=max(1, len(paths) // (4 * workers))))


def collect(sources: list[Path], policy: TrustPolicy, exclude: Path | None = None) -> Collection:
    """Check every record in `sources` (none under `exclude`); keep one per model × benchmark × spec
    version (`_precedence`)."""
    collection = Collection()
    newest: dict[tuple[str, str, int], Shown] = {}
    for result in check_all(record_files(sources, exclude), policy):
        if isinstance(result, Rejected):
            collection.rejected.append(result)
            continue
        key = (result.model, result.benchmark, result.version)
        current = newest.get(key)
        if current is None:
            newest[key] = result
            continue
        older, newer = sorted((current, result), key=_precedence)
        newest[key] = newer
        collection.superseded.append((older, newer))
    collection.shown = sorted(newest.values(), key=lambda s: (s.model, s.benchmark, s.version))
    collection.superseded = [(old, newest[(new.model, new.benchmark, new.version)]) for old, new in collection.superseded]
    return collection
