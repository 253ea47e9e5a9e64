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

HEAVY = ("ranker", "seppp", "prospective", "kde", "blend")  # slowest to fit first
PRELOAD = {"ranker": "sklearn.ensemble"}  # imported before forking, so the side process and this one share it


class AutoSelect(Forecaster):
    """Per-cut-off choice among ``members`` by rolling validation; see the module docstring.

    Parameters
    ----------
    members : dict name -> Forecaster, optional
        Candidates (fitted together with this one). Default: every registered method.
    window : int
        Validation days before each cut-off.
    jobs : int
        With 2 or more (and where processes can be forked), the heaviest member (the first of
        :data:`HEAVY`) is validated in a second process while the others are validated here, and that
        process goes on to fit it at the cut-off in case it is chosen. Scores and choice do not depend on it.
    **kw
        See :class:`~qauipsiz.hotspot.forecast._base.Forecaster`.
    """

    name = "auto"
    assumes = "the method that ranked the last weeks best will rank the coming weeks best"

    def __init__(self, members: dict | None = None, window: int = 28, jobs: int = 1, **kw):
        super().__init__(**kw)
        self.window = int(window)
        self.jobs = max(1, int(jobs))
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

    def set_context(self, table) -> AutoSelect:
        """Give ``table`` (every incident, all categories) to the members that use a context."""
        for m in self.members.values():
            if hasattr(m, "set_context"):
                m.set_context(table)
        return self

    def fit(self, events) -> AutoSelect:
        """Fit every member on the same events (members already fitted on them are kept).

        A DataFrame with a ``category`` column is also the context of members that use one and
        have none yet (see :meth:`set_context`), as when they are fitted on it directly.
        """
        if hasattr(events, "columns") and "category" in events.columns:
            for m in self.members.values():
                if getattr(m, "_context_table", False) is None:
                    m.set_context(events)
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
        n = len(self.members)
        when = f"{len(days)} days before {day_date(cutoff).date()}"
        side, heavy = None, next((k for k in HEAVY if k in self.members), None)
        if self.jobs > 1 and heavy is not None and n > 1:
            import importlib

            from qauipsiz.hotspot.forecast import _sidefit

            if heavy in PRELOAD:  # imported once here, not in both processes
                importlib.import_module(PRELOAD[heavy])
            side = _sidefit.start(self.members[heavy], q, days, cutoff)
        scores = {}
        here = [k for k in self.members if side is None or k != heavy]
        for k, name in enumerate(here):
            also = f"; {heavy} in a second process" if side is not None else ""
            self._say(f"auto: validating {name} on {when} ({k + 1}/{len(here)}{also})")
            scores[name] = validation_score(self.members[name], q, days)
        if side is not None:
            self._say(f"auto: waiting for {heavy}'s validation")
            s = side.score()
            scores[heavy] = s if s is not None else validation_score(self.members[heavy], q, days)
            scores = {k: scores[k] for k in self.members}
        finite = {k: v for k, v in scores.items() if np.isfinite(v)}
        chosen = max(finite, key=lambda k: (finite[k], -list(self.members).index(k))) if finite else \
            ("longrun" if "longrun" in self.members else next(iter(self.members)))
        self._say(f"auto: chose {chosen}; fitting it at {day_date(cutoff).date()}")
        if side is not None:  # the side process went on fitting its member at the cut-off
            if chosen == heavy:
                side.take_fit()  # on failure params_for fits it here
            else:
                side.stop()
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
