"""Pearson's r per column, with exactly `scipy.stats.pearsonr(x, y, axis=0).statistic`'s arithmetic
(SciPy 1.17), written here so that a metric that needs only r does not import `scipy.stats` (about
half a second, mostly spent parsing docstrings at import). `tests/test_correlation.py` checks bit
equality with SciPy on float32 and float64 columns, constant columns and NaN.

The steps, per column: the mean is subtracted; each centred column is divided by its largest absolute
value before its 2-norm is taken (so that huge values do not overflow), the norm rescaled; r is the dot
product of the two normalised columns, clipped to [−1, 1]; a constant column gives NaN.
"""

from __future__ import annotations

import numpy as np


def pearson_r(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """r between each column of `x` and the same column of `y` (both `observations × columns`)."""
    dtype = np.result_type(x.dtype, y.dtype)
    dtype = dtype if dtype.kind == "f" else np.dtype(np.float64)  # integers become float64, as SciPy promotes them
    x = np.moveaxis(np.asarray(x, dtype=dtype), 0, -1)
    y = np.moveaxis(np.asarray(y, dtype=dtype), 0, -1)
    const_x = np.all(x == x[..., 0:1], axis=-1)
    const_y = np.all(y == y[..., 0:1], axis=-1)
    constant = const_x | const_y
    if constant.any():
        x = np.where(const_x[..., np.newaxis], np.nan, x)
        y = np.where(const_y[..., np.newaxis], np.nan, y)
    with np.errstate(invalid="ignore", divide="ignore"):
        xm = x - np.mean(x, axis=-1, keepdims=True)
        ym = y - np.mean(y, axis=-1, keepdims=True)
        xmax = np.max(np.abs(xm), axis=-1, keepdims=True)
        ymax = np.max(np.abs(ym), axis=-1, keepdims=True)
        normxm = xmax * np.linalg.norm(xm / xmax, ord=2, axis=-1, keepdims=True)
        normym = ymax * np.linalg.norm(ym / ymax, ord=2, axis=-1, keepdims=True)
        r = np.vecdot(xm / normxm, ym / normym, axis=-1)
    r = np.clip(r, -1.0, 1.0)
    r[constant] = np.nan
    return r
