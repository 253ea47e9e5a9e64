"""Self-exciting point process (Mohler et al. 2011, ETAS-style), fitted by expectation–maximisation.

Intensity, events per km² per day::

    λ(x, t) = μ(x) + Σ_{t_i < t} θ · ω e^{−ω (t − t_i)} · g_σ(x − x_i)

* ``μ`` — a stationary background: quartic KDE (radius ``background_m``) of the events weighted
  by their probability of being background (events older than the EM window weighted by the
  window's mean background probability: the long-run background), divided by the days of history;
* ``θ`` — expected offspring per event, ``ω`` — decay rate per day, ``g_σ`` — isotropic Gaussian
  of standard deviation ``σ`` metres.

EM (Veen and Schoenberg 2008; Mohler et al. 2011): the E step splits each event between the
background and every earlier event within ``max_days`` and ``max_m``; the M step sets ``θ``, ``ω``,
``σ`` and the background weights from those probabilities. Fitted every refit on at most
``history_days`` before the cut-off. The score of a cell for day ``d`` is ``λ`` integrated over the
day: ``μ + Σ θ (e^{−ω(d−t_i)} − e^{−ω(d+1−t_i)}) g_σ``.
"""
from __future__ import annotations

import math

import numba
import numpy as np
import scipy.sparse as sp

from qauipsiz.hotspot.forecast._base import Forecaster, Query, near_pairs
from qauipsiz.hotspot.kde import GAUSSIAN_CUTOFF


def _buckets(xy: np.ndarray, cs: float, t: np.ndarray | None = None):
    """Square buckets of side ``cs`` metres: each point's bucket key, the points ordered by key (then
    by ``t``), the sorted keys and the key stride of one bucket column (keys of neighbours never alias)."""
    lo = xy.min(axis=0)
    g = np.floor((xy - lo) / float(cs)).astype(np.int64) + 1  # a free ring of buckets round the points
    ny = int(g[:, 1].max()) + 2
    key = g[:, 0] * ny + g[:, 1]
    order = np.lexsort((t, key)) if t is not None else np.argsort(key, kind="stable")
    return key, order.astype(np.int64), key[order], ny


@numba.njit(cache=True, nogil=True)
def _near_pairs(x, y, key, order, skey, ny, h2, fill, a, b, k):  # noqa: PLR0913 -- numba kernel: arrays and scalars only
    """Pairs ``i < j`` closer than ``sqrt(h2)`` from the 3 × 3 buckets round each point; counts them,
    and when ``fill`` writes ``a, b`` and the quartic ``(1 − d²/h²)²`` into ``k``."""
    m = 0
    for i in range(len(x)):
        for dx in range(-1, 2):
            for dy in range(-1, 2):
                kk = key[i] + dx * ny + dy
                lo = np.searchsorted(skey, kk)
                hi = np.searchsorted(skey, kk + 1)
                for p in range(lo, hi):
                    j = order[p]
                    if j <= i:
                        continue
                    d2 = (x[i] - x[j]) ** 2 + (y[i] - y[j]) ** 2
                    if d2 < h2:
                        if fill:
                            a[m] = i
                            b[m] = j
                            u = 1.0 - d2 / h2
                            k[m] = u * u
                        m += 1
    return m


