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


def _user_folder(city: str) -> Path | None:
    c = get_city(city)
    return Path(c.folder) if c.user else None


def streets_path(city: str) -> Path:
    """The named-street file of ``city``: ``data/streets/<city>_streets.json`` for a shipped city,
    ``<city folder>/streets.json`` for a user city (written by ``qauipsiz city import-osm``)."""
    folder = _user_folder(city)
    return folder / "streets.json" if folder else data_dir() / "streets" / f"{get_city(city).key}_streets.json"


def intersections_path(city: str) -> Path:
    """The intersection file of ``city``: ``data/streets/<city>_intersections.json`` (shipped) or
    ``<city folder>/intersections.json`` (user city: named OSM ways sharing a node)."""
    folder = _user_folder(city)
    return folder / "intersections.json" if folder else \
        data_dir() / "streets" / f"{get_city(city).key}_intersections.json"


def network_path(city: str) -> Path:
    """The file :func:`load_streets` reads: the shipped street JSON, or a user city's
    ``streets.parquet`` (GeoParquet of every OSM ``highway`` way, named or not)."""
    folder = _user_folder(city)
    return folder / "streets.parquet" if folder else streets_path(city)


def has_streets(city: str) -> bool:
    """Whether ``city`` has a street file (needed by the street network, siting and patrols)."""
    return network_path(city).exists() or streets_path(city).exists()


NOT_A_WAY = frozenset({"abandoned", "construction", "no", "planned", "platform", "proposed", "raceway",
                       "razed", "rest_area", "services", "disused"})
"""OSM ``highway`` values that are not a way one can walk or drive (pyrosm's and OSMnx's ``all``
network leave them out): kept in a user city's ``streets.parquet``, not in :func:`load_streets`."""


def _osm_streets(path: Path, epsg: int) -> gpd.GeoDataFrame:
    g = gpd.read_parquet(path)
    keep = ~g["highway"].isin(NOT_A_WAY).to_numpy() & ~g["area"].to_numpy(bool)
    g = g[keep].reset_index(drop=True)
    g.insert(0, "street_id", np.arange(len(g)))
    g.insert(3, "part", 0)
    g["length_m"] = g.to_crs(epsg).length.to_numpy() if len(g) else np.zeros(0)
    return g


@cache
def load_streets(city: str = "astana") -> gpd.GeoDataFrame:
    """Street segments of ``city``: ``street_id, name, part, length_m, geometry`` (WGS84).

    A shipped city's come from its named-street JSON (see :func:`streets_from_json`).  A user
    city's come from ``streets.parquet`` (``qauipsiz city import-osm``): one row per OSM
    ``highway`` way, named or not (``name`` "" when unnamed), footways and paths included, with
    ``way_id, name_kk, name_ru, old_name, highway, area`` as well; ways that are not passable
    (:data:`NOT_A_WAY`) and ``area=yes`` outlines are left out.
    """
    c = get_city(city)
    net = network_path(c.key)
    if c.user and net.exists():
        return _osm_streets(net, c.epsg)
    path = streets_path(c.key)
    if not path.exists():
        how = (f"import an OpenStreetMap extract: qauipsiz city import-osm {c.key} FILE.osm.pbf" if c.user else
               "named street lines as '{\"streets\": [{\"name\", \"points\": [{\"lat\", \"lng\"}]}]}', "
               "e.g. from OpenStreetMap")
        raise ValueError(f"no street file for {city!r}: expected {path} ({how}); the street network, siting and "
                         "patrol routing need it")
    return streets_from_json(path, c.epsg)


@cache
def load_intersections(city: str = "astana") -> pd.DataFrame:
    """Intersection points: ``street, crossroad, lat, lon`` (crossroad may be empty)."""
    path = intersections_path(city)
    raw = json.loads(path.read_text(encoding="utf-8"))
    rows = [(k, p.get("crossroad") or "", p["lat"], p["lng"]) for k, v in raw.items() for p in v]
    return pd.DataFrame(rows, columns=["street", "crossroad", "lat", "lon"])
