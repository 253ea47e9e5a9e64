"""Patrol plans: routes and stops for one shift (restricted, audited; backed by ``hotspot.patrol``)."""
from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
import pandas as pd
import shapely
from fastapi import APIRouter, Depends, Query, Request, Response

from api.auth import Principal, audit, require
from api.errors import ApiError, client_input
from api.routers import _engine
from api.routers._deps import CityKey, Services, city_obj, optional_module, services
from api.routers._geo import GEOJSON, feature_collection

router = APIRouter(tags=["patrol"])


@router.get("/cities/{city}/patrol-plans.geojson",
            responses={200: {"content": {GEOJSON: {}}, "description": "routes (lines) and stops (points)"}},
            summary="Patrol routes and hotspot stops for one shift (restricted, audited)")
def patrol_plans(
    request: Request,
    city: CityKey,
    shift: Annotated[str, Query(description="local shift `YYYY-MM-DD HH:MM/HH:MM` (end may be next day)",
                                pattern=r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}/(\d{4}-\d{2}-\d{2} )?\d{2}:\d{2}$")]
    = "2025-12-05 18:00/02:00",
    units: Annotated[int, Query(ge=1, le=20, description="patrol units")] = 4,
    station: Annotated[int, Query(ge=0, le=10_000, description="row of the police_stations layer used as depot")] = 0,
    mode: Annotated[Literal["drive", "walk"], Query()] = "drive",
    p: Principal = Depends(require("patrol")),
    svc: Services = Depends(services),
):
    c = city_obj(city)
    patrol = optional_module("hotspot.patrol", "patrol plans")
    audit(request, p, "patrol.read", {"city": city, "shift": shift, "units": units, "station": station, "mode": mode})
    ver = svc.version(city)

    def compute():
        st = _engine.city_layers(svc, city).get("police_stations")
        if st is None or len(st) == 0:
            raise ApiError(409, f"city {city!r} has no police_stations layer in the store (the depot)",
                           slug="missing-layer")
        if station >= len(st):
            raise ApiError(422, f"station={station}: the police_stations layer has {len(st)} rows",
                           slug="validation-error")
        pt = st.geometry.values[station]
        pt = shapely.point_on_surface(pt)
        x, y = c.to_metric(np.array([pt.x]), np.array([pt.y]))
        name = str(st.iloc[station].get("name", "")) if "name" in st.columns else ""
        with client_input():
            sh = patrol.parse_shift(shift, c.tz)
            return patrol.plan_patrol(c, svc.incidents(city), sh.start, sh.end, units, (float(x[0]), float(y[0])),
                                      mode=mode, depot_name=name)

    routes, stops = svc.cache.get_or_compute(("patrol", city, shift, units, station, mode, ver), compute)
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
                              extra={"meta": {"city": city, "shift": shift, "units": units,
                                              "dropped": [str(d) for d in stops.attrs.get("dropped", [])]}})
    return Response(body, media_type=GEOJSON, headers={"Cache-Control": "private, no-store"})
