"""The per-account, per-benchmark daily limit: N submissions in any 24 hours, exact under concurrency.

A submission takes its slot *before* its upload is read (`reserve`, status `scoring`), in a
transaction that holds the account's lock while it counts and inserts, so neither concurrent requests
nor several server processes can both see a free slot. A slot is given back when the upload is refused
(`release`: too large, malformed, a server fault), so only scored submissions use the limit; scoring
reveals something about the held-out data, a refusal does not.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from dataclasses import dataclass

from sqlalchemy import Engine, func, select, update
from sqlalchemy.exc import IntegrityError

from .accounts import Account
from .database import COUNTED, accounts, submissions

WINDOW_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Reservation:
    id: str
    received: float


@dataclass(frozen=True)
class LimitReached:
    """The limit is used up: `retry_after` seconds until the oldest counted submission leaves the window."""

    limit: int
    retry_after: int


@dataclass(frozen=True)
class Replayed:
    """The submission with this idempotency key was scored before: its record, not a second score."""

    id: str
    record: dict


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
                earlier = _earlier(conn, account, idempotency_key)
                if earlier is not None:
                    return earlier
            received = (
                conn.execute(
                    select(submissions.c.received)
                    .where(
                        submissions.c.account_id == account.id,
                        submissions.c.benchmark == benchmark,
                        submissions.c.status.in_(COUNTED),
                        submissions.c.received > now - WINDOW_SECONDS,
                    )
                    .order_by(submissions.c.received)
                )
                .scalars()
                .all()
            )
            if len(received) >= account.limit_per_day:
                frees_at = received[len(received) - account.limit_per_day] + WINDOW_SECONDS
                return LimitReached(account.limit_per_day, max(1, math.ceil(frees_at - now)))
            reservation = Reservation(str(uuid.uuid4()), now)
            conn.execute(
                submissions.insert().values(
                    id=reservation.id,
                    account_id=account.id,
                    benchmark=benchmark,
                    received=now,
                    status="scoring",
                    idempotency_key=idempotency_key,
                )
            )
            return reservation
    except IntegrityError:  # the same idempotency key raced in on another connection: it holds the slot
        return InProgress(idempotency_key or "")


def _earlier(conn, account: Account, key: str) -> Replayed | InProgress | None:
    row = conn.execute(
        select(submissions.c.id, submissions.c.status, submissions.c.record).where(
            submissions.c.account_id == account.id, submissions.c.idempotency_key == key
        )
    ).first()
    if row is None:
        return None
    if row.status == "scored":
        return Replayed(row.id, json.loads(row.record))
    if row.status == "scoring":
        return InProgress(row.id)
    # refused before: the key may be used again (the refusal used no slot)
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


def usage(engine: Engine, account: Account) -> dict[str, int]:
    """benchmark → submissions counted in the last 24 hours."""
    since = time.time() - WINDOW_SECONDS
    with engine.connect() as conn:
        rows = conn.execute(
            select(submissions.c.benchmark, func.count())
            .where(submissions.c.account_id == account.id, submissions.c.status.in_(COUNTED), submissions.c.received > since)
            .group_by(submissions.c.benchmark)
        ).all()
    return {benchmark: count for benchmark, count in rows}


def fetch(engine: Engine, account: Account, submission_id: str) -> dict | None:
    """A scored submission's record, for its own account only (another account's id answers as unknown)."""
    with engine.connect() as conn:
        row = conn.execute(
            select(submissions.c.record).where(
                submissions.c.id == submission_id, submissions.c.account_id == account.id, submissions.c.status == "scored"
            )
        ).first()
    return json.loads(row.record) if row is not None else None
