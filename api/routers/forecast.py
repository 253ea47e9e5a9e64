"""Forecast: tomorrow's (or any day's) score per H3 cell as GeoJSON hexagons (issue 16.7)."""
from __future__ import annotations

from typing import Annotated

import numpy as np
import pandas as pd
from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from qauipsiz.api.auth import Principal, require
from qauipsiz.api.errors import client_input
from qauipsiz.api.routers._deps import CityKey, Services, city_obj, services
from qauipsiz.api.routers._geo import GEOJSON, cached_bytes, etag_for, feature_collection

router = APIRouter(tags=["hotspots"])

METHODS = ("recent", "longrun", "prospective", "kde", "seppp", "ranker", "blend", "stack", "auto")


def _fitted(svc: Services, city: str, method: str, res: int, ver):
    """One fitted forecaster per (city, method, res, data version), kept in the service cache."""
    from qauipsiz.hotspot.forecast import make_forecaster

    key = ("forecaster", city, method, res, ver)
    return svc.cache.get_or_compute(
        key, lambda: make_forecaster(method, res=res, tz=city_obj(city).tz).fit(svc.incidents(city)))


def _record(svc: Services, city: str, method: str, res: int, ver) -> dict:
    """The method's backtest on the city's own last 28 days beside the baselines (cached per data version)."""
    from qauipsiz.hotspot.binning import fill_city_cells
    from qauipsiz.hotspot.forecast.backtest import method_record

    key = ("forecast-record", city, method, res, ver)
    c = city_obj(city)
    return svc.cache.get_or_compute(
        key, lambda: method_record(svc.incidents(city), fill_city_cells(c, res), method, res=res, tz=c.tz))


@router.get("/cities/{city}/forecast.geojson",
            responses={200: {"content": {GEOJSON: {}}, "description": "H3 hexagons with the day's forecast score"}},
            summary="Forecast of one local day per H3 cell (scores from the incidents before that day only)")
async def forecast_geojson(
    request: Request,
    city: CityKey,
    day: Annotated[str, Query(description="local date YYYY-MM-DD")],
    method: Annotated[str, Query(description="recent, longrun, prospective, kde, seppp, ranker, blend or auto")] = "auto",
    res: Annotated[int, Query(ge=8, le=10, description="H3 resolution")] = 9,
    top: Annotated[float, Query(gt=0, le=1, description="share of the city's cells returned, best first")] = 0.1,
    record: Annotated[bool, Query(description="add `meta.backtest`: the method's PAI on the city's last 28 days "
                                              "beside the better count baseline")] = True,
    p: Principal = Depends(require("forecast")),
    svc: Services = Depends(services),
):
    from qauipsiz.hotspot.forecast import day_number

    c = city_obj(city)
    with client_input():
        if method not in METHODS:
            raise ValueError(f"method {method!r}: use one of {', '.join(METHODS)}")
        try:
            d = day_number(day)
        except ValueError as e:
            raise ValueError(f"day {day!r}: use YYYY-MM-DD") from e
    ver = svc.version(city)
    key = ("forecast-geojson", city, d, method, res, top, record, ver)

    def build():
        from qauipsiz.hotspot.binning import fill_city_cells
        from qauipsiz.hotspot.h3grid import cells_to_boundaries

        fc = _fitted(svc, city, method, res, ver)
        cells = fill_city_cells(c, res)
        score = fc.predict(cells, d)
        n = max(1, round(top * len(cells)))
        order = np.argsort(-score, kind="stable")[:n]
        props = pd.DataFrame({"h3": [format(int(x), "x") for x in cells[order]],
                              "score": score[order].round(6), "rank": np.arange(1, n + 1),
                              "area_share": (np.arange(1, n + 1) / len(cells)).round(5)})
        info = fc.describe(fc.query(cells), d)
        params = {k: v for k, v in (info.get("params") or {}).items() if isinstance(v, int | float | str)}
        meta = {"city": city, "day": str(pd.Timestamp(day).date()), "method": method, "res": res,
                "cells": len(cells), "returned": n, "events_before_day": fc.events.before(d), **params}
        if method == "auto":
            meta["chosen"] = fc.chosen(cells, d)
        if record:
            meta["backtest"] = _record(svc, city, method, res, ver)
        return feature_collection(cells_to_boundaries(cells[order]), props.astype(object), precision=1e-5,
                                  extra={"meta": meta})

    body = svc.cache.get(key)
    if body is None:
        body = await run_in_threadpool(svc.cache.get_or_compute, key, build)
    return cached_bytes(request, body, GEOJSON, etag_for(*key))
