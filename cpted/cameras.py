"""Camera coverage: field-of-view wedges out to DORI ranges, occluded by buildings (2-D visibility).

DORI (IEC 62676-4) asks for a pixel density at the target: detect 25 px/m, observe 62.5,
recognise 125, identify 250.  A camera with ``px`` horizontal pixels and a horizontal field of view
``FOV`` spreads its pixels over a scene width ``2 · d · tan(FOV/2)`` at distance ``d``, so the level
holds out to

    range = px / (ppm · 2 · tan(FOV / 2))     metres.

Visibility is 2-D: a target is seen when it lies inside the wedge (angle from the bearing ≤ FOV/2,
horizontal distance ≤ range) and the straight segment camera → target crosses no building wall.
Camera height is ignored (a camera cannot see over a building in this model).  Bearings are degrees
clockwise from north; all coordinates are metres in the city's UTM CRS.

The hot path (:func:`coverage_matrix`) buckets targets and building walls on uniform grids and walks
each sight line through the wall grid (Amanatides–Woo traversal) in numba, in parallel.
"""
from __future__ import annotations

import itertools

import numba
import numpy as np
import scipy.sparse as sp
import shapely

from qauipsiz.cpted.norms import dori_levels

WALL_SKIP_M = 0.3
"""Wall hits within this distance of either end of a sight line are ignored (cameras and
entrances sit on walls)."""


def level_ppm(level) -> float:
    """Pixels per metre of a DORI level name (``detect``, ``observe``, ``recognise``/``recognize``,
    ``identify``) or a number passed through."""
    if isinstance(level, int | float | np.floating | np.integer):
        if level <= 0:
            raise ValueError(f"ppm must be positive, got {level}")
        return float(level)
    t = dori_levels()
    key = str(level).lower().replace("recognize", "recognise")
    hit = t.loc[t["level"] == key, "ppm"]
    if hit.empty:
        raise ValueError(f"unknown DORI level {level!r}; use one of {', '.join(t['level'])} or a number (px/m)")
    return float(hit.iloc[0])


def dori_range(resolution_px, fov_deg, level="recognise") -> np.ndarray:
    """Distance (m) out to which a camera reaches a DORI level.

    Parameters
    ----------
    resolution_px : array-like
        Horizontal resolution in pixels.
    fov_deg : array-like
        Horizontal field of view in degrees, (0, 180).  Wider (panoramic) views are clipped to 179°.
    level : str or float
        DORI level name or pixels per metre.

    Returns
    -------
    numpy.ndarray
        ``px / (ppm · 2 · tan(FOV/2))`` metres.
    """
    px = np.asarray(resolution_px, float)
    fov = np.clip(np.asarray(fov_deg, float), 1e-6, 179.0)
    return px / (level_ppm(level) * 2.0 * np.tan(np.radians(fov) / 2.0))


def fov_wedges(x, y, bearing_deg, fov_deg, range_m, n_arc: int = 24) -> np.ndarray:
    """Unoccluded field-of-view wedges (sector polygons) of cameras, metres.

    ``n_arc`` vertices approximate the arc.  Returns a numpy array of shapely Polygons.
    """
    x, y, b, f, r = np.broadcast_arrays(*(np.asarray(v, float) for v in (x, y, bearing_deg, fov_deg, range_m)))
    fr = np.clip(f, 0, 359.9)
    t = np.linspace(-0.5, 0.5, n_arc)
    ang = np.radians(b[:, None] + fr[:, None] * t[None, :])  # clockwise from north
    ax = x[:, None] + r[:, None] * np.sin(ang)
    ay = y[:, None] + r[:, None] * np.cos(ang)
    ring = np.concatenate([np.stack([x, y], -1)[:, None, :], np.stack([ax, ay], -1),
                           np.stack([x, y], -1)[:, None, :]], axis=1)
    return shapely.polygons(ring)


# ----------------------------------------------------------------------------- occluder

