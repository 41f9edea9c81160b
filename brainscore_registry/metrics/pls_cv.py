"""Cross-validated PLS with every split fitted in lockstep: the same numbers as fitting
`PLSRegression(25, scale=False)` split by split (see `pls.ExactPLS`), with the work shared.

All splits are row subsets of one feature matrix X, so (shared/notes/pls-exact-fast.md §g):
- X is centred once with the all-rows mean μ, in float64 one block of rows at a time (the float64
  copy never exists whole, which keeps peak memory under twice the features);
- split s's start matrix C_0 = X_0ᵀY_0 = X̃ᵀỸ − X̃[te]ᵀỸ[te] − n_tr·dx·dyᵀ costs one shared GEMM plus
  a small one over its test rows, where dx, dy are the split's train means minus the global ones;
- the two passes over X per component (scores t = X_k w and loadings X_kᵀt) are one skinny GEMM for
  all splits, one column per split; X_k and Y_k are never formed
  (X_k w = X_0 w − T Pᵀw, X_kᵀt = X_0ᵀt − P Tᵀt, and likewise for Y);
- C_k = C_0 − P diag(s) Qᵀ stays implicit; N = C_kᵀC_k is updated by a rank-2 formula.
scikit-learn's checks on Y_k's columns (near-zero columns zeroed, start column) are decided exactly on
Y_0 and certified afterwards by tracking each column's residual norm; a split whose certificate is
inconclusive is refitted on its own with `ExactPLS`, which follows scikit-learn step by step. When
X's residual vanishes (more components than rank), both stop extracting components (see `pls.vanished`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from .pls import EPS, ExactPLS, coefficients, power_method, svd_flip, vanished
from .pls import predict as pls_predict

BLOCK_BYTES = 512 << 10  # a block that stays in the L2 cache, when it holds enough rows
MIN_BLOCK_ROWS = 32  # fewer rows per block make each product a sliver: then the block grows past the cache
MIN_BUDGET = 32 << 20  # below this, fixed costs dominate: small problems are not worth grouping
MEMORY_VARIABLE = "BSR_MEMORY_GB"
"""Environment variable: the working memory (GB) pls may use beyond its inputs; default twice the features."""


def working_memory(features_bytes: int) -> int:
    """The working-memory budget: $BSR_MEMORY_GB when set (a positive number of GB), else twice the
    features, at least MIN_BUDGET. More memory lets more splits share each pass over the features."""
    import os

    from ..errors import UserInputError

    given = os.environ.get(MEMORY_VARIABLE)
    if given is None:
        return max(2 * features_bytes, MIN_BUDGET)
    try:
        gigabytes = float(given)
    except ValueError:
        gigabytes = float("nan")
    if not gigabytes > 0 or gigabytes == float("inf"):
        raise UserInputError(
            f"{MEMORY_VARIABLE}={given!r} is not a positive number of GB",
            field=MEMORY_VARIABLE,
            fix=f"set {MEMORY_VARIABLE} to e.g. 2 (GB), or unset it for twice the features",
        )
    return max(int(gigabytes * 2**30), MIN_BUDGET)


def block_bytes_for(n_units: int, budget: int) -> int:
    """Bytes per block of float64 rows: the cache-sized block when it holds MIN_BLOCK_ROWS rows, else
    MIN_BLOCK_ROWS rows (at most a sixteenth of the budget): a wide layer gets thick blocks, not one
    row at a time."""
    row = 8 * n_units
    return int(max(BLOCK_BYTES, min(MIN_BLOCK_ROWS * row, budget // 16)))
CERTAIN = 1e-10  # relative error bound on a tracked residual column norm


class CentredRows:
    """X − μ in float64, computed one block of rows at a time inside each product: the float64 copy
    never exists whole, and a block small enough for the cache makes the conversion nearly free."""

    def __init__(self, X: np.ndarray, mu: np.ndarray, block_bytes: int = BLOCK_BYTES) -> None:
        self.X, self.mu = X, mu
        self.rows = max(1, block_bytes // (8 * X.shape[1]))
        self._buffer = np.empty((self.rows, X.shape[1]))

    def _blocks(self, index: np.ndarray | None):
        n = len(self.X) if index is None else len(index)
        for start in range(0, n, self.rows):
            rows = slice(start, min(start + self.rows, n))
            source = self.X[rows] if index is None else self.X[index[rows]]
            block = self._buffer[: len(source)]
            np.subtract(source, self.mu, out=block, dtype=np.float64)
            yield rows, block

    def matmul(self, W: np.ndarray) -> np.ndarray:
        """(X − μ) W."""
        out = np.empty((len(self.X), W.shape[1]))
        for rows, block in self._blocks(None):
            np.matmul(block, W, out=out[rows])
        return out

    def rmatmul(self, T: np.ndarray, index: np.ndarray | None = None) -> np.ndarray:
        """(X[index] − μ)ᵀ T (all rows when index is None), T with one row per selected row of X."""
        out = np.zeros((self.X.shape[1], T.shape[1]))
        for rows, block in self._blocks(index):
            out += block.T @ T[rows]
        return out


@dataclass
class _Split:
    """One split's NIPALS state; the residual matrices are implicit (see the module docstring)."""

    train: np.ndarray
    test: np.ndarray
    x_mean: np.ndarray  # the train means, as scikit-learn's x_mean_ and y_mean_
    y_mean: np.ndarray
    x_offset: np.ndarray  # the train means minus the all-rows means the shared products centre with
    y_offset: np.ndarray
    C0: np.ndarray
    alive: np.ndarray  # columns of Y_0 that scikit-learn does not zero
    norms: np.ndarray  # ‖Y_k[:, c]‖², tracked
    n_components: int
    W: np.ndarray = None
    P: np.ndarray = None
    Q: np.ndarray = None
    T: np.ndarray = None
    s: np.ndarray = None
    N: np.ndarray = None
    k: int = 0
    w: np.ndarray = None
    status: str = "active"  # active | done | refit
    n_iter: list = field(default_factory=list)

    def __post_init__(self) -> None:
        p, q = self.C0.shape
        K = self.n_components
        self.W, self.P, self.Q = np.zeros((p, K)), np.zeros((p, K)), np.zeros((q, K))
        self.T, self.s = np.zeros((len(self.train), K)), np.zeros(K)
        self.C0[:, ~self.alive] = 0.0
        self.N = self.C0.T @ self.C0
        self.norms0 = self.norms.copy()

    def choose_weights(self, max_iter: int, tol: float) -> None:
        """The power method's converged weights for component k, or a change of status."""
        v = power_direction(self, max_iter, tol)
        if v is None:
            if self.status == "done":
                self.finish()
            return
        self.w = svd_flip(self.C(v))

    def C(self, v: np.ndarray) -> np.ndarray:
        """C_k v without forming C_k = C_0 − P diag(s) Qᵀ."""
        k = self.k
        return self.C0 @ v - self.P[:, :k] @ (self.s[:k] * (self.Q[:, :k].T @ v))

    def scores(self, Xw: np.ndarray) -> np.ndarray:
        """t = X_k w from (X − μ) w over all rows."""
        k = self.k
        return Xw[self.train] - (self.x_offset @ self.w) - self.T[:, :k] @ (self.P[:, :k].T @ self.w)

    def deflate(self, t: np.ndarray, Xt: np.ndarray, Yt: np.ndarray) -> None:
        """Record component k from its scores t, (X − μ)ᵀt and Y_trainᵀt, and update N."""
        k = self.k
        s = t @ t
        if vanished(s, self.s[0] if k else None):
            self.finish()
            return
        Tt = self.T[:, :k].T @ t
        g = Xt - self.x_offset * t.sum() - self.P[:, :k] @ Tt
        f = (Yt - self.y_offset * t.sum() - self.Q[:, :k] @ Tt) * self.alive
        a = self.C0.T @ g - self.Q[:, :k] @ (self.s[:k] * (self.P[:, :k].T @ g))
        self.N += (-(np.outer(a, f) + np.outer(f, a)) + (g @ g) * np.outer(f, f) / s) / s
        self.W[:, k], self.P[:, k], self.Q[:, k], self.T[:, k], self.s[k] = self.w, g / s, f / s, t, s
        self.norms = self.norms - f * f / s
        self.k += 1
        if self.k == self.n_components:
            self.finish()

    def finish(self) -> None:
        self.status, self.C0, self.N = "done", None, None  # C_0 is only needed while fitting

    def predict(self, X: np.ndarray) -> np.ndarray:
        return pls_predict(X[self.test], self.x_mean, coefficients(self.W, self.P, self.Q), self.y_mean)


