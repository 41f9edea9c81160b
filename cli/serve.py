"""`bsr serve` (a private scoring service), `bsr serve token add|list|revoke`, `bsr serve audit`."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from .common import JSON_HELP, RichProgress, err, out, print_json, registry, user_errors

JSON = typer.Option(False, "--json", help=JSON_HELP)
DB = typer.Option(
    None,
    "--db",
    envvar="BSR_SERVE_DB",
    help="SQLAlchemy URL of the service's database (default: sqlite:///$BSR_HOME/serve/serve.sqlite; "
    "postgresql+psycopg://user@host/db for several server processes).",
)

app = typer.Typer(
    help="A self-hosted scoring service for private benchmarks: held-out data stay here, modelers submit "
    "predictions and get signed scores.\n\nExample: bsr serve --benchmarks Synthetic2026.V4-pls --port 8765",
    invoke_without_command=True,
)
token_app = typer.Typer(
    help="API tokens (one per account) and their daily limits.\n\nExample: bsr serve token add alice --limit 5/day",
    no_args_is_help=True,
)
app.add_typer(token_app, name="token")


@app.callback()
def serve(
    ctx: typer.Context,
    benchmarks: list[str] = typer.Option(None, "--benchmarks", "-b", help="Benchmark id to serve; repeat for several."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (0.0.0.0: every interface; use TLS then)."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="Port to listen on."),
    db: str = DB,
    key: Path = typer.Option(
        None, "--key", help="The server's Ed25519 signing key (default $BSR_HOME/serve/server.key; created when absent)."
    ),
    precision: str = typer.Option(
        "3", "--precision", help="Decimals of the scores answered (0-15), or 'full'. Fewer decimals leak less (README)."
    ),
    max_upload_mb: float = typer.Option(64.0, "--max-upload-mb", help="Largest predictions file accepted (MiB)."),
    jobs: int = typer.Option(0, "--jobs", min=0, help="Submissions scored at once (0: one per core)."),
    tls_cert: Path = typer.Option(None, "--tls-cert", help="TLS certificate (PEM), with --tls-key: serve https."),
    tls_key: Path = typer.Option(None, "--tls-key", help="TLS private key (PEM)."),
    max_decoded_mb: float = typer.Option(
        1024.0, "--max-decoded-mb", help="Memory an upload's values may take once decompressed (MiB); checked before reading."
    ),
    upload_timeout: float = typer.Option(300.0, "--upload-timeout", help="Seconds an upload may take (then 408)."),
    trusted_proxy: list[str] = typer.Option(
        None, "--trusted-proxy", help="A reverse proxy's address whose X-Forwarded-For the audit log believes; repeat."
    ),
) -> None:
    """Serve benchmarks of this registry for prediction-only submissions; answers are records signed by the
    server's key.

    The benchmarks' data are loaded (pulled when missing) and their ceilings computed before the port
    opens. Modelers see each benchmark's public part (procedure, metric, ceiling, stimulus set) and
    never a response. Each token has a daily limit per benchmark; every submission is in the audit log.
    Stop with Ctrl-C (SIGINT) or SIGTERM.

    Example: bsr serve --benchmarks Synthetic2026.V4-pls --port 8765
    """
    if ctx.invoked_subcommand is not None:
        ctx.obj = {"db": db}  # `bsr serve --db URL token list` means that database too
        return
    from brainscore_registry.errors import UserInputError
    from brainscore_registry.service.database import shown_url
    from brainscore_registry.service.server import ServeOptions, build_service, parse_precision, run_server

    with user_errors():
        if not benchmarks:
            raise UserInputError("name the benchmarks to serve", field="benchmarks", fix="bsr serve --benchmarks ID [...]")
        options = ServeOptions(
            benchmarks=benchmarks, host=host, port=port, db=db, key=key, precision=parse_precision(precision),
            max_upload_mb=max_upload_mb, jobs=jobs, tls_cert=tls_cert, tls_key=tls_key, upload_timeout=upload_timeout,
            trusted_proxies=tuple(trusted_proxy or ()), max_decoded_mb=max_decoded_mb,
        )  # fmt: skip
        with RichProgress() as progress:
            service, created = build_service(registry(), options, progress)
    from brainscore_registry.runs.records import key_id

    key_path = options.key or _default_key()
    made = "created" if created else "loaded"
    err.print(f"Signing key {key_id(service.key.public_key())} {made}: {key_path} (public: {key_path.with_suffix('.pub')})")
    err.print(f"Database: {shown_url(service.engine)}")
    err.print(f"Scoring workers (processes holding the data): PIDs {' '.join(map(str, service.pool.pids))}", soft_wrap=True)
    scheme = "https" if tls_cert else "http"
    err.print(f"Serving {', '.join(service.benchmarks)} at {scheme}://{host}:{port} (precision {precision})")
    run_server(service, options)


def _db(ctx: typer.Context, db: str | None) -> str | None:
    """The subcommand's --db, else the one given to `bsr serve` before it."""
    parent = ctx.find_object(dict) or {}
    return db or parent.get("db")


