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

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from ..errors import UserInputError, preview
from .contract import MAX_SEED, MAX_SPLITS, Metric, coordinate_parameter, fraction_parameter, int_parameter
from .correlation import pearson_r
from .data import check_model_against_data, sort_by_stimulus, stratification_labels
from .score import Score, aggregate_splits
from .splits import SplitError, shuffle_splits, stratified_shuffle_splits

if TYPE_CHECKING:
    import xarray as xr

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
    import scipy.linalg

    xm, ym = x - x.mean(axis=0, keepdims=True), y - y.mean(axis=0, keepdims=True)
    normalized_x = xm / scipy.linalg.norm(xm, axis=0, keepdims=True)
    normalized_y = ym / scipy.linalg.norm(ym, axis=0, keepdims=True)
    return (normalized_x * normalized_y).sum(axis=0)


class MinNormLinearRegression:
    """Ordinary least squares, min-norm when features outnumber stimuli. Quirk followed: the reference
    ran scikit-learn 1.5, whose `scipy.linalg.lstsq` cut singular values at machine epsilon of the data's
    dtype; scikit-learn >= 1.7 cuts at `tol=1e-6`, which changes underdetermined solutions a lot.
    (A wrapper, not a subclass, so that scikit-learn is imported only when a model is fitted.)"""

    def fit(self, X: np.ndarray, y: np.ndarray) -> "MinNormLinearRegression":
        from sklearn.linear_model import LinearRegression

        self.model_ = LinearRegression()
        self.model_.tol = float(np.finfo(np.asarray(X).dtype if np.asarray(X).dtype.kind == "f" else np.float64).eps)
        self.model_.fit(X, y)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.model_.predict(X)


def ridge_alpha_grid() -> list[float]:
    """The reference's RidgeCV grid (99 alphas): 0.01, 0.1, 0.5, 1, then evenly spaced grids per decade
    (4 values in [10, 100), 18 in each decade up to 1e6, and 19 from 1e6 to 1e7 inclusive)."""
    grid = [0.01, 0.1, 0.5, 1.0, *np.linspace(1e1, 1e2, 4, endpoint=False)]
    for low in (1e2, 1e3, 1e4, 1e5):
        grid += list(np.linspace(low, low * 10, 18, endpoint=False))
    return [float(a) for a in [*grid, *np.linspace(1e6, 1e7, 19)]]


def exact_pls() -> object:
    """scikit-learn's NIPALS iterates, without its passes over X (see pls.py)."""
    from .pls import ExactPLS

    return ExactPLS(n_components=PLS_COMPONENTS)


def ridge() -> object:
    from sklearn.linear_model import Ridge

    return Ridge(alpha=1)


def ridge_cv() -> object:
    """One alpha for all targets, chosen by generalised cross-validation."""
    from sklearn.linear_model import RidgeCV

    return RidgeCV(alphas=ridge_alpha_grid(), store_cv_results=False)