@numba.njit(cache=True, nogil=True)
def _lag_pairs(t, x, y, key, order, skey, st, ny, max_days, max_m2, fill, early, late, dt, r2):  # noqa: PLR0913 -- numba kernel: arrays and scalars only
    """Pairs with ``0 < t_late − t_early ≤ max_days`` and squared distance ``≤ max_m2`` from the 3 × 3
    buckets round each late point (each bucket's points in time order ``st``, so only the lags in range
    are scanned); counts them, and when ``fill`` writes them."""
    m = 0
    for i in range(len(t)):
        for ddx in range(-1, 2):
            for ddy in range(-1, 2):
                kk = key[i] + ddx * ny + ddy
                lo = np.searchsorted(skey, kk)
                hi = np.searchsorted(skey, kk + 1)
                p = lo + np.searchsorted(st[lo:hi], t[i] - max_days)
                while p < hi and st[p] < t[i]:
                    j = order[p]
                    lag = t[i] - t[j]
                    d2 = (x[i] - x[j]) ** 2 + (y[i] - y[j]) ** 2
                    if lag > 0 and lag <= max_days and d2 <= max_m2:
                        if fill:
                            early[m] = j
                            late[m] = i
                            dt[m] = lag
                            r2[m] = d2
                        m += 1
                    p += 1
    return m


def trigger_pairs(t: np.ndarray, xy: np.ndarray, max_days: float, max_m: float):
    """Every ordered pair of events with ``0 < t_late − t_early ≤ max_days`` and distance ``≤ max_m``.

    Points are put in buckets of ``max_m`` metres with each bucket's points in time order, so for
    each event only the earlier events of the 3 × 3 buckets round it within ``max_days`` are looked
    at (numba); pairs far apart in time or space are never materialised.

    Parameters
    ----------
    t : array (n,)
        Event times, days.
    xy : array (n, 2)
        Event positions, metres.
    max_days, max_m : float
        Largest lag (days) and distance (metres).

    Returns
    -------
    early, late : int arrays (rows of ``t``); dt : lags, days; r2 : squared distances, m².
    """
    t = np.ascontiguousarray(t, dtype=float)
    xy = np.asarray(xy, dtype=float)
    if len(t) < 2:
        z = np.zeros(0, dtype=np.int64)
        return z, z, np.zeros(0), np.zeros(0)
    key, order, skey, ny = _buckets(xy, float(max_m), t)
    x, y = np.ascontiguousarray(xy[:, 0]), np.ascontiguousarray(xy[:, 1])
    st = t[order]
    zi, zf = np.zeros(0, dtype=np.int64), np.zeros(0)
    args = (t, x, y, key, order, skey, st, ny, float(max_days), float(max_m) ** 2)
    m = _lag_pairs(*args, False, zi, zi, zf, zf)
    early, late = np.empty(m, dtype=np.int64), np.empty(m, dtype=np.int64)
    dt, r2 = np.empty(m), np.empty(m)
    _lag_pairs(*args, True, early, late, dt, r2)
    return early, late, dt, r2


class BackgroundKernel:
    """The quartic KDE of weighted events at the events themselves, as a fixed sparse sum.

    ``BackgroundKernel(xy, h)(w)`` equals ``kde(xy, xy, h, "quartic", weights=w)`` (per km²);
    the pairs within ``h`` are found once (buckets of ``h`` metres, numba), so each EM iteration
    costs one pass over them.
    """

    def __init__(self, xy: np.ndarray, h: float):
        self.h = float(h)
        xy = np.asarray(xy, dtype=float)
        self.n = len(xy)
        zi, zf = np.zeros(0, dtype=np.int64), np.zeros(0)
        if self.n < 2:
            self.a, self.b, self.k = zi, zi, zf
            return
        key, order, skey, ny = _buckets(xy, self.h)
        x, y = np.ascontiguousarray(xy[:, 0]), np.ascontiguousarray(xy[:, 1])
        m = _near_pairs(x, y, key, order, skey, ny, self.h**2, False, zi, zi, zf)
        self.a, self.b, self.k = np.empty(m, dtype=np.int64), np.empty(m, dtype=np.int64), np.empty(m)
        _near_pairs(x, y, key, order, skey, ny, self.h**2, True, self.a, self.b, self.k)

    def __call__(self, w: np.ndarray) -> np.ndarray:
        """Density at every event, per km², of the events weighted by ``w``."""
        return _pair_sum(self.a, self.b, self.k, np.asarray(w, float)) * (3.0 / (math.pi * self.h**2) * 1e6)


