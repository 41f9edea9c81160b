"""Cross-validated PLS in kernel form, for layers with more units than stimuli: the same iterates as
`pls_cv` (scikit-learn's NIPALS, `PLSRegression(n_components, scale=False)`), with every p-vector
kept as a combination of the split's centred training rows, so that the features are read once.

Why it is exact. Every weight, score and loading of NIPALS lies in the row space of the split's
centred training features X_0 = H X̃[tr] (H centres the n_tr rows; X̃ = X − μ): C_0 = X_0ᵀY_0, and
each later vector is C_k v or X_kᵀt. So w = X_0ᵀa, p = X_0ᵀa_p with n_tr-vectors a, and every product
the primal form takes over p units becomes one with the train Gram matrix K_0 = X_0X_0ᵀ = H K[tr,tr] H,
where K = X̃X̃ᵀ (n × n) is computed once, in float64, a block of units at a time:
- N = C_0ᵀC_0 = Y_0ᵀK_0Y_0, and the power method runs in q-space exactly as in `pls.power_method`;
- w = C_k v ↦ a_w = Y_0 v − A_P (s ∘ Qᵀv); t = X_k w = K_0 a_w − T (A_Pᵀ K_0 a_w);
- g = X_kᵀt ↦ a_g = t − A_P (Tᵀt); f = Y_kᵀt; N's rank-2 update needs C_kᵀg = Y_0ᵀK_0a_g − Q s (A_PᵀK_0a_g)
  and g·g = a_gᵀK_0a_g;
- predictions: (X̃[te] − m) W = K̄[te,tr] A_W with K̄ the cross Gram centred by the train mean m, and
  PᵀW = A_PᵀK_0A_W, so coef never exists in unit space.
scikit-learn flips each weight's sign (`_svd_flip_1d`); predictions are invariant to a component's
sign and scale (pls.py), so the kernel form does not flip. The numbers differ from the primal form by
rounding only (≤ 1e-9 on scores; tests/test_pls_kernel.py). scikit-learn's `predict` rounds float32
test features minus the train mean to float32 (pls.predict copies it): for float32 features the
centred test × train products are therefore formed from the units, rounded as scikit-learn rounds
them (one more n_te × n_tr × p product per split, about the Gram matrix's cost over all splits);
without it, scores would differ by up to 5e-9.

Cost: one n × n × p product (the Gram matrix, plus that second one for float32) instead of 2 passes
over the n × p features per component per split group; memory: the n × n Gram matrix, each split's
n_tr × n_tr centred copy and one float64 block of units.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.linalg import pinv

from .compute import torch_device
from .pls import EPS, vanished
from .pls_cv import _refit, checked_targets, power_direction, working_memory

VANISHED_KERNEL = 1e-14
"""s_k / s_0 below this: X's residual is rounding noise. Higher than the primal form's 1e-20 because
products with the Gram matrix square the features' scale: rounding leaves t ~ 1e-10 of t_1 (s ~ 1e-20
of s_1), where the primal form leaves ~1e-16. A real component carries far more than 1e-14 of the
first one's variance."""
GRAM_BLOCK_BYTES = 64 << 20
"""Largest float64 block of centred units held while forming the Gram matrix (bounded by the budget)."""