class Occluder:
    """Building walls on a uniform grid for fast sight-line tests.

    Parameters
    ----------
    buildings : array-like of Polygon/MultiPolygon, GeoSeries or GeoDataFrame
        Footprints in metres (UTM).  ``None`` or empty: nothing occludes.
    cell_m : float
        Grid cell size, metres (default 20).
    """

    def __init__(self, buildings=None, cell_m: float = 20.0):
        if buildings is None:
            geoms = np.zeros(0, dtype=object)
        elif hasattr(buildings, "geometry"):
            geoms = np.asarray(buildings.geometry.values, dtype=object)
        else:
            geoms = np.asarray(buildings, dtype=object)
        geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))] if len(geoms) else geoms
        self.buildings = geoms
        rings = shapely.get_rings(shapely.get_parts(geoms)) if len(geoms) else np.zeros(0, dtype=object)
        xy, ridx = shapely.get_coordinates(rings, return_index=True) if len(rings) else (np.zeros((0, 2)), np.zeros(0, int))
        same = ridx[1:] == ridx[:-1] if len(ridx) else np.zeros(0, bool)
        a = xy[:-1][same]
        b = xy[1:][same]
        self.edges = np.ascontiguousarray(np.c_[a, b]) if len(a) else np.zeros((0, 4))
        self.cell = float(cell_m)
        e = self.edges
        if len(e):
            self.x0 = float(min(e[:, 0].min(), e[:, 2].min())) - 1.0
            self.y0 = float(min(e[:, 1].min(), e[:, 3].min())) - 1.0
            x1 = max(e[:, 0].max(), e[:, 2].max())
            y1 = max(e[:, 1].max(), e[:, 3].max())
        else:
            self.x0 = self.y0 = 0.0
            x1 = y1 = 1.0
        self.nx = int((x1 - self.x0) / self.cell) + 2
        self.ny = int((y1 - self.y0) / self.cell) + 2
        self.starts, self.items = _bucket_edges(self.edges, self.x0, self.y0, self.cell, self.nx, self.ny)

    def blocked(self, ax, ay, bx, by) -> np.ndarray:
        """Boolean per segment: does the segment a → b cross a building wall?"""
        ax, ay, bx, by = (np.ascontiguousarray(np.broadcast_to(np.asarray(v, float), np.broadcast_shapes(
            np.shape(ax), np.shape(ay), np.shape(bx), np.shape(by))).ravel()) for v in (ax, ay, bx, by))
        return _blocked_many(ax, ay, bx, by, self.edges, self.x0, self.y0, self.cell, self.nx, self.ny,
                             self.starts, self.items)

    def first_hit(self, ax, ay, bx, by) -> np.ndarray:
        """Fraction along each segment a → b of its first wall crossing (1.0 when it crosses none)."""
        ax, ay, bx, by = (np.ascontiguousarray(np.asarray(v, float).ravel()) for v in (ax, ay, bx, by))
        return _first_hit_many(ax, ay, bx, by, self.edges, self.x0, self.y0, self.cell, self.nx, self.ny,
                               self.starts, self.items)

    def inside(self, x, y) -> np.ndarray:
        """Index of the building containing each point, −1 outside every building."""
        pts = shapely.points(np.asarray(x, float), np.asarray(y, float))
        out = np.full(len(pts), -1, np.int64)
        if len(self.buildings) and len(pts):
            pi, bi = shapely.STRtree(self.buildings).query(pts, predicate="within")
            out[pi] = bi
        return out


def _bucket_edges(edges, x0, y0, cs, nx, ny):
    """CSR of the grid cells each edge's bounding box overlaps."""
    if len(edges) == 0:
        return np.zeros(nx * ny + 1, np.int64), np.zeros(0, np.int64)
    gx0 = np.clip(((np.minimum(edges[:, 0], edges[:, 2]) - x0) / cs).astype(np.int64), 0, nx - 1)
    gx1 = np.clip(((np.maximum(edges[:, 0], edges[:, 2]) - x0) / cs).astype(np.int64), 0, nx - 1)
    gy0 = np.clip(((np.minimum(edges[:, 1], edges[:, 3]) - y0) / cs).astype(np.int64), 0, ny - 1)
    gy1 = np.clip(((np.maximum(edges[:, 1], edges[:, 3]) - y0) / cs).astype(np.int64), 0, ny - 1)
    wx = gx1 - gx0 + 1
    wy = gy1 - gy0 + 1
    n = wx * wy
    eid = np.repeat(np.arange(len(edges)), n)
    k = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
    cx = gx0[eid] + k // wy[eid]
    cy = gy0[eid] + k % wy[eid]
    cell = cx * ny + cy
    order = np.argsort(cell, kind="stable")
    starts = np.zeros(nx * ny + 1, np.int64)
    np.cumsum(np.bincount(cell, minlength=nx * ny), out=starts[1:])
    return starts, eid[order].astype(np.int64)


