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
    """``permutations`` rows of ``k`` distinct integers in [0, n_pool), each a uniform ordered sample.

    Partial Fisher–Yates on one pool array that is never reset: each row starts from whatever
    permutation the previous row left, which does not bias the uniform k-prefix.  O(k) per row.
    """
    np.random.seed(seed)
    pool = np.arange(n_pool).astype(np.int32)
    out = np.empty((permutations, k), np.int32)
    for p in range(permutations):
        for a in range(k):
            j = np.random.randint(a, n_pool)
            t = pool[a]
            pool[a] = pool[j]
            pool[j] = t
            out[p, a] = pool[a]
    return out


@numba.njit(parallel=True, cache=True)
def _crand_kernel(y, indptr, indices, data, rows, shifts, obs):
    n = len(y)
    P = rows.shape[0]
    upper = np.zeros(n, np.int64)
    lower = np.zeros(n, np.int64)
    s1 = np.zeros(n)
    s2 = np.zeros(n)
    n1 = n - 1
    ymax = np.abs(y).max()
    for i in numba.prange(n):
        a = indptr[i]
        k = indptr[i + 1] - a
        sh = shifts[i]
        o = obs[i]
        wsum = 0.0
        for j in range(k):
            wsum += data[a + j]
        # a tolerance keeps ties (e.g. all-zero neighbourhoods) counted on both sides
        tol = 1e-12 * (abs(o) + wsum * ymax + 1e-300)
        hi = o - tol
        lo_ = o + tol
        up = 0
        lo = 0
        m1 = 0.0
        m2 = 0.0
        for p in range(P):
            t = 0.0
            for j in range(k):
                v = rows[p, j] + sh
                v -= n1 * (v >= n1)
                v += v >= i
                t += data[a + j] * y[v]
            up += t >= hi
            lo += t <= lo_
            m1 += t
            m2 += t * t
        upper[i] = up
        lower[i] = lo
        s1[i] = m1
        s2[i] = m2
    return upper, lower, s1, s2


@numba.njit(parallel=True, cache=True)
def _shared_counts(y, obs, tol, c, kk, S, S_sorted, S1, S2, rows, occ_ptr, occ_p, occ_j):  # noqa: PLR0913 -- numba kernel: arrays passed explicitly
    """Counts for rows with one constant weight ``c_i`` on ``k_i`` neighbours (see caller)."""
    n = len(y)
    P = S.shape[0]
    upper = np.zeros(n, np.int64)
    lower = np.zeros(n, np.int64)
    s1 = np.zeros(n)
    s2 = np.zeros(n)
    for i in numba.prange(n):
        k = kk[i]
        ci = c[i]
        col = k - 1
        hi = (obs[i] - tol[i]) / ci
        lo = (obs[i] + tol[i]) / ci
        up = P - np.searchsorted(S_sorted[:, col], hi)
        low = np.searchsorted(S_sorted[:, col], lo, side="right")
        m1 = S1[col]
        m2 = S2[col]
        for t in range(occ_ptr[i], occ_ptr[i + 1]):
            if occ_j[t] >= k:
                continue
            p = occ_p[t]
            old = S[p, col]
            new = old - y[i] + y[rows[p, k]]
            up += (new >= hi) - (old >= hi)
            low += (new <= lo) - (old <= lo)
            m1 += new - old
            m2 += new * new - old * old
        upper[i] = up
        lower[i] = low
        s1[i] = m1 * ci
        s2[i] = m2 * ci * ci
    return upper, lower, s1, s2


def _constant_row_weights(off: sp.csr_matrix) -> np.ndarray | None:
    """Each row's single off-diagonal weight when every row has one value (binary, row-standardised)."""
    if off.nnz == 0:
        return None
    rmax = np.maximum.reduceat(off.data, off.indptr[:-1])
    rmin = np.minimum.reduceat(off.data, off.indptr[:-1])
    if np.all(rmax - rmin <= 1e-12 * rmax):
        return rmax
    return None


def shared_draw_counts(y: np.ndarray, off: sp.csr_matrix, c: np.ndarray, rows: np.ndarray):
    """Tail counts and sums of the shared-draw scheme (see :func:`conditional_permutation`).

    ``rows`` (P × (k_max+1)) holds distinct cell indices per draw; ``c`` the per-row weight.
    Returns ``(upper, lower, s1, s2)``: #sims ≥ obs, #sims ≤ obs (with a 1e-12 relative
    tolerance), and the sum and sum of squares of the simulated weighted sums.
    """
    n = len(y)
    kk = np.diff(off.indptr).astype(np.int64)
    kmax = int(kk.max())
    obs = off @ y
    S = np.cumsum(y[rows[:, :kmax]], axis=1)  # S[p, k-1] = sum of the first k draws
    S_sorted = np.sort(S, axis=0)
    S1 = S.sum(axis=0)
    S2 = (S * S).sum(axis=0)
    flat = rows.ravel()
    order = np.argsort(flat, kind="stable")
    occ_p = (order // (kmax + 1)).astype(np.int64)
    occ_j = (order % (kmax + 1)).astype(np.int64)
    occ_ptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(flat, minlength=n), out=occ_ptr[1:])
    tol = 1e-12 * (np.abs(obs) + c * kk * np.abs(y).max() + 1e-300)
    return _shared_counts(y, obs, tol, np.asarray(c, float), kk, S, S_sorted, S1, S2, rows,
                          occ_ptr, occ_p, occ_j)