def power_direction(state, max_iter: int, tol: float) -> np.ndarray | None:
    """The q-space direction v of component k's weights (x weights = C_k v) for a split state of either
    form (`norms`, `norms0`, `alive`, `N`, `train`, `k`, `n_iter`, `status`); None with the status set
    to `refit` when a tracked column norm cannot certify scikit-learn's column check, or to `done` when
    Y's residual is constant."""
    floor = len(state.train) * (10 * EPS) ** 2  # below: every |y| < 10 eps, scikit-learn zeroes the column
    slack = CERTAIN * state.norms0
    if np.any(state.alive & (np.abs(state.norms - floor) <= slack)) or np.any(state.alive & (state.norms < floor)):
        state.status = "refit"  # a column may have just died: let ExactPLS follow scikit-learn exactly
        return None
    if not state.alive.any():
        warnings.warn(f"y residual is constant at iteration {state.k}", stacklevel=4)
        state.status = "done"
        return None
    j = int(np.flatnonzero(state.alive)[0])
    v, iterations = power_method(state.N, j, state.norms[j], max_iter, tol)
    state.n_iter.append(iterations)
    return v


def _start(
    X: np.ndarray, Y: np.ndarray, Yc: np.ndarray, rows: CentredRows, shared: np.ndarray, train, test, n_components
) -> _Split:
    """A split's start state; `shared` is (X − μ)ᵀ[Y − ν, 𝟙] over all rows."""
    Y_train = np.asarray(Y[train], dtype=np.float64)
    y_mean = Y_train.mean(axis=0)
    Y_train -= y_mean  # Y_0, centred as scikit-learn does, so its column checks are decided exactly
    alive = ~np.all(np.abs(Y_train) < 10 * EPS, axis=0)
    norms = np.where(alive, np.einsum("ij,ij->j", Y_train, Y_train), 0.0)
    del Y_train
    # C_0 = X_0ᵀY_0 = shared − X̃[te]ᵀỸ[te] − n_tr·dx·dyᵀ, built in place (peak memory)
    C0 = rows.rmatmul(np.column_stack([Yc[test], np.ones(len(test))]), index=test)
    np.subtract(shared, C0, out=C0)
    x_offset = C0[:, -1] / len(train)  # the last column sums X̃ over the train rows
    y_offset = Yc[train].mean(axis=0)
    C0 = C0[:, :-1]
    for chunk in range(0, len(C0), 1024):
        C0[chunk : chunk + 1024] -= np.multiply.outer(len(train) * x_offset[chunk : chunk + 1024], y_offset)
    return _Split(train, test, rows.mu + x_offset, y_mean, x_offset, y_offset, C0, alive, norms, n_components)