def gram(X: np.ndarray, mu: np.ndarray, block_bytes: int = GRAM_BLOCK_BYTES) -> np.ndarray:
    """K = (X − μ)(X − μ)ᵀ in float64, summed over blocks of units: the centred copy never exists whole."""
    n, p = X.shape
    columns = max(1, min(p, block_bytes // (8 * n)))
    K = np.zeros((n, n))
    block = np.empty((n, columns))
    for start in range(0, p, columns):
        stop = min(start + columns, p)
        part = block[:, : stop - start]
        np.subtract(X[:, start:stop], mu[start:stop], out=part, dtype=np.float64)
        K += part @ part.T
    return K


def _centred(K: np.ndarray) -> np.ndarray:
    """H K H: a Gram matrix of rows centred by their own mean."""
    row = K.mean(axis=1)
    return K - row[:, None] - row[None, :] + row.mean()


@dataclass
class _KernelSplit:
    """One split's NIPALS state in the span of its centred training rows (see the module docstring)."""

    train: np.ndarray
    test: np.ndarray
    K0: np.ndarray  # H K[tr, tr] H
    Y0: np.ndarray  # Y[tr] minus its train mean, scikit-learn's columns zeroed
    y_mean: np.ndarray
    alive: np.ndarray
    n_components: int
    norms: np.ndarray = None
    A_W: np.ndarray = None
    A_P: np.ndarray = None
    Q: np.ndarray = None
    T: np.ndarray = None
    s: np.ndarray = None
    N: np.ndarray = None
    k: int = 0
    status: str = "active"  # active | done | refit
    n_iter: list = field(default_factory=list)

    def __post_init__(self) -> None:
        n, q, K = len(self.train), self.Y0.shape[1], self.n_components
        self.Y0[:, ~self.alive] = 0.0
        self.norms = np.where(self.alive, np.einsum("ij,ij->j", self.Y0, self.Y0), 0.0)
        self.norms0 = self.norms.copy()
        self.A_W, self.A_P, self.T = np.zeros((n, K)), np.zeros((n, K)), np.zeros((n, K))
        self.Q, self.s = np.zeros((q, K)), np.zeros(K)
        self.K0Y0 = self.K0 @ self.Y0
        self.N = self.Y0.T @ self.K0Y0

    def step(self, max_iter: int, tol: float) -> None:
        """Component k: the power method's weights, then scores, loadings and the deflation of N."""
        v = power_direction(self, max_iter, tol)
        if v is None:
            return
        k, A_P, T, Q, s = self.k, self.A_P[:, : self.k], self.T[:, : self.k], self.Q[:, : self.k], self.s[: self.k]
        a_w = self.Y0 @ v - A_P @ (s * (Q.T @ v))
        K0a_w = self.K0 @ a_w
        t = K0a_w - T @ (A_P.T @ K0a_w)
        t_dot = t @ t
        if vanished(t_dot, self.s[0] if k else None, VANISHED_KERNEL):
            self.status = "done"
            return
        Tt = T.T @ t
        a_g = t - A_P @ Tt
        f = (self.Y0.T @ t - Q @ Tt) * self.alive
        K0a_g = self.K0 @ a_g
        a = self.Y0.T @ K0a_g - Q @ (s * (A_P.T @ K0a_g))
        self.N += (-(np.outer(a, f) + np.outer(f, a)) + (a_g @ K0a_g) * np.outer(f, f) / t_dot) / t_dot
        self.A_W[:, k], self.A_P[:, k], self.Q[:, k], self.T[:, k], self.s[k] = a_w, a_g / t_dot, f / t_dot, t, t_dot
        self.norms = self.norms - f * f / t_dot
        self.k += 1
        if self.k == self.n_components:
            self.status = "done"

    def predict(self, K: np.ndarray, centred: np.ndarray | None = None) -> np.ndarray:
        """Test predictions from the full Gram matrix K = X̃X̃ᵀ, or from the given centred test × train
        products (X[te] − x̄)(X̃[tr] − m)ᵀ."""
        k = self.k
        A_W, A_P, Q = self.A_W[:, :k], self.A_P[:, :k], self.Q[:, :k]
        if centred is None:
            train_rows = K[np.ix_(self.train, self.train)].mean(axis=1)  # x̃_i · m, m the train mean
            cross = K[np.ix_(self.test, self.train)]
            test_rows = cross.mean(axis=1)
            centred = cross - test_rows[:, None] - train_rows[None, :] + train_rows.mean()  # (x̃_te − m)(x̃_tr − m)ᵀ
        PW = A_P.T @ (self.K0 @ A_W)
        return centred @ (A_W @ (pinv(PW, check_finite=False) @ Q.T)) + self.y_mean


def kernel_cross_validated_pls(
    X: np.ndarray,
    Y: np.ndarray,
    splits: list[tuple[np.ndarray, np.ndarray]],
    *,
    n_components: int = 25,
    max_iter: int = 500,
    tol: float = 1e-06,
    block_bytes: int | None = None,
    on_component=None,
) -> list[np.ndarray]:
    """Test-set predictions of `PLSRegression(n_components, scale=False)` per (train, test) split, as
    `pls_cv.primal_cross_validated_pls` gives them, computed from the stimuli's Gram matrix."""
    Y = checked_targets(X, Y, splits, n_components)
    if block_bytes is None:  # a quarter of the budget (the float64 block and its products stay within it), ≤ 64 MiB
        block_bytes = min(GRAM_BLOCK_BYTES, max(1 << 20, working_memory(X.nbytes) // 8))
    mu = X.mean(axis=0, dtype=np.float64)
    device = torch_device()
    if device is not None:  # the same products with torch, on a GPU (compute.py)
        K, crosses = torch_gram_and_rounded_cross(X, mu, splits, block_bytes, device, rounded=X.dtype == np.float32)
    elif X.dtype == np.float32:  # scikit-learn's float32 rounding in predict, copied (module docstring)
        K, crosses = gram_and_rounded_cross(X, mu, splits, block_bytes)
    else:
        K, crosses = gram(X, mu, block_bytes), [None] * len(splits)
    states = []
    for train, test in splits:
        Y_train = np.asarray(Y[train], dtype=np.float64)
        y_mean = Y_train.mean(axis=0)
        Y_train -= y_mean
        alive = ~np.all(np.abs(Y_train) < 10 * EPS, axis=0)
        states.append(_KernelSplit(train, test, _centred(K[np.ix_(train, train)]), Y_train, y_mean, alive, n_components))
    for component in range(1, n_components + 1):
        for state in states:
            if state.status == "active":
                state.step(max_iter, tol)
        if on_component:
            on_component(component)
        if all(state.status != "active" for state in states):
            break
    return [
        _refit(X, Y, state, n_components, max_iter, tol) if state.status == "refit" else state.predict(K, cross)
        for state, cross in zip(states, crosses)
    ]


def gram_and_rounded_cross(
    X: np.ndarray, mu: np.ndarray, splits: list[tuple[np.ndarray, np.ndarray]], block_bytes: int
) -> tuple[np.ndarray, list[np.ndarray]]:
    """K = X̃X̃ᵀ and, per split, float32(X[te] − x̄) (X̃[tr] − m)ᵀ in float64: the test rows centred by
    the train mean x̄ = μ + m and rounded to float32 as scikit-learn's `predict` does, times the
    centred train rows; in one pass over blocks of units.

    Per block, the splits' train means come from one product with the train indicator matrix, and
    every split's rounded test rows, stacked, meet all rows in one product (the train columns and the
    mean term are taken out afterwards): three n-sized GEMMs per block, no per-split copies."""
    n, p = X.shape
    columns = max(1, min(p, block_bytes // (8 * 3 * n)))
    indicator = np.zeros((n, len(splits)))
    for i, (train, _) in enumerate(splits):
        indicator[train, i] = 1.0 / len(train)
    test_rows = np.concatenate([test for _, test in splits])
    owner = np.repeat(np.arange(len(splits)), [len(test) for _, test in splits])
    K = np.zeros((n, n))
    products = np.zeros((len(test_rows), n))  # stacked rounded test rows × every centred row
    mean_terms = np.zeros(len(test_rows))  # each rounded test row · its split's m
    for start in range(0, p, columns):
        stop = min(start + columns, p)
        block = np.subtract(X[:, start:stop], mu[start:stop], dtype=np.float64)  # X̃ for these units
        K += block @ block.T
        means = indicator.T @ block  # each split's m
        rounded = np.subtract(X[test_rows, start:stop], mu[start:stop] + means[owner], dtype=np.float64)
        rounded = rounded.astype(np.float32).astype(np.float64)
        products += rounded @ block.T
        mean_terms += np.einsum("ij,ij->i", rounded, means[owner])
    return K, split_crosses(products, mean_terms, splits)


def torch_gram_and_rounded_cross(
    X: np.ndarray, mu: np.ndarray, splits: list[tuple[np.ndarray, np.ndarray]], block_bytes: int, device: str, rounded: bool
) -> tuple[np.ndarray, list[np.ndarray | None]]:
    """`gram` (and, when `rounded`, `gram_and_rounded_cross`'s products) with torch in float64 on
    `device`: the same arithmetic, one block of units copied to the device at a time."""
    import torch

    n, p = X.shape
    columns = max(1, min(p, block_bytes // (8 * 3 * n)))
    indicator = torch.zeros((n, len(splits)), dtype=torch.float64, device=device)
    for i, (train, _) in enumerate(splits):
        indicator[torch.as_tensor(train, device=device), i] = 1.0 / len(train)
    test_rows = torch.as_tensor(np.concatenate([test for _, test in splits]), device=device)
    owner = torch.as_tensor(np.repeat(np.arange(len(splits)), [len(test) for _, test in splits]), device=device)
    mu_device = torch.as_tensor(mu, dtype=torch.float64, device=device)
    K = torch.zeros((n, n), dtype=torch.float64, device=device)
    products = torch.zeros((len(test_rows), n), dtype=torch.float64, device=device)
    mean_terms = torch.zeros(len(test_rows), dtype=torch.float64, device=device)
    for start in range(0, p, columns):
        stop = min(start + columns, p)
        raw = torch.as_tensor(np.ascontiguousarray(X[:, start:stop]), device=device).to(torch.float64)
        block = raw - mu_device[start:stop]
        K += block @ block.T
        if rounded:
            means = indicator.T @ block
            rows = (raw[test_rows] - (mu_device[start:stop] + means[owner])).to(torch.float32).to(torch.float64)
            products += rows @ block.T
            mean_terms += (rows * means[owner]).sum(dim=1)
    K_host = K.cpu().numpy()
    if not rounded:
        return K_host, [None] * len(splits)
    return K_host, split_crosses(products.cpu().numpy(), mean_terms.cpu().numpy(), splits)


def split_crosses(products: np.ndarray, mean_terms: np.ndarray, splits) -> list[np.ndarray]:
    """Each split's centred test × train products, from the stacked test rows' products with every row."""
    crosses, offset = [], 0
    for train, test in splits:
        rows = slice(offset, offset + len(test))
        crosses.append(products[rows][:, train] - mean_terms[rows, None])
        offset += len(test)
    return crosses
