"""Heat-map XYZ tiles (Web Mercator, 256 px PNG) sampled from a metric density raster.

The density raster is north-up in the city's UTM zone (``hotspot.kde.kde_grid``).  A tile's pixel
centres are projected EPSG:3857 → UTM and the raster is sampled bilinearly, then mapped through
one colour ramp with a fixed ``vmax`` for the whole surface, so neighbouring tiles and zoom
levels agree.
"""
from __future__ import annotations

import functools
import io
import math

import numpy as np

TILE = 256
WEB_MERCATOR_HALF = 20037508.342789244
"""Half the width of the Web Mercator square, metres."""

HEAT_STOPS = [
    (0.00, (255, 255, 178, 0)),
    (0.08, (254, 217, 118, 110)),
    (0.25, (254, 178, 76, 160)),
    (0.45, (253, 141, 60, 190)),
    (0.65, (240, 59, 32, 215)),
    (1.00, (189, 0, 38, 235)),
]
"""Colour ramp (fraction of ``vmax`` → RGBA), YlOrRd with rising opacity."""


def _lut() -> np.ndarray:
    xs = np.array([s[0] for s in HEAT_STOPS])
    cols = np.array([s[1] for s in HEAT_STOPS], float)
    t = np.linspace(0, 1, 256)
    return np.stack([np.interp(t, xs, cols[:, i]) for i in range(4)], axis=1).round().astype(np.uint8)


LUT = _lut()


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """Web Mercator bounds ``(xmin, ymin, xmax, ymax)`` of XYZ tile ``z/x/y``, metres."""
    n = 2 ** z
    size = 2 * WEB_MERCATOR_HALF / n
    xmin = -WEB_MERCATOR_HALF + x * size
    ymax = WEB_MERCATOR_HALF - y * size
    return xmin, ymax - size, xmin + size, ymax


def check_tile(z: int, x: int, y: int) -> None:
    """Raise ``ValueError`` unless ``0 <= x, y < 2**z`` and ``0 <= z <= 22``."""
    if not 0 <= z <= 22:
        raise ValueError(f"tile z={z}: zoom must be 0..22")
    n = 2 ** z
    if not (0 <= x < n and 0 <= y < n):
        raise ValueError(f"tile {z}/{x}/{y}: x and y must be within 0..{n - 1} at zoom {z}")


@functools.lru_cache(maxsize=8)
def _transformer(epsg: int):
    from pyproj import Transformer

    return Transformer.from_crs(3857, int(epsg), always_xy=True)


def grid_bounds_3857(shape, transform, epsg: int) -> tuple[float, float, float, float]:
    """Web Mercator bounding box of a metric raster (its corners projected, a little padded)."""
    from pyproj import Transformer

    rows, cols = shape
    xs = np.array([0, cols, 0, cols]) * transform.a + transform.c
    ys = np.array([0, 0, rows, rows]) * transform.e + transform.f
    inv = Transformer.from_crs(int(epsg), 3857, always_xy=True)
    mx, my = inv.transform(xs, ys)
    pad = 0.02 * max(np.ptp(mx), np.ptp(my))
    return float(mx.min() - pad), float(my.min() - pad), float(mx.max() + pad), float(my.max() + pad)


def sample_tile(grid: np.ndarray, transform, epsg: int, z: int, x: int, y: int, size: int = TILE) -> np.ndarray:
    """Density at the tile's pixel centres, ``(size, size)`` float array (0 outside the raster)."""
    from scipy.ndimage import map_coordinates

    xmin, _ymin, xmax, ymax = tile_bounds(z, x, y)
    step = (xmax - xmin) / size
    px = xmin + (np.arange(size) + 0.5) * step
    py = ymax - (np.arange(size) + 0.5) * step
    gx, gy = np.meshgrid(px, py)
    ux, uy = _transformer(epsg).transform(gx.ravel(), gy.ravel())
    col = (np.asarray(ux) - transform.c) / transform.a - 0.5
    row = (np.asarray(uy) - transform.f) / transform.e - 0.5
    vals = map_coordinates(np.asarray(grid, float), [row, col], order=1, mode="constant", cval=0.0)
    return vals.reshape(size, size)


def colorize(values: np.ndarray, vmax: float) -> np.ndarray:
    """RGBA uint8 image of ``values`` through :data:`HEAT_STOPS` scaled to ``vmax``."""
    if not vmax > 0:
        idx = np.zeros(values.shape, np.uint8)
    else:
        idx = np.clip(values / vmax * 255.0, 0, 255).astype(np.uint8)
    return LUT[idx]


def encode_png(rgba: np.ndarray) -> bytes:
    """PNG bytes of an RGBA uint8 image."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buf, format="PNG", optimize=False, compress_level=6)
    return buf.getvalue()


@functools.lru_cache(maxsize=4)
def empty_tile(size: int = TILE) -> bytes:
    """A fully transparent PNG tile."""
    return encode_png(np.zeros((size, size, 4), np.uint8))


def render_tile(grid: np.ndarray, transform, epsg: int, z: int, x: int, y: int, vmax: float,  # noqa: PLR0913 -- the tile address (z, x, y) and the raster's georeference
                size: int = TILE, bounds_3857=None) -> bytes:
    """PNG bytes of heat tile ``z/x/y``.

    Parameters
    ----------
    grid : ndarray (rows, cols)
        Density (per km²) on a north-up raster in EPSG ``epsg``.
    transform : affine.Affine
        The raster's transform (metres).
    vmax : float
        Density mapped to the top colour (per km²).
    bounds_3857 : tuple, optional
        The raster's Web Mercator box (:func:`grid_bounds_3857`); tiles outside it are returned
        as :func:`empty_tile` without sampling.
    """
    check_tile(z, x, y)
    if bounds_3857 is not None:
        a = tile_bounds(z, x, y)
        b = bounds_3857
        if a[2] < b[0] or a[0] > b[2] or a[3] < b[1] or a[1] > b[3]:
            return empty_tile(size)
    vals = sample_tile(grid, transform, epsg, z, x, y, size)
    if not np.any(vals > (vmax * 1e-3 if vmax > 0 else 0)):
        return empty_tile(size)
    return encode_png(colorize(vals, vmax))


def robust_vmax(grid: np.ndarray, q: float = 99.5) -> float:
    """The ``q``-th percentile of the positive densities (a colour-scale top that ignores spikes)."""
    g = np.asarray(grid, float)
    pos = g[g > 0]
    return float(np.percentile(pos, q)) if len(pos) else 0.0


def lonlat_to_tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    """XYZ tile containing a WGS84 point at zoom ``z``."""
    n = 2 ** z
    x = int((lon + 180.0) / 360.0 * n)
    r = math.radians(lat)
    y = int((1.0 - math.asinh(math.tan(r)) / math.pi) / 2.0 * n)
    return min(max(x, 0), n - 1), min(max(y, 0), n - 1)
