"""`bsr submit`'s side of the service: upload a predictions file, check the signed answer, keep it.

The answer is checked before it is believed: a valid signature by the key the server publishes, over a
record of this very file (its sha256) on the benchmark asked for. Whether that key is *trusted* is the
user's trusted-keys policy (`runs.trust`), as for every record: a lab's key should come from the lab,
not from the server that is being checked, so an untrusted key is reported, not trusted on first use.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

from ..data.hashing import file_sha256
from ..errors import JobError, UserInputError
from ..paths import check_input_file
from ..runs.records import RecordInvalid, ScoreRecord, check_signature, record_from_bytes, record_score
from ..runs.trust import TrustPolicy

TIMEOUT = 600.0  # seconds: scoring a large file on a busy server takes a while
SUBMISSION_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass(frozen=True)
class Answer:
    record: ScoreRecord
    raw: bytes  # the record's JSON as received (signed contents), written as is
    trusted: bool
    replayed: bool


def check_server_url(url: str, insecure_http: bool = False) -> str:
    """`url` without a trailing slash; plain http only to a loopback address (or with `insecure_http`),
    because the token travels in every request."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UserInputError(f"{url!r} is not a server URL", field="server", fix="give e.g. https://scores.example-lab.org")
    if parts.scheme == "http" and not insecure_http and not _loopback(parts.hostname):
        raise UserInputError(
            f"{url} is plain http: the API token would cross the network unencrypted",
            field="server",
            fix="use the server's https:// address, or pass --insecure-http on a network you trust",
        )
    return url.rstrip("/")


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _client(token: str | None = None):
    import httpx

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(timeout=httpx.Timeout(TIMEOUT, connect=10.0), headers=headers, follow_redirects=False)


def _get(url: str, token: str | None = None) -> dict:
    import httpx

    try:
        with _client(token) as client:
            response = client.get(url)
    except httpx.HTTPError as exc:
        raise _unreachable(url, exc) from None
    return _json_or_error(response, None)


def _unreachable(url: str, exc: Exception) -> JobError:
    return JobError(
        f"cannot reach the scoring service at {url}: {exc}", field="server", fix="check the URL and that the server runs"
    )


def account(server: str, token: str) -> dict:
    """The token's account, its daily limit and its use (the server checks the token)."""
    data = _get(f"{server}/v1/account", token)
    _field(data, "account", str, server)
    _field(data, "limit_per_day", int, server)
    return data


def server_public_key(server: str) -> bytes:
    """The raw public key the server says it signs with."""
    encoded = _field(_get(f"{server}/v1/key"), "public_key", str, server)
    try:
        raw = base64.b64decode(encoded, validate=True)
    except ValueError:
        raw = b""
    if len(raw) != 32:
        raise _not_a_service(server, "its /v1/key holds no Ed25519 public key")
    return raw


def _field(data: dict, name: str, kind: type, server: str):
    """`data[name]`, which must be a `kind`; JobError saying the server is not a scoring service otherwise."""
    value = data.get(name) if isinstance(data, dict) else None
    if not isinstance(value, kind) or isinstance(value, bool):
        raise _not_a_service(server, f"its answer has no {kind.__name__} {name!r}")
    return value


def _not_a_service(server: str, why: str) -> JobError:
    return JobError(
        f"{server} does not answer as a bsr scoring service: {why}",
        field="server",
        fix="check the URL: it is the address `bsr serve` listens on",
    )


def submit(server: str, benchmark: str, predictions: Path, token: str, policy: TrustPolicy) -> Answer:
    """Upload `predictions` for `benchmark`; the server's checked answer."""
    import httpx

    path = Path(predictions)
    if path.is_dir():
        raise UserInputError(
            "the service takes one NetCDF file, not a directory (a zarr store)",
            file=path,
            field="predictions",
            fix="write it as NetCDF: xarray.open_zarr(store).to_netcdf('predictions.nc')",
        )
    check_input_file(path, field="predictions")
    largest = _field(_get(f"{server}/v1/benchmarks"), "max_upload_bytes", int, server)
    size = path.stat().st_size
    if size > largest:
        raise UserInputError(
            f"the file has {size:,} bytes; the server accepts at most {largest:,}",
            file=path,
            field="predictions",
            fix="store float32 values for the benchmark's stimuli only, with NetCDF compression",
        )
    server_key = server_public_key(server)
    sha256 = file_sha256(path)
    headers = {"Idempotency-Key": str(uuid.uuid4()), "X-Predictions-Filename": path.name, "Content-Type": "application/x-netcdf"}
    url = f"{server}/v1/benchmarks/{quote(benchmark, safe='')}/submissions"
    try:
        with _client(token) as client, path.open("rb") as fh:
            response = client.post(url, content=_chunks(fh), headers={**headers, "Content-Length": str(size)})
    except httpx.HTTPError as exc:
        raise _unreachable(server, exc) from None
    body = _json_or_error(response, path)
    record_json = _field(body, "record", dict, server)
    raw = json.dumps(record_json, indent=2).encode() + b"\n"
    record = record_from_bytes(raw, Path(f"{server} answer"))
    _check_answer(record, server_key, benchmark, sha256)
    return Answer(record, raw, policy.trusts(record), body.get("replayed") is True)


def _chunks(fh, size: int = 1 << 20):
    while chunk := fh.read(size):
        yield chunk


def _check_answer(record: ScoreRecord, server_key: bytes, benchmark: str, sha256: str) -> None:
    """The answer is a service's record of this very submission, or RecordInvalid saying what is not."""
    where = Path("the server's answer")
    check_signature(record, where)
    if base64.b64decode(record.signer.public_key) != server_key:
        raise RecordInvalid("the answer is not signed by the key the server publishes at /v1/key", file=where, field="signer")
    if record.benchmark.id != benchmark or record.model.predictions_sha256 != sha256:
        raise RecordInvalid(
            "the answer is a record of another benchmark or another file than the one submitted", file=where, field="model"
        )
    submission = record.submission or {}
    if not (isinstance(submission.get("id"), str) and SUBMISSION_ID.fullmatch(submission["id"])):
        raise RecordInvalid("the answer's record names no submission id", file=where, field="submission")
    if not isinstance(submission.get("account"), str) or not isinstance(submission.get("precision"), (int, str)):
        raise RecordInvalid("the answer's record names no account or precision", file=where, field="submission")
    record_score(record, where)


def _json_or_error(response, predictions: Path | None) -> dict:
    """The answer's JSON; the server's error as the CLI's own (exit 2 for the submitter's mistakes)."""
    try:
        data = response.json()
    except ValueError:
        data = None
    if response.status_code == 200 and isinstance(data, dict):
        return data
    problem = data.get("error") if isinstance(data, dict) and isinstance(data.get("error"), dict) else {}
    message = problem.get("message") or f"the server answered HTTP {response.status_code}: {response.text[:200]}"
    fix = problem.get("fix")
    if not fix and response.status_code == 429:
        retry = response.headers.get("retry-after")
        fix = f"retry after {retry} s" if retry else "retry later"
    message, fix = printable(message), printable(fix)
    kind = UserInputError if response.status_code in (400, 401, 404, 409, 413, 422, 429) else JobError
    shown_file = predictions if problem.get("file") and predictions is not None else printable(problem.get("file"))
    raise kind(message, file=shown_file, field=printable(problem.get("field")), fix=fix)


def printable(value) -> str | None:
    """A server-supplied string as this terminal may show it: text only, no control characters, bounded."""
    if value is None:
        return None
    return "".join(c if c.isprintable() or c in "\n\t" else "?" for c in str(value))[:2000]
