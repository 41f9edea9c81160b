"""Which form of cross-validated PLS a shape gets: the primal lockstep form (pls_cv.py) or the
kernel form (pls_kernel.py). Both give scikit-learn's numbers; they differ in what they cost."""

from __future__ import annotations

import numpy as np

from .pls_cv import primal_cross_validated_pls
from .pls_kernel import kernel_cross_validated_pls


def use_kernel(n_stimuli: int, n_units: int) -> bool:
    """The kernel form when units are at least twice the stimuli: forming the n × n Gram matrix then
    costs less than the primal form's passes over the units (2 per component), and its state is
    n-sized instead of p-sized per split."""
    return n_units >= 2 * n_stimuli


def cross_validated_pls(X: np.ndarray, Y: np.ndarray, splits: list[tuple[np.ndarray, np.ndarray]], **options) -> list[np.ndarray]:
    """Test-set predictions of `PLSRegression(n_components, scale=False)` per split, in the form the
    shape makes cheaper; the same numbers either way."""
    if use_kernel(*np.shape(X)):
        options.pop("memory_budget", None)
        return kernel_cross_validated_pls(X, Y, splits, **options)
    return primal_cross_validated_pls(X, Y, splits, **options)
