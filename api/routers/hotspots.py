"""Hotspots: KDE + Gi* hexagons (GeoJSON, H3 ids as hex strings), GeoTIFF, heat-map XYZ PNG tiles."""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from qauipsiz.api.auth import Principal, require
from qauipsiz.api.errors import client_input
from qauipsiz.api.routers import _engine
from qauipsiz.api.routers._deps import CityKey, Filters, Services, city_obj, filters, services
from qauipsiz.api.routers._geo import GEOJSON, cached_bytes, etag_for
from qauipsiz.api.routers._hotspot_body import hotspot_body

router = APIRouter(tags=["hotspots"])

Bandwidth = Annotated[float | None, Query(
    gt=25, le=5000, description="KDE radius in metres; default the city default radius, the same for every "
                                "filter (GET /cities/{city}/bandwidth). The value used is returned as "
                                "`bandwidth_m` with `bandwidth_source` ('city default' or 'user').")]
CellM = Annotated[float, Query(ge=20, le=500, description="raster cell size in metres")]
Weighted = Annotated[bool, Query(description="weight incidents by harm (severity class)")]


@router.get("/cities/{city}/hotspots.geojson",
            responses={200: {"content": {GEOJSON: {}}, "description": "H3 hexagons with KDE and Gi*"}},
            summary="Hotspot hexagons: per-cell count, KDE density and Gi* z / p / FDR q / Esri bin")
async def hotspots_geojson(
    request: Request,
    city: CityKey,
    res: Annotated[int, Query(ge=7, le=10, description="H3 resolution")] = 9,
    f: Filters = Depends(filters),
    bandwidth_m: Bandwidth = None,
    weighted: Weighted = False,
    k: Annotated[int, Query(ge=1, le=5, description="H3 ring radius of the Gi* neighbourhood")] = 1,
    only_nonzero: Annotated[bool, Query(description="drop cells with no incidents and Gi* bin 0")] = True,
    p: Principal = Depends(require("hotspots")),
    svc: Services = Depends(services),
):
    city_obj(city)
    params = {"bandwidth_m": bandwidth_m, "weighted": weighted, "k": k}
    ver = svc.version(city)
    # roles that may not see single incidents (planner) get counts below k hidden (k-anonymity)
    k_min = 0 if p.can("incidents:read") else svc.settings.min_public_count
    key = ("hotspots-geojson", city, res, only_nonzero, repr(sorted(f.as_params().items())), repr(params), ver,
           k_min)

    def build():
        cells = _engine.hotspot_cells(svc, city, f, res=res, params=params)
        meta = {kk: v for kk, v in cells.attrs.get("params", {}).items()
                if isinstance(v, int | float | str | bool) and kk != "created_utc"}
        if svc.synthetic(city):
            from qauipsiz.api.routers.cities import SYNTHETIC_NOTICE

            meta["notice"] = SYNTHETIC_NOTICE
        if k_min:
            meta["counts_hidden_below"] = k_min
        # column-wise GeoJSON: each cell's geometry and id encoded once per city and resolution (cached)
        return hotspot_body(cells, only_nonzero=only_nonzero, k_min=k_min,
                            meta={"city": city, "res": res, **meta}, precision=1e-5)

    body = svc.cache.get(key)  # fast path on the event loop; computing goes to a worker thread
    if body is None:
        body = await run_in_threadpool(svc.cache.get_or_compute, key, build)
    return cached_bytes(request, body, GEOJSON, etag_for(*key))


@router.get("/cities/{city}/hotspots.tif",
            responses={200: {"content": {"image/tiff": {}}, "description": "float32 GeoTIFF, per km²"}},
            summary="KDE density surface as a GeoTIFF (city UTM zone, incidents per km²)")
def hotspots_geotiff(request: Request, city: CityKey, f: Filters = Depends(filters), bandwidth_m: Bandwidth = None,
                     cell_m: CellM = 50.0, weighted: Weighted = False, p: Principal = Depends(require("hotspots")),
                     svc: Services = Depends(services)):
    g = _engine.density_grid(svc, city, f, bandwidth_m=bandwidth_m, cell_m=cell_m, weighted=weighted)
    from qauipsiz.hotspot.kde import write_geotiff

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "density.tif"
        write_geotiff(path, g.grid, g.transform, g.epsg,
                      tags={"kernel": "quartic", "bandwidth_m": g.bandwidth_m,
                            "bandwidth_source": g.bandwidth_source, "cell_m": g.cell_m,
                            "n_points": g.n_points, "city": city, **{k: v for k, v in f.as_params().items() if v}})
        body = path.read_bytes()
    return cached_bytes(request, body, "image/tiff",
                        etag_for("tif", city, len(body), g.bandwidth_m, g.bandwidth_source, g.n_points),
                        filename=f"{city}_density.tif")


