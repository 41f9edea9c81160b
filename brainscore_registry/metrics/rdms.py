"""Representational dissimilarity matrices, the vocabulary of representational metrics.

Three choices define an RSA (Kriegeskorte 2008; Nili et al. 2014; rsatoolbox), each a spec parameter:

- how a model's RDM is made (`ModelRdm`): the distance between stimulus patterns (`correlation`:
  1 − Pearson r; `euclidean`; `cosine`: 1 − cos), optionally after z-scoring each unit over the
  stimuli, optionally over a deterministic subset of units (`random` with a seed, or the `variance`
  top units);
- which cells of the two matrices are compared (`CELLS`): `upper` (above the diagonal: a symmetric
  RDM's information, each pair once), `off_diagonal` (every i ≠ j: both halves of an asymmetric,
  split-data matrix), `all` (with the diagonal, which split-data matrices fill with reliabilities);
- how two vectors of cells are compared (`COMPARISONS`): Spearman ρ, Pearson r, Kendall's τ_a
  (Nili 2014's choice when the model RDM has ties), cosine similarity (uncentred).

Data given as similarities (a `measure: similarity` assembly) are compared as the dissimilarities
1 − s: for correlation similarities that is the correlation distance, and every comparison but the
cosine is unchanged by any such affine map (up to its sign, which this one preserves).
A comparison of a constant vector is undefined: NaN, never 0.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import UserInputError

CELLS = ("upper", "off_diagonal", "all")
DISTANCES = ("correlation", "euclidean", "cosine")
UNIT_SELECTIONS = ("random", "variance")
MEASURES = ("dissimilarity", "similarity")


def cell_mask(n: int, cells: str) -> np.ndarray:
    """Boolean n × n mask of the compared cells, read in row-major order."""
    if cells == "upper":
        return np.triu(np.ones((n, n), dtype=bool), k=1)
    if cells == "off_diagonal":
        return ~np.eye(n, dtype=bool)
    return np.ones((n, n), dtype=bool)


def cells_of(matrix: np.ndarray, cells: str) -> np.ndarray:
    """The compared cells of a square matrix (or of each matrix of a stack), as vectors."""
    return matrix[..., cell_mask(matrix.shape[-1], cells)]


def _constant(values: np.ndarray) -> bool:
    return bool(np.all(values == values[0]))


def _defined(compare: Callable[[np.ndarray, np.ndarray], float]) -> Callable[[np.ndarray, np.ndarray], float]:
    """NaN when either vector is constant (no ranking, no variance, or zero), else the comparison."""

    def defined(a: np.ndarray, b: np.ndarray) -> float:
        if len(a) < 2 or _constant(a) or _constant(b):
            return float("nan")
        return compare(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64))

    defined.__name__ = compare.__name__
    defined.__doc__ = compare.__doc__
    return defined


@_defined
def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman ρ: Pearson r of the ranks, ties given their mean rank (scipy.stats.spearmanr)."""
    import scipy.stats

    return float(scipy.stats.spearmanr(a, b)[0])


@_defined
def pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson r."""
    return float(np.corrcoef(a, b)[0, 1])


def _tied_pairs(values: np.ndarray) -> int:
    counts = np.unique(values, return_counts=True)[1].astype(np.int64)
    return int((counts * (counts - 1) // 2).sum())


@_defined
def kendall_tau_a(a: np.ndarray, b: np.ndarray) -> float:
    """Kendall's τ_a = (concordant − discordant pairs) / (n(n−1)/2), ties counted as neither.

    Nili et al. (2014) recommend it over τ_b when a model predicts ties: τ_b's tie correction favours
    a model that ties everything. Computed in O(n log n) from scipy's τ_b, whose numerator is the
    same concordant − discordant count: τ_a = τ_b · √((n₀ − n₁)(n₀ − n₂)) / n₀, with n₀ = n(n−1)/2
    and n₁, n₂ the pairs tied in a and in b."""
    import scipy.stats

    n0 = len(a) * (len(a) - 1) / 2
    tau_b = scipy.stats.kendalltau(a, b, variant="b")[0]
    return float(tau_b * np.sqrt((n0 - _tied_pairs(a)) * (n0 - _tied_pairs(b))) / n0)


@_defined
def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of the uncentred vectors."""
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


COMPARISONS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "spearman": spearman,
    "pearson": pearson,
    "kendall_tau_a": kendall_tau_a,
    "cosine": cosine,
}


def compare_rdms(a: np.ndarray, b: np.ndarray, comparison: str = "spearman", cells: str = "upper") -> float:
    """One comparison of two square matrices over the chosen cells."""
    return COMPARISONS[comparison](cells_of(a, cells), cells_of(b, cells))


def as_dissimilarities(matrices: np.ndarray, measure: str) -> np.ndarray:
    """Dissimilarities from data registered as either measure (see the module's docstring)."""
    return 1.0 - matrices if measure == "similarity" else matrices


