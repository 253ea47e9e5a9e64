"""Before / after comparison: incident counts of two periods per H3 cell and per district, and their difference.

``GET /cities/{city}/compare.geojson`` (permission ``hotspots``) takes the map's filters (category,
hours, weekdays, light, district) and two periods of local dates, ``before_start`` ≤ day <
``before_end`` and ``after_start`` ≤ day < ``after_end``.  Each feature is one H3 cell (resolution
``res``, default 8, ≈ 0.74 km²) holding incidents in either period: ``count_before``,
``count_after``, ``diff`` (after − before) and ``diff_per_30d`` (the difference of the two periods'
counts per 30 days, so periods of unequal length compare fairly).  ``meta`` holds the totals, the
periods' lengths in days and the same numbers per district.  Aggregated counts only; nothing
incident-level.
"""
from __future__ import annotations

import dataclasses
import json
from datetime import date
from typing import Annotated

import numpy as np
import pandas as pd
from fastapi import APIRouter, Depends, Query, Request

from qauipsiz.api.auth import Principal, require
from qauipsiz.api.errors import ApiError, client_input
from qauipsiz.api.routers._deps import CityKey, Filters, Services, city_obj, filters, services
from qauipsiz.api.routers._geo import GEOJSON, cached_bytes, etag_for, feature_collection

router = APIRouter(tags=["hotspots"])

Day = Annotated[date, Query(description="local date YYYY-MM-DD")]


def period_counts(df: pd.DataFrame, res: int) -> pd.Series:
    """Incidents per H3 cell of resolution ``res`` (index: uint64 cell ids; stored cells are res 11)."""
    from qauipsiz.hotspot.h3grid import cells_to_parent

    h = df["h3"].to_numpy(np.uint64)
    h = h[h != 0]
    if not len(h):
        return pd.Series([], dtype=np.int64)
    parents = cells_to_parent(h, res)
    u, n = np.unique(parents, return_counts=True)
    return pd.Series(n.astype(np.int64), index=u)


def compare_tables(before: pd.DataFrame, after: pd.DataFrame, res: int, days_before: int,
                   days_after: int) -> pd.DataFrame:
    """Per-cell counts of two periods.

    Parameters
    ----------
    before, after : DataFrame
        Incidents of each period (``h3`` res-11 cell ids as uint64).
    res : int
        H3 resolution of the comparison cells.
    days_before, days_after : int
        Lengths of the periods in days.

    Returns
    -------
    DataFrame
        ``h3`` (uint64), ``count_before``, ``count_after``, ``diff`` (after − before, incidents) and
        ``diff_per_30d`` (after/days_after − before/days_before, × 30: incidents per 30 days), one row
        per cell with an incident in either period, sorted by cell id.
    """
    b, a = period_counts(before, res), period_counts(after, res)
    idx = np.union1d(b.index.to_numpy(np.uint64), a.index.to_numpy(np.uint64))
    cb = b.reindex(idx, fill_value=0).to_numpy(np.int64)
    ca = a.reindex(idx, fill_value=0).to_numpy(np.int64)
    rate = 30.0 * (ca / max(days_after, 1) - cb / max(days_before, 1))
    return pd.DataFrame({"h3": idx, "count_before": cb, "count_after": ca, "diff": ca - cb,
                         "diff_per_30d": np.round(rate, 3)})


@router.get("/cities/{city}/compare.geojson",
            responses={200: {"content": {GEOJSON: {}}, "description": "GeoJSON H3 cells with counts of two periods"}},
            summary="Before / after: counts of two periods per H3 cell and district, and the difference")
def compare(request: Request, city: CityKey, before_start: Day, before_end: Day, after_start: Day, after_end: Day,
            res: Annotated[int, Query(ge=6, le=9, description="H3 resolution of the cells")] = 8,
            f: Filters = Depends(filters), p: Principal = Depends(require("hotspots")),
            svc: Services = Depends(services)):
    for a, b, name in ((before_start, before_end, "before"), (after_start, after_end, "after")):
        if b <= a:
            raise ApiError(422, f"{name}: the end date must be after the start date", slug="invalid-date-range")
    c = city_obj(city)
    ver = svc.version(city)
    key = ("compare", city, json.dumps(f.as_params(), sort_keys=True), before_start, before_end, after_start,
           after_end, res, ver)

    def build() -> bytes:
        from qauipsiz.hotspot.h3grid import cells_to_boundaries

        inc = svc.incidents(city)
        with client_input():
            bdf = dataclasses.replace(f, start=before_start, end=before_end).apply(inc, c)
            adf = dataclasses.replace(f, start=after_start, end=after_end).apply(inc, c)
        db, da = (before_end - before_start).days, (after_end - after_start).days
        t = compare_tables(bdf, adf, res, db, da)
        dist = []
        for d in c.districts.itertuples():
            nb = int((bdf["district"] == d.district).sum())
            na = int((adf["district"] == d.district).sum())
            dist.append({"district": str(d.district), "name_kk": str(d.name_kk), "name_ru": str(d.name_ru),
                         "name_en": str(d.name_en), "count_before": nb, "count_after": na, "diff": na - nb})
        meta = {"city": city, "res": res, "before": [before_start.isoformat(), before_end.isoformat()],
                "after": [after_start.isoformat(), after_end.isoformat()], "days_before": db, "days_after": da,
                "total_before": len(bdf), "total_after": len(adf), "districts": dist,
                "notice": "recorded incidents only; recorded crime under-counts"}
        geoms = cells_to_boundaries(t["h3"].to_numpy(np.uint64)) if len(t) else np.array([], dtype=object)
        props = t.assign(h3=[format(int(v), "x") for v in t["h3"]]).astype(object)
        return feature_collection(geoms, props, precision=1e-6, extra={"meta": meta})

    body = svc.cache.get_or_compute(key, build)
    return cached_bytes(request, body, GEOJSON, etag_for(*key))
