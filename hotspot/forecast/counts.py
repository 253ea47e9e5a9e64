"""The two count baselines every forecast is compared with: recent counts and long-run counts."""
from __future__ import annotations

import numpy as np

from qauipsiz.hotspot.forecast._base import Forecaster, Query, take


class RecentCounts(Forecaster):
    """Events per cell in the last ``window`` days (default 28) before the forecast day.

    Parameters
    ----------
    window : int
        Days counted back from the forecast day (exclusive).
    **kw
        See :class:`~qauipsiz.hotspot.forecast._base.Forecaster`.
    """

    name = "recent"
    assumes = "tomorrow's crime is where the last four weeks' was; nothing older matters"

    def __init__(self, window: int = 28, **kw):
        super().__init__(**kw)
        self.window = int(window)

    def score(self, q: Query, d: int) -> np.ndarray:
        """Counts of the last ``window`` days per queried cell."""
        ev = self._need()
        return take(ev.window_counts(d - self.window, d), q.pos)


class LongRunCounts(Forecaster):
    """Events per cell over the whole history before the forecast day."""

    name = "longrun"
    assumes = "places keep their long-run rate; recent changes are noise"

    def score(self, q: Query, d: int) -> np.ndarray:
        """Counts of every day before ``d`` per queried cell."""
        ev = self._need()
        return take(ev.window_counts(-np.inf, d), q.pos)
