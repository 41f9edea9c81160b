"""The scoring service's HTTP API (FastAPI on uvicorn).

    GET  /v1/key                               the public key that signs every answer
    GET  /v1/benchmarks                        the served benchmarks' public parts, the limits
    GET  /v1/benchmarks/{id}                   one benchmark's public part
    GET  /v1/account                           (token) the account, its daily limit and what it used
    POST /v1/benchmarks/{id}/submissions       (token) the predictions file as the request body
    GET  /v1/submissions/{id}                  (token) a scored submission's record, for its account

A submission is checked in the order that costs the server least: the token (401), the benchmark
(404), the declared size (413, before a byte of the body is read), the daily limit (429 with
Retry-After, before the body is read), then the body is streamed to a private scratch file and refused
as soon as it passes the size limit (413) or the upload timeout (408), then a scoring worker checks its
decoded size and scores it (422 with the CLI's own message when the file is not usable). A retry with
the same Idempotency-Key gets the first answer. Every attempt lands in the audit log. Errors answer
`{"error": {status, message, file, field, fix}}`, on every route.
"""

from __future__ import annotations

import hashlib
import logging
import re
import shutil
import tempfile
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import anyio
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from ..errors import BsrError, UserInputError, did_you_mean
from ..runs.records import key_id, public_pem, raw_public
from ..runs.release import precision_value
from . import audit, quota
from .accounts import Account, authenticate, bearer
from .served import ServedBenchmark
from .submissions import Submission, error_json, signed_record, upload_name
from .workers import ScoringPool, WorkerCrashed

log = logging.getLogger("bsr.serve")
_IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9_-]{8,64}")


@dataclass
class Service:
    """What the app serves with: the database, the benchmarks, the signing key and the limits."""

    engine: Engine
    benchmarks: dict[str, ServedBenchmark]
    key: Ed25519PrivateKey
    precision: int | None
    max_upload_bytes: int
    upload_timeout: float  # seconds a body may take to arrive
    pool: ScoringPool  # the processes that hold the data and score; more submissions wait (their slots taken)


def error(status: int, message: str, fix: str | None = None, headers: dict | None = None, **fields) -> JSONResponse:
    body = {"status": status, "message": message, "file": None, "field": None, "fix": fix, **fields}
    return JSONResponse({"error": body}, status_code=status, headers=headers)


def create_app(service: Service) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        yield
        await anyio.to_thread.run_sync(service.pool.close)  # in the graceful shutdown, before uvicorn exits

    app = FastAPI(title="bsr scoring service", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        """Every answer in one shape, unknown routes and methods included."""
        return error(exc.status_code, str(exc.detail), "see the endpoints in the README", headers=exc.headers)

    run = anyio.to_thread.run_sync
    public = service.key.public_key()

    @app.get("/v1/key")
    def server_key() -> dict:
        return {"key_id": key_id(public), "public_key": raw_public(public), "public_key_pem": public_pem(public).decode()}

    @app.get("/v1/benchmarks")
    def list_benchmarks() -> dict:
        return {
            "benchmarks": [b.public(service.precision) for b in service.benchmarks.values()],
            **_limits(service),
        }

    @app.get("/v1/benchmarks/{benchmark_id}")
    def one_benchmark(benchmark_id: str):
        served = service.benchmarks.get(benchmark_id)
        return served.public(service.precision) if served else _unknown_benchmark(service, benchmark_id)

    @app.get("/v1/account")
    async def account_usage(request: Request):
        account = await run(authenticate, service.engine, bearer(request.headers.get("authorization")))
        if account is None:
            return _unauthorised()
        used = await run(quota.usage, service.engine, account)
        return {"account": account.name, "limit_per_day": account.limit_per_day, "used_last_24h": used, **_limits(service)}

    @app.get("/v1/submissions/{submission_id}")
    async def fetch(submission_id: str, request: Request):
        account = await run(authenticate, service.engine, bearer(request.headers.get("authorization")))
        found = await run(quota.fetch, service.engine, account, submission_id) if account else None
        status = 401 if account is None else 200 if found else 404
        await run(lambda: audit.log(service.engine, "fetch", status, account=account and account.name,
                                    submission_id=submission_id[:36], client=_client(request)))  # fmt: skip
        if account is None:
            return _unauthorised()
        if found is None:
            message = f"no scored submission {submission_id[:80]!r} of account {account.name!r}"
            return error(404, message, "see bsr submit's output")
        return found

    @app.post("/v1/benchmarks/{benchmark_id}/submissions")
    async def submit(benchmark_id: str, request: Request):
        started = time.monotonic()
        attempt = {"client": _client(request), "benchmark": benchmark_id[:200]}

        async def answer(status: int, response: JSONResponse | dict, **fields) -> JSONResponse | dict:
            with anyio.CancelScope(shield=True):  # logged even when the request is being cancelled
                await run(lambda: audit.log(service.engine, "submit", status, **attempt, **fields))
            log.info(
                "submit %s account=%s benchmark=%s status=%d %s%.0f ms",
                fields.get("submission_id") or attempt.get("submission_id") or "-",
                attempt.get("account") or "-",
                benchmark_id[:80],
                status,
                f"{fields['detail']} " if fields.get("detail") else "",
                1000 * (time.monotonic() - started),
            )
            return response

        if len(request.headers.getlist("authorization")) > 1:
            return await answer(400, error(400, "more than one Authorization header", "send one"), detail="two tokens")
        account = await run(authenticate, service.engine, bearer(request.headers.get("authorization")))
        if account is None:
            return await answer(401, _unauthorised(), detail="no valid token")
        attempt["account"] = account.name
        served = service.benchmarks.get(benchmark_id)
        if served is None:
            return await answer(404, _unknown_benchmark(service, benchmark_id), detail="unknown benchmark")
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > service.max_upload_bytes):
            return await answer(413, _too_large(service, declared), detail=f"declared {declared[:20]} bytes")
        key = request.headers.get("idempotency-key")
        if key is not None and not _IDEMPOTENCY_KEY.fullmatch(key):
            return await answer(400, error(400, "the Idempotency-Key header must be 8-64 letters, digits, '-' or '_'",
                                           "send a UUID"), detail="bad idempotency key")  # fmt: skip
        reserved = await run(quota.reserve, service.engine, account, served.id, key)
        if isinstance(reserved, quota.LimitReached):
            return await answer(429, _limited(account, served, reserved), detail=f"limit: {reserved.what}")
        if isinstance(reserved, quota.InProgress):
            return await answer(409, error(409, "a submission with this Idempotency-Key is being scored", "wait for it"),
                                submission_id=reserved.id)  # fmt: skip
        if isinstance(reserved, quota.Replayed):
            return await answer(*await _replay(service, request, served, reserved), submission_id=reserved.id)
        attempt["submission_id"] = reserved.id
        return await _receive_and_score(service, request, account, served, reserved, answer)

    return app


