"""Kernel density with a fitted bandwidth and exponential time decay.

``score(c) = Σ_i K_h(|c − x_i|) · exp(−(d − t_i) / τ)`` over events before day ``d`` (quartic
kernel of radius ``h``). ``(h, τ)`` are fitted every refit by the best PAI on the previous 28
days (past only); ``τ = ∞`` is plain KDE of all history.
"""
from __future__ import annotations

import numpy as np

from qauipsiz.hotspot.forecast._base import Forecaster, Query, grid_search

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
        self._mats: dict = {}
        self._tree = None

    def tune(self, q: Query, cutoff: int) -> dict:
        """The grid point with the best PAI on the 28 days before ``cutoff``."""
        grid = [{"bandwidth_m": h, "tau_days": t} for h in self.bandwidths_m for t in self.taus_days]
        return grid_search(self, q, cutoff, grid)

    def kernel_matrix(self, q: Query, h: float):
        """Sparse ``(len(q), n_events)`` quartic kernel values per km² (cached per query and radius).

        Row ``c``, column ``i`` is ``3/(πh²)·(1 − (r/h)²)² · 1e6`` for the distance ``r < h`` between
        cell centre ``c`` and event ``i``: ``M @ w`` equals ``kde(events, centres, h, weights=w)``.
        """
        import scipy.sparse as sp
        from scipy.spatial import cKDTree

        ev = self._need()
        key = ("kernel", q.key, float(h))
        if key not in self._mats:
            if self._tree is None:
                self._tree = cKDTree(ev.xy)
            pr = q.tree.sparse_distance_matrix(self._tree, float(h), output_type="ndarray")
            u2 = (pr["v"] / float(h)) ** 2
            keep = u2 < 1.0  # the kernel's support is open: r < h
            vals = (1.0 - u2[keep]) ** 2 * (3.0 / (np.pi * float(h) ** 2) * 1e6)
            self._mats[key] = sp.csr_matrix((vals, (pr["i"][keep], pr["j"][keep])), shape=(len(q.xy), len(ev.t)))
        return self._mats[key]

    def fit(self, events) -> DecayKDE:
        """See :meth:`Forecaster.fit`; also drops the cached kernel matrices."""
        super().fit(events)
        self._mats = {}
        self._tree = None
        return self

    def score_with(self, q: Query, d: int, p: dict) -> np.ndarray:
        """Scores for day ``d`` with radius ``p['bandwidth_m']`` and decay ``p['tau_days']``.

        The kernel sums over events before ``d`` (and after ``d − 8τ``) are one sparse product with the
        cached kernel matrix; the weights of every other event are exactly 0.
        """
        ev = self._need()
        tau = float(p["tau_days"])
        i = 0 if not np.isfinite(tau) else ev.before(d - 8 * tau)
        j = ev.before(d)
        if j <= i:
            return np.zeros(len(q.xy))
        w = np.zeros(len(ev.t))
        w[i:j] = 1.0 if not np.isfinite(tau) else np.exp(-(d - ev.t[i:j]) / tau)
        return self.kernel_matrix(q, float(p["bandwidth_m"])) @ w

    def score(self, q: Query, d: int) -> np.ndarray:
        """Scores for day ``d`` with the parameters fitted at its cut-off."""
        return self.score_with(q, d, self.params_for(q, d))
