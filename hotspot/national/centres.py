"""The cities of the national dataset: the three shipped cities and one city per regional centre.

The regional centres come from ``data/boundaries/regional_centres.csv`` (compiled by
:func:`build_centres_table` from the OpenStreetMap populated places in the shared data, ODbL):
each row is the centre's OSM place point and tagged population.  A centre city's polygon is a
disc around that point whose radius grows with the square root of the population, clipped to the
region polygon (:func:`centre_polygon`).  Such a polygon is a stand-in for the city limits (no open
city-limit polygons exist for these cities); it only hosts synthetic incidents.
"""
from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from qauipsiz.hotspot.cities import City, get_city, load_regions, utm_epsg
from qauipsiz.hotspot.paths import data_dir

CENTRES_FILE = "regional_centres.csv"
SHIPPED = ("astana", "almaty", "shymkent")

# region pcode -> (city key, the administrative centre's Russian name in the OSM places)
REGION_CENTRES = {
    "KAZ001": ("semey", "Семей"), "KAZ002": ("kokshetau", "Кокшетау"), "KAZ003": ("aktobe", "Актобе"),
    "KAZ005": ("konaev", "Конаев"), "KAZ006": ("astana", "Астана"), "KAZ004": ("almaty", "Алматы"),
    "KAZ007": ("atyrau", "Атырау"), "KAZ008": ("oskemen", "Усть-Каменогорск"), "KAZ009": ("taraz", "Тараз"),
    "KAZ010": ("taldykorgan", "Талдыкорган"), "KAZ011": ("karaganda", "Караганда"),
    "KAZ012": ("kostanay", "Костанай"), "KAZ013": ("kyzylorda", "Кызылорда"), "KAZ014": ("aktau", "Актау"),
    "KAZ015": ("petropavl", "Петропавловск"), "KAZ016": ("pavlodar", "Павлодар"), "KAZ017": ("shymkent", "Шымкент"),
    "KAZ018": ("turkistan", "Туркестан"), "KAZ019": ("zhezkazgan", "Жезказган"), "KAZ020": ("oral", "Уральск"),
}
TABLE_COLUMNS = ("city", "region_pcode", "name_kk", "name_ru", "name_en", "lat", "lon", "population", "osm_id",
                 "note")
RADIUS_KM_PER_SQRT_10K = 1.6
"""Disc radius of a centre city: 1.6 km × sqrt(population / 10,000) (300,000 people → 8.8 km)."""


def build_centres_table(places_path: str | Path) -> pd.DataFrame:
    """Compile the regional-centre table from the OSM populated-places GeoJSON.

    For each region, the place whose Russian name is the region's administrative centre, inside
    the region polygon; where the places data lack it (Kyzylorda), the most populous tagged place
    of the region, with a ``note`` saying so.

    Parameters
    ----------
    places_path : path
        ``kz_populated_places.geojson`` (HOT OSM export: ``name``, ``name:kk``, ``name:ru``,
        ``name:en``, ``population``, ``osm_id``).

    Returns
    -------
    DataFrame
        :data:`TABLE_COLUMNS`; ``population`` in people, ``lat``/``lon`` decimal degrees.
    """
    places = gpd.read_file(places_path).to_crs(4326)
    places["pop"] = pd.to_numeric(places["population"], errors="coerce")
    regions = load_regions()
    joined = gpd.sjoin(places, regions[["pcode", "geometry"]], predicate="within")
    rows = []
    for pcode, (key, name_ru) in REGION_CENTRES.items():
        cand = joined[(joined["pcode"] == pcode) & joined["pop"].notna()]
        hit = cand[cand["name:ru"] == name_ru]
        note = ""
        if not len(hit):
            hit = cand.sort_values("pop", ascending=False).head(1)
            note = f"{name_ru} is missing from the places data: the region's most populous tagged place stands in"
        r = hit.sort_values("pop", ascending=False).iloc[0]

        def name(*cols, r=r):
            return next(str(r[c]) for c in cols if isinstance(r[c], str) and r[c].strip())

        name_en = name("name:en", "name:ru", "name")
        if note:
            key = re.sub(r"[^a-z0-9]+", "_", name_en.lower()).strip("_")
        rows.append({"city": key, "region_pcode": pcode, "name_kk": name("name:kk", "name"),
                     "name_ru": name("name:ru", "name"), "name_en": name_en,
                     "lat": round(float(r.geometry.y), 6), "lon": round(float(r.geometry.x), 6),
                     "population": int(r["pop"]), "osm_id": int(r["osm_id"]), "note": note})
    return pd.DataFrame(rows, columns=list(TABLE_COLUMNS))


