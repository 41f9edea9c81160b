"""Produce the seed-sweep parity fixtures with the real brainscore-vision 2.4.2 (not run in CI).

Set-up as for make_fixtures.py (a separate venv with the reference installed), then:

    refenv/bin/python tests/parity/make_sweep_fixtures.py [CASE ...]   # default: the cases not yet written

Writes `tests/parity/fixtures/sweep/<case>.npz`, small random cases, many of them, where the committed
fixtures are few and large:

- `neural_NN`: repetition-level recordings and model features of random small shapes (40-120 stimuli,
  odd and even; 2-6 repetitions; 3-30 neuroids; 5-60 features), float32 or float64; the model's rows in
  their own order (keyed by stimulus_id like the data's, as a model's activations come); some with a
  non-zero mean (firing rates, ReLU features: real data are not centred); some with NaN in the data
  (`nan_reps`: some repetitions of a few neuroids missing, every stimulus keeping one; `nan_neuroid`: one
  neuroid NaN throughout). Reference outputs for pls, ridge, linear, neuron_to_neuron (score, error,
  split x neuroid raw), the fixed-split pls/ridge/ridgecv, rdm, rdm_cv, cka, cka_biased, cka_cv and
  internal_consistency, plus the reference's repetition average. A metric the reference refuses
  (it raises) is stored as `<metric>__refused` with the message.
- `behavior_NN`: two-alternative trials and model probabilities (float32 or float64), human and model
  decisions and multi-subject recordings of random sizes, generated as make_behavior_fixtures.py does;
  reference outputs as there (i1, i2n and their split-half ceilings, error consistency and its
  subject-pair ceiling, accuracy, the RSA noise ceiling).

A case the reference cannot score is reported and not written: behavior_23, where a d′ of one trial half is
undefined (NaN; the i2n ceiling) and the reference fails its `assert not any(np.isnan(source))` (ours refuses
it with a UserInputError saying so). Existing fixtures are never rewritten (see make_fixtures.py: some
reference digits depend on the BLAS kernel, and a fixture regenerated elsewhere would pin another
machine's). Deterministic.

The array layout helpers (`sweep_source_layout`, ...) are plain numpy: the parity test imports them, so
both sides score exactly the same inputs.
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path

import numpy as np

try:  # imported by the tests as tests.parity.make_sweep_fixtures
    from .layout import target_layout
except ImportError:  # run as a script in the reference venv
    sys.path.insert(0, str(Path(__file__).parent))
    from layout import target_layout  # noqa: E402

SWEEP_DIR = Path(__file__).parent / "fixtures" / "sweep"
N_NEURAL = 36
N_BEHAVIOR = 24
NEURAL_SEED = 20_000
BEHAVIOR_SEED = 30_000
# NaN modes, cycled over the neural cases (case index modulo 6)
NAN_MODES = ("none", "none", "none", "nan_reps", "nan_reps", "nan_neuroid")
REGRESSIONS = {"pls": "pls", "ridge": "ridge", "linear": "linear_predictivity", "neuron_to_neuron": "neuron_to_neuron"}
SPLIT = ["pls", "ridge", "ridgecv"]
REPRESENTATIONAL = ["rdm", "rdm_cv", "cka", "cka_biased", "cka_cv"]
MAX_RECORDED_VALUES = 5000  # stimuli x repetitions x neuroids, at most (more neuroids where fewer presentations)
TRAIN_FRACTION = 0.75  # the fixed-split metrics: the first 75% of the generated stimuli train


def neural_spec(index: int) -> dict:
    """The shape and variations of neural case `index`, drawn from its own seed."""
    rng = np.random.default_rng(NEURAL_SEED + index)
    n_stim, n_rep, n_neur = int(rng.integers(40, 121)), int(rng.integers(2, 7)), int(rng.integers(3, 31))
    return {
        "n_stim": n_stim,
        "n_rep": n_rep,
        "n_neur": min(n_neur, max(3, MAX_RECORDED_VALUES // (n_stim * n_rep))),  # keeps the fixtures small
        # every 8th case has fewer features than PLS's 25 components (pls refuses it, on both sides)
        "n_feat": int(rng.integers(5, 25) if index % 8 == 7 else rng.integers(25, 61)),
        "n_obj": int(rng.integers(2, max(3, n_stim // 10 + 1))),  # the 10% test part must hold every object
        "dtype": np.float32 if index % 2 else np.float64,
        "nan": NAN_MODES[index % len(NAN_MODES)],
        # a mean firing rate (data) and ReLU features (model): real values are not centred
        "data_offset": float(rng.choice([0.0, 0.0, 2.0, 10.0])),
        "relu": bool(rng.random() < 0.35),
        "seed": NEURAL_SEED + index,
    }


def generate_neural(spec: dict) -> dict:
    rng = np.random.default_rng(spec["seed"] + 1)
    n_stim, n_rep, n_neur, n_feat, n_obj = (spec[k] for k in ("n_stim", "n_rep", "n_neur", "n_feat", "n_obj"))
    features = rng.standard_normal((n_stim, n_feat))
    weights = rng.standard_normal((n_feat, n_neur)) / np.sqrt(n_feat)
    signal = features @ weights
    noise = rng.standard_normal((n_stim, n_rep, n_neur)) * rng.uniform(0.3, 2.0, n_neur)
    responses = spec["data_offset"] + signal[:, None, :] + noise
    source = features + 0.5 * rng.standard_normal(features.shape)
    if spec["relu"]:
        source = np.maximum(source, 0)
    if spec["nan"] == "nan_reps":  # some repetitions of 1-2 neuroids missing; every stimulus keeps >= 1
        for j in rng.choice(n_neur, size=min(2, n_neur), replace=False):
            for i in np.flatnonzero(rng.random(n_stim) < 0.3):
                drop = rng.choice(n_rep, size=int(rng.integers(1, n_rep)), replace=False)
                responses[i, drop, j] = np.nan
    elif spec["nan"] == "nan_neuroid":  # one neuroid without any value
        responses[:, :, int(rng.integers(n_neur))] = np.nan
    order = rng.permutation(n_stim)  # stimulus ids not in row order, as in real data
    ids = np.array([f"img{i:04d}" for i in order])
    objects = np.array([f"obj{i % n_obj:02d}" for i in range(n_stim)])
    model_rows = rng.permutation(n_stim)  # the model's rows in their own order
    return {
        "target": responses.astype(spec["dtype"]),
        "stimulus_id": ids,
        "object_name": objects,
        "neuroid_id": np.array([f"n{j:03d}" for j in range(n_neur)]),
        "source": source[model_rows].astype(spec["dtype"]),
        "source_stimulus_id": ids[model_rows],
        "source_object_name": objects[model_rows],
        "spec": np.array(repr({k: (v.__name__ if isinstance(v, type) else v) for k, v in spec.items()})),
    }


def sweep_source_layout(data: dict) -> tuple[np.ndarray, dict]:
    """Model features as `presentation x neuroid`, in the model's own row order."""
    return data["source"], {
        "stimulus_id": ("presentation", data["source_stimulus_id"]),
        "object_name": ("presentation", data["source_object_name"]),
        "neuroid_id": ("neuroid", [f"f{k:04d}" for k in range(data["source"].shape[1])]),
    }