@numba.njit(cache=True, nogil=True)
def _pair_sum(a, b, k, w):
    """``w_i + Σ_j k_ij w_j`` over symmetric pairs (a, b) with kernel values ``k`` (self term 1)."""
    out = w.copy()
    for p in range(len(a)):
        out[a[p]] += k[p] * w[b[p]]
        out[b[p]] += k[p] * w[a[p]]
    return out


@numba.njit(cache=True, nogil=True)
def _em_step(mu_ev, late, dt, r2, theta, omega, sigma2):
    """One E step: (Σ p_ij, Σ p_ij·dt, Σ p_ij·r², background probabilities)."""
    n = len(mu_ev)
    m = len(late)
    total = mu_ev.copy()
    trig = np.empty(m)
    c = theta * omega / (2.0 * math.pi * sigma2) * 1e6  # Gaussian per km²
    for k in range(m):
        v = c * math.exp(-omega * dt[k] - r2[k] / (2.0 * sigma2))
        trig[k] = v
        total[late[k]] += v
    for i in range(n):
        if total[i] < 1e-300:
            total[i] = 1e-300
    s = 0.0
    s_dt = 0.0
    s_r2 = 0.0
    for k in range(m):
        p = trig[k] / total[late[k]]
        s += p
        s_dt += p * dt[k]
        s_r2 += p * r2[k]
    pb = mu_ev / total
    return s, s_dt, s_r2, pb


