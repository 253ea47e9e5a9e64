"""Vectorised H3 indexing on uint64 cells."""
from __future__ import annotations

import h3
import numpy as np


def latlng_to_cells(lat, lon, res: int) -> np.ndarray:
    """H3 cells (uint64) of points in decimal degrees at resolution ``res``; 0 where lat/lon is NaN."""
    lat = np.asarray(lat, float)
    lon = np.asarray(lon, float)
    out = np.zeros(lat.shape, dtype=np.uint64)
    ok = np.isfinite(lat) & np.isfinite(lon)
    f = h3.api.basic_int.latlng_to_cell
    out[ok] = np.fromiter((f(a, b, res) for a, b in zip(lat[ok].tolist(), lon[ok].tolist(), strict=True)),
                          dtype=np.uint64, count=int(ok.sum()))
    return out
