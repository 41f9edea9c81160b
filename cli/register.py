"""`bsr register stimuli|assembly`: turn raw files into an immutable, content-identified version."""

from __future__ import annotations

from pathlib import Path

import typer

from .common import RichProgress, err, out, print_json, registry, user_errors

app = typer.Typer(help="Register a stimulus set or an assembly as a new content-hashed version.", no_args_is_help=True)


def _report(result, as_json: bool) -> None:
    if as_json:
        print_json(
            {
                "version": str(result.version),
                "created": result.created,
                "path": str(result.path),
                "dims": result.stored.dims,
                "stored_bytes": result.stored.stored_bytes,
            }
        )
        return
    if result.created:
        err.print(
            f"[green]registered[/] {result.version.name} version {result.version.short} "
            f"({result.stored.stored_bytes / 1e6:,.2f} MB in {result.stored.files} files) at {result.path}"
        )
    else:
        err.print(
            f"[yellow]already registered:[/] identical content is version {result.version.short} "
            f"(created {result.stored.created:%Y-%m-%d %H:%M} UTC); nothing written"
        )
    out.print(str(result.version))


@app.command("stimuli")
def stimuli(
    directory: Path = typer.Argument(..., help="Directory holding the image files."),
    table: Path = typer.Option(..., "--table", "-t", help="CSV with columns stimulus_id, filename and any free columns."),
    meta: Path = typer.Option(..., "--meta", "-m", help="Metadata YAML (see `bsr meta-template stimuli`)."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Register the images in DIRECTORY listed in TABLE as a stimulus-set version.

    The last line of output is the new version, Name@sha256:<hash>.

    Example: bsr register stimuli images/ --table images/stimuli.csv --meta stimuli.yaml
    """
    from brainscore_registry.store.registration import register_stimulus_set

    with user_errors(), RichProgress(not as_json) as progress:
        result = register_stimulus_set(directory, table, meta, registry=registry(), progress=progress)
    _report(result, as_json)


@app.command("assembly")
def assembly(
    file: Path = typer.Argument(..., help="NetCDF file (also brainio/Brain-Score files) or zarr store."),
    meta: Path = typer.Option(..., "--meta", "-m", help="Metadata YAML (see `bsr meta-template neural`)."),
    variable: str = typer.Option(None, "--variable", help="Data variable to use when the file holds several."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Register a neural, behavioral or similarity assembly as a new version.

    The assembly's stimulus ids must all be in the stimulus set its metadata names.
    The last line of output is the new version, Name@sha256:<hash>.

    Example: bsr register assembly v4.nc --meta v4.yaml
    """
    from brainscore_registry.store.registration import register_assembly

    with user_errors(), RichProgress(not as_json) as progress:
        result = register_assembly(file, meta, registry=registry(), variable=variable, progress=progress)
    _report(result, as_json)
