"""Running a benchmark: its pinned data, its procedure on a brain model (or given predictions), its
metric and ceiling, and the normalisation into a ceiled score.

Procedures (as Brain-Score's benchmarks):
- neural: the recordings of `procedure.region` in the one time bin `procedure.time_bins` names; the
  model records the same region while looking at the stimuli placed at `procedure.visual_degrees`;
  the metric compares the model's `presentation × neuroid` responses with the repetition-averaged
  recordings; a computed ceiling gets the repetition-level recordings.
- behavioural: the model performs `procedure.task` (`probabilities` or `label`) with a readout fitted
  on the pinned `fitting_stimuli` (labels from their table's `label`, `truth`, `object_name` or
  `category` column); the metric compares its output with the trials.
- similarity: the model's responses in the region's layer against the per-subject RDMs.

Every kind first selects the spec's region and subjects (selection.py). The metric and the ceiling
are built-in ones, or a plugin from the registry's own `registry/metrics/` pinned by sha256
(plugins.py).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import xarray as xr

from .. import timings
from ..data.assemblies import stimulus_ids_of
from ..data.stimuli import MAX_IMAGE_PIXELS
from ..errors import UserInputError
from ..metrics import average_repetitions, load_ceiling, load_metric
from ..metrics.contract import Ceiling, Metric
from ..metrics.data import require_stratification
from ..metrics.normalization import ceil_score
from ..metrics.score import BenchmarkScore, Score
from ..store.loading import load_assembly, load_stimulus_set
from ..store.registry import Registry
from . import plugins
from .brain_model import BrainModel
from .screen import PlacedStimuli
from .selection import selected_target
from .specs import BenchmarkSpec

LABEL_COLUMNS = ("label", "truth", "object_name", "category")


@dataclass
class BenchmarkData:
    spec: BenchmarkSpec
    assembly: xr.DataArray
    stimulus_set: object
    fitting_stimuli: object | None
    root: Path | None = None
    """The registry the data came from: where a plugin the spec pins is read from."""

    @property
    def kind(self) -> str:
        return self.assembly.attrs["bsr"]["kind"] if "bsr" in self.assembly.attrs else _kind_of(self.assembly)

    @property
    def versions(self) -> dict[str, str | None]:
        return {
            "assembly": self.spec.assembly,
            "stimulus_set": self.stimulus_set.version,
            "fitting_stimuli": self.fitting_stimuli.version if self.fitting_stimuli is not None else None,
        }


def _kind_of(assembly: xr.DataArray) -> str:
    if "stimulus_a" in assembly.dims:
        return "similarity"
    return "neural" if "neuroid" in assembly.dims else "behavioral"


def load_benchmark_data(spec: BenchmarkSpec, registry: Registry, verify: bool = False) -> BenchmarkData:
    assembly = load_assembly(spec.assembly, registry=registry, verify=verify)
    stimulus_set = load_stimulus_set(assembly.attrs["bsr"]["metadata"]["stimulus_set"], registry=registry, verify=verify)
    fitting = load_stimulus_set(spec.fitting_stimuli, registry=registry, verify=verify) if spec.fitting_stimuli else None
    return BenchmarkData(spec, assembly, stimulus_set, fitting, registry.root)


def target_of(data: BenchmarkData) -> xr.DataArray:
    """What the metric and the ceiling compare with: the spec's selection of the data."""
    return selected_target(data.spec, data.assembly, data.kind)


def build_metric(data: BenchmarkData) -> Metric:
    """The spec's metric: built in, or the registry's pinned plugin."""
    spec = data.spec
    pinned = {p.part: p for p in plugins.pins_of(spec)}
    if "metric" in pinned:
        return plugins.build(_plugin_root(data), pinned["metric"], spec.metric.params)
    return load_metric(spec.metric.name, **spec.metric.params)


def build_ceiling(data: BenchmarkData) -> Ceiling | None:
    """The spec's computed ceiling (None for a pinned value)."""
    spec = data.spec
    if spec.ceiling.value is not None:
        return None
    pinned = {p.part: p for p in plugins.pins_of(spec)}
    if "ceiling" in pinned:
        return plugins.build(_plugin_root(data), pinned["ceiling"], spec.ceiling.params)
    return load_ceiling(spec.ceiling.method, **spec.ceiling.params)


def _plugin_root(data: BenchmarkData) -> Path:
    if data.root is None:
        raise UserInputError(
            f"benchmark {data.spec.id} runs plugin code, which is read only from a registry",
            field="registry",
            fix="score it from the registry that holds registry/metrics/ (--registry)",
        )
    return data.root


def ceiling_for(spec: BenchmarkSpec, target: xr.DataArray, ceiling: Ceiling | None = None) -> Score:
    if spec.ceiling.value is not None:
        error = spec.ceiling.error if spec.ceiling.error is not None else float("nan")
        return Score(spec.ceiling.value, error, np.array([[spec.ceiling.value]]), (), {"method": "pinned"})
    return (ceiling or load_ceiling(spec.ceiling.method, **spec.ceiling.params))(target)


def fitting_labels(stimuli) -> list[str]:
    table = stimuli.table
    for column in LABEL_COLUMNS:
        if column in table.columns:
            return [str(v) for v in table[column]]
    raise UserInputError(
        f"the fitting stimuli {stimuli.version} have no label column",
        field="fitting_stimuli",
        fix=f"give their table one of the columns {', '.join(LABEL_COLUMNS)}",
    )


