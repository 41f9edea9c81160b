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
        eps = np.finfo(np.float64).eps
        C = X0.T @ Yk
        W, P, Q, T = (
            np.zeros((p, self.n_components)),
            np.zeros((p, self.n_components)),
            np.zeros((q, self.n_components)),
            np.zeros((n, self.n_components)),
        )
        self.n_iter_ = []
        for k in range(self.n_components):
            dead = np.all(np.abs(Yk) < 10 * eps, axis=0)
            Yk[:, dead] = 0.0
            C[:, dead] = 0.0
            start = np.flatnonzero(np.any(np.abs(Yk) > eps, axis=0))
            if start.size == 0:
                warnings.warn(f"y residual is constant at iteration {k}", stacklevel=2)
                break
            w = self._first_weights(C, Yk[:, start[0]], start[0], q)
            w *= np.sign(w[np.argmax(np.abs(w))])  # scikit-learn's _svd_flip_1d
            t = X0 @ w - T[:, :k] @ (P[:, :k].T @ w)
            s = t @ t
            g = X0.T @ t - P[:, :k] @ (T[:, :k].T @ t)
            f = Yk.T @ t
            W[:, k], P[:, k], Q[:, k], T[:, k] = w, g / s, f / s, t
            Yk -= np.outer(t, f / s)
            C -= np.outer(g, f) / s
        self.x_weights_, self.x_loadings_, self.y_loadings_ = W, P, Q
        self.coef_ = (W @ pinv(P.T @ W, check_finite=False) @ Q.T).T
        self.intercept_ = self._y_mean
        return self

    def _first_weights(self, C: np.ndarray, y_start: np.ndarray, j: int, q: int) -> np.ndarray:
        """The converged x weights of scikit-learn's power method, computed in q-space with one q×q
        matrix-vector product per iteration (Nδ = Nv_i − Nv_{i−1} reuses the products)."""
        eps = np.finfo(np.float64).eps
        N = C.T @ C
        scale = 1.0 / (np.sqrt(N[j, j]) + eps * (y_start @ y_start))  # v_1 = ρ_1 e_j / ‖C e_j‖
        v_prev = np.zeros(q)
        v_prev[j] = scale
        Nv_prev = N[:, j] * scale
        iterations = 1
        if q > 1:  # check 1 never passes for q > 1: ‖xw_1 − 100·𝟙‖² > tol
            h = N[:, j] / np.linalg.norm(N[:, j])
            for iterations in range(2, self.max_iter + 1):
                Nh = N @ h
                norm = np.sqrt(h @ Nh)
                v, Nv = h / norm, Nh / norm
                converged = (v - v_prev) @ (Nv - Nv_prev) < self.tol
                v_prev, Nv_prev = v, Nv
                if converged:
                    break
                h = Nh / np.linalg.norm(Nh)
        self.n_iter_.append(iterations)
        return C @ v_prev

    def predict(self, X: np.ndarray) -> np.ndarray:
        X = np.array(X, dtype=X.dtype if np.asarray(X).dtype in (np.float32, np.float64) else np.float64)
        X -= self._x_mean  # in place: float32 input is rounded to float32 here, as scikit-learn does
        return X @ self.coef_.T + self.intercept_
