"""Rolling-origin backtest: one forecast per day, each from the events strictly before it.

For every test day and method the cells are ranked and the day's events counted in the top
1, 5 and 10 % of the study area (ties at the cut get fractional credit). Pooled over the days:

* hit rate = events caught / all events of the test days;
* PAI (predictive accuracy index, Chainey et al. 2008) = hit rate / area share;
* PEI* (Hunt 2016) = events caught / the most any cells of that area could have caught that day.

95 % intervals come from a bootstrap over test days (the same resampled days for every method);
``vs best baseline`` is the PAI ratio to the better count baseline at that cut, paired.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from qauipsiz.hotspot.forecast._base import (
    FRACS,
    Forecaster,
    best_hits,
    day_date,
    day_number,
    top_hits,
)

BASELINES = ("recent", "longrun")


@dataclass
class BacktestResult:
    """Per-day hits and the pooled table (see :meth:`table`)."""

    methods: list
    days: np.ndarray
    n_events: np.ndarray  # per day
    hits: dict  # method -> (n_days, n_fracs)
    best: np.ndarray  # (n_days, n_fracs)
    area_share: np.ndarray  # (n_fracs,)
    fracs: tuple
    n_cells: int
    chosen: list | None = None

    def table(self, n_boot: int = 1000, seed: int = 0) -> pd.DataFrame:
        """One row per method: hit, PAI (with 95 % interval), PEI* and the ratio to the best baseline.

        Parameters
        ----------
        n_boot : int
            Bootstrap resamples of the test days.
        seed : int
            Seed of the resampling.

        Returns
        -------
        DataFrame
            Columns ``method``, then per cut ``f`` (e.g. ``1%``): ``hit f``, ``PAI f``, ``PAI f lo``,
            ``PAI f hi``, ``PEI* f``, ``vs base f`` (ratio of PAI to the better baseline),
            ``vs base f lo``, ``vs base f hi``.
        """
        rng = np.random.default_rng(seed)
        nd = len(self.days)
        boot = rng.integers(0, nd, size=(n_boot, nd)) if nd else np.zeros((0, 0), int)
        tot = self.n_events.sum()
        btot = self.n_events[boot].sum(1) if nd else np.zeros(0)
        pai = {m: self.hits[m].sum(0) / max(tot, 1) / self.area_share for m in self.methods}
        bpai = {m: self.hits[m][boot].sum(1) / np.maximum(btot, 1)[:, None] / self.area_share
                for m in self.methods}
        base = [m for m in BASELINES if m in self.methods]
        rows = []
        for m in self.methods:
            row: dict = {"method": m}
            for k, f in enumerate(self.fracs):
                lab = f"{f:.0%}"
                row[f"hit {lab}"] = self.hits[m][:, k].sum() / max(tot, 1)
                row[f"PAI {lab}"] = pai[m][k]
                row[f"PAI {lab} lo"], row[f"PAI {lab} hi"] = np.percentile(bpai[m][:, k], [2.5, 97.5])
                row[f"PEI* {lab}"] = self.hits[m][:, k].sum() / max(self.best[:, k].sum(), 1e-12)
                if base:
                    b = max(base, key=lambda x, k=k: float(pai[x][k]))  # type: ignore[misc]
                    row[f"vs base {lab}"] = pai[m][k] / max(pai[b][k], 1e-12)
                    r = bpai[m][:, k] / np.maximum(bpai[b][:, k], 1e-12)
                    row[f"vs base {lab} lo"], row[f"vs base {lab} hi"] = np.percentile(r, [2.5, 97.5])
            rows.append(row)
        return pd.DataFrame(rows)


def backtest(forecasters: dict[str, Forecaster], cells, start, end, *, fracs=FRACS,
             progress=None) -> BacktestResult:
    """Score every day of ``[start, end]`` with every (fitted) forecaster.

    Parameters
    ----------
    forecasters : dict name -> Forecaster
        Fitted on the same events (``make_set(...)`` then ``fit``); all see the whole history, but
        each forecast of day ``d`` uses events before ``d`` only.
    cells : array of uint64
        The study area's H3 cells (the ranked cells; the area shares are of these).
    start, end : date-like
        First and last test day (local calendar days, inclusive).
    fracs : tuple of float
        Area shares of the cuts.
    progress : callable, optional
        Called with ``(i, n_days)`` after each day.

    Returns
    -------
    BacktestResult
    """
    names = list(forecasters)
    if not names:
        raise ValueError("backtest: no methods")
    first = forecasters[names[0]]
    ev = first._need()
    q = first.query(cells)
    n = len(q.grid)
    ks = np.array([min(max(1, round(f * n)), n) for f in fracs])
    d0, d1 = day_number(start), day_number(end)
    if d1 < d0:
        raise ValueError(f"backtest: --to {end} is before --from {start}")
    days = np.arange(d0, d1 + 1)
    hits = {m: np.zeros((len(days), len(fracs))) for m in names}
    best = np.zeros((len(days), len(fracs)))
    n_ev = np.zeros(len(days))
    chosen = []
    for i, d in enumerate(days):
        a = q.counts(ev, int(d), int(d) + 1)
        n_ev[i] = a.sum()
        best[i] = [best_hits(a, k) for k in ks]
        for m in names:
            s = forecasters[m].predict(q, int(d))
            hits[m][i] = [top_hits(s, a, k) for k in ks]
        if "auto" in forecasters:
            chosen.append(getattr(forecasters["auto"], "chosen")(q, int(d)))  # noqa: B009 -- AutoSelect only
        if progress is not None:
            progress(i + 1, len(days))
    return BacktestResult(methods=names, days=days, n_events=n_ev, hits=hits, best=best,
                          area_share=ks / n, fracs=tuple(fracs), n_cells=n, chosen=chosen or None)


def format_table(res: BacktestResult, n_boot: int = 1000, seed: int = 0) -> str:
    """A Markdown table of :meth:`BacktestResult.table`: PAI with its interval, PEI*, hit rate, ratio."""
    t = res.table(n_boot, seed)
    labs = [f"{f:.0%}" for f in res.fracs]
    head = ["method"] + [x for lab in labs for x in (f"PAI {lab} (95 % CI)", f"PEI* {lab}", f"hit {lab}",
                                                      f"÷ best baseline {lab} (95 % CI)")]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in t.to_dict("records"):
        cells = [r["method"]]
        for lab in labs:
            cells += [f"{r[f'PAI {lab}']:.2f} ({r[f'PAI {lab} lo']:.2f}–{r[f'PAI {lab} hi']:.2f})",
                      f"{r[f'PEI* {lab}']:.2f}", f"{r[f'hit {lab}']:.1%}"]
            cells.append("—" if r["method"] in BASELINES or f"vs base {lab}" not in r else
                         f"{r[f'vs base {lab}']:.3f} ({r[f'vs base {lab} lo']:.2f}–{r[f'vs base {lab} hi']:.2f})")
        lines.append("| " + " | ".join(cells) + " |")
    span = f"{day_date(int(res.days[0])).date()} … {day_date(int(res.days[-1])).date()}" if len(res.days) else "—"
    lines.append(f"\n{len(res.days)} test days ({span}), {int(res.n_events.sum()):,} test events, "
                 f"{res.n_cells:,} cells")
    if res.chosen:
        vc = pd.Series(res.chosen).value_counts()
        lines.append("auto chose: " + ", ".join(f"{k} {v} days" for k, v in vc.items()))
    return "\n".join(lines)


def study_cells_from_events(events: pd.DataFrame, res: int, until=None, ring: int = 1) -> np.ndarray:
    """A study area for a place without a registered polygon: cells within ``ring`` of an event.

    Parameters
    ----------
    events : DataFrame
        ``occurred_at``, ``lat``, ``lon``.
    res : int
        H3 resolution.
    until : date-like, optional
        Only events before this UTC date shape the area (keep it before the test window).
    ring : int
        Rings of H3 neighbours added around each event's cell.

    Returns
    -------
    numpy.ndarray of uint64, sorted
    """
    from qauipsiz.hotspot.h3grid import grid_disk_pairs, latlng_to_cells

    e = events
    if until is not None:
        occ = pd.to_datetime(e["occurred_at"], utc=True)
        e = e[(occ < pd.Timestamp(until, tz="UTC")).to_numpy()]
    lat = pd.to_numeric(e["lat"], errors="coerce").to_numpy(float)
    lon = pd.to_numeric(e["lon"], errors="coerce").to_numpy(float)
    ok = np.isfinite(lat) & np.isfinite(lon)
    if not ok.any():
        raise ValueError("study area: no located event")
    seed = np.unique(latlng_to_cells(lat[ok], lon[ok], res))
    _, dst = grid_disk_pairs(seed, ring)
    return np.unique(np.concatenate([seed, dst]))


def method_record(events, cells, method: str, *, res: int = 9, tz: str = "UTC", days: int = 28,  # noqa: PLR0913 -- keyword-only options of one backtest
                  end=None, seed: int = 0, n_boot: int = 500) -> dict:
    """Backtest of one method and the two baselines on the last ``days`` days of the data.

    Parameters
    ----------
    events : DataFrame or Events
        The city's incidents (``occurred_at``, ``lat``, ``lon``).
    cells : array of uint64
        The study cells (the ranked area).
    method : str
        A key of :data:`qauipsiz.hotspot.forecast.METHODS`.
    res : int
        H3 resolution.
    tz : str
        Time zone of the forecast days.
    days : int
        Test days, ending at ``end``.
    end : date-like, optional
        Last test day (local); default the day of the last event.
    seed : int
        Seed of the forecasters and of the bootstrap.
    n_boot : int
        Bootstrap resamples of the test days.

    Returns
    -------
    dict
        ``method``, ``from``, ``to`` (local dates), ``days``, ``events`` (test events), ``cells``; per cut
        ``f`` in 1/5/10 %: ``pai`` ``{f: [PAI, lo, hi]}`` (95 % bootstrap over days), ``pei``,
        ``hit_rate``; ``baseline_pai`` ``{f: PAI}`` of the better of recent/longrun at that cut,
        ``baseline`` ``{f: its name}`` and ``vs_baseline`` ``{f: PAI ratio}`` (``None`` for a baseline).
    """
    from qauipsiz.hotspot.forecast import make_set
    from qauipsiz.hotspot.forecast._base import Events, prepare_events

    if days < 1:
        raise ValueError(f"days={days}: need at least one test day")
    ev = events if isinstance(events, Events) else prepare_events(events, res, tz)
    last = int(ev.day[-1]) if end is None else day_number(end)
    fs = make_set(list(dict.fromkeys([*BASELINES, method])), res=res, tz=tz, seed=seed)
    for f in fs.values():
        f.fit(ev)
    r = backtest(fs, cells, day_date(last - days + 1).date(), day_date(last).date())
    t = r.table(n_boot=n_boot, seed=seed).set_index("method")
    labs = [f"{f:.0%}" for f in r.fracs]
    base = {lab: BASELINES[int(np.argmax([float(t.loc[b, f"PAI {lab}"]) for b in BASELINES]))] for lab in labs}
    row = t.loc[method]

    def rnd(x) -> float:
        return round(float(x), 3)

    return {
        "method": method, "from": str(day_date(int(r.days[0])).date()), "to": str(day_date(int(r.days[-1])).date()),
        "days": len(r.days), "events": int(r.n_events.sum()), "cells": int(r.n_cells),
        "pai": {lab: [rnd(row[f"PAI {lab}"]), rnd(row[f"PAI {lab} lo"]), rnd(row[f"PAI {lab} hi"])] for lab in labs},
        "pei": {lab: rnd(row[f"PEI* {lab}"]) for lab in labs},
        "hit_rate": {lab: rnd(row[f"hit {lab}"]) for lab in labs},
        "baseline": base,
        "baseline_pai": {lab: rnd(t.loc[base[lab], f"PAI {lab}"]) for lab in labs},
        "vs_baseline": None if method in BASELINES else {lab: rnd(row[f"vs base {lab}"]) for lab in labs},
    }
