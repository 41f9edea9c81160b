"""Where things live on disk: the user's data home and the registry checkout."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from .errors import UserInputError

REGISTRY_MARKER = Path("registry") / "datasets"


@contextlib.contextmanager
def atomic_file(path: Path, mode: int | None = None) -> Iterator[BinaryIO]:
    """A binary file that appears at `path` whole or not at all: written to a unique temporary file in
    the same directory, fsynced and renamed into place; removed if the block fails. Concurrent writers
    of the same path each replace the file with their own complete version."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, mode if mode is not None else default_file_mode())  # mkstemp's 0600 is for secrets only
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def default_file_mode() -> int:
    """0666 less the process umask, as an ordinary open() would create the file."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_atomic(path: Path, data: str | bytes, mode: int | None = None) -> None:
    with atomic_file(path, mode) as fh:
        fh.write(data.encode("utf-8") if isinstance(data, str) else data)


def check_output_file(path: str | Path, *, follow_symlinks: bool = False, field: str = "out", can_follow: bool = True) -> Path:
    """The file to write for an output path a user gave (`--out`), refused before any work when writing
    it would do harm: `atomic_file` renames a new file over the path, which would replace a directory
    entry that is a device node, named pipe or socket, and replace a symbolic link itself rather than
    write through it. A symlink is followed only with `follow_symlinks` (its target is returned and must
    be a regular file or not exist). The parent directory must be a directory, if it exists."""
    try:
        return _checked_output_file(Path(path), follow_symlinks, field, can_follow)
    except OSError as exc:  # e.g. a name longer than the file system allows
        raise UserInputError(
            f"cannot be written: {exc.strerror or exc}",
            file=path,
            field=field,
            fix="give a shorter path in a directory you can write",
        ) from None


def _checked_output_file(path: Path, follow_symlinks: bool, field: str, can_follow: bool) -> Path:
    if path.is_symlink():
        if not follow_symlinks:
            raise UserInputError(
                f"is a symbolic link (to {os.readlink(path)}); writing would replace the link by a file",
                file=path,
                field=field,
                fix="give the target's path" + (", or ask to write through the link (--follow-symlinks)" if can_follow else ""),
            )
        path = path.resolve()
    if path.is_dir():
        raise UserInputError("is a directory", file=path, field=field, fix="give the path of a file, e.g. DIR/record.json")
    if path.exists() and not path.is_file():
        raise UserInputError(
            "is not a regular file (a device, named pipe or socket); writing would replace it",
            file=path,
            field=field,
            fix="give the path of a regular file (new or existing)",
        )
    if path.parent.exists() and not path.parent.is_dir():
        raise UserInputError(f"{path.parent} is not a directory", file=path, field=field, fix="give a path in a directory")
    return path


def bsr_home() -> Path:
    """The user's data directory: `$BSR_HOME`, else `$XDG_DATA_HOME/brainscore-registry`,
    else `~/.local/share/brainscore-registry`."""
    if os.environ.get("BSR_HOME"):
        return Path(os.environ["BSR_HOME"]).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base).expanduser() / "brainscore-registry"


def find_registry_root(start: str | Path | None = None) -> Path:
    """The registry checkout: `start` itself, `$BSR_REGISTRY`, or the nearest parent of the
    working directory that holds `registry/datasets/`."""
    if start is None and os.environ.get("BSR_REGISTRY"):
        start = os.environ["BSR_REGISTRY"]
        explicit = True
    else:
        explicit = start is not None
    if explicit:
        root = Path(start).expanduser().resolve()
        if not (root / REGISTRY_MARKER).is_dir():
            raise UserInputError(
                f"not a registry: {REGISTRY_MARKER}/ is missing",
                file=root,
                fix=f"point --registry (or BSR_REGISTRY) at a registry checkout, or create one with `bsr init {root}`",
            )
        return root
    cwd = Path.cwd().resolve()
    for candidate in (cwd, *cwd.parents):
        if (candidate / REGISTRY_MARKER).is_dir():
            return candidate
    raise UserInputError(
        "no registry found in this directory or any parent",
        file=cwd,
        fix="run inside a registry checkout, pass --registry PATH, set BSR_REGISTRY, or create one with `bsr init PATH`",
    )


def check_input_file(path: Path, field: str) -> None:
    """An input that exists and is a regular file (a directory or a pipe is refused, not read)."""
    if not path.exists():
        raise UserInputError("file not found", file=path, field=field, fix="check the path")
    if not path.is_file():
        raise UserInputError("is not a regular file (a directory, pipe or device)", file=path, field=field, fix="give a file")
