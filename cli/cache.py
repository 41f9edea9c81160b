"""`bsr cache du|prune`: the activation cache and the shared DVC cache under $BSR_HOME/cache."""

from __future__ import annotations

import re
from datetime import datetime

import typer
from rich.table import Table

from .common import JSON_HELP, out, print_json, size_text, user_errors

app = typer.Typer(help="Local caches: how big they are, and pruning them.\n\nExample: bsr cache du", no_args_is_help=True)

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.I)
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)\s*$", re.I)
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


def parse_duration(text: str) -> float:
    from brainscore_registry.errors import UserInputError

    match = _DURATION.match(text)
    if not match:
        raise UserInputError(f"{text!r} is not a duration", field="older-than", fix="write e.g. 30d, 12h, 90m or 2w")
    return float(match[1]) * _SECONDS[match[2].lower()]


def parsesize_text(text: str) -> int:
    from brainscore_registry.errors import UserInputError

    match = _SIZE.match(text)
    unit = match[2].lower().rstrip("b") if match else ""
    if not match or unit not in ("", "k", "m", "g", "t", "ki", "mi", "gi", "ti"):
        raise UserInputError(f"{text!r} is not a size", field="max-size", fix="write e.g. 500MB, 5GB or 2GiB")
    base = 1024 if unit.endswith("i") else 1000
    return int(float(match[1]) * base ** ("kmgt".index(unit[0]) + 1 if unit else 0))


def _date(stamp: float | None) -> str:
    return "—" if stamp is None else datetime.fromtimestamp(stamp).strftime("%Y-%m-%d %H:%M")


@app.command("du")
def du(as_json: bool = typer.Option(False, "--json", help=JSON_HELP)) -> None:
    """How much each cache holds: entries, bytes, bytes in use by registries' workspaces, and age.

    Example: bsr cache du --json
    """
    from brainscore_registry.runs.caches import usage

    with user_errors():
        report = usage()
    if as_json:
        print_json([u.to_json() for u in report])
        return
    table = Table(title="Caches")
    for column in ("cache", "entries", "size", "in use", "oldest use", "newest use", "path"):
        table.add_column(column, overflow="fold")
    for u in report:
        table.add_row(
            u.name, f"{u.entries:,}", size_text(u.bytes), size_text(u.in_use_bytes), _date(u.oldest), _date(u.newest), str(u.path)
        )
    out.print(table)


@app.command("prune")
def prune(
    older_than: str = typer.Option(None, "--older-than", help="Remove what was last used longer ago, e.g. 30d, 12h."),
    max_size: str = typer.Option(None, "--max-size", help="Then remove the least recently used until each cache fits, e.g. 5GB."),
    only: str = typer.Option(None, "--only", help="activations, scores or dvc (default: all)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Count what would be removed; remove nothing."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Prune the caches. Activations are recomputed when needed; DVC objects linked into a workspace
    are never removed, others are fetched again from a remote. Safe next to running jobs: nothing used
    in the last 10 minutes is touched.

    Example: bsr cache prune --older-than 30d --max-size 5GB --dry-run
    """
    from brainscore_registry.errors import UserInputError
    from brainscore_registry.runs import caches

    with user_errors():
        if older_than is None and max_size is None:
            raise UserInputError("nothing to prune by", field="older-than", fix="give --older-than, --max-size or both")
        if only is not None and only not in caches.CACHES:
            raise UserInputError(f"no cache {only!r}", field="only", fix=f"use one of: {', '.join(caches.CACHES)}")
        results = caches.prune(
            (only,) if only else caches.CACHES,
            older_than=parse_duration(older_than) if older_than else None,
            max_bytes=parsesize_text(max_size) if max_size else None,
            dry_run=dry_run,
        )
    if as_json:
        print_json({"dry_run": dry_run, "caches": [r.to_json() for r in results]})
        return
    verb = "would remove" if dry_run else "removed"
    for r in results:
        note = "  (still above --max-size: the rest is in use or recent)" if r.over_limit else ""
        out.print(f"{r.name}: {verb} {r.removed:,} files, {size_text(r.freed)}; {size_text(r.remaining_bytes)} left{note}")
