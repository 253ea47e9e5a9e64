"""Prospective hot-spotting (Bowers, Johnson and Pease 2004) with tuned bandwidths.

Each past event within ``b`` metres and ``T`` weeks of a cell adds
``1 / (1 + r / s) × 1 / (1 + w)``, where ``r`` is its distance to the cell centre, ``s`` the H3
centre spacing (the original's "cells" of distance) and ``w`` its age in whole weeks. ``(b, T)``
are chosen every refit on the previous 28 days (past only) from a small grid.
"""
from __future__ import annotations

import numpy as np

from qauipsiz.hotspot.forecast._base import Forecaster, Query, cell_spacing_m, grid_search

GRID_B = (200.0, 400.0, 800.0)
GRID_T = (8, 16)


class ProspectiveHotspot(Forecaster):
    """Bowers–Johnson–Pease prospective hot-spotting; see the module docstring.

    Parameters
    ----------
    bandwidths_m, weeks : tuple
        The grids searched for the spatial (metres) and temporal (weeks) bandwidth.
    **kw
        See :class:`~qauipsiz.hotspot.forecast._base.Forecaster`.
    """

    name = "prospective"
    assumes = ("risk spreads from each event to nearby places for a few weeks and decays with distance "
               "and age (near-repeat victimisation); the rest of history does not matter")

    def __init__(self, bandwidths_m=GRID_B, weeks=GRID_T, **kw):
        super().__init__(**kw)
        self.bandwidths_m, self.weeks = tuple(bandwidths_m), tuple(weeks)
        self._mats: dict = {}
        self._tree = None

    def tune(self, q: Query, cutoff: int) -> dict:
        """The grid point with the best PAI on the 28 days before ``cutoff``."""
        grid = [{"bandwidth_m": b, "weeks": w} for b in self.bandwidths_m for w in self.weeks]
        return grid_search(self, q, cutoff, grid)

    def distance_weights(self, q: Query, b: float):
        """Sparse ``(len(q), n_events)`` of ``1 / (1 + r / s)`` for every event within ``b`` metres of a centre.

        Cached per query and bandwidth; a day's scores are this matrix times the events' age weights.
        """
        import scipy.sparse as sp
        from scipy.spatial import cKDTree

        ev = self._need()
        key = ("dist", q.key, float(b))
        if key not in self._mats:
            if self._tree is None:
                self._tree = cKDTree(ev.xy)
            pr = q.tree.sparse_distance_matrix(self._tree, float(b), output_type="ndarray")
            vals = 1.0 / (1.0 + pr["v"] / cell_spacing_m(ev.res))
            self._mats[key] = sp.csr_matrix((vals, (pr["i"], pr["j"])), shape=(len(q.xy), len(ev.t)))
        return self._mats[key]

    def fit(self, events) -> ProspectiveHotspot:
        """See :meth:`Forecaster.fit`; also drops the cached distance matrices."""
        super().fit(events)
        self._mats = {}
        self._tree = None
        return self

    def score_with(self, q: Query, d: int, p: dict) -> np.ndarray:
        """Scores for day ``d`` with bandwidth ``p['bandwidth_m']`` and ``p['weeks']``.

        One sparse product of the cached distance weights with the age weights
        ``1 / (1 + whole weeks)`` of the events of the last ``weeks`` weeks (every other event: 0).
        """
        ev = self._need()
        i, j = ev.before(d - 7 * p["weeks"]), ev.before(d)
        if j <= i:
            return np.zeros(len(q.xy))
        w = np.zeros(len(ev.t))
        w[i:j] = 1.0 / (1.0 + np.floor((d - ev.t[i:j]) / 7.0))
        return self.distance_weights(q, float(p["bandwidth_m"])) @ w

    def score(self, q: Query, d: int) -> np.ndarray:
        """Scores for day ``d`` with the parameters tuned at its cut-off."""
        return self.score_with(q, d, self.params_for(q, d))