@numba.njit(cache=True)
def _seg_blocked(ax, ay, bx, by, edges, x0, y0, cs, nx, ny, starts, items):  # noqa: PLR0913 -- numba kernel: arrays passed explicitly
    """Whether a wall crosses a → b, ignoring WALL_SKIP_M at both ends (a façade camera, an entrance)."""
    return _first_hit(ax, ay, bx, by, edges, x0, y0, cs, nx, ny, starts, items, True, True) < 1.0


@numba.njit(cache=True, parallel=True)
def _blocked_many(ax, ay, bx, by, edges, x0, y0, cs, nx, ny, starts, items):  # noqa: PLR0913 -- numba kernel: arrays passed explicitly
    out = np.zeros(ax.shape[0], np.bool_)
    for k in numba.prange(ax.shape[0]):
        out[k] = _seg_blocked(ax[k], ay[k], bx[k], by[k], edges, x0, y0, cs, nx, ny, starts, items)
    return out


@numba.njit(cache=True)
def _first_hit(ax, ay, bx, by, edges, x0, y0, cs, nx, ny, starts, items, skip_end=False, any_hit=False):  # noqa: PLR0913 -- numba kernel: arrays passed explicitly
    """Fraction t in [0, 1] along a → b of the first wall crossed (1.0 when none), walking the
    bucket grid cell by cell.  Hits within WALL_SKIP_M of a are ignored (a camera on a wall), and
    of b too with ``skip_end``; ``any_hit`` returns the first hit found instead of the nearest."""
    dx = bx - ax
    dy = by - ay
    length = np.sqrt(dx * dx + dy * dy)
    if length <= (2 if skip_end else 1) * WALL_SKIP_M:
        return 1.0
    tlo = WALL_SKIP_M / length
    thi = 1.0 - tlo if skip_end else 1.0
    best = 1.0
    fx = (ax - x0) / cs
    fy = (ay - y0) / cs
    cx = int(np.floor(fx))
    cy = int(np.floor(fy))
    ex = int(np.floor((bx - x0) / cs))
    ey = int(np.floor((by - y0) / cs))
    stepx = 1 if dx > 0 else (-1 if dx < 0 else 0)
    stepy = 1 if dy > 0 else (-1 if dy < 0 else 0)
    tmx = ((cx + 1) - fx) * cs / dx if dx > 0 else ((fx - cx) * cs / -dx if dx < 0 else np.inf)
    tdx = cs / abs(dx) if dx != 0 else np.inf
    tmy = ((cy + 1) - fy) * cs / dy if dy > 0 else ((fy - cy) * cs / -dy if dy < 0 else np.inf)
    tdy = cs / abs(dy) if dy != 0 else np.inf
    nsteps = abs(ex - cx) + abs(ey - cy) + 1
    for _ in range(nsteps + 2):
        if 0 <= cx < nx and 0 <= cy < ny:
            c = cx * ny + cy
            for j in range(starts[c], starts[c + 1]):
                m = items[j]
                px = edges[m, 0]
                py = edges[m, 1]
                qx = edges[m, 2] - px
                qy = edges[m, 3] - py
                den = dx * qy - dy * qx
                if den == 0.0:
                    continue
                wx = px - ax
                wy = py - ay
                t = (wx * qy - wy * qx) / den
                if t < tlo or t > thi or t >= best:
                    continue
                u = (wx * dy - wy * dx) / den
                if 0.0 <= u <= 1.0:
                    if any_hit:
                        return t
                    best = t
        if cx == ex and cy == ey:
            break
        if min(tmx, tmy) > best:
            break
        if tmx < tmy:
            tmx += tdx
            cx += stepx
        else:
            tmy += tdy
            cy += stepy
    return best


@numba.njit(cache=True, parallel=True)
def _first_hit_many(ax, ay, bx, by, edges, x0, y0, cs, nx, ny, starts, items):  # noqa: PLR0913 -- numba kernel: arrays passed explicitly
    out = np.ones(ax.shape[0])
    for k in numba.prange(ax.shape[0]):
        out[k] = _first_hit(ax[k], ay[k], bx[k], by[k], edges, x0, y0, cs, nx, ny, starts, items)
    return out


