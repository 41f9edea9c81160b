"""`bsr run`: many models on many benchmarks on a Dask cluster, records signed on this machine."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import typer
from rich.live import Live
from rich.table import Table

from .common import JSON_HELP, err, out, print_json, registry, user_errors
from .score import print_scores, score_row


def run(
    models: list[Path] = typer.Option(..., "--models", "-m", help="Model card (card.yaml); repeat for several."),
    benchmarks: list[str] = typer.Option(
        ..., "--benchmarks", "-b", help="Benchmark id or glob ('Geirhos2019.*', quoted); repeat for several."
    ),
    scheduler: str = typer.Option(
        None, "--scheduler", help="A running Dask scheduler (tcp://HOST:PORT). Default: a local cluster on this machine."
    ),
    workers: int = typer.Option(None, "--workers", min=1, help="Worker processes of the local cluster (default: CPU cores)."),
    device: str = typer.Option(
        "auto", "--device", help="Where extractions run: auto, cpu or cuda (cuda asks Dask for a GPU=1 resource)."
    ),
    metric_device: str = typer.Option(
        "cpu", "--metric-device", help="Where metric tasks run: cpu, or cuda (a GPU=1 resource, the metric's products on it)."
    ),
    batch_size: int = typer.Option(64, "--batch-size", min=1, help="Images per forward pass."),
    out_dir: Path = typer.Option(None, "--out", help="Directory for the records (default: the registry's records/)."),
    worker_registry: str = typer.Option(
        None,
        "--worker-registry",
        help="The registry as workers reach it: a git location each clones, or a checkout path they all read "
        "(default: the client's registry, by its git location when it has one).",
    ),
    retries: int = typer.Option(2, "--retries", min=0, help="Reruns of a task whose worker died or that raised unexpectedly."),
    connect_timeout: float = typer.Option(10.0, "--connect-timeout", min=0.1, help="Seconds to wait for --scheduler."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Score every model on every benchmark on Dask workers; one signed record per pair.

    One extraction task per (model, stimulus-set version, placement, layer) is shared by every
    benchmark that needs it; then one metric task per (model, benchmark). Workers pull the pinned data
    from the registry's remote into their own cache and verify them; activations go through the
    activation cache ($BSR_ACTIVATION_CACHE for one shared by all workers). Records are signed here,
    with your key, which never leaves this machine. A pair already recorded (same spec, model and
    code, signed by you) is not run again. A task that fails for a user error (a card that does not
    build, a layer the network lacks) is reported with `bsr score`'s message and the others finish;
    a worker that dies has its tasks rerun elsewhere. Exit 0 when every pair has its record, 2 when
    the failures are all user errors, 1 otherwise.

    Example: bsr run -m examples/models/convnet4/card.yaml -m examples/models/widenet/card.yaml -b 'Synthetic2026.*' --workers 2
    """
    from brainscore_registry.scaleout.cluster import dask_client
    from brainscore_registry.scaleout.plan import load_models, select_benchmarks
    from brainscore_registry.scaleout.runner import GridRun, RunSettings, plan_pairs

    with user_errors():
        reg = registry()
        specs = select_benchmarks(reg.root, benchmarks)
        _check_devices(device, metric_device)
        planned = load_models(models, device, batch_size)
        settings = RunSettings(device, batch_size, metric_device, retries, out_dir, worker_registry)
        pairs = plan_pairs(reg, specs, planned, out_dir)
        grid = GridRun(reg, pairs, settings)
        if grid.pending:
            cores = workers or os.cpu_count() or 1
            with dask_client(scheduler, cores, retries, gpu=device == "cuda", timeout=connect_timeout) as client:
                with GridView(client, enabled=not as_json) as view:
                    grid.run(client, on_change=view.update)
        outcome = grid.outcome
    rows = [score_row(r) for r in outcome.runs]
    failures = [vars(f) for f in outcome.failures]
    summary = _summary(outcome)
    if as_json:
        print_json({"records": rows, "failed": failures, "already_recorded": [str(p.path) for p in outcome.recorded], **summary})
    else:
        _print_rows(rows, outcome)
    if outcome.exit_code:
        raise typer.Exit(outcome.exit_code)


