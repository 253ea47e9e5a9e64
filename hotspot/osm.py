"""OpenStreetMap import for a user city: streets, address points, POIs and buildings from an extract.

:func:`read_osm` reads ``.osm.pbf`` and ``.osm`` XML (also ``.osm.bz2``/``.gz``) through pyosmium
and Overpass JSON (``{"elements": [...]}``, nodes and ways) with a small reader of its own.
:func:`import_osm` clips what it read to the city's polygon plus a margin and writes, into the
city's folder (``<QAUIPSIZ_DATA_DIR>/cities/<key>/``):

==========================  ======================================================================
``streets.parquet``         GeoParquet, every ``highway`` way (named or not): ``way_id, name,
                            gazetteer_name, name_kk, name_ru, old_name, alt_name, highway, area,
                            geometry`` (WGS84 lines; see :func:`canonical_names`)
``streets.json``            the named ways in the shipped street format (the gazetteer's source)
``intersections.json``      named ways that share a node, in the shipped intersection format
``aliases.csv``             ``name:kk``, ``name:ru``, ``old_name``, ``alt_name`` → ``name``
``addresses.parquet``       ``street, house, lat, lon, osm_type, osm_id`` (nodes; building centroids)
``pois.parquet``            ``name, kind, lat, lon, osm_type, osm_id``
``layers/*.geojson``        ``buildings`` (``building_id, levels, active_ground_floor, use``),
                            ``transit_stops``, ``bars``, ``police_stations`` in the demo schemas
``gazetteer/``              the city's gazetteer (named streets, aliases, addresses, POIs)
``osm_import.json``         source file, its SHA-256 and the counts
==========================  ======================================================================

Data © OpenStreetMap contributors, ODbL 1.0.
"""
from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import shapely

from qauipsiz.hotspot.cities import City, get_city

if TYPE_CHECKING:
    import geopandas as gpd

MARGIN_M = 200.0
"""Default margin around the city polygon (metres) inside which OSM objects are kept."""

NAME_TAGS = ("name", "name:kk", "name:ru", "old_name")
"""Name tags kept on street ways (``name:kk``, ``name:ru``, ``old_name`` become aliases)."""

ALIAS_TAGS = ("name:kk", "name:ru", "old_name", "alt_name", "name:en", "official_name")
"""Tags whose values (``;``-separated) point at the way's main name in the alias table."""

_POI_RULES: tuple[tuple[str, str, str], ...] = (
    ("shop", "mall", "mall"),
    ("amenity", "marketplace", "marketplace"),
    ("amenity", "school", "school"),
    ("amenity", "bar", "bar"),
    ("amenity", "pub", "pub"),
    ("amenity", "police", "police"),
    ("shop", "alcohol", "liquor_shop"),
    ("highway", "bus_stop", "transit_stop"),
    ("public_transport", "platform", "transit_stop"),
    ("public_transport", "stop_position", "transit_stop"),
    ("public_transport", "station", "transit_stop"),
)
"""``(tag, value, kind)``: OSM objects kept as POIs."""

_COMMERCIAL = frozenset({"commercial", "retail", "office", "supermarket", "kiosk", "hotel", "shop",
                         "industrial", "warehouse", "service", "mall"})
_PUBLIC = frozenset({"school", "university", "college", "kindergarten", "hospital", "public", "civic",
                     "government", "church", "mosque", "cathedral", "chapel", "temple", "train_station",
                     "transportation", "sports_hall", "stadium", "fire_station", "clinic"})


def poi_kind(tags: dict) -> str:
    """POI kind of an OSM object's tags (``mall``, ``marketplace``, ``school``, ``bar``, ``pub``,
    ``police``, ``liquor_shop``, ``transit_stop``), or ``""``."""
    for k, v, kind in _POI_RULES:
        if tags.get(k) == v:
            return kind
    return ""


def _wanted(tags: dict) -> bool:
    return bool(tags) and ("highway" in tags or "building" in tags or "addr:housenumber" in tags
                           or bool(poi_kind(tags)))


