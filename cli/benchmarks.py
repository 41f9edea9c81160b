"""`bsr benchmarks`, `bsr benchmark show|record`: the benchmark specs under registry/benchmarks/."""

from __future__ import annotations

import typer
from rich.table import Table

from .common import out, print_json, registry, report_error, user_errors

app = typer.Typer(
    help="Benchmark specs: show one, record versions.\n\nExample: bsr benchmark show Synthetic2026.V4-pls", no_args_is_help=True
)


def _ceiling_text(spec) -> str:
    c = spec.ceiling
    if c.method:
        return c.method + ("(" + ", ".join(f"{k}={v}" for k, v in c.params.items()) + ")" if c.params else "")
    return f"{c.value}" + (f" ± {c.error}" if c.error is not None else "") + " (pinned)"


def list_benchmarks(as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts.")) -> None:
    """List the benchmark specs: id, version, data pin, metric, ceiling, normalisation, parent.

    A spec that does not load is reported by its file on stderr (exit 2) after the others are listed.

    Example: bsr benchmarks --json
    """
    from brainscore_registry.benchmarks.description import describe
    from brainscore_registry.benchmarks.specs import read_specs

    with user_errors():
        reg = registry()
        specs, broken = read_specs(reg.root)
        described = [describe(reg, s) for s in specs] if as_json else []
    if as_json:
        print_json(described)
    elif specs:
        out.print(_table(reg, specs))
    elif not broken:
        out.print("No benchmark specs yet: add one under registry/benchmarks/<id>.yaml (see `bsr benchmark show --help`).")
    for error in broken:
        report_error(error)
    if broken:
        raise typer.Exit(2)


def _table(reg, specs) -> Table:
    table = Table(title=f"Benchmarks in {reg.root}")
    for column in ("id", "v", "assembly", "metric", "ceiling", "normalization", "parent"):
        table.add_column(column, overflow="fold")
    for s in specs:
        assembly = f"{s.assembly.name}@{s.assembly.short}"
        table.add_row(s.id, str(s.version), assembly, s.metric.name, _ceiling_text(s), s.normalization_name, s.parent or "—")
    return table


@app.command("show")
def show(
    benchmark_id: str = typer.Argument(..., metavar="ID", help="Benchmark id, e.g. Synthetic2026.V4-pls."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Show one benchmark spec: pins (and whether they are here), procedure, metric, ceiling.

    Example: bsr benchmark show Synthetic2026.V4-pls --json
    """
    from brainscore_registry.benchmarks.description import describe
    from brainscore_registry.benchmarks.specs import find_spec

    with user_errors():
        reg = registry()
        spec = find_spec(reg.root, benchmark_id)
        data = describe(reg, spec)
    if as_json:
        print_json(data)
        return
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(overflow="fold")
    procedure = ", ".join(f"{k}={v}" for k, v in spec.procedure.model_dump(exclude_none=True).items())
    params = ", ".join(f"{k}={v}" for k, v in spec.metric.params.items())
    effective = ", ".join(f"{k}={v}" for k, v in data["parameters"]["metric"].items())
    plugins = "; ".join(
        f"[bold yellow]runs plugin code[/] {p['file']} ({p['part']}, sha256 {p['sha256']})" for p in data["plugin_code"]
    )
    for key, value in (
        ("id", f"{spec.id} (version {spec.version})"),
        ("description", spec.description),
        ("assembly", _pin_text(data["data"]["assembly"])),
        ("fitting stimuli", _pin_text(data["data"]["fitting_stimuli"])),
        ("procedure", procedure),
        ("metric", f"{spec.metric.name}({params})"),
        ("all parameters", effective),
        ("ceiling", _ceiling_text(spec)),
        (
            "normalization",
            f"{spec.normalization_name}: {data['normalization_formula']}"
            + "".join(f", {k}={v}" for k, v in spec.normalization_params.items()),
        ),
        ("plugin code", plugins),
        ("parent", f"{spec.parent} (weight {spec.weight})" if spec.parent else None),
        ("fingerprint", data["fingerprint"]),
        ("conditioning", data["conditioning"]),
        ("citation", spec.citation),
    ):
        if value:
            grid.add_row(key, value)
    out.print(grid)


def _pin_text(state: dict | None) -> str | None:
    if state is None:
        return None
    where = "here" if state["local"] else "catalogued, not pulled" if state["catalogued"] else "NOT in this registry"
    return f"{state['version']} ({where})"


@app.command("record")
def record(as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts.")) -> None:
    """Record every spec's version and fingerprint in registry/benchmarks/fingerprints.json.

    Refuses a spec whose pins, procedure, metric, ceiling or normalisation changed while its version
    stayed the same: raise `version` first.

    Example: bsr benchmark record
    """
    from brainscore_registry.benchmarks.specs import record_versions, version_problems

    with user_errors():
        reg = registry()
        recorded = record_versions(reg.root)
    if as_json:
        print_json(recorded)
        return
    out.print(f"Recorded {len(recorded)} benchmark version(s); {len(version_problems(reg.root))} problem(s) left.")


@app.command("check")
def check(
    benchmark_id: str = typer.Argument(..., metavar="ID", help="Benchmark id, e.g. Synthetic2026.V4-rsa."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Run the metric contract on a benchmark's own data: parameters, Score type, determinism, JSON
    round trip, refusal of a model that lacks stimuli, and the ceiling. Exit 1 when a check fails.

    Meant for plugin metrics (`metric: {name: plugin:NAME, plugin_sha256: ...}`): it runs the plugin's
    code from this registry's registry/metrics/, and prints the file's sha256 to pin. Pulls the data first.

    Example: bsr benchmark check Synthetic2026.V4-pls
    """
    from brainscore_registry.benchmarks.check import check_benchmark
    from brainscore_registry.benchmarks.description import plugin_code
    from brainscore_registry.benchmarks.scoring import load_benchmark_data
    from brainscore_registry.benchmarks.specs import find_spec
    from brainscore_registry.runs.run import ensure_local

    from .common import RichProgress

    with user_errors():
        reg = registry()
        spec = find_spec(reg.root, benchmark_id)
        with RichProgress(not as_json) as progress:
            ensure_local(reg, spec, progress)
        checks = check_benchmark(load_benchmark_data(spec, reg))
    failed = [c for c in checks if c.passed is False]
    if as_json:
        print_json(
            {
                "benchmark": spec.id,
                "plugin_code": plugin_code(reg, spec),
                "passed": not failed,
                "checks": [c.to_json() for c in checks],
            }
        )
    else:
        for plugin in plugin_code(reg, spec):
            out.print(f"[bold yellow]plugin code[/] {plugin['file']}: sha256 {plugin['sha256']} (pinned by the {plugin['part']})")
        table = Table(title=f"bsr benchmark check {spec.id}")
        for column in ("check", "result", "detail"):
            table.add_column(column, overflow="fold")
        marks = {True: "[green]✓ pass[/]", False: "[red]✗ FAIL[/]", None: "[dim]– n/a[/]"}
        for c in checks:
            table.add_row(c.name, marks[c.passed], c.detail)
        out.print(table)
        out.print(f"[red]{len(failed)} check(s) failed[/]" if failed else "[green]every check passed[/]")
    if failed:
        raise typer.Exit(1)
