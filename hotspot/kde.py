"""Kernel density (quartic by default) as exact sums on a bucketed grid, Esri's bandwidth, GeoTIFF."""
from __future__ import annotations

import math

import numba
import numpy as np

KERNELS = ("quartic", "epanechnikov", "gaussian")
GAUSSIAN_CUTOFF = 10.0
"""Gaussian kernels are summed to 10 bandwidths: each dropped term is < exp(−50) ≈ 2e-22 of the peak,
so sums equal the untruncated ones to 1e-9 relative wherever the density exceeds ~1e-10 of its maximum."""

_KCODE = {"quartic": 0, "epanechnikov": 1, "gaussian": 2}


def _norm(kernel: str, h: float) -> float:
    """Normalising constant (per m²) so each kernel integrates to 1 over the plane."""
    if kernel == "quartic":
        return 3.0 / (math.pi * h * h)
    if kernel == "epanechnikov":
        return 2.0 / (math.pi * h * h)
    return 1.0 / (2.0 * math.pi * h * h)


@numba.njit(parallel=True, cache=True, fastmath=False)
def _kde_buckets(px, py, pw, start, nbx, nby, x0, y0, cs, reach, ex, ey, h, cutoff2, kcode):  # noqa: PLR0913 -- numba kernel: nopython mode takes arrays and scalars, not a dataclass
    """Sum kernels over points bucketed row-major on a grid of cell ``cs``.

    For each evaluation point and each bucket row within reach, only the run of buckets that
    the support circle crosses is scanned; points of a row are contiguous, so the scan is one
    linear pass per row.  Every point closer than the cutoff is included (exact sums).
    """
    m = len(ex)
    out = np.zeros(m)
    inv_h2 = 1.0 / (h * h)
    R = math.sqrt(cutoff2)
    for e in numba.prange(m):
        x = ex[e]
        y = ey[e]
        by = math.floor((y - y0) / cs)
        acc = 0.0
        for gy in range(max(by - reach, 0), min(by + reach, nby - 1) + 1):
            ylo = y0 + gy * cs
            yhi = ylo + cs
            dy = 0.0
            if y < ylo:
                dy = ylo - y
            elif y > yhi:
                dy = y - yhi
            if dy >= R:
                continue
            hw = math.sqrt(R * R - dy * dy)
            ga = math.floor((x - hw - x0) / cs)
            gb = math.floor((x + hw - x0) / cs)
            if ga < 0:
                ga = 0
            if gb > nbx - 1:
                gb = nbx - 1
            if ga > gb:
                continue
            for t in range(start[gy * nbx + ga], start[gy * nbx + gb + 1]):
                dx = px[t] - x
                dyy = py[t] - y
                d2 = dx * dx + dyy * dyy
                if d2 < cutoff2:
                    u2 = d2 * inv_h2
                    if kcode == 0:
                        k = 1.0 - u2
                        acc += pw[t] * k * k
                    elif kcode == 1:
                        acc += pw[t] * (1.0 - u2)
                    else:
                        acc += pw[t] * math.exp(-0.5 * u2)
        out[e] = acc
    return out


@numba.njit(cache=True)
def _bucket_points(P, w, x0, y0, x1, y1, cs, nbx, nby):  # noqa: PLR0913 -- numba kernel: arrays and scalars only
    """Counting sort of finite points inside [x0, x1] × [y0, y1] into row-major buckets."""
    n = P.shape[0]
    nb = nbx * nby
    b = np.empty(n, np.int64)
    start = np.zeros(nb + 1, np.int64)
    for t in range(n):
        x = P[t, 0]
        y = P[t, 1]
        if not (x >= x0 and x <= x1 and y >= y0 and y <= y1 and np.isfinite(w[t])):
            b[t] = -1  # NaN coordinates fail every comparison
            continue
        bx = min(int((x - x0) / cs), nbx - 1)
        by = min(int((y - y0) / cs), nby - 1)
        b[t] = by * nbx + bx
        start[b[t] + 1] += 1
    for i in range(nb):
        start[i + 1] += start[i]
    m = start[nb]
    px = np.empty(m)
    py = np.empty(m)
    pw = np.empty(m)
    pos = start[:nb].copy()
    for t in range(n):
        k = b[t]
        if k < 0:
            continue
        j = pos[k]
        px[j] = P[t, 0]
        py[j] = P[t, 1]
        pw[j] = w[t]
        pos[k] = j + 1
    return start, px, py, pw