def train_ids(data: dict) -> set[str]:
    """The fixed split's training stimuli: the first 75% of the generated stimuli (data order)."""
    return set(data["stimulus_id"][: int(TRAIN_FRACTION * len(data["stimulus_id"]))])


def _float(x) -> float:
    x = getattr(x, "values", x)
    return float(np.nan if x is None else x)


def _refused(exc: Exception) -> np.ndarray:
    return np.array(f"{type(exc).__name__}: {exc}".splitlines()[0][:300])


def reference_neural(data: dict) -> dict:
    from brainscore_core.supported_data_standards.brainio.assemblies import NeuroidAssembly
    from brainscore_vision import load_ceiling, load_metric
    from brainscore_vision.benchmark_helpers.neural_common import average_repetition

    values, coords = target_layout(data)
    target = NeuroidAssembly(values, coords=coords, dims=["presentation", "neuroid"])
    values, coords = sweep_source_layout(data)
    source = NeuroidAssembly(values, coords=coords, dims=["presentation", "neuroid"])
    averaged = average_repetition(target)
    out = {}
    shown = averaged.sortby("stimulus_id").transpose("presentation", "neuroid").sortby("neuroid_id")
    out["averaged__values"] = np.asarray(shown.values)
    out["averaged__stimulus_id"] = np.asarray(shown["stimulus_id"].values).astype(str)
    for ours, theirs in REGRESSIONS.items():
        try:
            score = load_metric(theirs)(source, averaged)
        except Exception as exc:  # noqa: BLE001 - the reference's refusal is the expected output
            out[f"{ours}__refused"] = _refused(exc)
            continue
        raw = score.raw.transpose("split", "neuroid").sortby("neuroid_id")
        out[f"{ours}__score"], out[f"{ours}__error"] = _float(score), _float(score.error)
        out[f"{ours}__raw"] = np.asarray(raw.values, dtype=np.float64)
        out[f"{ours}__raw_neuroid_id"] = np.asarray(raw["neuroid_id"].values).astype(str)
    for name in REPRESENTATIONAL:
        try:
            score = load_metric(name)(source, averaged)
        except Exception as exc:  # noqa: BLE001
            out[f"{name}__refused"] = _refused(exc)
            continue
        out[f"{name}__score"], out[f"{name}__error"] = _float(score), _float(score.attrs.get("error"))
        raw = score.attrs.get("raw")
        out[f"{name}__raw"] = np.atleast_1d(np.asarray(raw.values if raw is not None else score.values, dtype=np.float64))
    train = train_ids(data)
    pick = lambda a, keep: a.isel(presentation=[(s in train) == keep for s in a["stimulus_id"].values])  # noqa: E731
    for name in SPLIT:
        try:
            score = load_metric(f"{name}_split")(
                pick(source, True), pick(source, False), pick(averaged, True), pick(averaged, False)
            )
        except Exception as exc:  # noqa: BLE001
            out[f"{name}_split__refused"] = _refused(exc)
            continue
        raw = score.attrs.get("raw", score)
        out[f"{name}_split__score"] = _float(score)
        out[f"{name}_split__raw"] = np.asarray(getattr(raw, "values", raw), dtype=np.float64).ravel()
        out[f"{name}_split__alpha"] = float(getattr(raw, "attrs", {}).get("alpha", np.nan))
    try:
        ceiling = load_ceiling("internal_consistency")(target)
        out["internal_consistency__ceiling"], out["internal_consistency__error"] = _float(ceiling), _float(ceiling.error)
        out["internal_consistency__raw"] = np.asarray(
            ceiling.raw.transpose("split", "neuroid").sortby("neuroid_id").values, np.float64
        )
    except Exception as exc:  # noqa: BLE001
        out["internal_consistency__refused"] = _refused(exc)
    return out


