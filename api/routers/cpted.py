"""CPTED block scores and the fix-first list (backed by the CPTED engine, ``cpted.score``)."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from api.auth import Principal, require
from api.routers._deps import CityKey, Services, city_obj, optional_module, services
from api.routers._geo import GEOJSON

router = APIRouter(tags=["cpted"])


@router.get("/cities/{city}/cpted/blocks.geojson",
            responses={200: {"content": {GEOJSON: {}}, "description": "blocks with CPTED scores"}},
            summary="CPTED score per block (lighting, camera and access coverage)")
def cpted_blocks(request: Request, city: CityKey, p: Principal = Depends(require("cpted")),
                 svc: Services = Depends(services)):
    city_obj(city)
    optional_module("cpted.score", "CPTED block scores")


@router.get("/cities/{city}/cpted/fix-first", summary="Blocks to fix first, ranked")
def cpted_fix_first(city: CityKey, limit: Annotated[int, Query(ge=1, le=1000)] = 50,
                    p: Principal = Depends(require("cpted")), svc: Services = Depends(services)):
    city_obj(city)
    optional_module("cpted.score", "the CPTED fix-first list")
