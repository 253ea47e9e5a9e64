"""One intervention's evaluation: periods, counts, DiD with placebo inference, WDQ, synthetic control."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import shapely

from qauipsiz.hotspot.cities import City
from qauipsiz.hotspot.evaluation import report
from qauipsiz.hotspot.evaluation.areas import (
    Areas,
    EventTable,
    build_areas,
    comparison_mask,
    in_area,
    prepare_events,
)
from qauipsiz.hotspot.evaluation.did import (
    UnitEstimate,
    composite_sums,
    estimate_unit,
    ratio_effect,
)
from qauipsiz.hotspot.evaluation.power import decidable as _decidable
from qauipsiz.hotspot.evaluation.power import mde_log
from qauipsiz.hotspot.evaluation.sites import pseudo_counts, rank_inference
from qauipsiz.hotspot.evaluation.synth import MIN_PRE_PERIODS, synth_effect
from qauipsiz.hotspot.evaluation.wdq import reading, success_measure, wdq

MONTH_DAYS = 365.2425 / 12
CELL_AREA_M2 = 105_332.5  # mean H3 res-9 hexagon
N_DONORS = 40
PLACEBO_DESIGNS = ("sites", "composites")


@dataclass(frozen=True)
class Design:
    """The time design of one evaluation."""

    installed: str  # local date of the installation, YYYY-MM-DD
    t0: float  # installation, days since epoch (UTC)
    edges: np.ndarray  # period edges, days since epoch; the first P_pre periods are before
    p_pre: int
    p_post: int
    before_months: float
    after_months: float


def _install_ts(installed, city: City) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(installed)
    except (ValueError, TypeError) as e:
        raise ValueError(f"installed {installed!r}: not a date (use YYYY-MM-DD)") from e
    if ts is pd.NaT or pd.isna(ts):
        raise ValueError(f"installed {installed!r}: not a date (use YYYY-MM-DD)")
    return ts.tz_localize(city.tz) if ts.tzinfo is None else ts.tz_convert(city.tz)


def _shift(ts: pd.Timestamp, months: float, sign: int) -> pd.Timestamp:
    """``ts`` moved by whole calendar months plus the fraction as days (30.44 per month)."""
    whole = math.floor(months + 1e-9)
    frac = pd.Timedelta(days=(months - whole) * MONTH_DAYS)
    return ts + pd.DateOffset(months=whole) + frac if sign > 0 else ts - pd.DateOffset(months=whole) - frac


def _days(ts: pd.Timestamp) -> float:
    return ts.tz_convert("UTC").value / 86_400e9


def make_design(ev: EventTable, installed, before_months: float, after_months: float) -> Design:
    """Periods around the installation, checked against the span of the incidents.

    Parameters
    ----------
    ev : EventTable
    installed : str or Timestamp
        Installation date; a naive date is local to the city.
    before_months, after_months : float
        Length of the pre- and post-periods: whole calendar months plus any fraction as days
        (30.44 per month; two weeks ≈ 0.46).  Each is cut into ``ceil(months)`` equal periods.

    Returns
    -------
    Design
    """
    if not (before_months > 0 and after_months > 0):
        raise ValueError(f"before_months {before_months}, after_months {after_months}: both must be > 0")
    ts = _install_ts(installed, ev.city)
    t0 = _days(ts)
    start, end = _days(_shift(ts, before_months, -1)), _days(_shift(ts, after_months, +1))
    p_pre = max(1, math.ceil(before_months - 1e-9))
    p_post = max(1, math.ceil(after_months - 1e-9))
    edges = np.r_[np.linspace(start, t0, p_pre + 1)[:-1], np.linspace(t0, end, p_post + 1)]
    day = ts.strftime("%Y-%m-%d")
    lo = pd.Timestamp(ev.t_min * 86_400e9, tz="UTC").tz_convert(ev.city.tz).strftime("%Y-%m-%d")
    hi = pd.Timestamp(ev.t_max * 86_400e9, tz="UTC").tz_convert(ev.city.tz).strftime("%Y-%m-%d")
    if ev.t_min > edges[0] + 2.0 or ev.t_max < edges[-1] - 2.0:
        raise ValueError(f"installed {day}: the incidents cover {lo} to {hi}, but {before_months:g} months before "
                         f"and {after_months:g} after are needed")
    return Design(day, t0, edges, p_pre, p_post, float(before_months), float(after_months))


@dataclass
class EvaluationResult:
    """The outcome of one evaluation; see the package docstring for the fields of :meth:`to_dict`."""

    effect_pct: float | None
    ci_low_pct: float | None
    ci_high_pct: float | None
    p_value: float | None
    mde_pct: float | None
    decidable: bool
    wdq: float | None
    wdq_reading: str
    synth_effect_pct: float | None
    series: list[dict[str, Any]]
    n_treated_cells: int
    n_comparison: int
    extra: dict[str, Any] = field(default_factory=dict)
    _text: dict[str, str] = field(default_factory=dict)
    treated_estimate: UnitEstimate | None = None  # raw estimates (log scale), also when not decidable
    ring_estimate: UnitEstimate | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dictionary (floats rounded, None for what is not reported)."""
        d = {
            "effect_pct": self.effect_pct, "ci_low_pct": self.ci_low_pct, "ci_high_pct": self.ci_high_pct,
            "p_value": self.p_value, "mde_pct": self.mde_pct, "decidable": bool(self.decidable),
            "wdq": self.wdq, "wdq_reading": self.wdq_reading, "synth_effect_pct": self.synth_effect_pct,
            "series": self.series, "n_treated_cells": int(self.n_treated_cells),
            "n_comparison": int(self.n_comparison), **self.extra,
        }
        d["text"] = dict(self._text)
        return d

    def text(self, lang: str = "en") -> str:
        """The one-paragraph summary in ``lang`` (kk, ru or en)."""
        if lang not in report.LANGS:
            raise ValueError(f"lang {lang!r}: use kk, ru or en")
        return self._text[lang]