def conditional_permutation(y: np.ndarray, off: sp.csr_matrix, permutations: int, seed,
                            method: str = "auto") -> dict:
    """Conditional randomisation of the neighbour sum ``Σ_{j≠i} w_ij y_j``.

    For each cell ``i`` its own value stays fixed and its ``k_i`` neighbours receive ``k_i``
    distinct values drawn without replacement from the other ``n − 1`` cells.

    As in esda, one matrix of draws is shared by all cells.  When every row carries a single
    weight value (binary or row-standardised weights) each draw is ``k_max + 1`` distinct cells
    out of all ``n``; cell ``i`` uses the first ``k_i`` and, where it drew itself, the spare
    ``(k_i+1)``-th instead — still a uniform ``k_i``-subset of the others.  The shared prefix
    sums are then sorted once, so each cell's tail counts are two binary searches plus a
    correction for the ~``P·k/n`` draws that hit the cell itself: O(P·k + n log P) in all.
    Other (general) weights use a numba loop over cells × draws, where each cell also applies
    its own random cyclic shift to the pool.

    Returns two-sided pseudo p-values ``p = min(1, 2·(min(#sims ≥ obs, #sims ≤ obs) + 1) / (P + 1))``
    along with the mean and standard deviation of the simulated sums (``z_sim``).
    """
    n = len(y)
    P = int(permutations)
    if P < 1:
        raise ValueError("permutations must be >= 1")
    rng = np.random.default_rng(seed)
    kk = np.diff(off.indptr).astype(np.int64)
    kmax = int(kk.max())
    if kmax > n - 1:
        raise ValueError("w: a cell has more neighbours than there are other cells")
    obs = off @ y
    if method not in ("auto", "shared", "loop"):
        raise ValueError(f"method={method!r}: use 'auto', 'shared' or 'loop'")
    c = _constant_row_weights(off) if method != "loop" else None
    if method == "shared" and c is None:
        raise ValueError("method='shared' needs one weight value per row (binary or row-standardised)")
    y = np.ascontiguousarray(y, dtype=float)
    if c is not None:
        rows = _draw_rows(n, kmax + 1, P, int(rng.integers(0, 2**31 - 1)))
        up, lo, s1, s2 = shared_draw_counts(y, off, c, rows)
    else:
        rows = _draw_rows(n - 1, kmax, P, int(rng.integers(0, 2**31 - 1)))
        shifts = rng.integers(0, n - 1, size=n).astype(np.int64)
        up, lo, s1, s2 = _crand_kernel(y, off.indptr.astype(np.int64), off.indices.astype(np.int64),
                                       off.data.astype(float), rows, shifts, obs)
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


# ---------------------------------------------------------------------------- default inference
MAX_DRAW_CELLS = 30_000_000
"""Cap on P × (k_max + 1) for the automatic permutation count (memory of the shared draws)."""
MAX_TAIL_INFLATION = 1.25
"""Largest tolerated ratio (true / normal) of the tail probability at the BH single-cell cut."""
INFERENCE_CHOICES = ("auto", "analytic", "permutation")


def normal_tail_inflation(y: np.ndarray, off: sp.csr_matrix, n: int, alpha: float) -> tuple[float, float, float]:
    """How far the normal tail is off where BH decides, for the neighbour sum under randomisation.

    The conditional null of cell ``i``'s neighbour sum is (nearly) a sum of ``k_i`` independent
    draws from ``y``: its skewness is ``γ = skew(y)/√k`` (median ``k``).  At the two-sided
    Benjamini–Hochberg cut for a single discovery, ``z* = Φ⁻¹(1 − α/(2n))``, the first
    Edgeworth/Cornish–Fisher term makes the true upper tail ``1 + γ·z*·(z*² − 1)/6`` times the
    normal one.  Returns ``(ratio, γ, z*)``.
    """
    from scipy import stats as _st

    yc = y - y.mean()
    sd = float(np.sqrt((yc @ yc) / n))
    skew = float((yc**3).mean() / sd**3) if sd > 0 else float("inf")
    k = float(np.median(np.diff(off.indptr)))
    g = abs(skew) / np.sqrt(max(k, 1.0))
    zc = float(_st.norm.isf(alpha / (2.0 * n)))
    return 1.0 + g * zc * (zc * zc - 1.0) / 6.0, g, zc