@numba.njit(cache=True)
def _cam_candidates(k, cx, cy, cb, chf, cr, tx, ty, tx0, ty0, tcs, tnx, tny, tstarts, titems,  # noqa: PLR0913 -- numba kernel: arrays passed explicitly
                    edges, x0, y0, cs, nx, ny, starts, items, out, occlude):
    """Write the visible targets of camera k into ``out``; return how many."""
    x = cx[k]
    y = cy[k]
    r = cr[k]
    r2 = r * r
    bx = np.sin(cb[k])
    by = np.cos(cb[k])
    cosh = np.cos(chf[k])
    full = chf[k] >= np.pi
    gx0 = max(int((x - r - tx0) / tcs), 0)
    gx1 = min(int((x + r - tx0) / tcs), tnx - 1)
    gy0 = max(int((y - r - ty0) / tcs), 0)
    gy1 = min(int((y + r - ty0) / tcs), tny - 1)
    n = 0
    for gx in range(gx0, gx1 + 1):
        for gy in range(gy0, gy1 + 1):
            c = gx * tny + gy
            for j in range(tstarts[c], tstarts[c + 1]):
                m = titems[j]
                dx = tx[m] - x
                dy = ty[m] - y
                d2 = dx * dx + dy * dy
                if d2 > r2:
                    continue
                if not full and d2 > 0.0 and (dx * bx + dy * by) < cosh * np.sqrt(d2):
                    continue
                if occlude and _seg_blocked(x, y, tx[m], ty[m], edges, x0, y0, cs, nx, ny, starts, items):
                    continue
                if out.shape[0] > 0:
                    out[n] = m
                n += 1
    return n


@numba.njit(cache=True, parallel=True)
def _coverage_pairs(cx, cy, cb, chf, cr, tx, ty, tx0, ty0, tcs, tnx, tny, tstarts, titems,  # noqa: PLR0913 -- numba kernel: arrays passed explicitly
                    edges, x0, y0, cs, nx, ny, starts, items):
    nc = cx.shape[0]
    upper = np.zeros(nc, np.int64)
    dummy = np.zeros(0, np.int64)
    for k in numba.prange(nc):  # pass 1: wedge candidates, no occlusion (an upper bound)
        upper[k] = _cam_candidates(k, cx, cy, cb, chf, cr, tx, ty, tx0, ty0, tcs, tnx, tny, tstarts, titems,
                                   edges, x0, y0, cs, nx, ny, starts, items, dummy, False)
    off = np.zeros(nc + 1, np.int64)
    for k in range(nc):
        off[k + 1] = off[k] + upper[k]
    buf = np.empty(off[nc], np.int64)
    cnt = np.zeros(nc, np.int64)
    for k in numba.prange(nc):  # pass 2: with occlusion, into each camera's slice
        cnt[k] = _cam_candidates(k, cx, cy, cb, chf, cr, tx, ty, tx0, ty0, tcs, tnx, tny, tstarts, titems,
                                 edges, x0, y0, cs, nx, ny, starts, items, buf[off[k]:off[k + 1]], True)
    return off, buf, cnt


def _as_occluder(buildings) -> Occluder:
    return buildings if isinstance(buildings, Occluder) else Occluder(buildings)


def mount_on_facade(x, y, bearing_deg, buildings, offset_m: float = 0.5):
    """Move cameras whose point lies inside a building to its wall, facing their bearing.

    A camera recorded at a building's centroid is taken to hang on the facade it looks out of:
    it is moved along its bearing to where that ray leaves the footprint, plus ``offset_m``.

    Returns
    -------
    x, y : numpy.ndarray
        Metres; unchanged for cameras outside every building.
    """
    occ = _as_occluder(buildings)
    x = np.array(x, float, copy=True)
    y = np.array(y, float, copy=True)
    inside = occ.inside(x, y)
    sel = np.flatnonzero(inside >= 0)
    if len(sel) == 0:
        return x, y
    b = np.radians(np.asarray(bearing_deg, float)[sel] if np.ndim(bearing_deg) else np.full(len(sel), float(bearing_deg)))
    far = 2000.0
    rays = shapely.linestrings(np.stack([np.c_[x[sel], y[sel]],
                                         np.c_[x[sel] + far * np.sin(b), y[sel] + far * np.cos(b)]], axis=1))
    hit = shapely.intersection(rays, occ.buildings[inside[sel]])
    first = shapely.get_geometry(hit, 0)
    first = np.where(shapely.get_type_id(first) == 1, first, hit)
    end = shapely.get_point(first, -1)
    ex, ey = shapely.get_x(end), shapely.get_y(end)
    ok = np.isfinite(ex) & np.isfinite(ey)
    x[sel[ok]] = ex[ok] + offset_m * np.sin(b[ok])
    y[sel[ok]] = ey[ok] + offset_m * np.cos(b[ok])
    return x, y


