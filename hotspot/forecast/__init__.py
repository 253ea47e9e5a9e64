"""Forecasters of tomorrow's crime per H3 cell, one interface (``fit(events)``, ``predict(cells, day)``).

| name | class | what |
|---|---|---|
| ``recent`` | :class:`RecentCounts` | events of the last 28 days (baseline) |
| ``longrun`` | :class:`LongRunCounts` | events of all past days (baseline) |
| ``prospective`` | :class:`ProspectiveHotspot` | Bowers, Johnson and Pease (2004), tuned bandwidths |
| ``kde`` | :class:`DecayKDE` | quartic KDE with fitted radius and time decay |
| ``seppp`` | :class:`SelfExciting` | self-exciting point process (Mohler et al. 2011), EM |
| ``ranker`` | :class:`LearnedRanker` | gradient-boosted trees on lagged and neighbour counts |
| ``blend`` | :class:`CountBlend` | long-run + last-year counts, neighbour-smoothed, weights fitted on the past |
| ``stack`` | :class:`StackedCounts` | non-negative least-squares stack of own and per-category context counts |
| ``auto`` | :class:`AutoSelect` | the best of the others on the last 28 days (past only) |

See ``docs/forecasting.md``.
"""
from __future__ import annotations

from qauipsiz.hotspot.forecast._base import (
    FRACS,
    Events,
    Forecaster,
    Query,
    day_date,
    day_number,
    make_point_query,
    prepare_events,
)
from qauipsiz.hotspot.forecast.auto import AutoSelect
from qauipsiz.hotspot.forecast.blend import CountBlend
from qauipsiz.hotspot.forecast.counts import LongRunCounts, RecentCounts
from qauipsiz.hotspot.forecast.etas import SelfExciting
from qauipsiz.hotspot.forecast.kde_decay import DecayKDE
from qauipsiz.hotspot.forecast.prospective import ProspectiveHotspot
from qauipsiz.hotspot.forecast.ranker import LearnedRanker
from qauipsiz.hotspot.forecast.stack import StackedCounts

METHODS: dict[str, type[Forecaster]] = {
    "recent": RecentCounts,
    "longrun": LongRunCounts,
    "prospective": ProspectiveHotspot,
    "kde": DecayKDE,
    "seppp": SelfExciting,
    "ranker": LearnedRanker,
    "blend": CountBlend,
    "stack": StackedCounts,
    "auto": AutoSelect,
}
BASELINES = ("recent", "longrun")


def member_names() -> list[str]:
    """Every method ``auto`` chooses from (all but ``auto``), baselines first."""
    return [m for m in METHODS if m != "auto"]


def make_forecaster(method: str, **kw) -> Forecaster:
    """A new forecaster of ``method`` (a key of :data:`METHODS`).

    Parameters
    ----------
    method : str
        ``recent``, ``longrun``, ``prospective``, ``kde``, ``seppp``, ``ranker``, ``blend``, ``stack`` or ``auto``.
    **kw
        ``res``, ``tz``, ``seed``, ``refit_days`` and the method's own options.

    Returns
    -------
    Forecaster
    """
    if method not in METHODS:
        raise ValueError(f"method {method!r}: use one of {', '.join(METHODS)}")
    return METHODS[method](**kw)


def make_set(methods, **kw) -> dict[str, Forecaster]:
    """Forecasters for ``methods`` sharing their members: ``auto`` reuses the others' instances.

    Parameters
    ----------
    methods : iterable of str
        Method names; ``auto`` adds every member it needs.
    **kw
        Options passed to each forecaster.

    Returns
    -------
    dict name -> Forecaster
    """
    methods = list(dict.fromkeys(methods))
    for m in methods:
        if m not in METHODS:
            raise ValueError(f"method {m!r}: use one of {', '.join(METHODS)}")
    names = member_names() if "auto" in methods else [m for m in methods if m != "auto"]
    out = {m: make_forecaster(m, **kw) for m in names}
    if "auto" in methods:
        out["auto"] = AutoSelect(members={m: out[m] for m in member_names()}, **kw)
    return {m: out[m] for m in methods}


__all__ = ["BASELINES", "FRACS", "METHODS", "AutoSelect", "CountBlend", "DecayKDE", "Events", "Forecaster", "LearnedRanker",
           "LongRunCounts", "ProspectiveHotspot", "Query", "RecentCounts", "SelfExciting", "StackedCounts", "day_date",
           "day_number", "make_forecaster", "make_point_query", "make_set", "member_names", "prepare_events"]
