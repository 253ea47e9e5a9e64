"""A blend of long-run and recent counts, smoothed over the neighbouring cells, weights fitted on the past.

Per index cell, for day ``d`` (events before ``d`` only), three daily rates: ``L`` over the whole
history, ``Y`` over the last 365 days and ``Q`` over the last 91 days. The score is ::

    s0 = L + a · Y + b · Q
    s  = s0 + β · Σ_{ring-1 neighbours} s0

``(a, b, β)`` are chosen at every refit cut-off by the best pooled PAI (mean of 1 % and 5 % of the
area) over the ``window`` days before the cut-off, each scored from its own past. The grid
contains ``a = b = β = 0`` (plain long-run counts), so on its validation days the blend is never
worse than the long-run baseline.
"""
from __future__ import annotations

import numpy as np

from qauipsiz.hotspot.forecast._base import Events, Forecaster, Query, take, top_hits

GRID_A = (0.0, 1.0)
GRID_B = (0.0,)
GRID_BETA = (0.0, 0.1, 0.2, 0.4)


def components(ev: Events, d: int) -> np.ndarray:
    """Daily rates ``(L, Y, Q)`` per index cell for day ``d``, shape ``(len(ev.index_cells), 3)``.

    ``L``: events per day over all days before ``d``; ``Y``: over the last 365 days; ``Q``: over
    the last 91 days (events per cell per day).
    """
    span = max(float(d - ev.first_day), 1.0)
    long = ev.window_counts(-np.inf, d) / span
    return np.column_stack([long, ev.window_counts(d - 365, d) / min(365.0, span),
                            ev.window_counts(d - 91, d) / min(91.0, span)])


class CountBlend(Forecaster):
    """Long-run + recent counts with neighbour smoothing; see the module docstring.

    Parameters
    ----------
    window : int
        Validation days before each cut-off on which ``(a, b, β)`` are fitted.
    grid_a, grid_b, grid_beta : tuple of float
        Candidate weights of the 365-day rate, the 91-day rate and the ring-1 neighbours.
    **kw
        See :class:`~qauipsiz.hotspot.forecast._base.Forecaster`.
    """

    name = "blend"
    assumes = ("places keep their long-run rate, shifted by the last year and quarter, and risk "
               "spills a little into the neighbouring cells; the mix that ranked the last months best "
               "ranks the next weeks best")

    def __init__(self, window: int = 112, grid_a=GRID_A, grid_b=GRID_B, grid_beta=GRID_BETA, **kw):
        super().__init__(**kw)
        self.window = int(window)
        self.grid = [(float(a), float(b), float(g)) for a in grid_a for b in grid_b for g in grid_beta]
        if (0.0, 0.0, 0.0) in self.grid:  # the long-run baseline first: it wins ties
            self.grid.remove((0.0, 0.0, 0.0))
            self.grid.insert(0, (0.0, 0.0, 0.0))

    def _parts(self, q: Query, d: int) -> tuple[np.ndarray, np.ndarray]:
        """``(C, RC)`` at the queried cells: the components and their ring-1 neighbour sums."""
        ev = self._need()
        c = components(ev, d)
        pos = q.pos
        cq = np.column_stack([take(c[:, k], pos) for k in range(3)])
        rc = ev.ring1 @ c
        rq = np.column_stack([take(rc[:, k], pos) for k in range(3)])
        return cq, rq

    def tune(self, q: Query, cutoff: int) -> dict:
        """The ``(a, b, β)`` of the grid with the best pooled PAI on ``[cutoff − window, cutoff)``."""
        ev = self._need()
        n = len(q.grid)
        ks = [max(1, round(f * n)) for f in (0.01, 0.05)]
        hits = np.zeros((len(self.grid), 2))
        total = 0.0
        for v in range(max(cutoff - self.window, ev.first_day + 28), cutoff):
            a = q.counts(ev, v, v + 1)
            if a.sum() == 0:
                continue
            total += a.sum()
            cq, rq = self._parts(q, v)
            for g, (wa, wb, beta) in enumerate(self.grid):
                w = np.array([1.0, wa, wb])
                s = cq @ w + beta * (rq @ w)
                hits[g] += [top_hits(s, a, k) for k in ks]
        if total == 0:
            return {"a": 0.0, "b": 0.0, "beta": 0.0, "validation_pai": None}
        pai = (hits / total / (np.array(ks) / n)).mean(1)
        best = int(np.argmax(pai))  # first of equals: the long-run baseline wins ties
        wa, wb, beta = self.grid[best]
        return {"a": wa, "b": wb, "beta": beta, "validation_pai": round(float(pai[best]), 3),
                "longrun_validation_pai": round(float(pai[0]), 3) if self.grid[0] == (0.0, 0.0, 0.0) else None}

    def score_with(self, q: Query, d: int, p: dict) -> np.ndarray:
        """Scores (events per day, smoothed) for day ``d`` with weights ``p``."""
        cq, rq = self._parts(q, d)
        w = np.array([1.0, p["a"], p["b"]])
        return cq @ w + p["beta"] * (rq @ w)

    def score(self, q: Query, d: int) -> np.ndarray:
        """Scores for day ``d`` with the weights fitted at its cut-off."""
        return self.score_with(q, d, self.params_for(q, d))
