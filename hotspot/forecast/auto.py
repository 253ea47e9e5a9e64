"""``method="auto"``: the member with the best recent record on the user's own data.

At every refit cut-off ``C`` each member forecasts each day of ``[C − window, C)`` exactly as it
would have on that day (from events before it, with the parameters of that day's own cut-off),
and the member with the best pooled PAI (mean of 1 % and 5 % of the area) is used for the days
from ``C`` to the next cut-off. The choice uses the past only; ties go to the earlier member in
``members`` (the baselines come first).
"""
from __future__ import annotations

import numpy as np

from qauipsiz.hotspot.forecast._base import Events, Forecaster, Query, day_date, validation_score


class AutoSelect(Forecaster):
    """Per-cut-off choice among ``members`` by rolling validation; see the module docstring.

    Parameters
    ----------
    members : dict name -> Forecaster, optional
        Candidates (fitted together with this one). Default: every registered method.
    window : int
        Validation days before each cut-off.
    **kw
        See :class:`~qauipsiz.hotspot.forecast._base.Forecaster`.
    """

    name = "auto"
    assumes = "the method that ranked the last weeks best will rank the coming weeks best"

    def __init__(self, members: dict | None = None, window: int = 28, **kw):
        super().__init__(**kw)
        self.window = int(window)
        if members is None:
            from qauipsiz.hotspot.forecast import make_forecaster, member_names

            members = {m: make_forecaster(m, **kw) for m in member_names()}
        self.members = dict(members)
        self.progress = None  # optional callable(message: str), told which member is being validated

    def use_cache(self, cache) -> AutoSelect:
        """Keep this choice and every member's tuned parameters in ``cache`` (see :meth:`Forecaster.use_cache`)."""
        super().use_cache(cache)
        for m in self.members.values():
            m.use_cache(cache)
        return self

    def _say(self, msg: str) -> None:
        if self.progress is not None:
            self.progress(msg)

    def fit(self, events) -> AutoSelect:
        """Fit every member on the same events (members already fitted on them are kept)."""
        super().fit(events)
        ev = self.events
        for m in self.members.values():
            if m.events is not ev:
                m.fit(ev)
        return self

    def tune(self, q: Query, cutoff: int) -> dict:
        """Validation PAI of every member on ``[cutoff − window, cutoff)`` and the chosen name."""
        ev: Events = self._need()
        days = [v for v in range(cutoff - self.window, cutoff) if v > ev.first_day + 28]
        scores = {}
        for k, (name, m) in enumerate(self.members.items()):
            self._say(f"auto: validating {name} on {len(days)} days before {day_date(cutoff).date()} "
                      f"({k + 1}/{len(self.members)})")
            scores[name] = validation_score(m, q, days)
        finite = {k: v for k, v in scores.items() if np.isfinite(v)}
        chosen = max(finite, key=lambda k: (finite[k], -list(self.members).index(k))) if finite else \
            ("longrun" if "longrun" in self.members else next(iter(self.members)))
        self._say(f"auto: chose {chosen}; fitting it at {day_date(cutoff).date()}")
        return {"chosen": chosen, "validation_pai": {k: round(v, 3) for k, v in scores.items()}}

    def score(self, q: Query, d: int) -> np.ndarray:
        """The chosen member's scores for day ``d``."""
        return self.members[self.params_for(q, d)["chosen"]].score(q, d)

    def chosen(self, cells, day) -> str:
        """Name of the member used for ``day``."""
        from qauipsiz.hotspot.forecast._base import day_number

        q = cells if isinstance(cells, Query) else self.query(cells)
        d = int(day) if isinstance(day, int | np.integer) else day_number(day)
        return self.params_for(q, d)["chosen"]
