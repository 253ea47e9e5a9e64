"""Problem-oriented (SARA) cases: list, create, read, update, action-plan items, evaluation on demand.

Restricted to the roles holding the ``cases`` permission (analyst, commander, admin — see
``api/auth.py``), and to the district inspector for the cases whose place lies in (touches) the
beat the key is bound to: an inspector lists, reads, changes and evaluates only those, creates
cases only there, and gets 403 on any other case.  Every change is audited by the store in the same transaction as the change
(``case.create``, ``case.update``, ``case.action.add``, ``case.action.update``); reads and
evaluations are audited here (``cases.read``, ``cases.evaluate``).  Responses are
``private, no-store``: the response cache never keeps them (a case changes without a data version).
"""
from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from qauipsiz.api.auth import Principal, audit, principal
from qauipsiz.api.errors import ApiError
from qauipsiz.api.routers._deps import CityKey, Services, city_obj, services
from qauipsiz.api.store.cases import CASE_LAYERS
from qauipsiz.api.store.models import CASE_STATUSES

router = APIRouter(tags=["cases"])

NO_STORE = {"Cache-Control": "private, no-store"}
Status = Literal[CASE_STATUSES]  # type: ignore[valid-type]
Layer = Literal[CASE_LAYERS]  # type: ignore[valid-type]
Hours = Annotated[str | None, Field(description="local hours START-END, e.g. `18-02`",
                                    pattern=r"^([01]?\d|2[0-3])-([01]?\d|2[0-4])$")]
CaseId = Annotated[int, Path(ge=1, le=2**31 - 1, description="case id")]


class ActionIn(BaseModel):
    """An action-plan item."""

    text: str = Field(min_length=1, max_length=4000, description="what is to be done")
    owner: str | None = Field(default=None, max_length=400, description="who answers for it")
    due_date: date | None = Field(default=None, description="local date it is due")
    done_date: date | None = Field(default=None, description="local date it was done")


class ActionUpdate(BaseModel):
    """Changes to an action-plan item (absent fields stay)."""

    text: str | None = Field(default=None, min_length=1, max_length=4000)
    owner: str | None = Field(default=None, max_length=400)
    due_date: date | None = None
    done_date: date | None = None


class CaseIn(BaseModel):
    """A new case: the place is ``area`` (GeoJSON Polygon/MultiPolygon, WGS84) or ``layer`` with ``ids``."""

    title: str = Field(min_length=1, max_length=400)
    area: dict | None = Field(default=None, description="GeoJSON geometry, Feature or FeatureCollection")
    layer: Layer | None = Field(default=None, description="or the place as features of this layer")
    ids: list[int] | None = Field(default=None, max_length=5000, description="feature ids (`camera_id` …); "
                                                                            "empty: every feature")
    categories: list[str] | None = Field(default=None, max_length=40)
    hours: Hours = None
    description: str | None = Field(default=None, max_length=4000)
    status: Status = "scanning"
    actions: list[ActionIn] = Field(default_factory=list, max_length=200)


class CaseUpdate(BaseModel):
    """Changes to a case (absent fields stay); a new place is ``area``, or ``layer`` with ``ids``."""

    title: str | None = Field(default=None, min_length=1, max_length=400)
    status: Status | None = None
    area: dict | None = None
    layer: Layer | None = None
    ids: list[int] | None = Field(default=None, max_length=5000)
    categories: list[str] | None = Field(default=None, max_length=40)
    hours: Hours = None
    description: str | None = Field(default=None, max_length=4000)


class EvaluateIn(BaseModel):
    """Options of a case's evaluation (defaults as ``qauipsiz case evaluate``)."""

    installed: date | None = Field(default=None, description="intervention date; default: the earliest done date "
                                                             "of the plan, else its earliest due date")
    before_months: float = Field(default=12.0, gt=0, le=60, description="months of 30.44 days")
    after_months: float = Field(default=6.0, gt=0, le=60, description="months; 0.46 ≈ two weeks")
    radius_m: float = Field(default=150.0, ge=10, le=2000, description="buffer around point features, metres")
    ring_m: tuple[float, float] = Field(default=(150.0, 400.0), description="displacement ring, metres")
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    dark_only: bool = Field(default=False, description="only incidents in the dark (sun below −6°), for lighting")


def _body(case) -> dict:
    from qauipsiz.api.casework import STATUS_LABELS, summary

    return {**case.to_dict(), "status_label": STATUS_LABELS[case.status], "summary": summary(case)}