@dataclass
class OsmExtract:
    """What :func:`read_osm` keeps of an OSM file (WGS84 degrees).

    Attributes
    ----------
    ways : list of dict
        ``id, tags, refs (node ids), xy (n × 2 lon/lat)`` for every way with a ``highway``,
        ``building``, ``addr:housenumber`` or POI tag.
    nodes : list of dict
        ``id, tags, lon, lat`` of tagged nodes with an address or POI tag.
    areas : list of dict
        ``osm_type ('way'/'relation'), id, tags, geometry`` — polygons of buildings and addressed
        or POI areas (pyosmium assembles multipolygon relations; the JSON reader closed ways only).
    n_ways, n_highway_ways : int
        Ways in the whole file, and those with a ``highway`` tag.
    """

    ways: list = field(default_factory=list)
    nodes: list = field(default_factory=list)
    areas: list = field(default_factory=list)
    n_ways: int = 0
    n_highway_ways: int = 0


def _is_json(path: Path) -> bool:
    if path.suffix.lower() == ".json":
        return True
    with path.open("rb") as fh:
        head = fh.read(64).lstrip()
    return head.startswith(b"{")


def _overlaps(box, xmin, ymin, xmax, ymax) -> bool:
    return box is None or (xmin <= box[2] and xmax >= box[0] and ymin <= box[3] and ymax >= box[1])


def read_osm(path: str | Path, bbox: tuple[float, float, float, float] | None = None) -> OsmExtract:
    """Read an OSM extract: ``.osm.pbf``/``.osm`` XML (pyosmium) or Overpass JSON.

    ``bbox`` (``lon_min, lat_min, lon_max, lat_max``) keeps only objects whose bounding box
    overlaps it, so a city can be cut from a country extract without holding the country's
    buildings in memory; ``n_ways`` and ``n_highway_ways`` still count the whole file.

    Raises
    ------
    ValueError
        The file does not exist or is not a readable OSM file (the message names the file).
    """
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"OSM file {str(p)!r} does not exist")
    if _is_json(p):
        return _read_overpass_json(p, bbox)
    return _read_osmium(p, bbox)


def _read_overpass_json(p: Path, bbox=None) -> OsmExtract:
    try:
        raw = json.loads(p.read_text(encoding="utf-8"))
        elements = raw["elements"]
        if not isinstance(elements, list):
            raise TypeError("'elements' is not a list")
    except (ValueError, KeyError, TypeError, UnicodeDecodeError) as e:
        raise ValueError(f"OSM file {str(p)!r}: not Overpass JSON with an 'elements' list ({e})") from e
    loc: dict[int, tuple[float, float]] = {}
    out = OsmExtract()
    ways = []
    for i, el in enumerate(elements):
        t = el.get("type") if isinstance(el, dict) else None
        if t == "node":
            try:
                lon, lat = float(el["lon"]), float(el["lat"])
            except (KeyError, TypeError, ValueError) as err:
                raise ValueError(f"OSM file {str(p)!r}: element {i} (node {el.get('id')}) has no lat/lon") from err
            loc[int(el["id"])] = (lon, lat)
            tags = el.get("tags") or {}
            if tags and ("addr:housenumber" in tags or poi_kind(tags)) and _overlaps(bbox, lon, lat, lon, lat):
                out.nodes.append({"id": int(el["id"]), "tags": dict(tags), "lon": lon, "lat": lat})
        elif t == "way":
            out.n_ways += 1
            tags = el.get("tags") or {}
            if "highway" in tags:
                out.n_highway_ways += 1
            if _wanted(tags):
                ways.append(el)
    for way in ways:
        refs = [int(r) for r in way.get("nodes") or []]
        geom = way.get("geometry")  # "out geom" answers carry the coordinates on the way
        if geom and len(geom) == len(refs):
            pts = [(float(g["lon"]), float(g["lat"])) if g else None for g in geom]
        else:
            pts = [loc.get(r) for r in refs]
        keep = [k for k, q in enumerate(pts) if q is not None]
        if not keep:
            continue
        tags = dict(way.get("tags") or {})
        xy = np.array([pts[k] for k in keep], float)
        if not _overlaps(bbox, *xy.min(0), *xy.max(0)):
            continue
        rr = np.array([refs[k] for k in keep], np.int64)
        out.ways.append({"id": int(way["id"]), "tags": tags, "refs": rr, "xy": xy})
        closed = len(refs) >= 4 and refs[0] == refs[-1] and len(keep) == len(refs)
        if closed and ("building" in tags or "addr:housenumber" in tags or poi_kind(tags)) and "highway" not in tags:
            poly = shapely.make_valid(shapely.polygons(xy))
            out.areas.append({"osm_type": "way", "id": int(way["id"]), "tags": tags, "geometry": poly})
    return out


