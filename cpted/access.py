"""Access control, permeability, natural surveillance and activity support measures (metres, shares)."""
from __future__ import annotations

import numpy as np
import shapely

from cpted.layers import CONTROLLED_ACCESS


def point_owner(points, polygons) -> np.ndarray:
    """Index of the polygon containing each point (first match), −1 outside all; metric geometries."""
    pts = np.asarray(points, dtype=object)
    out = np.full(len(pts), -1, np.int64)
    polys = np.asarray(polygons, dtype=object)
    if len(pts) == 0 or len(polys) == 0:
        return out
    pi, gi = shapely.STRtree(polys).query(pts, predicate="intersects")
    order = np.lexsort((gi, pi))
    pi, gi = pi[order], gi[order]
    first = np.r_[True, pi[1:] != pi[:-1]] if len(pi) else np.zeros(0, bool)
    out[pi[first]] = gi[first]
    return out


def near_polygon(points, polygons, distance_m: float) -> np.ndarray:
    """Boolean per polygon: is any point within ``distance_m`` metres of it?"""
    polys = np.asarray(polygons, dtype=object)
    out = np.zeros(len(polys), bool)
    pts = np.asarray(points, dtype=object)
    if len(pts) and len(polys):
        pi, _ = shapely.STRtree(pts).query(polys, predicate="dwithin", distance=distance_m)
        out[np.unique(pi)] = True
    return out


def controlled(access) -> np.ndarray:
    """Boolean per entrance: access type is intercom, guarded or locked."""
    return np.isin(np.asarray(access, dtype=object).astype(str), CONTROLLED_ACCESS)


def edge_open_share(polygons, fences, snap_m: float = 3.0, step_m: float = 2.0) -> np.ndarray:
    """Share of each polygon's boundary not within ``snap_m`` of a fence line (open gaps, through-routes).

    The boundary is sampled every ``step_m`` metres.  A yard fully fenced scores 0, an open one 1.
    """
    polys = np.asarray(polygons, dtype=object)
    if len(polys) == 0:
        return np.zeros(0)
    ring = shapely.boundary(polys)
    length = shapely.length(ring)
    n = np.maximum((length / step_m).astype(np.int64), 4)
    idx = np.repeat(np.arange(len(polys)), n)
    k = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
    pts = shapely.line_interpolate_point(ring[idx], (k + 0.5) / n[idx], normalized=True)
    fl = np.asarray(fences, dtype=object) if fences is not None else np.zeros(0, dtype=object)
    fenced = np.zeros(len(pts), bool)
    if len(fl):
        pi, _ = shapely.STRtree(fl).query(pts, predicate="dwithin", distance=snap_m)
        fenced[pi] = True
    return 1.0 - np.bincount(idx, weights=fenced, minlength=len(polys)) / n


def overlook_samples(grid, watchers, distance_m: float) -> np.ndarray:
    """Boolean per sample of a :class:`cpted.lighting.SampleGrid`: within ``distance_m`` of a watcher.

    ``watchers`` are metric geometries that provide eyes on the space: entrances (points) and
    buildings with an active ground floor (polygons).
    """
    w = np.asarray(watchers, dtype=object)
    if len(w) == 0:
        return np.zeros(len(grid), bool)
    return grid.burn(shapely.buffer(w, distance_m), np.ones(len(w), np.int32)) > 0
