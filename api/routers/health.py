"""Liveness and readiness."""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from qauipsiz.api.errors import ApiError
from qauipsiz.api.routers._deps import Services, services

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str


class Ready(BaseModel):
    status: str
    store: str
    cities: dict[str, int]
    cache: dict


@router.get("/health", response_model=Health, summary="Liveness: the process answers")
def health() -> Health:
    return Health(status="ok")


@router.get("/ready", response_model=Ready, summary="Readiness: the store answers; incident counts per city")
def ready(request: Request, svc: Services = Depends(services)) -> Ready:
    try:
        store = svc.store()
        counts = {}
        from qauipsiz.hotspot.cities import list_cities

        for c in list_cities():
            n = store.count_incidents(c)
            if n:
                counts[c] = n
    except Exception as e:  # noqa: BLE001 - readiness reports any store failure as 503
        raise ApiError(503, f"store not ready: {type(e).__name__}: {e}", slug="not-ready") from e
    return Ready(status="ready", store=store.backend, cities=counts, cache=svc.cache.stats())
