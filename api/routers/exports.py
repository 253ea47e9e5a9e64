"""Exports of every layer the dashboard shows, as GeoJSON, GeoPackage, CSV or XLSX.

``GET /cities/{city}/export/{layer}?format=`` asks the layer's own route inside the app (same key,
same query), so the role check, the audit record and the suppression of public counts are exactly
those of that route; then it converts the answer.  CSV and XLSX go through the one neutralising
writer (:mod:`api.store.export`).  Incidents are fetched page by page until the total
(``X-Total-Count``) is reached, so the file is complete; the response says how many rows it holds.
"""
from __future__ import annotations

import io
import json
import tempfile
from pathlib import Path
from typing import Annotated, Literal

import geopandas as gpd
import pandas as pd
import shapely
from fastapi import APIRouter, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool

from qauipsiz.api.errors import ApiError
from qauipsiz.api.routers._deps import CityKey
from qauipsiz.api.routers._geo import GEOJSON
from qauipsiz.api.store.export import csv_text_safe, write_xlsx_safe

router = APIRouter(tags=["exports"])

EXPORT_LAYERS = {
    "hotspots": "/cities/{city}/hotspots.geojson",
    "cpted-blocks": "/cities/{city}/cpted/blocks.geojson",
    "fix-first": "/cities/{city}/cpted/fix-first",
    "cameras": "/cities/{city}/recommendations/cameras.geojson",
    "sos": "/cities/{city}/recommendations/sos.geojson",
    "posts": "/cities/{city}/recommendations/posts.geojson",
    "patrol": "/cities/{city}/patrol-plans.geojson",
    "districts": "/public/cities/{city}/districts.geojson",
    "cells": "/public/cities/{city}/cells.geojson",
    "incidents": "/cities/{city}/incidents",
}
"""export layer -> the layer's own route (under ``/api/v1``)."""
FORMATS = ("geojson", "gpkg", "csv", "xlsx")
MEDIA = {"geojson": GEOJSON, "gpkg": "application/geopackage+sqlite3", "csv": "text/csv; charset=utf-8",
         "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
PAGE = 50_000
AUTH_HEADERS = ("x-api-key", "authorization", "accept-language")


async def _inner(request: Request, path: str, params: list[tuple[str, str]]):
    import httpx

    headers = {k: v for k, v in request.headers.items() if k.lower() in AUTH_HEADERS}
    transport = httpx.ASGITransport(app=request.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://internal") as c:
        return await c.get("/api/v1" + path, params=params, headers=headers)


def _problem(r) -> Response:
    keep = {k: v for k, v in r.headers.items() if k.lower() in ("content-type", "www-authenticate")}
    return Response(r.content, status_code=r.status_code, headers=keep)


def _frame(doc) -> gpd.GeoDataFrame:
    """A layer's answer as a GeoDataFrame (EPSG:4326); nested values as JSON text."""
    if isinstance(doc, list):  # the fix-first list: a point inside each block
        df = pd.DataFrame(doc)
        geom = [shapely.Point(lo, la) if lo is not None and la is not None else None
                for lo, la in zip(df.get("lon", [None] * len(df)), df.get("lat", [None] * len(df)), strict=True)]
        g = gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(geom, crs=4326), crs=4326)
    else:
        feats = doc.get("features", [])
        props = pd.DataFrame([f.get("properties") or {} for f in feats])
        geom = [shapely.geometry.shape(f["geometry"]) if f.get("geometry") else None for f in feats]
        g = gpd.GeoDataFrame(props, geometry=gpd.GeoSeries(geom, crs=4326), crs=4326)
    for c in g.columns:
        if (c != g.geometry.name and g[c].dtype == object
                and g[c].map(lambda v: isinstance(v, dict | list)).any()):
                g[c] = g[c].map(lambda v: json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v)
    return g


def _table(g: gpd.GeoDataFrame) -> pd.DataFrame:
    """For CSV / XLSX: points as ``lon, lat`` (when not there already), other shapes as WKT."""
    df = pd.DataFrame(g.drop(columns=g.geometry.name))
    geom = g.geometry
    pts = geom.geom_type == "Point"
    if len(g) and pts.all():
        if "lon" not in df.columns:
            df["lon"] = geom.x.round(6)
            df["lat"] = geom.y.round(6)
    elif len(g):
        df["wkt"] = [shapely.to_wkt(v, rounding_precision=6) if v is not None else None for v in geom]
    return df


def _gpkg(g: gpd.GeoDataFrame, layer: str) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "x.gpkg"
        kinds = g.geometry.geom_type.dropna().unique()
        if len(kinds) <= 1 or not len(g):
            g.to_file(p, driver="GPKG", layer=layer.replace("-", "_"))
        else:  # patrol plans: routes (lines) and stops (points) as two layers
            for k in kinds:
                g[g.geometry.geom_type == k].to_file(p, driver="GPKG", layer=f"{layer.replace('-', '_')}_{k.lower()}")
        return p.read_bytes()


async def _fetch_incidents(request: Request, layer: str, path: str, params: list):
    """Every page of the incident query (each page audited by the route itself)."""
    feats: list = []
    total = None
    offset = 0
    meta: dict = {}
    while total is None or offset < total:
        r = await _inner(request, path, params + [("limit", str(PAGE)), ("offset", str(offset))])
        if r.status_code != 200:
            return _problem(r)
        page = await run_in_threadpool(r.json)
        total = int(r.headers.get("x-total-count", page.get("meta", {}).get("total", 0)))
        feats += page.get("features", [])
        meta = page.get("meta", {})
        if not page.get("features"):
            break
        offset += PAGE
    return ({"type": "FeatureCollection", "features": feats},
            {**meta, "offset": 0, "limit": len(feats), "total": total})


async def _fetch_layer(request: Request, layer: str, path: str, params: list):
    if layer == "fix-first":  # the whole list by default (the route's own cap)
        params = params + [("limit", request.query_params.get("limit", "1000"))]
    r = await _inner(request, path, params)
    if r.status_code != 200:
        return _problem(r)
    doc = await run_in_threadpool(r.json)
    meta: dict = {}
    if isinstance(doc, dict):
        meta = dict(doc.get("meta") or {})
        for k in ("notice", "synthetic"):
            if k in doc:
                meta.setdefault(k, doc[k])
    return doc, meta


@router.get("/cities/{city}/export/{layer}",
            responses={200: {"content": {m: {} for m in MEDIA.values()},
                             "description": "the layer as a file (complete; `X-Total-Count` rows)"}},
            summary="Export a dashboard layer as GeoJSON, GeoPackage, CSV or XLSX (the layer's own role and audit)")
async def export_layer(
    request: Request,
    city: CityKey,
    layer: Annotated[str, PathParam(description="one of " + ", ".join(EXPORT_LAYERS))],
    format: Annotated[Literal["geojson", "gpkg", "csv", "xlsx"], Query(description="file format")] = "geojson",
):
    if layer not in EXPORT_LAYERS:
        raise ApiError(404, f"no export layer {layer!r}; use one of {', '.join(EXPORT_LAYERS)}", slug="not-found")
    path = EXPORT_LAYERS[layer].format(city=city)
    params = [(k, v) for k, v in request.query_params.multi_items() if k not in ("format", "limit", "offset")]
    fetch = _fetch_incidents if layer == "incidents" else _fetch_layer
    got = await fetch(request, layer, path, params)
    if isinstance(got, Response):
        return got
    doc, meta = got
    n = len(doc) if isinstance(doc, list) else len(doc.get("features", []))
    total = int(meta.get("total", n)) if layer == "incidents" else n
    headers = {"X-Total-Count": str(total), "X-Exported-Count": str(n), "Cache-Control": "private, no-store",
               "Content-Disposition": f'attachment; filename="{city}_{layer}.{format}"'}
    return await run_in_threadpool(_encode, doc, meta, city=city, layer=layer, format=format, n=n, total=total,
                                  headers=headers)


def _encode(doc, meta: dict, *, city: str, layer: str, format: str, n: int, total: int, headers: dict) -> Response:
    """The layer's answer as the file (CPU work: run in the thread pool)."""
    if format == "geojson" and layer != "fix-first":
        out = dict(doc)
        if meta:
            out["meta"] = meta
        return Response(json.dumps(out, ensure_ascii=False, separators=(",", ":")).encode("utf-8"),
                        media_type=GEOJSON, headers=headers)
    g = _frame(doc)
    if format == "geojson":
        return Response(g.to_json(ensure_ascii=False).encode("utf-8"), media_type=GEOJSON, headers=headers)
    if format == "gpkg":
        return Response(_gpkg(g, layer), media_type=MEDIA["gpkg"], headers=headers)
    table = _table(g)
    if format == "csv":
        return Response(csv_text_safe(table).encode("utf-8-sig"), media_type=MEDIA["csv"], headers=headers)
    buf = io.BytesIO()
    notes = {"city": city, "layer": layer, "rows": n, "total": total,
             **{k: v for k, v in meta.items() if isinstance(v, str | int | float | bool)}}
    write_xlsx_safe({layer[:31]: table}, buf, notes=notes)
    return Response(buf.getvalue(), media_type=MEDIA["xlsx"], headers=headers)
