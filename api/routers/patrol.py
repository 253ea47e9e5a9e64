"""Patrol plans: routes and stops for one shift, and their printable route cards (restricted, audited;
backed by ``hotspot.patrol``)."""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Annotated, Literal

import numpy as np
import pandas as pd
import shapely
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from qauipsiz.api.auth import Principal, audit, require
from qauipsiz.api.errors import PROBLEM, ApiError, Problem, client_input
from qauipsiz.api.jobs import AsyncFlag, accepted, jobs_of, wants_async
from qauipsiz.api.routers import _engine
from qauipsiz.api.routers._deps import CityKey, Services, city_obj
from qauipsiz.api.routers._geo import GEOJSON, feature_collection
from qauipsiz.api.routers.jobs import ACCEPTED

router = APIRouter(tags=["patrol"])

Shift = Annotated[str, Query(description="local shift `YYYY-MM-DD HH:MM/HH:MM` (end may be next day)",
                             pattern=r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}/(\d{4}-\d{2}-\d{2} )?\d{2}:\d{2}$")]
Units = Annotated[int, Query(ge=1, le=20, description="patrol units")]
Station = Annotated[int, Query(ge=-1, le=10_000, description="row of the police_stations layer used as depot; "
                                                            "-1 (default): the police station nearest to the "
                                                            "shift's riskiest hotspot, the rule of `qauipsiz patrol`")]
Mode = Annotated[Literal["drive", "walk"], Query()]
Visits = Annotated[int, Query(ge=1, le=6, description="visits to every hotspot: 1 = once near its peak hour; "
                                                      "N = once in each of N equal rounds of the shift")]
DEFAULT_SHIFT = "2025-12-05 18:00/02:00"


@dataclass(frozen=True)
class PlanQuery:
    """The query parameters that define a patrol plan (shared by the plan and its route cards)."""

    shift: str
    units: int
    station: int
    mode: str
    visits: int

    def audit_params(self, city: str) -> dict:
        """The query as the audit log records it."""
        return {"city": city, **asdict(self)}


def plan_query(shift: Shift = DEFAULT_SHIFT, units: Units = 4, station: Station = -1, mode: Mode = "drive",
               visits: Visits = 1) -> PlanQuery:
    return PlanQuery(shift, units, station, mode, visits)


def plan(svc: Services, key: tuple):
    """``(routes, stops)`` of :func:`hotspot.patrol.plan_patrol` for the shift of ``key`` (:func:`plan_key`),
    cached: the patrol-plan GeoJSON and the route cards share this one computation.
    """
    _, city, shift, units, station, mode, visits, _ver = key
    c = city_obj(city)
    from qauipsiz.hotspot import patrol

    def compute():
        st = _engine.city_layers(svc, city).get("police_stations")
        if st is None or len(st) == 0:
            raise ApiError(409, f"city {city!r} has no police_stations layer in the store (the depot)",
                           slug="missing-layer")
        if station >= len(st):
            raise ApiError(422, f"station={station}: the police_stations layer has {len(st)} rows",
                           slug="validation-error")
        with client_input():
            sh = patrol.parse_shift(shift, c.tz)
            inc = svc.incidents(city)
            hs = patrol.shift_risk(inc, c, sh)
            # the one default-depot rule, shared with `qauipsiz patrol` (hotspot.patrol.default_depot)
            i, rule = (station, "station") if station >= 0 else (patrol.default_depot(c, st, hs), patrol.DEPOT_RULE)
            d = patrol.station_depot(c, st, i)
            routes, stops = patrol.plan_patrol(c, inc, sh.start, sh.end, units, (d["x"], d["y"]), mode=mode,
                                               depot_name=d["name"], depot_rule=rule, visits=visits, hotspots=hs)
            stops.attrs["depot"] = {**stops.attrs["depot"], "station": i}
            return routes, stops

    return svc.cache.get_or_compute(key, compute)


def plan_key(svc: Services, city: str, q: PlanQuery) -> tuple:
    """Cache key of :func:`plan` (at the city's current data version)."""
    return ("patrol", city, q.shift, q.units, q.station, q.mode, q.visits, svc.version(city))


def plan_geojson(svc: Services, city: str, q: PlanQuery) -> bytes:
    """The patrol-plan GeoJSON of ``q`` (computed in the job pool, :mod:`api.jobs`)."""
    routes, stops = plan(svc, plan_key(svc, city, q))
    rp = pd.DataFrame(routes.drop(columns=routes.geometry.name))
    rp["feature"] = "route"
    sp_ = stops.copy()
    sp_["feature"] = "stop"
    for col in sp_.columns:
        if str(sp_[col].dtype).startswith("datetime"):
            sp_[col] = sp_[col].map(lambda v: None if pd.isna(v) else v.isoformat())
    if "h3" in sp_.columns:
        sp_["h3"] = [None if v in (None, 0) or (isinstance(v, float) and np.isnan(v)) else
                     (format(int(v), "x") if not isinstance(v, str) else v) for v in sp_["h3"]]
    for col in rp.columns:
        if str(rp[col].dtype).startswith("datetime"):
            rp[col] = rp[col].map(lambda v: None if pd.isna(v) else v.isoformat())
    geoms = np.concatenate([routes.geometry.values.astype(object),
                            shapely.points(sp_["lon"].to_numpy(float), sp_["lat"].to_numpy(float))])
    props = pd.concat([rp.astype(object), sp_.drop(columns=[k for k in ("geometry",) if k in sp_]).astype(object)],
                      ignore_index=True)
    body = feature_collection(geoms, props.astype(object).where(props.notna(), None),
                              extra={"meta": {"city": city, "shift": q.shift, "units": q.units, "visits": q.visits,
                                              "missed_visits": int(stops.attrs.get("missed_visits", 0)),
                                              "dropped": [str(d) for d in stops.attrs.get("dropped", [])],
                                              "depot": stops.attrs.get("depot")}})
    return body


@router.get("/cities/{city}/patrol-plans.geojson",
            responses={200: {"content": {GEOJSON: {}}, "description": "routes (lines) and stops (points)"},
                       409: {"model": Problem, "content": {PROBLEM: {}},
                             "description": "the city has no police_stations layer (the depot)"},
                       **ACCEPTED},
            summary="Patrol routes and hotspot stops for one shift (restricted, audited)")
async def patrol_plans(
    request: Request,
    city: CityKey,
    q: PlanQuery = Depends(plan_query),
    as_job: AsyncFlag = False,
    p: Principal = Depends(require("patrol")),
):
    city_obj(city)
    await run_in_threadpool(audit, request, p, "patrol.read", q.audit_params(city))
    jobs = jobs_of(request)
    if wants_async(request, as_job):
        return accepted(jobs.submit(p, kind="patrol-plan", permission="patrol", resource=request.url.path,
                                    media_type=GEOJSON, target=f"{__name__}:plan_geojson", args=(city, q),
                                    params=q.audit_params(city)))
    body = await jobs.run(f"{__name__}:plan_geojson", city, q)
    return Response(body, media_type=GEOJSON, headers={"Cache-Control": "private, no-store"})


_BODY = re.compile(r"<body[^>]*>(.*)</body>", re.S | re.I)
_HEAD = re.compile(r"^(.*?<body[^>]*>)", re.S | re.I)


def _combine_cards(cards: dict[int, str]) -> str:
    """One printable document from the per-unit card documents: one card per printed page."""
    docs = [cards[u] for u in sorted(cards)]
    if len(docs) == 1:
        return docs[0]
    head = _HEAD.match(docs[0])
    bodies = [_BODY.search(d) for d in docs]
    if head is None or any(b is None for b in bodies):
        raise ApiError(500, "route cards: unexpected card layout", slug="internal-error")
    sep = '\n<div class="qz-card-break" style="break-after:page;page-break-after:always"></div>\n'
    return head.group(1) + sep.join(b.group(1) for b in bodies) + "\n</body></html>"


def cards_html(svc: Services, city: str, q: PlanQuery, unit: int | None, lang: str) -> str:
    """The printable route cards of ``q`` (every unit, or only ``unit``), computed in the job pool."""
    from qauipsiz.hotspot import patrol

    c = city_obj(city)
    key = plan_key(svc, city, q)
    routes, stops = plan(svc, key)

    def render():
        with client_input():
            return patrol.route_cards_html(routes, stops, c, lang=lang)

    cards = svc.cache.get_or_compute(("patrol-cards", lang, *key[1:]), render)
    if unit is not None:
        if unit not in cards:
            raise ApiError(404, f"unit {unit} has no route in this plan", slug="not-found")
        cards = {unit: cards[unit]}
    if not cards:
        raise ApiError(404, "the plan has no routes to print", slug="not-found")
    from qauipsiz.maps.route_cards import for_screen

    return for_screen(_combine_cards(cards), lang)


@router.get("/cities/{city}/patrol-cards.html",
            responses={200: {"content": {"text/html": {}},
                             "description": "printable route cards, one page per unit, with the restricted-use marking"},
                       409: {"model": Problem, "content": {PROBLEM: {}},
                             "description": "the city has no police_stations layer (the depot)"},
                       **ACCEPTED},
            response_class=HTMLResponse,
            summary="Printable route cards of a shift's patrol plan (restricted, audited)")
async def patrol_cards(
    request: Request,
    city: CityKey,
    q: PlanQuery = Depends(plan_query),
    unit: Annotated[int | None, Query(ge=1, le=20, description="only this unit's card (default: every unit)")] = None,
    lang: Annotated[Literal["kk", "ru", "en"], Query(description="language of the cards and their print button")] = "ru",
    as_job: AsyncFlag = False,
    p: Principal = Depends(require("patrol")),
):
    city_obj(city)
    if unit is not None and unit > q.units:
        raise ApiError(422, f"unit={unit}: the plan has {q.units} unit(s)", slug="validation-error")
    params = {**q.audit_params(city), "format": "cards", "unit": unit}
    await run_in_threadpool(audit, request, p, "patrol.read", params)
    jobs = jobs_of(request)
    if wants_async(request, as_job):
        return accepted(jobs.submit(p, kind="patrol-cards", permission="patrol", resource=request.url.path,
                                    media_type="text/html; charset=utf-8", target=f"{__name__}:cards_html",
                                    args=(city, q, unit, lang), params=params))
    html = await jobs.run(f"{__name__}:cards_html", city, q, unit, lang)
    return HTMLResponse(html, headers={"Cache-Control": "private, no-store"})
