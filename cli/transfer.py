"""`bsr push`, `bsr pull`, `bsr status`, `bsr publish`: data between this registry and its DVC remotes."""

from __future__ import annotations

import typer
from rich.table import Table

from .common import RichProgress, err, out, print_json, registry, user_errors

REMOTE = typer.Option(None, "--remote", "-r", help="Remote name (default: the registry's default remote).")
READ_REMOTE = typer.Option(
    None, "--remote", "-r", help="Only this remote (default: the default remote, then the read-only public one)."
)
JSON = typer.Option(False, "--json", help="Print JSON for scripts.")


def _datasets(reg, targets: list[str] | None) -> list[str] | None:
    """Targets with every benchmark id replaced by the versions its spec pins (assembly, fitting
    stimuli; the assembly brings its stimulus set). Dataset names and `Name@sha256:` pass as they are;
    anything else is an error with a did-you-mean over datasets and benchmarks both."""
    from brainscore_registry.benchmarks.specs import find_spec, spec_paths
    from brainscore_registry.errors import UserInputError, did_you_mean

    if not targets:
        return targets
    datasets = reg.catalog.names()
    benchmarks = [p.stem for p in spec_paths(reg.root)]
    chosen: list[str] = []
    for target in targets:
        if target.split("@")[0] in datasets:
            chosen.append(target)
        elif target in benchmarks:
            spec = find_spec(reg.root, target)
            chosen += [str(p) for p in (spec.assembly, spec.fitting_stimuli) if p]
        else:
            raise UserInputError(
                f"no dataset {target!r} and no benchmark {target!r} in the registry at {reg.root}."
                f"{did_you_mean(target.split('@')[0], [*datasets, *benchmarks])}",
                field="TARGET",
                fix="name a dataset (`bsr list`), a version (`Name@sha256:<hex>`) or a benchmark (`bsr benchmarks`)",
            )
    return chosen


def push(
    targets: list[str] = typer.Argument(None, help="Name or Name@sha256:<hex>; default: every local version."),
    remote: str = REMOTE,
    as_json: bool = JSON,
) -> None:
    """Send versions to the remote (everything not there yet, by default).

    Example: bsr push Synthetic2026.V4
    """
    from brainscore_registry.store import transfers

    with user_errors(), RichProgress(not as_json) as progress:
        pushed = transfers.push(registry(), targets or None, remote, progress)
    if as_json:
        print_json({"pushed": [v.version for v in pushed]})
        return
    err.print(f"[green]✓[/] {len(pushed)} version(s) in the remote")


def pull(
    targets: list[str] = typer.Argument(
        None, help="Benchmark id, dataset name (latest version) or Name@sha256:<hex>; with --repair, default: all."
    ),
    remote: str = READ_REMOTE,
    repair: bool = typer.Option(
        False, "--repair", help="Restore damaged or missing local copies (verified in full first; intact ones are kept)."
    ),
    as_json: bool = JSON,
) -> None:
    """Bring versions here; each is verified by its logical hash before use.

    A benchmark id brings the versions its spec pins; an assembly brings its pinned stimulus set
    along. Each version comes from the first place that holds all of it: this machine's shared DVC
    cache (instant), the default remote, then the read-only public remote (no credentials). A version
    that is nowhere is one error saying what was tried and how to rebuild it. A copy that fails
    verification is moved aside and the command fails. Works with --registry pointing at a git URL
    or a bare clone. With --repair, every named local copy (all by default) is verified in full, and
    a damaged one is moved aside to $BSR_HOME/quarantine and fetched again.

    Example: bsr pull Synthetic2026.V4-pls
    """
    from brainscore_registry.store import transfers

    with user_errors(), RichProgress(not as_json) as progress:
        reg = registry()
        chosen = _datasets(reg, targets or None)
        if repair:
            results = transfers.repair(reg, chosen, remote, progress)
        else:
            pulled = transfers.pull(reg, chosen or [], remote, progress)
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

    Example: bsr verify-data Synthetic2026.V4
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
    targets: list[str] = typer.Argument(None, help="Benchmark id, dataset name or Name@sha256:<hex>; default: every version."),
    remote: str = READ_REMOTE,
    as_json: bool = JSON,
) -> None:
    """Where each version is: here, in this machine's DVC cache, in the default remote, in the public
    remote, or nowhere. A remote that cannot be reached is named, not fatal.

    States: synced, here, published, local only: push it, in cache: pull it (instant), in remote:
    pull it, in public remote: pull it, missing everywhere (or nowhere reachable), DAMAGED here.

    Example: bsr status --json
    """
    from brainscore_registry.store import transfers

    with user_errors():
        reg = registry()
        report = transfers.status_report(reg, _datasets(reg, targets or None), remote)
    for check in report.checks:
        if check.problem:
            err.print(f"[yellow]![/] remote {check.label} could not be asked: {check.problem}")
    if as_json:
        print_json([_status_json(r) for r in report.rows])
        return
    first = report.checks[0].name if report.checks else "remote"
    table = Table(title="Data status")
    for column in ("version", "here", "cache", f"remote '{first}'", "public", "state"):
        table.add_column(column, overflow="fold")
    declared = any(c.name == "public" for c in report.checks)
    for r in report.rows:
        name = f"{r.version.name}@{r.version.short}"
        table.add_row(name, _yes(r.local), _yes(r.cache), _yes(r.remote), _yes(r.public) if declared else "-", r.state)
    out.print(table)


def _status_json(r) -> dict:
    return {
        "version": r.version,
        "local": r.local,
        "cache": r.cache,
        "remote": r.remote,
        "public": r.public,
        "intact": r.intact,
        "state": r.state,
        "path": r.path,
    }


def _yes(value: bool | None) -> str:
    return "?" if value is None else "yes" if value else "no"


def publish(
    targets: list[str] = typer.Argument(None, help="Benchmark id, dataset name or Name@sha256:<hex>; default: every version."),
    to: str = typer.Option(..., "--to", help="Where the public remote's server reads from: a directory, or s3://bucket/prefix."),
    endpoint_url: str = typer.Option(None, "--endpoint-url", help="S3-compatible endpoint for an s3:// destination."),
    as_json: bool = JSON,
) -> None:
    """For maintainers: upload versions, in DVC's remote layout, to the place the public remote serves.

    The public remote is read-only HTTP; this writes what its web server serves: a directory (a
    static web server's root) or an S3 bucket with anonymous read (credentials for the upload come
    from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY). Versions are read from this machine's DVC cache
    (pull or package them first); every object is checked at the destination afterwards. Rerunning
    sends only what is missing.

    Example: bsr publish Synthetic2026.V4-pls --to ./published
    """
    from brainscore_registry.store import transfers

    with user_errors(), RichProgress(not as_json) as progress:
        reg = registry()
        versions, sent = transfers.publish(reg, _datasets(reg, targets or None), to, endpoint_url, progress)
    if as_json:
        print_json({"published": [v.version for v in versions], "objects_sent": sent, "to": to})
        return
    err.print(f"[green]✓[/] {len(versions)} version(s) at {to} ({sent} object(s) sent); serve it as the public remote")
    out.print("\n".join(v.version for v in versions))