def load_centres() -> pd.DataFrame:
    """The shipped table (``data/boundaries/regional_centres.csv``): one row per national city."""
    return pd.read_csv(data_dir() / "boundaries" / CENTRES_FILE, dtype={"region_pcode": str, "note": str},
                       keep_default_na=False)


def centre_polygon(lat: float, lon: float, population: float, region_pcode: str) -> shapely.Geometry:
    """A centre city's stand-in polygon (EPSG:4326): a disc of radius
    ``RADIUS_KM_PER_SQRT_10K × sqrt(population / 1e4)`` km around the point, clipped to its region."""
    from pyproj import Transformer

    epsg = utm_epsg(lon, lat)
    fwd = Transformer.from_crs(4326, epsg, always_xy=True)
    x, y = fwd.transform(lon, lat)
    r_m = 1000.0 * RADIUS_KM_PER_SQRT_10K * np.sqrt(max(population, 1.0) / 1e4)
    disc = shapely.Point(x, y).buffer(r_m, quad_segs=16)
    disc_ll = shapely.transform(disc, lambda a: np.column_stack(
        Transformer.from_crs(epsg, 4326, always_xy=True).transform(a[:, 0], a[:, 1])))
    regions = load_regions()
    region = shapely.make_valid(regions.loc[regions["pcode"] == region_pcode, "geometry"].iloc[0])
    poly = shapely.intersection(disc_ll, region)
    if poly.geom_type == "GeometryCollection":
        poly = shapely.union_all([g for g in poly.geoms if g.geom_type in ("Polygon", "MultiPolygon")])
    return poly


def write_city_folders(cities_dir: str | Path, table: pd.DataFrame) -> list[City]:
    """Write the non-shipped rows of ``table`` as user cities in the format of ``qauipsiz city add``
    (``<key>/boundary.geojson`` and a ``cities.csv`` row each) under ``cities_dir``.

    Returns the cities as :class:`City` objects (``folder`` set), without touching the registry's
    user folder; :func:`hotspot.cities.set_user_dir` on ``cities_dir`` makes them resolvable.
    """
    from qauipsiz.hotspot.cities import _COLUMNS, _region_tz

    cities_dir = Path(cities_dir)
    cities_dir.mkdir(parents=True, exist_ok=True)
    out: list[City] = []
    for r in table.to_dict("records"):
        if r["city"] in SHIPPED:
            continue
        poly = centre_polygon(r["lat"], r["lon"], r["population"], r["region_pcode"])
        folder = cities_dir / r["city"]
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "boundary.geojson"
        path.unlink(missing_ok=True)
        gpd.GeoDataFrame({"city": [r["city"]]}, geometry=[poly], crs=4326).to_file(path, driver="GeoJSON")
        rep = poly.representative_point()
        out.append(City(r["city"], r["name_kk"], r["name_ru"], r["name_en"], utm_epsg(rep.x, rep.y),
                        _region_tz(r["region_pcode"]), "", r["region_pcode"], "", "boundary.geojson", str(folder)))
    rows = [{"city": c.key, "name_kk": c.name_kk, "name_ru": c.name_ru, "name_en": c.name_en, "epsg": c.epsg,
             "tz": c.tz, "kato": c.kato, "region_pcode": c.region_pcode, "districts_file": "",
             "boundary_file": "boundary.geojson"} for c in out]
    pd.DataFrame(rows, columns=list(_COLUMNS)).to_csv(cities_dir / "cities.csv", index=False)
    return out


def national_cities(cities_dir: str | Path) -> tuple[list[City], pd.DataFrame]:
    """Write the centre cities' folders and return every national city (shipped first) and the table.

    The shipped cities come from the registry (:func:`hotspot.cities.get_city`), the others are
    built from their folders under ``cities_dir``.
    """
    table = load_centres()
    made = {c.key: c for c in write_city_folders(cities_dir, table)}
    cities = [get_city(k) if k in SHIPPED else made[k] for k in table["city"]]
    return cities, table