def behavior_spec(index: int) -> dict:
    rng = np.random.default_rng(BEHAVIOR_SEED + index)
    n_objects = int(rng.integers(3, 6))
    return {
        "n_objects": n_objects,
        "per_object": int(rng.integers(4, 10)),
        # 12-24 trials per distractor: the reference's i1/i2n ceiling asserts that every (image, distractor)
        # cell has trials in both halves (with ~4 per cell, some seeds fail its `assert not any(np.isnan(...))`)
        "trials_per_image": (n_objects - 1) * int(rng.integers(12, 25)),
        "n_subjects": int(rng.integers(3, 7)),
        "n_conditions": int(rng.integers(1, 4)),
        "per_condition": int(rng.integers(15, 41)),
        "n_categories": int(rng.integers(4, 17)),
        "rsa_stimuli": int(rng.integers(12, 41)),
        "rsa_subjects": int(rng.integers(3, 7)),
        "rsa_per_subject": int(rng.integers(5, 21)),
        "dtype": np.float32 if index % 2 else np.float64,
        "seed": BEHAVIOR_SEED + index,
    }


def generate_behavior(spec: dict) -> dict:
    try:
        from .make_behavior_fixtures import geirhos_trials, rajalingham_trials, subject_recordings
    except ImportError:
        from make_behavior_fixtures import geirhos_trials, rajalingham_trials, subject_recordings

    rng = np.random.default_rng(spec["seed"] + 1)
    data = {
        **rajalingham_trials(rng, spec["n_objects"], spec["per_object"], spec["trials_per_image"]),
        **geirhos_trials(rng, spec["n_subjects"], spec["n_conditions"], spec["per_condition"], spec["n_categories"]),
        **subject_recordings(rng, spec["rsa_stimuli"], spec["rsa_subjects"], spec["rsa_per_subject"]),
    }
    data["model_probabilities"] = data["model_probabilities"].astype(spec["dtype"])
    data["rsa_responses"] = data["rsa_responses"].astype(spec["dtype"])
    data["spec"] = np.array(repr({k: (v.__name__ if isinstance(v, type) else v) for k, v in spec.items()}))
    return data


def reference_behavior(data: dict) -> dict:
    try:
        from .make_behavior_fixtures import reference_outputs
    except ImportError:
        from make_behavior_fixtures import reference_outputs
    return reference_outputs(data)


def case_names() -> list[str]:
    return [f"neural_{i:02d}" for i in range(N_NEURAL)] + [f"behavior_{i:02d}" for i in range(N_BEHAVIOR)]


def build(name: str) -> tuple[dict, dict]:
    kind, index = name.rsplit("_", 1)
    if kind == "neural":
        data = generate_neural(neural_spec(int(index)))
        return data, reference_neural(data)
    data = generate_behavior(behavior_spec(int(index)))
    return data, reference_behavior(data)


def main(names: list[str]) -> int:
    """Write the named cases, or every case whose fixture is missing; never rewrite an existing one."""
    import warnings

    warnings.simplefilter("ignore")  # the reference's deprecation and progress chatter
    SWEEP_DIR.mkdir(parents=True, exist_ok=True)
    for name in names or [n for n in case_names() if not (SWEEP_DIR / f"{n}.npz").exists()]:
        try:
            data, outputs = build(name)
        except Exception as exc:  # noqa: BLE001 - a case the reference cannot score: reported, not written
            where = traceback.extract_tb(exc.__traceback__)[-1]
            print(name, f"not written: the reference fails ({type(exc).__name__} at {Path(where.filename).name}:{where.lineno})")
            continue
        np.savez_compressed(SWEEP_DIR / f"{name}.npz", **data, **outputs)
        refused = sorted(k.split("__")[0] for k in outputs if k.endswith("__refused"))
        print(name, data["spec"], "refused:", refused or "none", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
