"""Candidate sites: camera sites along the street network, busy public places for SOS buttons,
thinned intersections for police posts and inspector offices."""
from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from qauipsiz.cpted.siting._common import _city, _layer, _xy
from qauipsiz.hotspot.network import StreetNetwork, load_network


def camera_candidates(net: StreetNetwork, spacing_m: float = 40.0) -> pd.DataFrame:
    """Candidate camera sites from the street network: every intersection plus points along streets.

    Returns ``x, y`` (metres) and ``kind`` (``intersection`` or ``street``); street points are
    thinned to one per ``spacing_m`` grid square.
    """
    deg = net.degree
    inter = np.flatnonzero(deg >= 3)
    other = np.flatnonzero(deg < 3)
    key = np.c_[np.floor(net.x[other] / spacing_m), np.floor(net.y[other] / spacing_m)]
    _, first = np.unique(key, axis=0, return_index=True)
    pts = other[np.sort(first)]
    return pd.DataFrame({"x": np.r_[net.x[inter], net.x[pts]], "y": np.r_[net.y[inter], net.y[pts]],
                         "kind": np.r_[np.full(len(inter), "intersection"), np.full(len(pts), "street")]})


def busy_places(layers: dict, city, net: StreetNetwork | None = None, mall_min_m2: float = 1500.0) -> pd.DataFrame:
    """Busy public places from the layers: transit stops, squares, markets, malls, park entrances.

    Polygons (squares, markets, large commercial buildings, parks) are represented by the point of
    their outline nearest to the street network — where people come in.  Returns ``x, y``
    (metres), ``kind`` and ``name``.
    """
    c = _city(city)
    net = net or load_network(c.key)
    parts = []
    stops = _layer(layers, "transit_stops")
    if len(stops):
        xy = _xy(stops, c.epsg)
        parts.append(pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1], "kind": "transit_stop",
                                   "name": stops["name"].astype(str).to_numpy() if "name" in stops else ""}))
    nodes = shapely.points(np.c_[net.x, net.y])
    node_tree = shapely.STRtree(nodes)

    def entrances(polys, kind, names):
        if len(polys) == 0:
            return
        k = node_tree.nearest(polys)
        ring = shapely.boundary(polys)
        p = shapely.shortest_line(ring, nodes[k])
        xy = shapely.get_coordinates(shapely.get_point(p, 0))
        parts.append(pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1], "kind": kind, "name": names}))

    lu = _layer(layers, "landuse")
    if len(lu):
        lum = lu.to_crs(c.epsg)
        for kind, key in (("square", "square"), ("market", "market"), ("park_entrance", "park")):
            sel = lum[lum["landuse"].astype(str).eq(key).to_numpy()]
            entrances(sel.geometry.values, kind, np.full(len(sel), ""))
    b = _layer(layers, "buildings")
    if len(b) and "use" in b.columns:
        bm = b.to_crs(c.epsg)
        sel = bm[bm["use"].astype(str).eq("commercial").to_numpy() & (bm.area.to_numpy() >= mall_min_m2)]
        entrances(sel.geometry.values, "mall", np.full(len(sel), ""))
    if not parts:
        raise ValueError("busy_places: no transit_stops, landuse (square/market/park) or commercial buildings in the layers")
    return pd.concat(parts, ignore_index=True)


def intersection_candidates(net: StreetNetwork, spacing_m: float) -> np.ndarray:
    """Street-network nodes where three or more street segments meet, thinned to the first one per
    ``spacing_m`` grid square; returns their node indices (candidate posts and offices)."""
    inter = np.flatnonzero(net.degree >= 3)
    key = np.c_[np.floor(net.x[inter] / spacing_m), np.floor(net.y[inter] / spacing_m)]
    _, first = np.unique(key, axis=0, return_index=True)
    return inter[np.sort(first)]
