"""Recommended sites for cameras, SOS buttons and police posts, with marginal gain per site."""
from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from api.auth import Principal, require
from api.routers._deps import CityKey, Services, city_obj, optional_module, services

router = APIRouter(tags=["recommendations"])


@router.get("/cities/{city}/recommendations/{kind}.geojson", summary="Ranked sites with marginal coverage gain")
def recommendations(city: CityKey, kind: Literal["cameras", "sos", "posts"],
                    n: Annotated[int, Query(ge=1, le=500, description="number of sites")] = 20,
                    p: Principal = Depends(require("recommendations")), svc: Services = Depends(services)):
    city_obj(city)
    optional_module("cpted.siting", f"{kind} siting")
