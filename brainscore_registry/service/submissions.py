"""One uploaded predictions file: scored exactly as `bsr score --predictions` scores it (in a scoring
worker, `workers`), then answered with a record signed by the service's key (in the server process,
which alone holds the key)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ..benchmarks.scoring import BenchmarkData
from ..errors import BsrError
from ..metrics.score import BenchmarkScore
from ..models.predictions import Predictions
from ..runs.records import ModelPart, ScoreRecord
from ..runs.release import RELEASED, precision_value, released_score
from ..runs.run import Subject, compute_score, make_record
from .served import ServedBenchmark

_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
DEFAULT_NAME = "predictions.nc"


def upload_name(given: str | None) -> str:
    """The file name a record names the upload by: the client's base name when it is plain (letters,
    digits, '.', '_', '-'), else `predictions.nc`. Never a path: the upload is written under this name
    in a fresh private directory."""
    name = (given or "").replace("\\", "/").rsplit("/", 1)[-1]
    return name if _SAFE_NAME.fullmatch(name) and ".." not in name else DEFAULT_NAME


@dataclass(frozen=True)
class Submission:
    id: str
    account: str
    received: float


@dataclass(frozen=True)
class Scored:
    """A worker's result: the released score and what the record says of how it was computed."""

    part: ModelPart
    score: BenchmarkScore
    environment: dict
    started: str


def score_file(data: BenchmarkData, path: Path, precision: int | None, max_bytes: int | None = None) -> Scored:
    """The released score of the predictions at `path`; a UserInputError (the CLI's own) when they are
    not a usable predictions file for this benchmark, or would take more than `max_bytes` decoded."""
    subject = Subject.of_predictions(Predictions(path, max_bytes))
    computed = compute_score(data, subject)
    return Scored(subject.part, released_score(computed.score, precision), computed.environment, computed.started)


def signed_record(
    served: ServedBenchmark, scored: Scored, submission: Submission, key: Ed25519PrivateKey, precision: int | None
) -> ScoreRecord:
    part = {
        "service": "bsr serve",
        "id": submission.id,
        "account": submission.account,
        "received": datetime.fromtimestamp(submission.received, timezone.utc).isoformat(timespec="seconds"),
        "precision": precision_value(precision),
        "released": RELEASED,
    }
    return make_record(served.spec, served.versions, scored.score, scored.part, scored.started, scored.environment, key, part)


def error_json(exc: BsrError, scratch: Path, shown_name: str) -> dict:
    """The error as the CLI renders it, with the server's scratch path replaced by the uploaded file's name."""

    def clean(text: str | None) -> str | None:
        return text.replace(str(scratch / shown_name), shown_name).replace(str(scratch), ".") if text else text

    return {"message": clean(exc.message), "file": clean(exc.file), "field": exc.field, "fix": clean(exc.fix)}
