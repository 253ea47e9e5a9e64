"""Intervention evaluation (issue 18): did the cameras, SOS buttons or lamps work? (analyst, admin; audited)."""
from __future__ import annotations

import json
from contextlib import contextmanager
from typing import Annotated, Literal

import numpy as np
from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from qauipsiz.api.auth import Principal, audit, require
from qauipsiz.api.errors import ApiError, client_input
from qauipsiz.api.routers import _engine
from qauipsiz.api.routers._deps import CityKey, Services, city_obj, services

router = APIRouter(tags=["evaluations"])


class EvaluationRequest(BaseModel):
    """One intervention: a drawn area or a set of layer features, and its installation date."""

    model_config = ConfigDict(extra="forbid")

    area: dict | None = Field(default=None, description="GeoJSON geometry (WGS84): Polygon/MultiPolygon, or "
                                                        "Point/MultiPoint buffered by radius_m")
    layer: Literal["cameras", "sos_buttons", "lamps"] | None = Field(
        default=None, description="use buffers around this layer's features instead of an area")
    ids: list[int] | None = Field(default=None, max_length=5000,
                                  description="feature ids of the layer (default: those installed on `installed`)")
    installed: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}-\d{2}$",
                                  description="installation date YYYY-MM-DD, local (default: the features' "
                                              "installed column)")
    before_months: Annotated[float, Field(gt=0, le=60)] = 12.0
    after_months: Annotated[float, Field(gt=0, le=60)] = 6.0
    radius_m: Annotated[float, Field(gt=0, le=2000)] = 150.0
    ring_m: tuple[Annotated[float, Field(ge=0, le=5000)], Annotated[float, Field(gt=0, le=5000)]] = (150.0, 400.0)
    categories: list[str] | None = Field(default=None, max_length=50)
    dark_only: bool = False
    seed: Annotated[int, Field(ge=0, le=2**31 - 1)] = 0
    match_cpted: bool = Field(default=False, description="also match the comparison cells on the block CPTED "
                                                         "score (422 no-cpted-scores when the city has none)")


@contextmanager
def _geometry_errors():
    """A geometry the engine cannot process (GEOS error) is the caller's input: 400."""
    import shapely

    try:
        yield
    except shapely.errors.ShapelyError as e:
        raise ValueError(f"area: {e}") from e


def _geometry(svc: Services, city: str, body: EvaluationRequest):
    import shapely

    if (body.area is None) == (body.layer is None):
        raise ApiError(422, "give exactly one of `area` (GeoJSON geometry) or `layer`", slug="validation-error")
    if body.area is not None:
        if body.installed is None:
            raise ApiError(422, "`installed` is required with `area`", slug="validation-error")
        with client_input():
            try:
                geom = shapely.from_geojson(json.dumps(body.area))
            except (shapely.errors.ShapelyError, TypeError, ValueError) as e:
                raise ValueError(f"area: not a GeoJSON geometry ({e})") from e
        return geom, body.installed, "area"
    from qauipsiz.hotspot.evaluation.areas import select_features

    lay = _engine.city_layers(svc, city).get(body.layer)
    with client_input():
        geom, installed = select_features(lay, body.layer, body.ids, body.installed)
    return geom, installed, body.layer


def _cpted_scores(svc: Services, city: str):
    """The city's block CPTED scores for matching (the service's cached scored blocks); 422 when none."""
    from qauipsiz.api.cpted_match import check_cpted_layers, cpted_block_scores

    layers = _engine.city_layers(svc, city)
    try:
        check_cpted_layers(city, layers)  # refused before any scoring
        return cpted_block_scores(city, layers, scored=_engine.scored_blocks(svc, city))
    except ValueError as e:
        raise ApiError(422, str(e), slug="no-cpted-scores") from e


@router.post("/cities/{city}/evaluations",
             summary="Evaluate one intervention: DiD against matched comparison cells, placebo p-value and 95 % "
                     "interval, minimum detectable effect, WDQ for the ring, kk/ru/en text (analyst, admin; audited)")
async def evaluate_intervention(
    request: Request,
    response: Response,
    city: CityKey,
    body: EvaluationRequest,
    p: Principal = Depends(require("evaluations")),
    svc: Services = Depends(services),
) -> dict:
    c = city_obj(city)
    response.headers["Cache-Control"] = "private, no-store"  # a restricted, audited answer
    params = {"city": city, **body.model_dump(exclude={"area"}), "area": body.area is not None}
    await run_in_threadpool(audit, request, p, "evaluations.run", params)

    def run() -> dict:
        import shapely

        from qauipsiz.hotspot.evaluation import evaluate

        scores = _cpted_scores(svc, city) if body.match_cpted else None
        geom, installed, kind = _geometry(svc, city, body)
        if not shapely.is_empty(geom) and not np.isfinite(shapely.bounds(geom)).all():
            raise ApiError(400, "area: coordinates must be finite longitude/latitude", slug="bad-request")
        with client_input(), _geometry_errors():
            res = evaluate(svc.incidents(city), geom, installed, city=c, before_months=body.before_months,
                           after_months=body.after_months, radius_m=body.radius_m, ring_m=tuple(body.ring_m),
                           categories=body.categories, dark_only=body.dark_only, seed=body.seed, intervention=kind,
                           block_scores=scores)
        return res.to_dict()

    return await run_in_threadpool(run)
