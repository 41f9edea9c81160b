"""`bsr remote add|set-url|list`: where a registry's data live besides this machine."""

from __future__ import annotations

import typer
from rich.table import Table

from .common import err, out, print_json, registry, user_errors

app = typer.Typer(
    help="Manage the registry's DVC remotes (S3; the embedded local remote is built in; 'public' is read-only HTTP).",
    no_args_is_help=True,
)


@app.command("add")
def add(
    name: str = typer.Argument(..., help="Remote name, e.g. 's3'."),
    url: str = typer.Argument(..., help="s3://bucket/prefix"),
    endpoint_url: str = typer.Option(None, "--endpoint-url", help="S3-compatible endpoint (MinIO, Ceph, a test server)."),
    default: bool = typer.Option(False, "--default", help="Make it the default remote for push and pull."),
) -> None:
    """Add an S3 remote to the committed DVC config. Credentials are never written: they come from
    AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or ~/.aws.

    Example: bsr remote add s3 s3://lab-bucket/registry --endpoint-url https://s3.example.org --default
    """
    with user_errors():
        reg = registry()
        reg.require_writable("add a remote")
        reg.storage.add_remote(name, url, endpoint_url, default)
    err.print(f"[green]✓[/] remote {name!r} → {url}{' (default)' if default else ''}; commit .dvc/config to share it")


@app.command("set-url")
def set_url(
    name: str = typer.Argument(..., help="Remote name, e.g. 'public'."),
    url: str = typer.Argument(..., help="https://... for 'public' (read-only); s3://bucket/prefix or a directory otherwise."),
    local: bool = typer.Option(False, "--local", help="This machine only (.dvc/config.local, git-ignored), e.g. a mirror."),
) -> None:
    """Point a remote at another URL. Without --local the committed .dvc/config changes (where the
    registry's data are published, for everyone); with --local only this checkout on this machine.
    $BSR_PUBLIC_REMOTE overrides the public remote's URL for one process and wins over both.

    Example: bsr remote set-url public http://127.0.0.1:8000 --local
    """
    with user_errors():
        reg = registry()
        if not local:
            reg.require_writable("change a remote's committed URL")
        reg.storage.set_url(name, url, local)
    where = ".dvc/config.local (this machine)" if local else ".dvc/config; commit it to share it"
    err.print(f"[green]✓[/] remote {name!r} → {url} in {where}")


@app.command("list")
def list_remotes(as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts.")) -> None:
    """List remotes; the default one is marked, and the read-only (HTTP) ones.

    Example: bsr remote list
    """
    with user_errors():
        remotes = registry().storage.remotes()
    keys = ("url", "endpointurl", "default", "read_only", "overridden")
    if as_json:
        print_json({name: {k: v for k, v in s.items() if k in keys} for name, s in remotes.items()})
        return
    table = Table(title="Remotes")
    for column in ("name", "url", "endpoint", "default", "access"):
        table.add_column(column, overflow="fold")
    for name, s in remotes.items():
        url = s["url"] + (" ($BSR_PUBLIC_REMOTE)" if s["overridden"] else "")
        access = "read-only" if s["read_only"] else "read-write"
        table.add_row(name, url, s.get("endpointurl", ""), "✓" if s["default"] else "", access)
    out.print(table)
