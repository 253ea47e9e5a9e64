"""Reverse lookup: point → district, inspector beat (when beats are given) and block."""
from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd
import shapely

from qauipsiz.hotspot.cities import get_city


@cache
def street_blocks(city: str = "astana"):
    """Blocks (кварталы) of ``city``: polygons enclosed by its street lines, in the UTM CRS (metres).

    Returns a tuple ``(polygons, tree)`` — a shapely array ordered by (x, y) of the representative
    point, so block ids are stable for the same street data — and an STRtree over them.
    """
    from qauipsiz.hotspot.streets import load_streets

    c = get_city(city)
    st = load_streets(c.key).to_crs(c.epsg)
    noded = shapely.union_all(st.geometry.values)
    polys = np.asarray(shapely.get_parts(shapely.polygonize(shapely.get_parts(noded))))
    polys = polys[shapely.area(polys) >= 500.0]
    rp = shapely.point_on_surface(polys)
    order = np.lexsort((shapely.get_y(rp), shapely.get_x(rp)))
    polys = polys[order]
    return polys, shapely.STRtree(polys)


def _contains(lat, lon, tree, to_metric=None):
    x, y = (to_metric(lon, lat) if to_metric else (lon, lat))
    pts = shapely.points(np.asarray(x, float), np.asarray(y, float))
    out = np.full(len(pts), -1, dtype=np.int64)
    ok = np.isfinite(np.asarray(x, float)) & np.isfinite(np.asarray(y, float))
    if ok.any():
        pi, gi = tree.query(pts[ok], predicate="within")
        idx = np.flatnonzero(ok)[pi]
        out[idx[::-1]] = gi[::-1]  # first polygon wins on overlaps
    return out


def reverse(lat, lon, city: str = "astana", beats=None, beat_col: str | None = None, blocks=None) -> pd.DataFrame:
    """Reverse-geocode points to territorial units.

    Parameters
    ----------
    lat, lon : array-like of float
        Decimal degrees WGS84.
    city : str
        City registry key.
    beats : GeoDataFrame, optional
        Inspector beats (участки) as polygons; ``beat_col`` names the id column (default: the first
        of ``beat, beat_id, name``, else the row index).
    blocks : GeoDataFrame, optional
        Block polygons with a ``block_id`` column; default: blocks enclosed by the city's streets
        (:func:`street_blocks`), numbered 0… in a stable order.

    Returns
    -------
    DataFrame
        ``district`` (registry key or missing), ``beat`` (beat id or missing) and ``block``
        (block id, −1 outside every block), one row per point.
    """
    c = get_city(city)
    la = np.asarray(lat, float)
    lo = np.asarray(lon, float)
    if la.shape != lo.shape:
        raise ValueError(f"lat has shape {la.shape}, lon has {lo.shape}")
    district = c.assign_district(la, lo)
    beat = pd.Series([None] * len(la), dtype=object)
    if beats is not None:
        b = beats.to_crs(4326)
        col = beat_col or next((k for k in ("beat", "beat_id", "name") if k in b.columns), None)
        if col is not None and col not in b.columns:
            raise ValueError(f"beats: no column {col!r}")
        ids = b[col].to_numpy(object) if col else b.index.to_numpy(object)
        geoms = b.geometry.values
        k = _contains(la, lo, shapely.STRtree(geoms))
        beat = pd.Series(np.where(k >= 0, ids[np.maximum(k, 0)], None), dtype=object)
    if blocks is not None:
        bl = blocks.to_crs(c.epsg)
        ids = bl["block_id"].to_numpy() if "block_id" in bl.columns else np.arange(len(bl))
        k = _contains(la, lo, shapely.STRtree(bl.geometry.values), c.to_metric)
        block = np.where(k >= 0, ids[np.maximum(k, 0)], -1)
    else:
        _polys, tree = street_blocks(c.key)
        block = _contains(la, lo, tree, c.to_metric)
    district = np.array([d if isinstance(d, str) else None for d in district], dtype=object)
    return pd.DataFrame({"district": pd.Series(district, dtype=object), "beat": beat,
                         "block": np.asarray(block, dtype=np.int64)})
