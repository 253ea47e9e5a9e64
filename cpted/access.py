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
    ring = shapely.segmentize(shapely.boundary(polys), step_m)
    xy, idx = shapely.get_coordinates(ring, return_index=True)
    same = idx[1:] == idx[:-1]
    a, b, seg_of = xy[:-1][same], xy[1:][same], idx[1:][same]
    seg_len = np.hypot(*(b - a).T)
    mid = shapely.points((a + b) / 2)
    fl = np.asarray(fences, dtype=object) if fences is not None else np.zeros(0, dtype=object)
    fenced = np.zeros(len(mid), bool)
    if len(fl):
        pi, _ = shapely.STRtree(fl).query(mid, predicate="dwithin", distance=snap_m)
        fenced[pi] = True
    total = np.bincount(seg_of, weights=seg_len, minlength=len(polys))
    closed = np.bincount(seg_of, weights=seg_len * fenced, minlength=len(polys))
    return 1.0 - np.where(total > 0, closed / np.where(total > 0, total, 1), 0.0)


def overlook_samples(grid, distance_m: float, points=None, polygons=None) -> np.ndarray:
    """Boolean per sample of a :class:`cpted.lighting.SampleGrid`: within ``distance_m`` of a watcher.

    Watchers give eyes on the space: ``points`` (entrances; an ``(n, 2)`` array of metres or point
    geometries) and ``polygons`` (buildings with an active ground floor, metres).
    """
    from scipy.spatial import cKDTree

    out = np.zeros(len(grid), bool)
    if points is not None and len(points):
        pts = np.asarray(points)
        xy = shapely.get_coordinates(pts) if pts.dtype == object else pts.reshape(-1, 2)
        d, _ = cKDTree(xy).query(np.c_[grid.x, grid.y], distance_upper_bound=distance_m)
        out |= np.isfinite(d)
    if polygons is not None and len(polygons):
        w = np.asarray(polygons, dtype=object)
        out |= grid.burn(shapely.buffer(w, distance_m, quad_segs=4), np.ones(len(w), np.int32)) > 0
    return out
