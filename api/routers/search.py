"""Address search through the product's own geocoder, and street and place labels for the basemap.

- ``GET /cities/{city}/search?q=…`` — the city's gazetteer (``hotspot.geocode.Geocoder``, offline;
  nothing is sent to an outside service) turns an address into a point with its precision
  (``address``, ``intersection``, ``street``, ``district``, ``city``), score (0–100) and uncertainty
  radius in metres.  An address it cannot place is a 404 ``address-not-found``.
- ``GET /cities/{city}/labels.geojson`` — label points from the city's own street layer
  (``hotspot.streets.load_streets``): one point per street piece at the middle of its longest
  part, with the name, the text angle in degrees (−90…90, counter-clockwise from east, as the line
  runs there) and ``min_zoom``, the first web-map zoom at which it is drawn (long streets earlier);
  and one point per district (``kind = "district"``) with its kk/ru/en names.

Both are public: they hold the shipped street names and district names only.
"""
from __future__ import annotations

from typing import Annotated

import numpy as np
import pandas as pd
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from qauipsiz.api.errors import ApiError
from qauipsiz.api.routers._deps import CityKey, Services, city_obj, services
from qauipsiz.api.routers._geo import GEOJSON, cached_bytes, etag_for, feature_collection

router = APIRouter(tags=["cities"])


class SearchResult(BaseModel):
    query: str
    lat: float = Field(description="WGS84 degrees")
    lon: float = Field(description="WGS84 degrees")
    precision: str = Field(description="address, intersection, street, district or city")
    score: float = Field(description="match score 0–100")
    uncertainty_m: float | None = Field(None, description="radius of the uncertainty in metres")
    matched: str = Field(description="what the gazetteer matched (canonical name)")
    ambiguous: bool = False
    candidates: list[str] = Field(default_factory=list, description="alternatives when ambiguous")


@router.get("/cities/{city}/search", response_model=SearchResult,
            summary="Address search through the city's own gazetteer (offline): a point and its precision")
def search(request: Request, city: CityKey,
           q: Annotated[str, Query(min_length=2, max_length=200, description="address text (kk/ru, Cyrillic or "
                                                                              "Latin)")],
           svc: Services = Depends(services)):
    city_obj(city)
    from qauipsiz.hotspot.geocode import Geocoder, has_gazetteer

    if not has_gazetteer(city):
        raise ApiError(404, f"city {city!r} has no gazetteer (street layer) to search", slug="no-gazetteer")
    r = Geocoder.for_city(city).geocode_one(q.strip())
    if r["lat"] is None or r["lon"] is None or r["precision"] in ("none", None):
        raise ApiError(404, f"address {q!r} not found in the {city} gazetteer", slug="address-not-found")
    res = SearchResult(query=q, lat=r["lat"], lon=r["lon"], precision=str(r["precision"]), score=r["score"],
                       uncertainty_m=r["uncertainty_m"], matched=str(r["matched"] or ""),
                       ambiguous=bool(r.get("ambiguous", False)), candidates=r.get("candidates", []))
    return res


def street_labels(streets) -> pd.DataFrame:
    """Label points of a street layer.

    Parameters
    ----------
    streets : GeoDataFrame
        ``name, length_m, geometry`` (EPSG:4326 lines), as :func:`hotspot.streets.load_streets` gives.

    Returns
    -------
    DataFrame
        One row per named street piece: ``name``, ``lat``, ``lon`` (WGS84 degrees, the middle of the
        piece's longest part), ``angle`` (degrees, −90…90, counter-clockwise from east, of the line there
        on a Mercator map), ``length_m`` (metres) and ``min_zoom`` (14 for pieces ≥ 2 km, 15 for ≥ 700 m,
        16 for ≥ 250 m, else 17).
    """
    import shapely

    s = streets[streets["name"].notna() & (streets["name"].astype(str).str.strip() != "")]
    if not len(s):
        return pd.DataFrame(columns=["name", "lat", "lon", "angle", "length_m", "min_zoom"])
    parts, idx = shapely.get_parts(s.geometry.values, return_index=True)
    plen = shapely.length(parts)
    order = np.lexsort((-plen, idx))
    first = np.unique(idx[order], return_index=True)[1]
    best = parts[order[first]]
    mid = shapely.line_interpolate_point(best, 0.5, normalized=True)
    a = shapely.line_interpolate_point(best, 0.45, normalized=True)
    b = shapely.line_interpolate_point(best, 0.55, normalized=True)
    lat0 = shapely.get_y(mid)
    dx = (shapely.get_x(b) - shapely.get_x(a)) * np.cos(np.radians(lat0))
    dy = shapely.get_y(b) - shapely.get_y(a)
    ang = np.degrees(np.arctan2(dy, dx))
    ang = np.where(ang > 90, ang - 180, np.where(ang < -90, ang + 180, ang))
    length = s["length_m"].to_numpy(float)
    zoom = np.select([length >= 2000, length >= 700, length >= 250], [14, 15, 16], 17)
    return pd.DataFrame({"name": s["name"].astype(str).to_numpy(), "lat": lat0, "lon": shapely.get_x(mid),
                         "angle": np.round(ang, 1), "length_m": np.round(length, 1), "min_zoom": zoom})


@router.get("/cities/{city}/labels.geojson", responses={200: {"content": {GEOJSON: {}}}},
            summary="Street and district label points from the city's own street layer (GeoJSON)")
def labels_geojson(request: Request, city: CityKey, svc: Services = Depends(services)):
    c = city_obj(city)

    def build() -> bytes:
        import shapely

        from qauipsiz.hotspot.streets import load_streets

        try:
            t = street_labels(load_streets(city))
        except (FileNotFoundError, ValueError):
            t = street_labels(pd.DataFrame({"name": [], "length_m": [], "geometry": []}))
        t = t.assign(kind="street", name_kk=t["name"], name_ru=t["name"], name_en=t["name"])
        d = c.districts
        pts = shapely.point_on_surface(d.geometry.values)
        dl = pd.DataFrame({"name": d["name_ru"].astype(str).to_numpy(), "lat": shapely.get_y(pts),
                           "lon": shapely.get_x(pts), "angle": 0.0, "length_m": None, "min_zoom": 10,
                           "kind": "district", "name_kk": d["name_kk"].astype(str).to_numpy(),
                           "name_ru": d["name_ru"].astype(str).to_numpy(),
                           "name_en": d["name_en"].astype(str).to_numpy()})
        allt = pd.concat([dl, t], ignore_index=True)
        geoms = shapely.points(allt["lon"].to_numpy(float), allt["lat"].to_numpy(float))
        props = allt.drop(columns=["lat", "lon"]).astype(object)
        return feature_collection(geoms, props.where(props.notna(), None), precision=1e-6)

    body = svc.cache.get_or_compute(("labels", city), build)
    return cached_bytes(request, body, GEOJSON, etag_for("labels", city, len(body)), public=True, max_age=3600)
