"""`bsr init PATH`: create an empty registry layout."""

from __future__ import annotations

from pathlib import Path

import typer

from .common import out, user_errors


def init(path: Path = typer.Argument(Path("."), help="Directory to turn into a registry.")) -> None:
    """Create an empty registry (registry/datasets, registry/benchmarks, assemblies, stimulus_sets).

    Example: bsr init my-lab-registry
    """
    from brainscore_registry.store.registry import Registry

    with user_errors():
        reg = Registry.init(path)
    out.print(f"registry ready at {reg.root}")
