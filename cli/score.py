"""`bsr score`, `bsr verify`, `bsr reproduce`, `bsr map-layers`: scores that anyone can check and re-run."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from .common import JSON_HELP, RichProgress, err, out, print_json, registry, user_errors

JSON = typer.Option(False, "--json", help=JSON_HELP)
DEVICE = typer.Option("auto", "--device", help="auto (CUDA when present), cpu or cuda.")


MAX_LAYER_GB = typer.Option(
    1.0,
    "--max-layer-gb",
    help="Refuse, before any work, a layer whose activations (stimuli × units × 4 bytes) exceed this many GiB.",
)


def score_row(run) -> dict:
    """One scored run as `--json` prints it (`bsr score` and `bsr run`)."""
    score = run.score
    return {
        "benchmark": run.spec.id,
        "version": run.spec.version,
        "model": run.label,
        "raw": score.raw.value,
        "ceiling": score.ceiling.value,
        "score": score.value,
        "error": score.error,
        "normalization": score.normalization,
        "record": str(run.path),
        "layer": _layer(run),
        "skipped": None,
        "warnings": list(score.warnings),
        "cached": run.cached,
    }


def _layer(run) -> str | None:
    """The layer a run recorded from: its region's, or the readout's; None for a predictions file."""
    model = run.record.model
    if model.kind != "torch":
        return None
    task = run.spec.procedure.task
    region = run.spec.procedure.region if task is None or task == "passive" else None
    return model.layers.get(region) if region is not None else model.readout_layer


def _print_skipped(skipped) -> None:
    for item in skipped:
        units = f"{item.units:,} units" if item.units is not None else "no output"
        out.print(f"[yellow]skipped[/] {item.benchmark}, {item.label}, {units}: {item.reason} (no record)")


def score(
    benchmarks: list[str] = typer.Option(..., "--benchmark", "-b", help="Benchmark id; repeat for several."),
    models: list[Path] = typer.Option(None, "--model", "-m", help="Model card (card.yaml); repeat to score several models."),
    predictions: Path = typer.Option(None, "--predictions", help="Prediction-only: a NetCDF/zarr file of model responses."),
    device: str = DEVICE,
    bf16: bool = typer.Option(False, "--bf16", help="bf16 autocast on CUDA (faster; a documented tolerance)."),
    batch_size: int = typer.Option(64, "--batch-size", min=1, help="Images per forward pass."),
    out_path: Path = typer.Option(None, "--out", help="Record file (one benchmark); default records/<benchmark>--<model>.json."),
    layers: str = typer.Option(
        None,
        "--layers",
        help="Score these layers as each neural benchmark's region, one record each: 'all' (the network's blocks, "
        "e.g. layer1..layer4, avgpool, fc of a ResNet), names separated by commas, or globs ('layer*').",
    ),
    max_layer_gb: float = MAX_LAYER_GB,
    follow_symlinks: bool = typer.Option(False, "--follow-symlinks", help="Write the record through a symbolic link at --out."),
    no_cache: bool = typer.Option(
        False, "--no-cache", help="Recompute every score, even one already computed from the same inputs, code and setting."
    ),
    as_json: bool = JSON,
) -> None:
    """Score local PyTorch models (or a predictions file) on benchmarks; write one signed record each.

    Pulls the pinned data that are not here, runs each benchmark's procedure, metric and ceiling, and
    prints raw score, ceiling, ceiled score and error: one row per model and benchmark (and layer,
    with --layers). Every layer is sized (one image through the network) and checked before any is
    extracted: a layer above --max-layer-gb is refused, a layer the metric cannot use (pls needs 25
    units) is skipped with a note and no record. Layers are extracted, scored and dropped one at a time.
    A score already computed from the same model (or predictions file), data, spec, code and numeric
    setting comes from the score cache and is signed into a fresh record ("cached" in the output).

    Example: bsr score -b Synthetic2026.V4-pls -m examples/models/convnet4/card.yaml -m examples/models/widenet/card.yaml
    """
    from brainscore_registry.runs.records import has_key, key_id, keys_dir, public_key
    from brainscore_registry.runs.score_cache import score_cache_disabled
    from brainscore_registry.runs.session import score_session

    with user_errors(), RichProgress(not as_json) as progress:
        reg = registry()
        brain_models, files = [], None
        if predictions is not None and not models:
            from brainscore_registry.models.predictions import Predictions

            files = Predictions(predictions)
        elif models and predictions is None:
            from brainscore_registry import timings
            from brainscore_registry.models.torch_model import load_brain_model

            with timings.stage("model build"):
                brain_models = [
                    load_brain_model(card, device=device, bf16=bf16, batch_size=batch_size, progress=progress, registry=reg)
                    for card in models
                ]
        new_key = not has_key()
        with score_cache_disabled(no_cache):
            outcome = score_session(
                reg,
                benchmarks,
                models=brain_models,
                predictions=files,
                out=out_path,
                layers=layers,
                max_layer_gb=max_layer_gb,
                progress=progress,
                follow_symlinks=follow_symlinks,
            )
    if new_key:
        err.print(f"Created a signing key {key_id(public_key())} under {keys_dir()} (see `bsr keys show`).")
    rows = [score_row(run) for run in outcome.runs]
    if as_json:
        print_json(rows + [item.to_json() for item in outcome.skipped])
        return
    print_scores(rows)
    _print_skipped(outcome.skipped)


def print_scores(rows: list[dict]) -> None:
    """The scores table, then each score's warnings (`bsr score` and `bsr run`)."""
    table = Table(title="Scores")
    for column in ("benchmark", "model", "raw", "ceiling", "score", "error", "record"):
        table.add_column(column, overflow="fold")
    for r in rows:
        numbers = (f"{r[k]:.4f}" if r[k] is not None else "null" for k in ("raw", "ceiling", "score", "error"))
        table.add_row(
            f"{r['benchmark']} v{r['version']}", r["model"], *numbers, r["record"] + (" (cached)" if r["cached"] else "")
        )
    out.print(table)
    for r in rows:
        for warning in r["warnings"]:
            out.print(f"[bold yellow]warning[/] {r['benchmark']}, {r['model']}: {warning} (kept in {r['record']})")


