"""Emerging hot spot analysis (as ArcGIS Pro's tool defines it) on a space-time cube.

1. **Space-time Gi*** of every (cell, step) bin: its neighbourhood is the H3 disk of radius ``k``
   (self included) in the same step and the ``time_window`` steps before it, compared with the
   mean and variance of *all* bins of the cube (Getis–Ord, binary weights).  p-values are
   two-sided; Benjamini–Hochberg FDR runs over all bins; bins are Esri's ±1/±2/±3 (q < 0.10 /
   0.05 / 0.01).  For count cubes the p-value is ``max(normal p, exact binomial p)`` of the
   window count given the cube total, as :func:`hotspot.gistar.gi_star` does by default, so
   sparse daily cubes do not light up on the normal tail.
2. **Mann–Kendall** trend of each cell's z series (S with the tie-corrected variance, continuity
   correction; equal to ``pymannkendall.original_test``).  The first ``time_window`` steps are
   left out of the trend: their windows are truncated, which shrinks |z| and would turn every
   constant hot spot into an "intensifying" one (our edge correction; the 90 % rules still count
   every step).
3. **17 patterns**: new, consecutive, intensifying, persistent, diminishing, sporadic,
   oscillating, historical hot spots, their 8 cold mirrors, and no pattern (:data:`PATTERNS`,
   :func:`classify`).  "90 %" means at least 90 % of the steps (``10·k ≥ 9·T``).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numba
import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy import stats

from qauipsiz.hotspot._inference import bh_adjust, esri_bins, weights_exposure

KINDS = ("new", "consecutive", "intensifying", "persistent", "diminishing", "sporadic", "oscillating",
         "historical")
"""The eight pattern kinds, in Esri's order; hot codes are 1..8, cold codes 9..16."""

PATTERNS = ("no_pattern", *(f"{k}_hot" for k in KINDS), *(f"{k}_cold" for k in KINDS))
"""Pattern key of each code 0..16 (``PATTERNS[code]``)."""


@functools.lru_cache(maxsize=1)
def pattern_labels() -> pd.DataFrame:
    """The 17 patterns with their colour and kk/ru/en labels (``data/taxonomy/emerging_patterns.csv``).

    Returns
    -------
    DataFrame
        Columns ``code`` (0..16), ``pattern``, ``colour`` (``#rrggbb``), ``label_kk``,
        ``label_ru``, ``label_en``, ``definition_en``; ordered by code.
    """
    from qauipsiz.hotspot.paths import data_dir

    t = pd.read_csv(data_dir() / "taxonomy" / "emerging_patterns.csv", dtype={"code": int})
    return t.sort_values("code").reset_index(drop=True)


# ---------------------------------------------------------------------------- space-time Gi*
def _window_sum(a: np.ndarray, time_window: int) -> np.ndarray:
    """Sum over each step and the ``time_window`` steps before it, along axis 1."""
    c = np.cumsum(a, axis=1, dtype=float)
    out = c.copy()
    if time_window + 1 < a.shape[1]:
        out[:, time_window + 1:] -= c[:, : a.shape[1] - time_window - 1]
    return out


def spacetime_weights(w_spatial: sp.csr_matrix, n_steps: int, time_window: int = 1) -> sp.csr_matrix:
    """The explicit space-time weights of :func:`spacetime_gi` (bins in cell-major order).

    Bin ``(i, t)`` neighbours ``(j, s)`` when ``w_spatial[i, j] > 0`` and ``t − time_window ≤ s ≤ t``.
    Only for checks on small cubes: :func:`spacetime_gi` never builds it.

    Parameters
    ----------
    w_spatial : sparse (n, n)
        Binary spatial weights with the diagonal set (self included).
    n_steps : int
        Steps T.
    time_window : int
        Steps back included.

    Returns
    -------
    scipy.sparse.csr_matrix, shape (n·T, n·T)
    """
    tt = sp.diags([np.ones(n_steps - d) for d in range(min(time_window, n_steps - 1) + 1)],
                  [-d for d in range(min(time_window, n_steps - 1) + 1)], shape=(n_steps, n_steps))
    return sp.kron(sp.csr_matrix(w_spatial), tt, format="csr")


