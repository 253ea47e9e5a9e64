"""CPTED block scores and the fix-first list (backed by ``cpted.score`` and ``cpted.fix_list``)."""
from __future__ import annotations

from typing import Annotated, Literal

import pandas as pd
from fastapi import APIRouter, Depends, Query, Request

from qauipsiz.api.auth import Principal, require
from qauipsiz.api.routers import _engine
from qauipsiz.api.routers._deps import CityKey, Services, city_obj, services
from qauipsiz.api.routers._geo import GEOJSON, cached_bytes, etag_for, feature_collection

router = APIRouter(tags=["cpted"])

Lang = Annotated[Literal["kk", "ru", "en"], Query(description="language of the fixes")]


@router.get("/cities/{city}/cpted/blocks.geojson",
            responses={200: {"content": {GEOJSON: {}}, "description": "blocks with CPTED scores"}},
            summary="CPTED score per block (0–100; ISO 22341 strategies, lighting / camera / access measures)")
def cpted_blocks(request: Request, city: CityKey, p: Principal = Depends(require("cpted")),
                 svc: Services = Depends(services)):
    city_obj(city)
    ver = svc.version(city)

    def build():
        b = _engine.scored_blocks(svc, city)
        props = pd.DataFrame(b.drop(columns=b.geometry.name))
        props = props[[c for c in props.columns if not c.startswith("c_")]]
        for c in props.columns:
            if props[c].dtype.kind == "f":
                props[c] = props[c].round(4)
        return feature_collection(b.geometry.values, props.astype(object), precision=1e-6)

    body = svc.cache.get_or_compute(("cpted-geojson", city, ver), build)
    return cached_bytes(request, body, GEOJSON, etag_for("cpted", city, ver))


@router.get("/cities/{city}/cpted/fix-first", summary="Blocks to fix first: priority = risk × (1 − score/100), with the nearest street and a point "
                    "inside the block (lat, lon)")
def cpted_fix_first(city: CityKey, limit: Annotated[int, Query(ge=1, le=1000)] = 50, lang: Lang = "ru",
                    p: Principal = Depends(require("cpted")), svc: Services = Depends(services)) -> list[dict]:
    city_obj(city)
    from qauipsiz.cpted import fix_list

    streets = svc.cache.get_or_compute(("streets-frame", city), lambda: fix_list.city_streets(city))
    t = fix_list.fix_first(_engine.scored_blocks(svc, city), n=limit, lang=lang, streets=streets)
    t = t.astype(object).where(t.notna(), None)
    return [{k: (float(v) if isinstance(v, float) else v) for k, v in r.items()} for r in t.to_dict("records")]
