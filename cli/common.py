"""What every command shares: consoles, error mapping, progress display, JSON output.

Kept light on purpose: it imports rich and the package's error types only, so `bsr --help` and every
command's `--help` answer without loading the library behind them.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

from brainscore_registry.errors import BsrError

if TYPE_CHECKING:
    from brainscore_registry.store.registry import Registry


def _width(stream) -> int | None:
    """Rich's own width on a terminal; 140 columns when piped, so tables stay readable in logs."""
    return None if stream.isatty() else 140


out = Console(highlight=False, width=_width(sys.stdout))
err = Console(stderr=True, highlight=False, width=_width(sys.stderr))
JSON_HELP = "Print JSON for scripts."


class State:
    """Global options, set by the app callback."""

    registry: str | Path | None = None
    debug: bool = False


def debugging() -> bool:
    return State.debug or os.environ.get("BSR_DEBUG", "") not in ("", "0")


def registry() -> Registry:
    from brainscore_registry.store.registry import Registry

    return Registry(State.registry)


def _print_traceback(exc: BaseException) -> None:
    """The whole chain behind a user error, including causes the message hid (`raise ... from None`)."""
    cause: BaseException | None = exc
    while cause is not None:
        cause.__suppress_context__ = False
        cause = cause.__cause__ or cause.__context__
    err.print("".join(traceback.format_exception(exc)), markup=False, highlight=False, soft_wrap=True)


@contextmanager
def user_errors() -> Iterator[None]:
    """Map domain errors to 'Error: ...' on stderr and exit codes (2: user input, 1: failed job);
    with --debug (or BSR_DEBUG=1), the original traceback first."""
    try:
        yield
    except BsrError as exc:
        report_error(exc)
        raise typer.Exit(exc.exit_code) from None


def report_error(exc: BsrError) -> None:
    """`Error: <file>: field '<field>': <what>` and `Fix: <what to do>` on stderr (with --debug, the
    traceback first)."""
    if debugging():
        _print_traceback(exc)
    err.print(f"[bold red]Error:[/] {escape(exc.render())}", markup=True, highlight=False, soft_wrap=True)


def print_json(data: object) -> None:
    out.print_json(json.dumps(data, default=str), indent=2)


STAGE_LABELS = {
    "read": "reading files",
    "hash": "hashing",
    "write": "writing zarr store",
    "verify": "re-reading + verifying",
    "push": "pushing",
    "pull": "pulling",
}


def size_text(n: float) -> str:
    """Bytes as people read them: '1.2 GB', '512.0 MB', '3.4 kB', '12 B'."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:,.1f} {unit}"
    return f"{n:.0f} B"


class RichProgress:
    """Renders the library's progress(stage, done, total) callbacks: live bars on a terminal; when
    stderr is not one (a log file, CI, a pipe), one line per stage as it starts, every
    LOG_EVERY seconds while it runs, and when it ends, with counts and rates, so a long job's log is
    never empty. Rates are over real elapsed time since the stage's first report."""

    LOG_EVERY = 30.0

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.live = enabled and err.is_terminal
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description:<24}"),
            BarColumn(),
            TextColumn("{task.fields[amount]}"),
            TimeElapsedColumn(),
            console=err,
            disable=not self.live,
            transient=False,
        )
        self.tasks: dict[str, TaskID] = {}
        self.clocks: dict[str, StageClock] = {}

    def __enter__(self) -> RichProgress:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(*exc)

    def __call__(self, stage: str, done: int, total: int) -> None:
        clock = self.clocks.setdefault(stage, StageClock(done))
        amount = describe_amount(stage, done, total, clock.rate(done))
        if self.live:
            self._update_bar(stage, done, total, amount)
        elif self.enabled and clock.should_log(done, total, self.LOG_EVERY):
            err.print(f"{time.strftime('%H:%M:%S')} {STAGE_LABELS.get(stage, stage)}: {amount}", markup=False, highlight=False)

    def _update_bar(self, stage: str, done: int, total: int, amount: str) -> None:
        if stage not in self.tasks:
            self.tasks[stage] = self.progress.add_task(STAGE_LABELS.get(stage, stage), total=total or None, amount="")
        self.progress.update(self.tasks[stage], completed=min(done, total) if total else done, total=total or None, amount=amount)


class StageClock:
    """When a stage began (its first report) and when it was last logged: rates over real elapsed time,
    never over the few microseconds between a task's creation and its first update."""

    def __init__(self, done: int) -> None:
        self.start, self.first = time.monotonic(), done
        self.logged_at: float | None = None
        self.finished = False

    def rate(self, done: int) -> float | None:
        elapsed = time.monotonic() - self.start
        return (done - self.first) / elapsed if elapsed >= 0.5 and done > self.first else None

    def should_log(self, done: int, total: int, every: float) -> bool:
        now = time.monotonic()
        ending = bool(total) and done >= total
        if self.finished or not (self.logged_at is None or ending or now - self.logged_at >= every):
            return False
        self.logged_at, self.finished = now, ending
        return True


def describe_amount(stage: str, done: int, total: int, rate: float | None) -> str:
    """'12.0 MB/40.0 MB, 3.1 MB/s', '64/640 images, 21 images/s', '3/10', as the stage counts."""
    if stage in ("hash", "verify", "push", "pull"):
        return f"{size_text(done)}/{size_text(total)}" + (f", {size_text(rate)}/s" if rate else "")
    if stage == "read":
        return f"{done}/{total} files" + (f", {rate:,.0f} files/s" if rate else "")
    if stage.startswith("extract"):
        return f"{done}/{total} images" + (f", {rate:,.1f} images/s" if rate else "")
    return f"{done}/{total}" if total else ""