def _ok(payload, status: int = 200) -> JSONResponse:
    return JSONResponse(payload, status_code=status, headers=NO_STORE)


def _invalid(e: ValueError) -> ApiError:
    return ApiError(400, str(e), slug="invalid-case")


def _not_found(city: str, case_id: int) -> ApiError:
    return ApiError(404, f"no case {case_id} in city {city!r}", slug="case-not-found")


def _who(p: Principal) -> dict:
    return {"who": p.who, "role": p.role}


def _inspector(p: Principal) -> bool:
    return not p.can("cases") and p.role == "inspector" and p.can("beat:own") and bool(p.beat)


async def caller(p: Principal = Depends(principal)) -> Principal:
    """The caller, when it may work with cases: the ``cases`` permission, or an inspector bound to a beat."""
    if p.can("cases") or _inspector(p):
        return p
    if p.role == "public":
        raise ApiError(401, "this resource needs an API key with the 'cases' permission", slug="unauthorized",
                       headers={"WWW-Authenticate": 'Bearer realm="qauipsiz"'})
    raise ApiError(403, f"role {p.role!r} lacks the 'cases' permission", slug="forbidden")


def _beat(svc: Services, city: str, p: Principal):
    """The inspector's beat polygon (WGS84); ``None`` for the roles that see every case."""
    if not _inspector(p):
        return None
    from qauipsiz.api.routers.beats import city_beats

    g = city_beats(svc, city)
    hit = g[g["beat_id"] == p.beat]
    if not len(hit):
        raise ApiError(403, f"the inspector's beat {p.beat!r} is not a beat of {city}", slug="forbidden")
    return hit.geometry.iloc[0]


def _place(svc: Services, case):
    """The case's place as a WGS84 geometry (``None`` when its features cannot be found)."""
    from qauipsiz.api.casework import case_treated
    from qauipsiz.api.routers import _engine

    layers = _engine.city_layers(svc, case.city) if case.place_layer else {}
    try:
        return case_treated(case, layers)
    except ValueError:
        return None


def _in_beat(svc: Services, case, beat) -> bool:
    if beat is None:
        return True
    import shapely

    g = _place(svc, case)
    return g is not None and bool(shapely.intersects(g, beat))


def _check_place(svc: Services, city: str, p: Principal, area, layer, ids) -> None:
    """An inspector's new place must touch the beat (403 otherwise)."""
    beat = _beat(svc, city, p)
    if beat is None or (area is None and layer is None):
        return
    from qauipsiz.api.store.cases import Case, area_geometry

    try:
        probe = Case(id=0, city=city, title="", status="scanning", place_layer=None if area is not None else layer,
                     place_ids=ids or None)
        if area is not None:
            import json as _json

            import shapely

            probe.area = _json.loads(shapely.to_geojson(area_geometry(area)))
    except ValueError as e:
        raise _invalid(e) from e
    if not _in_beat(svc, probe, beat):
        raise ApiError(403, f"an inspector key works only on cases in its beat {p.beat!r}", slug="forbidden")


def _own(svc: Services, city: str, p: Principal, case_id: int):
    """Case ``case_id`` of ``city`` for the caller: 404 when absent, 403 outside an inspector's beat."""
    c = svc.store().get_case(case_id, city)
    if c is None:
        raise _not_found(city, case_id)
    if not _in_beat(svc, c, _beat(svc, city, p)):
        raise ApiError(403, f"case {case_id} is outside the inspector's beat {p.beat!r}", slug="forbidden")
    return c


@router.get("/cities/{city}/cases", summary="Problem-oriented cases of the city (restricted, audited)")
def list_cases(request: Request, city: CityKey,
               status: Annotated[Status | None, Query(description="only this stage")] = None,
               p: Principal = Depends(caller), svc: Services = Depends(services)):
    city_obj(city)
    audit(request, p, "cases.read", {"city": city, "status": status})
    beat = _beat(svc, city, p)
    cases = [c for c in svc.store().list_cases(city, status=status) if _in_beat(svc, c, beat)]
    return _ok({"city": city, "cases": [_body(c) for c in cases]})