class HeatLegend(BaseModel):
    units: str
    vmax: float
    bandwidth_m: float
    cell_m: float
    n_points: int
    stops: list[tuple[float, list[int]]]
    bandwidth_source: str = "city default"
    """'city default' (the city's radius for every filter) or 'user' (the request's bandwidth_m)."""
    bandwidth_default_m: float | None = None
    """The city default radius, for a 'reset' control (also when the user set another one)."""


class CityBandwidthOut(BaseModel):
    bandwidth_m: float
    bandwidth_source: str
    rule: str
    raw_m: float | None
    k: int
    min_m: float
    max_m: float
    n_points: int
    data_version: str


@router.get("/cities/{city}/bandwidth", response_model=CityBandwidthOut,
            summary="The city default KDE radius (metres) used by every hotspot and heat-map view")
def city_bandwidth(request: Request, city: CityKey, p: Principal = Depends(require("hotspots")),
                   svc: Services = Depends(services)):
    """Computed once per data version from all of the city's located incidents (the rule in
    ``rule``); every hotspot, heat tile, legend and GeoTIFF uses it unless ``bandwidth_m`` is given."""
    import json

    city_obj(city)
    cb = _engine.city_bandwidth(svc, city)
    ver = svc.version(city)
    d = cb.as_dict()
    out = CityBandwidthOut(bandwidth_m=d["bandwidth_m"], bandwidth_source="city default", rule=cb.rule,
                           raw_m=d["raw_m"], k=cb.k, min_m=cb.min_m, max_m=cb.max_m, n_points=cb.n_points,
                           data_version=str(ver))
    body = json.dumps(out.model_dump(), ensure_ascii=False).encode()
    return cached_bytes(request, body, "application/json", etag_for("bandwidth", city, ver))


@router.get("/cities/{city}/heat/legend", response_model=HeatLegend,
            summary="Colour scale of the heat tiles for these filters")
def heat_legend(city: CityKey, f: Filters = Depends(filters), bandwidth_m: Bandwidth = None,
                weighted: Weighted = False, p: Principal = Depends(require("hotspots")),
                svc: Services = Depends(services)) -> HeatLegend:
    from qauipsiz.maps.tiles import HEAT_STOPS

    g = _engine.density_grid(svc, city, f, bandwidth_m=bandwidth_m, cell_m=50.0, weighted=weighted)
    return HeatLegend(units="incidents per km²", vmax=g.vmax, bandwidth_m=g.bandwidth_m, cell_m=g.cell_m,
                      n_points=g.n_points, stops=[(s * g.vmax, list(c)) for s, c in HEAT_STOPS],
                      bandwidth_source=g.bandwidth_source,
                      bandwidth_default_m=round(_engine.city_bandwidth(svc, city).bandwidth_m, 1))


@router.get("/cities/{city}/heat/{z}/{x}/{y}.png",
            responses={200: {"content": {"image/png": {}}, "description": "256 px RGBA PNG"}},
            summary="Heat-map XYZ tile rendered from the KDE density surface (cached)")
async def heat_tile(request: Request, city: CityKey,
              z: Annotated[int, PathParam(ge=0, le=20)], x: Annotated[int, PathParam(ge=0)],
              y: Annotated[int, PathParam(ge=0)],
              f: Filters = Depends(filters), bandwidth_m: Bandwidth = None, weighted: Weighted = False,
              p: Principal = Depends(require("hotspots")), svc: Services = Depends(services)):
    from qauipsiz.maps.tiles import check_tile, render_tile

    with client_input():
        check_tile(z, x, y)
    ver = svc.version(city)
    key = ("tile", city, z, x, y, repr(sorted(f.as_params().items())), bandwidth_m, weighted, ver)
    body = svc.cache.get(key)  # fast path on the event loop
    if body is None:
        def render():
            g = _engine.density_grid(svc, city, f, bandwidth_m=bandwidth_m, cell_m=50.0, weighted=weighted)
            return svc.cache.get_or_compute(
                key, lambda: render_tile(g.grid, g.transform, g.epsg, z, x, y, g.vmax, bounds_3857=g.bounds_3857))

        body = await run_in_threadpool(render)
    return cached_bytes(request, body, "image/png", etag_for(*key))
