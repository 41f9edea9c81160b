"""The per-account, per-benchmark daily limit: N submissions in any 24 hours, exact under concurrency.

A submission takes its slot *before* its upload is read (`reserve`, status `scoring`), in a
transaction that holds the account's lock while it counts and inserts, so neither concurrent requests
nor several server processes can both see a free slot. A slot is given back when the upload is refused
(`release`: too large, malformed, a server fault, an interrupted request), so only scored submissions
use the limit: scoring reveals something about the held-out data, a refusal does not. Refusals have a
limit of their own (REFUSALS_PER_LIMIT times the daily limit, at least MIN_REFUSALS), since each costs
the server a read. A slot still `scoring` after STALE_SECONDS (its server was killed mid-request) no
longer counts.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from dataclasses import dataclass

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError

from .accounts import Account
from .database import accounts, submissions

WINDOW_SECONDS = 24 * 3600
STALE_SECONDS = 3600  # longer than an upload (its timeout) and a scoring: a `scoring` row older was abandoned
REFUSALS_PER_LIMIT, MIN_REFUSALS = 4, 20
IN_FLIGHT_RETRY = 30  # seconds to wait when the slots are held by submissions still in progress


@dataclass(frozen=True)
class Reservation:
    id: str
    received: float


@dataclass(frozen=True)
class LimitReached:
    """A limit is used up (`what`: "scored" or "refused"): `retry_after` seconds until a slot may free."""

    limit: int
    retry_after: int
    what: str = "scored"
    in_flight: int = 0


@dataclass(frozen=True)
class Replayed:
    """The submission with this idempotency key was scored before: its record, not a second score (when
    the retry is for the same benchmark and file)."""

    id: str
    record: dict
    benchmark: str
    sha256: str


@dataclass(frozen=True)
class InProgress:
    id: str


def reserve(
    engine: Engine, account: Account, benchmark: str, idempotency_key: str | None = None
) -> Reservation | LimitReached | Replayed | InProgress:
    """Take a slot for one submission, or say why not."""
    now = time.time()
    try:
        with engine.begin() as conn:
            conn.execute(select(accounts.c.id).where(accounts.c.id == account.id).with_for_update())  # the account's lock
            if idempotency_key is not None:
                earlier = _earlier(conn, account, idempotency_key, now)
                if earlier is not None:
                    return earlier
            reached = _limit_reached(conn, account, benchmark, now)
            if reached is not None:
                return reached
            reservation = Reservation(str(uuid.uuid4()), now)
            conn.execute(
                submissions.insert().values(
                    id=reservation.id, account_id=account.id, benchmark=benchmark, received=now, status="scoring",
                    idempotency_key=idempotency_key,
                )
            )  # fmt: skip
            return reservation
    except IntegrityError:  # the same idempotency key raced in on another connection: it holds the slot
        return InProgress(idempotency_key or "")


def _window(conn, account: Account, now: float, benchmark: str | None = None) -> list:
    """The account's submissions of the last 24 hours (on `benchmark`), oldest first."""
    query = select(submissions.c.benchmark, submissions.c.received, submissions.c.status).where(
        submissions.c.account_id == account.id, submissions.c.received > now - WINDOW_SECONDS
    )
    if benchmark is not None:
        query = query.where(submissions.c.benchmark == benchmark)
    return conn.execute(query.order_by(submissions.c.received)).all()


def _counts(row, now: float) -> bool:
    """Whether a submission uses a slot: scored, or still in progress (not abandoned)."""
    return row.status == "scored" or (row.status == "scoring" and row.received > now - STALE_SECONDS)


def _limit_reached(conn, account: Account, benchmark: str, now: float) -> LimitReached | None:
    rows = _window(conn, account, now, benchmark)
    counted = [r.received for r in rows if _counts(r, now)]
    in_flight = sum(r.status == "scoring" and _counts(r, now) for r in rows)
    if len(counted) >= account.limit_per_day:
        frees_at = counted[len(counted) - account.limit_per_day] + WINDOW_SECONDS
        retry = IN_FLIGHT_RETRY if in_flight else max(1, math.ceil(frees_at - now))
        return LimitReached(account.limit_per_day, retry, "scored", in_flight)
    refused = [r.received for r in rows if r.status == "rejected"]
    cap = max(MIN_REFUSALS, REFUSALS_PER_LIMIT * account.limit_per_day)
    if len(refused) >= cap:
        return LimitReached(cap, max(1, math.ceil(refused[len(refused) - cap] + WINDOW_SECONDS - now)), "refused")
    return None


def _earlier(conn, account: Account, key: str, now: float) -> Replayed | InProgress | None:
    row = conn.execute(
        select(
            submissions.c.id, submissions.c.status, submissions.c.record, submissions.c.benchmark,
            submissions.c.predictions_sha256, submissions.c.received,
        ).where(submissions.c.account_id == account.id, submissions.c.idempotency_key == key)
    ).first()  # fmt: skip
    if row is None:
        return None
    if row.status == "scored":
        return Replayed(row.id, json.loads(row.record), row.benchmark, row.predictions_sha256)
    if _counts(row, now):
        return InProgress(row.id)
    # refused before, or abandoned: the key may be used again (neither used a slot)
    conn.execute(update(submissions).where(submissions.c.id == row.id).values(idempotency_key=None))
    return None


def complete(engine: Engine, reservation: Reservation, sha256: str, size: int, score: float | None, record: dict) -> None:
    _finish(engine, reservation, "scored", predictions_sha256=sha256, bytes=size, score=score, record=json.dumps(record))


def release(
    engine: Engine, reservation: Reservation, status: str, error: str, sha256: str | None = None, size: int | None = None
) -> None:
    """Give the slot back: the upload was refused (`rejected`) or the server failed (`failed`)."""
    _finish(engine, reservation, status, error=error, predictions_sha256=sha256, bytes=size)


def _finish(engine: Engine, reservation: Reservation, status: str, **values) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(submissions).where(submissions.c.id == reservation.id).values(status=status, finished=time.time(), **values)
        )


def expire_stale(engine: Engine) -> int:
    """Mark submissions a stopped server left `scoring` as failed (they already count for nothing)."""
    with engine.begin() as conn:
        return conn.execute(
            update(submissions)
            .where(submissions.c.status == "scoring", submissions.c.received < time.time() - STALE_SECONDS)
            .values(status="failed", error="interrupted (found at a server's start)", finished=time.time())
        ).rowcount


def usage(engine: Engine, account: Account) -> dict[str, int]:
    """benchmark → submissions using a slot in the last 24 hours."""
    now = time.time()
    with engine.connect() as conn:
        rows = _window(conn, account, now)
    used: dict[str, int] = {}
    for row in rows:
        if _counts(row, now):
            used[row.benchmark] = used.get(row.benchmark, 0) + 1
    return used


def fetch(engine: Engine, account: Account, submission_id: str) -> dict | None:
    """A scored submission's record, for its own account only (another account's id answers as unknown)."""
    with engine.connect() as conn:
        row = conn.execute(
            select(submissions.c.record).where(
                submissions.c.id == submission_id, submissions.c.account_id == account.id, submissions.c.status == "scored"
            )
        ).first()
    return json.loads(row.record) if row is not None else None