def _read_osmium(p: Path, bbox=None) -> OsmExtract:
    import osmium

    out = OsmExtract()
    wkb = osmium.geom.WKBFactory()
    try:
        # pyosmium yields a union of OSM object types; the is_node()/is_way()/is_area() tests below
        # narrow it at run time, which mypy cannot follow
        fp: Iterable[Any] = osmium.FileProcessor(str(p)).with_locations().with_areas()
        for o in fp:
            if o.is_node():
                tags = o.tags
                if len(tags) and ("addr:housenumber" in tags or poi_kind(dict(tags))):
                    lon, lat = o.location.lon, o.location.lat
                    if _overlaps(bbox, lon, lat, lon, lat):
                        out.nodes.append({"id": o.id, "tags": dict(tags), "lon": lon, "lat": lat})
            elif o.is_way():
                out.n_ways += 1
                tags = dict(o.tags)
                if "highway" in tags:
                    out.n_highway_ways += 1
                if not _wanted(tags):
                    continue
                nodes = [(n.ref, n.lon, n.lat) for n in o.nodes if n.location.valid()]
                if not nodes:
                    continue
                arr = np.array(nodes, float)
                if not _overlaps(bbox, *arr[:, 1:].min(0), *arr[:, 1:].max(0)):
                    continue
                out.ways.append({"id": o.id, "tags": tags, "refs": np.array([n[0] for n in nodes], np.int64),
                                 "xy": arr[:, 1:]})
            elif o.is_area():
                tags = dict(o.tags)
                if "highway" in tags or not ("building" in tags or "addr:housenumber" in tags or poi_kind(tags)):
                    continue
                try:
                    g = shapely.from_wkb(bytes.fromhex(wkb.create_multipolygon(o)))
                except (RuntimeError, osmium.InvalidLocationError):
                    continue  # a broken ring (clipped extract): skip the polygon
                if not _overlaps(bbox, *g.bounds):
                    continue
                out.areas.append({"osm_type": "way" if o.from_way() else "relation", "id": o.orig_id(),
                                  "tags": tags, "geometry": g})
    except RuntimeError as e:  # libosmium's I/O and parse errors
        raise ValueError(f"OSM file {str(p)!r}: not a readable OSM file (.osm.pbf, .osm XML or Overpass "
                         f"JSON): {e}") from e
    return out


# ---------------------------------------------------------------------------------------------
def _clip_area(city: City, margin_m: float) -> shapely.Geometry:
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


def _densify(xy: np.ndarray, city: City, step_m: float = 100.0) -> np.ndarray:
    """Insert vertices so that consecutive ones are at most ``step_m`` metres apart (lon/lat)."""
    x, y = city.to_metric(xy[:, 0], xy[:, 1])
    line = shapely.linestrings(np.c_[x, y])
    dense = shapely.get_coordinates(shapely.segmentize(line, step_m))
    lon, lat = city.to_wgs84(dense[:, 0], dense[:, 1])
    return np.c_[np.asarray(lon, float), np.asarray(lat, float)]


@dataclass
class _Parts:
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


def extract_city(city: str, ex: OsmExtract, margin_m: float = MARGIN_M) -> _Parts:
    """Clip an :class:`OsmExtract` to ``city``'s polygon plus ``margin_m`` and build the tables.

    Raises
    ------
    ValueError
        No ``highway`` way reaches the (buffered) city polygon.
    """
    c = get_city(city)
    clip = _clip_area(c, margin_m)
    streets, refs = _street_table(ex.ways, clip)
    if not len(streets):
        raise ValueError(f"no highway way of the OSM file lies inside the boundary of {c.key!r} (plus {margin_m:g} m): "
                         f"the file has {ex.n_highway_ways} highway ways in all; is it the right extract?")
    canon = canonical_names(streets)
    streets.insert(2, "gazetteer_name", streets["name"].map(canon).fillna("").astype(str))
    inter = _intersections(streets, refs)
    aliases = _alias_table(c.key, streets)
    adr, poi = _points_table(ex, clip, aliases)
    return _Parts(streets, inter, aliases, adr, poi, _buildings(ex, clip))