REGRESSIONS: dict[str, Callable[[], object]] = {
    "pls": exact_pls,
    "ridge": ridge,
    "linear": MinNormLinearRegression,
    "neuron_to_neuron": NeuronToNeuron,
}
SPLIT_REGRESSIONS: dict[str, Callable[[], object]] = {
    "pls": REGRESSIONS["pls"],
    "ridge": REGRESSIONS["ridge"],
    "ridgecv": ridge_cv,
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
    """The reference's splits: stratified by `labels` when given (see splits.py)."""
    kwargs = dict(n_splits=n_splits, train_size=train_size, test_size=test_size, random_state=random_state)
    try:
        if labels is None:
            return list(shuffle_splits(n, **kwargs))
        return list(stratified_shuffle_splits(labels, **kwargs))
    except SplitError as exc:  # too few stimuli, or an object with a single stimulus
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


def check_target_values(target: xr.DataArray) -> None:
    """A regression fits every neuroid from every stimulus: a stimulus without any value for a neuroid
    (all its repetitions missing) has nothing to fit. scikit-learn refuses NaN targets (so the reference
    fails there); PLS's shared components would spread it to every neuroid. Refused, naming them."""
    values = np.asarray(target.transpose("presentation", "neuroid").values)
    if values.dtype.kind != "f":
        return
    missing = np.isnan(values)
    if missing.any():
        neuroids = np.asarray(target["neuroid_id"].values)[missing.any(axis=0)] if "neuroid_id" in target.coords else []
        raise UserInputError(
            f"the data have no value at all for {int(missing.sum())} stimulus × neuroid pair(s), in neuroid(s) "
            f"{preview(neuroids)}: a regression cannot fit a missing target",
            field="neuroid_id",
            fix="leave those neuroids (or stimuli) out of the benchmark's data, or use a metric that skips them (rdm, cka)",
        )


def pearson_per_column(target: np.ndarray, prediction: np.ndarray) -> np.ndarray:
    """`scipy.stats.pearsonr` per neuroid (its vectorised arithmetic, see correlation.py); a constant
    column gives NaN, excluded later by the NaN-skipping median, as in the reference."""
    dtype = np.result_type(target.dtype, prediction.dtype)
    return np.asarray(pearson_r(target.astype(dtype), prediction.astype(dtype)), dtype=np.float64)


def _fit_predict_correlate(make_model, X_train, Y_train, X_test, Y_test) -> tuple[np.ndarray, object]:
    model = make_model()
    model.fit(X_train, Y_train)
    return pearson_per_column(Y_test, np.asarray(model.predict(X_test))), model


def _by_stimulus(assembly: xr.DataArray, neuroid_order: np.ndarray | None = None) -> np.ndarray:
    values = np.asarray(sort_by_stimulus(assembly).transpose("presentation", "neuroid").values)
    return values if neuroid_order is None else values[:, neuroid_order]


class TrainTestSplitCorrelation(Metric):
    """`metric(source_train, source_test, target_train, target_test) -> Score` for benchmarks with a
    fixed train/test split: fit on train (rows sorted by stimulus_id), per-neuroid r on test, median."""

    source_kind = "features_train_test"
    target_kind = "recordings_train_test"

    def __init__(self, regression: str) -> None:
        self.regression = regression

    def __call__(  # type: ignore[override]  # two parts of each side, see the contract
        self, source_train: xr.DataArray, source_test: xr.DataArray, target_train: xr.DataArray, target_test: xr.DataArray
    ) -> Score:
        check_model_against_data(source_train, target_train)
        check_model_against_data(source_test, target_test)
        check_features(source_train, self.regression)
        check_target_values(target_train)
        check_target_values(target_test)
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


class CrossRegressedCorrelation(Metric):
    """`metric(source, target) -> Score` with source `presentation × neuroid` model features and
    target the repetition-averaged recordings (`presentation × neuroid`), both keyed by stimulus_id.
    `progress` hears of splits done (of components, for the lockstep pls)."""

    source_kind = "features"
    target_kind = "recordings"

    def __init__(
        self,
        regression: str,
        *,
        stratification_coord: str | None = "object_name",
        n_splits: int = 10,
        train_size: float = 0.9,
        random_state: int = 1,
    ) -> None:
        owner = f"metric {regression!r}"
        self.regression = regression
        self.stratification_coord = coordinate_parameter(owner, "stratification_coord", stratification_coord)
        self.n_splits = int_parameter(owner, "n_splits", n_splits, 2, MAX_SPLITS)
        self.train_size = fraction_parameter(owner, "train_size", train_size)
        self.random_state = int_parameter(owner, "random_state", random_state, 0, MAX_SEED)

    def __call__(self, source: xr.DataArray, target: xr.DataArray) -> Score:
        source_index = check_model_against_data(source, target)
        target_ids = np.asarray(target["stimulus_id"].values, dtype=str)
        n = len(target_ids)
        if n - int(np.floor(self.train_size * n)) < 2:  # test stimuli per split, as scikit-learn counts them
            raise UserInputError(
                f"{n} stimuli are too few for {self.n_splits} splits of {self.train_size:.0%} train",
                field="stimulus_id",
                fix="score on a benchmark with more stimuli",
            )
        check_features(source, self.regression)
        check_target_values(target)
        labels = stratification_labels(target, self.stratification_coord)
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
        if self.regression == "pls":  # every split at once, sharing the passes over the features
            from .pls_forms import cross_validated_pls

            Y_by_source = np.empty_like(Y_all)
            Y_by_source[source_index] = Y_all
            predictions = cross_validated_pls(
                X_all,
                Y_by_source,
                [(source_index[tr], source_index[te]) for tr, te in splits],
                n_components=PLS_COMPONENTS,
                on_component=self.report(f"pls: {len(splits)} splits, components", PLS_COMPONENTS),
            )
            raw = [pearson_per_column(Y_all[te], pred) for (_, te), pred in zip(splits, predictions)]
        else:
            report, raw, fitted = self.report(f"{self.regression}: splits", len(splits)), [], []
            for tr, te in splits:
                make = REGRESSIONS[self.regression]
                r, model = _fit_predict_correlate(make, X_all[source_index[tr]], Y_all[tr], X_all[source_index[te]], Y_all[te])
                raw.append(r)
                fitted.append(model)
                report(len(raw))
        units = tuple(np.asarray(target["neuroid_id"].values, dtype=str)[neuroid_order])
        attrs = self.params()
        if self.regression == "linear":
            attrs["conditioning"] = least_squares_conditioning(fitted, X_all.shape[1], len(splits[0][0]), X_all.dtype)
        return aggregate_splits(np.array(raw, dtype=np.float64), units, **attrs)

    def conditioning_note(self, n_stimuli: int) -> str | None:
        """When this metric's numbers stop being determined by the data (None: never, on this shape)."""
        if self.regression != "linear":
            return None
        n_train = int(np.floor(self.train_size * n_stimuli))
        return (
            f"linear (min-norm least squares) is ill-posed for models giving {n_train} or more features (the training "
            f"stimuli of each split) or rank-deficient ones: its scores then depend on the BLAS kernel and thread count "
            f"(up to 0.27 apart between OpenBLAS's Haswell and SkylakeX kernels on the parity fixtures), so compare them "
            f"only from one machine, or use ridge or pls"
        )


def least_squares_conditioning(models: list, n_features: int, n_train: int, dtype: np.dtype) -> dict:
    """Whether the least-squares fits were well posed, from each split's singular values of the centred
    training features. Ill-posed: at least as many features as training stimuli (the centred matrix's rank
    is below the feature count, and which near-zero singular values survive the reference's machine-epsilon
    cutoff is decided by rounding), or a smallest singular value below √eps of the largest (numerically
    rank-deficient, e.g. constant units). Either way the min-norm solution amplifies rounding noise, and the
    scores depend on the BLAS kernel and thread count."""
    ratios = []
    for model in models:
        singular = np.asarray(model.model_.singular_, dtype=np.float64)
        ratios.append(float(singular.min() / singular.max()) if singular.size and singular.max() > 0 else 0.0)
    smallest = min(ratios)
    threshold = float(np.sqrt(np.finfo(dtype if np.dtype(dtype).kind == "f" else np.float64).eps))
    report = {"well_posed": n_features < n_train and smallest >= threshold, "features": n_features}
    report.update(train_stimuli=n_train, smallest_singular_ratio=smallest, threshold=threshold)
    if n_features >= n_train:
        report["reason"] = f"linear is ill-posed here: {n_features} features for {n_train} training stimuli per split"
    elif smallest < threshold:
        report["reason"] = (
            f"linear is ill-conditioned here: the training features' smallest singular value is {smallest:.1e} of the "
            f"largest (below √eps = {threshold:.1e}); some units are constant or linearly dependent"
        )
    return report
