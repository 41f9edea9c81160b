"""`bsr demo`: the main job on a fresh machine, end to end, on a clearly labelled synthetic experiment
whose ground truth is known (and on the real benchmarks when their raw data are found)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from .common import RichProgress, err, out, print_json, user_errors


def demo(
    workdir: Path = typer.Option(None, "--workdir", help="Where to build the demo registry (default: $BSR_HOME/demo; replaced)."),
    raw: Path = typer.Option(None, "--raw", help="Raw published datasets (default: ../shared/data); scored too when found."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary instead of tables."),
) -> None:
    """The whole platform on a SYNTHETIC experiment with known ground truth: its "neural" responses are
    one layer of a hidden seeded network plus Poisson noise. Registers it, pushes it to the embedded
    remote, deletes it and pulls it back by benchmark id, scores the example models (every layer of
    one), writes and verifies signed records, reproduces one, checks that the model and the layer
    that produced the data score best, and builds a leaderboard site from the records. With the raw
    published data, also packages and scores the real benchmarks.

    Example: bsr demo
    """
    from brainscore_registry.synthetic.demo import run_demo

    def step(number: int, total: int, text: str) -> None:
        if number == 1:
            err.rule("[bold]bsr demo[/]: a SYNTHETIC experiment (generated data, not a real recording)")
        err.print(f"[bold]{number}/{total}[/] {text}")

    with user_errors(), RichProgress(not as_json) as progress:
        result = run_demo(workdir, raw, progress=progress, step=step if not as_json else None)
    if as_json:
        print_json(result.to_json())
    else:
        _print_summary(result)
    if not result.passed:
        raise typer.Exit(1)


def _check(ok: bool, text: str) -> None:
    out.print(f"{'[green]✓[/]' if ok else '[red]✗[/]'} {text}")


def _print_summary(result) -> None:
    from brainscore_registry.synthetic.demo import BENCHMARK, HIDDEN_LAYER, HIDDEN_MODEL

    table = Table(title=f"{BENCHMARK} (SYNTHETIC; the data are {HIDDEN_MODEL}.{HIDDEN_LAYER} + Poisson noise)")
    for column in ("model", "layer", "raw r", "ceiling", "ceiled score", "error"):
        table.add_column(column)
    for run in sorted(result.runs, key=lambda r: -r.score.value):
        model, layer, score = run.record.model.name, result.layer_of(run), run.score
        mark = " ◀ hidden" if (model, layer) == (HIDDEN_MODEL, HIDDEN_LAYER) else ""
        numbers = (score.raw.value, score.ceiling.value, score.value, score.error)
        table.add_row(model, layer + mark, *(f"{v:.4f}" for v in numbers))
    out.print(table)
    ceiling = result.runs[0].score.ceiling.value
    out.print(
        f"Measured split-half ceiling {ceiling:.3f}; true reliability (from the rates) {result.experiment.true_reliability:.3f}."
    )
    _check(result.model_recovered, "model recovery: the network containing the hidden layer scores best")
    _check(result.layer_recovered, f"layer recovery: its best layer is the hidden one ({HIDDEN_LAYER})")
    _check(result.reproduced, "the hidden layer's signed record verifies and reproduces")
    if result.real_data:
        real = Table(title="Published benchmarks (example models are small and untrained: expect low scores)")
        for column in ("benchmark", "model", "raw", "score"):
            real.add_column(column)
        for run in result.real_runs:
            real.add_row(run.spec.id, run.record.model.name, f"{run.score.raw.value:.4f}", f"{run.score.value:.4f}")
        out.print(real)
    else:
        out.print("Raw published data not found (../shared/data or --raw PATH): the real benchmarks were skipped.")
    registry = result.registry.root
    out.print(f"Leaderboard of the demo's records: open [bold]{result.site}[/] (a static site: any browser, no server)")
    out.print(f"Done in {result.seconds:.0f} s. Records: {registry}/records; see [bold]bsr --registry {registry} benchmarks[/]")