TRUSTED_KEY = typer.Option(
    None,
    "--trusted-key",
    help="Trust only records signed by this public key (PEM or base64 raw; repeat for several). "
    "Default: your own signing key and the keys in $BSR_HOME/trusted_keys (bsr keys trusted).",
)


def verify(
    record_path: Path = typer.Argument(..., metavar="RECORD", help="A score record (JSON)."),
    trusted_key: list[Path] = TRUSTED_KEY,
    as_json: bool = JSON,
) -> None:
    """Check a score record: strict JSON and schema, signature, a trusted signer, every pinned hash
    resolvable in the registry. Exit 0 when valid, 1 with the reason when not.

    A valid signature from a key you do not trust is not a valid record: trust the key with
    `bsr keys trust FILE`, or name it with --trusted-key FILE.

    Example: bsr verify records/Synthetic2026.V4-pls--convnet4.json --trusted-key alice.pub
    """
    from brainscore_registry.runs.trust import SignerNotTrusted, load_policy, verify_record

    with user_errors():
        try:
            record = verify_record(record_path, registry(), load_policy(trusted_key or ()))
        except SignerNotTrusted as exc:
            if as_json:
                print_json(_untrusted_json(exc, record_path))
            raise
    result = {
        "valid": True,
        "signature_valid": True,
        "trusted": True,
        "benchmark": record.benchmark.id,
        "signer": record.signer.key_id,
        "score": record.score["value"],
    }
    if as_json:
        print_json(result)
        return
    benchmark, value = f"{record.benchmark.id} v{record.benchmark.version}", record.score["value"]
    shown = "undefined (null)" if value is None else f"{value:.6f}"
    out.print(f"[green]✓[/] valid: {benchmark}, score {shown}, signed by {record.signer.key_id} (trusted)")


def _untrusted_json(exc, record_path: Path) -> dict:
    record = exc.record
    return {
        "valid": False,
        "signature_valid": True,
        "trusted": False,
        "benchmark": record.benchmark.id,
        "signer": record.signer.key_id,
        "record": str(record_path),
        "error": exc.message,
        "fix": exc.fix,
    }


