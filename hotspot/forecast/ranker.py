"""A learned ranker: gradient-boosted trees (scikit-learn ``HistGradientBoostingRegressor``,
Poisson loss) on each cell's own history.

Features of a cell for day ``d`` (all from events before ``d``): counts in the last 1, 7, 28, 91
and 365 days and the long-run daily rate; the same counts summed over the ring-1 neighbours
(28, 365 days); events on ``d``'s weekday and at night (18–06 local) in the last 365 days; days
since the cell's last event; events in darkness (sun below −6° at the event's place and time) in
the last 365 days and the share of day ``d`` in darkness at the city (:data:`DARK_FEATURES`); and,
when given, a per-cell covariate such as a CPTED block score (``covariates``; NaN where unknown,
which the trees handle natively). The target is the cell's mean daily count over ``d … d + horizon − 1``
(default 1 day, all before the cut-off). Training rows are the
cells with any event within one ring in the year before, on every ``day_step``-th day of the
``train_days`` before the cut-off; cells without such history score 0.
"""
from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_limits

from qauipsiz.hotspot.forecast._base import NIGHT, Events, Forecaster, Query
from qauipsiz.hotspot.forecast.features import cell_covariate, day_darkness, event_darkness

FEATURES = ("c1", "c7", "c28", "c91", "c365", "rate_all", "n28", "n365", "weekday365", "night365",
            "days_since")
DARK_FEATURES = ("dark365", "day_dark")


def index_features(ev: Events, d: int) -> np.ndarray:
    """Feature matrix ``(len(ev.index_cells), len(FEATURES))`` for day ``d`` (events before ``d``)."""
    c = {w: ev.window_counts(d - w, d) for w in (1, 7, 28, 91, 365)}
    k = ev.before(d)
    rate = np.bincount(ev.pos[:k], minlength=len(ev.index_cells)) / max(d - ev.first_day, 1)
    wd = int((d + 3) % 7)  # 1970-01-01 was a Thursday (weekday 3)
    same_wd = ev.weekday == wd
    night = (ev.hour >= NIGHT[0]) | (ev.hour < NIGHT[1])
    last = np.full(len(ev.index_cells), -1e9)
    i0 = ev.before(d - 365)
    # rows are sorted by time: a cell's last event is its first row in the reversed slice
    cell_rev = ev.pos[i0:k][::-1]
    u, first = np.unique(cell_rev, return_index=True)
    last[u] = ev.day[i0:k][::-1][first]
    since = np.minimum(d - last, 400.0)
    return np.column_stack([c[1], c[7], c[28], c[91], c[365], rate, ev.ring1 @ c[28], ev.ring1 @ c[365],
                            ev.window_counts(d - 365, d, same_wd), ev.window_counts(d - 365, d, night), since])


class LearnedRanker(Forecaster):
    """Gradient-boosted Poisson regression of tomorrow's count per cell; see the module docstring.

    Parameters
    ----------
    train_days : int
        Days before the cut-off whose cells are training rows.
    day_step : int
        Use every ``day_step``-th of those days.
    max_iter : int
        Boosting iterations.
    horizon : int
        Days after each training day whose mean daily count is the target (all before the cut-off):
        e.g. 7 gives a week of targets per row (not benchmarked; the default 1 is what bench/forecast.py measured).
    learning_rate, max_bins : float, int
        Of the gradient boosting.
    darkness : bool
        Add :data:`DARK_FEATURES` (computed from the events' places and times and the time zone).
    covariates : mapping or Series, optional
        H3 cell at ``res`` (int or hex string) -> a score of the place, e.g. the CPTED block score
        where the city has one; one more feature (NaN where a cell has none). Default: none.
    **kw
        See :class:`~qauipsiz.hotspot.forecast._base.Forecaster`.
    """

    name = "ranker"
    assumes = ("the relation between a cell's recent and long-run history (and its neighbours') and "
               "tomorrow's count is the same as over the past year")

    def __init__(self, train_days: int = 364, day_step: int = 7, max_iter: int = 100, horizon: int = 1,
                 learning_rate: float = 0.05, max_bins: int = 255, darkness: bool = True, covariates=None,
                 **kw):
        super().__init__(**kw)
        self.darkness = bool(darkness)
        self._covariates = covariates
        self._cov: np.ndarray | None = None
        self.covariates_key: str | None = None  # SHA-1 of the covariate mapping: part of the cache key
        self.learning_rate, self.max_bins = float(learning_rate), int(max_bins)
        self.horizon = int(horizon)
        self.train_days, self.day_step, self.max_iter = int(train_days), int(day_step), int(max_iter)

    def fit(self, events) -> LearnedRanker:
        """Take the event history (see :class:`Forecaster`); place the covariates on its cells."""
        super().fit(events)
        self._cov, self.covariates_key = None, None
        if self._covariates is not None:
            self._cov, self.covariates_key = cell_covariate(self._need(), self._covariates)
        return self

    def features(self, d: int) -> np.ndarray:
        """Feature matrix over the index cells for day ``d``: :func:`index_features`, then the
        darkness features and the covariate when enabled (events before ``d`` only)."""
        ev = self._need()
        f = index_features(ev, d)
        cols = [f]
        if self.darkness:
            dark = event_darkness(ev, self.tz)
            cols += [ev.window_counts(d - 365, d, dark)[:, None],
                     np.full((len(f), 1), float(day_darkness(ev, self.tz, [d])[0]))]
        if self._cov is not None:
            cols.append(self._cov[:, None])
        return np.hstack(cols) if len(cols) > 1 else f

    def tune(self, q: Query, cutoff: int):
        """Train on the days before ``cutoff`` (independent of the query)."""
        key = ("model", self.cutoff(cutoff))
        if key in self._params:
            return self._params[key]
        from sklearn.ensemble import HistGradientBoostingRegressor

        ev = self._need()
        xs, ys = [], []
        first = max(ev.first_day + 28, cutoff - self.train_days)
        for v in range(cutoff - 1, first - 1, -self.day_step):
            f = self.features(v)
            active = (f[:, 4] > 0) | (f[:, 7] > 0)
            xs.append(f[active])
            ys.append(ev.window_counts(v, min(v + self.horizon, cutoff))[active] / min(self.horizon, cutoff - v))
        if not xs or sum(len(y) for y in ys) < 100 or sum(y.sum() for y in ys) < 10:
            self._params[key] = None
            return None
        model = HistGradientBoostingRegressor(loss="poisson", max_iter=self.max_iter,
                                              learning_rate=self.learning_rate, max_bins=self.max_bins,
                                              max_leaf_nodes=15, min_samples_leaf=100, l2_regularization=1.0,
                                              early_stopping=False, random_state=self.seed)
        with threadpool_limits(1):  # OpenMP on a shared machine oversubscribes: one thread is faster
            model.fit(np.concatenate(xs), np.concatenate(ys))
        self._params[key] = model
        return model

    def score(self, q: Query, d: int) -> np.ndarray:
        """Predicted count of day ``d`` per queried cell (0 without history within one ring)."""
        self._need()
        model = self.params_for(q, d)
        f = self.features(d)
        out = np.zeros(len(q.pos))
        ok = q.pos >= 0
        fq = f[q.pos[ok]]
        active = (fq[:, 4] > 0) | (fq[:, 7] > 0)
        if model is None:  # too little history: fall back to the long-run rate
            vals = fq[:, 5]
        else:
            vals = np.zeros(len(fq))
            if active.any():
                with threadpool_limits(1):
                    vals[active] = model.predict(fq[active])
            vals[~active] = 0.0
        out[ok] = vals
        return out
