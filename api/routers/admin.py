"""API keys, the audit log, who-am-I and the dashboard configuration."""
from __future__ import annotations

from typing import Annotated, Literal

import pandas as pd
from fastapi import APIRouter, Body, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from qauipsiz.api.auth import ROLES, Principal, audit, principal, require
from qauipsiz.api.errors import ApiError, client_input
from qauipsiz.api.routers._deps import Services, services

router = APIRouter(tags=["admin"])


class Me(BaseModel):
    role: str
    key_id: int | None
    label: str
    permissions: list[str]
    beat: str | None = None


@router.get("/me", response_model=Me, summary="The caller's role and permissions")
def me(p: Principal = Depends(principal)) -> Me:
    from qauipsiz.api.auth import PERMISSIONS

    return Me(role=p.role, key_id=p.key_id, label=p.label, permissions=sorted(PERMISSIONS[p.role]), beat=p.beat)


class Config(BaseModel):
    city: str
    tile_url: str
    languages: list[str]
    min_public_count: int


@router.get("/config", response_model=Config, summary="Dashboard configuration")
def config(svc: Services = Depends(services)) -> Config:
    s = svc.settings
    return Config(city=s.city, tile_url=s.tile_url or "", languages=["kk", "ru", "en"],
                  min_public_count=s.min_public_count)


class NewKey(BaseModel):
    role: Literal["public", "analyst", "planner", "commander", "admin"]
    label: str = Field("", max_length=200)


class NewInspectorKey(BaseModel):
    role: Literal["inspector"]
    label: str = Field("", max_length=200)
    beat: str = Field(min_length=1, max_length=64, pattern=r"^[\w.:-]+$",
                      description="the beat the district inspector's key is bound to")


class CreatedKey(BaseModel):
    id: int
    key: str = Field(description="shown once; only its sha256 is stored")
    role: str
    label: str


class KeyInfo(BaseModel):
    id: int
    prefix: str
    role: str
    label: str | None
    created_at: str | None
    revoked_at: str | None


@router.post("/admin/keys", response_model=CreatedKey, status_code=201, summary="Create an API key (admin)",
             responses={201: {"links": {"RevokeKey": {  # OpenAPI link: the stateful schemathesis run follows it
                 "operationId": "revoke_key_api_v1_admin_keys__key_id__delete",
                 "parameters": {"key_id": "$response.body#/id"}, "description": "revoke the key just created"}}}})
def create_key(request: Request,
               body: Annotated[NewKey | NewInspectorKey, Body(discriminator="role")],
               p: Principal = Depends(require("admin")),
               svc: Services = Depends(services)) -> CreatedKey:
    store = svc.store()
    with client_input():
        key = store.create_api_key(body.role, body.label, getattr(body, "beat", None))
    k = store.verify_api_key(key)
    audit(request, p, "keys.create", {"id": k.id, "role": body.role, "label": body.label})
    return CreatedKey(id=k.id, key=key, role=k.role, label=k.label)


def _s(v):
    return None if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v)


@router.get("/admin/keys", response_model=list[KeyInfo], summary="List API keys without secrets (admin)")
def list_keys(p: Principal = Depends(require("admin")), svc: Services = Depends(services)) -> list[KeyInfo]:
    t = svc.store().list_api_keys()
    return [KeyInfo(id=int(r.id), prefix=str(r.prefix), role=str(r.role), label=_s(r.label),
                    created_at=_s(r.created_at), revoked_at=_s(r.revoked_at)) for r in t.itertuples()]


@router.delete("/admin/keys/{key_id}", status_code=204, summary="Revoke an API key (admin)")
def revoke_key(request: Request, key_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
               p: Principal = Depends(require("admin")), svc: Services = Depends(services)) -> None:
    if not svc.store().revoke_api_key(key_id):
        raise ApiError(404, f"no active API key with id {key_id}", slug="not-found")
    request.app.state.key_cache.clear()
    audit(request, p, "keys.revoke", {"id": key_id})


class AuditEntry(BaseModel):
    id: int
    at: str | None
    who: str | None
    role: str | None
    action: str
    resource: str | None
    params: str | None


@router.get("/admin/audit", response_model=list[AuditEntry], summary="The newest audit-log entries (admin)")
def audit_log(limit: Annotated[int, Query(ge=1, le=1000)] = 100,
              action: Annotated[str | None, Query(max_length=64)] = None,
              p: Principal = Depends(require("admin")), svc: Services = Depends(services)) -> list[AuditEntry]:
    t = svc.store().audit_log(limit, action=action)
    return [AuditEntry(id=int(r.id), at=_s(r.at), who=_s(r.who), role=_s(r.role), action=str(r.action),
                       resource=_s(r.resource), params=_s(r.params)) for r in t.itertuples()]


assert set(ROLES) == {"public", "analyst", "planner", "commander", "admin", "inspector"}
