"""`bsr list` and `bsr show`: the catalogue as tables, or JSON for scripts."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.table import Table

from .common import out, print_json, registry, user_errors

if TYPE_CHECKING:
    from brainscore_registry.data.schemas import CatalogEntry, StoredVersion
    from brainscore_registry.store.registry import Registry


def _dims(stored: StoredVersion) -> str:
    return " × ".join(f"{k} {v:,}" for k, v in stored.dims.items())


def _version_json(reg: Registry, stored: StoredVersion) -> dict:
    return {**stored.model_dump(mode="json", exclude={"metadata"}), "local": reg.layout.is_local(stored)}


def summary(reg: Registry, entry: CatalogEntry) -> dict:
    """The fields scripts need about a dataset, taken from its latest version's metadata."""
    meta = entry.latest.metadata
    return {
        "identifier": entry.identifier,
        "kind": entry.kind,
        "latest": entry.latest.version,
        "versions": [_version_json(reg, v) for v in entry.versions],
        "species": meta.get("species"),
        "regions": meta.get("regions"),
        "modality": meta.get("modality"),
        "stimulus_set": entry.latest.stimulus_set,
        "time_bins": meta.get("time_bins"),
        "ceiling": meta.get("ceiling"),
        "visual_degrees": meta.get("visual_degrees"),
        "citation": meta["citation"],
        "license": meta["license"],
        "description": meta["description"],
        "provenance": meta["provenance"],
    }


def list_datasets(as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts.")) -> None:
    """List every dataset in the registry with its latest version.

    Example: bsr list --json
    """
    with user_errors():
        reg = registry()
        entries = reg.catalog.entries()
    if as_json:
        print_json([summary(reg, e) for e in entries])
        return
    table = Table(title=f"Datasets in {reg.root}", show_lines=False)
    for column in ("identifier", "kind", "latest", "versions", "dims", "species", "regions", "license"):
        table.add_column(column, overflow="fold")
    for e in entries:
        meta = e.latest.metadata
        table.add_row(
            e.identifier,
            e.kind,
            e.latest.version.short,
            str(len(e.versions)),
            _dims(e.latest),
            meta.get("species", "—"),
            ", ".join(meta.get("regions", [])) or "—",
            meta["license"],
        )
    if not entries:
        out.print("No datasets yet. Register one with `bsr register stimuli` / `bsr register assembly`.")
        return
    out.print(table)


def show(
    reference: str = typer.Argument(..., help="Name (latest version) or Name@sha256:<hex>."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
) -> None:
    """Show one dataset: metadata and versions (full hashes, dims, sizes).

    Example: bsr show Synthetic2026.V4 --json
    """
    with user_errors():
        reg = registry()
        entry, chosen = reg.catalog.resolve(reference, field="dataset")
    data = summary(reg, entry)
    if as_json:
        print_json({**data, "selected": chosen.version})
        return
    meta = chosen.metadata
    info = Table.grid(padding=(0, 2))
    info.add_column(style="bold")
    info.add_column(overflow="fold")
    rows = [
        ("version", chosen.version),
        ("kind", entry.kind),
        ("description", meta["description"]),
        ("species", meta.get("species")),
        ("regions", ", ".join(meta.get("regions", [])) or None),
        ("modality", meta.get("modality")),
        ("stimulus set", chosen.stimulus_set),
        ("time bins (ms)", ", ".join(f"[{a}, {b}]" for a, b in meta.get("time_bins", [])) or None),
        ("visual degrees", meta.get("visual_degrees")),
        ("ceiling", _ceiling(meta.get("ceiling"))),
        ("citation", meta["citation"]),
        ("license", meta["license"]),
        ("provenance", f"{meta['provenance']['source']} @ {meta['provenance']['revision']}"),
    ]
    for key, value in rows:
        if value is not None:
            info.add_row(key, str(value))
    out.print(info)
    versions = Table(title=f"Versions of {entry.identifier}")
    for column in ("", "sha256", "created (UTC)", "dims", "size on disk", "files", "local"):
        versions.add_column(column, overflow="fold")
    for v in entry.versions:
        versions.add_row(
            "▶" if v is chosen else "",
            v.version.hexdigest,
            f"{v.created:%Y-%m-%d %H:%M:%S}",
            _dims(v),
            f"{v.stored_bytes / 1e6:,.2f} MB",
            str(v.files),
            "yes" if reg.layout.is_local(v) else "no",
        )
    out.print(versions)


def _ceiling(ceiling: dict | None) -> str | None:
    if not ceiling:
        return None
    error = f" ± {ceiling['error']}" if ceiling.get("error") is not None else ""
    return f"{ceiling['value']}{error} ({ceiling['method']})"
