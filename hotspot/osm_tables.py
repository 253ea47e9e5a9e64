"""Tables of an OpenStreetMap import: what :func:`extract_city` builds from an :class:`~.osm_read.OsmExtract`.

Streets (every ``highway`` way, with the gazetteer's name, :func:`canonical_names`), their
intersections, the alias table, address points (:func:`house_numbers`), POIs and buildings
(:func:`building_use`), all clipped to the city's polygon plus a margin.  Writing them into the
city's folder is :func:`qauipsiz.hotspot.osm.import_osm`.
"""
from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import shapely

from qauipsiz.hotspot.cities import City, get_city
from qauipsiz.hotspot.osm_read import OsmExtract, poi_kind

if TYPE_CHECKING:
    import geopandas as gpd

MARGIN_M = 200.0
"""Default margin around the city polygon (metres) inside which OSM objects are kept."""

NAME_TAGS = ("name", "name:kk", "name:ru", "old_name")
"""Name tags kept on street ways (``name:kk``, ``name:ru``, ``old_name`` become aliases)."""

ALIAS_TAGS = ("name:kk", "name:ru", "old_name", "alt_name", "name:en", "official_name")
"""Tags whose values (``;``-separated) point at the way's main name in the alias table."""

_COMMERCIAL = frozenset({"commercial", "retail", "office", "supermarket", "kiosk", "hotel", "shop",
                         "industrial", "warehouse", "service", "mall"})
_PUBLIC = frozenset({"school", "university", "college", "kindergarten", "hospital", "public", "civic",
                     "government", "church", "mosque", "cathedral", "chapel", "temple", "train_station",
                     "transportation", "sports_hall", "stadium", "fire_station", "clinic"})


def clip_area(city: City, margin_m: float) -> shapely.Geometry:
    """``city``'s polygon buffered by ``margin_m`` metres, in WGS84 (prepared)."""
    import geopandas as gpd

    buf = city.boundary_metric.buffer(margin_m) if margin_m > 0 else city.boundary_metric
    g = gpd.GeoSeries([buf], crs=city.epsg).to_crs(4326).iloc[0]
    shapely.prepare(g)
    return g


def _names(tags: dict) -> tuple[str, str, str, str]:
    return tuple((tags.get(k) or "").strip() for k in NAME_TAGS)  # type: ignore[return-value]


def _main_name(tags: dict) -> str:
    for k in ("name", "name:kk", "name:ru", "name:en"):
        v = (tags.get(k) or "").strip()
        if v:
            return v
    return ""


def _levels(v) -> float:
    try:
        x = float(str(v).replace(",", ".").split(";")[0])
    except (TypeError, ValueError):
        return float("nan")
    return x if 0 <= x <= 200 else float("nan")


def building_use(tags: dict) -> str:
    """Demo layer ``use`` of a building from its OSM tags: ``residential``, ``commercial`` or ``public``."""
    b = tags.get("building", "yes")
    if b in _PUBLIC or tags.get("amenity") in _PUBLIC:
        return "public"
    if b in _COMMERCIAL or "shop" in tags or tags.get("amenity") in {"bar", "pub", "cafe", "restaurant", "bank"}:
        return "commercial"
    return "residential"



@dataclass
class OsmTables:
    """The tables :func:`extract_city` builds (streets, intersections, aliases, addresses, POIs, buildings)."""

    streets: gpd.GeoDataFrame
    intersections: dict
    aliases: pd.DataFrame
    addresses: pd.DataFrame
    pois: pd.DataFrame
    buildings: gpd.GeoDataFrame


def _street_table(ways: list, clip: shapely.Geometry):
    import geopandas as gpd

    rows, geoms, refs = [], [], []
    for w in ways:
        t = w["tags"]
        if "highway" not in t or len(w["xy"]) < 2:
            continue
        g = shapely.linestrings(w["xy"])
        if not shapely.intersects(clip, g):
            continue
        nm = _names(t)
        rows.append((w["id"], _main_name(t), *nm[1:], (t.get("alt_name") or "").strip(), t["highway"],
                     t.get("area") == "yes"))
        geoms.append(g)
        refs.append(w["refs"])
    gdf = gpd.GeoDataFrame(rows, columns=["way_id", "name", "name_kk", "name_ru", "old_name", "alt_name", "highway",
                                 "area"],
                           geometry=geoms, crs=4326)
    gdf["way_id"] = gdf["way_id"].astype("int64")
    gdf["area"] = gdf["area"].astype(bool)
    return gdf, refs