def kde(points_xy, eval_xy, bandwidth_m: float, kernel: str = "quartic", weights=None) -> np.ndarray:
    """Kernel density of points at evaluation points, per km².

    Exact sums over every point within the kernel's support (points bucketed on a grid of a
    quarter of the support radius; each evaluation point scans only the bucket runs its support
    circle crosses; numba-parallel), not a binned approximation.

    Parameters
    ----------
    points_xy : array (n, 2)
        Point coordinates in metres (a metric CRS, e.g. the city's UTM zone).
    eval_xy : array (m, 2)
        Evaluation points in metres, same CRS (e.g. H3 cell centres).
    bandwidth_m : float
        Search radius ``r`` in metres for quartic (``3/(πr²)·(1−(d/r)²)²``, d < r) and
        Epanechnikov (``2/(πr²)·(1−(d/r)²)``); the standard deviation for Gaussian
        (``1/(2πr²)·exp(−d²/2r²)``, summed to 10 r).
    kernel : {"quartic", "epanechnikov", "gaussian"}
    weights : array (n,), optional
        Point weights (e.g. harm weights); default 1.

    Returns
    -------
    numpy.ndarray (m,)
        Density in (weighted) incidents per km².
    """
    if kernel not in _KCODE:
        raise ValueError(f"kernel={kernel!r}: choose one of {KERNELS}")
    h = float(bandwidth_m)
    if not (h > 0 and math.isfinite(h)):
        raise ValueError(f"bandwidth_m={bandwidth_m}: must be a positive number of metres")
    P = np.asarray(points_xy, float).reshape(-1, 2)
    E = np.asarray(eval_xy, float).reshape(-1, 2)
    w = np.ones(len(P)) if weights is None else np.asarray(weights, float).ravel()
    if len(w) != len(P):
        raise ValueError(f"weights: length {len(w)} != number of points {len(P)}")
    if not np.isfinite(E).all():
        raise ValueError(f"eval_xy: non-finite coordinate at row {int(np.flatnonzero(~np.isfinite(E).all(axis=1))[0])}")
    m = len(E)
    if m == 0:
        return np.zeros(0)
    R = h * (GAUSSIAN_CUTOFF if kernel == "gaussian" else 1.0)
    lo = E.min(axis=0) - R
    hi = E.max(axis=0) + R
    ext = hi - lo
    # bucket size: a quarter of the support radius, coarsened if that would give > ~4M buckets
    cs = max(R / 4.0, math.sqrt(ext[0] * ext[1] / 4e6), 1e-9)
    reach = math.ceil(R / cs)
    nbx = int(ext[0] // cs) + 1
    nby = int(ext[1] // cs) + 1
    start, px, py, pw = _bucket_points(np.ascontiguousarray(P), np.ascontiguousarray(w), float(lo[0]),
                                       float(lo[1]), float(hi[0]), float(hi[1]), float(cs), nbx, nby)
    s = _kde_buckets(px, py, pw, start, nbx, nby, float(lo[0]), float(lo[1]), float(cs), reach,
                     np.ascontiguousarray(E[:, 0]), np.ascontiguousarray(E[:, 1]), h, R * R, _KCODE[kernel])
    return s * _norm(kernel, h) * 1e6


def kde_brute(points_xy, eval_xy, bandwidth_m: float, kernel: str = "quartic", weights=None) -> np.ndarray:
    """Reference O(n·m) NumPy sum of :func:`kde` (same units), for tests and small inputs."""
    P = np.asarray(points_xy, float).reshape(-1, 2)
    E = np.asarray(eval_xy, float).reshape(-1, 2)
    w = np.ones(len(P)) if weights is None else np.asarray(weights, float)
    h = float(bandwidth_m)
    out = np.zeros(len(E))
    for a in range(0, len(E), 256):
        d2 = ((E[a:a + 256, None, :] - P[None, :, :]) ** 2).sum(-1)
        u2 = d2 / h**2
        if kernel == "quartic":
            k = np.where(u2 < 1, (1 - u2) ** 2, 0.0)
        elif kernel == "epanechnikov":
            k = np.where(u2 < 1, 1 - u2, 0.0)
        elif kernel == "gaussian":
            k = np.exp(-0.5 * u2)
        else:
            raise ValueError(f"kernel={kernel!r}")
        out[a:a + 256] = k @ w
    return out * _norm(kernel, h) * 1e6


def esri_bandwidth(xy, weights=None) -> float:
    """Esri's default kernel search radius in metres (ArcGIS Kernel Density, DOMAIN.md §4).

    ``0.9 · min(SD, √(1/ln 2) · Dm) · n^(−0.2)``, where SD is the standard distance and Dm the
    median distance to the mean centre; with ``weights`` the centre, SD and median are weighted
    and n is the sum of weights (Esri's population-field rule).

    Parameters
    ----------
    xy : array (n, 2)
        Point coordinates in metres.
    weights : array (n,), optional
        Non-negative point weights, one per row of ``xy``.

    Rows with a non-finite coordinate (or weight) are left out, together with their weight.

    Returns
    -------
    float
        Radius in metres.
    """
    P = np.asarray(xy, float).reshape(-1, 2)
    ok = np.isfinite(P).all(axis=1)
    if weights is None:
        w = np.ones(len(P))
    else:
        w = np.asarray(weights, float).ravel()
        if len(w) != len(P):
            raise ValueError(f"weights: length {len(w)} != number of points {len(P)}")
        ok &= np.isfinite(w)  # as in kde(): rows with a non-finite weight are left out
    P, w = P[ok], w[ok]  # one mask for both, so each weight stays with its point
    if len(P) < 2 or w.sum() <= 0:
        raise ValueError("esri_bandwidth: need at least two points with positive total weight")
    W = w.sum()
    c = (P * w[:, None]).sum(axis=0) / W
    d = np.sqrt(((P - c) ** 2).sum(axis=1))
    sd = math.sqrt(float((w * d**2).sum() / W))
    order = np.argsort(d, kind="stable")
    cw = np.cumsum(w[order])
    dm = float(np.median(d)) if weights is None else float(d[order][np.searchsorted(cw, 0.5 * W)])
    return 0.9 * min(sd, math.sqrt(1.0 / math.log(2.0)) * dm) * W ** (-0.2)


def kde_grid(points_xy, bounds, cell_m: float, bandwidth_m: float, kernel: str = "quartic",
             weights=None):
    """Density on a north-up metric raster.

    Parameters
    ----------
    bounds : (xmin, ymin, xmax, ymax)
        Extent in metres; it is expanded to a whole number of cells.
    cell_m : float
        Raster cell size in metres.

    Returns
    -------
    (grid, transform) : (ndarray (rows, cols) per km², affine.Affine)
        Row 0 is the northern edge; values at cell centres.
    """
    from affine import Affine

    xmin, ymin, xmax, ymax = (float(v) for v in bounds)
    if not cell_m > 0:
        raise ValueError(f"cell_m={cell_m}: must be > 0 metres")
    cols = max(1, math.ceil((xmax - xmin) / cell_m))
    rows = max(1, math.ceil((ymax - ymin) / cell_m))
    xs = xmin + (np.arange(cols) + 0.5) * cell_m
    ys = ymin + rows * cell_m - (np.arange(rows) + 0.5) * cell_m
    gx, gy = np.meshgrid(xs, ys)
    dens = kde(points_xy, np.column_stack([gx.ravel(), gy.ravel()]), bandwidth_m, kernel, weights)
    transform = Affine(cell_m, 0, xmin, 0, -cell_m, ymin + rows * cell_m)
    return dens.reshape(rows, cols), transform


def write_geotiff(path, grid: np.ndarray, transform, epsg: int, *, tags: dict | None = None) -> None:
    """Write a single-band float32 GeoTIFF (deflate) in EPSG ``epsg`` with optional metadata ``tags``."""
    import rasterio

    grid = np.asarray(grid, np.float32)
    with rasterio.open(path, "w", driver="GTiff", height=grid.shape[0], width=grid.shape[1], count=1,
                       dtype="float32", crs=f"EPSG:{int(epsg)}", transform=transform, compress="deflate",
                       nodata=None) as dst:
        dst.write(grid, 1)
        dst.update_tags(units="incidents per km2", **{k: str(v) for k, v in (tags or {}).items()})


def kde_geotiff(path, points_xy, epsg: int, *, bandwidth_m: float | None = None, cell_m: float = 50.0,
                bounds=None, kernel: str = "quartic", weights=None) -> dict:
    """Density surface of metric points written as a GeoTIFF (opens in QGIS/ArcGIS).

    ``bandwidth_m`` defaults to :func:`esri_bandwidth`; ``bounds`` to the points' extent plus the
    bandwidth.  Returns the run parameters (also stored as GeoTIFF tags).
    """
    P = np.asarray(points_xy, float).reshape(-1, 2)
    h = esri_bandwidth(P, weights) if bandwidth_m is None else float(bandwidth_m)
    if bounds is None:
        lo = np.nanmin(P, axis=0) - h
        hi = np.nanmax(P, axis=0) + h
        bounds = (lo[0], lo[1], hi[0], hi[1])
    grid, transform = kde_grid(P, bounds, cell_m, h, kernel, weights)
    params = {"kernel": kernel, "bandwidth_m": h, "cell_m": cell_m, "epsg": epsg, "n_points": len(P)}
    write_geotiff(path, grid, transform, epsg, tags=params)
    return params