@router.post("/cities/{city}/cases", status_code=201, summary="Create a case (audited)")
def create_case(city: CityKey, body: Annotated[CaseIn, Body()], p: Principal = Depends(caller),
                svc: Services = Depends(services)):
    city_obj(city)
    _check_place(svc, city, p, body.area, body.layer, body.ids)
    store = svc.store()
    try:
        c = store.create_case(city, body.title, area=body.area, layer=body.layer, ids=body.ids,
                              categories=body.categories, hours=body.hours, description=body.description,
                              status=body.status, actions=[a.model_dump() for a in body.actions], **_who(p))
    except ValueError as e:
        raise _invalid(e) from e
    return _ok(_body(c), 201)


@router.get("/cities/{city}/cases/{case_id}", summary="One case with its action plan (restricted, audited)")
def get_case(request: Request, city: CityKey, case_id: CaseId, p: Principal = Depends(caller),
             svc: Services = Depends(services)):
    city_obj(city)
    audit(request, p, "cases.read", {"city": city, "case": case_id})
    return _ok(_body(_own(svc, city, p, case_id)))


@router.patch("/cities/{city}/cases/{case_id}", summary="Change a case's stage, problem or place (audited)")
def update_case(city: CityKey, case_id: CaseId, body: Annotated[CaseUpdate, Body()],
                p: Principal = Depends(caller), svc: Services = Depends(services)):
    city_obj(city)
    _own(svc, city, p, case_id)
    _check_place(svc, city, p, body.area, body.layer, body.ids)
    try:
        c = svc.store().update_case(case_id, city=city, **body.model_dump(exclude_unset=True), **_who(p))
    except KeyError:
        raise _not_found(city, case_id) from None
    except ValueError as e:
        raise _invalid(e) from e
    return _ok(_body(c))


@router.post("/cities/{city}/cases/{case_id}/actions", status_code=201, summary="Add an action-plan item (audited)")
def add_action(city: CityKey, case_id: CaseId, body: Annotated[ActionIn, Body()],
               p: Principal = Depends(caller), svc: Services = Depends(services)):
    city_obj(city)
    _own(svc, city, p, case_id)
    try:
        c = svc.store().add_action(case_id, body.text, owner=body.owner, due=body.due_date, done=body.done_date,
                                   city=city, **_who(p))
    except KeyError:
        raise _not_found(city, case_id) from None
    except ValueError as e:
        raise _invalid(e) from e
    return _ok(_body(c), 201)


@router.patch("/cities/{city}/cases/{case_id}/actions/{action_id}",
              summary="Change an action-plan item, e.g. mark it done (audited)")
def update_action(city: CityKey, case_id: CaseId, action_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
                  body: Annotated[ActionUpdate, Body()], p: Principal = Depends(caller),
                  svc: Services = Depends(services)):
    city_obj(city)
    _own(svc, city, p, case_id)
    try:
        c = svc.store().update_action(case_id, action_id, city=city, **body.model_dump(exclude_unset=True),
                                      **_who(p))
    except KeyError:
        raise ApiError(404, f"no action {action_id} in case {case_id} of {city!r}", slug="case-not-found") from None
    except ValueError as e:
        raise _invalid(e) from e
    return _ok(_body(c))


@router.post("/cities/{city}/cases/{case_id}/evaluations",
             summary="Evaluate the case's intervention now, from its plan's dates (restricted, audited)")
def evaluate_case(request: Request, city: CityKey, case_id: CaseId,
                  body: Annotated[EvaluateIn | None, Body()] = None,
                  p: Principal = Depends(caller), svc: Services = Depends(services)):
    from qauipsiz.api.casework import evaluate_case as run

    city_obj(city)
    opts = body or EvaluateIn()
    if not 0 <= opts.ring_m[0] < opts.ring_m[1] <= 5000:
        raise ApiError(422, f"ring_m={list(opts.ring_m)}: need 0 <= inner < outer <= 5000 metres",
                       slug="validation-error")
    c = _own(svc, city, p, case_id)
    audit(request, p, "cases.evaluate", {"city": city, "case": case_id, **opts.model_dump(mode="json")})
    layers = svc.store().load_layers(city, [c.place_layer]) if c.place_layer else {}
    try:
        res = run(c, svc.incidents(city), layers, installed=opts.installed, before_months=opts.before_months,
                  after_months=opts.after_months, radius_m=opts.radius_m, ring_m=opts.ring_m, seed=opts.seed,
                  dark_only=opts.dark_only)
    except ValueError as e:
        raise ApiError(400, str(e), slug="invalid-evaluation") from e
    return _ok(res)
