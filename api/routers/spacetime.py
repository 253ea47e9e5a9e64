"""Space-time analysis: emerging hot spot patterns (GeoJSON hexagons) and the near-repeat risk layer."""
from __future__ import annotations

import json
from typing import Annotated, Literal

import numpy as np
import pandas as pd
from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from qauipsiz.api.auth import Principal, require
from qauipsiz.api.errors import ApiError, client_input
from qauipsiz.api.routers import _engine
from qauipsiz.api.routers._deps import CityKey, Filters, Services, city_obj, filters, services
from qauipsiz.api.routers._geo import GEOJSON, cached_bytes, etag_for, feature_collection

router = APIRouter(tags=["hotspots"])


def _span(svc: Services, city: str, f: Filters) -> tuple[str | None, str | None]:
    """The cube's local [start, end): the request's dates, else the span of all the city's incidents
    (so a category filter never shortens the cube)."""
    if f.start and f.end:
        return f.start.isoformat(), f.end.isoformat()
    occ = pd.to_datetime(svc.incidents(city)["occurred_at"], utc=True).dropna()
    if occ.empty:
        return (f.start.isoformat() if f.start else None), (f.end.isoformat() if f.end else None)
    tz = city_obj(city).tz
    lo = occ.min().tz_convert(tz).normalize().tz_localize(None)
    hi = occ.max().tz_convert(tz).normalize().tz_localize(None) + pd.Timedelta(days=1)
    return (f.start.isoformat() if f.start else str(lo.date())), (f.end.isoformat() if f.end else str(hi.date()))


def _legend() -> list[dict]:
    from qauipsiz.hotspot.emerging import pattern_labels

    t = pattern_labels()
    return [{"code": int(r.code), "pattern": r.pattern, "colour": r.colour,
             "label": {"kk": r.label_kk, "ru": r.label_ru, "en": r.label_en}} for r in t.itertuples()]


@router.get("/cities/{city}/emerging.geojson",
            responses={200: {"content": {GEOJSON: {}}, "description": "H3 hexagons with their emerging pattern"}},
            summary="Emerging hot spots: one of 17 ArcGIS patterns per H3 cell (space-time Gi* + Mann–Kendall)")
async def emerging_geojson(
    request: Request,
    city: CityKey,
    res: Annotated[int, Query(ge=7, le=10, description="H3 resolution")] = 9,
    step: Annotated[Literal["day", "week", "month"], Query(description="time step (local calendar)")] = "week",
    f: Filters = Depends(filters),
    k: Annotated[int, Query(ge=1, le=5, description="H3 ring radius of the spatial neighbourhood")] = 1,
    time_window: Annotated[int, Query(ge=0, le=6, description="steps back in the neighbourhood")] = 1,
    weighted: Annotated[bool, Query(description="harm-weighted sums instead of counts")] = False,
    only_patterns: Annotated[bool, Query(description="drop cells with no pattern")] = True,
    p: Principal = Depends(require("hotspots")),
    svc: Services = Depends(services),
):
    city_obj(city)
    ver = svc.version(city)
    params = {"step": step, "k": k, "time_window": time_window, "weighted": weighted}
    key = ("emerging-geojson", city, res, only_patterns, repr(sorted(f.as_params().items())), repr(params), ver)

    def build():
        from qauipsiz.hotspot.cube import space_time_cube
        from qauipsiz.hotspot.emerging import emerging_hotspots, pattern_labels
        from qauipsiz.hotspot.h3grid import cells_to_boundaries

        df = _engine.filtered_incidents(svc, city, f)
        start, end = _span(svc, city, f)
        with client_input():
            cube = space_time_cube(df, city, res, step=step, start=start, end=end)
            t = emerging_hotspots(cube, k=k, time_window=time_window,
                                  value="weighted" if weighted else "count")
        if only_patterns:
            t = t[t["code"].to_numpy() != 0]
        lab = pattern_labels().set_index("code")
        codes = t["code"].to_numpy()
        props = pd.DataFrame({
            "h3": [format(int(x), "x") for x in t["h3"].to_numpy(np.uint64)],
            "pattern": t["pattern"].to_numpy(), "code": codes,
            "colour": lab["colour"].reindex(codes).to_numpy(),
            "label_kk": lab["label_kk"].reindex(codes).to_numpy(),
            "label_ru": lab["label_ru"].reindex(codes).to_numpy(),
            "label_en": lab["label_en"].reindex(codes).to_numpy(),
            "count": t["count"].to_numpy(), "n_hot": t["n_hot"].to_numpy(), "n_cold": t["n_cold"].to_numpy(),
            "trend_z": t["trend_z"].astype(float).round(4).to_numpy(),
            "trend_p": t["trend_p"].astype(float).round(5).to_numpy(),
            "last_z": t["last_z"].astype(float).round(4).to_numpy(),
        })
        pr = t.attrs["params"]
        meta = {kk: v for kk, v in pr.items() if isinstance(v, int | float | str | bool) and kk != "created_utc"}
        meta.update(patterns=pr["patterns"], n_binned=cube.params["n_binned"], filters=f.as_params())
        return feature_collection(cells_to_boundaries(t["h3"].to_numpy(np.uint64)), props.astype(object),
                                  precision=1e-5,
                                  extra={"meta": {"city": city, **meta}, "legend": _legend()})

    body = svc.cache.get(key)  # fast path on the event loop; computing goes to a worker thread
    if body is None:
        body = await run_in_threadpool(svc.cache.get_or_compute, key, build)
    return cached_bytes(request, body, GEOJSON, etag_for(*key))


