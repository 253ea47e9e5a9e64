"""City registry: names (kk/ru/en), metric CRS, time zone, boundaries and point → district lookup."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache, cached_property

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from qauipsiz.hotspot.paths import data_dir


@dataclass(frozen=True)
class City:
    """One city of the registry.

    Attributes
    ----------
    key : str
        Registry key, e.g. ``"astana"``.
    name_kk, name_ru, name_en : str
        Names in Kazakh, Russian and English.
    epsg : int
        EPSG code of the city's UTM zone; all distances are computed in it (metres).
    tz : str
        IANA time-zone name, e.g. ``"Asia/Almaty"``.
    kato : str
        KATO code of the city.
    region_pcode : str
        ``ADM1_PCODE`` of the city's polygon in the regions layer.
    districts_file : str
        Boundary file in ``data/boundaries/``, empty when no open district polygons exist.
    """

    key: str
    name_kk: str
    name_ru: str
    name_en: str
    epsg: int
    tz: str
    kato: str
    region_pcode: str
    districts_file: str = ""

    def name(self, lang: str = "ru") -> str:
        """Return the city's name in ``lang`` (``kk``, ``ru`` or ``en``)."""
        return getattr(self, f"name_{lang}")

    @cached_property
    def districts(self) -> gpd.GeoDataFrame:
        """Districts as a GeoDataFrame in EPSG:4326: ``district, name_kk, name_ru, name_en, kato, geometry``.

        Cities without open district polygons (Shymkent) return an empty frame.
        """
        if not self.districts_file:
            return gpd.GeoDataFrame(
                {c: pd.Series(dtype=object) for c in ("district", "name_kk", "name_ru", "name_en", "kato")},
                geometry=gpd.GeoSeries([], crs=4326),
            )
        gdf = gpd.read_file(data_dir() / "boundaries" / self.districts_file)
        gdf["geometry"] = shapely.make_valid(gdf.geometry.values)
        return gdf.set_crs(4326, allow_override=True)

    @cached_property
    def boundary(self) -> shapely.Geometry:
        """City polygon in EPSG:4326: the union of its districts, else its regions-layer polygon."""
        if len(self.districts):
            return shapely.union_all(self.districts.geometry.values)
        regions = load_regions()
        return shapely.make_valid(regions.loc[regions["pcode"] == self.region_pcode, "geometry"].iloc[0])

    @cached_property
    def boundary_metric(self) -> shapely.Geometry:
        """City polygon in the city's UTM CRS (metres)."""
        return gpd.GeoSeries([self.boundary], crs=4326).to_crs(self.epsg).iloc[0]

    @cached_property
    def _to_metric(self) -> Transformer:
        return Transformer.from_crs(4326, self.epsg, always_xy=True)

    @cached_property
    def _to_wgs84(self) -> Transformer:
        return Transformer.from_crs(self.epsg, 4326, always_xy=True)

    def to_metric(self, lon, lat) -> tuple[np.ndarray, np.ndarray]:
        """Project decimal-degree ``lon, lat`` (scalars or arrays) to UTM ``x, y`` in metres."""
        return self._to_metric.transform(np.asarray(lon, float), np.asarray(lat, float))

    def to_wgs84(self, x, y) -> tuple[np.ndarray, np.ndarray]:
        """Project UTM ``x, y`` in metres back to decimal-degree ``lon, lat``."""
        return self._to_wgs84.transform(np.asarray(x, float), np.asarray(y, float))

    def contains(self, lat, lon) -> np.ndarray:
        """Boolean array: is each point (decimal degrees) inside the city polygon?"""
        pts = shapely.points(np.asarray(lon, float), np.asarray(lat, float))
        shapely.prepare(self.boundary)
        return shapely.contains(self.boundary, pts) if pts.ndim else bool(shapely.contains(self.boundary, pts))

    def assign_district(self, lat, lon) -> np.ndarray:
        """Vectorised point → district key (object array; ``None`` outside every district).

        Parameters
        ----------
        lat, lon : array-like
            Decimal degrees, WGS84.
        """
        lat = np.atleast_1d(np.asarray(lat, float))
        lon = np.atleast_1d(np.asarray(lon, float))
        out = np.full(lat.shape, None, dtype=object)
        d = self.districts
        if not len(d):
            return out
        pts = shapely.points(lon, lat)
        tree = shapely.STRtree(d.geometry.values)
        pi, gi = tree.query(pts, predicate="within")
        keys = d["district"].to_numpy(dtype=object)
        # first match wins where polygons overlap along shared edges
        order = np.argsort(pi, kind="stable")
        pi, gi = pi[order], gi[order]
        first = np.r_[True, pi[1:] != pi[:-1]] if len(pi) else np.array([], bool)
        out[pi[first]] = keys[gi[first]]
        return out


@cache
def _registry() -> dict[str, City]:
    df = pd.read_csv(data_dir() / "boundaries" / "cities.csv", dtype=str, keep_default_na=False)
    return {
        r.city: City(r.city, r.name_kk, r.name_ru, r.name_en, int(r.epsg), r.tz, r.kato, r.region_pcode, r.districts_file)
        for r in df.itertuples()
    }


def list_cities() -> list[str]:
    """Registry keys of all known cities."""
    return list(_registry())


def get_city(key: str) -> City:
    """Return the :class:`City` for ``key`` (case-insensitive); ``ValueError`` names the known keys."""
    reg = _registry()
    k = key.strip().lower()
    if k not in reg:
        raise ValueError(f"unknown city {key!r}; known cities: {', '.join(reg)}")
    return reg[k]


@cache
def load_regions() -> gpd.GeoDataFrame:
    """Kazakhstan's 20 first-level units (2022 reform) in EPSG:4326: ``pcode, name_en, geometry``."""
    return gpd.read_file(data_dir() / "boundaries" / "kz_regions.geojson")