def _write_layers(folder: Path, parts: _Parts) -> dict[str, int]:
    import geopandas as gpd

    lay = folder / "layers"
    lay.mkdir(exist_ok=True)
    for f in ("buildings", "transit_stops", "bars", "police_stations"):
        (lay / f"{f}.geojson").unlink(missing_ok=True)
    counts = {}
    b = parts.buildings
    if len(b):
        b.to_file(lay / "buildings.geojson", driver="GeoJSON")
    counts["buildings"] = len(b)
    poi = parts.pois.drop_duplicates(["osm_type", "osm_id"])  # one feature per object (first name)
    specs = {"transit_stops": (("transit_stop",), "stop_id"), "bars": (("bar", "pub", "liquor_shop"), "bar_id"),
             "police_stations": (("police",), "station_id")}
    for name, (kinds, idcol) in specs.items():
        d = poi[poi["kind"].isin(kinds)].reset_index(drop=True)
        if not len(d):
            counts[name] = 0
            continue
        cols = {idcol: np.arange(len(d)), "name": d["name"].to_numpy(object)}
        if name == "bars":
            cols["kind"] = np.where(d["kind"] == "liquor_shop", "liquor_shop", "bar")
        cols["osm_type"], cols["osm_id"] = d["osm_type"].to_numpy(object), d["osm_id"].to_numpy(np.int64)
        gpd.GeoDataFrame(cols, geometry=shapely.points(d["lon"], d["lat"]), crs=4326).to_file(
            lay / f"{name}.geojson", driver="GeoJSON")
        counts[name] = len(d)
    return counts


def one_point_per_address(adr: pd.DataFrame, city: City) -> pd.DataFrame:
    """One row per ``(street, house)``: where several OSM objects carry one address (a building and
    its entrances, several entrance nodes), the medoid of their points (the point with the least
    summed distance to the others), so the gazetteer's point lies among them, not at an arbitrary one.
    An end of a range (``from_range``) yields to an object that carries the number itself."""
    a = adr.reset_index(drop=True)
    if "from_range" in a.columns:
        explicit = set(zip(a.loc[~a["from_range"], "street"], a.loc[~a["from_range"], "house"], strict=True))
        drop = a["from_range"].to_numpy(bool) & np.array([k in explicit for k in zip(a["street"], a["house"],
                                                                                        strict=True)], bool)
        a = a[~drop].reset_index(drop=True)
    x, y = city.to_metric(a["lon"].to_numpy(float), a["lat"].to_numpy(float))
    a["_x"], a["_y"] = np.asarray(x, float), np.asarray(y, float)
    keep = []
    for _k, ix in a.groupby(["street", "house"], sort=False).indices.items():
        if len(ix) == 1:
            keep.append(ix[0])
            continue
        px, py = a["_x"].to_numpy()[ix], a["_y"].to_numpy()[ix]
        d = np.hypot(px[:, None] - px[None, :], py[:, None] - py[None, :]).sum(1)
        keep.append(ix[int(np.argmin(d))])
    return a.loc[sorted(keep), ["street", "house", "lat", "lon"]].reset_index(drop=True)


