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

from qauipsiz.hotspot.forecast._base import Forecaster, Query
from qauipsiz.hotspot.kde import kde


def trigger_pairs(t: np.ndarray, xy: np.ndarray, max_days: float, max_m: float):
    """Every ordered pair of events with ``0 < t_late − t_early ≤ max_days`` and distance ``≤ max_m``.

    Found with one KD-tree over the space-time box (x / max_m, y / max_m, t / max_days) in the
    maximum norm, so pairs far apart in time are never materialised.

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
    from scipy.spatial import cKDTree

    if len(t) < 2:
        z = np.zeros(0, dtype=np.int64)
        return z, z, np.zeros(0), np.zeros(0)
    box = np.column_stack([xy / float(max_m), t / float(max_days)])
    pr = cKDTree(box).query_pairs(1.0, p=np.inf, output_type="ndarray")
    a, b = pr[:, 0], pr[:, 1]
    first = t[a] <= t[b]
    early, late = np.where(first, a, b), np.where(first, b, a)
    dt = t[late] - t[early]
    r2 = ((xy[late] - xy[early]) ** 2).sum(1)
    ok = (dt > 0) & (dt <= max_days) & (r2 <= float(max_m) ** 2)
    return early[ok], late[ok], dt[ok], r2[ok]


class BackgroundKernel:
    """The quartic KDE of weighted events at the events themselves, as a fixed sparse sum.

    ``BackgroundKernel(xy, h)(w)`` equals ``kde(xy, xy, h, "quartic", weights=w)`` (per km²);
    the pairs within ``h`` are found once, so each EM iteration costs one pass over them.
    """

    def __init__(self, xy: np.ndarray, h: float):
        from scipy.spatial import cKDTree

        self.h = float(h)
        pr = cKDTree(xy).query_pairs(self.h, output_type="ndarray")
        self.a, self.b = pr[:, 0].astype(np.int64), pr[:, 1].astype(np.int64)
        u2 = ((xy[self.a] - xy[self.b]) ** 2).sum(1) / self.h**2
        keep = u2 < 1.0  # the KDE's support is open: d < h
        self.a, self.b = self.a[keep], self.b[keep]
        self.k = (1.0 - u2[keep]) ** 2
        self.n = len(xy)

    def __call__(self, w: np.ndarray) -> np.ndarray:
        """Density at every event, per km², of the events weighted by ``w``."""
        return _pair_sum(self.a, self.b, self.k, np.asarray(w, float)) * (3.0 / (math.pi * self.h**2) * 1e6)


@numba.njit(cache=True)
def _pair_sum(a, b, k, w):
    """``w_i + Σ_j k_ij w_j`` over symmetric pairs (a, b) with kernel values ``k`` (self term 1)."""
    out = w.copy()
    for p in range(len(a)):
        out[a[p]] += k[p] * w[b[p]]
        out[b[p]] += k[p] * w[a[p]]
    return out


@numba.njit(cache=True)
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

    def tune(self, q: Query, cutoff: int) -> dict:
        """EM on the events of ``[cutoff − history_days, cutoff)``; the background at the query."""
        ev = self._need()
        i, j = ev.before(cutoff - self.history_days), ev.before(cutoff)
        t, xy = ev.t[i:j], ev.xy[i:j]
        n = len(t)
        span = max(float(cutoff - max(ev.first_day, cutoff - self.history_days)), 1.0)
        if n < 30:
            return {"theta": 0.0, "omega": 1.0, "sigma_m": 100.0, "n": n,
                    "mu": kde(xy, q.xy, self.background_m) / span if n else np.zeros(len(q.xy))}
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
        mu = kde(xy, q.xy, self.background_m, weights=pb)
        if i > 0:  # older events: the long-run background, weighted by the mean background share
            mu += kde(ev.xy[:i], q.xy, self.background_m, weights=np.full(i, float(pb.mean())))
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
            age = d - ev.t[i:j]
            w = p["theta"] * (np.exp(-p["omega"] * age) - np.exp(-p["omega"] * (age + 1.0)))
            out += kde(ev.xy[i:j], q.xy, p["sigma_m"], "gaussian", weights=w)
        return out

    def describe(self, q: Query, d: int) -> dict:
        """The fitted θ, ω (per day), σ (metres) for day ``d``."""
        p = self.params_for(q, d)
        return {"method": self.name, "params": {k: round(v, 4) if isinstance(v, float) else v
                                                for k, v in p.items() if k != "mu"}}