def check_placement(stimuli, stimulus_degrees: float | None, model_degrees: float, benchmark: str) -> None:
    """The stimuli as the model sees them (see screen.py) are images of at least one pixel a side and
    at most MAX_IMAGE_PIXELS: a ratio of visual degrees far from 1 (a card's `visual_degrees: 1e-6`)
    would crop every image to nothing or paste it on a canvas of terapixels."""
    if stimulus_degrees is None:
        return
    ratio = model_degrees / stimulus_degrees
    widths, heights = (np.asarray(stimuli.dataset[name].values, dtype=np.float64) for name in ("width", "height"))
    smallest = float(np.round(ratio * min(widths.min(), heights.min())))
    largest = float(np.round(ratio * widths).max() * np.round(ratio * heights).max())
    if smallest >= 1 and largest <= MAX_IMAGE_PIXELS:
        return
    problem = (
        "would crop each stimulus to less than one pixel"
        if smallest < 1
        else f"would paste each stimulus on a canvas of up to {largest:,.0f} pixels (at most {MAX_IMAGE_PIXELS:,})"
    )
    raise UserInputError(
        f"the model's visual_degrees ({model_degrees:g}) over benchmark {benchmark}'s procedure.visual_degrees "
        f"({stimulus_degrees:g}) {problem}",
        field="visual_degrees",
        fix="give the degrees of visual angle the model's input and the stimuli really span (typically 4 to 12)",
    )


def model_responses(data: BenchmarkData, model: BrainModel) -> xr.DataArray:
    """Run the spec's procedure on the model: what the metric compares with the data."""
    procedure = data.spec.procedure
    ids = shown_stimulus_ids(data)
    for stimuli in (data.stimulus_set, data.fitting_stimuli):
        if stimuli is not None:
            check_placement(stimuli, procedure.visual_degrees, model.visual_degrees(), data.spec.id)
    placed = PlacedStimuli.of(data.stimulus_set, procedure.visual_degrees, model.visual_degrees(), ids)
    if procedure.task == "features":  # the readout layer's responses; the metric decides from them
        model.start_task("features")
        responses = model.look_at(placed, procedure.number_of_trials)
        return responses.isel(time_bin=0) if "time_bin" in responses.dims else responses
    if procedure.task is not None and procedure.task != "passive":
        fitting = data.fitting_stimuli
        placed_fitting = (
            PlacedStimuli.of(fitting, procedure.visual_degrees, model.visual_degrees()) if fitting is not None else None
        )
        model.start_task(procedure.task, placed_fitting, fitting_labels(fitting) if fitting is not None else None)
        return model.look_at(placed, procedure.number_of_trials)
    model.start_recording(procedure.region, procedure.time_bins or [(0, 1)])
    responses = model.look_at(placed, procedure.number_of_trials)
    return responses.isel(time_bin=0) if "time_bin" in responses.dims else responses


def shown_stimulus_ids(data: BenchmarkData) -> list[str]:
    """Every stimulus the selected data refer to (all stimuli of multi-stimulus trials), sorted: a spec
    that selects subjects or a region shows the model only the stimuli that part of the data saw."""
    return sorted(set(np.asarray(stimulus_ids_of(target_of(data), data.kind)).astype(str).tolist()))


def evaluate(data: BenchmarkData, source: xr.DataArray, progress=None) -> BenchmarkScore:
    """Metric, ceiling and normalisation on the model's (or a predictions file's) responses.

    The ceiling depends on the data alone, so it is computed on a second thread while the metric runs:
    the metric's long loops leave a core idle on most machines, and the numbers do not depend on it."""
    spec = data.spec
    metric, ceiling_method = build_metric(data), build_ceiling(data)
    metric.progress = progress
    target = target_of(data)
    named = spec.metric.params.get("stratification_coord")
    if named is not None:  # named in the spec: must exist, even the default (which alone may be absent)
        require_stratification(target, named)
    with ThreadPoolExecutor(1, thread_name_prefix="bsr-ceiling") as pool:
        ceiling = pool.submit(timings.timed("ceiling", ceiling_for), spec, target, ceiling_method)
        with timings.stage("metric"):
            raw = metric(source, average_repetitions(target) if data.kind == "neural" else target)
        score = ceil_score(raw, ceiling.result(), spec.normalization_name, spec.normalization_params)
    return _with_warnings(score, similarity_warnings(data, raw))


def similarity_warnings(data: BenchmarkData, raw: Score) -> list[str]:
    """A negative raw score on similarity data: the model's matrix is anti-correlated with the data's,
    which most often means the data hold similarities registered as dissimilarities (or the reverse)."""
    if data.kind != "similarity" or not raw.value < 0:
        return []
    measure = data.assembly.attrs.get("bsr", {}).get("metadata", {}).get("measure")
    said = f"`measure: {measure}`" if measure else "no `measure` (read as dissimilarity)"
    return [
        f"the raw score is negative ({raw.value:.4g}): the model's RDM is anti-correlated with the data's, whose "
        f"metadata give {said}; check that the registered matrices hold what the metadata say"
    ]


def _with_warnings(score: BenchmarkScore, warnings: list[str]) -> BenchmarkScore:
    return replace(score, warnings=(*score.warnings, *warnings)) if warnings else score


def run_benchmark(data: BenchmarkData, model: BrainModel, progress=None) -> BenchmarkScore:
    return evaluate(data, model_responses(data, model), progress)
