"""`bsr import nwb|brainio` and `bsr export brainio`: data in the formats labs already hold."""

from __future__ import annotations

from pathlib import Path

import typer

from .common import RichProgress, err, out, print_json, registry, user_errors

import_app = typer.Typer(
    help="Register data from an NWB session or a Brain-Score (brainio) package.\n\n"
    "Example: bsr import nwb session.nwb --meta session.yaml --time-bins 70:170",
    no_args_is_help=True,
)
export_app = typer.Typer(
    help="Write a registered version in another format.\n\nExample: bsr export brainio Synthetic2026.V4 --out pkg/",
    no_args_is_help=True,
)
JSON = typer.Option(False, "--json", help="Print the result as JSON.")


def _registration(result) -> dict:
    return {"version": str(result.version), "created": result.created, "path": str(result.path)}


def _report(registered, extra: dict, as_json: bool) -> None:
    summary = {
        "stimulus_set": _registration(registered.stimuli) if registered.stimuli is not None else None,
        "assembly": _registration(registered.assembly),
        **extra,
    }
    if as_json:
        print_json(summary)
        return
    for part in (registered.stimuli, registered.assembly):
        if part is not None:
            said = "registered" if part.created else "already registered (identical content)"
            err.print(f"[green]{said}[/] {part.version}")
    out.print(str(registered.assembly.version))


@import_app.command("nwb")
def nwb(
    session: Path = typer.Argument(..., help="The NWB file (.nwb)."),
    meta: Path = typer.Option(..., "--meta", "-m", help="Metadata YAML (see `bsr meta-template nwb`)."),
    time_bins: str = typer.Option(
        ..., "--time-bins", help="Bins in ms after each onset, half-open [start, end): 70:170 or 70:170,170:270."
    ),
    units_filter: list[str] = typer.Option(
        None, "--units-filter", help="Keep units whose Units-table column passes: 'quality == good' (repeat: all must pass)."
    ),
    stimuli: Path = typer.Option(
        None, "--stimuli", help="Directory of the images (with stimuli.csv); default: the NWB file's stimulus_template."
    ),
    stimuli_table: Path = typer.Option(None, "--stimuli-table", help="The images' table, if not DIR/stimuli.csv."),
    presentations: str = typer.Option(
        None, "--presentations", help="Intervals table of the presentations (default: presentations, or trials)."
    ),
    stimulus_column: str = typer.Option(
        None, "--stimulus-column", help="Its column naming each image (default: stimulus_id, image_id, ...)."
    ),
    as_json: bool = JSON,
) -> None:
    """Import one NWB session: spike counts per presentation × unit × bin, and its images.

    Counts each unit's spikes in each bin after each presentation's onset (half-open windows), numbers
    repetitions per stimulus in presentation order, keeps the Units table's per-unit columns as neuroid
    coordinates and the NWB identifier, session, subject and file sha256 as provenance (the species
    from the NWB Subject when the metadata leave it out). Reads one unit's spike train at a time.
    Registers the images and the assembly pinned to them, exactly as `bsr register` does; nothing is
    registered unless everything checks out.

    Example: bsr import nwb session.nwb --meta session.yaml --time-bins 70:170 --units-filter 'quality == good'
    """
    from brainscore_registry.formats.nwb_import import import_nwb
    from brainscore_registry.formats.spike_counts import parse_time_bins

    with user_errors(), RichProgress(not as_json) as progress:
        result = import_nwb(
            session,
            meta,
            parse_time_bins(time_bins),
            registry=registry(),
            units_filter=units_filter or [],
            stimuli_dir=stimuli,
            stimuli_table=stimuli_table,
            presentations_table=presentations,
            stimulus_column=stimulus_column,
            progress=progress,
        )
    extra = {"units": result.units, "presentations": result.presentations, "spikes": result.spikes}
    _report(result.registered, extra, as_json)


@import_app.command("brainio")
def brainio(
    assembly: Path = typer.Option(..., "--assembly", help="The assembly NetCDF file."),
    stimuli: Path = typer.Option(..., "--stimuli", help="The stimulus table (CSV)."),
    stimuli_zip: Path = typer.Option(..., "--stimuli-zip", help="The zip of the images."),
    meta: Path = typer.Option(..., "--meta", "-m", help="Metadata YAML (see `bsr meta-template brainio`)."),
    assembly_sha1: str = typer.Option(None, "--assembly-sha1", help="The assembly file's sha1, as the package lists it."),
    stimuli_sha1: str = typer.Option(None, "--stimuli-sha1", help="The table's sha1."),
    zip_sha1: str = typer.Option(None, "--zip-sha1", help="The zip's sha1."),
    variable: str = typer.Option(None, "--variable", help="Data variable, when the NetCDF holds several."),
    as_json: bool = JSON,
) -> None:
    """Import a Brain-Score (brainio) package: assembly NetCDF, stimulus CSV and the zip of images.

    Reads MultiIndex coordinates, `image_id` or `stimulus_id`, `image_file_name` or `filename`, and the
    zip's paths (top level or one folder); checks the sha1s given, every listed image against the zip
    and ids given twice, then registers the images and the assembly pinned to them.

    Example: bsr import brainio --assembly pkg/assy_Synthetic2026.V4.nc --stimuli pkg/Synthetic2026.images.csv --stimuli-zip pkg/Synthetic2026.images.zip --meta v4.yaml
    """
    from brainscore_registry.formats.brainio import import_brainio

    sha1 = {"assembly": assembly_sha1, "stimuli": stimuli_sha1, "stimuli_zip": zip_sha1}
    with user_errors(), RichProgress(not as_json) as progress:
        result = import_brainio(
            assembly, stimuli, stimuli_zip, meta, registry=registry(), sha1=sha1, variable=variable, progress=progress
        )
    _report(result.registered, {"stimuli": result.stimuli}, as_json)


@export_app.command("brainio")
def export_brainio(
    reference: str = typer.Argument(..., help="An assembly: Name (latest) or Name@sha256:<hex>."),
    out_dir: Path = typer.Option(..., "--out", help="Directory for the package's three files."),
    as_json: bool = JSON,
) -> None:
    """Write an assembly and its stimulus set as a brainio package Brain-Score's loaders read.

    Writes assy_<Name>.nc (flat coordinates, one data variable), <StimulusSet>.csv (stimulus_id,
    filename, the free columns) and <StimulusSet>.zip (the original files), and prints each file's sha1.

    Example: bsr export brainio Synthetic2026.V4 --out pkg/
    """
    from brainscore_registry.formats.brainio import export_brainio as export

    with user_errors():
        result = export(reference, out_dir, registry=registry())
    files = {"assembly": str(result.assembly), "stimuli": str(result.stimuli_csv), "stimuli_zip": str(result.stimuli_zip)}
    if as_json:
        print_json({**files, "sha1": result.sha1})
        return
    for path in (result.assembly, result.stimuli_csv, result.stimuli_zip):
        out.print(f"{path}  sha1 {result.sha1[path.name]}")
