"""Private helpers shared by Gi* and local Moran: input checks, BH-FDR, Esri bins, permutations."""
from __future__ import annotations

import numba
import numpy as np
import scipy.sparse as sp

MIN_CELLS = 30
MIN_PERMUTATIONS_FDR = 9_999


class FDRPermutationWarning(UserWarning):
    """Permutation inference with too few draws for Benjamini–Hochberg FDR over many cells."""


def check_y(y, name: str = "y") -> np.ndarray:
    y = np.asarray(y, dtype=float)
    if y.ndim != 1:
        y = y.ravel() if y.ndim == 2 and 1 in y.shape else y
    if y.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array, got shape {np.shape(y)}")
    if len(y) < MIN_CELLS:
        raise ValueError(f"{name}: {len(y)} cells; local statistics need at least {MIN_CELLS}")
    bad = np.flatnonzero(~np.isfinite(y))
    if len(bad):
        raise ValueError(f"{name}: non-finite value at index {int(bad[0])} ({len(bad)} in all)")
    if np.ptp(y) == 0:
        raise ValueError(f"{name}: zero variance (every cell has the value {y[0]!r}); nothing to test")
    return y


def check_w(w, n: int) -> sp.csr_matrix:
    if not sp.issparse(w):
        raise ValueError(f"w: expected a scipy.sparse matrix, got {type(w).__name__}")
    if w.shape != (n, n):
        raise ValueError(f"w: shape {w.shape} does not match y of length {n}")
    w = sp.csr_matrix(w, dtype=float, copy=True)
    w.sum_duplicates()
    w.eliminate_zeros()
    if w.nnz and not np.isfinite(w.data).all():
        raise ValueError("w: non-finite weight")
    if w.nnz and (w.data < 0).any():
        raise ValueError("w: negative weight")
    return w


def split_diagonal(w: sp.csr_matrix) -> tuple[sp.csr_matrix, np.ndarray]:
    """(off-diagonal part, diagonal) of a CSR matrix."""
    d = w.diagonal().copy()
    off = w - sp.diags(d, format="csr")
    off = sp.csr_matrix(off)
    off.eliminate_zeros()
    off.sort_indices()
    return off, d


def check_neighbours(off: sp.csr_matrix) -> None:
    k = np.diff(off.indptr)
    iso = np.flatnonzero(k == 0)
    if len(iso):
        raise ValueError(f"w: cell {int(iso[0])} has no neighbours ({len(iso)} such cells: "
                         f"{iso[:10].tolist()}); use a larger ring/band or drop islands")