@router.get("/cities/{city}/emerging/legend",
            summary="The 17 emerging hot spot patterns: code, key, colour and kk/ru/en labels")
def emerging_legend(request: Request, city: CityKey, p: Principal = Depends(require("hotspots"))):
    import json

    city_obj(city)
    body = json.dumps(_legend(), ensure_ascii=False).encode()
    return cached_bytes(request, body, "application/json", etag_for("emerging-legend", len(body)))


MAX_BANDS = 10
PAIR_BUDGET = 2_000_000_000  # pairs counted over all permutations of one request (≈ 10–30 s on one core)
MIN_PERMUTATIONS = 19


def _edges(v: str, name: str, hi: float) -> tuple[float, ...]:
    """Band edges ``0,200,400`` from a query parameter: numbers from 0, increasing, at most ``hi``."""
    try:
        e = tuple(float(x) for x in v.split(","))
    except ValueError as err:
        raise ValueError(f"{name}={v!r}: comma-separated numbers, e.g. 0,200,400") from err
    if len(e) < 2 or len(e) > MAX_BANDS + 1:
        raise ValueError(f"{name}={v!r}: between 1 and {MAX_BANDS} bands")
    if e[-1] > hi:
        raise ValueError(f"{name}={v!r}: the last edge may be at most {hi:g}")
    return e


