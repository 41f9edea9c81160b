"""`bsr score`, `bsr verify`, `bsr reproduce`, `bsr map-layers`: scores that anyone can check and re-run."""

from __future__ import annotations

from pathlib import Path

import typer
import yaml
from rich.table import Table

from brainscore_registry.benchmarks.scoring import load_benchmark_data, run_benchmark
from brainscore_registry.benchmarks.specs import BenchmarkSpec, find_spec
from brainscore_registry.errors import UserInputError
from brainscore_registry.metrics.score import BenchmarkScore
from brainscore_registry.models.activation_cache import ActivationCache
from brainscore_registry.models.activations import candidate_layers
from brainscore_registry.models.model_card import load_card
from brainscore_registry.models.predictions import Predictions
from brainscore_registry.models.torch_model import TorchBrainModel
from brainscore_registry.paths import write_atomic
from brainscore_registry.data.identifiers import Version
from brainscore_registry.runs import records
from brainscore_registry.runs.run import ensure_local, score_with_record
from brainscore_registry.runs.run import reproduce as reproduce_record
from brainscore_registry.store.registry import Registry

from .common import RichProgress, err, out, print_json, registry, user_errors

JSON = typer.Option(False, "--json", help="Print JSON for scripts.")
DEVICE = typer.Option("auto", "--device", help="auto (CUDA when present), cpu or cuda.")


def _ensure_key() -> None:
    if not (records.keys_dir() / "ed25519.key").is_file():
        key = records.init_keys()
        err.print(f"Created a signing key {records.key_id(key)} under {records.keys_dir()} (see `bsr keys show`).")


def _model(card_path: Path, device: str, bf16: bool, batch_size: int, progress, layers=None) -> TorchBrainModel:
    return TorchBrainModel(
        load_card(card_path),
        device=device,
        bf16=bf16,
        batch_size=batch_size,
        cache=ActivationCache(),
        progress=progress,
        layers=layers,
    )


def _record_path(out_path: Path | None, spec: BenchmarkSpec, name: str, reg: Registry, layer: str | None) -> Path:
    if out_path is not None:
        return out_path
    suffix = f"--{layer}" if layer else ""
    return reg.root / "records" / f"{spec.id}--{name}{suffix}.json"


def _row(spec: BenchmarkSpec, model: str, score: BenchmarkScore, path: Path) -> dict:
    return {
        "benchmark": spec.id,
        "version": spec.version,
        "model": model,
        "raw": score.raw.value,
        "ceiling": score.ceiling.value,
        "score": score.value,
        "error": score.error,
        "normalization": score.normalization,
        "record": str(path),
    }