class SelfExciting(Forecaster):
    """Mohler-style self-exciting point process; see the module docstring.

    Parameters
    ----------
    background_m : float
        Radius of the background kernel, metres.
    max_days, max_m : float
        Largest time lag (days) and distance (metres) of a triggering pair.
    history_days : int
        Days of history the EM sees at each refit.
    iterations : int
        Largest number of EM iterations.
    tol : float
        EM stops early when θ, ω and σ² each change by less than this share in one iteration.
    **kw
        See :class:`~qauipsiz.hotspot.forecast._base.Forecaster`.
    """

    name = "seppp"
    assumes = ("crime is a steady background plus short-lived, short-range aftershocks of each event "
               "(near repeats), with one decay in time and space for the whole city")

    def __init__(self, background_m: float = 400.0, max_days: float = 30.0, max_m: float = 500.0,
                 history_days: int = 365, iterations: int = 20, tol: float = 1e-3, **kw):
        super().__init__(**kw)
        self.background_m, self.max_days, self.max_m = float(background_m), float(max_days), float(max_m)
        self.history_days, self.iterations, self.tol = int(history_days), int(iterations), float(tol)
        self._mats: dict = {}

    def fit(self, events) -> SelfExciting:
        """See :meth:`Forecaster.fit`; also drops the cached triggering matrices."""
        super().fit(events)
        self._mats = {}
        return self

    def background_at(self, q: Query, xy: np.ndarray, w: np.ndarray) -> np.ndarray:
        """Quartic KDE (radius ``background_m``, per km²) of points ``xy`` weighted by ``w`` at the queried
        centres: ``kde(xy, q.xy, background_m, weights=w)`` as one sparse sum over the pairs within the radius."""
        h = self.background_m
        i, j, r2 = near_pairs(q, xy, h)
        u = 1.0 - r2 / h**2
        m = sp.csr_matrix((u * u * (3.0 / (math.pi * h**2) * 1e6), (i, j)), shape=(len(q.xy), len(xy)))
        return m @ np.asarray(w, float)

    def trigger_matrix(self, q: Query, cutoff: int, sigma: float) -> tuple[sp.csr_matrix, int]:
        """Gaussian kernel (standard deviation ``sigma`` m, per km², to ``GAUSSIAN_CUTOFF`` σ) between the
        queried centres and the events that can trigger a day of this cut-off's period (from
        ``cutoff − max_days`` to the next cut-off), and the row of the first such event; cached."""
        ev = self._need()
        key = (q.key, int(cutoff), float(sigma))
        if key not in self._mats:
            if len(self._mats) > 4:
                self._mats = {}
            i0, i1 = ev.before(cutoff - self.max_days), ev.before(cutoff + self.refit_days)
            i, j, r2 = near_pairs(q, ev.xy[i0:i1], GAUSSIAN_CUTOFF * sigma)
            vals = np.exp(-0.5 * r2 / sigma**2) * (1e6 / (2.0 * math.pi * sigma**2))
            self._mats[key] = (sp.csr_matrix((vals, (i, j)), shape=(len(q.xy), i1 - i0)), i0)
        return self._mats[key]

    def tune(self, q: Query, cutoff: int) -> dict:
        """EM on the events of ``[cutoff − history_days, cutoff)``; the background at the query."""
        ev = self._need()
        i, j = ev.before(cutoff - self.history_days), ev.before(cutoff)
        t, xy = ev.t[i:j], ev.xy[i:j]
        n = len(t)
        span = max(float(cutoff - max(ev.first_day, cutoff - self.history_days)), 1.0)
        if n < 30:
            return {"theta": 0.0, "omega": 1.0, "sigma_m": 100.0, "n": n,
                    "mu": self.background_at(q, xy, np.ones(n)) / span if n else np.zeros(len(q.xy))}
        _, late, dt, r2 = trigger_pairs(t, xy, self.max_days, self.max_m)
        background = BackgroundKernel(xy, self.background_m)
        theta, omega, sigma2 = 0.2, 0.1, 200.0**2
        pb = np.full(n, 0.8)
        for _ in range(self.iterations):
            mu_ev = background(pb) / span  # per km² per day
            s, s_dt, s_r2, pb = _em_step(mu_ev, late, dt, r2, theta, omega, sigma2)
            if s <= 1e-9:
                theta = 0.0
                break
            prev = (theta, omega, sigma2)
            theta = s / n
            omega = s / max(s_dt, 1e-9)
            sigma2 = max(s_r2 / (2 * s), 25.0**2)
            if all(abs(a - b) <= self.tol * abs(b) for a, b in zip((theta, omega, sigma2), prev, strict=True)):
                break  # converged: θ, ω and σ² all moved by less than ``tol`` (relative)
        # older events: the long-run background, weighted by the window's mean background share
        mu = self.background_at(q, ev.xy[:j], np.r_[np.full(i, float(pb.mean())), pb])
        mu /= max(float(cutoff - ev.first_day), 1.0)
        return {"theta": float(theta), "omega": float(omega), "sigma_m": float(np.sqrt(sigma2)), "n": n,
                "mu": mu}

    def score(self, q: Query, d: int) -> np.ndarray:
        """Expected events per km² on day ``d`` at each queried cell centre."""
        p = self.params_for(q, d)
        ev = self._need()
        out = np.array(p["mu"], dtype=float, copy=True)
        if p["theta"] <= 0:
            return out
        horizon = min(self.max_days, 20.0 / max(p["omega"], 1e-6))  # the fit saw lags up to max_days only
        i, j = ev.before(d - horizon), ev.before(d)
        if j > i:
            m, i0 = self.trigger_matrix(q, self.cutoff(d), p["sigma_m"])
            age = d - ev.t[i:j]
            w = np.zeros(m.shape[1])  # events after d weigh exactly 0
            w[i - i0:j - i0] = p["theta"] * (np.exp(-p["omega"] * age) - np.exp(-p["omega"] * (age + 1.0)))
            out += m @ w
        return out

    def describe(self, q: Query, d: int) -> dict:
        """The fitted θ, ω (per day), σ (metres) for day ``d``."""
        p = self.params_for(q, d)
        return {"method": self.name, "params": {k: round(v, 4) if isinstance(v, float) else v
                                                for k, v in p.items() if k != "mu"}}
