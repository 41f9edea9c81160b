"""Domain errors. The CLI maps `UserInputError` to exit code 2 and `JobError` to exit code 1.

Every user-facing error names the file, the field and the fix, so that a person can act on it
without reading a traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path


class BsrError(Exception):
    """Base of every error this package raises on purpose."""

    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        field: str | None = None,
        fix: str | None = None,
    ) -> None:
        self.message = message
        self.file = str(file) if file is not None else None
        self.field = field
        self.fix = fix
        super().__init__(self.render())

    def render(self) -> str:
        where = []
        if self.file:
            where.append(self.file)
        if self.field:
            where.append(f"field '{self.field}'")
        head = ": ".join(where + [self.message]) if where else self.message
        return f"{head}\n  Fix: {self.fix}" if self.fix else head


class UserInputError(BsrError):
    """The user's input (a file, a table, a metadata key, an argument) is wrong; exit code 2."""

    exit_code = 2


class JobError(BsrError):
    """A job failed for reasons other than the user's input (I/O, integrity); exit code 1."""

    exit_code = 1


class IntegrityError(JobError):
    """Stored content does not hash to the version it claims to be."""


def did_you_mean(value: str, choices: Iterable[str], n: int = 3) -> str:
    """A ' Did you mean ...?' hint (or '') for an unknown name, case-insensitively."""
    choices = list(choices)
    lowered = {c.lower(): c for c in choices}
    if value.lower() in lowered:
        return f" Did you mean '{lowered[value.lower()]}'?"
    close = difflib.get_close_matches(value.lower(), list(lowered), n=n, cutoff=0.5)
    if not close:
        return ""
    names = " or ".join(f"'{lowered[c]}'" for c in close)
    return f" Did you mean {names}?"


def preview(items: Iterable[object], limit: int = 5) -> str:
    """A short, readable list of the first few items, e.g. "'a', 'b', 'c' and 7 more"."""
    items = list(items)
    shown = ", ".join(repr(str(i)) for i in items[:limit])
    rest = len(items) - limit
    return f"{shown} and {rest} more" if rest > 0 else shown