def reproduce(
    record_path: Path = typer.Argument(..., metavar="RECORD", help="A score record (JSON)."),
    model: Path = typer.Option(None, "--model", "-m", help="The model card the record was made with."),
    predictions: Path = typer.Option(None, "--predictions", help="The predictions file of a prediction-only record."),
    device: str = DEVICE,
    trusted_key: list[Path] = TRUSTED_KEY,
    as_json: bool = JSON,
) -> None:
    """Re-run a record from its pinned data and spec; compare score, raw, ceiling and per-split values.

    Refuses a record whose signer is not trusted (as bsr verify does), and a card, weights or factory
    source that differ from the record's. Exit 0 when every difference is within the record's
    tolerance for this setting, 1 when not. When the metric is ill-posed on the record's shape (e.g.
    linear with more features than training stimuli) and the device, thread count or BLAS kernel
    differ, the verdict is "not comparable", with the reason.

    Example: bsr reproduce records/Synthetic2026.V4-pls--convnet4.json -m examples/models/convnet4/card.yaml
    """
    from brainscore_registry.errors import UserInputError
    from brainscore_registry.runs.reproduction import reproduce as reproduce_record
    from brainscore_registry.runs.run import Subject
    from brainscore_registry.runs.trust import accept_record, load_policy

    with user_errors(), RichProgress(not as_json) as progress:
        reg = registry()
        record = accept_record(record_path, load_policy(trusted_key or ()))
        if (model is None) == (predictions is None):
            raise UserInputError("give exactly one of --model or --predictions", field="model", fix="--model card.yaml")
        if predictions is not None:
            from brainscore_registry.models.predictions import Predictions

            subject = Subject.of_predictions(Predictions(predictions))
        else:
            from brainscore_registry.models.torch_model import load_brain_model

            subject = Subject.of_model(load_brain_model(model, device=device, progress=progress, registry=reg))
        result = reproduce_record(record, reg, subject, progress)
    rows = result.rows
    summary = {
        "reproduced": result.reproduced,
        "verdict": result.verdict,
        "explanation": result.explanation(),
        "tolerance": {"setting": result.setting, "value": result.tolerance},
        "conditioning": result.conditioning,
        "rows": [{"quantity": r.quantity, "recorded": r.recorded, "reproduced": r.reproduced, "delta": r.delta} for r in rows],
    }
    if as_json:
        print_json(summary)
    else:
        table = Table(title=f"Reproducing {record.benchmark.id} (tolerance {result.tolerance:g}: {result.setting})")
        for column in ("quantity", "recorded", "reproduced", "|Δ|", ""):
            table.add_column(column)
        for r in rows:
            mark = "✓" if r.delta <= result.tolerance else "✗"
            table.add_row(r.quantity, f"{r.recorded:.10g}", f"{r.reproduced:.10g}", f"{r.delta:.2e}", mark)
        out.print(table)
        colour = {"reproduced": "green", "not comparable": "yellow"}.get(result.verdict, "red")
        out.print(f"[{colour}]{'✓' if result.reproduced else '✗'} {result.verdict}[/]")
        if result.explanation():
            out.print(result.explanation())
    if not result.reproduced:
        raise typer.Exit(1)


def map_layers(
    model: Path = typer.Option(..., "--model", "-m", help="Model card to update."),
    benchmarks: list[str] = typer.Option(..., "--benchmark", "-b", help="Neural benchmark id; repeat for several."),
    layers: str = typer.Option(
        "all", "--layers", help="Layers to choose from: 'all' (the network's blocks), names separated by commas, or globs."
    ),
    max_layer_gb: float = MAX_LAYER_GB,
    device: str = DEVICE,
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the choice without writing the card."),
    as_json: bool = JSON,
) -> None:
    """Pick the best layer per region on the given benchmarks (mean ceiled score) and write it into the card.

    Layers a benchmark's metric cannot use (pls needs 25 units; a 10-class head has 10) are left out for
    that region, with a note; a layer above --max-layer-gb is refused before any is extracted.

    Example: bsr map-layers -m examples/models/convnet4/card.yaml -b Synthetic2026.V4-pls --dry-run
    """
    from brainscore_registry.benchmarks.specs import find_spec
    from brainscore_registry.models.torch_model import load_brain_model
    from brainscore_registry.runs.layer_sweep import map_layers as map_best_layers
    from brainscore_registry.runs.layer_sweep import write_card_layers

    with user_errors(), RichProgress(not as_json) as progress:
        reg = registry()
        specs = [find_spec(reg.root, b) for b in benchmarks]
        brain_model = load_brain_model(model, device=device, progress=progress, registry=reg)
        mapping = map_best_layers(reg, specs, brain_model, progress, layers=layers, max_layer_gb=max_layer_gb)
        if not dry_run:
            write_card_layers(brain_model.card.path, mapping.best)
    summary = {"layers": mapping.best, "scores": mapping.scores, "skipped": mapping.skipped, "written": not dry_run}
    if as_json:
        print_json(summary)
        return
    for region, scored in mapping.scores.items():
        best = mapping.best[region]
        out.print(
            f"{region}: " + ", ".join(f"{'▶ ' if name == best else ''}{name} {value:.4f}" for name, value in scored.items())
        )
        for layer, why in mapping.skipped.get(region, {}).items():
            out.print(f"[yellow]skipped[/] {region}, {layer}: {why}")
    out.print(f"{'Wrote' if not dry_run else 'Would write'} layers {mapping.best} into {brain_model.card.path}")
