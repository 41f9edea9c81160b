"""Produce the behavioural parity fixtures with the real brainscore-vision 2.4.2 (not run in CI).

Set-up as for make_fixtures.py (a separate venv with the reference installed), then:

    refenv/bin/python tests/parity/make_behavior_fixtures.py

Writes `tests/parity/fixtures/behavior/<case>.npz`: generated two-alternative trials and model class
probabilities (i1, i2n and their split-half ceilings), human trials in two conditions and model choices
(error consistency, its subject-pair ceiling, accuracy), and multi-subject recordings (the RSA noise
ceiling), with the reference's outputs: values, errors and per-split / per-cell raw values. Deterministic.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from layout import probabilities_layout, subject_features_layout, trials_layout  # noqa: E402

CASES = {
    # name: (objects, images per object, trials per image, subjects, conditions, images per condition, categories)
    "small": (4, 10, 80, 6, 2, 40, 16),
    "odd": (6, 7, 121, 5, 3, 33, 10),
}


def rajalingham_trials(rng, n_objects, per_object, trials_per_image):
    objects = np.array([f"obj{o}" for o in range(n_objects)])
    truth = np.repeat(objects, per_object)
    ids = np.array([f"im{o:02d}_{i:02d}" for o in range(n_objects) for i in range(per_object)])
    difficulty = rng.uniform(0.3, 2.0, len(ids))
    confusion = rng.uniform(0.0, 0.8, (n_objects, n_objects))
    rows = {k: [] for k in ("stimulus_id", "truth", "sample_obj", "dist_obj", "choice")}
    for image, (sid, t) in enumerate(zip(ids, truth)):
        o = int(t[3:])
        for _ in range(trials_per_image):
            d = rng.choice([x for x in range(n_objects) if x != o])
            p_correct = 1 / (1 + np.exp(-(difficulty[image] - confusion[o, d])))
            chosen = t if rng.random() < p_correct else objects[d]
            for k, v in zip(rows, (sid, t, t, objects[d], chosen)):
                rows[k].append(v)
    order = rng.permutation(len(rows["choice"]))  # trials in no particular order, as recorded
    trials = {f"trials_{k}": np.array(v)[order] for k, v in rows.items()}
    logits = rng.standard_normal((len(ids), n_objects)) + 2.0 * (objects[None, :] == truth[:, None]) * difficulty[:, None]
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    model_order = rng.permutation(len(ids))
    return {
        **trials,
        "model_stimulus_id": ids[model_order],
        "model_probabilities": probabilities[model_order],
        "model_choices": objects,
    }


def geirhos_trials(rng, n_subjects, n_conditions, per_condition, n_categories):
    categories = np.array([f"cat{c:02d}" for c in range(n_categories)])
    rows = {k: [] for k in ("stimulus_id", "truth", "subject", "condition", "choice")}
    model = {}
    for c in range(n_conditions):
        condition = f"cond{c}"
        truth = rng.choice(categories, per_condition)
        hardness = rng.uniform(-1, 2, per_condition) - c * 0.5
        ids = np.array([f"{condition}_img{i:03d}" for i in range(per_condition)])
        for s in range(n_subjects):
            skill = rng.uniform(-0.5, 0.5)
            for sid, t, h in zip(ids, truth, hardness):
                right = rng.random() < 1 / (1 + np.exp(-(h + skill)))
                for k, v in zip(rows, (sid, t, f"subj{s:02d}", condition, t if right else rng.choice(categories))):
                    rows[k].append(v)
        for sid, t, h in zip(ids, truth, hardness):
            model[sid] = (t if rng.random() < 1 / (1 + np.exp(-(h + 0.3))) else rng.choice(categories), t, condition)
    order = rng.permutation(len(rows["choice"]))
    ids = np.array(sorted(model))[rng.permutation(len(model))]
    return {
        **{f"humans_{k}": np.array(v)[order] for k, v in rows.items()},
        "machine_stimulus_id": ids,
        "machine_choice": np.array([model[i][0] for i in ids]),
        "machine_truth": np.array([model[i][1] for i in ids]),
        "machine_condition": np.array([model[i][2] for i in ids]),
    }


def subject_recordings(rng, n_stimuli=30, n_subjects=5, per_subject=20):
    shared = rng.standard_normal((n_stimuli, 8))
    blocks = [
        shared @ rng.standard_normal((8, per_subject)) + rng.standard_normal((n_stimuli, per_subject)) for _ in range(n_subjects)
    ]
    return {
        "rsa_responses": np.hstack(blocks),
        "rsa_stimulus_id": np.array([f"st{i:03d}" for i in range(n_stimuli)]),
        "rsa_neuroid_id": np.array([f"s{s}_n{j:02d}" for s in range(n_subjects) for j in range(per_subject)]),
        "rsa_subject": np.repeat([f"subject{s}" for s in range(n_subjects)], per_subject),
    }


def _value(x) -> float:
    return float(getattr(x, "values", x))


def reference_outputs(data: dict) -> dict:
    from brainscore_core.supported_data_standards.brainio.assemblies import BehavioralAssembly, NeuroidAssembly
    from brainscore_vision import load_metric
    from brainscore_vision.metrics.rsa_ceiling import RSACeiling

    out = {}
    values, coords = trials_layout(data, "trials")
    trials = BehavioralAssembly(values, coords=coords, dims=["presentation"])
    for name in ("i1", "i2n"):
        metric = load_metric(name)
        values, coords = probabilities_layout(data)
        probabilities = BehavioralAssembly(values, coords=coords, dims=["presentation", "choice"])
        score = metric(probabilities, trials)
        out[f"{name}__score"], out[f"{name}__error"] = _value(score), _value(score.attrs["error"])
        out[f"{name}__raw"] = np.asarray(score.attrs["raw"].values, dtype=np.float64)
        ceiling = metric.ceiling(trials)
        out[f"{name}__ceiling"], out[f"{name}__ceiling_error"] = _value(ceiling), _value(ceiling.attrs["error"])
        out[f"{name}__ceiling_raw"] = np.asarray(ceiling.attrs["raw"].values, dtype=np.float64)
    values, coords = trials_layout(data, "humans")
    humans = BehavioralAssembly(values, coords=coords, dims=["presentation"])
    machine = BehavioralAssembly(
        data["machine_choice"],
        coords={c: ("presentation", data[f"machine_{c}"]) for c in ("stimulus_id", "truth", "condition")},
        dims=["presentation"],
    )
    metric = load_metric("error_consistency")
    score = metric(machine, humans)
    out["error_consistency__score"], out["error_consistency__error"] = _value(score), _value(score.attrs["error"])
    raw = score.attrs["raw"].transpose("subject", "condition").sortby("subject").sortby("condition")
    out["error_consistency__raw"] = np.asarray(raw.values, dtype=np.float64)
    ceiling = metric.ceiling(humans)
    out["error_consistency__ceiling"], out["error_consistency__ceiling_error"] = _value(ceiling), _value(ceiling.attrs["error"])
    accuracy = load_metric("accuracy")(data["machine_choice"], data["machine_truth"])
    out["accuracy__score"], out["accuracy__error"] = _value(accuracy), _value(accuracy.attrs["error"])
    values, coords = subject_features_layout(data)
    recordings = NeuroidAssembly(values, coords=coords, dims=["presentation", "neuroid"])
    ceiling = RSACeiling()(recordings)
    out["rsa_ceiling__upper"], out["rsa_ceiling__lower"] = _value(ceiling), float(ceiling.attrs["lower_bound_loo"])
    return out


def main() -> int:
    target_dir = Path(__file__).parent / "fixtures" / "behavior"
    target_dir.mkdir(parents=True, exist_ok=True)
    for seed, (name, (n_obj, per_obj, per_image, n_subj, n_cond, per_cond, n_cat)) in enumerate(CASES.items()):
        rng = np.random.default_rng(100 + seed)
        data = {
            **rajalingham_trials(rng, n_obj, per_obj, per_image),
            **geirhos_trials(rng, n_subj, n_cond, per_cond, n_cat),
            **subject_recordings(rng),
        }
        outputs = reference_outputs(data)
        np.savez_compressed(target_dir / f"{name}.npz", **data, **outputs)
        print(name, {k: v for k, v in outputs.items() if not k.endswith("raw")})
    return 0


if __name__ == "__main__":
    sys.exit(main())
