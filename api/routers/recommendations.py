"""Recommended sites for cameras, SOS buttons and police posts, with marginal gain per site."""
from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
import pandas as pd
import shapely
from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from qauipsiz.api.auth import Principal, require
from qauipsiz.api.jobs import AsyncFlag, accepted, jobs_of, wants_async
from qauipsiz.api.routers import _engine
from qauipsiz.api.routers._deps import CityKey, Services, city_obj, services
from qauipsiz.api.routers._geo import GEOJSON, cached_bytes, etag_for, feature_collection
from qauipsiz.api.routers.jobs import ACCEPTED

router = APIRouter(tags=["recommendations"])


def sites_geojson(svc: Services, city: str, kind: str, n: int, lang: str) -> bytes:
    """The ranked sites as GeoJSON bytes (computed in the job pool, :mod:`api.jobs`; cached there)."""
    def build():
        t = _engine.recommendations(svc, city, kind, n, lang)
        props = pd.DataFrame(t).drop(columns=[c for c in ("geometry",) if c in t.columns])
        summ = t.attrs.get("summary", {})
        summ = {k: v for k, v in summ.items() if isinstance(v, int | float | str | bool | np.integer | np.floating)}
        geoms = shapely.points(t["lon"].to_numpy(float), t["lat"].to_numpy(float))
        return feature_collection(geoms, props.astype(object),
                                  extra={"meta": {"city": city, "kind": kind, "budget": n,
                                                  **{k: (v.item() if hasattr(v, "item") else v) for k, v in summ.items()}}})

    return svc.cache.get_or_compute(("recommend-geojson", city, kind, n, lang, svc.version(city)), build)


@router.get("/cities/{city}/recommendations/{kind}.geojson",
            responses={200: {"content": {GEOJSON: {}}, "description": "ranked sites (points)"}, **ACCEPTED},
            summary="Ranked camera / SOS / post sites with their marginal coverage gain")
async def recommendations(request: Request, city: CityKey, kind: Literal["cameras", "sos", "posts"],
                          n: Annotated[int, Query(ge=1, le=200, description="number of sites (budget)")] = 20,
                          lang: Annotated[Literal["kk", "ru", "en"], Query()] = "ru",
                          as_job: AsyncFlag = False,
                          p: Principal = Depends(require("recommendations")), svc: Services = Depends(services)):
    city_obj(city)
    ver = await run_in_threadpool(svc.version, city)
    jobs = jobs_of(request)
    args = (city, kind, n, lang)
    if wants_async(request, as_job):
        return accepted(jobs.submit(p, kind=f"recommendations-{kind}", permission="recommendations",
                                    resource=request.url.path, media_type=GEOJSON, target=f"{__name__}:sites_geojson",
                                    args=args, params={"city": city, "kind": kind, "n": n, "lang": lang}))
    key = ("recommend-geojson", city, kind, n, lang, ver)
    body = svc.cache.get(key)  # the server's own copy, so a repeat costs no trip to the pool
    if body is None:
        body = await jobs.run(f"{__name__}:sites_geojson", *args)
        svc.cache.put(key, body)
    return cached_bytes(request, body, GEOJSON, etag_for(*key))