def bh_adjust(p) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (q-values), same order as ``p``."""
    p = np.asarray(p, float)
    n = len(p)
    if n == 0:
        return p.copy()
    order = np.argsort(p, kind="stable")
    ranked = p[order] * n / np.arange(1, n + 1)
    q = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(n)
    out[order] = np.minimum(q, 1.0)
    return out


def esri_bins(z, q) -> np.ndarray:
    """−3..3: sign of ``z`` times 3/2/1 where the FDR-adjusted ``q`` < 0.01/0.05/0.10 (99/95/90 %)."""
    z = np.asarray(z, float)
    q = np.asarray(q, float)
    level = np.where(q < 0.01, 3, np.where(q < 0.05, 2, np.where(q < 0.10, 1, 0)))
    return (np.sign(z).astype(np.int8) * level).astype(np.int8)


# ---------------------------------------------------------------------------- permutations
@numba.njit(cache=True)
def _draw_rows(n_pool: int, k: int, permutations: int, seed: int) -> np.ndarray:
    """``permutations`` rows of ``k`` distinct integers in [0, n_pool) (rejection sampling)."""
    np.random.seed(seed)
    out = np.empty((permutations, k), np.int32)
    for p in range(permutations):
        for a in range(k):
            while True:
                v = np.random.randint(0, n_pool)
                dup = False
                for b in range(a):
                    if out[p, b] == v:
                        dup = True
                        break
                if not dup:
                    out[p, a] = v
                    break
    return out


@numba.njit(parallel=True, cache=True)
def _crand_kernel(y, indptr, indices, data, rows, shifts, obs):
    n = len(y)
    P = rows.shape[0]
    upper = np.zeros(n, np.int64)
    lower = np.zeros(n, np.int64)
    s1 = np.zeros(n)
    s2 = np.zeros(n)
    for i in numba.prange(n):
        a = indptr[i]
        k = indptr[i + 1] - a
        sh = shifts[i]
        o = obs[i]
        up = 0
        lo = 0
        m1 = 0.0
        m2 = 0.0
        for p in range(P):
            t = 0.0
            for j in range(k):
                v = rows[p, j] + sh
                if v >= n - 1:
                    v -= n - 1
                if v >= i:
                    v += 1
                t += data[a + j] * y[v]
            # a tolerance keeps ties (e.g. all-zero neighbourhoods) counted on both sides
            tol = 1e-12 * (abs(o) + abs(t) + 1e-300)
            if t >= o - tol:
                up += 1
            if t <= o + tol:
                lo += 1
            m1 += t
            m2 += t * t
        upper[i] = up
        lower[i] = lo
        s1[i] = m1
        s2[i] = m2
    return upper, lower, s1, s2


def conditional_permutation(y: np.ndarray, off: sp.csr_matrix, permutations: int, seed) -> dict:
    """Conditional randomisation of the neighbour sum ``Σ_{j≠i} w_ij y_j``.

    For each cell ``i`` its own value stays fixed and its ``k_i`` neighbours receive ``k_i``
    distinct values drawn without replacement from the other ``n − 1`` cells.  As in esda, one
    matrix of draws is shared by all cells, but each cell applies its own random cyclic shift to
    the pool so different cells see different draws.

    Returns two-sided pseudo p-values ``p = min(1, 2·(min(#sims ≥ obs, #sims ≤ obs) + 1) / (P + 1))``
    along with the
    mean and standard deviation of the simulated sums.
    """
    n = len(y)
    if permutations < 1:
        raise ValueError("permutations must be >= 1")
    rng = np.random.default_rng(seed)
    kmax = int(np.diff(off.indptr).max())
    if kmax > n - 1:
        raise ValueError("w: a cell has more neighbours than there are other cells")
    rows = _draw_rows(n - 1, kmax, int(permutations), int(rng.integers(0, 2**31 - 1)))
    shifts = rng.integers(0, n - 1, size=n).astype(np.int64)
    obs = off @ y
    up, lo, s1, s2 = _crand_kernel(y.astype(float), off.indptr.astype(np.int64),
                                   off.indices.astype(np.int64), off.data.astype(float), rows, shifts, obs)
    P = int(permutations)
    p = np.minimum(1.0, 2.0 * (np.minimum(up, lo) + 1) / (P + 1))
    mean = s1 / P
    sd = np.sqrt(np.maximum(s2 / P - mean**2, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        z_sim = np.where(sd > 0, (obs - mean) / sd, 0.0)
    return {"p": p, "z_sim": z_sim, "mean": mean, "sd": sd, "upper": up, "lower": lo, "obs": obs}


def warn_permutations(permutations: int, n: int) -> None:
    if 0 < permutations < MIN_PERMUTATIONS_FDR:
        import warnings

        warnings.warn(
            f"{permutations} permutations: the smallest pseudo p-value is {2 / (permutations + 1):.2g} "
            f"(two-sided), so Benjamini–Hochberg over {n} cells can flag at most cells whose rank r "
            f"satisfies r/n·alpha ≥ that; use ≥ {MIN_PERMUTATIONS_FDR} permutations or analytic "
            f"inference (permutations=0) for FDR-adjusted q and bins",
            FDRPermutationWarning, stacklevel=3)
