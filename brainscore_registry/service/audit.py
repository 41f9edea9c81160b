"""The audit log: one row per submission attempt and record fetch, whatever the answer (scored,
refused, limited, unauthorised). It holds who (account name, client address), what (benchmark,
submission id, bytes, the file's sha256) and the answer; never a token, never a file's contents."""

from __future__ import annotations

from sqlalchemy import Engine, insert, select

from .accounts import now_text
from .database import audit


def log(engine: Engine, action: str, status: int, **fields) -> None:
    with engine.begin() as conn:
        conn.execute(insert(audit).values(at=now_text(), action=action, status=status, **fields))


def recent(engine: Engine, limit: int = 50, account: str | None = None) -> list[dict]:
    """The newest `limit` rows, oldest first."""
    query = select(audit).order_by(audit.c.id.desc()).limit(limit)
    if account is not None:
        query = query.where(audit.c.account == account)
    with engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(query).mappings().all()]
    return rows[::-1]
