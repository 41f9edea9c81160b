"""Representational comparisons of model and data over the same stimuli: RDM (Kriegeskorte 2008)
and linear CKA (Kornblith 2019), plain or over 10 test-only splits.

Reference protocol (brainscore-vision 2.4.2): rows sorted by stimulus_id on both sides.
- RDM = 1 − Pearson r between stimulus rows; similarity = Spearman ρ of the upper triangles (k=1).
  Beyond the reference, `rdm` and `rdm_cv` take `comparison` (spearman, pearson, kendall_tau_a,
  cosine) and `distance` (correlation, euclidean, cosine) for both RDMs (rdms.py); both matrices are
  symmetric, so only their upper triangles are compared.
- CKA (default, unbiased): K = XXᵀ, L = YYᵀ, features **not** centred, zeroed diagonals,
  HSIC_u = [tr(KL) + 1ᵀK1·1ᵀL1/((n−1)(n−2)) − 2(K1)ᵀ(L1)/(n−2)] / (n(n−3));
  CKA = HSIC_u(K,L) / (√(HSIC_u(K,K)·HSIC_u(L,L)) + 1e-12), and 0 when that product is ≤ 0.
  Computed in float64 on column-centred features, not as the reference does (float32 inputs in float32,
  uncentred): HSIC_u is exactly invariant to translating the features, but uncentred values (a mean
  firing rate, ReLU features) put into K and L a common part that the three terms cancel, up to 1e5-fold
  with a mean of 10, so that float32 sums of them are only good to ~2⁻²³ × that factor (4e-3 on
  240 × 61 × 300 cases; a float32 result moved by as much between OpenBLAS kernels). Ours is exact to
  ~1e-15 and kernel-independent; it differs from the reference's by the reference's own rounding
  (tests/test_parity_sweep.py: `cka_float32_rounding`), within 1e-6 where the inputs are near-centred.
  `cka_biased` is the classic HKH-centred linear CKA.
- `*_cv`: `StratifiedShuffleSplit(10, test_size=0.9, random_state=1)` by object_name over the
  target's rows; the metric runs on the 90% test part; mean over splits, error = std (ddof=0)/√10.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from ..errors import UserInputError
from .contract import MAX_SEED, MAX_SPLITS, Metric, coordinate_parameter, fraction_parameter, int_parameter
from .data import check_model_against_data, stimulus_matrix, stratification_labels
from .rdms import compare_rdms, comparison_parameter, distance_parameter, rdm_of
from .regression import cv_splits
from .score import Score

if TYPE_CHECKING:
    import xarray as xr


def rdm(values: np.ndarray) -> np.ndarray:
    """1 − Pearson correlation between the rows (stimuli) of `stimulus × unit` values."""
    return rdm_of(values, "correlation")


def rdm_similarity(a: np.ndarray, b: np.ndarray, comparison: str = "spearman", distance: str = "correlation") -> float:
    return compare_rdms(rdm_of(a, distance), rdm_of(b, distance), comparison, "upper")


def _unbiased_hsic(K: np.ndarray, L: np.ndarray) -> float:
    n = K.shape[0]
    K, L = K.copy(), L.copy()
    np.fill_diagonal(K, 0.0)
    np.fill_diagonal(L, 0.0)
    k1, l1 = K.sum(axis=1), L.sum(axis=1)
    trace_kl = float((K * L).sum())
    return (trace_kl + float(k1.sum() * l1.sum()) / ((n - 1.0) * (n - 2.0)) - 2.0 * float((k1 * l1).sum()) / (n - 2.0)) / (
        n * (n - 3.0)
    )


def cka_unbiased(a: np.ndarray, b: np.ndarray, eps: float = 1e-12) -> float:
    if a.shape[0] < 4:
        raise UserInputError(
            f"unbiased CKA needs at least 4 stimuli, got {a.shape[0]}",
            field="stimulus_id",
            fix="compare over more stimuli, or use cka_biased",
        )
    # float64 and centred: the same estimator, without the cancellation float32 cannot hold (module docstring)
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    a, b = a - a.mean(axis=0), b - b.mean(axis=0)
    K, L = a @ a.T, b @ b.T
    xy, xx, yy = _unbiased_hsic(K, L), _unbiased_hsic(K, K), _unbiased_hsic(L, L)
    product = xx * yy
    return 0.0 if product <= 0 else float(xy / (np.sqrt(product) + eps))


def _centred(K: np.ndarray) -> np.ndarray:
    n = K.shape[0]
    H = np.eye(n) - np.ones((n, n)) / n
    return H @ K @ H


def cka_biased(a: np.ndarray, b: np.ndarray) -> float:
    def hsic(x: np.ndarray, y: np.ndarray) -> float:
        return float(np.sum(_centred(x @ x.T) * _centred(y @ y.T)))

    return hsic(a, b) / (np.sqrt(hsic(a, a)) * np.sqrt(hsic(b, b)))


SIMILARITIES: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "rdm": rdm_similarity,
    "cka": cka_unbiased,
    "cka_biased": cka_biased,
}


class RepresentationalSimilarity(Metric):
    """`metric(model, data) -> Score`, both `presentation × neuroid` keyed by stimulus_id."""

    source_kind = "features"
    target_kind = "recordings"

    def __init__(self, similarity: str) -> None:
        self.similarity = similarity

    def compare(self, source: np.ndarray, target: np.ndarray) -> float:
        """The similarity of two `stimulus × unit` matrices with rows in the same stimulus order."""
        return SIMILARITIES[self.similarity](source, target)

    def __call__(self, source: xr.DataArray, target: xr.DataArray) -> Score:
        check_model_against_data(source, target)
        value = self.compare(stimulus_matrix(source), stimulus_matrix(target))
        return Score(value, float("nan"), np.array([[value]]), (), self.params())


class _RdmOptions:
    """The comparison and distance an RDM metric's two matrices are made and compared with."""

    similarity = "rdm"
    comparison: str
    distance: str

    def _set_rdm_options(self, owner: str, comparison: str, distance: str) -> None:
        self.comparison = comparison_parameter(owner, comparison)
        self.distance = distance_parameter(owner, distance)

    def compare(self, source: np.ndarray, target: np.ndarray) -> float:
        return rdm_similarity(source, target, self.comparison, self.distance)