def knox_for(svc: Services, city: str, f: Filters, space_edges: tuple, time_edges: tuple, permutations: int,
             seed: int, alpha: float) -> dict:
    """The Knox table of the filtered incidents (cached per data version, filters and parameters).

    The permutations asked for are reduced, if needed, so that permutations × pairs stays within
    ``PAIR_BUDGET`` (never below ``MIN_PERMUTATIONS``; beyond that the request is refused with 422
    ``too-many-pairs``). The answer says how many were run and the smallest p-value they allow.
    """
    ver = svc.version(city)
    key = ("knox", city, space_edges, time_edges, permutations, seed, alpha, repr(sorted(f.as_params().items())), ver)

    def compute():
        from scipy.spatial import cKDTree

        from qauipsiz.hotspot.nearrepeat import incident_points, knox_table

        df = _engine.filtered_incidents(svc, city, f)
        with client_input():
            xy, t, _ = incident_points(df, city)
            if len(t) < 3:
                raise ApiError(422, f"only {len(t)} located incidents pass the filters; the Knox test needs at least 3",
                               slug="too-few-incidents")
            tree = cKDTree(xy)
            n_pairs = (int(tree.count_neighbors(tree, float(space_edges[-1]))) - len(t)) // 2  # unordered, no self
            run = permutations
            if n_pairs * max(run, 1) > PAIR_BUDGET:
                run = int(PAIR_BUDGET // max(n_pairs, 1))
                if run < MIN_PERMUTATIONS:
                    raise ApiError(422, f"{n_pairs:,} pairs of incidents within {space_edges[-1]:g} m: too many for "
                                        f"{MIN_PERMUTATIONS} permutations; narrow the filters (dates, category, "
                                        "district) or the space bands", slug="too-many-pairs")
            k = knox_table(xy, t, space_edges, time_edges, permutations=run, seed=seed)
        table = k.to_frame(alpha)
        dist, days = k.significant_extent(alpha)
        return {"city": city, "filters": f.as_params(), "n_events": k.n_events, "n_pairs": k.n_pairs,
                "permutations_asked": permutations, "permutations": run, "seed": seed, "alpha": alpha,
                "min_p_value": round(1.0 / (run + 1), 6) if run else None,
                "space_edges_m": list(space_edges), "time_edges_days": list(time_edges),
                "significant_distance_m": dist, "significant_days": days,
                "bands": json.loads(table.to_json(orient="records")), "params": k.params}

    return svc.cache.get_or_compute(key, compute)


@router.get("/cities/{city}/near-repeat/knox.json",
            summary="Knox near-repeat test of the filtered incidents (Ratcliffe's calculator), run per request")
async def near_repeat_knox(
    request: Request,
    city: CityKey,
    f: Filters = Depends(filters),
    space_edges: Annotated[str, Query(description="space band edges, metres (at most 10 bands, up to 2000 m)")]
    = "0,200,400,600,800,1000",
    time_edges: Annotated[str, Query(description="time band edges, days (at most 10 bands, up to 90 days)")]
    = "0,7,14,21,28",
    permutations: Annotated[int, Query(ge=0, le=999, description="shuffles of the event times (reduced to keep "
                                                                 "permutations × pairs bounded)")] = 199,
    seed: Annotated[int, Query(ge=0, description="seed of the shuffles")] = 0,
    alpha: Annotated[float, Query(gt=0, lt=1, description="significance of a band (one-sided p-value)")] = 0.01,
    p: Principal = Depends(require("hotspots")),
    svc: Services = Depends(services),
):
    city_obj(city)
    with client_input():
        se = _edges(space_edges, "space_edges", 2000.0)
        te = _edges(time_edges, "time_edges", 90.0)
    body = await run_in_threadpool(knox_for, svc, city, f, se, te, permutations, seed, alpha)
    data = json.dumps(body, ensure_ascii=False, default=str).encode()
    return cached_bytes(request, data, "application/json",
                        etag_for("knox", city, se, te, permutations, seed, alpha,
                                 repr(sorted(f.as_params().items())), svc.version(city)))


@router.get("/cities/{city}/near-repeat.geojson",
            responses={200: {"content": {GEOJSON: {}}, "description": "H3 cells at near-repeat risk"}},
            summary="Near-repeat risk: cells within the distance of an event of the last days (by default the "
                    "significant extent of the Knox test of the same filter, run for the request)")
async def near_repeat_geojson(
    request: Request,
    city: CityKey,
    f: Filters = Depends(filters),
    distance_m: Annotated[float | None, Query(gt=0, le=2000, description="near-repeat distance, metres; default: "
                                              "the significant extent of the Knox test of the same filter")] = None,
    days: Annotated[float | None, Query(gt=0, le=90, description="near-repeat period, days; default: the Knox "
                                        "test's significant extent")] = None,
    as_of: Annotated[str | None, Query(description="local date/time of the layer (default: after the last event)",
                                       pattern=r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2})?)?$")] = None,
    res: Annotated[int, Query(ge=8, le=11, description="H3 resolution of the cells")] = 10,
    p: Principal = Depends(require("hotspots")),
    svc: Services = Depends(services),
):
    city_obj(city)
    ver = svc.version(city)
    key = ("near-repeat-geojson", city, res, distance_m, days, as_of, repr(sorted(f.as_params().items())), ver)

    def build():
        from qauipsiz.hotspot.h3grid import cells_to_boundaries
        from qauipsiz.hotspot.nearrepeat import near_repeat_risk

        knox = None
        dist, nd = distance_m, days
        if dist is None or nd is None:  # the Knox test of this filter, run (and cached) for the request
            knox = knox_for(svc, city, f, (0.0, 200.0, 400.0, 600.0, 800.0, 1000.0), (0.0, 7.0, 14.0, 21.0, 28.0),
                            199, 0, 0.01)
            dist = dist if dist is not None else knox["significant_distance_m"]
            nd = nd if nd is not None else knox["significant_days"]
        df = _engine.filtered_incidents(svc, city, f)
        when = as_of or str(pd.to_datetime(df["occurred_at"], utc=True).max() + pd.Timedelta(seconds=1)) \
            if len(df) else (as_of or "1970-01-01")
        meta = {"city": city, "as_of": when, "distance_m": dist, "days": nd, "res": res, "filters": f.as_params(),
                "extent_from": "request" if knox is None else "knox"}
        if knox is not None:
            meta["knox"] = {k: knox[k] for k in ("n_events", "n_pairs", "permutations", "alpha", "min_p_value",
                                                 "significant_distance_m", "significant_days")}
        if not (dist > 0 and nd > 0):  # the Knox test found no near-repeat zone for this filter: no cell at risk
            return feature_collection([], pd.DataFrame({"h3": []}), extra={"meta": meta})
        with client_input():
            r = near_repeat_risk(df, city, as_of=when, distance_m=dist, days=nd, res=res)
        props = pd.DataFrame({
            "h3": [format(int(x), "x") for x in r["h3"].to_numpy(np.uint64)],
            "n_events": r["n_events"].to_numpy(),
            "last_event_utc": r["last_event_utc"].astype(str).to_numpy(),
            "risk_until_utc": r["risk_until_utc"].astype(str).to_numpy(),
            "days_left": r["days_left"].astype(float).round(2).to_numpy(),
            "nearest_m": r["nearest_m"].astype(float).round(1).to_numpy(),
        })
        return feature_collection(cells_to_boundaries(r["h3"].to_numpy(np.uint64)), props.astype(object),
                                  precision=1e-5, extra={"meta": meta})

    body = svc.cache.get(key)
    if body is None:
        body = await run_in_threadpool(svc.cache.get_or_compute, key, build)
    return cached_bytes(request, body, GEOJSON, etag_for(*key))
