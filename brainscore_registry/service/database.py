"""The service's tables, on SQLite (default: one file, WAL mode) or any SQLAlchemy URL (PostgreSQL when
several server processes share one database).

Every write that decides a rate limit runs in a transaction that serialises it against other writers
of the same account: on SQLite, `BEGIN IMMEDIATE` (the database's write lock, taken at the start, so
two processes cannot both count and then both insert); elsewhere, a `SELECT ... FOR UPDATE` of the
account's row (`quota.reserve`). Values reach SQL only as bound parameters.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import (
    Column,
    Engine,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    create_engine,
    event,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError

from ..errors import JobError, UserInputError
from ..paths import bsr_home

metadata = MetaData()

accounts = Table(
    "accounts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("name_key", String(64), nullable=False, unique=True),  # lower case: Alice and alice are one account
    Column("token_id", String(32), nullable=False, unique=True),  # the token's public half: finds the row
    Column("token_sha256", String(64), nullable=False),  # of the secret half; the token itself is never stored
    Column("limit_per_day", Integer, nullable=False),
    Column("created", String(40), nullable=False),
    Column("revoked", String(40)),
)

submissions = Table(
    "submissions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("account_id", Integer, ForeignKey("accounts.id"), nullable=False),
    Column("benchmark", String(200), nullable=False),
    Column("received", Float, nullable=False),  # Unix seconds: the rate window counts these
    Column("status", String(16), nullable=False),  # scoring, scored, rejected, failed
    Column("idempotency_key", String(64)),
    Column("predictions_sha256", String(64)),
    Column("bytes", Integer),
    Column("score", Float),
    Column("record", Text),
    Column("error", Text),
    Column("finished", Float),
    UniqueConstraint("account_id", "idempotency_key", name="uq_submission_idempotency"),
)
Index("ix_submissions_window", submissions.c.account_id, submissions.c.benchmark, submissions.c.received)

audit = Table(
    "audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", String(40), nullable=False),
    Column("action", String(16), nullable=False),  # submit, fetch
    Column("status", Integer, nullable=False),  # the HTTP status answered
    Column("account", String(64)),
    Column("benchmark", String(200)),
    Column("submission_id", String(36)),
    Column("bytes", Integer),
    Column("predictions_sha256", String(64)),
    Column("detail", Text),
    Column("client", String(64)),
)


def default_url() -> str:
    return f"sqlite:///{bsr_home() / 'serve' / 'serve.sqlite'}"


def connect(url: str | None = None) -> Engine:
    """An engine for `url` (default: `$BSR_HOME/serve/serve.sqlite`) with the tables created; SQLite in
    WAL mode with writers serialised by BEGIN IMMEDIATE and a 30 s busy wait."""
    url = url or default_url()
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise UserInputError(
            f"{url!r} is not a database URL",
            field="db",
            fix="give sqlite:///path/serve.sqlite or postgresql+psycopg://user@host/db",
        ) from None
    if parsed.get_backend_name() == "sqlite":
        engine = _sqlite_engine(parsed)
    else:
        try:
            engine = create_engine(parsed, pool_pre_ping=True, pool_size=10, max_overflow=20)
        except (NoSuchModuleError, ModuleNotFoundError) as exc:
            raise UserInputError(
                f"no driver for {parsed.drivername}: {exc}",
                field="db",
                fix="install the driver (pip install 'psycopg[binary]') and use postgresql+psycopg://...",
            ) from None
    try:
        metadata.create_all(engine)
    except OperationalError as exc:
        raise JobError(
            f"cannot open the service database {parsed.render_as_string(hide_password=True)}: {exc.orig}",
            field="db",
            fix="check that the server is running and the URL, user and database are right",
        ) from None
    return engine


def _sqlite_engine(url) -> Engine:
    if url.database and url.database != ":memory:":
        path = Path(url.database)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserInputError(
                f"cannot create the database's directory: {exc.strerror or exc}",
                file=path.parent,
                field="db",
                fix="give a sqlite:/// path in a directory you can write",
            ) from None
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy, not the driver, begins transactions (below)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def shown_url(engine: Engine) -> str:
    """The database as a log line may name it: never its password."""
    return engine.url.render_as_string(hide_password=True)
