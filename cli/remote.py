"""`bsr remote add|list`: where a registry's data live besides this machine."""

from __future__ import annotations

import typer
from rich.table import Table

from .common import err, out, print_json, registry, user_errors

app = typer.Typer(help="Manage the registry's DVC remotes (S3; the embedded local remote is built in).", no_args_is_help=True)


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


@app.command("list")
def list_remotes(as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts.")) -> None:
    """List remotes; the default one is marked.

    Example: bsr remote list
    """
    with user_errors():
        remotes = registry().storage.remotes()
    if as_json:
        print_json({name: {k: v for k, v in s.items() if k in ("url", "endpointurl", "default")} for name, s in remotes.items()})
        return
    table = Table(title="Remotes")
    for column in ("name", "url", "endpoint", "default"):
        table.add_column(column)
    for name, s in remotes.items():
        table.add_row(name, s["url"], s.get("endpointurl", ""), "✓" if s["default"] else "")
    out.print(table)