def _default_key() -> Path:
    from brainscore_registry.service.server import default_key_path

    return default_key_path()


@token_app.command("add")
def token_add(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Account name (letters, digits, '.', '_', '-'); it appears in its records."),
    limit: str = typer.Option(..., "--limit", help="Submissions per benchmark per 24 hours, e.g. 5/day."),
    db: str = DB,
    as_json: bool = JSON,
) -> None:
    """Create an account and print its API token, once (only a hash of it is stored).

    Example: bsr serve token add alice --limit 5/day
    """
    from brainscore_registry.service.accounts import add_account, parse_limit
    from brainscore_registry.service.database import connect

    with user_errors():
        token = add_account(connect(_db(ctx, db)), name, parse_limit(limit))
    _print_token(name, token, as_json, "give it to its owner, who saves it with `bsr login --server URL`")


@token_app.command("rotate")
def token_rotate(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Account name."),
    limit: str = typer.Option(None, "--limit", help="A new daily limit, e.g. 10/day (default: keep it)."),
    db: str = DB,
    as_json: bool = JSON,
) -> None:
    """Give an account a new token (also a revoked one); the old token stops working at once.

    Example: bsr serve token rotate alice
    """
    from brainscore_registry.service.accounts import parse_limit, rotate
    from brainscore_registry.service.database import connect

    with user_errors():
        token = rotate(connect(_db(ctx, db)), name, parse_limit(limit) if limit is not None else None)
    _print_token(name, token, as_json, "the previous one no longer works")


def _print_token(name: str, token: str, as_json: bool, note: str) -> None:
    """A new token on stdout (alone, for a script to capture), what to do with it on stderr."""
    if as_json:
        print_json({"account": name, "token": token})
        return
    out.print(token, markup=False, highlight=False, soft_wrap=True)
    err.print(f"Token for {name}, shown once: {note}.")


@token_app.command("list")
def token_list(ctx: typer.Context, db: str = DB, as_json: bool = JSON) -> None:
    """List the accounts: token id (never the token), daily limit, created, revoked.

    Example: bsr serve token list --json
    """
    from brainscore_registry.service.accounts import list_accounts
    from brainscore_registry.service.database import connect

    with user_errors():
        rows = list_accounts(connect(_db(ctx, db)))
    if as_json:
        print_json(rows)
        return
    table = Table(title="Accounts")
    for column in ("name", "token_id", "limit_per_day", "created", "revoked"):
        table.add_column(column)
    for row in rows:
        table.add_row(*(str(row[c] or "") for c in ("name", "token_id", "limit_per_day", "created", "revoked")))
    out.print(table)


@token_app.command("revoke")
def token_revoke(ctx: typer.Context, name: str = typer.Argument(..., help="Account name."), db: str = DB) -> None:
    """Revoke an account's token at once (its submissions and records stay).

    Example: bsr serve token revoke alice
    """
    from brainscore_registry.service.accounts import revoke
    from brainscore_registry.service.database import connect

    with user_errors():
        revoke(connect(_db(ctx, db)), name)
    out.print(f"Revoked the token of {name}.")


@app.command("audit")
def audit_log(
    ctx: typer.Context,
    last: int = typer.Option(50, "--last", min=1, max=1_000_000, help="How many of the newest entries."),
    account: str = typer.Option(None, "--account", help="Only this account's entries."),
    db: str = DB,
    as_json: bool = JSON,
) -> None:
    """Show the audit log: every submission attempt and record fetch, with its answer.

    Example: bsr serve audit --last 20 --account alice
    """
    from brainscore_registry.service.audit import recent
    from brainscore_registry.service.database import connect

    with user_errors():
        rows = recent(connect(_db(ctx, db)), last, account)
    if as_json:
        print_json(rows)
        return
    columns = ("at", "action", "status", "account", "benchmark", "submission_id", "bytes", "detail", "client")
    table = Table(title="Audit log")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(str(row[c]) if row[c] is not None else "" for c in columns))
    out.print(table)
