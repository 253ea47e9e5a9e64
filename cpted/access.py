"""Access control, permeability, natural surveillance and activity support measures (metres, shares)."""
from __future__ import annotations

import numpy as np
import shapely

from qauipsiz.cpted.layers import CONTROLLED_ACCESS


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


def edge_openness(polygons, fences, snap_m: float = 3.0, step_m: float = 2.0,
                  min_gap_m: float = 3.0) -> tuple[np.ndarray, np.ndarray]:
    """Open share and open gaps of each polygon's edge (yards: permeability and through-routes).

    An edge stretch counts as closed when it lies within ``snap_m`` metres of a fence line; edges are
    cut into pieces of at most ``step_m`` metres.

    Returns
    -------
    open_share : numpy.ndarray
        Share of the edge length that is open (0 = fully fenced, 1 = no fence at all).
    gaps : numpy.ndarray of int
        Number of open stretches at least ``min_gap_m`` long on partly fenced rings (a ring with no
        fence at all is one open edge, not counted as a gap).  Two or more gaps make a through-route.
    """
    polys = np.asarray(polygons, dtype=object)
    n = len(polys)
    if n == 0:
        return np.zeros(0), np.zeros(0, np.int64)
    rings, ring_poly = shapely.get_parts(shapely.boundary(polys), return_index=True)
    rings = shapely.segmentize(rings, step_m)
    xy, idx = shapely.get_coordinates(rings, return_index=True)
    same = idx[1:] == idx[:-1]
    a, b, seg_ring = xy[:-1][same], xy[1:][same], idx[1:][same]
    seg_len = np.hypot(*(b - a).T)
    fl = np.asarray(fences, dtype=object) if fences is not None else np.zeros(0, dtype=object)
    fenced = np.zeros(len(a), bool)
    if len(fl) and len(a):
        pi, _ = shapely.STRtree(fl).query(shapely.points((a + b) / 2), predicate="dwithin", distance=snap_m)
        fenced[pi] = True
    seg_poly = ring_poly[seg_ring]
    total = np.bincount(seg_poly, weights=seg_len, minlength=n)
    closed = np.bincount(seg_poly, weights=seg_len * fenced, minlength=n)
    open_share = 1.0 - np.where(total > 0, closed / np.where(total > 0, total, 1), 0.0)
    # runs of open pieces per ring; the first and last run of a ring join across its start point
    nr = len(rings)
    op = ~fenced
    first = np.r_[True, seg_ring[1:] != seg_ring[:-1]] if len(op) else np.zeros(0, bool)
    last = np.r_[seg_ring[1:] != seg_ring[:-1], True] if len(op) else np.zeros(0, bool)
    start = op & (first | np.r_[True, ~op[:-1]] if len(op) else op)
    run_id = np.cumsum(start) - 1
    runs = int(start.sum())
    run_len = np.bincount(run_id[op], weights=seg_len[op], minlength=runs) if runs else np.zeros(0)
    run_ring = np.zeros(runs, np.int64)
    run_ring[run_id[start]] = seg_ring[start]
    ring_open_all = np.bincount(seg_ring, weights=op, minlength=nr) == np.bincount(seg_ring, minlength=nr)
    wrap = np.zeros(nr, bool)
    first_open = np.zeros(nr, bool)
    first_open[seg_ring[first]] = op[first]
    last_open = np.zeros(nr, bool)
    last_open[seg_ring[last]] = op[last]
    wrap = first_open & last_open & ~ring_open_all
    if runs and wrap.any():
        fr = run_id[first][wrap[seg_ring[first]]]  # first run of each wrapping ring
        lr = run_id[last][wrap[seg_ring[last]]]  # its last run
        run_len[fr] += run_len[lr]
        run_len[lr] = 0.0
    good = (run_len >= min_gap_m) & ~ring_open_all[run_ring] if runs else np.zeros(0, bool)
    gaps_ring = np.bincount(run_ring[good], minlength=nr) if runs else np.zeros(nr, np.int64)
    gaps = np.bincount(ring_poly, weights=gaps_ring, minlength=n).astype(np.int64)
    return open_share, gaps


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
