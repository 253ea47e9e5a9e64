"""Self-exciting point process (Mohler et al. 2011, ETAS-style), fitted by expectation–maximisation.

Intensity, events per km² per day::

    λ(x, t) = μ(x) + Σ_{t_i < t} θ · ω e^{−ω (t − t_i)} · g_σ(x − x_i)

* ``μ`` — a stationary background: quartic KDE (radius ``background_m``) of the events weighted
  by their probability of being background, divided by the days of history;
* ``θ`` — expected offspring per event, ``ω`` — decay rate per day, ``g_σ`` — isotropic Gaussian
  of standard deviation ``σ`` metres.

EM (Veen and Schoenberg 2008; Mohler et al. 2011): the E step splits each event between the
background and every earlier event within ``max_days`` and ``max_m``; the M step sets ``θ``, ``ω``,
``σ`` and the background weights from those probabilities. Fitted every refit on at most
``history_days`` before the cut-off. The score of a cell for day ``d`` is ``λ`` integrated over the
day: ``μ + Σ θ (e^{−ω(d−t_i)} − e^{−ω(d+1−t_i)}) g_σ``.
"""
from __future__ import annotations

import numpy as np

from qauipsiz.hotspot.forecast._base import Forecaster, Query
from qauipsiz.hotspot.kde import kde


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
        EM iterations.
    **kw
        See :class:`~qauipsiz.hotspot.forecast._base.Forecaster`.
    """

    name = "seppp"
    assumes = ("crime is a steady background plus short-lived, short-range aftershocks of each event "
               "(near repeats), with one decay in time and space for the whole city")

    def __init__(self, background_m: float = 400.0, max_days: float = 60.0, max_m: float = 1000.0,
                 history_days: int = 730, iterations: int = 20, **kw):
        super().__init__(**kw)
        self.background_m, self.max_days, self.max_m = float(background_m), float(max_days), float(max_m)
        self.history_days, self.iterations = int(history_days), int(iterations)

    def tune(self, q: Query, cutoff: int) -> dict:
        """EM on the events of ``[cutoff − history_days, cutoff)``; the background at the query."""
        from scipy.spatial import cKDTree

        ev = self._need()
        i, j = ev.before(cutoff - self.history_days), ev.before(cutoff)
        t, xy = ev.t[i:j], ev.xy[i:j]
        n = len(t)
        span = max(float(cutoff - max(ev.first_day, cutoff - self.history_days)), 1.0)
        if n < 30:
            return {"theta": 0.0, "omega": 1.0, "sigma_m": 100.0, "n": n,
                    "mu": kde(xy, q.xy, self.background_m) / span if n else np.zeros(len(q.xy))}
        pr = cKDTree(xy).query_pairs(self.max_m, output_type="ndarray")
        a, b = pr[:, 0], pr[:, 1]
        early = np.where(t[a] <= t[b], a, b)
        late = np.where(t[a] <= t[b], b, a)
        dt = t[late] - t[early]
        ok = (dt > 0) & (dt <= self.max_days)
        early, late, dt = early[ok], late[ok], dt[ok]
        r2 = ((xy[late] - xy[early]) ** 2).sum(1)
        theta, omega, sigma2 = 0.2, 0.1, 200.0**2
        pb = np.full(n, 0.8)
        for _ in range(self.iterations):
            mu_ev = kde(xy, xy, self.background_m, weights=pb) / span  # per km² per day
            g = np.exp(-r2 / (2 * sigma2)) / (2 * np.pi * sigma2) * 1e6  # per km²
            trig = theta * omega * np.exp(-omega * dt) * g
            total = mu_ev + np.bincount(late, weights=trig, minlength=n)
            total = np.maximum(total, 1e-300)
            pij = trig / total[late]
            pb = mu_ev / total
            s = pij.sum()
            if s <= 1e-9:
                theta = 0.0
                break
            theta = s / n
            omega = s / max(float((pij * dt).sum()), 1e-9)
            sigma2 = max(float((pij * r2).sum()) / (2 * s), 25.0**2)
        mu = kde(xy, q.xy, self.background_m, weights=pb) / span
        return {"theta": float(theta), "omega": float(omega), "sigma_m": float(np.sqrt(sigma2)), "n": n,
                "mu": mu}

    def score(self, q: Query, d: int) -> np.ndarray:
        """Expected events per km² on day ``d`` at each queried cell centre."""
        p = self.params_for(q, d)
        ev = self._need()
        out = np.array(p["mu"], dtype=float, copy=True)
        if p["theta"] <= 0:
            return out
        horizon = min(self.max_days * 3, 20.0 / max(p["omega"], 1e-6))
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
