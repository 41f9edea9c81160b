"""Accounts and their API tokens.

A token reads `bsr_<id>_<secret>`: the id (public, 16 hex digits) finds the account's row, and only
the sha256 of the secret (43 URL-safe characters, 256 bits) is stored. The secret's digest is compared
with `hmac.compare_digest`, and an unknown id is compared against a dummy digest, so the time an
answer takes says nothing about how much of a token was right. A fast hash suffices (no bcrypt): the
secret is random, not a password, so there is nothing to guess from its digest.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..errors import UserInputError, did_you_mean
from .database import accounts

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
TOKEN = re.compile(r"bsr_([0-9a-f]{16})_([A-Za-z0-9_-]{43})")
_DUMMY = hashlib.sha256(b"no such token").hexdigest()


@dataclass(frozen=True)
class Account:
    id: int
    name: str
    limit_per_day: int


def now_text() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def parse_limit(text: str) -> int:
    """`N/day` (or N) → N submissions per benchmark per 24 hours."""
    match = re.fullmatch(r"\s*(\d{1,6})\s*(?:/\s*day)?\s*", text or "")
    if not match or int(match.group(1)) < 1:
        raise UserInputError(f"{text!r} is not a daily limit", field="limit", fix="give N/day with N ≥ 1, e.g. --limit 5/day")
    return int(match.group(1))


def check_name(name: str) -> str:
    if not NAME.fullmatch(name or ""):
        raise UserInputError(
            f"{name!r} is not a usable account name",
            field="NAME",
            fix="use letters, digits, '.', '_' or '-' (at most 64, starting with a letter or digit), e.g. alice",
        )
    return name


def add_account(engine: Engine, name: str, limit_per_day: int) -> str:
    """A new account and its token, returned once (only its digest is kept)."""
    check_name(name)
    token_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    row = {
        "name": name,
        "name_key": name.lower(),
        "token_id": token_id,
        "token_sha256": _digest(secret),
        "limit_per_day": limit_per_day,
        "created": now_text(),
    }
    try:
        with engine.begin() as conn:
            conn.execute(insert(accounts).values(**row))
    except IntegrityError:
        raise UserInputError(
            f"the account {name!r} already exists",
            field="NAME",
            fix=f"choose another name, or give it a new token: bsr serve token rotate {name}",
        ) from None
    return f"bsr_{token_id}_{secret}"


def rotate(engine: Engine, name: str, limit_per_day: int | None = None) -> str:
    """A new token for an existing account (revoked or not; the old token stops working at once), and
    optionally a new limit. Its submissions, and the slots they use, stay the account's."""
    token_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    values = {"token_id": token_id, "token_sha256": _digest(secret), "revoked": None}
    if limit_per_day is not None:
        values["limit_per_day"] = limit_per_day
    with engine.begin() as conn:
        done = conn.execute(update(accounts).where(accounts.c.name_key == name.lower()).values(**values)).rowcount
    if not done:
        known = [a["name"] for a in list_accounts(engine)]
        raise UserInputError(f"no account {name!r}.{did_you_mean(name, known)}", field="NAME", fix="see `bsr serve token list`")
    return f"bsr_{token_id}_{secret}"


def list_accounts(engine: Engine) -> list[dict]:
    with engine.connect() as conn:
        rows = conn.execute(select(accounts).order_by(accounts.c.name)).mappings().all()
    return [
        {
            "name": r["name"],
            "token_id": r["token_id"],
            "limit_per_day": r["limit_per_day"],
            "created": r["created"],
            "revoked": r["revoked"],
        }
        for r in rows
    ]


def revoke(engine: Engine, name: str) -> None:
    """Revoke the account's token (the account and its submissions stay, for the audit)."""
    with engine.begin() as conn:
        done = conn.execute(
            update(accounts).where(accounts.c.name_key == name.lower(), accounts.c.revoked.is_(None)).values(revoked=now_text())
        ).rowcount
    if not done:
        known = [a["name"] for a in list_accounts(engine) if a["revoked"] is None]
        raise UserInputError(
            f"no active account {name!r}.{did_you_mean(name, known)}", field="NAME", fix="see `bsr serve token list`"
        )


def authenticate(engine: Engine, token: str | None) -> Account | None:
    """The account a token belongs to, or None (unknown, malformed or revoked); timing-safe."""
    match = TOKEN.fullmatch(token or "")
    token_id, secret = match.groups() if match else ("", "")
    with engine.connect() as conn:
        row = conn.execute(select(accounts).where(accounts.c.token_id == token_id)).mappings().first() if match else None
    stored = row["token_sha256"] if row is not None else _DUMMY
    good = hmac.compare_digest(_digest(secret), stored)
    if not good or row is None or row["revoked"] is not None:
        return None
    return Account(row["id"], row["name"], row["limit_per_day"])


def bearer(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header."""
    scheme, _, value = (header or "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