def _r(v, nd: int = 2):
    return None if v is None or not np.isfinite(v) else round(float(v), nd)


def _pct(log_v):
    return None if log_v is None else 100.0 * (math.exp(log_v) - 1.0)


def _category_labels(categories) -> dict[str, list[str]]:
    if not categories:
        return {}
    from qauipsiz.hotspot.taxonomy import categories as cat_table

    t = cat_table().set_index("category")
    out: dict[str, list[str]] = {}
    for lang in report.LANGS:
        col = f"category_{lang}"
        out[lang] = [str(t.at[c, col]).lower() if c in t.index else str(c) for c in categories]
    return out


@dataclass
class _Counts:
    cube: np.ndarray  # cells x periods
    treated: np.ndarray  # periods
    ring: np.ndarray
    pool: np.ndarray  # bool per cell
    period: np.ndarray  # per event: its period index (-1 or >= P outside the window)


def _counts(ev: EventTable, areas: Areas, design: Design) -> _Counts:
    n_p = len(design.edges) - 1
    p = np.searchsorted(design.edges, ev.t_days, side="right") - 1
    ok = (p >= 0) & (p < n_p)
    cube = np.bincount(ev.cell[ok] * n_p + p[ok], minlength=len(ev.cells) * n_p).reshape(len(ev.cells), n_p)
    t_in = in_area(ev, areas.treated) & ok
    r_in = in_area(ev, areas.ring) & ok
    return _Counts(cube, np.bincount(p[t_in], minlength=n_p), np.bincount(p[r_in], minlength=n_p),
                   comparison_mask(ev, areas), p)


def _null(a_pre: np.ndarray, a_post: np.ndarray, c_pre: float, c_post: float) -> tuple[np.ndarray, np.ndarray]:
    """Null DiD estimates of pseudo units against one comparison and their Poisson standard errors
    (0.5 added to all four counts where one is zero, as :func:`~.did.ratio_effect`)."""
    v = np.stack([a_pre, a_post, np.full(len(a_pre), c_pre), np.full(len(a_pre), c_post)]).astype(float)
    v = np.where((v <= 0).any(axis=0), v + 0.5, v)
    return np.log(v[1] / v[0]) - np.log(v[3] / v[2]), np.sqrt((1.0 / v).sum(axis=0))