def score(
    benchmarks: list[str] = typer.Option(..., "--benchmark", "-b", help="Benchmark id; repeat for several."),
    model: Path = typer.Option(None, "--model", "-m", help="Model card (card.yaml)."),
    predictions: Path = typer.Option(None, "--predictions", help="Prediction-only: a NetCDF/zarr file of model responses."),
    device: str = DEVICE,
    bf16: bool = typer.Option(False, "--bf16", help="bf16 autocast on CUDA (faster; a documented tolerance)."),
    batch_size: int = typer.Option(64, "--batch-size", min=1, help="Images per forward pass."),
    out_path: Path = typer.Option(None, "--out", help="Record file (one benchmark); default records/<benchmark>--<model>.json."),
    layers: str = typer.Option(None, "--layers", help="'all': score every candidate layer for the benchmark's region."),
    as_json: bool = JSON,
) -> None:
    """Score a local PyTorch model (or a predictions file) on benchmarks; write one signed record each.

    Pulls the pinned data that are not here, runs each benchmark's procedure, metric and ceiling, and
    prints raw score, ceiling, ceiled score and error.

    Example: bsr score -b Synthetic2026.V4-pls -m examples/models/convnet4/card.yaml --device cpu
    """
    with user_errors(), RichProgress(not as_json) as progress:
        reg = registry()
        if (model is None) == (predictions is None):
            raise UserInputError("give exactly one of --model or --predictions", field="model", fix="--model card.yaml")
        if out_path is not None and (len(benchmarks) > 1 or layers == "all"):
            raise UserInputError("--out names one record", field="out", fix="score one benchmark (and one layer) with --out")
        if layers not in (None, "all"):
            raise UserInputError(f"--layers {layers!r}", field="layers", fix="use --layers all, or leave it out")
        _ensure_key()
        specs = [find_spec(reg.root, b) for b in benchmarks]
        rows = []
        files = Predictions(predictions) if predictions is not None else None
        for spec in specs:
            if files is not None:
                result, record = score_with_record(spec, reg, predictions=files, progress=progress)
                path = _record_path(out_path, spec, "predictions", reg, None)
                records.write_record(record, path)
                rows.append(_row(spec, record.model.name, result, path))
                continue
            region = spec.procedure.region
            base = _model(model, device, bf16, batch_size, progress)
            layer_maps = (
                [None]
                if layers != "all" or region is None
                else [{**base.layers, region: layer} for layer in candidate_layers(base.network)]
            )
            for layer_map in layer_maps:
                brain_model = base if layer_map is None else _model(model, device, bf16, batch_size, progress, layer_map)
                result, record = score_with_record(spec, reg, brain_model, progress=progress)
                layer = layer_map[region] if layer_map else None
                path = _record_path(out_path, spec, base.card.card.name, reg, layer)
                records.write_record(record, path)
                label = f"{base.card.card.name} ({layer or brain_model.layers.get(region, 'readout')})"
                rows.append(_row(spec, label, result, path))
    if as_json:
        print_json(rows)
        return
    table = Table(title="Scores")
    for column in ("benchmark", "model", "raw", "ceiling", "score", "error", "record"):
        table.add_column(column, overflow="fold")
    for r in rows:
        table.add_row(
            f"{r['benchmark']} v{r['version']}",
            r["model"],
            f"{r['raw']:.4f}",
            f"{r['ceiling']:.4f}",
            f"{r['score']:.4f}",
            f"{r['error']:.4f}",
            r["record"],
        )
    out.print(table)


def verify(
    record_path: Path = typer.Argument(..., metavar="RECORD", help="A score record (JSON)."),
    trusted_key: Path = typer.Option(None, "--trusted-key", help="Accept only records signed by this public key."),
    as_json: bool = JSON,
) -> None:
    """Check a score record: schema, signature (optionally against a trusted key), every pinned hash
    resolvable in the registry. Exit 0 when valid, 1 with the reason when not.

    Example: bsr verify records/Synthetic2026.V4-pls--convnet4.json --trusted-key alice.pub
    """
    with user_errors():
        reg = registry()
        trusted = records.load_public_key(trusted_key) if trusted_key else None
        record = records.read_record(record_path)
        records.check_signature(record, trusted)
        unresolved = [pin for pin in record.data.values() if pin and reg.catalog.find(Version.parse(pin)) is None]
        if unresolved:
            raise records.RecordInvalid(
                f"pinned data not in the registry at {reg.root}: {', '.join(unresolved)}",
                fix="verify against the registry the record was made from (--registry)",
            )
        BenchmarkScore.from_json(record.score)
    result = {"valid": True, "benchmark": record.benchmark.id, "signer": record.signer.key_id, "score": record.score["value"]}
    if as_json:
        print_json(result)
        return
    benchmark, value = f"{record.benchmark.id} v{record.benchmark.version}", record.score["value"]
    out.print(f"[green]✓[/] valid: {benchmark}, score {value:.6f}, signed by {record.signer.key_id}")


