"""Recommended sites for cameras, SOS buttons and police posts, with marginal gain per site."""
from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
import pandas as pd
import shapely
from fastapi import APIRouter, Depends, Query, Request

from qauipsiz.api.auth import Principal, require
from qauipsiz.api.routers import _engine
from qauipsiz.api.routers._deps import CityKey, Services, city_obj, services
from qauipsiz.api.routers._geo import GEOJSON, cached_bytes, etag_for, feature_collection

router = APIRouter(tags=["recommendations"])


@router.get("/cities/{city}/recommendations/{kind}.geojson",
            responses={200: {"content": {GEOJSON: {}}, "description": "ranked sites (points)"}},
            summary="Ranked camera / SOS / post sites with their marginal coverage gain")
def recommendations(request: Request, city: CityKey, kind: Literal["cameras", "sos", "posts"],
                    n: Annotated[int, Query(ge=1, le=200, description="number of sites (budget)")] = 20,
                    lang: Annotated[Literal["kk", "ru", "en"], Query()] = "ru",
                    p: Principal = Depends(require("recommendations")), svc: Services = Depends(services)):
    city_obj(city)
    ver = svc.version(city)

    def build():
        t = _engine.recommendations(svc, city, kind, n, lang)
        props = pd.DataFrame(t).drop(columns=[c for c in ("geometry",) if c in t.columns])
        summ = t.attrs.get("summary", {})
        summ = {k: v for k, v in summ.items() if isinstance(v, int | float | str | bool | np.integer | np.floating)}
        geoms = shapely.points(t["lon"].to_numpy(float), t["lat"].to_numpy(float))
        return feature_collection(geoms, props.astype(object),
                                  extra={"meta": {"city": city, "kind": kind, "budget": n,
                                                  **{k: (v.item() if hasattr(v, "item") else v) for k, v in summ.items()}}})

    key = ("recommend-geojson", city, kind, n, lang, ver)
    body = svc.cache.get_or_compute(key, build)
    return cached_bytes(request, body, GEOJSON, etag_for(*key))
