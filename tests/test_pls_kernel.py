"""The kernel form of cross-validated PLS (metrics/pls_kernel.py) against the primal lockstep form
(metrics/pls_cv.py, itself checked against scikit-learn and brainscore-vision): the same predictions
and scores on wide cases (more units than stimuli), float32 and float64, with scikit-learn's edge
cases (a dead Y column, one target, more components than the rank)."""

from __future__ import annotations

import tracemalloc
import warnings

import numpy as np
import pytest

from brainscore_registry.metrics.pls_cv import primal_cross_validated_pls
from brainscore_registry.metrics.pls_forms import cross_validated_pls, use_kernel
from brainscore_registry.metrics.pls_kernel import gram, kernel_cross_validated_pls
from brainscore_registry.metrics.splits import shuffle_splits

SCORE_TOLERANCE = 1e-9
# shapes (stimuli, units, targets) of 12 random wide cases, float64 and float32 alternating
CASES = [
    (120, 900, 20),
    (150, 2000, 33),
    (90, 400, 7),
    (200, 3000, 50),
    (100, 5000, 1),
    (160, 700, 12),
    (64, 6000, 40),
    (130, 1300, 9),
    (111, 2500, 17),
    (80, 800, 3),
    (140, 4000, 25),
    (100, 250, 60),
]


def _case(seed: int, n: int, p: int, q: int):
    rng = np.random.default_rng(seed)
    dtype = np.float32 if seed % 2 else np.float64
    latent = rng.standard_normal((n, 30))
    X = ((latent @ rng.standard_normal((30, p)) + rng.standard_normal((n, p))) * rng.uniform(0.5, 4) + rng.uniform(-5, 5)).astype(
        dtype
    )
    Y = latent @ rng.standard_normal((30, q)) + rng.uniform(0.5, 3) * rng.standard_normal((n, q))
    return X, Y, list(shuffle_splits(n, n_splits=10, train_size=0.9, random_state=seed))


def _scores(Y: np.ndarray, splits, predictions) -> np.ndarray:
    out = []
    for (_, test), predicted in zip(splits, predictions):
        a, b = Y[test] - Y[test].mean(axis=0), predicted - predicted.mean(axis=0)
        out.append((a * b).sum(axis=0) / np.sqrt((a * a).sum(axis=0) * (b * b).sum(axis=0)))
    return np.array(out)


@pytest.mark.parametrize("seed, shape", list(enumerate(CASES)), ids=[f"{n}x{p}x{q}" for n, p, q in CASES])
def test_the_kernel_form_gives_the_primal_numbers(seed, shape):
    X, Y, splits = _case(seed, *shape)
    primal = primal_cross_validated_pls(X, Y, splits)
    kernel = kernel_cross_validated_pls(X, Y, splits)
    scale = max(np.abs(p).max() for p in primal)
    assert max(np.abs(a - b).max() for a, b in zip(primal, kernel)) <= 1e-7 * scale
    assert np.abs(_scores(Y, splits, primal) - _scores(Y, splits, kernel)).max() <= SCORE_TOLERANCE


def test_the_shape_chooses_the_form():
    assert use_kernel(640, 50_176) and use_kernel(3200, 100_000) and not use_kernel(3200, 4096) and not use_kernel(200, 96)
    X, Y, splits = _case(0, 100, 1000, 5)
    assert all(np.array_equal(a, b) for a, b in zip(cross_validated_pls(X, Y, splits), kernel_cross_validated_pls(X, Y, splits)))


def test_a_dead_target_column_and_a_single_target():
    X, Y, splits = _case(2, 90, 700, 6)
    Y[:, 2] = 3.0  # constant: scikit-learn zeroes it, and so do both forms
    for targets in (Y, Y[:, :1]):
        primal, kernel = primal_cross_validated_pls(X, targets, splits), kernel_cross_validated_pls(X, targets, splits)
        assert max(np.abs(a - b).max() for a, b in zip(primal, kernel)) <= 1e-9