def _zscored(values: np.ndarray) -> np.ndarray:
    """Each unit (column) z-scored over the stimuli; a constant unit becomes zeros, not NaN."""
    centred = values - values.mean(axis=0)
    spread = values.std(axis=0)
    return np.divide(centred, spread, out=np.zeros_like(centred), where=spread > 0)


@dataclass(frozen=True)
class UnitSelection:
    """A deterministic subset of `count` units: `random` (numpy's default_rng(seed) permutation) or
    `variance` (the units of largest variance over the stimuli, ties by unit order)."""

    method: str
    count: int
    seed: int = 0

    def select(self, values: np.ndarray) -> np.ndarray:
        if values.shape[1] < self.count:
            raise UserInputError(
                f"the model RDM is to use {self.count} units but the model has {values.shape[1]}",
                field="model_rdm.units.count",
                fix=f"use at most {values.shape[1]} units, or all of them (leave `units` out)",
            )
        if self.method == "random":
            chosen = np.sort(np.random.default_rng(self.seed).permutation(values.shape[1])[: self.count])
        else:
            chosen = np.sort(np.argsort(-values.var(axis=0), kind="stable")[: self.count])
        return values[:, chosen]


@dataclass(frozen=True)
class ModelRdm:
    """How a model's `stimulus × unit` responses become its RDM."""

    distance: str = "correlation"
    zscore_units: bool = False
    units: UnitSelection | None = None

    def __call__(self, values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype=np.float64)
        if self.units is not None:
            values = self.units.select(values)
        if self.zscore_units:
            values = _zscored(values)
        return rdm_of(values, self.distance)


def rdm_of(values: np.ndarray, distance: str = "correlation") -> np.ndarray:
    """The `stimulus × stimulus` distances between the rows of `values`."""
    if distance == "correlation":
        return 1 - np.corrcoef(values)
    import scipy.spatial.distance

    return scipy.spatial.distance.squareform(scipy.spatial.distance.pdist(values, distance))


def _choice(owner: str, name: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise UserInputError(
            f"The {name!r} parameter of {owner} must be one of {', '.join(allowed)}. Got {value!r} instead.",
            field=name,
            fix=f"set {name} to one of {', '.join(allowed)} in the benchmark spec, or leave it out for the default",
        )
    return value


def comparison_parameter(owner: str, value: Any) -> str:
    return _choice(owner, "comparison", value, tuple(COMPARISONS))


def cells_parameter(owner: str, value: Any) -> str:
    return _choice(owner, "cells", value, CELLS)


def distance_parameter(owner: str, value: Any) -> str:
    return _choice(owner, "distance", value, DISTANCES)


def _mapping(owner: str, name: str, value: Any, keys: tuple[str, ...]) -> dict:
    if not isinstance(value, dict):
        raise UserInputError(
            f"The {name!r} parameter of {owner} must be a mapping with keys among {', '.join(keys)}. Got {value!r} instead.",
            field=name,
            fix=f"write {name} as a mapping, e.g. {{{keys[0]}: ...}}",
        )
    unknown = sorted(set(value) - set(keys))
    if unknown:
        raise UserInputError(
            f"{name} of {owner} takes no key {', '.join(map(repr, unknown))}; it takes: {', '.join(keys)}",
            field=f"{name}.{unknown[0]}",
            fix="remove the key, or use one it takes",
        )
    return value


def _count(owner: str, name: str, value: Any, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise UserInputError(
            f"The {name!r} parameter of {owner} must be an int ≥ {low}. Got {value!r} instead.",
            field=name,
            fix=f"set {name} to an int ≥ {low}",
        )
    return value


def model_rdm_parameter(owner: str, value: dict | None) -> ModelRdm:
    """The `model_rdm` mapping of a spec (`distance`, `zscore_units`, `units`), validated."""
    if value is None:
        return ModelRdm()
    value = _mapping(owner, "model_rdm", value, ("distance", "zscore_units", "units"))
    zscore = value.get("zscore_units", False)
    if not isinstance(zscore, bool):
        raise UserInputError(
            f"model_rdm.zscore_units of {owner} must be true or false. Got {zscore!r} instead.",
            field="model_rdm.zscore_units",
            fix="set zscore_units to true or false",
        )
    units = value.get("units")
    if units is not None:
        units = _mapping(owner, "model_rdm.units", units, ("method", "count", "seed"))
        units = UnitSelection(
            _choice(owner, "model_rdm.units.method", units.get("method"), UNIT_SELECTIONS),
            _count(owner, "model_rdm.units.count", units.get("count"), 2),
            _count(owner, "model_rdm.units.seed", units.get("seed", 0), 0),
        )
    return ModelRdm(distance_parameter(owner, value.get("distance", "correlation")), zscore, units)
