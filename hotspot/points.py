"""Fields derived from a point and a time: district, H3 cell (res 11) and darkness (pure; used by the
ingest pipeline and by the store when geocoding fills in points)."""
from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd
import shapely

from qauipsiz.hotspot.cities import City, get_city
from qauipsiz.hotspot.h3grid import latlng_to_cells
from qauipsiz.hotspot.schema import H3_STORE_RES
from qauipsiz.hotspot.timeutil import is_dark


@cache
def _district_polys(city_key: str):
    d = get_city(city_key).districts
    polys = d.geometry.values.copy()
    shapely.prepare(polys)
    return polys, d["district"].to_numpy(object)


def assign_district(city: City, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Same result as :meth:`City.assign_district` (first district wins on shared edges), with one
    prepared ``contains_xy`` pass per district instead of an STRtree ``within`` query — about ten
    times faster for the handful of district polygons a city has."""
    polys, keys = _district_polys(city.key)
    out = np.full(len(lat), None, dtype=object)
    todo = np.ones(len(lat), bool)
    for g, k in zip(polys, keys, strict=True):
        idx = np.flatnonzero(todo)
        if not len(idx):
            break
        hit = idx[shapely.contains_xy(g, lon[idx], lat[idx])]
        out[hit] = k
        todo[hit] = False
    return out


def derive_point_fields(city: City, lat: np.ndarray, lon: np.ndarray, occurred_at: pd.Series) -> pd.DataFrame:
    """``district`` (object, ``None`` outside), ``h3`` (uint64, 0 without a point) and ``is_dark``
    (object: ``True``/``False``, ``None`` without a point or time) for points in decimal degrees."""
    lat = np.asarray(lat, float)
    lon = np.asarray(lon, float)
    n = len(lat)
    ok = np.isfinite(lat) & np.isfinite(lon)
    district = np.full(n, None, dtype=object)
    if ok.any():
        district[ok] = assign_district(city, lat[ok], lon[ok])
    h3 = latlng_to_cells(lat, lon, H3_STORE_RES)
    t = pd.to_datetime(pd.Series(occurred_at).reset_index(drop=True), utc=True)
    dark = np.full(n, None, dtype=object)
    okt = ok & t.notna().to_numpy()
    if okt.any():
        dark[okt] = is_dark(lat[okt], lon[okt], t[okt].reset_index(drop=True)).astype(bool)
    return pd.DataFrame({"district": district, "h3": h3, "is_dark": dark})
