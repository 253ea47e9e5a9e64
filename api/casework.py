"""What the CLI (``qauipsiz case``) and the service (``/cities/{city}/cases``) share about SARA cases:
kk/ru/en labels and summaries, and the evaluation of a case computed on demand.

A case's evaluation is :func:`qauipsiz.hotspot.evaluation.evaluate` run on the city's located
incidents with the case's place as the treated area, its problem's categories (and local hours,
when given) as the incident filter, and the start of its action plan as the intervention date:
the earliest *done* date of an action item, else its earliest *due* date, unless the caller names
the date (``installed``).  Nothing is stored: the evaluation is recomputed from the data at every
call, so it follows new incidents and changes to the plan.
"""
from __future__ import annotations

import json
from datetime import date

import numpy as np
import pandas as pd
import shapely

from qauipsiz.api.store.cases import Case, check_date

STATUS_LABELS = {
    "scanning": {"kk": "анықтау", "ru": "выявление", "en": "scanning"},
    "analysis": {"kk": "талдау", "ru": "анализ", "en": "analysis"},
    "response": {"kk": "шаралар", "ru": "меры", "en": "response"},
    "assessment": {"kk": "бағалау", "ru": "оценка", "en": "assessment"},
    "closed": {"kk": "жабық", "ru": "закрыто", "en": "closed"},
}
"""SARA stages in Kazakh, Russian and English."""

LAYER_ID = {"cameras": "camera_id", "sos_buttons": "sos_id", "lamps": "lamp_id"}
"""The id column of each layer a case's place can name."""

_LAYER_LABELS = {"cameras": {"kk": "камералар", "ru": "камеры", "en": "cameras"},
                 "sos_buttons": {"kk": "SOS түймелері", "ru": "кнопки SOS", "en": "SOS buttons"},
                 "lamps": {"kk": "шамдар", "ru": "фонари", "en": "lamps"}}


def summary(case: Case) -> dict[str, str]:
    """One line per language (``kk``, ``ru``, ``en``) saying what the case is and how far it got."""
    n, done = len(case.actions), sum(a.done_date is not None for a in case.actions)
    if case.place_layer:
        count = ({"kk": "барлығы", "ru": "все", "en": "all"} if not case.place_ids
                 else dict.fromkeys(("kk", "ru", "en"), str(len(case.place_ids))))
        place = {lang: f"{_LAYER_LABELS[case.place_layer][lang]}: {count[lang]}" for lang in ("kk", "ru", "en")}
    else:
        place = {"kk": "сызылған аумақ", "ru": "нарисованная область", "en": "drawn area"}
    st = STATUS_LABELS[case.status]
    return {
        "kk": f"№{case.id} «{case.title}»: кезеңі — {st['kk']}; орны — {place['kk']}; "
              f"іс-шаралар жоспары: {n}, орындалғаны {done}.",
        "ru": f"№{case.id} «{case.title}»: стадия — {st['ru']}; место — {place['ru']}; "
              f"план мероприятий: {n}, выполнено {done}.",
        "en": f"#{case.id} “{case.title}”: stage {st['en']}; place: {place['en']}; "
              f"action plan: {n} items, {done} done.",
    }


def case_treated(case: Case, layers: dict) -> shapely.Geometry:
    """The case's treated place as a WGS84 shapely geometry: its drawn area, or the points of its
    layer features (all of them, or those whose ``*_id`` is listed).

    ``layers`` maps layer names to GeoDataFrames (EPSG:4326) as :meth:`api.store.Store.load_layers`
    returns them.  Raises ``ValueError`` naming missing layers or ids.
    """
    if case.area is not None:
        return shapely.from_geojson(json.dumps(case.area))
    name = case.place_layer
    g = layers.get(name)
    if g is None or len(g) == 0:
        raise ValueError(f"case {case.id}: the city has no {name!r} layer in the store")
    if case.place_ids:
        col = LAYER_ID[name]
        if col not in g.columns:
            raise ValueError(f"case {case.id}: layer {name!r} has no {col!r} column to pick features by")
        ids = pd.to_numeric(g[col], errors="coerce")
        missing = sorted(set(case.place_ids) - set(ids.dropna().astype(int)))
        if missing:
            raise ValueError(f"case {case.id}: layer {name!r} has no feature with {col} "
                             f"{', '.join(map(str, missing[:10]))}")
        g = g[ids.isin(case.place_ids).to_numpy()]
    geoms = [x for x in g.geometry.values if x is not None and not x.is_empty]
    if not geoms:
        raise ValueError(f"case {case.id}: the {name!r} features have no geometry")
    pts = shapely.get_parts(np.asarray(geoms, dtype=object))
    return shapely.multipoints(pts) if all(p.geom_type == "Point" for p in pts) else shapely.union_all(pts)


