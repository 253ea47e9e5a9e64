"""Reading OpenStreetMap files: ``.osm.pbf``/``.osm`` XML through pyosmium, Overpass JSON with a
small reader of its own.

:func:`read_osm` keeps, in an :class:`OsmExtract`, the ways, tagged nodes and areas the city
import (:mod:`qauipsiz.hotspot.osm`) needs: streets, buildings, address points and POIs
(:func:`poi_kind`).

Data © OpenStreetMap contributors, ODbL 1.0.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import shapely

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

