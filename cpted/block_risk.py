"""Risk per block: a per-H3-cell hotspot table overlaid on the blocks (area-weighted)."""


import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

RISK_COLUMNS = ("weighted", "count", "density", "risk")


def _share(num, den):
    num = np.asarray(num, float)
    den = np.asarray(den, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


def block_risk(blocks_m: gpd.GeoDataFrame, hotspots: pd.DataFrame, risk_col: str | None = None) -> np.ndarray:
    """Risk per block from a per-H3-cell table, by area-weighted overlay.

    Parameters
    ----------
    blocks_m : GeoDataFrame
        Blocks in a metric CRS.
    hotspots : DataFrame
        One row per H3 cell: ``h3`` (uint64 or hex string) and a risk column.  Any table works, e.g.
        ``hotspot.surface.hotspot_table(...)`` (``h3, count, weighted, density, gi_z, ...``).
    risk_col : str, optional
        The risk column; default the first of ``weighted``, ``count``, ``density``, ``risk`` present.

    Returns
    -------
    numpy.ndarray
        Per block: for count-like columns the cell values shared out by the share of each cell's
        area inside the block; for ``density`` (per unit area) the area-weighted mean.
    """
    if "h3" not in hotspots.columns:
        raise ValueError("hotspot table: column 'h3' is missing")
    col = risk_col or next((c for c in RISK_COLUMNS if c in hotspots.columns), None)
    if col is None or col not in hotspots.columns:
        raise ValueError(f"hotspot table: no risk column; give risk_col or one of {', '.join(RISK_COLUMNS)}")
    from qauipsiz.hotspot.h3grid import cells_to_boundaries

    h = hotspots["h3"]
    if h.dtype == object or pd.api.types.is_string_dtype(h):
        import h3 as _h3

        try:
            cells = np.array([_h3.str_to_int(str(c)) for c in h], dtype=np.uint64)
        except (ValueError, TypeError) as e:
            raise ValueError(f"hotspot table, field 'h3': not an H3 index ({e})") from None
    else:
        cells = h.to_numpy().astype(np.uint64)
    val = pd.to_numeric(hotspots[col], errors="coerce").fillna(0.0).to_numpy(float)
    nb = len(blocks_m)
    if len(cells) == 0:
        return np.zeros(nb)
    hexes = gpd.GeoSeries(cells_to_boundaries(cells), crs=4326).to_crs(blocks_m.crs).values
    bg = np.asarray(blocks_m.geometry.values, dtype=object)
    bi, ci = shapely.STRtree(hexes).query(bg, predicate="intersects")
    inter = shapely.area(shapely.intersection(bg[bi], hexes[ci]))
    if col == "density":
        num = np.bincount(bi, weights=inter * val[ci], minlength=nb)
        return _share(num, np.bincount(bi, weights=inter, minlength=nb)).astype(float)
    frac = inter / np.maximum(shapely.area(hexes[ci]), 1e-9)
    return np.bincount(bi, weights=frac * val[ci], minlength=nb)


