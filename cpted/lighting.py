"""Horizontal illuminance from street lamps on a metric sample grid, compared with a norm table.

Point-source model
------------------
Each lamp is a point source at mounting height ``h`` (m) above the ground with luminous intensity
``I`` (cd) equal in every downward direction.  The horizontal illuminance it gives at a ground point
a horizontal distance ``r`` away is the inverse-square law times the cosine of incidence:

    E = I · cos θ / d²  with  d² = h² + r²,  cos θ = h / d   ⇒   E = I · cos³θ / h² = I · h / (h² + r²)^{3/2}

Luminous-intensity assumption: the lamp's flux ``Φ`` (lm) is emitted uniformly (isotropically) into
the lower hemisphere, which has a solid angle of 2π sr, so ``I = η · Φ / (2π)``; ``η`` is a
*utilisation factor* (default 1.0, configurable) for losses and light spilled upwards or sideways.
This ignores the luminaire's photometric distribution (real street luminaires throw more light
sideways) and reflections; it is a screening model, not a lighting design.

Cut-off: a lamp emits nothing above ``cutoff_deg`` from the downward vertical (default 80°, a
"cut-off" luminaire in CIE terms), so it lights the disc ``r ≤ h · tan(cutoff_deg)``.  Without it the
isotropic model adds a long grazing-angle tail (≈ 1 lx in a dense lamp field) that real luminaires
do not give.  ``cutoff_deg = 90`` gives the pure hemisphere model, truncated at 250 m.
All coordinates are metres in the city's UTM CRS; illuminance is in lux.
"""
from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
import pandas as pd
import shapely

from qauipsiz.cpted.norms import lighting_norms

DEFAULT_CELL_M = 5.0
DEFAULT_CUTOFF_DEG = 80.0
MAX_RADIUS_M = 250.0


def lamp_intensity(flux_lm, utilisation: float = 1.0) -> np.ndarray:
    """Luminous intensity in candela of lamps emitting ``flux_lm`` lumens isotropically downwards.

    Parameters
    ----------
    flux_lm : array-like
        Luminous flux in lumens.
    utilisation : float
        Share of the flux reaching the lower hemisphere usefully (0–1]; default 1.

    Returns
    -------
    numpy.ndarray
        ``I = utilisation · flux / (2π)`` in cd.
    """
    if not 0 < utilisation <= 1.5:
        raise ValueError(f"utilisation must be in (0, 1.5], got {utilisation}")
    return utilisation * np.asarray(flux_lm, float) / (2 * np.pi)


def lamp_radius(height_m, cutoff_deg: float = DEFAULT_CUTOFF_DEG) -> np.ndarray:
    """Horizontal radius (m) a lamp lights: ``h · tan(cutoff_deg)``, capped at 250 m."""
    if not 0 < cutoff_deg <= 90:
        raise ValueError(f"cutoff_deg must be in (0, 90], got {cutoff_deg}")
    h = np.asarray(height_m, float)
    if cutoff_deg >= 90:
        return np.full(h.shape, MAX_RADIUS_M)
    return np.minimum(h * np.tan(np.radians(cutoff_deg)), MAX_RADIUS_M)


@numba.njit(cache=True, parallel=True)
def _illum_kernel(x, y, lx, ly, lh, li, lr2, x0, y0, cs, nx, ny, starts, items):  # noqa: PLR0913 -- numba kernel: arrays passed explicitly
    n = x.shape[0]
    out = np.zeros(n)
    for k in numba.prange(n):
        px = x[k]
        py = y[k]
        cx = int((px - x0) / cs)
        cy = int((py - y0) / cs)
        acc = 0.0
        for gx in range(max(cx - 1, 0), min(cx + 2, nx)):
            for gy in range(max(cy - 1, 0), min(cy + 2, ny)):
                c = gx * ny + gy
                for j in range(starts[c], starts[c + 1]):
                    m = items[j]
                    dx = px - lx[m]
                    dy = py - ly[m]
                    r2 = dx * dx + dy * dy
                    if r2 <= lr2[m]:
                        h = lh[m]
                        d2 = h * h + r2
                        acc += li[m] * h / (d2 * np.sqrt(d2))
        out[k] = acc
    return out


