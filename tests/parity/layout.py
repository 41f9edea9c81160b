"""How a fixture's arrays become assemblies, shared by the fixture script (reference venv) and the
parity tests (ours), so both sides score exactly the same inputs. Plain numpy only."""

from __future__ import annotations

import numpy as np


def target_layout(data: dict) -> tuple[np.ndarray, dict]:
    """Repetition-level recordings as `presentation × neuroid` values and coords."""
    n_stim, n_rep, n_neur = data["target"].shape
    return data["target"].reshape(n_stim * n_rep, n_neur), {
        "stimulus_id": ("presentation", np.repeat(data["stimulus_id"], n_rep)),
        "object_name": ("presentation", np.repeat(data["object_name"], n_rep)),
        "repetition": ("presentation", np.tile(np.arange(n_rep), n_stim)),
        "neuroid_id": ("neuroid", data["neuroid_id"]),
        "region": ("neuroid", ["IT"] * n_neur),
    }


def source_layout(data: dict) -> tuple[np.ndarray, dict]:
    """Model features as `presentation × neuroid` values and coords."""
    return data["source"], {
        "stimulus_id": ("presentation", data["stimulus_id"]),
        "object_name": ("presentation", data["object_name"]),
        "neuroid_id": ("neuroid", [f"f{k:04d}" for k in range(data["source"].shape[1])]),
    }


def trials_layout(data: dict, prefix: str) -> tuple[np.ndarray, dict]:
    """Behavioural trials (one choice per trial) as `presentation` values and coords."""
    columns = [c for c in ("stimulus_id", "truth", "sample_obj", "dist_obj", "subject", "condition") if f"{prefix}_{c}" in data]
    return data[f"{prefix}_choice"], {c: ("presentation", data[f"{prefix}_{c}"]) for c in columns}


def probabilities_layout(data: dict) -> tuple[np.ndarray, dict]:
    """Model class probabilities as `presentation × choice` values and coords."""
    ids = data["model_stimulus_id"]
    return data["model_probabilities"], {
        "stimulus_id": ("presentation", ids),
        "stimulus_path": ("presentation", np.array([f"{i}.png" for i in ids])),
        "choice": ("choice", data["model_choices"]),
    }


def subject_features_layout(data: dict) -> tuple[np.ndarray, dict]:
    """Recordings from several subjects as `presentation × neuroid`, `subject` along neuroid."""
    return data["rsa_responses"], {
        "stimulus_id": ("presentation", data["rsa_stimulus_id"]),
        "neuroid_id": ("neuroid", data["rsa_neuroid_id"]),
        "subject": ("neuroid", data["rsa_subject"]),
    }