def coverage_matrix(camera_xy, bearing_deg, fov_deg, resolution_px, level, target_xy, buildings=None, *,  # noqa: PLR0913 -- keyword-only options with defaults
                    range_m=None, target_cell_m: float | None = None) -> sp.csr_matrix:
    """Which targets each camera covers at a DORI level, with occlusion by buildings.

    Parameters
    ----------
    camera_xy : array (n_cam, 2)
        Camera positions, metres (UTM).
    bearing_deg, fov_deg, resolution_px : scalar or array (n_cam,)
        Viewing direction (degrees clockwise from north), horizontal field of view (degrees) and
        horizontal resolution (pixels).  ``fov_deg >= 360`` sees all round.
    level : str or float
        DORI level (``detect``, ``observe``, ``recognise``, ``identify``) or pixels per metre.
    target_xy : array (n_target, 2)
        Target points, metres.
    buildings : Occluder, array of polygons, GeoSeries/GeoDataFrame, or None
        Occluding footprints in metres; build an :class:`Occluder` once and pass it to reuse it.
    range_m : scalar or array, optional
        Override the DORI range (metres).
    target_cell_m : float, optional
        Target bucket size; default the median range.

    Returns
    -------
    scipy.sparse.csr_matrix of bool, shape (n_cam, n_target)
        ``M[i, j]`` is true when camera ``i`` sees target ``j`` at the level.
    """
    cxy = np.asarray(camera_xy, float).reshape(-1, 2)
    txy = np.asarray(target_xy, float).reshape(-1, 2)
    nc, nt = len(cxy), len(txy)
    if nc == 0 or nt == 0:
        return sp.csr_matrix((nc, nt), dtype=bool)
    b = np.broadcast_to(np.asarray(bearing_deg, float), (nc,))
    f = np.broadcast_to(np.asarray(fov_deg, float), (nc,))
    if range_m is None:
        px = np.broadcast_to(np.asarray(resolution_px, float), (nc,))
        r = dori_range(px, f, level)
        r = np.where(f >= 360, px / (level_ppm(level) * 2.0 * np.tan(np.radians(179.0) / 2)), r)
    else:
        r = np.broadcast_to(np.asarray(range_m, float), (nc,))
    bad = ~(np.isfinite(cxy).all(1) & np.isfinite(b) & np.isfinite(f) & np.isfinite(r))
    if bad.any():
        raise ValueError(f"camera row {int(np.flatnonzero(bad)[0])}: non-finite position, bearing, fov or range")
    occ = _as_occluder(buildings)
    cs = float(target_cell_m or max(np.median(r), 5.0))
    tx0, ty0 = txy[:, 0].min() - 1.0, txy[:, 1].min() - 1.0
    tnx = int((txy[:, 0].max() - tx0) / cs) + 2
    tny = int((txy[:, 1].max() - ty0) / cs) + 2
    if tnx * tny > 50_000_000:
        cs = float(np.sqrt((np.ptp(txy[:, 0]) + 2) * (np.ptp(txy[:, 1]) + 2) / 1e6))  # ndarray.ptp: gone in NumPy 2
        tnx = int((txy[:, 0].max() - tx0) / cs) + 2
        tny = int((txy[:, 1].max() - ty0) / cs) + 2
    gx = np.clip(((txy[:, 0] - tx0) / cs).astype(np.int64), 0, tnx - 1)
    gy = np.clip(((txy[:, 1] - ty0) / cs).astype(np.int64), 0, tny - 1)
    cell = gx * tny + gy
    titems = np.argsort(cell, kind="stable").astype(np.int64)
    tstarts = np.zeros(tnx * tny + 1, np.int64)
    np.cumsum(np.bincount(cell, minlength=tnx * tny), out=tstarts[1:])
    off, buf, cnt = _coverage_pairs(
        np.ascontiguousarray(cxy[:, 0]), np.ascontiguousarray(cxy[:, 1]), np.radians(b).copy(),
        np.radians(np.minimum(f, 360.0) / 2.0).copy(), np.ascontiguousarray(r, float),
        np.ascontiguousarray(txy[:, 0]), np.ascontiguousarray(txy[:, 1]), tx0, ty0, cs, tnx, tny, tstarts, titems,
        occ.edges, occ.x0, occ.y0, occ.cell, occ.nx, occ.ny, occ.starts, occ.items)
    keep = np.arange(len(buf)) - np.repeat(off[:-1], np.diff(off)) < np.repeat(cnt, np.diff(off))
    cols = buf[keep]
    indptr = np.zeros(nc + 1, np.int64)
    np.cumsum(cnt, out=indptr[1:])
    m = sp.csr_matrix((np.ones(len(cols), bool), cols, indptr), shape=(nc, nt))
    m.sort_indices()
    return m