def _bucket(x, y, x0, y0, cs, nx, ny):
    """CSR buckets of points on a uniform grid: (starts, items) with cell = gx * ny + gy."""
    gx = np.clip(((x - x0) / cs).astype(np.int64), 0, nx - 1)
    gy = np.clip(((y - y0) / cs).astype(np.int64), 0, ny - 1)
    cell = gx * ny + gy
    order = np.argsort(cell, kind="stable")
    counts = np.bincount(cell, minlength=nx * ny)
    starts = np.zeros(nx * ny + 1, np.int64)
    np.cumsum(counts, out=starts[1:])
    return starts, order.astype(np.int64)


def illuminance(x, y, lamp_x, lamp_y, lamp_h, lamp_cd, *, cutoff_deg: float = DEFAULT_CUTOFF_DEG) -> np.ndarray:
    """Horizontal illuminance (lux) at ground points from point-source lamps.

    Parameters
    ----------
    x, y : array-like
        Ground points, metres (UTM).
    lamp_x, lamp_y : array-like
        Lamp positions, metres.
    lamp_h : array-like
        Mounting heights above the ground, metres (> 0).
    lamp_cd : array-like
        Luminous intensity towards the ground, candela (see :func:`lamp_intensity`).
    cutoff_deg : float
        Cut-off angle from the downward vertical, degrees (default 80); a lamp lights only
        ``r ≤ h · tan(cutoff_deg)``.

    Returns
    -------
    numpy.ndarray
        ``E = Σ I·h / (h² + r²)^{3/2}`` over lamps within their cut-off radius, lux, one per point.
    """
    x = np.ascontiguousarray(x, float).ravel()
    y = np.ascontiguousarray(y, float).ravel()
    lx = np.ascontiguousarray(lamp_x, float).ravel()
    ly = np.ascontiguousarray(lamp_y, float).ravel()
    lh = np.ascontiguousarray(lamp_h, float).ravel()
    li = np.ascontiguousarray(lamp_cd, float).ravel()
    if not (len(lx) == len(ly) == len(lh) == len(li)):
        raise ValueError("lamp_x, lamp_y, lamp_h and lamp_cd must have the same length")
    if len(lh) and (not np.all(np.isfinite(lh)) or lh.min() <= 0):
        raise ValueError(f"lamp heights must be positive metres; got row {int(np.argmin(np.nan_to_num(lh)))}")
    if len(x) == 0 or len(lx) == 0:
        return np.zeros(len(x))
    lr = lamp_radius(lh, cutoff_deg)
    cs = max(float(lr.max()), 1.0)
    x0 = min(x.min(), lx.min()) - 1.0
    y0 = min(y.min(), ly.min()) - 1.0
    nx = int((max(x.max(), lx.max()) - x0) / cs) + 2
    ny = int((max(y.max(), ly.max()) - y0) / cs) + 2
    starts, items = _bucket(lx, ly, x0, y0, cs, nx, ny)
    return _illum_kernel(x, y, lx, ly, lh, li, lr * lr, x0, y0, cs, nx, ny, starts, items)


def illuminance_bruteforce(x, y, lamp_x, lamp_y, lamp_h, lamp_cd, *, cutoff_deg: float = DEFAULT_CUTOFF_DEG,
                           chunk: int = 2048) -> np.ndarray:
    """Reference: the same model summed over every lamp with NumPy broadcasting (no spatial index).

    Used by tests and ``bench/cpted.py`` as the peer of :func:`illuminance`; lux.
    """
    x = np.asarray(x, float).ravel()
    y = np.asarray(y, float).ravel()
    lx, ly = np.asarray(lamp_x, float), np.asarray(lamp_y, float)
    lh, li = np.asarray(lamp_h, float), np.asarray(lamp_cd, float)
    rr = lamp_radius(lh, cutoff_deg) ** 2
    out = np.empty(len(x))
    for s in range(0, len(x), chunk):
        dx = x[s:s + chunk, None] - lx[None, :]
        dy = y[s:s + chunk, None] - ly[None, :]
        r2 = dx * dx + dy * dy
        d2 = lh[None, :] ** 2 + r2
        e = li[None, :] * lh[None, :] / d2 ** 1.5
        out[s:s + chunk] = np.where(r2 <= rr[None, :], e, 0.0).sum(axis=1)
    return out


