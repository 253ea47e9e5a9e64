"""Vectorised H3 indexing on uint64 cells (h3ronpy when installed, else h3-py in a loop)."""
from __future__ import annotations

import h3
import numpy as np

try:  # vectorised Rust bindings: ~1.7x faster than the h3-py loop on 1M points (bench/hotspot.py)
    import h3ronpy as _h3r
    import h3ronpy.vector as _h3rv
except ImportError:  # pragma: no cover - exercised only where h3ronpy is absent
    _h3r = _h3rv = None

_RES_SHIFT = 52
_RES_MASK = np.uint64(0xF << _RES_SHIFT)


def _as_u64(arr) -> np.ndarray:
    return np.asarray(arr).astype(np.uint64, copy=False)


def latlng_to_cells(lat, lon, res: int) -> np.ndarray:
    """H3 cells of points at resolution ``res``.

    Parameters
    ----------
    lat, lon : array-like
        Decimal degrees, WGS84.
    res : int
        H3 resolution 0–15.

    Returns
    -------
    numpy.ndarray of uint64
        One cell per point; 0 where ``lat`` or ``lon`` is NaN.
    """
    lat = np.asarray(lat, float)
    lon = np.asarray(lon, float)
    out = np.zeros(lat.shape, dtype=np.uint64)
    ok = np.isfinite(lat) & np.isfinite(lon)
    if not ok.any():
        return out
    if _h3rv is not None:
        out[ok] = _as_u64(_h3rv.coordinates_to_cells(np.ascontiguousarray(lat[ok]),
                                                     np.ascontiguousarray(lon[ok]), int(res)))
        return out
    f = h3.api.basic_int.latlng_to_cell
    out[ok] = np.fromiter((f(a, b, res) for a, b in zip(lat[ok].tolist(), lon[ok].tolist(), strict=True)),
                          dtype=np.uint64, count=int(ok.sum()))
    return out


def cells_resolution(cells) -> np.ndarray:
    """Resolution (int) of each uint64 H3 cell (bit arithmetic, no H3 call)."""
    c = _as_u64(cells)
    return ((c & _RES_MASK) >> np.uint64(_RES_SHIFT)).astype(np.int64)


def cells_to_parent(cells, res: int) -> np.ndarray:
    """Parent cells at the coarser resolution ``res`` (pure bit arithmetic, vectorised).

    Zeros stay zero.  Raises ``ValueError`` when a cell is finer-grained than ``res`` is not true,
    i.e. when some non-zero cell has a resolution below ``res``.
    """
    c = _as_u64(cells).copy()
    nz = c != 0
    r = cells_resolution(c[nz])
    if len(r) and r.min() < res:
        raise ValueError(f"cells_to_parent: some cells have resolution {int(r.min())} < target {res}")
    # set the resolution bits, then every digit finer than res to 7 (unused)
    out = (c & ~_RES_MASK) | np.uint64(res << _RES_SHIFT)
    unused = 0
    for d in range(res + 1, 16):
        unused |= 0b111 << ((15 - d) * 3)
    out |= np.uint64(unused)
    out[~nz] = 0
    return out


def cells_to_latlng(cells) -> tuple[np.ndarray, np.ndarray]:
    """Centres of uint64 cells as ``(lat, lon)`` arrays in decimal degrees (NaN for cell 0)."""
    c = _as_u64(cells)
    lat = np.full(c.shape, np.nan)
    lon = np.full(c.shape, np.nan)
    ok = c != 0
    if not ok.any():
        return lat, lon
    if _h3rv is not None:
        rb = _h3rv.cells_to_coordinates(np.ascontiguousarray(c[ok]))
        lat[ok], lon[ok] = np.asarray(rb.column("lat")), np.asarray(rb.column("lng"))
        return lat, lon
    f = h3.api.basic_int.cell_to_latlng
    ll = np.array([f(int(x)) for x in c[ok].tolist()], float).reshape(-1, 2)
    lat[ok], lon[ok] = ll[:, 0], ll[:, 1]
    return lat, lon


def grid_disk_pairs(cells, k: int) -> tuple[np.ndarray, np.ndarray]:
    """All (cell, neighbour) pairs within ``k`` grid steps, the cell itself included.

    Returns ``(src, dst)`` uint64 arrays of equal length (row-major by ``cells`` order).
    """
    c = _as_u64(cells)
    if _h3r is not None:
        import pyarrow as pa

        arr = pa.array(_h3r.grid_disk(c, int(k), flatten=False))
        offs = np.asarray(arr.offsets)
        dst = np.asarray(arr.values).astype(np.uint64)
        src = np.repeat(c, np.diff(offs))
        return src, dst
    f = h3.api.basic_int.grid_disk
    lists = [f(int(x), k) for x in c.tolist()]
    src = np.repeat(c, [len(v) for v in lists])
    dst = np.fromiter((y for v in lists for y in v), dtype=np.uint64, count=len(src))
    return src, dst


def cells_to_boundaries(cells):
    """Shapely hexagons (EPSG:4326) of uint64 cells, as a numpy object array."""
    import shapely

    c = _as_u64(cells)
    if _h3rv is not None and len(c):
        return shapely.from_wkb(np.asarray(_h3rv.cells_to_wkb_polygons(c)).astype(object))
    f = h3.api.basic_int.cell_to_boundary
    return np.array([shapely.Polygon([(lo, la) for la, lo in f(int(x))]) for x in c.tolist()], dtype=object)