def auto_permutations(n: int, kmax: int, alpha: float) -> int:
    """Draws so that BH at ``alpha`` can flag a single cell: two-sided ``p_min = 2/(P+1) < α/n``,
    i.e. ``P + 1 ≥ 4n/α`` (twice the bare minimum), at least 9,999, capped so that the shared
    draw matrix holds at most :data:`MAX_DRAW_CELLS` entries."""
    want = int(np.ceil(4.0 * n / alpha)) - 1
    cap = MAX_DRAW_CELLS // (kmax + 1)
    return int(max(MIN_PERMUTATIONS_FDR, min(want, cap)))


def choose_inference(y: np.ndarray, off: sp.csr_matrix, alpha: float, inference: str,
                     permutations) -> tuple[str, int, str]:
    """``(inference, permutations, reason)`` for Gi* / local Moran.

    * ``permutations`` given as an int (legacy API): 0 → analytic, else that many draws.
    * ``inference="analytic"`` / ``"permutation"``: as asked (permutation count automatic
      unless given).
    * ``inference="auto"`` (default): analytic only when the normal tail is accurate at the
      BH cut (:func:`normal_tail_inflation` ≤ :data:`MAX_TAIL_INFLATION`); otherwise — sparse or
      skewed counts, i.e. nearly all crime counts — conditional permutation with
      :func:`auto_permutations` draws.
    """
    n = len(y)
    if inference not in INFERENCE_CHOICES:
        raise ValueError(f"inference={inference!r}: use one of {', '.join(INFERENCE_CHOICES)}")
    kmax = int(np.diff(off.indptr).max())
    if permutations is not None:
        permutations = int(permutations)
        if permutations < 0:
            raise ValueError(f"permutations={permutations}: must be >= 0")
    if inference == "analytic" or (inference == "auto" and permutations == 0):
        return "analytic", 0, "requested (permutations=0)" if inference == "auto" else "requested"
    if inference == "permutation" or (inference == "auto" and permutations):
        if permutations:
            return "permutation", permutations, "requested"
        return "permutation", auto_permutations(n, kmax, alpha), "requested; draws chosen for BH at this n"
    ratio, g, zc = normal_tail_inflation(y, off, n, alpha)
    if ratio <= MAX_TAIL_INFLATION:
        return "analytic", 0, (f"auto: normal tail accurate at the BH cut z*={zc:.2f} "
                               f"(neighbour-sum skewness {g:.3f}, tail ratio {ratio:.2f} ≤ {MAX_TAIL_INFLATION})")
    P = auto_permutations(n, kmax, alpha)
    return "permutation", P, (f"auto: normal approximation fails at the BH cut z*={zc:.2f} "
                              f"(neighbour-sum skewness {g:.3f}, true/normal tail ≈ {ratio:.1f}× > "
                              f"{MAX_TAIL_INFLATION}); {P} conditional permutations")


def window_permutation(y: np.ndarray, k_window: np.ndarray, obs: np.ndarray, permutations: int,
                       seed) -> dict:
    """Randomisation test of an equal-weight window sum (Gi* with self weight = neighbour weight).

    Under the null every set of ``k_window[i]`` cells is equally likely to hold cell ``i``'s
    window, so the window sum (self included) is compared with sums of ``k_window[i]`` distinct
    cells drawn from all ``n``.  Unlike :func:`conditional_permutation` the cell's own value is
    not held fixed, which is the Gi* statistic's own null and keeps the power of the self term.
    One matrix of ``P × max(k)`` draws is shared; per cell two binary searches in the sorted
    prefix sums.  ``obs`` is the window sum divided by the common weight.
    """
    n = len(y)
    P = int(permutations)
    kk = np.asarray(k_window, np.int64)
    kmax = int(kk.max())
    rng = np.random.default_rng(seed)
    rows = _draw_rows(n, kmax, P, int(rng.integers(0, 2**31 - 1)))
    S = np.cumsum(np.ascontiguousarray(y, float)[rows], axis=1)
    del rows
    tol = 1e-12 * (np.abs(obs) + kk * np.abs(y).max() + 1e-300)
    up = np.empty(n, np.int64)
    lo = np.empty(n, np.int64)
    mean = np.empty(n)
    sd = np.empty(n)
    for k in np.unique(kk):
        col = np.sort(S[:, k - 1])
        m = kk == k
        up[m] = P - np.searchsorted(col, obs[m] - tol[m])
        lo[m] = np.searchsorted(col, obs[m] + tol[m], side="right")
        mean[m] = col.mean()
        sd[m] = col.std()
    p = np.minimum(1.0, 2.0 * (np.minimum(up, lo) + 1) / (P + 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        z_sim = np.where(sd > 0, (obs - mean) / sd, 0.0)
    return {"p": p, "z_sim": z_sim, "mean": mean, "sd": sd, "upper": up, "lower": lo, "obs": obs}


def weights_exposure(w, n: int) -> np.ndarray | None:
    """The per-cell exposure a weights matrix carries (``w.exposure``, set by
    :func:`hotspot.binning.city_ring_weights`), when it has one of length ``n``; else None."""
    e = getattr(w, "exposure", None)
    if e is None or np.ndim(e) != 1 or len(e) != n:
        return None
    return np.asarray(e, float)
