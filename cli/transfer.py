"""`bsr push`, `bsr pull`, `bsr status`: data between this registry and its DVC remote."""

from __future__ import annotations

import typer
from rich.table import Table

from .common import RichProgress, err, out, print_json, registry, user_errors

REMOTE = typer.Option(None, "--remote", "-r", help="Remote name (default: the registry's default remote).")
JSON = typer.Option(False, "--json", help="Print JSON for scripts.")


def push(
    targets: list[str] = typer.Argument(None, help="Name or Name@sha256:<hex>; default: every local version."),
    remote: str = REMOTE,
    as_json: bool = JSON,
) -> None:
    """Send versions to the remote (everything not there yet, by default).

    Example: bsr push Cowley2023.V4 --remote s3
    """
    from brainscore_registry.store import transfers

    with user_errors(), RichProgress(not as_json) as progress:
        pushed = transfers.push(registry(), targets or None, remote, progress)
    if as_json:
        print_json({"pushed": [v.version for v in pushed]})
        return
    err.print(f"[green]✓[/] {len(pushed)} version(s) in the remote")


def pull(
    targets: list[str] = typer.Argument(None, help="Name (latest version) or Name@sha256:<hex>; with --repair, default: all."),
    remote: str = REMOTE,
    repair: bool = typer.Option(
        False, "--repair", help="Restore damaged or missing local copies (verified in full first; intact ones are kept)."
    ),
    as_json: bool = JSON,
) -> None:
    """Fetch versions from the remote; each is verified by its logical hash before use.

    An assembly brings its pinned stimulus set along. A copy that fails verification is moved aside
    and the command fails. Works with --registry pointing at a git URL or a bare clone. With --repair,
    every named local copy (all by default) is verified in full, and a damaged one is moved aside to
    $BSR_HOME/quarantine and fetched again.

    Example: bsr --registry https://github.com/lab/registry.git pull Cowley2023.V4
    """
    from brainscore_registry.store import transfers

    with user_errors(), RichProgress(not as_json) as progress:
        reg = registry()
        if repair:
            results = transfers.repair(reg, targets or None, remote, progress)
        else:
            pulled = transfers.pull(reg, targets or [], remote, progress)
    if repair:
        _print_checks(results, as_json, "repair")
        return
    if as_json:
        print_json({"pulled": [{"version": v.version, "path": str(reg.layout.local_path(v))} for v in pulled]})
        return
    for v in pulled:
        err.print(f"[green]✓[/] {v.version} verified at {reg.layout.local_path(v)}")
    out.print("\n".join(v.version for v in pulled))


def verify_data(
    targets: list[str] = typer.Argument(None, help="Name or Name@sha256:<hex>; default: every version."),
    as_json: bool = JSON,
) -> None:
    """Recompute the logical hash of local copies (all by default): exit 1 when one is damaged.

    Every load already checks a store's metadata and re-hashes it when it changed; this checks
    everything now, e.g. after a disk error. Repair with `bsr pull --repair`.

    Example: bsr verify-data Cowley2023.V4_session210325
    """
    from brainscore_registry.store import transfers

    with user_errors(), RichProgress(not as_json) as progress:
        checks = transfers.verify_data(registry(), targets or None, progress)
    _print_checks(checks, as_json, "verify-data")
    if any(c.state == "damaged" for c in checks):
        raise typer.Exit(1)


def _print_checks(checks, as_json: bool, title: str) -> None:
    if as_json:
        print_json([{"version": c.version, "state": c.state, "detail": c.detail, "path": c.path} for c in checks])
        return
    table = Table(title=title)
    for column in ("version", "state", "detail"):
        table.add_column(column, overflow="fold")
    for c in checks:
        colour = {"intact": "green", "repaired": "green", "damaged": "red"}.get(c.state, "yellow")
        table.add_row(f"{c.version.name}@{c.version.short}", f"[{colour}]{c.state}[/]", c.detail)
    out.print(table)


def status(
    targets: list[str] = typer.Argument(None, help="Name or Name@sha256:<hex>; default: every version."),
    remote: str = REMOTE,
    as_json: bool = JSON,
) -> None:
    """What is here, what is in the remote, and what is missing.

    Example: bsr status --json
    """
    from brainscore_registry.store import transfers

    with user_errors():
        rows = transfers.status(registry(), targets or None, remote)
    if as_json:
        print_json(
            [
                {"version": r.version, "local": r.local, "remote": r.remote, "intact": r.intact, "state": r.state, "path": r.path}
                for r in rows
            ]
        )
        return
    table = Table(title="Data status")
    for column in ("version", "here", "in remote", "state"):
        table.add_column(column, overflow="fold")
    for r in rows:
        table.add_row(f"{r.version.name}@{r.version.short}", "yes" if r.local else "no", "yes" if r.remote else "no", r.state)
    out.print(table)