def primal_cross_validated_pls(
    X: np.ndarray,
    Y: np.ndarray,
    splits: list[tuple[np.ndarray, np.ndarray]],
    *,
    n_components: int = 25,
    max_iter: int = 500,
    tol: float = 1e-06,
    memory_budget: int | None = None,
    on_component=None,
) -> list[np.ndarray]:
    """Test-set predictions of `PLSRegression(n_components, scale=False)` fitted on each split's train
    rows of (X, Y), for every (train, test) pair of row indices; rows in the given order.

    Splits are fitted in lockstep groups sized so that the working memory stays within
    `memory_budget` bytes (default: `working_memory(X.nbytes)`: $BSR_MEMORY_GB, else twice the features, at least
    32 MiB); each extra group costs one more set of passes."""
    Y = checked_targets(X, Y, splits, n_components)
    n, p = X.shape
    budget = working_memory(X.nbytes) if memory_budget is None else memory_budget
    rows = CentredRows(X, X.mean(axis=0, dtype=np.float64), block_bytes_for(X.shape[1], budget))
    Yc = np.array(Y, dtype=np.float64)  # a copy: centred in place below
    Yc -= Yc.mean(axis=0)
    shared = rows.rmatmul(np.column_stack([Yc, np.ones(n)]))
    predictions = {}
    for group in _groups(len(splits), _group_size(X, Y, splits, n_components, budget, rows)):
        states = {i: _start(X, Y, Yc, rows, shared, *splits[i], n_components) for i in group}
        _fit_lockstep(list(states.values()), rows, Yc, max_iter, tol, on_component)
        for i, state in states.items():
            predictions[i] = _refit(X, Y, state, n_components, max_iter, tol) if state.status == "refit" else state.predict(X)
    return [predictions[i] for i in range(len(splits))]


