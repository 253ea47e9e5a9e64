"""``stack``: a non-negative linear stack of count features, fitted on the past year's days.

For each index cell and day ``d`` (events before ``d`` only) the features are daily rates:

* of the forecast's own events: over all past days (``L``), the last 365 (``Y``) and 91 days
  (``Q``); ``L`` summed over the ring-1 and over the ring-2 neighbours; ``L`` on ``d``'s weekday
  only (events on that weekday per such day); the same season of earlier years (the
  ``season_days`` either side of ``d`` one and two years back);
* of the *context* (every incident the user gave, all categories; by default the forecast's own
  events), when it has a ``category`` column: the long-run rate of each of the ``k_categories``
  most frequent categories before the cut-off, of all the others together, and of all of them
  summed over the ring-1 neighbours. This lets a sparse category (e.g. battery) borrow strength
  from where the other crimes are, with a weight per category fitted on the past.

The score is ``Σ w_j · feature_j`` with ``w ≥ 0`` fitted by non-negative least squares of each
day's count on the features, pooled over every cell and every day of the ``train_days`` before
the refit cut-off (each day's features from its own past). The least-squares fit is exact: it
accumulates ``XᵀX`` and ``Xᵀy`` day by day and solves the same problem as
``scipy.optimize.nnls(X, y)`` on the stacked rows (tested).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.optimize import nnls

from qauipsiz.hotspot.forecast._base import Events, Forecaster, Query, take
from qauipsiz.hotspot.forecast.features import CategoryCounts, ring2_matrix

OWN = ("L", "Y", "Q", "ring1_L", "ring2_L", "weekday_L", "season")


def nnls_gram(gram: np.ndarray, xty: np.ndarray) -> np.ndarray:
    """``argmin_{w ≥ 0} ‖Xw − y‖²`` from ``G = XᵀX`` and ``Xᵀy`` alone.

    ``G`` is factored as ``AᵀA`` (eigen-decomposition; a tiny ridge of 1e-12 · mean diagonal keeps
    collinear features solvable; features that are zero on every row get weight 0), and
    ``nnls(A, A⁻ᵀ Xᵀy)`` has the same objective up to a constant.

    Parameters
    ----------
    gram : (p, p) array
    xty : (p,) array

    Returns
    -------
    (p,) array of non-negative weights
    """
    out = np.zeros(len(xty))
    live = np.diag(gram) > 0  # an all-zero feature gets weight 0
    p = int(live.sum())
    if p == 0:
        return out
    scale = np.sqrt(np.diag(gram)[live])
    g = gram[np.ix_(live, live)] / np.outer(scale, scale) + 1e-12 * np.eye(p)
    b = xty[live] / scale
    lam, vec = np.linalg.eigh(g)
    lam = np.maximum(lam, 1e-12)
    a = np.sqrt(lam)[:, None] * vec.T
    rhs = (vec.T @ b) / np.sqrt(lam)
    w, _ = nnls(a, rhs, maxiter=50 * p)
    out[live] = w / scale
    return out


class StackedCounts(Forecaster):
    """Non-negative least-squares stack of own and context count features; see the module docstring.

    Parameters
    ----------
    train_days : int
        Days before each refit cut-off whose cells are training rows (every day, all cells).
    min_history : int
        A training day needs this many days of history before it.
    k_categories : int
        Context categories with a feature of their own (the rest are pooled).
    season_days : int
        Half-width of the same-season window of earlier years, days.
    context : DataFrame, optional
        Every incident the user gave (``occurred_at``, ``lat``, ``lon``, ``category``), of which
        the forecast events are a part; see :meth:`set_context`. Default: the forecast events
        themselves when :meth:`fit` gets a DataFrame with a ``category`` column, else none.
    **kw
        See :class:`~qauipsiz.hotspot.forecast._base.Forecaster`.
    """

    name = "stack"
    assumes = ("tomorrow's count in a cell is a fixed non-negative mix of its own long-run, last-year, "
               "weekday and seasonal rates, its neighbours' and, per category, the rates of the other "
               "crimes there, with the mix that fitted the past year")

    def __init__(self, train_days: int = 365, min_history: int = 56, k_categories: int = 4,
                 season_days: int = 45, context: pd.DataFrame | None = None, **kw):
        super().__init__(**kw)
        self.train_days, self.min_history = int(train_days), int(min_history)
        self.k_categories, self.season_days = int(k_categories), int(season_days)
        self._context_table = context
        self._ctx: CategoryCounts | None = None
        self.context_key: str | None = None  # SHA-1 of the gridded context: part of the fitted-state cache key

    def set_context(self, table: pd.DataFrame | None) -> StackedCounts:
        """Use ``table`` (all categories) for the context features from the next :meth:`fit` on."""
        self._context_table = table
        return self

    def fit(self, events) -> StackedCounts:
        """Take the event history (see :class:`Forecaster`); grid the context on its cells."""
        table = self._context_table
        if table is None and isinstance(events, pd.DataFrame) and "category" in events.columns:
            table = events
        super().fit(events)
        ev = self._need()
        self._ring2 = ring2_matrix(ev)
        self._ctx = CategoryCounts(table, ev, self.tz) if table is not None else None
        self.context_key = None if self._ctx is None else self._ctx.key
        return self

    def _features(self, d: int, cats: list[int], counts=None) -> np.ndarray:
        """Features ``(len(index_cells), p)`` of day ``d`` (events before ``d``).

        ``counts`` is a :class:`_Running` positioned at ``d`` (the training loop), else the
        windows are counted directly; both give the same integer counts, so the same features.
        """
        ev: Events = self._need()
        raw = counts.at(d) if counts is not None else self._counts(d)
        span = float(max(d - ev.first_day, 1))
        cols = [raw["all"] / span]
        for w in (365, 91):
            cols.append(raw[w] / min(float(w), span))
        cols += [ev.ring1 @ cols[0], self._ring2 @ cols[0]]
        wd = int((d + 3) % 7)  # 1970-01-01 was a Thursday (weekday 3)
        n_wd = max(len(range(ev.first_day + (wd - ev.first_day - 3) % 7, d, 7)), 1)
        cols.append(raw["weekday"] / n_wd)
        n_seas = sum(2 * self.season_days + 1 for back in (365, 730) if d - back - self.season_days >= ev.first_day)
        cols.append(raw["season"] / n_seas if n_seas else cols[0])
        if self._ctx is not None and cats:
            c = raw["context"] / span
            rest = np.ones(c.shape[1], bool)
            rest[cats] = False
            cols += [c[:, k] for k in cats] + [c[:, rest].sum(1), ev.ring1 @ c.sum(1)]
        return np.column_stack(cols)

    def _counts(self, d: int) -> dict:
        """The integer window counts behind the features of day ``d``, counted directly."""
        ev: Events = self._need()
        wd = int((d + 3) % 7)
        seas = np.zeros(len(ev.index_cells))
        for back in (365, 730):
            lo, hi = d - back - self.season_days, d - back + self.season_days + 1
            if lo >= ev.first_day:
                seas += ev.window_counts(lo, hi)
        return {"all": ev.window_counts(-np.inf, d), 365: ev.window_counts(d - 365, d),
                91: ev.window_counts(d - 91, d), "weekday": ev.window_counts(-np.inf, d, ev.weekday == wd),
                "season": seas, "context": self._ctx.counts(-np.inf, d) if self._ctx is not None else None}

    def _codes(self, labels: list[str]) -> list[int]:
        if self._ctx is None:
            return []
        where = {lab: i for i, lab in enumerate(self._ctx.labels.tolist())}
        return [where[lab] for lab in labels if lab in where]

    def tune(self, q: Query, cutoff: int) -> dict:
        """Weights fitted on the days before ``cutoff`` (independent of the query)."""
        key = ("model", int(cutoff))
        if key not in self._params:
            self._params[key] = self._train(int(cutoff))
        return self._params[key]

    def _train(self, cutoff: int) -> dict:
        ev = self._need()
        cats = self._ctx.top(cutoff, self.k_categories) if self._ctx is not None else []
        labels = [str(self._ctx.labels[c]) for c in cats] if self._ctx is not None else []
        names = list(OWN) + ([f"cat:{lab}" for lab in labels] + ["cat:other", "ring1_all"] if cats else [])
        first = max(cutoff - self.train_days, ev.first_day + self.min_history)
        gram = np.zeros((len(names), len(names)))
        xty = np.zeros(len(names))
        n_rows = 0.0
        y_sum = 0.0
        running = _Running(ev, self._ctx, self.season_days)
        for v in range(first, cutoff):
            x = self._features(v, cats, running)
            y = ev.window_counts(v, v + 1)
            gram += x.T @ x
            xty += x.T @ y
            n_rows += len(y)
            y_sum += y.sum()
        if y_sum < 10:
            return {"weights": None, "features": names, "categories": labels, "train_days": 0}
        w = nnls_gram(gram, xty)
        return {"weights": [float(x) for x in w], "features": names, "categories": labels,
                "train_days": int(cutoff - first), "train_events": int(y_sum)}

    def score(self, q: Query, d: int) -> np.ndarray:
        """Expected events of day ``d`` per queried cell (the long-run rate while too little history)."""
        ev = self._need()
        p = self.params_for(q, d)
        if p["weights"] is None:
            return take(ev.window_counts(-np.inf, d), q.pos)
        x = self._features(d, self._codes(p["categories"]))
        w = np.asarray(p["weights"])
        if x.shape[1] != len(w):  # a cached fit whose categories this context lacks: own features only
            x, w = x[:, :len(OWN)], w[:len(OWN)]
        return take(x @ w, q.pos)


class _Prefix:
    """Rows with a day before ``t`` added up per slot; ``t`` only moves forward (O(rows) in all)."""

    def __init__(self, day: np.ndarray, slot: np.ndarray, size: int):
        self.day, self.slot = day, slot
        self.v = np.zeros(size)
        self.i = 0

    def at(self, t: float) -> np.ndarray:
        j = int(np.searchsorted(self.day, t, side="left"))
        if j < self.i:
            raise ValueError("_Prefix: days must not decrease")
        np.add.at(self.v, self.slot[self.i:j], 1.0)
        self.i = j
        return self.v


class _Running:
    """The window counts of :meth:`StackedCounts._counts` for increasing days, by running prefixes
    (each window is a difference of two prefix sums), instead of a count over every past row per day."""

    def __init__(self, ev: Events, ctx: CategoryCounts | None, season_days: int):
        n = len(ev.index_cells)
        self.ev, self.ctx, self.h = ev, ctx, int(season_days)
        self.lags = {k: _Prefix(ev.day, ev.pos, n) for k in (0, 365, 91)}
        self.season = {(back, end): _Prefix(ev.day, ev.pos, n) for back in (365, 730) for end in ("lo", "hi")}
        self.wd = _Prefix(ev.day, ev.pos + n * ev.weekday.astype(np.int64), 7 * n)
        self.c = None if ctx is None else _Prefix(ctx.day, ctx.code, ctx.n_cells * ctx.n_cats)

    def at(self, d: int) -> dict:
        ev, n = self.ev, len(self.ev.index_cells)
        now = self.lags[0].at(d).copy()
        seas = np.zeros(n)
        for back in (365, 730):
            lo, hi = d - back - self.h, d - back + self.h + 1
            if lo >= ev.first_day:
                seas += self.season[(back, "hi")].at(hi) - self.season[(back, "lo")].at(lo)
        wd = int((d + 3) % 7)
        ctx = None
        if self.c is not None and self.ctx is not None:
            ctx = self.c.at(d).reshape(self.ctx.n_cells, self.ctx.n_cats).copy()
        return {"all": now, 365: now - self.lags[365].at(d - 365), 91: now - self.lags[91].at(d - 91),
                "weekday": self.wd.at(d).reshape(7, n)[wd].copy(), "season": seas, "context": ctx}
