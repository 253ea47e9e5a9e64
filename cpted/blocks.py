"""City blocks (кварталы): polygonised street network, an official block layer, or H3 cells as a fallback."""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

MIN_AREA_M2 = 2_000.0
MAX_AREA_M2 = 2_000_000.0
MIN_WIDTH_M = 8.0
H3_FALLBACK_RES = 9


def polygonize_streets(lines, boundary=None, *, min_area_m2: float = MIN_AREA_M2,
                       max_area_m2: float = MAX_AREA_M2, min_width_m: float = MIN_WIDTH_M,
                       snap_m: float = 0.5) -> gpd.GeoDataFrame:
    """Blocks enclosed by street centre lines.

    Parameters
    ----------
    lines : array-like of LineString
        Street centre lines in metres (UTM).  They are noded (split at every crossing) first.
    boundary : Polygon, optional
        City polygon in metres; blocks not within it are dropped.
    min_area_m2, max_area_m2 : float
        Area bounds in m²: smaller faces are slivers (traffic islands, lane splits), larger ones are
        open land outside the built-up fabric.
    min_width_m : float
        Slivers: faces that vanish when shrunk by half this width (long thin strips between parallel
        carriageways) are dropped.
    snap_m : float
        Coordinates are rounded to this grid first so near-coincident ends join.

    Returns
    -------
    GeoDataFrame
        ``block_id`` (0..n-1), ``area_m2``, ``source`` (``"streets"``), Polygon geometry; CRS unset
        (the caller's metric CRS).
    """
    ln = np.asarray(lines, dtype=object)
    ln = ln[~(shapely.is_missing(ln) | shapely.is_empty(ln))]
    if len(ln) == 0:
        return _frame(np.zeros(0, dtype=object), "streets")
    if snap_m > 0:
        ln = shapely.set_precision(ln, snap_m)
    noded = shapely.union_all(ln)
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    if boundary is not None:
        shapely.prepare(boundary)
        faces = faces[shapely.within(faces, boundary)]
    area = shapely.area(faces)
    keep = (area >= min_area_m2) & (area <= max_area_m2)
    faces = faces[keep]
    if min_width_m > 0 and len(faces):
        core = shapely.buffer(faces, -min_width_m / 2)
        faces = faces[~shapely.is_empty(core)]
    return _frame(faces, "streets")


def _frame(geoms, source: str) -> gpd.GeoDataFrame:
    g = np.asarray(geoms, dtype=object)
    return gpd.GeoDataFrame({"block_id": np.arange(len(g), dtype=np.int64), "area_m2": shapely.area(g) if len(g) else
                             np.zeros(0), "source": source}, geometry=g)


def h3_blocks(boundary_m, epsg: int, res: int = H3_FALLBACK_RES) -> gpd.GeoDataFrame:
    """H3 cells (resolution ``res``) covering a metric boundary, as blocks.

    Returns a GeoDataFrame in EPSG:``epsg`` with ``block_id``, ``h3`` (uint64), ``area_m2``,
    ``source`` (``"h3"``).
    """
    import h3

    from qauipsiz.hotspot.h3grid import cells_to_boundaries

    poly_ll = gpd.GeoSeries([boundary_m], crs=epsg).to_crs(4326).iloc[0]
    cells = []
    for part in shapely.get_parts(poly_ll):
        shell = [(y, x) for x, y in shapely.get_coordinates(part.exterior)]
        holes = [[(y, x) for x, y in shapely.get_coordinates(r)] for r in part.interiors]
        cells += h3.polygon_to_cells(h3.LatLngPoly(shell, *holes), res)
    u = np.array(sorted({h3.str_to_int(c) for c in cells}), dtype=np.uint64)
    geoms = gpd.GeoSeries(cells_to_boundaries(u), crs=4326).to_crs(epsg).values
    out = _frame(np.asarray(geoms, dtype=object), "h3")
    out.insert(1, "h3", u)
    return out.set_crs(epsg)


def city_blocks(city, layers: dict | None = None, *, streets=None, min_blocks: int = 10,
                h3_res: int = H3_FALLBACK_RES) -> gpd.GeoDataFrame:
    """The blocks of a city, in its UTM CRS.

    Order of preference: the ``blocks`` layer in ``layers`` (an official block layer); else the
    polygonised street network (``streets`` or ``hotspot.streets.load_streets(city.key)``); else,
    when the city has no street file or fewer than ``min_blocks`` blocks come out, H3 cells at
    ``h3_res`` over the city.

    Parameters
    ----------
    city : hotspot.cities.City or str
    layers : dict, optional
        Layers as from :func:`cpted.layers.load_layer_dir` (any CRS).
    streets : GeoDataFrame, optional
        Street lines (any CRS) instead of the shipped ones.

    Returns
    -------
    GeoDataFrame
        ``block_id, area_m2, source`` (``official`` / ``streets`` / ``h3``) and more columns of an
        official layer, in EPSG:``city.epsg``.
    """
    from qauipsiz.hotspot.cities import get_city

    c = get_city(city) if isinstance(city, str) else city
    if layers and layers.get("blocks") is not None and len(layers["blocks"]):
        b = layers["blocks"].to_crs(c.epsg).reset_index(drop=True)
        b["geometry"] = shapely.make_valid(b.geometry.values)
        if "block_id" not in b.columns:
            b["block_id"] = np.arange(len(b))
        b["area_m2"] = b.area.to_numpy()
        b["source"] = "official"
        return b
    if streets is None:
        from qauipsiz.hotspot.streets import has_streets, load_streets

        if not has_streets(c.key):
            return h3_blocks(c.boundary_metric, c.epsg, h3_res)
        streets = load_streets(c.key)
    st = streets.to_crs(c.epsg) if streets.crs is not None else streets
    blocks = polygonize_streets(st.geometry.values, c.boundary_metric)
    if len(blocks) >= min_blocks:
        return blocks.set_crs(c.epsg)
    return h3_blocks(c.boundary_metric, c.epsg, h3_res)
