"""Kernel density with a fitted bandwidth and exponential time decay.

``score(c) = Σ_i K_h(|c − x_i|) · exp(−(d − t_i) / τ)`` over events before day ``d`` (quartic
kernel of radius ``h``). ``(h, τ)`` are fitted every refit by the best PAI on the previous 28
days (past only); ``τ = ∞`` is plain KDE of all history.
"""
from __future__ import annotations

import numpy as np

from qauipsiz.hotspot.forecast._base import Forecaster, Query, grid_search
from qauipsiz.hotspot.kde import kde

GRID_H = (150.0, 300.0, 600.0)
GRID_TAU = (30.0, 180.0, np.inf)


class DecayKDE(Forecaster):
    """Time-decayed quartic KDE; see the module docstring.

    Parameters
    ----------
    bandwidths_m, taus_days : tuple
        The grids searched for the kernel radius (metres) and the decay time (days).
    **kw
        See :class:`~qauipsiz.hotspot.forecast._base.Forecaster`.
    """

    name = "kde"
    assumes = ("risk is a smooth surface around past events; older events count less, "
               "at a rate fitted to the city")

    def __init__(self, bandwidths_m=GRID_H, taus_days=GRID_TAU, **kw):
        super().__init__(**kw)
        self.bandwidths_m, self.taus_days = tuple(bandwidths_m), tuple(taus_days)

    def tune(self, q: Query, cutoff: int) -> dict:
        """The grid point with the best PAI on the 28 days before ``cutoff``."""
        grid = [{"bandwidth_m": h, "tau_days": t} for h in self.bandwidths_m for t in self.taus_days]
        return grid_search(self, q, cutoff, grid)

    def score_with(self, q: Query, d: int, p: dict) -> np.ndarray:
        """Scores for day ``d`` with radius ``p['bandwidth_m']`` and decay ``p['tau_days']``."""
        ev = self._need()
        tau = float(p["tau_days"])
        i = 0 if not np.isfinite(tau) else ev.before(d - 8 * tau)
        j = ev.before(d)
        if j <= i:
            return np.zeros(len(q.xy))
        w = None if not np.isfinite(tau) else np.exp(-(d - ev.t[i:j]) / tau)
        return kde(ev.xy[i:j], q.xy, float(p["bandwidth_m"]), "quartic", weights=w)

    def score(self, q: Query, d: int) -> np.ndarray:
        """Scores for day ``d`` with the parameters fitted at its cut-off."""
        return self.score_with(q, d, self.params_for(q, d))