def _with_rank_inference(u: UnitEstimate, null: tuple[np.ndarray, np.ndarray]) -> UnitEstimate:
    p, ci, sd, centre = rank_inference(u.est, u.se_poisson, *null)
    u.p_value, u.ci, u.se_null, u.mde, u.n_placebo, u.null_centre = p, ci, sd, mde_log(sd), len(null[0]), centre
    return u


def _site_placebo(  # noqa: PLR0913 -- the evaluation's pieces
        ev: EventTable, areas: Areas, c: _Counts, design: Design, t: UnitEstimate, ring: np.ndarray,
        rng, n_placebo: int, with_ring: bool, score_at) -> tuple[UnitEstimate, UnitEstimate] | None:
    """Treated and ring estimates with inference from pseudo-treated site sets (``sites.py``), both
    against the treated area's matched comparison; None when no site sets can be drawn."""
    n_p = len(design.edges) - 1
    pre = (c.period >= 0) & (c.period < design.p_pre)
    post = (c.period >= design.p_pre) & (c.period < n_p)
    pc = pseudo_counts(ev, areas, pre, post, n_placebo, rng, score_at=score_at)
    if pc is None:
        return None
    _with_rank_inference(t, _null(pc.t_pre, pc.t_post, t.comp_pre, t.comp_post))
    r_pre, r_post = float(ring[: design.p_pre].sum()), float(ring[design.p_pre:].sum())
    est, se = ratio_effect(r_pre, r_post, t.comp_pre, t.comp_post)
    r = UnitEstimate(est, se, None, None, None, None, 0, r_pre, r_post, t.comp_pre, t.comp_post, t.comp_idx)
    if with_ring and r_pre > 0:
        _with_rank_inference(r, _null(pc.r_pre, pc.r_post, t.comp_pre, t.comp_post))
    return t, r


def _unit(  # noqa: PLR0913 -- the unit and its pool
        series: np.ndarray, pool_cube: np.ndarray, feat: np.ndarray, p_pre: int, area_m2: float, rng,
        n_placebo: int, dist_km: np.ndarray, score=None) -> UnitEstimate:
    return estimate_unit(series[:p_pre], float(series[p_pre:].sum()), pool_cube[:, :p_pre],
                         pool_cube[:, p_pre:].sum(axis=1), feat[:, :p_pre], area_m2 / CELL_AREA_M2, rng, n_placebo,
                         dist_km=dist_km, score=score)


def _synth(c: _Counts, pool_cube: np.ndarray, design: Design, rng) -> float | None:
    if design.p_pre < MIN_PRE_PERIODS:
        return None
    u_pre = float(c.treated[: design.p_pre].sum())
    if u_pre < 20:
        return None
    pre_tot = pool_cube[:, : design.p_pre].sum(axis=1).astype(float)
    donors = composite_sums(pool_cube.astype(float), pre_tot, (u_pre,), N_DONORS, rng)[:, 0, :]
    if len(donors) < 5:
        return None
    return synth_effect(c.treated[: design.p_pre].astype(float), c.treated[design.p_pre:].astype(float),
                        donors[:, : design.p_pre].T, donors[:, design.p_pre:].T)


def _series(c: _Counts, pool_cube: np.ndarray, comp_idx: np.ndarray, design: Design, tz: str) -> list[dict]:
    comp = pool_cube[comp_idx].sum(axis=0).astype(float)
    u_pre = c.treated[: design.p_pre].sum()
    c_pre = comp[: design.p_pre].sum()
    scale = u_pre / c_pre if c_pre > 0 else 0.0
    starts = pd.to_datetime(design.edges[:-1] * 86_400e9, utc=True).tz_convert(tz).strftime("%Y-%m-%d")
    return [{"period": str(s), "after": bool(k >= design.p_pre), "treated": int(c.treated[k]),
             "comparison": round(float(comp[k] * scale), 2), "ring": int(c.ring[k])}
            for k, s in enumerate(starts)]