def test_more_components_than_the_rank_stops_as_the_primal_form_does():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((60, 3)) @ rng.standard_normal((3, 400))  # rank 3
    Y = X[:, :5] + 0.1 * rng.standard_normal((60, 5))
    splits = list(shuffle_splits(60, n_splits=3, train_size=0.9, random_state=1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        primal = primal_cross_validated_pls(X, Y, splits, n_components=8)
        kernel = kernel_cross_validated_pls(X, Y, splits, n_components=8)
    assert max(np.abs(a - b).max() for a, b in zip(primal, kernel)) <= 1e-8


def test_the_gram_matrix_in_blocks():
    X = np.random.default_rng(5).standard_normal((50, 333)).astype(np.float32)
    mu = X.mean(axis=0, dtype=np.float64)
    centred = X.astype(np.float64) - mu
    assert np.abs(gram(X, mu, block_bytes=8 * 50 * 7) - centred @ centred.T).max() <= 1e-10


@pytest.mark.parametrize("seed", [6, 7], ids=["float64", "float32"])
def test_peak_memory_stays_under_twice_the_features(seed):
    X, Y, splits = _case(seed, 160, 40_000, 40)  # 51 MB (float64) or 26 MB (float32) of features
    tracemalloc.start()
    kernel_cross_validated_pls(X, Y, splits)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak <= 2 * X.nbytes, f"peak {peak / 2**20:.1f} MiB for {X.nbytes / 2**20:.1f} MiB of features"


def test_an_uncertain_split_is_refitted_as_scikit_learn_would(monkeypatch):
    """When a tracked residual norm cannot certify scikit-learn's column check, the split is refitted by
    ExactPLS (which follows scikit-learn step by step), in the kernel form as in the primal one."""
    from brainscore_registry.metrics import pls_cv

    X, Y, splits = _case(8, 111, 2500, 17)
    monkeypatch.setattr(pls_cv, "CERTAIN", 1e30)  # every certificate inconclusive (both forms)
    refitted = kernel_cross_validated_pls(X, Y, splits[:2])
    primal = primal_cross_validated_pls(X, Y, splits[:2])
    assert max(np.abs(a - b).max() for a, b in zip(primal, refitted)) <= 1e-7 * max(np.abs(p).max() for p in primal)


def test_the_memory_budget_is_the_users_and_changes_no_number(monkeypatch):
    """$BSR_MEMORY_GB sets how many splits share each pass (primal) and the block size (both forms)."""
    from brainscore_registry import UserInputError
    from brainscore_registry.metrics.pls_cv import MIN_BUDGET, block_bytes_for, working_memory

    X, Y, splits = _case(9, 100, 150, 8)  # narrow: the primal form
    default = primal_cross_validated_pls(X, Y, splits)
    monkeypatch.setenv("BSR_MEMORY_GB", "0.00001")  # the smallest budget: one split per group
    assert working_memory(X.nbytes) == MIN_BUDGET
    assert all(np.array_equal(a, b) for a, b in zip(default, primal_cross_validated_pls(X, Y, splits)))
    monkeypatch.setenv("BSR_MEMORY_GB", "4")
    assert working_memory(X.nbytes) == 4 * 2**30
    assert block_bytes_for(50_176, 4 * 2**30) == 32 * 8 * 50_176  # 32 rows of a wide layer, not one
    for bad in ("lots", "-1", "inf", "nan"):
        monkeypatch.setenv("BSR_MEMORY_GB", bad)
        with pytest.raises(UserInputError, match="BSR_MEMORY_GB"):
            working_memory(X.nbytes)


@pytest.mark.parametrize("seed", [0, 1], ids=["float64", "float32"])
def test_the_torch_path_gives_the_host_numbers(seed):
    """What `--device cuda` runs (compute.py), on the host's torch here: the same predictions to rounding."""
    from brainscore_registry.metrics.compute import compute_on

    X, Y, splits = _case(seed, *CASES[seed])
    host = kernel_cross_validated_pls(X, Y, splits)
    with compute_on("cpu"):
        device = kernel_cross_validated_pls(X, Y, splits)
    scale = max(np.abs(p).max() for p in host)
    assert max(np.abs(a - b).max() for a, b in zip(host, device)) <= 1e-9 * scale
    assert np.abs(_scores(Y, splits, host) - _scores(Y, splits, device)).max() <= SCORE_TOLERANCE
