"""`bsr package`: build the published datasets from their raw files into the registry."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from .common import RichProgress, out, print_json, registry, user_errors

PACKAGE_NAMES = ("cowley2023", "geirhos2019", "kriegeskorte2008")  # packaging.build.PACKAGES (a test keeps them equal)


def package(
    names: list[str] = typer.Argument(..., help=f"Dataset(s): {', '.join(PACKAGE_NAMES)}, or all."),
    raw: Path = typer.Option(None, "--raw", help="Folder holding the raw datasets (default: ../shared/data or $BSR_RAW_DATA)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Verify the raw files' SHA256, register stimulus sets and assemblies, write the benchmark specs.

    Deterministic: rebuilding from the same raw files gives the same versions (hashes), bit for bit.

    Example: bsr package cowley2023 --raw ../shared/data
    """
    from brainscore_registry.benchmarks.specs import record_versions
    from brainscore_registry.packaging.build import PACKAGES, build

    with user_errors(), RichProgress(not as_json) as progress:
        reg = registry()
        chosen = list(PACKAGES) if names == ["all"] else names
        results = {}
        for name in chosen:
            versions, specs = build(name, reg, raw, progress=progress)
            results[name] = {"versions": versions, "benchmarks": [s["id"] for s in specs]}
        record_versions(reg.root)
    if as_json:
        print_json(results)
        return
    table = Table(title="Packaged")
    for column in ("dataset", "version", "benchmarks"):
        table.add_column(column, overflow="fold")
    for name, result in results.items():
        for i, version in enumerate(result["versions"].values()):
            table.add_row(name if i == 0 else "", version, ", ".join(result["benchmarks"]) if i == 0 else "")
    out.print(table)