def lamps_arrays(lamps, utilisation: float = 1.0, working_only: bool = True):
    """``(x, y, h, I)`` arrays (m, m, m, cd) of a metric lamp layer; broken lamps dropped by default."""
    g = lamps
    if working_only and "working" in g.columns:
        g = g[g["working"].astype(bool).to_numpy()]
    xy = shapely.get_coordinates(g.geometry.values)
    return (xy[:, 0], xy[:, 1], g["height_m"].to_numpy(float),
            lamp_intensity(g["flux_lm"].to_numpy(float), utilisation))


# ----------------------------------------------------------------------------- sample grid

@dataclass
class SampleGrid:
    """Sample points at the centres of a regular metric raster, restricted to an area.

    Attributes
    ----------
    x0, y0 : float
        Upper-left corner of the raster (metres); rows grow southwards.
    cell : float
        Cell size in metres.
    shape : tuple of int
        ``(rows, cols)`` of the full raster.
    rows, cols : numpy.ndarray
        Raster indices of the samples.
    owner : numpy.ndarray
        Index of the polygon (e.g. block) each sample belongs to.
    """

    x0: float
    y0: float
    cell: float
    shape: tuple[int, int]
    rows: np.ndarray
    cols: np.ndarray
    owner: np.ndarray

    @property
    def x(self) -> np.ndarray:
        """Sample centres' x, metres."""
        return self.x0 + (self.cols + 0.5) * self.cell

    @property
    def y(self) -> np.ndarray:
        """Sample centres' y, metres."""
        return self.y0 - (self.rows + 0.5) * self.cell

    @property
    def transform(self):
        """The grid's affine transform (rasterio), for burning and tracing polygons."""
        from rasterio.transform import from_origin

        return from_origin(self.x0, self.y0, self.cell, self.cell)

    @property
    def area_m2(self) -> float:
        """Area of one sample cell, square metres."""
        return self.cell * self.cell

    def __len__(self) -> int:
        return len(self.rows)

    def burn(self, geoms, values, fill: int = 0, dtype=np.int32) -> np.ndarray:
        """Value of the last of ``geoms`` covering each sample (``fill`` where none); metric geometries."""
        from rasterio.features import rasterize

        geoms = np.asarray(geoms, dtype=object)
        ok = ~(shapely.is_empty(geoms) | shapely.is_missing(geoms)) if len(geoms) else np.zeros(0, bool)
        if not ok.any():
            return np.full(len(self), fill, dtype)
        ras = rasterize(zip(geoms[ok], np.asarray(values)[ok], strict=True), out_shape=self.shape,
                        transform=self.transform, fill=fill, dtype=dtype)
        return ras[self.rows, self.cols]

    def to_raster(self, values, fill=np.nan, dtype=float) -> np.ndarray:
        """Scatter per-sample ``values`` into a full raster."""
        ras = np.full(self.shape, fill, dtype=dtype)
        ras[self.rows, self.cols] = values
        return ras