class _Refused(Exception):
    """The body could not be taken: the answer to give instead."""

    def __init__(self, status: int, response: JSONResponse, detail: str) -> None:
        self.status, self.response, self.detail = status, response, detail


async def _receive(service: Service, request: Request, path: Path) -> tuple[int, str]:
    """Stream the body to `path`: its size and sha256; _Refused past the size limit (413), past the
    upload timeout (408) or when the client goes away (499)."""
    digest, size = hashlib.sha256(), 0
    try:
        with anyio.fail_after(service.upload_timeout), path.open("wb") as fh:
            async for chunk in request.stream():
                size += len(chunk)
                if size > service.max_upload_bytes:
                    too_large = _too_large(service, f"more than {service.max_upload_bytes:,}")
                    raise _Refused(413, too_large, f"body past the limit at {size} bytes")
                digest.update(chunk)
                fh.write(chunk)
    except TimeoutError:
        message = f"the upload took longer than {service.upload_timeout:.0f} s"
        raise _Refused(408, error(408, message, "upload again on a faster connection"), "upload timed out") from None
    except ClientDisconnect:
        raise _Refused(499, error(499, "the client disconnected"), "client disconnected") from None
    return size, digest.hexdigest()


async def _replay(service: Service, request: Request, served: ServedBenchmark, earlier: quota.Replayed) -> tuple[int, object]:
    """A retried submission: the earlier answer, if the retry is the same request (benchmark and file)."""
    conflict = None
    if earlier.benchmark != served.id:
        conflict = f"this Idempotency-Key was used for {earlier.benchmark}, not {served.id}"
    else:
        scratch = Path(tempfile.mkdtemp(prefix="bsr-upload-"))
        try:
            _, sha256 = await _receive(service, request, scratch / "retry")
        except _Refused as refused:
            return refused.status, refused.response
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        if sha256 != earlier.sha256:
            conflict = "this Idempotency-Key was used for another file"
    if conflict:
        return 422, error(422, conflict, "send a new Idempotency-Key with each new submission", field="Idempotency-Key")
    return 200, {**_accepted(earlier.record), "replayed": True}


