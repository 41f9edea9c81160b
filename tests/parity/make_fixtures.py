"""Produce the parity fixtures with the real brainscore-vision 2.4.2 (not run in CI).

Set-up, in a separate virtual environment (the reference pins its own numpy/xarray):

    python3.11 -m venv refenv   # from the repository root: constraints.txt pins the CPU torch
    BS_INSTALL_DEPENDENCIES=no refenv/bin/pip install -c constraints.txt brainscore-vision==2.4.2
    refenv/bin/python tests/parity/make_fixtures.py [CASE ...]   # default: the cases not yet written

Writes `tests/parity/fixtures/<case>.npz`: the generated inputs (repetition-level target, model
features, labels) and the reference outputs (per metric: score, error, the split × neuroid raw
values; for internal_consistency: ceiling, error and the per-split values). Deterministic.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from layout import source_layout, target_layout  # noqa: E402

CASES = {
    # name: (stimuli, repetitions, neuroids, features, objects, dtype, seed)
    # wide: more features than training stimuli, as real network layers (`linear` is ill-posed there)
    "f64_200x5x60x512": (200, 5, 60, 512, 8, np.float64, 0),
    "f32_240x4x61x300": (240, 4, 61, 300, 12, np.float32, 1),
    # narrow: fewer features than training stimuli, where `linear` (least squares) is well posed
    "f64_200x5x60x96": (200, 5, 60, 96, 8, np.float64, 2),
    "f32_240x4x61x80": (240, 4, 61, 80, 12, np.float32, 3),
}
SPLIT = ["pls", "ridge", "ridgecv"]
REPRESENTATIONAL = ["rdm", "rdm_cv", "cka", "cka_biased", "cka_cv"]
METRICS = {"pls": "pls", "ridge": "ridge", "linear": "linear_predictivity", "neuron_to_neuron": "neuron_to_neuron"}


def generate(n_stim, n_rep, n_neur, n_feat, n_obj, dtype, seed):
    rng = np.random.default_rng(seed)
    features = rng.standard_normal((n_stim, n_feat))
    weights = rng.standard_normal((n_feat, n_neur)) / np.sqrt(n_feat)
    signal = features @ weights
    responses = signal[:, None, :] + rng.standard_normal((n_stim, n_rep, n_neur)) * rng.uniform(0.5, 2.0, n_neur)
    source = features + 0.5 * rng.standard_normal(features.shape)
    order = rng.permutation(n_stim)  # stimulus ids not in row order, as in real data
    ids = np.array([f"img{i:04d}" for i in order])
    objects = np.array([f"obj{i % n_obj:02d}" for i in range(n_stim)])
    return {
        "target": responses.astype(dtype),
        "source": source.astype(dtype),
        "stimulus_id": ids,
        "object_name": objects,
        "neuroid_id": np.array([f"n{j:03d}" for j in range(n_neur)]),
    }


def reference_outputs(data: dict) -> dict:
    from brainscore_core.supported_data_standards.brainio.assemblies import NeuroidAssembly
    from brainscore_vision import load_ceiling, load_metric
    from brainscore_vision.benchmark_helpers.neural_common import average_repetition

    n_stim = data["target"].shape[0]
    values, coords = target_layout(data)
    target = NeuroidAssembly(values, coords=coords, dims=["presentation", "neuroid"])
    values, coords = source_layout(data)
    source = NeuroidAssembly(values, coords=coords, dims=["presentation", "neuroid"])
    averaged = average_repetition(target)
    out = {}
    for ours, theirs in METRICS.items():
        score = load_metric(theirs)(source, averaged)
        raw = score.raw.transpose("split", "neuroid").sortby("neuroid_id")
        out[f"{ours}__score"] = float(score.values)
        out[f"{ours}__error"] = float(score.error.values if hasattr(score.error, "values") else score.error)
        out[f"{ours}__raw"] = np.asarray(raw.values, dtype=np.float64)
        out[f"{ours}__raw_neuroid_id"] = np.asarray(raw["neuroid_id"].values).astype(str)
    for name in REPRESENTATIONAL:
        score = load_metric(name)(source, averaged)
        out[f"{name}__score"] = float(score.values)
        error = score.attrs.get("error")
        out[f"{name}__error"] = float(error.values if hasattr(error, "values") else (np.nan if error is None else error))
        raw = score.attrs.get("raw")
        out[f"{name}__raw"] = np.atleast_1d(np.asarray(raw.values if raw is not None else score.values, dtype=np.float64))
    n_train = int(0.75 * n_stim)  # a fixed split: the first 75% of the generated stimuli train
    train_ids, test_ids = set(data["stimulus_id"][:n_train]), set(data["stimulus_id"][n_train:])
    pick = lambda a, ids: a.isel(presentation=[s in ids for s in a["stimulus_id"].values])  # noqa: E731
    for name in SPLIT:
        score = load_metric(f"{name}_split")(
            pick(source, train_ids), pick(source, test_ids), pick(averaged, train_ids), pick(averaged, test_ids)
        )
        raw = score.attrs.get("raw", score)
        out[f"{name}_split__score"] = float(score.values)
        out[f"{name}_split__raw"] = np.asarray(getattr(raw, "values", raw), dtype=np.float64).ravel()
        out[f"{name}_split__alpha"] = float(getattr(raw, "attrs", {}).get("alpha", np.nan))
    ceiling = load_ceiling("internal_consistency")(target)
    out["internal_consistency__ceiling"] = float(ceiling.values)
    out["internal_consistency__error"] = float(ceiling.error.values if hasattr(ceiling.error, "values") else ceiling.error)
    raw = ceiling.raw
    out["internal_consistency__raw"] = np.asarray(raw.values, dtype=np.float64)
    out["internal_consistency__raw_dims"] = np.array(raw.dims)
    return out


def main(names: list[str]) -> int:
    """Write the named cases, or every case whose fixture is missing. Existing fixtures are never
    rewritten by default: some reference values depend on the machine's BLAS kernel (`linear` on the
    wide cases), and a fixture regenerated elsewhere would pin another machine's digits."""
    target_dir = Path(__file__).parent / "fixtures"
    target_dir.mkdir(exist_ok=True)
    for name in names or [n for n in CASES if not (target_dir / f"{n}.npz").exists()]:
        *spec, seed = CASES[name]
        data = generate(*spec, seed=seed)
        outputs = reference_outputs(data)
        np.savez_compressed(target_dir / f"{name}.npz", **data, **outputs)
        print(name, {k: v for k, v in outputs.items() if k.endswith(("__score", "__ceiling", "__error"))})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