def checked_targets(X: np.ndarray, Y: np.ndarray, splits, n_components: int) -> np.ndarray:
    """Y as `stimuli × targets`; n_components within what every split's training rows and the units allow."""
    Y = np.asarray(Y)
    n_train = min(len(train) for train, _ in splits)
    if not 1 <= n_components <= min(n_train, X.shape[1]):
        raise ValueError(f"n_components must be in [1, {min(n_train, X.shape[1])}], got {n_components}")
    return Y[:, None] if Y.ndim == 1 else Y


def _group_size(X, Y, splits, n_components: int, budget: int, rows: CentredRows) -> int:
    """How many splits fit in the memory budget at once: each holds C_0, W, P, T and N; fixed costs are
    the centred Y, the shared products, one split's start temporaries and the threads' row buffers."""
    (n, p), q = X.shape, Y.shape[1]
    per_split = 8 * (p * (q + 1) + 2 * p * n_components + n * n_components + q * q)
    fixed = 8 * (n * q + p * (q + 1) + 2 * n * q) + rows._buffer.nbytes
    return int(max(1, min(len(splits), (budget - fixed) // per_split)))


def _groups(count: int, largest: int) -> list[range]:
    n_groups = -(-count // largest)
    size = -(-count // n_groups)
    return [range(start, min(start + size, count)) for start in range(0, count, size)]


def _fit_lockstep(states: list[_Split], rows: CentredRows, Yc: np.ndarray, max_iter: int, tol: float, on_component=None) -> None:
    """Every component of every split: weights per split, then the two passes over X for all at once."""
    while active := [state for state in states if state.status == "active"]:
        for state in active:
            state.choose_weights(max_iter, tol)
        active = [state for state in active if state.status == "active"]
        if not active:
            break
        Xw = rows.matmul(np.column_stack([state.w for state in active]))
        scores = [state.scores(Xw[:, i]) for i, state in enumerate(active)]
        T = np.zeros((len(Yc), len(active)))
        for i, (state, t) in enumerate(zip(active, scores)):
            T[state.train, i] = t
        Xt = rows.rmatmul(T)
        Yt = Yc.T @ T
        for i, (state, t) in enumerate(zip(active, scores)):
            state.deflate(t, Xt[:, i], Yt[:, i])
        if on_component:
            on_component(max(state.k for state in states))


def _refit(X, Y, state: _Split, n_components: int, max_iter: int, tol: float) -> np.ndarray:
    model = ExactPLS(n_components, max_iter, tol).fit(X[state.train], Y[state.train])
    state.n_iter = model.n_iter_
    return model.predict(X[state.test])
