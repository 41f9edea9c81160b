"""Signed score records of invented models on invented benchmarks, for the leaderboard's scale runs
(`perf/leaderboard.py`) and tests. Clearly synthetic: every model and benchmark name starts with
`Synthetic`, the data pins point at no catalogued version, and the per-split numbers are drawn from a
seeded generator around the score. The signatures are real (Ed25519), so every record passes the
same checks a scored one does.
"""

from __future__ import annotations

import base64
import hashlib

import numpy as np
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ..data.hashing import canonical_json
from ..runs.records import ScoreRecord, key_id

SPLITS, UNITS = 10, 8
REGIONS = ("V1", "V2", "V4", "IT")


def synthetic_spec(index: int) -> dict:
    """Benchmark `index`: neural benchmarks over the four regions, every fifth one behavioural."""
    region = REGIONS[index % len(REGIONS)]
    behavioural = index % 5 == 4
    name = f"Synthetic2026.{'behavior' if behavioural else region}{index:03d}"
    pin = f"{name}@sha256:{hashlib.sha256(name.encode()).hexdigest()}"
    return {
        "id": f"{name}-{'accuracy' if behavioural else 'pls'}",
        "version": 1,
        "description": "SYNTHETIC benchmark for scale runs of the leaderboard (no real data behind it).",
        "assembly": pin,
        "procedure": {"task": "label", "choices": ["a", "b"]} if behavioural else {"region": region, "time_bins": [[70, 170]]},
        "metric": {"name": "accuracy" if behavioural else "pls"},
        "ceiling": {"method": "internal_consistency"},
        "normalization": "none" if behavioural else "r2_over_ceiling",
        "parent": "behavior" if behavioural else region,
        "citation": "Synthetic, 2026",
    }


def _score(value: float, rng: np.random.Generator) -> dict:
    raw_value = float(np.sqrt(max(value, 0.0) * 0.8))
    splits = (raw_value + 0.03 * rng.standard_normal((SPLITS, UNITS))).tolist()
    error = float(np.std(np.mean(splits, axis=1)))
    ceiling = {
        "value": 0.8,
        "error": 0.01,
        "raw": [[0.8] * UNITS] * SPLITS,
        "units": [f"n{i}" for i in range(UNITS)],
        "attrs": {},
    }
    raw = {
        "value": raw_value,
        "error": error,
        "raw": splits,
        "units": [f"n{i}" for i in range(UNITS)],
        "attrs": {"n_splits": SPLITS},
    }
    return {"value": value, "error": error, "normalization": "r2_over_ceiling", "raw": raw, "ceiling": ceiling}


def synthetic_record(model: str, spec: dict, value: float, key: Ed25519PrivateKey, seed: int, finished: str) -> dict:
    """A signed record of `model` scoring `value` on the benchmark `spec`."""
    rng = np.random.default_rng(seed)
    public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    data = {
        "schema": "bsr-score-record-v1",
        "benchmark": {
            "id": spec["id"],
            "version": spec["version"],
            "spec_sha256": hashlib.sha256(canonical_json(spec)).hexdigest(),
            "spec": spec,
        },
        "data": {"assembly": spec["assembly"], "stimulus_set": None, "fitting_stimuli": None},
        "metric": spec["metric"],
        "normalization": spec["normalization"],
        "score": _score(value, rng),
        "model": {
            "kind": "predictions",
            "name": model,
            "predictions_sha256": hashlib.sha256(f"{model}{seed}".encode()).hexdigest(),
        },
        "code": {"package": "brainscore-registry", "version": "synthetic"},
        "environment": {"python": "3.11", "numpy": "2", "device": "cpu", "threads": 1, "blas": []},
        "seeds": {"synthetic": seed},
        "tolerance": {"same_setting": 0.0},
        "timestamps": {"started": finished, "finished": finished},
        "signer": {"key_id": key_id(key.public_key()), "public_key": base64.b64encode(public).decode()},
    }
    unsigned = ScoreRecord.model_validate(data).unsigned()
    return {**data, "signature": base64.b64encode(key.sign(canonical_json(unsigned))).decode()}