def json_safe(obj):
    """``obj`` with NumPy scalars as Python numbers, dates as ISO text and NaN/inf as ``None``."""
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | np.ndarray):
        return [json_safe(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    if isinstance(obj, date | pd.Timestamp):
        return obj.isoformat()
    return obj


def case_start(case: Case, installed=None) -> tuple[date, str]:
    """The intervention date of an evaluation and its rule: ``installed`` when given (``"given"``),
    else :meth:`Case.start_date` (``"done"`` / ``"due"``); ``ValueError`` when the plan has no date."""
    if installed not in (None, ""):
        return check_date(installed, "installed"), "given"
    d, rule = case.start_date()
    if d is None:
        raise ValueError(f"case {case.id}: the action plan has no due or done date; add a dated action item "
                         "or name the date (installed)")
    return d, rule


def evaluate_case(case: Case, incidents: pd.DataFrame, layers: dict, *, installed=None, before_months: float = 12,  # noqa: PLR0913 -- keyword-only options with defaults
                  after_months: float = 6, radius_m: float = 150.0, ring_m: tuple[float, float] = (150.0, 400.0),
                  seed: int = 0, dark_only: bool = False) -> dict:
    """The evaluation of ``case`` now, as a JSON-ready dict.

    Parameters
    ----------
    case : Case
        The stored case.
    incidents : DataFrame
        The city's located incidents (``hotspot.schema`` columns, ``occurred_at`` UTC).
    layers : dict
        The city's layers (only the case's layer is used).
    installed : date or str, optional
        Intervention date (local calendar date); default: the plan's (:func:`case_start`).
    before_months, after_months : float
        Lengths of the pre- and post-periods, months of 30.44 days (0.46 ≈ two weeks).
    radius_m : float
        Buffer around point features, metres.
    ring_m : (float, float)
        Displacement ring, metres from the features (or the area's edge).
    seed : int
        Seed of the permutation test.
    dark_only : bool
        Only incidents in the dark (sun below −6°), e.g. for lamps.

    Returns
    -------
    dict
        ``EvaluationResult.to_dict()`` plus ``case`` (id, title), ``installed``, ``installed_rule``
        (``given`` / ``done`` / ``due``) and ``hours`` (the local-hours filter applied, or ``None``).
    """
    from qauipsiz.hotspot.cities import get_city
    from qauipsiz.hotspot.evaluation import evaluate

    city = get_city(case.city)
    start, rule = case_start(case, installed)
    treated = case_treated(case, layers)
    events = incidents
    if case.hours:
        from qauipsiz.hotspot.binning import filter_mask

        events = incidents[filter_mask(incidents, city, hours=case.hours)]
    res = evaluate(events, treated, pd.Timestamp(start), city=city, before_months=float(before_months),
                   after_months=float(after_months), radius_m=float(radius_m), ring_m=tuple(ring_m),
                   categories=case.categories or None, dark_only=bool(dark_only), seed=int(seed),
                   intervention=case.place_layer or "area")
    out = json_safe(res.to_dict())
    out.update(case={"id": case.id, "title": case.title}, installed=start.isoformat(), installed_rule=rule,
               hours=case.hours, dark_only=bool(dark_only))
    return out