def evaluate_prepared(ev: EventTable, areas: Areas, installed, *, before_months: float = 12,  # noqa: PLR0913 -- the evaluation's options, each documented
                      after_months: float = 6, seed: int = 0, n_placebo: int = 999, with_synth: bool = True,
                      with_ring: bool = True, placebo: str = "composites", block_scores=None,
                      meta: dict[str, Any] | None = None) -> EvaluationResult:
    """Evaluate one intervention on prepared incidents and areas (reuse ``ev`` for many areas).

    Parameters
    ----------
    ev : EventTable
        From :func:`prepare_events`.
    areas : Areas
        From :func:`build_areas`.
    installed : str or Timestamp
        Installation date (naive = local to the city).
    before_months, after_months : float
        Pre- and post-period lengths, months of 30.44 days.
    seed : int
        Seed of the placebo composites.
    n_placebo : int
        Placebo pairs (null estimates) wanted.
    with_ring : bool
        Also run the placebo inference for the ring (its effect, interval and the WDQ's reading);
        False leaves those None (for fast batch runs).
    with_synth : bool
        Also fit the synthetic control (needs ≥ 8 pre-periods).
    placebo : str
        ``"composites"`` (default): random composites of comparison cells give the null
        distribution; the ring with its own comparison.  ``"sites"``: pseudo-treated site sets drawn
        like the treated set (:mod:`~qauipsiz.hotspot.evaluation.sites`), the ring compared with the
        treated area's comparison and tested against the pseudo sets' rings (falls back to
        composites when no site sets can be drawn).  ``bench/evaluation_calibration.py`` measures
        both; ``docs/evaluation.md`` says why the default stays.
    block_scores : BlockScores, optional
        A place covariate (the block CPTED score, :class:`~qauipsiz.hotspot.evaluation.covariate.BlockScores`):
        comparison cells and pseudo sites are also matched on it.
    meta : dict, optional
        Labels for the texts (``intervention``, ``place``, ``categories``, ``dark_only``).

    Returns
    -------
    EvaluationResult
    """
    design = make_design(ev, installed, before_months, after_months)
    rng = np.random.default_rng(seed)
    c = _counts(ev, areas, design)
    pool_cube = c.cube[c.pool]
    if len(pool_cube) == 0:
        raise ValueError("treated: no comparison cell left in the city outside the treated area and ring")
    feat = np.asarray(ev.neighbours[c.pool] @ c.cube[:, : design.p_pre])
    dist_km = shapely.distance(areas.treated, shapely.points(ev.cell_x[c.pool], ev.cell_y[c.pool])) / 1000.0
    if placebo not in PLACEBO_DESIGNS:
        raise ValueError(f"placebo {placebo!r}: use one of {', '.join(PLACEBO_DESIGNS)}")
    score_at = None if block_scores is None else block_scores.at
    t_score = None
    if block_scores is not None:
        t_score = (block_scores.at(ev.cell_x[c.pool], ev.cell_y[c.pool]),
                   block_scores.mean_at(areas.site_xy[:, 0], areas.site_xy[:, 1]))
    area_t, area_r = float(shapely.area(areas.treated)), float(shapely.area(areas.ring))
    got = None
    if placebo == "sites":
        t = _unit(c.treated, pool_cube, feat, design.p_pre, area_t, rng, 0, dist_km, t_score)
        got = _site_placebo(ev, areas, c, design, t, c.ring, rng, n_placebo, with_ring, score_at)
    if got is not None:
        t, r = got
        used = "sites"
    else:
        t = _unit(c.treated, pool_cube, feat, design.p_pre, area_t, rng, n_placebo, dist_km, t_score)
        r = _unit(c.ring, pool_cube, feat, design.p_pre, area_r, rng, n_placebo if with_ring else 0, dist_km)
        used = "composites"
    ok = _decidable(t.mde) and t.p_value is not None
    q = wdq(t.unit_pre, t.unit_post, r.unit_pre, r.unit_post, t.comp_pre, t.comp_post)
    sm = success_measure(t.unit_pre, t.unit_post, t.comp_pre, t.comp_post)
    ring_sig = r.p_value is not None and r.p_value < 0.05
    read = reading(q, sm, ring_sig) if ok else "not_applicable"
    sc = _synth(c, pool_cube, design, rng) if (with_synth and ok) else None
    meta = dict(meta or {})
    n_cells = len(np.unique(ev.cell[in_area(ev, areas.treated)]))
    extra = {
        "installed": design.installed, "before_months": design.before_months, "after_months": design.after_months,
        "radius_m": areas.radius_m, "ring_m": list(areas.ring_m),
        "intervention": meta.get("intervention"), "place": meta.get("place"),
        "categories": list(meta.get("categories") or []) or None, "dark_only": bool(meta.get("dark_only", False)),
        "category_labels": _category_labels(meta.get("categories")),
        "counts": {"treated_before": int(t.unit_pre), "treated_after": int(t.unit_post),
                   "comparison_before": int(t.comp_pre), "comparison_after": int(t.comp_post),
                   "ring_before": int(r.unit_pre), "ring_after": int(r.unit_post)},
        "se_log_poisson": _r(t.se_poisson, 4), "n_placebo": int(t.n_placebo),
        "ring_effect_pct": _r(_pct(r.est), 1) if _decidable(r.mde) else None,
        "ring_ci_low_pct": _r(_pct(r.ci[0]), 1) if (r.ci and _decidable(r.mde)) else None,
        "ring_ci_high_pct": _r(_pct(r.ci[1]), 1) if (r.ci and _decidable(r.mde)) else None,
        "ring_p_value": _r(r.p_value, 4) if _decidable(r.mde) else None,
        "ring_mde_pct": _r(r.mde_pct, 1),
        "treated_area_km2": round(float(shapely.area(areas.treated)) / 1e6, 4),
        "ring_area_km2": round(float(shapely.area(areas.ring)) / 1e6, 4),
        "method": ("DiD on counts vs matched H3 res-9 cells; pseudo-treated site sets of matched busyness for p, "
                   "95 % CI and MDE" if used == "sites" else
                   "DiD on counts vs matched H3 res-9 cells; placebo composites for p, 95 % CI and MDE"),
        "placebo_design": used,
        "placebo_centre_pct": _r(_pct(t.null_centre), 1),
        "ring_placebo_centre_pct": _r(_pct(r.null_centre), 1),
        "match_cpted": block_scores is not None,
    }
    res = EvaluationResult(
        effect_pct=_r(_pct(t.est), 1) if ok else None,
        ci_low_pct=_r(_pct(t.ci[0]), 1) if ok and t.ci else None,
        ci_high_pct=_r(_pct(t.ci[1]), 1) if ok and t.ci else None,
        p_value=_r(t.p_value, 4) if ok else None,
        mde_pct=_r(t.mde_pct, 1),
        decidable=bool(ok),
        wdq=_r(q, 3) if ok else None,
        wdq_reading=read,
        synth_effect_pct=_r(sc, 1),
        series=_series(c, pool_cube, t.comp_idx, design, ev.city.tz),
        n_treated_cells=int(n_cells),
        n_comparison=len(t.comp_idx),
        extra=extra,
        treated_estimate=t,
        ring_estimate=r,
    )
    res._text = report.texts(res.to_dict())
    return res


def evaluate(events: pd.DataFrame, treated, installed, *, city: City, before_months: float = 12,  # noqa: PLR0913 -- the stable public signature (issue 18)
             after_months: float = 6, radius_m: float = 150.0, ring_m: tuple[float, float] = (150.0, 400.0),
             categories=None, dark_only: bool = False, seed: int = 0, intervention: str | None = None,
             place: str | None = None, block_scores=None, placebo: str = "composites",
             exclude=None) -> EvaluationResult:
    """Evaluate one intervention: see the package docstring (:mod:`qauipsiz.hotspot.evaluation`)."""
    ev = prepare_events(events, city, categories, dark_only)
    areas = build_areas(treated, city, radius_m, ring_m, exclude=exclude)
    if isinstance(categories, str):
        categories = [categories]
    meta = {"intervention": intervention, "place": place, "categories": categories, "dark_only": dark_only}
    return evaluate_prepared(ev, areas, installed, before_months=before_months, after_months=after_months,
                             seed=seed, meta=meta, block_scores=block_scores, placebo=placebo)
