"""The "blocks to fix first" list: scored blocks by descending priority, with the nearest street and
the fixes in one language."""


import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from qauipsiz.cpted.score_config import LANGS, STRATEGIES


def fix_first(scored: gpd.GeoDataFrame, n: int | None = 50, lang: str = "ru",
              streets: gpd.GeoDataFrame | None = None) -> pd.DataFrame:
    """The "blocks to fix first" list: blocks by descending priority with score and fixes in ``lang``.

    Parameters
    ----------
    scored : GeoDataFrame
        :func:`score_blocks` output (EPSG:4326).
    n : int, optional
        Keep the first ``n`` blocks (all when ``None`` or 0).
    lang : {"kk", "ru", "en"}
        Language of the fixes.
    streets : GeoDataFrame, optional
        Street lines with ``name`` (``hotspot.streets.load_streets``); the ``street`` column is the
        name of the street nearest to each block's inner point (empty without streets).

    Returns
    -------
    DataFrame
        ``priority_rank, block_id, street, lat, lon`` (a point inside the block, decimal degrees
        WGS 84), ``priority, risk, risk_per_ha, score``, the six sub-scores and
        ``fix_1_<lang> … fix_3_<lang>``.
    """
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {', '.join(LANGS)}, got {lang!r}")
    cols = ["priority_rank", "block_id", "priority", "risk", "risk_per_ha", "score", *STRATEGIES,
            f"fix_1_{lang}", f"fix_2_{lang}", f"fix_3_{lang}"]
    top = scored.sort_values("priority_rank")
    top = top.head(n) if n else top
    df = pd.DataFrame(top[cols])
    geoms = top.geometry.values
    pts = shapely.point_on_surface(np.asarray(geoms, dtype=object)) if len(top) else np.zeros(0, dtype=object)
    if top.crs is not None and not top.crs.equals("EPSG:4326"):
        pts = gpd.GeoSeries(pts, crs=top.crs).to_crs(4326).values
    df.insert(2, "street", _street_names(pts, streets))
    df.insert(3, "lat", np.round(shapely.get_y(pts), 6) if len(top) else np.zeros(0))
    df.insert(4, "lon", np.round(shapely.get_x(pts), 6) if len(top) else np.zeros(0))
    return df


def city_streets(city: str) -> gpd.GeoDataFrame | None:
    """The city's shipped street lines (``hotspot.streets.load_streets``), or ``None`` when it has none."""
    from qauipsiz.hotspot.streets import load_streets

    try:
        return load_streets(city)
    except (FileNotFoundError, ValueError):
        return None


def _street_names(pts: np.ndarray, streets: gpd.GeoDataFrame | None) -> np.ndarray:
    """Name of the nearest street to each WGS 84 point (measured in the points' UTM zone)."""
    if streets is None or len(streets) == 0 or len(pts) == 0:
        return np.full(len(pts), "", dtype=object)
    p = gpd.GeoSeries(pts, crs=4326)
    utm = p.estimate_utm_crs()
    st = (streets if streets.crs is not None else streets.set_crs(4326)).to_crs(utm)
    idx = shapely.STRtree(st.geometry.values).nearest(p.to_crs(utm).values)
    return st["name"].astype(object).fillna("").to_numpy(object)[idx]