def reproduce(
    record_path: Path = typer.Argument(..., metavar="RECORD", help="A score record (JSON)."),
    model: Path = typer.Option(None, "--model", "-m", help="The model card the record was made with."),
    predictions: Path = typer.Option(None, "--predictions", help="The predictions file of a prediction-only record."),
    device: str = DEVICE,
    as_json: bool = JSON,
) -> None:
    """Re-run a record from its pinned data and spec; compare score, raw, ceiling and per-split values.

    Refuses a card, weights or factory source that differ from the record's. Exit 0 when every
    difference is within the record's tolerance for this setting, 1 when not.

    Example: bsr reproduce records/Synthetic2026.V4-pls--convnet4.json -m examples/models/convnet4/card.yaml
    """
    with user_errors(), RichProgress(not as_json) as progress:
        reg = registry()
        record = records.read_record(record_path)
        if (model is None) == (predictions is None):
            raise UserInputError("give exactly one of --model or --predictions", field="model", fix="--model card.yaml")
        if predictions is not None:
            rows, name, tolerance, ok = reproduce_record(record, reg, predictions=Predictions(predictions), progress=progress)
        else:
            brain_model = _model(model, device, False, 64, progress)
            rows, name, tolerance, ok = reproduce_record(record, reg, brain_model, progress=progress)
    result = {
        "reproduced": ok,
        "tolerance": {"setting": name, "value": tolerance},
        "rows": [{"quantity": r.quantity, "recorded": r.recorded, "reproduced": r.reproduced, "delta": r.delta} for r in rows],
    }
    if as_json:
        print_json(result)
    else:
        table = Table(title=f"Reproducing {record.benchmark.id} (tolerance {tolerance:g}: {name})")
        for column in ("quantity", "recorded", "reproduced", "|Δ|", ""):
            table.add_column(column)
        for r in rows:
            table.add_row(
                r.quantity, f"{r.recorded:.10g}", f"{r.reproduced:.10g}", f"{r.delta:.2e}", "✓" if r.delta <= tolerance else "✗"
            )
        out.print(table)
        out.print("[green]✓ reproduced[/]" if ok else "[red]✗ not reproduced[/]")
    if not ok:
        raise typer.Exit(1)


def map_layers(
    model: Path = typer.Option(..., "--model", "-m", help="Model card to update."),
    benchmarks: list[str] = typer.Option(..., "--benchmark", "-b", help="Neural benchmark id; repeat for several."),
    device: str = DEVICE,
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the choice without writing the card."),
    as_json: bool = JSON,
) -> None:
    """Pick the best layer per region on the given benchmarks (mean ceiled score) and write it into the card.

    Example: bsr map-layers -m examples/models/convnet4/card.yaml -b Cowley2023.V4-pls -b Cowley2023.V4-ridge
    """
    with user_errors(), RichProgress(not as_json) as progress:
        reg = registry()
        specs = [find_spec(reg.root, b) for b in benchmarks]
        not_neural = [s.id for s in specs if s.procedure.region is None]
        if not_neural:
            raise UserInputError(
                f"not neural benchmarks: {', '.join(not_neural)}", field="benchmark", fix="map layers on neural benchmarks"
            )
        base = _model(model, device, False, 64, progress)
        scores: dict[str, dict[str, list[float]]] = {}
        for spec in specs:
            region = spec.procedure.region
            ensure_local(reg, spec, progress)
            data = load_benchmark_data(spec, reg)
            for layer in candidate_layers(base.network):
                brain_model = _model(model, device, False, 64, progress, {**base.layers, region: layer})
                result = run_benchmark(data, brain_model, progress)
                scores.setdefault(region, {}).setdefault(layer, []).append(result.value)
        best = {region: max(layers, key=lambda name: sum(layers[name]) / len(layers[name])) for region, layers in scores.items()}
        if not dry_run:
            _write_layers(base.card.path, best)
    summary = {
        "layers": best,
        "scores": {r: {name: sum(v) / len(v) for name, v in layers.items()} for r, layers in scores.items()},
        "written": not dry_run,
    }
    if as_json:
        print_json(summary)
        return
    for region, layers in summary["scores"].items():
        out.print(
            f"{region}: "
            + ", ".join(f"{'▶ ' if name == best[region] else ''}{name} {value:.4f}" for name, value in layers.items())
        )
    out.print(f"{'Wrote' if not dry_run else 'Would write'} layers {best} into {base.card.path}")


def _write_layers(card_path: Path, best: dict[str, str]) -> None:
    """Update the card's `layers` in place, atomically."""
    data = yaml.safe_load(card_path.read_text())
    data["layers"] = {**data.get("layers", {}), **best}
    write_atomic(card_path, yaml.safe_dump(data, sort_keys=False))
