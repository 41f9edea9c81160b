"""Cross-validated regression metrics (`pls`, `ridge`, `linear`, `neuron_to_neuron`): fit a linear
map from model features to each recorded neuroid on 90% of the stimuli, correlate predictions with
the held-out responses.

The reference protocol (brainscore-vision 2.4.2), followed exactly:
- splits: `StratifiedShuffleSplit(10, train_size=0.9, random_state=1)` over the repetition-averaged
  target in its own row order, stratified by `object_name`; `ShuffleSplit` without one;
- fit on train rows sorted by stimulus_id; predict test rows; rows sorted by stimulus_id and
  neuroids by neuroid_id; `scipy.stats.pearsonr` per neuroid;
- median over neuroids (NaN skipped) per split, mean over splits, error = std (ddof=0) / sqrt(10).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import numpy as np
import scipy.linalg
import scipy.stats
import xarray as xr
from sklearn.linear_model import LinearRegression, Ridge, RidgeCV
from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit

from ..errors import UserInputError
from .data import check_model_against_data, sort_by_stimulus, stratification_labels
from .pls import ExactPLS
from .pls_cv import cross_validated_pls
from .score import Score, aggregate_splits

PLS_COMPONENTS = 25


class NeuronToNeuron:
    """Each target neuroid is predicted by the one source unit with the highest train-set Pearson r."""

    def fit(self, X: np.ndarray, Y: np.ndarray) -> "NeuronToNeuron":
        r = np.stack([_columnwise_pearson(X, Y[:, [j]]) for j in range(Y.shape[1])])
        self.mapping_ = np.nanargmax(r, axis=1)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return X[:, self.mapping_]


def _columnwise_pearson(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """r of every column of x with y, as the reference computes it (its own formula, not scipy's)."""
    xm, ym = x - x.mean(axis=0, keepdims=True), y - y.mean(axis=0, keepdims=True)
    normalized_x = xm / scipy.linalg.norm(xm, axis=0, keepdims=True)
    normalized_y = ym / scipy.linalg.norm(ym, axis=0, keepdims=True)
    return (normalized_x * normalized_y).sum(axis=0)


class MinNormLinearRegression(LinearRegression):
    """Ordinary least squares, min-norm when features outnumber stimuli. Quirk followed: the reference
    ran scikit-learn 1.5, whose `scipy.linalg.lstsq` cut singular values at machine epsilon of the data's
    dtype; scikit-learn >= 1.7 cuts at `tol=1e-6`, which changes underdetermined solutions a lot."""

    def fit(self, X, y, sample_weight=None):
        self.tol = float(np.finfo(np.asarray(X).dtype if np.asarray(X).dtype.kind == "f" else np.float64).eps)
        return super().fit(X, y, sample_weight)


def ridge_alpha_grid() -> list[float]:
    """The reference's RidgeCV grid (99 alphas): 0.01, 0.1, 0.5, 1, then evenly spaced grids per decade
    (4 values in [10, 100), 18 in each decade up to 1e6, and 19 from 1e6 to 1e7 inclusive)."""
    grid = [0.01, 0.1, 0.5, 1.0, *np.linspace(1e1, 1e2, 4, endpoint=False)]
    for low in (1e2, 1e3, 1e4, 1e5):
        grid += list(np.linspace(low, low * 10, 18, endpoint=False))
    return [float(a) for a in [*grid, *np.linspace(1e6, 1e7, 19)]]


REGRESSIONS: dict[str, Callable[[], object]] = {
    "pls": lambda: ExactPLS(n_components=PLS_COMPONENTS),  # scikit-learn's NIPALS iterates, without its passes over X
    "ridge": lambda: Ridge(alpha=1),
    "linear": MinNormLinearRegression,
    "neuron_to_neuron": NeuronToNeuron,
}
SPLIT_REGRESSIONS: dict[str, Callable[[], object]] = {
    "pls": REGRESSIONS["pls"],
    "ridge": REGRESSIONS["ridge"],
    "ridgecv": lambda: RidgeCV(alphas=ridge_alpha_grid(), store_cv_results=False),  # one alpha for all targets (GCV)
}


def cv_splits(
    n: int,
    labels: np.ndarray | None,
    *,
    n_splits: int,
    random_state: int,
    train_size: float | None = None,
    test_size: float | None = None,
):
    """The reference's splits: stratified by `labels` when given."""
    kwargs = dict(n_splits=n_splits, train_size=train_size, test_size=test_size, random_state=random_state)
    try:
        if labels is None:
            return list(ShuffleSplit(**kwargs).split(np.zeros(n)))
        return list(StratifiedShuffleSplit(**kwargs).split(np.zeros(n), labels))
    except ValueError as exc:  # too few stimuli, or an object with a single stimulus
        groups = "" if labels is None else f" in {len(np.unique(labels))} stratification groups"
        raise UserInputError(
            f"{n} stimuli{groups} cannot make {n_splits} splits: {exc}",
            field="stimulus_id",
            fix="score on more stimuli, or use a benchmark without stratification (stratification_coord: null)",
        ) from None


def check_features(source: xr.DataArray, regression: str) -> None:
    """PLS extracts 25 components: scikit-learn refuses fewer features, and so do we, with the fix."""
    n_features = source.sizes["neuroid"]
    if regression == "pls" and n_features < PLS_COMPONENTS:
        raise UserInputError(
            f"the model gives {n_features} features; pls needs at least {PLS_COMPONENTS} (its number of components)",
            field="neuroid",
            fix="map the region to a layer with more units, or use the ridge or linear metric",
        )


def pearson_per_column(target: np.ndarray, prediction: np.ndarray) -> np.ndarray:
    """`scipy.stats.pearsonr` per neuroid (its vectorised form, same arithmetic as one call per
    column); a constant column gives NaN, excluded later by the NaN-skipping median, as in the reference."""
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", scipy.stats.ConstantInputWarning)
        dtype = np.result_type(target.dtype, prediction.dtype)
        return np.asarray(scipy.stats.pearsonr(target.astype(dtype), prediction.astype(dtype), axis=0)[0], dtype=np.float64)


def _fit_predict_correlate(make_model, X_train, Y_train, X_test, Y_test) -> tuple[np.ndarray, object]:
    model = make_model()
    model.fit(X_train, Y_train)
    return pearson_per_column(Y_test, np.asarray(model.predict(X_test))), model


def _by_stimulus(assembly: xr.DataArray, neuroid_order: np.ndarray | None = None) -> np.ndarray:
    values = np.asarray(sort_by_stimulus(assembly).transpose("presentation", "neuroid").values)
    return values if neuroid_order is None else values[:, neuroid_order]


class TrainTestSplitCorrelation:
    """`metric(source_train, source_test, target_train, target_test) -> Score` for benchmarks with a
    fixed train/test split: fit on train (rows sorted by stimulus_id), per-neuroid r on test, median."""

    def __init__(self, regression: str) -> None:
        self.regression = regression

    def __call__(
        self, source_train: xr.DataArray, source_test: xr.DataArray, target_train: xr.DataArray, target_test: xr.DataArray
    ) -> Score:
        check_model_against_data(source_train, target_train)
        check_model_against_data(source_test, target_test)
        check_features(source_train, self.regression)
        order = np.argsort(np.asarray(target_train["neuroid_id"].values, dtype=str), kind="stable")
        r, model = _fit_predict_correlate(
            SPLIT_REGRESSIONS[self.regression],
            _by_stimulus(source_train),
            _by_stimulus(target_train, order),
            _by_stimulus(source_test),
            _by_stimulus(target_test, order),
        )
        attrs = {"regression": self.regression, **({"alpha": float(model.alpha_)} if hasattr(model, "alpha_") else {})}
        units = tuple(np.asarray(target_train["neuroid_id"].values, dtype=str)[order])
        return Score(float(np.nanmedian(r)), float("nan"), r[None, :], units, attrs)


class CrossRegressedCorrelation:
    """`metric(source, target) -> Score` with source `presentation × neuroid` model features and
    target the repetition-averaged recordings (`presentation × neuroid`), both keyed by stimulus_id."""

    def __init__(
        self,
        regression: str,
        *,
        stratification_coord: str | None = "object_name",
        n_splits: int = 10,
        train_size: float = 0.9,
        random_state: int = 1,
    ) -> None:
        self.regression = regression
        self.stratification_coord = stratification_coord
        self.n_splits = n_splits
        self.train_size = train_size
        self.random_state = random_state
        self.progress = None  # progress(stage, done, total): splits done (components, for the lockstep pls)

    def params(self) -> dict:
        return {
            "regression": self.regression,
            "stratification_coord": self.stratification_coord,
            "n_splits": self.n_splits,
            "train_size": self.train_size,
            "random_state": self.random_state,
        }

    def _report(self, stage: str, total: int):
        return (lambda done: self.progress(stage, done, total)) if self.progress else (lambda done: None)

    def __call__(self, source: xr.DataArray, target: xr.DataArray) -> Score:
        check_model_against_data(source, target)
        target_ids = np.asarray(target["stimulus_id"].values, dtype=str)
        n = len(target_ids)
        if n - int(np.floor(self.train_size * n)) < 2:  # test stimuli per split, as scikit-learn counts them
            raise UserInputError(
                f"{n} stimuli are too few for {self.n_splits} splits of {self.train_size:.0%} train",
                field="stimulus_id",
                fix="score on a benchmark with more stimuli",
            )
        check_features(source, self.regression)
        labels = stratification_labels(target, self.stratification_coord)
        source_rows = {sid: i for i, sid in enumerate(np.asarray(source["stimulus_id"].values, dtype=str))}
        neuroid_order = np.argsort(np.asarray(target["neuroid_id"].values, dtype=str), kind="stable")
        X_all = np.asarray(source.transpose("presentation", "neuroid").values)
        Y_all = np.asarray(target.transpose("presentation", "neuroid").values)[:, neuroid_order]
        splits = []
        for train, test in cv_splits(
            n, labels, n_splits=self.n_splits, train_size=self.train_size, random_state=self.random_state
        ):
            train_rows = train[np.argsort(target_ids[train], kind="stable")]  # fitted sorted by stimulus_id
            test_rows = test[np.argsort(target_ids[test], kind="stable")]
            splits.append((train_rows, test_rows))
        source_index = np.array([source_rows[s] for s in target_ids])
        if self.regression == "pls":  # every split at once, sharing the passes over the features
            Y_by_source = np.empty_like(Y_all)
            Y_by_source[source_index] = Y_all
            predictions = cross_validated_pls(
                X_all,
                Y_by_source,
                [(source_index[tr], source_index[te]) for tr, te in splits],
                n_components=PLS_COMPONENTS,
                on_component=self._report(f"pls: {len(splits)} splits, components", PLS_COMPONENTS),
            )
            raw = [pearson_per_column(Y_all[te], pred) for (_, te), pred in zip(splits, predictions)]
        else:
            report, raw = self._report(f"{self.regression}: splits", len(splits)), []
            for tr, te in splits:
                model = REGRESSIONS[self.regression]
                raw.append(
                    _fit_predict_correlate(model, X_all[source_index[tr]], Y_all[tr], X_all[source_index[te]], Y_all[te])[0]
                )
                report(len(raw))
        units = tuple(np.asarray(target["neuroid_id"].values, dtype=str)[neuroid_order])
        return aggregate_splits(np.array(raw, dtype=np.float64), units, **self.params())