class RdmSimilarity(_RdmOptions, RepresentationalSimilarity):
    """The model's RDM against the data's (Kriegeskorte 2008), over every stimulus."""

    def __init__(self, comparison: str = "spearman", distance: str = "correlation") -> None:
        self._set_rdm_options("metric 'rdm'", comparison, distance)


class CrossValidatedSimilarity(RepresentationalSimilarity):
    """The same comparison on the 90% test part of 10 splits."""

    def __init__(
        self,
        similarity: str,
        *,
        stratification_coord: str | None = "object_name",
        n_splits: int = 10,
        test_size: float = 0.9,
        random_state: int = 1,
    ) -> None:
        super().__init__(similarity)
        self._set_splits(f"metric '{similarity}_cv'", stratification_coord, n_splits, test_size, random_state)

    def _set_splits(
        self, owner: str, stratification_coord: str | None, n_splits: int, test_size: float, random_state: int
    ) -> None:
        self.stratification_coord = coordinate_parameter(owner, "stratification_coord", stratification_coord)
        self.n_splits = int_parameter(owner, "n_splits", n_splits, 2, MAX_SPLITS)
        self.test_size = fraction_parameter(owner, "test_size", test_size)
        self.random_state = int_parameter(owner, "random_state", random_state, 0, MAX_SEED)

    def __call__(self, source: xr.DataArray, target: xr.DataArray) -> Score:
        check_model_against_data(source, target)
        ids = np.asarray(target["stimulus_id"].values, dtype=str)
        labels = stratification_labels(target, self.stratification_coord)
        per_split = []
        report = self.report(f"{self.similarity}: splits", self.n_splits)
        for _, test in cv_splits(
            len(ids), labels, n_splits=self.n_splits, test_size=self.test_size, random_state=self.random_state
        ):
            keep = set(ids[test])
            parts = [
                a.isel(presentation=np.isin(np.asarray(a["stimulus_id"].values, dtype=str), list(keep))) for a in (source, target)
            ]
            per_split.append(self.compare(*(stimulus_matrix(p) for p in parts)))
            report(len(per_split))
        values = np.array(per_split)
        return Score(float(values.mean()), float(values.std() / np.sqrt(len(values))), values[:, None], (), self.params())


class CrossValidatedRdm(_RdmOptions, CrossValidatedSimilarity):
    """`rdm` on the 90% test part of 10 splits."""

    def __init__(
        self,
        comparison: str = "spearman",
        distance: str = "correlation",
        *,
        stratification_coord: str | None = "object_name",
        n_splits: int = 10,
        test_size: float = 0.9,
        random_state: int = 1,
    ) -> None:
        self._set_rdm_options("metric 'rdm_cv'", comparison, distance)
        self._set_splits("metric 'rdm_cv'", stratification_coord, n_splits, test_size, random_state)