def _intersections(streets, refs: list) -> dict:
    """``{street: [{"crossroad", "lat", "lng"}]}`` where ways of different names share a node."""
    named = np.flatnonzero(streets["gazetteer_name"].to_numpy(object) != "")
    if not len(named):
        return {}
    way_ix = np.concatenate([np.full(len(refs[i]), i) for i in named])
    node = np.concatenate([refs[i] for i in named])
    pos = np.concatenate([np.arange(len(refs[i])) for i in named])
    order = np.lexsort((way_ix, node))
    way_ix, node, pos = way_ix[order], node[order], pos[order]
    names = streets["gazetteer_name"].to_numpy(object)
    geoms = streets.geometry.values
    out: dict[str, list] = {}
    seen = set()
    start = np.r_[0, np.flatnonzero(node[1:] != node[:-1]) + 1, len(node)]
    for a, b in itertools.pairwise(start):
        if b - a < 2:
            continue
        ws = way_ix[a:b]
        nm = {names[w] for w in ws}
        if len(nm) < 2:
            continue
        xy = shapely.get_coordinates(geoms[ws[0]])[pos[a]]
        for s in nm:
            for o in nm - {s}:
                k = (s, o, round(float(xy[0]), 6), round(float(xy[1]), 6))
                if k in seen:
                    continue
                seen.add(k)
                out.setdefault(s, []).append({"crossroad": o, "lat": float(xy[1]), "lng": float(xy[0])})
    return out


def canonical_names(streets) -> dict[str, str]:
    """One gazetteer name per street: names that one way carries together (``name``, ``name:kk``,
    ``name:ru``) are the same street, so a way tagged ``name=проспект Кунаева, name:kk=Қонаев
    даңғылы`` joins the ways named ``Қонаев даңғылы``.  Each group of linked names takes the
    ``name`` found on the greatest length of ways; returns ``name → canonical name``."""
    root: dict[str, str] = {}

    def find(n):
        root.setdefault(n, n)
        while root[n] != n:
            root[n] = root[root[n]]
            n = root[n]
        return n

    length = streets.to_crs(3857).length.to_numpy() if len(streets) else np.zeros(0)
    weight: dict[str, float] = {}
    for t, L in zip(streets[["name", "name_kk", "name_ru"]].itertuples(index=False), length, strict=True):
        if not t.name:
            continue
        weight[t.name] = weight.get(t.name, 0.0) + float(L)
        for v in (t.name_kk, t.name_ru):
            if v and ";" not in v:
                ra, rb = find(t.name), find(v)
                if ra != rb:
                    root[max(ra, rb)] = min(ra, rb)
    groups: dict[str, list[str]] = {}
    for n in weight:
        groups.setdefault(find(n), []).append(n)
    out = {}
    for members in groups.values():
        best = max(members, key=lambda n: (weight[n], n))
        out.update(dict.fromkeys(members, best))
    return out


def _alias_table(city_key: str, streets) -> pd.DataFrame:
    """``city, old_name, new_name, since, kind, source``: every other name of a street (its ways'
    ``name``, ``name:kk``, ``name:ru``, ``old_name``, ``alt_name``) → its gazetteer name."""
    rows = set()
    cols = ["gazetteer_name", "name", "name_kk", "name_ru", "old_name", "alt_name"]
    for t in streets[cols].itertuples(index=False):
        if not t.gazetteer_name:
            continue
        for v in (t.name, t.name_kk, t.name_ru, t.old_name, t.alt_name):
            for part in str(v).split(";"):
                part = part.strip()
                if part and part != t.gazetteer_name:
                    rows.add((city_key, part, t.gazetteer_name))
    df = pd.DataFrame(sorted(rows), columns=["city", "old_name", "new_name"])
    df["since"] = ""
    df["kind"] = "osm"
    df["source"] = "OpenStreetMap (name, name:kk, name:ru, old_name, alt_name)"
    return df


def _point_of(geom: shapely.Geometry) -> tuple[float, float]:
    c = geom.centroid
    return float(c.x), float(c.y)


_RANGE = re.compile(r"^\s*(\d+)\s*[-–]\s*(\d+)\s*$")


def house_numbers(value: str) -> list[tuple[str, bool]]:
    """House numbers of an ``addr:housenumber`` value: ``;``/``,``-separated lists are split, and a
    range ``"3-5"`` (one building holding several numbers) also gives its two ends, ``"3"`` and
    ``"5"``, so that either number finds the building.  Returns ``(number, from_range)`` pairs."""
    out: list[tuple[str, bool]] = []
    for h in value.replace(",", ";").split(";"):
        h = h.strip()
        if not h:
            continue
        out.append((h, False))
        m = _RANGE.match(h)
        if m and m.group(1) != m.group(2) and abs(int(m.group(2)) - int(m.group(1))) <= 20:
            out += [(m.group(1), True), (m.group(2), True)]
    return list(dict.fromkeys(out))


