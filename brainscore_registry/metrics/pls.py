"""Exact PLS regression, fast: scikit-learn's NIPALS (`PLSRegression(n_components, scale=False)`)
reproduced iterate for iterate, without its passes over the n×p data inside the power method.

Mathematics (derivation in shared/notes/pls-exact-fast.md). With residuals X_k (n×p), Y_k (n×q),
C = X_kᵀY_k (p×q) and N = CᵀC (q×q), every power-method step multiplies by C or Cᵀ and a positive
scalar, so the weight iterates are xw_i = ρ_i·C h_i / ‖C h_i‖ with h_1 = e_j, h_{i+1} = N h_i, where
j is the first column of Y_k with any |y| > eps. Hence:
- ρ_1 = √N_jj / (√N_jj + eps·‖y_j‖²) exactly; ρ_i (i ≥ 2) = 1 − O(eps) and is taken as 1;
- the convergence test ‖xw_i − xw_{i−1}‖² < tol is δᵀNδ with δ = v_i − v_{i−1}, v = ρh/√(hᵀNh):
  one q×q product per iteration instead of two passes over X;
- deflation never forms X_k: X_k w = X_0 w − T(Pᵀw), X_kᵀt = X_0ᵀt − P(Tᵀt), and
  C_{k+1} = C_k − g fᵀ/s with g = X_kᵀt, f = Y_kᵀt, s = tᵀt.
Predictions are invariant to any per-component scale or sign, so these O(eps) differences cannot
move them; scikit-learn's checks on Y_k (near-zero columns zeroed, start column, constant residual)
and its float32 rounding in `predict` are copied.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.linalg import pinv

EPS = np.finfo(np.float64).eps
VANISHED = 1e-20  # s_k / s_0 below this: X's residual is rounding noise


class ExactPLS:
    """Drop-in for `sklearn.cross_decomposition.PLSRegression(n_components, scale=False)` fit/predict."""

    def __init__(self, n_components: int = 25, max_iter: int = 500, tol: float = 1e-06) -> None:
        self.n_components, self.max_iter, self.tol = n_components, max_iter, tol

    def fit(self, X: np.ndarray, Y: np.ndarray) -> "ExactPLS":
        X0 = np.array(X, dtype=np.float64)
        Y = np.array(Y, dtype=np.float64)
        Y = Y[:, None] if Y.ndim == 1 else Y
        n, p = X0.shape
        q = Y.shape[1]
        if not 1 <= self.n_components <= min(n, p):
            raise ValueError(f"n_components must be in [1, {min(n, p)}], got {self.n_components}")
        self._x_mean, self._y_mean = X0.mean(axis=0), Y.mean(axis=0)
        X0 -= self._x_mean
        Yk = Y - self._y_mean
        C = X0.T @ Yk
        W, P, Q, T = (
            np.zeros((p, self.n_components)),
            np.zeros((p, self.n_components)),
            np.zeros((q, self.n_components)),
            np.zeros((n, self.n_components)),
        )
        self.n_iter_ = []
        for k in range(self.n_components):
            dead = np.all(np.abs(Yk) < 10 * EPS, axis=0)
            Yk[:, dead] = 0.0
            C[:, dead] = 0.0
            start = np.flatnonzero(np.any(np.abs(Yk) > EPS, axis=0))
            if start.size == 0:
                warnings.warn(f"y residual is constant at iteration {k}", stacklevel=2)
                break
            v, iterations = power_method(C.T @ C, start[0], Yk[:, start[0]] @ Yk[:, start[0]], self.max_iter, self.tol)
            self.n_iter_.append(iterations)
            w = svd_flip(C @ v)
            t = X0 @ w - T[:, :k] @ (P[:, :k].T @ w)
            s = t @ t
            if vanished(s, T[:, 0] @ T[:, 0] if k else None):
                break
            g = X0.T @ t - P[:, :k] @ (T[:, :k].T @ t)
            f = Yk.T @ t
            W[:, k], P[:, k], Q[:, k], T[:, k] = w, g / s, f / s, t
            Yk -= np.outer(t, f / s)
            C -= np.outer(g, f) / s
        self.x_weights_, self.x_loadings_, self.y_loadings_ = W, P, Q
        self.coef_ = coefficients(W, P, Q).T
        self.intercept_ = self._y_mean
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        X = np.array(X, dtype=X.dtype if np.asarray(X).dtype in (np.float32, np.float64) else np.float64)
        return predict(X, self._x_mean, self.coef_.T, self.intercept_)


def vanished(s: float, s_first: float | None, threshold: float = VANISHED) -> bool:
    """True when X's residual is rounding noise (n_components > rank of X): scikit-learn would go on
    fitting that noise, which no one can reproduce (its predictions move by O(1) with the BLAS); we warn
    and leave the remaining components out, which gives the rank-limited fit."""
    if s > threshold * (s_first if s_first is not None else s + 1.0) and s > 0:
        return False
    warnings.warn("X residual vanished: n_components exceeds the rank of the features; later components left out", stacklevel=3)
    return True


def power_method(N: np.ndarray, j: int, y_start_norm2: float, max_iter: int, tol: float) -> tuple[np.ndarray, int]:
    """scikit-learn's power method for the first singular vectors, run in q-space: returns v with
    converged x weights = C v, and the iteration count. N = CᵀC; j is the start column of Y_k; one q×q
    matrix-vector product per iteration (Nδ = Nv_i − Nv_{i−1} reuses the products)."""
    with np.errstate(invalid="ignore", divide="ignore"):  # N ≈ 0 once X's residual vanished: NaN, caught by `vanished`
        return _power_method(N, j, y_start_norm2, max_iter, tol)


def _power_method(N: np.ndarray, j: int, y_start_norm2: float, max_iter: int, tol: float) -> tuple[np.ndarray, int]:
    q = N.shape[0]
    scale = 1.0 / (np.sqrt(N[j, j]) + EPS * y_start_norm2)  # v_1 = ρ_1 e_j / ‖C e_j‖, ρ_1 exact
    v_prev = np.zeros(q)
    v_prev[j] = scale
    Nv_prev = N[:, j] * scale
    iterations = 1
    if q > 1:  # check 1 never passes for q > 1: ‖xw_1 − 100·𝟙‖² > tol
        h = N[:, j] / np.linalg.norm(N[:, j])
        for iterations in range(2, max_iter + 1):
            Nh = N @ h
            norm = np.sqrt(h @ Nh)
            v, Nv = h / norm, Nh / norm
            converged = (v - v_prev) @ (Nv - Nv_prev) < tol
            v_prev, Nv_prev = v, Nv
            if converged:
                break
            h = Nh / np.linalg.norm(Nh)
    return v_prev, iterations


def svd_flip(w: np.ndarray) -> np.ndarray:
    """scikit-learn's `_svd_flip_1d`: the largest-|w| entry made positive."""
    return w * np.sign(w[np.argmax(np.abs(w))])


def coefficients(W: np.ndarray, P: np.ndarray, Q: np.ndarray) -> np.ndarray:
    """`p × q` regression coefficients W·pinv(PᵀW)·Qᵀ (scipy's pinv, as scikit-learn)."""
    return W @ pinv(P.T @ W, check_finite=False) @ Q.T


def predict(X: np.ndarray, x_mean: np.ndarray, coef: np.ndarray, y_mean: np.ndarray) -> np.ndarray:
    """(X − x̄)·coef + ȳ, with X − x̄ rounded to X's dtype as scikit-learn's in-place `X -= x_mean` does."""
    centred = np.subtract(X, x_mean, dtype=np.float64).astype(X.dtype if X.dtype == np.float32 else np.float64, copy=False)
    return centred @ coef + y_mean
