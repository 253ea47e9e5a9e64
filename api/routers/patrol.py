"""Patrol plans: routes and posts per shift (restricted, audited)."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from api.auth import Principal, require
from api.routers._deps import CityKey, Services, city_obj, optional_module, services

router = APIRouter(tags=["patrol"])


@router.get("/cities/{city}/patrol-plans.geojson", summary="Patrol routes and posts (restricted, audited)")
def patrol_plans(request: Request, city: CityKey, p: Principal = Depends(require("patrol")),
                 svc: Services = Depends(services)):
    city_obj(city)
    optional_module("hotspot.patrol", "patrol plans")
