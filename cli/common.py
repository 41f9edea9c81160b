"""What every command shares: consoles, error mapping, progress display, JSON output.

Kept light on purpose: it imports rich and the package's error types only, so `bsr --help` and every
command's `--help` answer without loading the library behind them.
"""

from __future__ import annotations

import json
import os
import sys
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
        if debugging():
            _print_traceback(exc)
        err.print(f"[bold red]Error:[/] {escape(exc.render())}", markup=True, highlight=False, soft_wrap=True)
        raise typer.Exit(exc.exit_code) from None


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


def _size(n: int) -> str:
    return f"{n / 1e6:,.1f} MB" if n >= 1e6 else f"{n / 1e3:,.1f} kB"


class RichProgress:
    """Renders the library's progress(stage, done, total) callbacks as rich progress bars on stderr."""

    def __init__(self, enabled: bool = True) -> None:
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description:<24}"),
            BarColumn(),
            TextColumn("{task.fields[amount]}"),
            TimeElapsedColumn(),
            console=err,
            disable=not enabled,
            transient=False,
        )
        self.tasks: dict[str, TaskID] = {}

    def __enter__(self) -> RichProgress:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.__exit__(*exc)

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage not in self.tasks:
            self.tasks[stage] = self.progress.add_task(STAGE_LABELS.get(stage, stage), total=total or None, amount="")
        task = self.tasks[stage]
        if stage in ("hash", "verify", "push", "pull"):
            amount = f"{_size(done)}/{_size(total)}"
        elif stage == "read":
            amount = f"{done}/{total} files"
        elif stage.startswith("extract"):  # activations: images and images per second
            elapsed = next(t for t in self.progress.tasks if t.id == task).elapsed or 0.0
            rate = f", {done / elapsed:,.0f} images/s" if elapsed > 0 else ""
            amount = f"{done}/{total} images{rate}"
        elif total:
            amount = f"{done}/{total}"
        else:
            amount = ""
        self.progress.update(task, completed=done, total=total or None, amount=amount)
        if total and done >= total:
            self.progress.update(task, completed=total)
