"""`bsr submit`'s side of the service: upload a predictions file, check the signed answer, keep it.

The answer is checked before it is believed: a valid signature by the key the server publishes, over a
record of this very file (its sha256) on the benchmark asked for. Whether that key is *trusted* is the
user's trusted-keys policy (`runs.trust`), as for every record: a lab's key should come from the lab,
not from the server that is being checked, so an untrusted key is reported, not trusted on first use.
"""

from __future__ import annotations

import base64
import ipaddress
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

from ..data.hashing import file_sha256
from ..errors import JobError, UserInputError
from ..paths import check_input_file
from ..runs.records import RecordInvalid, ScoreRecord, check_signature, record_from_bytes
from ..runs.trust import TrustPolicy

TIMEOUT = 600.0  # seconds: scoring a large file on a busy server takes a while


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
    return _get(f"{server}/v1/account", token)


def server_public_key(server: str) -> tuple[str, str]:
    """The key id and base64 raw public key the server says it signs with."""
    data = _get(f"{server}/v1/key")
    return data["key_id"], data["public_key"]


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
    limits = _get(f"{server}/v1/benchmarks")
    size = path.stat().st_size
    if size > limits["max_upload_bytes"]:
        raise UserInputError(
            f"the file has {size:,} bytes; the server accepts at most {limits['max_upload_bytes']:,}",
            file=path,
            field="predictions",
            fix="store float32 values for the benchmark's stimuli only, with NetCDF compression",
        )
    _, server_key = server_public_key(server)
    sha256 = file_sha256(path)
    headers = {"Idempotency-Key": str(uuid.uuid4()), "X-Predictions-Filename": path.name, "Content-Type": "application/x-netcdf"}
    url = f"{server}/v1/benchmarks/{quote(benchmark, safe='')}/submissions"
    try:
        with _client(token) as client, path.open("rb") as fh:
            response = client.post(url, content=_chunks(fh), headers={**headers, "Content-Length": str(size)})
    except httpx.HTTPError as exc:
        raise _unreachable(server, exc) from None
    body = _json_or_error(response, path)
    raw = _record_bytes(response.content)
    record = record_from_bytes(raw, Path(f"{server} answer"))
    _check_answer(record, server_key, benchmark, sha256)
    return Answer(record, raw, policy.trusts(record), body.get("replayed", False))


def _chunks(fh, size: int = 1 << 20):
    while chunk := fh.read(size):
        yield chunk


def _record_bytes(content: bytes) -> bytes:
    """The `record` member of the answer, re-serialised as the signed JSON object it is."""
    import json

    return json.dumps(json.loads(content)["record"], indent=2).encode() + b"\n"


def _check_answer(record: ScoreRecord, server_key: str, benchmark: str, sha256: str) -> None:
    where = Path("the server's answer")
    check_signature(record, where)
    if base64.b64decode(record.signer.public_key) != base64.b64decode(server_key):
        raise RecordInvalid("the answer is not signed by the key the server publishes at /v1/key", file=where, field="signer")
    if record.benchmark.id != benchmark or record.model.predictions_sha256 != sha256:
        raise RecordInvalid(
            "the answer is a record of another benchmark or another file than the one submitted", file=where, field="model"
        )


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
    fix = problem.get("fix") or (f"retry after {response.headers.get('retry-after')} s" if response.status_code == 429 else None)
    kind = UserInputError if response.status_code in (400, 401, 404, 409, 413, 422, 429) else JobError
    shown_file = predictions if problem.get("file") and predictions is not None else problem.get("file")
    raise kind(message, file=shown_file, field=problem.get("field"), fix=fix)
