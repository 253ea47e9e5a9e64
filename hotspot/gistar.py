"""Getis–Ord local Gi* (and Gi) with analytic or permutation inference and Benjamini–Hochberg FDR."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy import stats

from qauipsiz.hotspot._inference import (
    bh_adjust,
    check_neighbours,
    check_w,
    check_y,
    choose_inference,
    conditional_permutation,
    esri_bins,
    split_diagonal,
    warn_permutations,
    weights_exposure,
    window_permutation,
)

AUTO_SEED = 20240514
"""Seed of automatically chosen permutations when the caller gives none."""


@dataclass
class GiStarResult:
    """Result of :func:`gi_star`; every array has one value per cell, in the order of ``y``.

    Attributes
    ----------
    z : ndarray
        Gi* z-score (analytic, Getis & Ord 1992 / Ord & Getis 1995); equals esda's ``Zs``.
    p : ndarray
        Two-sided p-value: normal (analytic) or permutation pseudo p-value.
    q : ndarray
        Benjamini–Hochberg adjusted ``p`` over all cells.
    bin : ndarray of int8
        −3..3: ±3/±2/±1 where ``q`` < 0.01/0.05/0.10 (Esri's 99/95/90 % confidence bins, after
        FDR), sign of ``z``; 0 elsewhere.
    significant : ndarray of bool
        ``q < alpha``.
    z_sim : ndarray or None
        With permutations: (observed − mean of simulated) / sd of simulated neighbour sums.
    """

    z: np.ndarray
    p: np.ndarray
    q: np.ndarray
    bin: np.ndarray
    significant: np.ndarray
    star: bool
    alpha: float
    permutations: int
    inference: str
    z_sim: np.ndarray | None = None
    params: dict = field(default_factory=dict)
    reason: str = ""
    min_count: int = 0

    @property
    def n(self) -> int:
        """Number of cells."""
        return len(self.z)

    def summary(self) -> dict:
        """Counts of hot/cold cells per bin (int keys) and which inference ran and why
        (``"inference"``, ``"permutations"``, ``"min_count"``, ``"reason"``)."""
        u, c = np.unique(self.bin, return_counts=True)
        out: dict = {int(a): int(b) for a, b in zip(u, c, strict=True)}
        out.update(inference=self.inference, permutations=int(self.permutations),
                   min_count=int(self.min_count), reason=self.reason)
        return out


def prepare_weights(w, n: int, star: bool) -> sp.csr_matrix:
    """Validated CSR weights with the diagonal set for Gi* (``star``) or removed for Gi.

    When ``star`` and the diagonal is all zero, a self-weight is added: 1 for binary weights
    (as esda's ``transform='B'``), else the row's largest weight.
    """
    w = check_w(w, n)
    off, d = split_diagonal(w)
    check_neighbours(off)
    if not star:
        return off
    if (d == 0).all():
        binary = off.nnz == 0 or np.all(off.data == 1.0)
        d = np.ones(n) if binary else np.asarray(off.max(axis=1).todense()).ravel()
    return sp.csr_matrix(off + sp.diags(d, format="csr"))


def _equal_window_weight(wp: sp.csr_matrix) -> float | None:
    """The single weight of a Gi* window matrix whose entries (diagonal included) are all equal."""
    if wp.nnz and np.all(wp.data == wp.data[0]):
        return float(wp.data[0])
    return None


def window_binomial_p(y: np.ndarray, wp: sp.csr_matrix, c: float,
                      exposure: np.ndarray | None = None) -> np.ndarray:
    """Two-sided exact p of each Gi* window count under complete spatial randomness.

    Given the total ``N`` of independent Poisson counts with means proportional to the cells'
    exposure ``e`` (equal when None), the count in a window is Binomial(N, Σ_window e / Σ e)
    exactly, at every sparsity; with equal exposure that is Binomial(N, m/n) for m of n cells.
    """
    n = len(y)
    N = round(y.sum())
    if exposure is None:
        share = np.diff(wp.indptr).astype(float) / n
    else:
        share = np.minimum(1.0, (wp @ exposure) / c / exposure.sum())
    obs = np.round((wp @ y) / c)
    return binomial_two_sided_p(obs, N, share)


def binomial_two_sided_p(obs: np.ndarray, N: int, share: np.ndarray) -> np.ndarray:
    """``min(1, 2·min(P(X ≥ obs), P(X ≤ obs)))`` for X ~ Binomial(N, share), elementwise.

    The same values as evaluating ``stats.binom.sf(obs - 1, N, share)`` and
    ``stats.binom.cdf(obs, N, share)`` for every cell, computed faster: each distinct
    (obs, share) pair once (many cells share a window count and a window share), and the
    second tail only where the first is not clearly the smaller (the two tails sum to
    1 + P(X = obs) ≥ 1, so a tail below 0.45 is the minimum).

    Parameters
    ----------
    obs : ndarray of float
        Window counts (integers, incidents).
    N : int
        Total count (incidents).
    share : ndarray of float
        Window probability in [0, 1] (unitless), one per ``obs``.
    """
    obs = np.asarray(obs, float)
    share = np.broadcast_to(np.asarray(share, float), obs.shape)
    key = np.empty(obs.shape, np.complex128)  # exact pairs: real = obs, imag = share
    key.real, key.imag = obs, share
    u, inv = np.unique(key, return_inverse=True)
    uo, us = u.real.copy(), u.imag.copy()
    upper_first = uo >= N * us  # at or above the mean: the upper tail is the small one
    first = np.empty(len(u))
    first[upper_first] = stats.binom.sf(uo[upper_first] - 1, N, us[upper_first])
    first[~upper_first] = stats.binom.cdf(uo[~upper_first], N, us[~upper_first])
    both = ~(first < 0.45)  # near the mean (or NaN): both tails, as before
    m = first.copy()
    if both.any():
        bu, bo, bs = upper_first[both], uo[both], us[both]
        up = np.where(bu, first[both], stats.binom.sf(bo - 1, N, bs))
        lo = np.where(bu, stats.binom.cdf(bo, N, bs), first[both])
        m[both] = np.minimum(up, lo)
    return np.minimum(1.0, 2.0 * m)[np.asarray(inv).ravel()]


def gi_z(y: np.ndarray, w: sp.csr_matrix, star: bool) -> np.ndarray:
    """Analytic Gi*/Gi z-scores for validated inputs (``w`` already prepared)."""
    n = len(y)
    wy = w @ y
    wi = np.asarray(w.sum(axis=1)).ravel()
    s1 = np.asarray(w.multiply(w).sum(axis=1)).ravel()
    if star:
        xbar = y.mean()
        s = np.sqrt(max((y @ y) / n - xbar**2, 0.0))
        num = wy - xbar * wi
        den = s * np.sqrt(np.maximum(n * s1 - wi**2, 0.0) / (n - 1))
    else:
        m = n - 1
        xbar = (y.sum() - y) / m
        s = np.sqrt(np.maximum((y @ y - y**2) / m - xbar**2, 0.0))
        num = wy - xbar * wi
        den = s * np.sqrt(np.maximum(m * s1 - wi**2, 0.0) / (m - 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(den > 0, num / den, 0.0)
    return z


def gi_star(y, w, *, star: bool = True, permutations: int | None = None, seed=None, alpha: float = 0.05,  # noqa: PLR0913 -- keyword-only options with defaults
            inference: str = "auto", min_count: int = 0, exposure=None, event_counts=None) -> GiStarResult:
    """Getis–Ord local G statistic: Gi* (``star=True``, self included) or Gi.

    Parameters
    ----------
    y : array-like, shape (n,)
        Value per cell (e.g. incident count or harm-weighted sum); n ≥ 30, not constant.
    w : scipy.sparse matrix, shape (n, n)
        Spatial weights, binary or general, non-negative.  With ``star`` the self-weight is
        included: a diagonal already present is used as is, an absent one is filled with 1 for
        binary weights (esda ``G_Local(..., star=True, transform='B')``) or the row's maximum
        weight otherwise.  Without ``star`` any diagonal is dropped.  Every cell needs at least
        one neighbour besides itself.
    star : bool
        Gi* (default) or Gi.
    permutations : int, optional
        None (default): chosen by ``inference``.  0: analytic normal p-values (as before).
        Otherwise the number of conditional-randomisation draws per cell (seeded, numba).
        Fewer than 9,999 emits :class:`FDRPermutationWarning` because pseudo p-values are then
        too coarse for FDR over many cells.
    seed : int, optional
        Seed for the permutations (same seed, same p-values).  When ``inference="auto"`` picks
        permutations and no seed is given, :data:`AUTO_SEED` is used so defaults are reproducible.
    alpha : float
        FDR level for ``significant`` (bins keep Esri's fixed 90/95/99 % meaning).
    inference : {"auto", "analytic", "permutation"}
        ``"auto"`` (default): for non-negative integer counts on equal-weight windows (binary
        ring / band weights), ``p = max(normal p, exact binomial p)`` of the window count given
        the total (``inference="binomial+analytic"``): the binomial term is exact under a
        homogeneous Poisson null at any sparsity, the normal term keeps overdispersed dense
        data as analytic Gi* treats them.  Other inputs: analytic p only where the normal tail is accurate at the BH cut
        for this n (see :func:`hotspot._inference.choose_inference`); otherwise — sparse or
        skewed counts — conditional permutation with enough draws for BH at this n
        (``P + 1 ≥ 4n/α`` up to a memory cap).  This keeps the share of null runs with any
        flagged cell ≤ α.  ``result.inference``, ``.permutations`` and ``.reason`` say what ran.
    min_count : int
        A hot cell (z > 0) is flagged only if its Gi* window (weights incl. self, times ``y``)
        sums to at least this; 0 (default) applies no floor.
    exposure : array-like, shape (n,), optional
        Relative expected count of each cell under the null (unitless, ≥ 0, e.g. the share of
        the cell's area inside the study polygon: :func:`hotspot.binning.city_cell_area_share`).
        Used by the exact binomial term of ``"binomial+analytic"`` inference, whose window
        probability becomes Σ_window e / Σ e: a boundary cell half outside the city then expects
        half the incidents, so uniform incidents do not light up the edge as cold spots.  None
        (default): ``w.exposure`` when the weights carry one of length n
        (:func:`hotspot.binning.city_ring_weights` does), else equal exposure.  z stays the
        textbook Gi* (esda parity).
    event_counts : array-like, shape (n,), optional
        Incidents per cell when ``y`` is not a count but a sum of weights (harm-weighted sums,
        which are integers for the shipped harm weights 1/5/30/90/270/810 and so look like
        counts).  With ``inference="auto"`` on equal-weight windows, ``p = max(normal p of y,
        exact binomial p of the window's incident count)``: valid under complete spatial
        randomness whatever the weights (the binomial term is exact), so one heavy incident in a
        quiet window is no hot spot.  Without it, integer weighted sums were tested as counts and
        uniform incidents flagged cells in 9 of 10 runs (Almaty res 8, 0.2 per cell).

    Returns
    -------
    GiStarResult
        ``z`` (analytic z), ``p`` (two-sided), ``q`` (BH), ``bin`` (−3..3), ``significant``.

    Raises
    ------
    ValueError
        Fewer than 30 cells, zero variance, non-finite values, a shape mismatch, negative
        weights, or a cell with no neighbours (named by index).
    """
    y = check_y(y)
    n = len(y)
    if not 0 < alpha < 1:
        raise ValueError(f"alpha={alpha}: must be in (0, 1)")
    min_count = int(min_count)
    wp = prepare_weights(w, n, star)
    off, _ = split_diagonal(wp)
    c_win = _equal_window_weight(wp) if star else None
    if event_counts is not None:
        event_counts = np.asarray(event_counts, float).ravel()
        if event_counts.shape != (n,) or not np.isfinite(event_counts).all() or (event_counts < 0).any() \
                or np.any(event_counts != np.round(event_counts)):
            raise ValueError(f"event_counts: need {n} non-negative integers (incidents per cell)")
    counts = bool(np.all(y >= 0) and np.all(y == np.round(y))) if event_counts is None else \
        bool(event_counts.sum() > 0)
    if exposure is None:
        exposure = weights_exposure(w, n)  # city weights know their cells' area inside the city
    if exposure is not None:
        exposure = np.asarray(exposure, float)
        if exposure.shape != (n,) or not np.isfinite(exposure).all() or (exposure < 0).any() \
                or exposure.sum() <= 0:
            raise ValueError(f"exposure: need {n} finite non-negative values with a positive sum")
    if inference == "auto" and permutations is None and c_win is not None and counts:
        inference, permutations = "binomial+analytic", 0
        reason = ("auto: integer counts on equal-weight windows: p = max(normal p, exact binomial p "
                  "of the window sum given the total count); valid for sparse Poisson counts "
                  "(binomial) and for dense or overdispersed ones (normal)")
        if event_counts is not None:
            reason = ("auto: weighted sums on equal-weight windows: p = max(normal p of the weighted "
                      "window sum, exact binomial p of the window's incident count given the total)")
    else:
        inference, permutations, reason = choose_inference(y, off, alpha, inference, permutations)
    if seed is None and reason.startswith("auto"):
        seed = AUTO_SEED  # the default output is reproducible
    z = gi_z(y, wp, star)
    z_sim = None
    if inference == "binomial+analytic" and c_win is not None:  # set above only with equal weights
        tested = y if event_counts is None else event_counts
        p = np.maximum(2.0 * stats.norm.sf(np.abs(z)), window_binomial_p(tested, wp, c_win, exposure))
    elif permutations and reason.startswith("auto") and c_win is not None:
        c = _equal_window_weight(wp)
        res = window_permutation(y, np.diff(wp.indptr), (wp @ y) / c, permutations, seed)
        p = res["p"]
        z_sim = res["z_sim"]
        reason += " of the whole Gi* window (self included)"
    elif permutations:
        warn_permutations(permutations, n)
        res = conditional_permutation(y, off, permutations, seed)
        p = res["p"]
        z_sim = res["z_sim"]
    else:
        p = 2.0 * stats.norm.sf(np.abs(z))
    q = bh_adjust(p)
    bins = esri_bins(z, q)
    sig = q < alpha
    if min_count > 0:
        low = (z > 0) & ((wp @ y) < min_count)
        bins[low] = 0
        sig &= ~low
    return GiStarResult(z=z, p=p, q=q, bin=bins, significant=sig, star=bool(star),
                        alpha=float(alpha), permutations=permutations, inference=inference, z_sim=z_sim,
                        reason=reason, min_count=min_count,
                        params={"n": n, "star": bool(star), "permutations": permutations, "seed": seed,
                                "alpha": float(alpha), "fdr": "benjamini-hochberg",
                                "inference": inference, "reason": reason, "min_count": min_count,
                                "min_bh_discoveries": min_bh_discoveries(n, permutations, alpha)})


def min_bh_discoveries(n: int, permutations: int, alpha: float) -> int:
    """Smallest set of cells BH at ``alpha`` can flag when the smallest p-value is 2/(P+1).

    A cell is flagged when ``q < alpha`` (strict), and r cells all at ``p_min`` get
    ``q = n·p_min/r``, so BH can flag them only if r > n·p_min/alpha; e.g. 201 cells for 50,000
    cells at 9,999 permutations and alpha 0.05 (200 cells give q = 0.05 exactly: not flagged).
    1 for analytic inference.  Counted in the same floating-point arithmetic as :func:`bh_adjust`.
    """
    if not permutations:
        return 1
    import math

    pmin = min(1.0, 2.0 / (permutations + 1))
    if pmin * n / n >= alpha:  # even all n cells at p_min cannot reach q < alpha
        return n + 1
    r = max(1, math.floor(n * pmin / alpha) + 1)
    while r > 1 and pmin * n / (r - 1) < alpha:
        r -= 1
    while pmin * n / r >= alpha:
        r += 1
    return r