async def _receive_and_score(service: Service, request: Request, account: Account, served: ServedBenchmark,
                             reserved: quota.Reservation, answer):  # fmt: skip
    """Receive the body into a private scratch directory, score it, answer. The slot is given back on
    every path that does not end in a score, cancellation (a server shutting down) included."""
    run = anyio.to_thread.run_sync
    name = upload_name(request.headers.get("x-predictions-filename"))
    scratch = Path(tempfile.mkdtemp(prefix="bsr-upload-")).resolve()  # mode 0700, a fresh name: no client says where
    finished = False

    async def refuse(status: str, error_text: str, http_status: int, response, **fields):
        nonlocal finished
        with anyio.CancelScope(shield=True):
            await run(lambda: quota.release(service.engine, reserved, status, error_text, fields.get("predictions_sha256"),
                                            fields.get("bytes")))  # fmt: skip
        finished = True
        return await answer(http_status, response, **fields)

    try:
        try:
            size, sha256 = await _receive(service, request, scratch / name)
        except _Refused as refused:
            return await refuse("rejected", refused.detail, refused.status, refused.response, detail=refused.detail)
        shown = {"bytes": size, "predictions_sha256": sha256}
        submission = Submission(reserved.id, account.name, reserved.received)
        try:
            scored = await service.pool.score(served.id, scratch / name, service.precision)
            record = await run(signed_record, served, scored, submission, service.key, service.precision)
        except WorkerCrashed as exc:
            log.error("submission %s: %s", reserved.id, exc.message)
            response = error(500, f"{exc.message}; it did not count against your limit",
                             "check the file with `bsr score --predictions` locally")  # fmt: skip
            return await refuse("failed", exc.message, 500, response, **shown, detail="worker crashed")
        except BsrError as exc:
            status = 422 if isinstance(exc, UserInputError) else 500
            problem = error_json(exc, scratch, name)
            response = JSONResponse({"error": {"status": status, **problem}}, status_code=status)
            return await refuse("rejected", problem["message"], status, response, **shown, detail=problem["message"][:200])
        except Exception as exc:  # a fault of ours: logged here, never shown to the client
            log.exception("submission %s failed", reserved.id)
            response = error(500, f"the server failed to score submission {reserved.id}; it did not count against your "
                             "limit", "try again later, or tell the server's operator")  # fmt: skip
            return await refuse("failed", f"{type(exc).__name__}: {exc}", 500, response, **shown, detail=type(exc).__name__)
        data = record.model_dump(mode="json", by_alias=True)
        with anyio.CancelScope(shield=True):
            await run(quota.complete, service.engine, reserved, sha256, size, record.score["value"], data)
        finished = True
        return await answer(200, _accepted(data), **shown, detail=f"score {record.score['value']}")
    finally:
        if not finished:  # cancelled: the server is stopping, or the client's connection was cut mid-request
            with anyio.CancelScope(shield=True):
                await run(quota.release, service.engine, reserved, "failed", "interrupted")
                await run(lambda: audit.log(service.engine, "submit", 499, account=account.name, benchmark=served.id,
                                            submission_id=reserved.id, detail="interrupted"))  # fmt: skip
        shutil.rmtree(scratch, ignore_errors=True)


def _accepted(record: dict) -> dict:
    submission = record["submission"]
    score = record["score"]
    return {
        "submission": submission["id"],
        "benchmark": record["benchmark"]["id"],
        "account": submission["account"],
        "score": score["value"],
        "error": score["error"],
        "raw": score["raw"]["value"],
        "ceiling": score["ceiling"]["value"],
        "precision": submission["precision"],
        "record": record,
    }


def _limits(service: Service) -> dict:
    return {
        "precision": precision_value(service.precision),
        "max_upload_bytes": service.max_upload_bytes,
        "limit_window_seconds": quota.WINDOW_SECONDS,
    }


def _client(request: Request) -> str | None:
    return request.client.host[:64] if request.client else None


def _unauthorised() -> JSONResponse:
    return error(
        401,
        "no valid API token: the Authorization header must be `Bearer <token>` with an active token of this server",
        "ask the server's operator for a token (bsr serve token add NAME), then `bsr login --server URL`",
        headers={"WWW-Authenticate": "Bearer"},
    )


def _unknown_benchmark(service: Service, benchmark_id: str) -> JSONResponse:
    known = sorted(service.benchmarks)
    return error(
        404,
        f"this server does not score {benchmark_id[:80]!r}.{did_you_mean(benchmark_id[:80], known)}",
        f"use one of: {', '.join(known)}",
        field="benchmark",
    )


def _too_large(service: Service, declared: str) -> JSONResponse:
    limit = service.max_upload_bytes
    return error(
        413,
        f"the predictions file is larger than this server accepts ({limit:,} bytes; the request has {declared[:40]})",
        "store the predictions as float32, for the benchmark's stimuli only, in a NetCDF file with compression",
        headers={"Connection": "close"},
        field="predictions",
    )


def _limited(account: Account, served: ServedBenchmark, limit: quota.LimitReached) -> JSONResponse:
    hours = limit.retry_after / 3600
    if limit.what == "refused":
        message = f"account {account.name!r} had {limit.limit} refused submissions on {served.id} in 24 hours"
    else:
        message = f"account {account.name!r} has used its {limit.limit} submissions per 24 hours on {served.id}"
        if limit.in_flight:
            message += f" ({limit.in_flight} of them still being received or scored)"
    when = "when one in progress ends" if limit.in_flight else "when the oldest one leaves the window"
    return error(
        429,
        message,
        f"try again in {limit.retry_after} s ({hours:.1f} h), {when}",
        headers={"Retry-After": str(limit.retry_after)},
        retry_after=limit.retry_after,
    )