def coverage_polygons(camera_xy, bearing_deg, fov_deg, resolution_px, level, buildings=None, *,
                      range_m=None, n_rays: int = 90) -> np.ndarray:
    """Occluded coverage polygons (visibility-clipped wedges) of cameras at a DORI level, metres.

    Each wedge is cast as ``n_rays`` rays across the field of view; each ray stops exactly at the first
    building wall it meets (:meth:`Occluder.first_hit`).  Returns a numpy array of
    shapely Polygons (empty polygon for a zero range).
    """
    cxy = np.asarray(camera_xy, float).reshape(-1, 2)
    nc = len(cxy)
    b = np.broadcast_to(np.asarray(bearing_deg, float), (nc,))
    f = np.clip(np.broadcast_to(np.asarray(fov_deg, float), (nc,)), 0, 359.9)
    r = (dori_range(resolution_px, f, level) if range_m is None
         else np.broadcast_to(np.asarray(range_m, float), (nc,)))
    r = np.broadcast_to(r, (nc,))
    occ = _as_occluder(buildings)
    t = np.linspace(-0.5, 0.5, n_rays)
    ang = np.radians(b[:, None] + f[:, None] * t[None, :])
    ux, uy = np.sin(ang), np.cos(ang)
    x0 = np.repeat(cxy[:, 0], n_rays)
    y0 = np.repeat(cxy[:, 1], n_rays)
    rr = np.repeat(r, n_rays)
    ux, uy = ux.ravel(), uy.ravel()
    lo = rr * occ.first_hit(x0, y0, x0 + ux * rr, y0 + uy * rr)
    ex = (x0 + ux * lo).reshape(nc, n_rays)
    ey = (y0 + uy * lo).reshape(nc, n_rays)
    ring = np.concatenate([cxy[:, None, :], np.stack([ex, ey], -1), cxy[:, None, :]], axis=1)
    polys = shapely.make_valid(shapely.polygons(ring))
    return polys


def visibility_polygon_naive(x: float, y: float, wedge, buildings, far_m: float = 5000.0):
    """Reference visibility: a wedge minus each nearby building's shadow, by plain shapely geometry.

    The shadow of a building is the union of the building and, for every wall, the quadrilateral
    swept from the wall away from the viewpoint.  Slow (a Python loop over walls); used by the tests
    and by ``bench/cpted.py`` as the peer of :func:`coverage_matrix`.
    """
    bl = np.asarray(buildings, dtype=object)
    near = bl[shapely.intersects(bl, wedge)] if len(bl) else bl
    shadows = []
    for g in near:
        for ring in shapely.get_rings(shapely.get_parts(g)):
            c = shapely.get_coordinates(ring)
            for (ax, ay), (bx, by) in itertools.pairwise(c):
                da = np.hypot(ax - x, ay - y)
                db = np.hypot(bx - x, by - y)
                if da < 1e-9 or db < 1e-9:
                    continue
                quad = shapely.Polygon([(ax, ay), (bx, by), (x + (bx - x) * far_m / db, y + (by - y) * far_m / db),
                                        (x + (ax - x) * far_m / da, y + (ay - y) * far_m / da)])
                if quad.is_valid:
                    shadows.append(quad)
        shadows.append(g)
    if not shadows:
        return wedge
    return wedge.difference(shapely.union_all(shadows))