def sample_grid(polygons, cell_m: float = DEFAULT_CELL_M, exclude=None, bounds=None) -> SampleGrid:
    """Sample points every ``cell_m`` metres inside metric polygons, minus ``exclude`` (e.g. buildings).

    Parameters
    ----------
    polygons : array-like of shapely polygons
        Areas to sample (metres).  A cell belongs to the last polygon containing its centre.
    cell_m : float
        Grid spacing in metres (default 5).
    exclude : array-like of polygons, optional
        Areas removed from the sample (building footprints).
    bounds : tuple, optional
        ``(xmin, ymin, xmax, ymax)`` of the raster; default the polygons' bounds.

    Returns
    -------
    SampleGrid
    """
    from rasterio.features import rasterize

    polys = np.asarray(polygons, dtype=object)
    if cell_m <= 0:
        raise ValueError(f"cell_m must be positive metres, got {cell_m}")
    if bounds is None:
        bounds = shapely.total_bounds(polys)
    xmin, ymin, xmax, ymax = bounds
    x0 = np.floor(xmin / cell_m) * cell_m
    y0 = np.ceil(ymax / cell_m) * cell_m
    ncols = int(np.ceil((xmax - x0) / cell_m)) + 1
    nrows = int(np.ceil((y0 - ymin) / cell_m)) + 1
    from rasterio.transform import from_origin

    tr = from_origin(x0, y0, cell_m, cell_m)
    ok = ~shapely.is_empty(polys)
    idx = np.flatnonzero(ok)
    if len(idx) == 0:
        e = np.zeros(0, np.int64)
        return SampleGrid(x0, y0, cell_m, (nrows, ncols), e, e, e)
    ras = rasterize(zip(polys[idx], idx + 1, strict=True), out_shape=(nrows, ncols), transform=tr, fill=0,
                    dtype=np.int32)
    if exclude is not None and len(exclude):
        ex = np.asarray(exclude, dtype=object)
        ex = ex[~shapely.is_empty(ex)]
        if len(ex):
            hole = rasterize(((g, 1) for g in ex), out_shape=(nrows, ncols), transform=tr, fill=0, dtype=np.uint8)
            ras[hole.astype(bool)] = 0
    rows, cols = np.nonzero(ras)
    return SampleGrid(float(x0), float(y0), float(cell_m), (nrows, ncols), rows.astype(np.int64),
                      cols.astype(np.int64), (ras[rows, cols] - 1).astype(np.int64))


# ----------------------------------------------------------------------------- zones and norms

ZONE_LANDUSE = {"playground": "playground", "sport": "playground", "parking": "parking"}
"""Land use → norm zone; other land uses take the default zone (``walking_path``)."""


def zone_norms(norms: pd.DataFrame | None = None) -> dict[str, float]:
    """Zone → required average horizontal illuminance (lux) from a norm table."""
    n = lighting_norms() if norms is None else norms
    return dict(zip(n["zone"], n["e_avg_lx"].astype(float), strict=True))


