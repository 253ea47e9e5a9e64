"""Liveness and readiness.

``/ready`` tells everyone whether the service can answer; the store backend, incident counts per
city and cache statistics are shown only to a caller with an API key (any role).
"""
from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from qauipsiz.api.auth import Principal, principal
from qauipsiz.api.errors import ApiError
from qauipsiz.api.routers._deps import Services, services

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str


class Ready(BaseModel):
    status: str
    store: str | None = Field(default=None, description="store backend (callers with a key only)")
    cities: dict[str, int] | None = Field(default=None, description="incident counts per city (callers with a key only)")
    cache: dict | None = Field(default=None, description="cache statistics (callers with a key only)")


@router.get("/health", response_model=Health, summary="Liveness: the process answers")
def health() -> Health:
    return Health(status="ok")


@router.get("/ready", response_model=Ready, response_model_exclude_none=True,
            summary="Readiness: the store answers; incident counts per city for callers with a key")
def ready(request: Request, svc: Services = Depends(services), p: Principal = Depends(principal)) -> Ready:
    try:
        store = svc.store()
        counts = {}
        from qauipsiz.hotspot.cities import list_cities

        for c in list_cities():
            n = store.count_incidents(c)
            if n:
                counts[c] = n
    except Exception as e:  # readiness reports any store failure as 503
        detail = "store not ready" if p.key_id is None else f"store not ready: {type(e).__name__}: {e}"
        raise ApiError(503, detail, slug="not-ready") from e
    if p.key_id is None:  # the public role learns readiness only
        return Ready(status="ready")
    return Ready(status="ready", store=store.backend, cities=counts, cache=svc.cache.stats())
