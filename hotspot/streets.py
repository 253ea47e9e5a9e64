"""Street lines and intersections of a city, split into clean segments at jumps."""
from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from qauipsiz.hotspot.cities import get_city
from qauipsiz.hotspot.paths import data_dir

JUMP_M = 250.0
"""Consecutive vertices farther apart than this (metres) belong to different OSM ways."""


def split_polyline(x: np.ndarray, y: np.ndarray, max_gap_m: float = JUMP_M) -> list[np.ndarray]:
    """Split one vertex sequence (metric ``x, y``) wherever consecutive vertices are more than
    ``max_gap_m`` metres apart; return the index arrays of the parts with ≥ 2 vertices."""
    gap = np.hypot(np.diff(x), np.diff(y)) > max_gap_m
    cuts = np.flatnonzero(gap) + 1
    parts = np.split(np.arange(len(x)), cuts)
    return [p for p in parts if len(p) >= 2]


def streets_from_json(path: str | Path, epsg: int, max_gap_m: float = JUMP_M) -> gpd.GeoDataFrame:
    """Read ``{"streets": [{"name", "points": [{"lat","lng"}]}]}`` and split each street at jumps.

    Returns a GeoDataFrame in EPSG:4326 with ``street_id`` (int), ``name`` (as in the source),
    ``part`` (0, 1, … within the street), ``length_m`` and LineString geometry.
    """
    raw = json.loads(Path(path).read_text(encoding="utf-8"))["streets"]
    names, parts, geoms = [], [], []
    from pyproj import Transformer

    fwd = Transformer.from_crs(4326, epsg, always_xy=True)
    for s in raw:
        pts = s.get("points") or []
        if len(pts) < 2:
            continue
        lon = np.array([p["lng"] for p in pts], float)
        lat = np.array([p["lat"] for p in pts], float)
        x, y = fwd.transform(lon, lat)
        for k, idx in enumerate(split_polyline(np.asarray(x), np.asarray(y), max_gap_m)):
            names.append(s["name"])
            parts.append(k)
            geoms.append(shapely.linestrings(np.c_[lon[idx], lat[idx]]))
    gdf = gpd.GeoDataFrame({"name": names, "part": parts}, geometry=geoms, crs=4326)
    gdf["length_m"] = gdf.to_crs(epsg).length.to_numpy()
    gdf = gdf[gdf["length_m"] > 0].reset_index(drop=True)
    gdf.insert(0, "street_id", np.arange(len(gdf)))
    return gdf


def streets_path(city: str) -> Path:
    """Where the street file of ``city`` is shipped (``data/streets/<city>_streets.json``)."""
    return data_dir() / "streets" / f"{get_city(city).key}_streets.json"


def intersections_path(city: str) -> Path:
    """Where the intersection file of ``city`` is shipped (``data/streets/<city>_intersections.json``)."""
    return data_dir() / "streets" / f"{get_city(city).key}_intersections.json"


def has_streets(city: str) -> bool:
    """Whether ``city`` has a street file (needed by the street network, siting and patrols)."""
    return streets_path(city).exists()


@cache
def load_streets(city: str = "astana") -> gpd.GeoDataFrame:
    """Shipped street segments of ``city`` (see :func:`streets_from_json`)."""
    c = get_city(city)
    path = streets_path(c.key)
    if not path.exists():
        raise ValueError(f"no street file for {city!r}: expected {path} (named street lines as "
                         "'{\"streets\": [{\"name\", \"points\": [{\"lat\", \"lng\"}]}]}', e.g. from "
                         "OpenStreetMap); the street network, siting and patrol routing need it")
    return streets_from_json(path, c.epsg)


@cache
def load_intersections(city: str = "astana") -> pd.DataFrame:
    """Shipped intersection points: ``street, crossroad, lat, lon`` (crossroad may be empty)."""
    path = intersections_path(city)
    raw = json.loads(path.read_text(encoding="utf-8"))
    rows = [(k, p.get("crossroad") or "", p["lat"], p["lng"]) for k, v in raw.items() for p in v]
    return pd.DataFrame(rows, columns=["street", "crossroad", "lat", "lon"])