def import_osm(city: str, path: str | Path, margin_m: float = MARGIN_M, progress=None) -> dict:
    """Import an OSM extract into a user city's folder and rebuild its gazetteer.

    Parameters
    ----------
    city : str
        Key of a user city (``qauipsiz city add``); shipped cities keep their shipped files.
    path : path
        ``.osm.pbf``, ``.osm`` XML or Overpass JSON.
    margin_m : float
        Objects within this many metres outside the city polygon are kept too.
    progress : callable, optional
        Called with one-line progress messages.

    Returns
    -------
    dict
        ``city, file, ways (in the file), highway_ways (in the file), streets (highway ways
        kept), named_streets, network_ways, walking_ways, intersections, address_points,
        addresses_in_gazetteer, pois, buildings, layers, gazetteer_streets, folder``.

    Raises
    ------
    ValueError
        Not a user city, unreadable file, or no highway way inside the boundary.
    """
    from qauipsiz.hotspot import streets as streets_mod
    from qauipsiz.hotspot.geocode.gazetteer import build_gazetteer, shipped_dir
    from qauipsiz.hotspot.paths import sha256_file

    say = progress or (lambda _m: None)
    c = get_city(city)
    if not c.user:
        raise ValueError(f"city {c.key!r} is shipped with qauipsiz: its streets and gazetteer are shipped files. "
                         "Register your own city with 'qauipsiz city add KEY --boundary FILE' and import into it")
    say(f"reading {path}")
    ex = read_osm(path, bbox=_clip_area(c, margin_m).bounds)
    say(f"{ex.n_ways:,} ways ({ex.n_highway_ways:,} highway), {len(ex.nodes):,} tagged nodes, "
        f"{len(ex.areas):,} areas; clipping to {c.key}")
    parts = extract_city(c.key, ex, margin_m)
    folder = Path(c.folder)
    st = parts.streets
    st.to_parquet(folder / "streets.parquet", index=False)
    named = st[st["gazetteer_name"] != ""]
    js = {"streets": [{"name": n, "way_id": int(w), "points": [{"lat": float(q[1]), "lng": float(q[0])}
                                                               for q in _densify(shapely.get_coordinates(g), c)]}
                      for n, w, g in zip(named["gazetteer_name"], named["way_id"], named.geometry.values, strict=True)],
          "attribution": "© OpenStreetMap contributors (ODbL 1.0)"}
    streets_mod.streets_path(c.key).write_text(json.dumps(js, ensure_ascii=False), encoding="utf-8")
    streets_mod.intersections_path(c.key).write_text(json.dumps(parts.intersections, ensure_ascii=False),
                                                      encoding="utf-8")
    ap = folder / "aliases.csv"
    parts.aliases.to_csv(ap, index=False)
    parts.addresses.to_parquet(folder / "addresses.parquet", index=False)
    parts.pois.to_parquet(folder / "pois.parquet", index=False)
    layer_counts = _write_layers(folder, parts)
    say(f"{len(st):,} highway ways, {int((~parts.addresses['from_range']).sum()):,} address points, "
        f"{parts.pois[['osm_type', 'osm_id']].drop_duplicates().shape[0]:,} POIs, {len(parts.buildings):,} buildings; "
        "building the gazetteer")
    _clear_caches()
    named_pois = parts.pois.loc[parts.pois["name"] != "", ["name", "kind", "lat", "lon"]]
    gaz = build_gazetteer(c.key, streets=streets_mod.streets_path(c.key),
                          intersections=streets_mod.intersections_path(c.key),
                          addresses=one_point_per_address(parts.addresses, c) if len(parts.addresses) else None,
                          pois=named_pois if len(named_pois) else None,
                          aliases=ap)
    gaz.save(shipped_dir(c.key))
    _clear_caches()
    net = streets_mod.load_streets(c.key)
    summary = {
        "city": c.key, "file": str(Path(path).resolve()), "sha256": sha256_file(path), "margin_m": margin_m,
        "ways": ex.n_ways, "highway_ways": ex.n_highway_ways, "streets": len(st),
        "named_streets": int((st["name"] != "").sum()), "network_ways": len(net),
        "walking_ways": int(st["highway"].isin(WALK_ONLY).sum()),
        "intersections": sum(len(v) for v in parts.intersections.values()),
        "address_points": int((~parts.addresses["from_range"]).sum()), "addresses_in_gazetteer": int(gaz.meta["counts"]["addresses"]),
        "pois": int(parts.pois[["osm_type", "osm_id"]].drop_duplicates().shape[0]),
        "pois_in_gazetteer": int(gaz.meta["counts"]["pois"]),
        "buildings": len(parts.buildings), "layers": layer_counts,
        "gazetteer_streets": int(gaz.meta["counts"]["streets"]), "folder": str(folder),
        "attribution": "© OpenStreetMap contributors (ODbL 1.0)",
    }
    (folder / "osm_import.json").write_text(json.dumps(summary, ensure_ascii=False, indent=1), encoding="utf-8")
    return summary


WALK_ONLY = frozenset({"footway", "path", "pedestrian", "steps", "living_street", "corridor", "bridleway", "track",
                       "cycleway"})
"""``highway`` values of ways meant for walking (the walking edges a street-only file lacks)."""


def _clear_caches() -> None:
    """Forget cached streets, networks and geocoders (a re-import replaces the city's files)."""
    from qauipsiz.hotspot import network, streets
    from qauipsiz.hotspot.geocode import matcher

    streets.load_streets.cache_clear()
    streets.load_intersections.cache_clear()
    network.load_network.cache_clear()
    clear = getattr(getattr(matcher, "_for_city", None), "cache_clear", None)
    if clear is not None:
        clear()