def spacetime_gi(values: np.ndarray, w_spatial: sp.csr_matrix, time_window: int = 1, *,
                 inference: str = "auto", exposure=None, event_counts=None) -> tuple[np.ndarray, np.ndarray]:
    """Space-time Gi* z and two-sided p of every bin of a cube.

    Parameters
    ----------
    values : ndarray, shape (n, T)
        Count (or value) per cell and step.
    w_spatial : sparse (n, n)
        Binary spatial weights with the diagonal set (e.g. ``ring_weights(cells, k, self_weight=True)``).
    time_window : int
        Steps before each step that belong to its neighbourhood (0 = the step alone).
    inference : {"auto", "analytic"}
        ``"auto"``: for non-negative integer values, ``p = max(normal p, exact binomial p)`` of
        the window count given the cube total (Binomial(N, m/(n·T)) under a homogeneous Poisson
        null); otherwise the normal p.  ``"analytic"``: the normal p only.
    exposure : array-like, shape (n,), optional
        Relative expected count of each cell (unitless, e.g. its area share inside the city,
        :func:`hotspot.binning.city_cell_area_share`); the binomial window probability becomes
        Σ_window e·steps / (Σ e·T).  None: ``w_spatial.exposure`` when the weights carry one
        (:func:`hotspot.binning.city_ring_weights`), else equal.
    event_counts : ndarray, shape (n, T), optional
        Incidents per bin when ``values`` are weighted sums (harm weights are integers, so such
        sums look like counts): the binomial term then tests the window's incident count, as
        :func:`hotspot.gistar.gi_star` does with ``event_counts``.

    Returns
    -------
    z, p : ndarray, shape (n, T)
        Equal to :func:`hotspot.gistar.gi_star` (``star=True``, analytic) on the flattened cube with
        :func:`spacetime_weights`; z = 0 and p = 1 everywhere when the cube is constant.
    """
    x = np.asarray(values, float)
    if x.ndim != 2:
        raise ValueError("values: need a (cells, steps) array")
    if not np.isfinite(x).all():
        raise ValueError("values: non-finite entries")
    if inference not in ("auto", "analytic"):
        raise ValueError(f"inference={inference!r}: use 'auto' or 'analytic'")
    n, nt = x.shape
    big_n = n * nt
    ws = sp.csr_matrix(w_spatial)
    if ws.shape != (n, n):
        raise ValueError(f"w_spatial: shape {ws.shape}, need ({n}, {n})")
    deg = np.asarray(ws.sum(axis=1)).ravel()
    nsteps = np.minimum(np.arange(nt), time_window) + 1.0
    wi = deg[:, None] * nsteps[None, :]
    wsum = _window_sum(np.asarray(ws @ x), time_window)
    xbar = x.mean()
    s = np.sqrt(max((x * x).mean() - xbar**2, 0.0))
    if s == 0:
        return np.zeros((n, nt)), np.ones((n, nt))
    den = s * np.sqrt(np.maximum(big_n * wi - wi**2, 0.0) / (big_n - 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(den > 0, (wsum - xbar * wi) / den, 0.0)
    p = 2.0 * stats.norm.sf(np.abs(z))
    counts = x.min() >= 0 and np.all(x == np.round(x))
    if event_counts is not None:
        ec = np.asarray(event_counts, float)
        if ec.shape != x.shape or not np.isfinite(ec).all() or ec.min() < 0 or np.any(ec != np.round(ec)):
            raise ValueError(f"event_counts: need non-negative integers of shape {x.shape}")
        counts = ec.sum() > 0
    if inference == "auto" and counts and np.all(ws.data == 1.0):
        xc = x if event_counts is None else ec
        tot = round(xc.sum())
        obs = np.round(_window_sum(np.asarray(ws @ xc), time_window) if event_counts is not None else wsum)
        if exposure is None:
            exposure = weights_exposure(w_spatial, n)
        if exposure is None:
            share = wi / big_n
        else:
            e = np.asarray(exposure, float)
            if e.shape != (n,) or not np.isfinite(e).all() or (e < 0).any() or e.sum() <= 0:
                raise ValueError(f"exposure: need {n} finite non-negative values with a positive sum")
            share = np.minimum(1.0, (ws @ e)[:, None] * nsteps[None, :] / (e.sum() * nt))
        up = stats.binom.sf(obs - 1, tot, share)
        lo = stats.binom.cdf(obs, tot, share)
        p = np.maximum(p, np.minimum(1.0, 2.0 * np.minimum(up, lo)))
    return z, p


# ---------------------------------------------------------------------------- Mann–Kendall
@numba.njit(parallel=True, cache=True)
def _mk_kernel(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - numba
    n, nt = x.shape
    s_out = np.zeros(n)
    v_out = np.zeros(n)
    base = nt * (nt - 1) * (2 * nt + 5)
    for r in numba.prange(n):
        s = 0
        for i in range(nt - 1):
            xi = x[r, i]
            for j in range(i + 1, nt):
                d = x[r, j] - xi
                if d > 0:
                    s += 1
                elif d < 0:
                    s -= 1
        srt = np.sort(x[r])
        tie = 0.0
        run = 1
        for i in range(1, nt):
            if srt[i] == srt[i - 1]:
                run += 1
            else:
                if run > 1:
                    tie += run * (run - 1) * (2 * run + 5)
                run = 1
        if run > 1:
            tie += run * (run - 1) * (2 * run + 5)
        s_out[r] = s
        v_out[r] = (base - tie) / 18.0
    return s_out, v_out


def mann_kendall(series: np.ndarray) -> pd.DataFrame:
    """Mann–Kendall trend test of every row of ``series`` (vectorised, numba-parallel).

    Parameters
    ----------
    series : ndarray, shape (n, T)
        One time series per row, T ≥ 3, finite.

    Returns
    -------
    DataFrame
        ``s`` (Kendall S), ``var_s`` (tie-corrected variance), ``z`` (continuity-corrected:
        ``(S − sign S)/√var``), ``p`` (two-sided normal), ``tau`` (S / (T(T−1)/2)); one row per
        series.  Equal to ``pymannkendall.original_test`` (``s``, ``var_s``, ``z``, ``p``, ``Tau``).
        A constant series has ``var_s = 0``, z = 0, p = 1.
    """
    x = np.ascontiguousarray(np.asarray(series, float))
    if x.ndim == 1:
        x = x[None, :]
    if x.shape[1] < 3:
        raise ValueError("Mann–Kendall needs at least 3 steps")
    if not np.isfinite(x).all():
        raise ValueError("Mann–Kendall: non-finite values")
    s, v = _mk_kernel(x)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(v > 0, (s - np.sign(s)) / np.sqrt(v), 0.0)
    p = 2.0 * stats.norm.sf(np.abs(z))
    nt = x.shape[1]
    return pd.DataFrame({"s": s, "var_s": v, "z": z, "p": p, "tau": s / (0.5 * nt * (nt - 1))})


# ---------------------------------------------------------------------------- the 17 patterns
def _side(sig: np.ndarray, nt: int, trend_more: np.ndarray, trend_less: np.ndarray,
          other: np.ndarray) -> np.ndarray:
    """Kind index 1..8 (0 = none) of one side (hot or cold) for every cell.

    ``sig``: significant bins of this side (n, T); ``trend_more``: a significant trend towards
    more intense clustering of this side; ``trend_less``: towards less; ``other``: significant
    bins of the opposite side.
    """
    nsig = sig.sum(axis=1)
    last = sig[:, -1]
    ge90 = 10 * nsig >= 9 * nt
    run = np.cumprod(sig[:, ::-1], axis=1).sum(axis=1)  # trailing run length
    prior_other = other[:, :-1].any(axis=1)
    k = np.zeros(len(sig), np.int8)
    conds = [
        (last & ge90 & trend_more, 3),          # intensifying
        (last & ge90 & trend_less, 5),          # diminishing
        (last & ge90, 4),                       # persistent
        (last & prior_other, 7),                # oscillating (< 90 %)
        (last & (nsig == 1), 1),                # new
        (last & (run == nsig) & (run >= 2), 2),  # consecutive
        (last, 6),                              # sporadic
        (~last & ge90, 8),                      # historical
    ]
    done = np.zeros(len(sig), bool)
    for cond, kind in conds:
        m = cond & ~done
        k[m] = kind
        done |= m
    return k


def classify(bins: np.ndarray, trend_z: np.ndarray, trend_p: np.ndarray,
             trend_alpha: float = 0.05) -> np.ndarray:
    """Pattern code 0..16 of each cell from its Gi* bins and the Mann–Kendall trend of its z.

    Parameters
    ----------
    bins : ndarray of int, shape (n, T)
        Esri bins per step (> 0 significant hot, < 0 significant cold, 0 not significant).
    trend_z, trend_p : ndarray, shape (n,)
        Mann–Kendall z and p of each cell's Gi* z series.
    trend_alpha : float
        Level of a significant trend (intensifying / diminishing).

    Returns
    -------
    ndarray of int8, shape (n,)
        ``PATTERNS[code]`` names it.  Rules (ArcGIS Pro, "How Emerging Hot Spot Analysis works"),
        for hot spots (cold: mirror, with the trend's sign reversed):

        - *intensifying*: hot in ≥ 90 % of steps including the last, significant upward trend;
        - *diminishing*: the same with a significant downward trend;
        - *persistent*: hot in ≥ 90 % of steps including the last, no significant trend;
        - *oscillating*: hot in the last step, < 90 % hot, and cold in some earlier step;
        - *new*: hot in the last step and never before;
        - *consecutive*: one uninterrupted run of ≥ 2 hot steps at the end, never hot before it,
          < 90 % hot;
        - *sporadic*: hot in the last step, on and off before, < 90 % hot, never cold;
        - *historical*: not hot in the last step, hot in ≥ 90 % of steps.

        A cell whose last step is hot gets a hot pattern, one whose last step is cold a cold
        pattern; otherwise historical hot / cold, else no pattern.
    """
    b = np.asarray(bins)
    nt = b.shape[1]
    hot, cold = b > 0, b < 0
    tz = np.asarray(trend_z, float)
    sig = np.asarray(trend_p, float) < trend_alpha
    up, down = sig & (tz > 0), sig & (tz < 0)
    kh = _side(hot, nt, up, down, cold)
    kc = _side(cold, nt, down, up, hot)
    code = np.zeros(len(b), np.int8)
    code[kh > 0] = kh[kh > 0]
    mc = (kc > 0) & (kh == 0)
    code[mc] = kc[mc] + 8
    return code


@dataclass
class EmergingResult:
    """:func:`emerging_analysis`: the per-cell table and the per-bin statistics.

    Attributes
    ----------
    table : DataFrame
        One row per cell (see :func:`emerging_hotspots`).
    z, q : ndarray, shape (n, T)
        Space-time Gi* z and BH-adjusted p of every bin.
    bins : ndarray of int8, shape (n, T)
        Esri bins (−3..3) of every bin, 0 where ``q ≥ alpha``.
    params : dict
        Run parameters.
    """

    table: pd.DataFrame
    z: np.ndarray
    q: np.ndarray
    bins: np.ndarray
    params: dict = field(default_factory=dict)


def emerging_hotspots(cube, **options) -> pd.DataFrame:
    """Emerging hot spot table of a cube: :func:`emerging_analysis` (same options) ``.table``.

    Parameters
    ----------
    cube : SpaceTimeCube
        Cells x steps.
    **options
        ``k, time_window, value, alpha, trend_alpha, inference`` of :func:`emerging_analysis`.

    Returns
    -------
    DataFrame
        One row per cell: ``h3``, ``code`` (0..16), ``pattern`` (key), ``trend_z``, ``trend_p``,
        ``trend_tau``, ``n_hot``, ``n_cold`` (significant steps), ``last_z``, ``last_bin``,
        ``count`` (total over the cube); ``attrs["params"]`` holds the run parameters.
    """
    return emerging_analysis(cube, **options).table


def emerging_analysis(cube, *, k: int = 1, time_window: int = 1, value: str = "count",
                      alpha: float = 0.10, trend_alpha: float = 0.05,
                      inference: str = "auto") -> EmergingResult:
    """Emerging hot spot analysis of a :class:`hotspot.cube.SpaceTimeCube`.

    Parameters
    ----------
    cube : SpaceTimeCube
        Cells x steps (at least 3 steps).
    k : int
        H3 ring radius of the spatial neighbourhood (self included).
    time_window : int
        Steps back in the neighbourhood (ArcGIS' "neighborhood time step"; 1 = this step and the
        one before).
    value : {"count", "weighted"}
        Analyse counts or harm-weighted sums.
    alpha : float
        FDR level of a significant hot/cold bin (default 0.10: any of Esri's 90/95/99 % bins).
    trend_alpha : float
        Level of a significant Mann–Kendall trend.
    inference : {"auto", "analytic"}
        p-values of :func:`spacetime_gi`.

    Returns
    -------
    EmergingResult
        ``table`` as :func:`emerging_hotspots` returns it, and ``z``, ``q``, ``bins`` per bin.
    """
    from qauipsiz.hotspot.binning import city_cell_area_share, city_ring_weights, ring_weights

    if value not in ("count", "weighted"):
        raise ValueError(f"value={value!r}: use 'count' or 'weighted'")
    if time_window < 0:
        raise ValueError("time_window must be >= 0")
    x = cube.counts if value == "count" else cube.weighted
    n, nt = x.shape
    if nt < 3:
        raise ValueError(f"emerging hot spots need at least 3 time steps, the cube has {nt}")
    exposure = None
    if cube.city is not None and cube.params.get("n_cells") == n:
        w = city_ring_weights(cube.city, cube.res, k)
        exposure = city_cell_area_share(cube.city, cube.res)  # boundary cells expect less
    else:
        w = ring_weights(cube.cells, k, self_weight=True)
    z, p = spacetime_gi(x, w, time_window, inference=inference, exposure=exposure,
                        event_counts=cube.counts if value == "weighted" else None)
    q = bh_adjust(p.ravel()).reshape(n, nt)
    bins = esri_bins(z.ravel(), q.ravel()).reshape(n, nt)
    bins[q >= alpha] = 0
    # the first time_window steps have truncated windows (fewer neighbours, |z| shrunk): a
    # constant hot spot would show a spurious upward trend, so the trend uses full windows only
    mk = mann_kendall(z[:, time_window:] if nt - time_window >= 3 else z)
    code = classify(bins, mk["z"].to_numpy(), mk["p"].to_numpy(), trend_alpha)
    out = pd.DataFrame({
        "h3": np.asarray(cube.cells, np.uint64), "code": code,
        "pattern": np.asarray(PATTERNS, dtype=object)[code],
        "trend_z": mk["z"].to_numpy(), "trend_p": mk["p"].to_numpy(), "trend_tau": mk["tau"].to_numpy(),
        "n_hot": (bins > 0).sum(axis=1), "n_cold": (bins < 0).sum(axis=1),
        "last_z": z[:, -1], "last_bin": bins[:, -1].astype(np.int8),
        "count": np.asarray(cube.counts).sum(axis=1),
    })
    u, c = np.unique(code, return_counts=True)
    params = {
        "generator": "qauipsiz.hotspot.emerging.emerging_hotspots", "city": cube.city, "res": int(cube.res),
        "step": cube.step, "n_steps": int(nt), "first_step": str(pd.Timestamp(cube.times[0]).date()),
        "last_step": str(pd.Timestamp(cube.times[-1]).date()), "k": int(k), "time_window": int(time_window),
        "value": value, "alpha": alpha, "trend_alpha": trend_alpha, "inference": inference,
        "gi": "space-time Gi* (H3 ring k, self included, this step and time_window steps back), "
              "BH FDR over all bins",
        "trend": "Mann–Kendall on each cell's Gi* z series (steps with a full time window)",
        "patterns": {PATTERNS[int(a)]: int(b) for a, b in zip(u, c, strict=True)},
        "cube": {kk: v for kk, v in cube.params.items() if kk != "created_utc"},
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    out.attrs["params"] = params
    return EmergingResult(out, z, q, bins, params)