def _check_devices(device: str, metric_device: str) -> None:
    """Names only: whether CUDA is there is the workers' business, not the client's."""
    from brainscore_registry.errors import UserInputError

    if device not in ("auto", "cpu", "cuda"):
        raise UserInputError(f"unknown device {device!r}", field="device", fix="use auto, cpu or cuda")
    if metric_device not in ("cpu", "cuda"):
        raise UserInputError(f"unknown metric device {metric_device!r}", field="metric_device", fix="use cpu or cuda")


def _summary(outcome) -> dict:
    extractions = list(outcome.extractions.values())
    stages = {name: vars(count) for name, count in outcome.state.stages.items()}
    return {
        "tasks": stages,
        "extractions": {
            "computed": sum(e.computed for e in extractions),
            "from_cache": sum(not e.computed for e in extractions),
            "images": outcome.state.images,
            "seconds": round(sum(e.seconds for e in extractions), 3),
            "bytes": sum(e.nbytes for e in extractions),
        },
        "seconds": {"prepare_wall": round(outcome.state.prepare_wall, 3), "metric_tasks": round(outcome.state.metric_seconds, 3)},
    }


def _print_rows(rows: list[dict], outcome) -> None:
    if rows:
        print_scores(rows)
    if outcome.recorded:
        out.print(f"{len(outcome.recorded)} pair(s) already recorded (same spec, model and code, signed by you): not run again")
    summary = _summary(outcome)["extractions"]
    out.print(
        f"extractions: {summary['computed']} computed, {summary['from_cache']} from the activation cache, "
        f"{summary['images']:,} images through a network"
    )
    for failure in outcome.failures:
        err.print(f"[bold red]failed[/] {failure.benchmark} × {failure.model} ({failure.stage}): {failure.message}", markup=True)


class GridView:
    """Tasks done / running / failed per stage and images/s: a live table on a terminal; otherwise a
    line per stage when it ends and every 30 s, so a log shows progress."""

    LOG_EVERY = 30.0

    def __init__(self, client, enabled: bool = True) -> None:
        self.client, self.enabled = client, enabled
        self.live = Live(console=err, auto_refresh=False) if enabled and err.is_terminal else None
        self.state = None
        self.running: dict[str, int] = {}
        self._stop = threading.Event()
        self._logged_at = 0.0
        self._ended: set[str] = set()

    def __enter__(self) -> GridView:
        if self.live is not None:
            self.live.__enter__()
            threading.Thread(target=self._poll, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self.live is not None:
            self.live.__exit__(*exc)

    def _poll(self) -> None:
        while not self._stop.wait(0.5):
            try:
                processing = self.client.processing()
            except Exception:  # noqa: BLE001 - a display refresh; the run itself reports real errors
                continue
            counts: dict[str, int] = {}
            for keys in processing.values():
                for key in keys:
                    stage = str(key).split("-", 1)[0]
                    counts[stage] = counts.get(stage, 0) + 1
            self.running = counts
            self._render()

    def update(self, state) -> None:
        self.state = state
        if self.live is not None:
            self._render()
        elif self.enabled:
            self._log(state)

    def _render(self) -> None:
        if self.state is None:
            return
        table = Table(title=f"bsr run: {self.state.images_per_second:,.1f} images/s")
        for column in ("stage", "done", "running", "failed", "total"):
            table.add_column(column, justify="right" if column != "stage" else "left")
        for name, count in self.state.stages.items():
            table.add_row(name, str(count.done), str(self.running.get(name, 0)), str(count.failed), str(count.total))
        self.live.update(table, refresh=True)

    def _log(self, state) -> None:
        now = time.monotonic()
        ended = {n for n, c in state.stages.items() if c.total and c.done >= c.total} - self._ended
        if not ended and now - self._logged_at < self.LOG_EVERY:
            return
        self._ended |= ended
        self._logged_at = now
        parts = ", ".join(
            f"{n} {c.done}/{c.total}" + (f" ({c.failed} failed)" if c.failed else "") for n, c in state.stages.items()
        )
        err.print(f"{time.strftime('%H:%M:%S')} {parts}; {state.images_per_second:,.1f} images/s", markup=False, highlight=False)