def _points_table(ex: OsmExtract, clip: shapely.Geometry, aliases: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Address points (nodes, then area centroids) and POIs inside ``clip``."""
    alias_to = aliases.drop_duplicates("old_name", keep=False).set_index("old_name")["new_name"].to_dict()
    adr, poi = [], []

    def take(osm_type, oid, tags, lon, lat):
        if not shapely.contains_xy(clip, lon, lat):
            return
        st, hn = (tags.get("addr:street") or "").strip(), (tags.get("addr:housenumber") or "").strip()
        if st and hn:
            for h, derived in house_numbers(hn):
                adr.append((alias_to.get(st, st), h, lat, lon, osm_type, oid, derived))
        kind = poi_kind(tags)
        if kind:  # one row per name (main name first); an unnamed POI still goes to the layers
            names = dict.fromkeys(v for v in (_main_name(tags), *(tags.get(k, "") for k in ALIAS_TAGS)) if v)
            for nm in names or [""]:
                poi.append((nm, kind, lat, lon, osm_type, oid))

    for n in ex.nodes:
        take("node", n["id"], n["tags"], n["lon"], n["lat"])
    area_ids = set()
    for a in ex.areas:
        lon, lat = _point_of(a["geometry"])
        area_ids.add((a["osm_type"], a["id"]))
        take(a["osm_type"], a["id"], a["tags"], lon, lat)
    for w in ex.ways:  # addressed or POI ways that are not areas (open ways, platforms drawn as lines)
        t = w["tags"]
        if ("way", w["id"]) in area_ids or not ("addr:housenumber" in t or poi_kind(t)):
            continue
        lon, lat = w["xy"].mean(axis=0)
        take("way", w["id"], t, float(lon), float(lat))
    cols = ["osm_type", "osm_id"]
    return (pd.DataFrame(adr, columns=["street", "house", "lat", "lon", *cols, "from_range"]),
            pd.DataFrame(poi, columns=["name", "kind", "lat", "lon", *cols]))


def _buildings(ex: OsmExtract, clip: shapely.Geometry):
    import geopandas as gpd

    rows: list = []
    geoms: list = []
    for a in ex.areas:
        t = a["tags"]
        if "building" not in t or t.get("building") == "no" or not shapely.intersects(clip, a["geometry"]):
            continue
        lv = _levels(t.get("building:levels"))
        active = ("shop" in t or t.get("amenity") in {"bar", "pub", "cafe", "restaurant", "bank", "pharmacy"}
                  or t.get("building") in {"retail", "commercial", "supermarket", "kiosk"})
        rows.append((len(rows), lv, bool(active), building_use(t), t.get("building", "yes"), a["osm_type"], a["id"]))
        geoms.append(a["geometry"])
    gdf = gpd.GeoDataFrame(rows, columns=["building_id", "levels", "active_ground_floor", "use", "building",
                                          "osm_type", "osm_id"], geometry=geoms, crs=4326)
    gdf["levels_tagged"] = gdf["levels"].notna()
    gdf["levels"] = gdf["levels"].fillna(1.0).astype(float)
    return gdf


def extract_city(city: str, ex: OsmExtract, margin_m: float = MARGIN_M) -> OsmTables:
    """Clip an :class:`OsmExtract` to ``city``'s polygon plus ``margin_m`` and build the tables.

    Raises
    ------
    ValueError
        No ``highway`` way reaches the (buffered) city polygon.
    """
    c = get_city(city)
    clip = clip_area(c, margin_m)
    streets, refs = _street_table(ex.ways, clip)
    if not len(streets):
        raise ValueError(f"no highway way of the OSM file lies inside the boundary of {c.key!r} (plus {margin_m:g} m): "
                         f"the file has {ex.n_highway_ways} highway ways in all; is it the right extract?")
    canon = canonical_names(streets)
    streets.insert(2, "gazetteer_name", streets["name"].map(canon).fillna("").astype(str))
    inter = _intersections(streets, refs)
    aliases = _alias_table(c.key, streets)
    adr, poi = _points_table(ex, clip, aliases)
    return OsmTables(streets, inter, aliases, adr, poi, _buildings(ex, clip))

