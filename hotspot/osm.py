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

import json
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from qauipsiz.hotspot.cities import City, get_city
from qauipsiz.hotspot.geocode.sources import one_point_per_address  # noqa: F401 -- public here before
from qauipsiz.hotspot.osm_read import read_osm
from qauipsiz.hotspot.osm_tables import MARGIN_M, OsmTables, clip_area, extract_city


def _densify(xy: np.ndarray, city: City, step_m: float = 100.0) -> np.ndarray:
    """Insert vertices so that consecutive ones are at most ``step_m`` metres apart (lon/lat)."""
    x, y = city.to_metric(xy[:, 0], xy[:, 1])
    line = shapely.linestrings(np.c_[x, y])
    dense = shapely.get_coordinates(shapely.segmentize(line, step_m))
    lon, lat = city.to_wgs84(dense[:, 0], dense[:, 1])
    return np.c_[np.asarray(lon, float), np.asarray(lat, float)]


def _write_layers(folder: Path, parts: OsmTables) -> dict[str, int]:
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



def write_street_files(city: City, streets, intersections: dict, aliases: pd.DataFrame,
                       attribution: str = "© OpenStreetMap contributors (ODbL 1.0)") -> None:
    """Write a user city's street files: ``streets.parquet`` (every line, the network's source),
    ``streets.json`` (named lines densified to a vertex every 100 m, the gazetteer's source),
    ``intersections.json`` and ``aliases.csv``; used by the OSM and the street-layer imports."""
    from qauipsiz.hotspot import streets as streets_mod

    folder = Path(city.folder)
    streets.to_parquet(folder / "streets.parquet", index=False)
    named = streets[streets["gazetteer_name"] != ""]
    js = {"streets": [{"name": n, "way_id": int(w), "points": [{"lat": float(q[1]), "lng": float(q[0])}
                                                               for q in _densify(shapely.get_coordinates(g), city)]}
                      for n, w, g in zip(named["gazetteer_name"], named["way_id"], named.geometry.values, strict=True)],
          "attribution": attribution}
    streets_mod.streets_path(city.key).write_text(json.dumps(js, ensure_ascii=False), encoding="utf-8")
    streets_mod.intersections_path(city.key).write_text(json.dumps(intersections, ensure_ascii=False),
                                                         encoding="utf-8")
    aliases.to_csv(folder / "aliases.csv", index=False)


def rebuild_gazetteer(city: City):
    """Rebuild and save a user city's gazetteer from everything in its folder (streets, aliases,
    addresses, POIs: :func:`qauipsiz.hotspot.geocode.sources.user_city_extras`), forgetting cached
    streets, networks and geocoders before and after; returns the :class:`Gazetteer`."""
    from qauipsiz.hotspot.geocode.gazetteer import build_gazetteer, shipped_dir

    _clear_caches()
    gaz = build_gazetteer(city.key)
    gaz.save(shipped_dir(city.key))
    _clear_caches()
    return gaz


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
    from qauipsiz.hotspot.paths import sha256_file

    say = progress or (lambda _m: None)
    c = get_city(city)
    if not c.user:
        raise ValueError(f"city {c.key!r} is shipped with qauipsiz: its streets and gazetteer are shipped files. "
                         "Register your own city with 'qauipsiz city add KEY --boundary FILE' and import into it")
    say(f"reading {path}")
    ex = read_osm(path, bbox=clip_area(c, margin_m).bounds)
    say(f"{ex.n_ways:,} ways ({ex.n_highway_ways:,} highway), {len(ex.nodes):,} tagged nodes, "
        f"{len(ex.areas):,} areas; clipping to {c.key}")
    parts = extract_city(c.key, ex, margin_m)
    folder = Path(c.folder)
    st = parts.streets
    write_street_files(c, st, parts.intersections, parts.aliases)
    parts.addresses.to_parquet(folder / "addresses.parquet", index=False)
    parts.pois.to_parquet(folder / "pois.parquet", index=False)
    layer_counts = _write_layers(folder, parts)
    say(f"{len(st):,} highway ways, {int((~parts.addresses['from_range']).sum()):,} address points, "
        f"{parts.pois[['osm_type', 'osm_id']].drop_duplicates().shape[0]:,} POIs, {len(parts.buildings):,} buildings; "
        "building the gazetteer")
    gaz = rebuild_gazetteer(c)
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