def assign_zones(grid: SampleGrid, *, landuse=None, entrances=None, edge_lines=None, paths=None,  # noqa: PLR0913 -- keyword-only options with defaults
                 norms: pd.DataFrame | None = None, entrance_radius_m: float = 4.0,
                 entrance_path_m: float = 15.0, driveway_m: float = 10.0,
                 default_zone: str = "walking_path") -> tuple[np.ndarray, np.ndarray]:
    """Norm zone and required lux of every sample; the strictest applicable zone wins.

    Parameters
    ----------
    grid : SampleGrid
    landuse : GeoDataFrame, optional
        Metric polygons with a ``landuse`` column (playground/sport → ``playground``, parking →
        ``parking``).
    entrances : GeoDataFrame, optional
        Metric points with a boolean ``main`` column: within ``entrance_radius_m`` → ``entrance_main``
        or ``entrance_secondary``; within ``entrance_path_m`` → ``entrance_path``.
    edge_lines : array of lines, optional
        Street centre lines or block edges: within ``driveway_m`` → ``driveway``.
    paths : array of lines, optional
        Footpaths (design review): within 1.5 m → ``walking_path``.
    norms : DataFrame, optional
        Norm table (:func:`cpted.norms.lighting_norms`).

    Returns
    -------
    zone : numpy.ndarray of object
        Zone name per sample.
    required_lx : numpy.ndarray of float
        Required average illuminance per sample, lux.
    """
    req = zone_norms(norms)
    if default_zone not in req:
        raise ValueError(f"default zone {default_zone!r} is not in the norm table")
    names = sorted(req, key=lambda z: req[z])
    code = {z: i + 1 for i, z in enumerate(names)}
    geoms, vals = [], []

    def add(gs, zone):
        if zone in code and gs is not None and len(gs):
            geoms.append(np.asarray(gs, dtype=object))
            vals.append(np.full(len(gs), code[zone]))

    if edge_lines is not None and len(edge_lines):
        add(shapely.buffer(np.asarray(edge_lines, dtype=object), driveway_m), "driveway")
    if paths is not None and len(paths):
        add(shapely.buffer(np.asarray(paths, dtype=object), 1.5), "walking_path")
    if landuse is not None and len(landuse):
        lu = landuse["landuse"].astype(str).to_numpy()
        for kind, zone in ZONE_LANDUSE.items():
            add(landuse.geometry.values[lu == kind], zone)
    zc = np.zeros(len(grid), np.int32)
    if geoms:
        g = np.concatenate(geoms)
        v = np.concatenate(vals)
        order = np.argsort(v, kind="stable")  # the strictest burnt last, so it wins
        zc = grid.burn(g[order], v[order])
    if entrances is not None and len(entrances):  # discs around entrances by distance (k-d tree)
        from scipy.spatial import cKDTree

        exy = shapely.get_coordinates(np.asarray(entrances.geometry.values, dtype=object))
        main = entrances["main"].astype(bool).to_numpy() if "main" in entrances.columns else np.ones(len(exy), bool)
        sxy = np.c_[grid.x, grid.y]
        for sel, zone, radius in ((np.ones(len(exy), bool), "entrance_path", entrance_path_m),
                                  (~main, "entrance_secondary", entrance_radius_m),
                                  (main, "entrance_main", entrance_radius_m)):
            if zone in code and sel.any():
                d, _ = cKDTree(exy[sel]).query(sxy, distance_upper_bound=radius)
                zc = np.where(np.isfinite(d), np.maximum(zc, code[zone]), zc)
    zc[zc == 0] = code[default_zone]
    lookup = np.array([None, *names], dtype=object)
    reqv = np.array([0.0] + [req[z] for z in names])[zc]
    return lookup[zc], reqv


def dark_spots(grid: SampleGrid, lux: np.ndarray, threshold_lx, min_area_m2: float = 100.0):
    """Polygons of contiguous samples darker than ``threshold_lx`` (scalar or per sample), metres.

    Returns
    -------
    GeoDataFrame-ready tuple
        ``(geometries, area_m2, mean_lux)`` arrays of the dark polygons of at least ``min_area_m2``.
    """
    from rasterio.features import shapes

    thr = np.broadcast_to(np.asarray(threshold_lx, float), lux.shape)
    dark = lux < thr
    if not dark.any():
        return np.zeros(0, dtype=object), np.zeros(0), np.zeros(0)
    ras = np.zeros(grid.shape, np.uint8)
    ras[grid.rows[dark], grid.cols[dark]] = 1
    polys = np.array([shapely.geometry.shape(g) for g, v in shapes(ras, mask=ras.astype(bool),
                                                                    transform=grid.transform, connectivity=4)
                      if v == 1], dtype=object)
    area = shapely.area(polys)
    keep = area >= min_area_m2
    polys, area = polys[keep], area[keep]
    # mean lux inside each polygon: burn polygon ids back onto the dark samples
    mean = np.zeros(len(polys))
    if len(polys):
        pid = grid.burn(polys, np.arange(1, len(polys) + 1))
        sel = dark & (pid > 0)
        s = np.bincount(pid[sel] - 1, weights=lux[sel], minlength=len(polys))
        c = np.bincount(pid[sel] - 1, minlength=len(polys))
        mean = s / np.maximum(c, 1)
    return polys, area, mean
