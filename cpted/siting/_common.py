"""Small helpers shared by the siting modules: the city, metric points of a layer, a layer or an empty one."""
from __future__ import annotations

import numpy as np
import shapely

from qauipsiz.hotspot.cities import get_city


def _city(city):
    return get_city(city) if isinstance(city, str) else city


def _xy(gdf, epsg):
    """Metric coordinates of point (or representative points of other) geometries."""
    g = gdf.to_crs(epsg).geometry.values
    g = np.where(shapely.get_type_id(g) == 0, g, shapely.point_on_surface(g))
    return shapely.get_coordinates(g)


def _layer(layers, name):
    import geopandas as gpd

    g = (layers or {}).get(name)
    if g is None:
        return gpd.GeoDataFrame(geometry=[], crs=4326)
    return g
