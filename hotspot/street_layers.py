"""Street and address layers of a user city from GeoPackage, GeoJSON, Shapefile, CSV (WKT) or street JSON.

The way :func:`qauipsiz.hotspot.osm.import_osm` imports an OpenStreetMap extract, but from a
city's own GIS layers, with a column mapping:

* :func:`import_streets` reads a line layer (any vector format pyogrio reads; a CSV with a WKT
  column; or the shipped ``{"streets": [{"name", "points"}]}`` JSON), keeps the lines that reach
  the city polygon plus a margin, and writes the same files as the OSM import
  (``streets.parquet``, ``streets.json``, ``intersections.json``, ``aliases.csv``), then rebuilds
  the city's gazetteer.  Intersections come from the geometry (lines of different names that
  cross or come within :data:`TOUCH_M` metres), since a GIS layer has no shared node ids.
* :func:`import_addresses` reads a point (or polygon: its centroid) layer with a street and a
  house-number column into ``addresses.parquet`` and rebuilds the gazetteer.

Both keep what the other imports (and the POIs of an earlier OSM import): the gazetteer is always
rebuilt from everything in the city's folder (:func:`qauipsiz.hotspot.geocode.sources.user_city_extras`).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from qauipsiz.hotspot.cities import City, get_city
from qauipsiz.hotspot.osm_tables import (
    MARGIN_M,
    _alias_table,
    canonical_names,
    clip_area,
    house_numbers,
)

STREET_FIELDS = {
    "name": ("name",),
    "name_kk": ("name:kk", "name_kk"),
    "name_ru": ("name:ru", "name_ru"),
    "old_name": ("old_name",),
    "highway": ("highway",),
}
"""Mapped street fields and the column names looked for when a field is not mapped explicitly."""

ADDRESS_FIELDS = {
    "street": ("addr:street", "addr_street", "street"),
    "house": ("addr:housenumber", "addr_housenumber", "housenumber", "house"),
}
"""Mapped address fields and the column names looked for when a field is not mapped explicitly."""

WKT_COLUMNS = ("geometry", "geometry_wkt", "wkt", "WKT", "geom", "the_geom")
"""Column names tried for the WKT geometry of a CSV layer when ``geometry_col`` is not given."""

TOUCH_M = 1.0
"""Lines of different names closer than this (metres) meet at an intersection."""


def read_layer(path: str | Path, layer: str | None = None, geometry_col: str | None = None):
    """Read one vector layer into a GeoDataFrame in EPSG:4326 (no CRS in the file: WGS84).

    Parameters
    ----------
    path : path
        GeoPackage, GeoJSON, Shapefile, … (anything pyogrio reads), or a CSV whose geometry is a
        WKT column (``geometry_col``, default one of :data:`WKT_COLUMNS`).
    layer : str, optional
        Layer name of a multi-layer file (GeoPackage); default the first layer.
    geometry_col : str, optional
        WKT column of a CSV.

    Raises
    ------
    ValueError
        Missing or unreadable file, unknown layer (naming the file's layers), or a CSV without a
        WKT column.
    """
    import pyogrio

    p = Path(path)
    if not p.exists():
        raise ValueError(f"{p}: file does not exist")
    try:
        layers = [str(x[0]) for x in pyogrio.list_layers(p)]
    except Exception as e:  # pyogrio raises its own error types for unreadable files
        raise ValueError(f"{p}: not a readable vector file ({e})") from e
    if layer is not None and layer not in layers:
        raise ValueError(f"{p}: no layer {layer!r}; the file has: {', '.join(layers)}")
    opts = {}
    if p.suffix.lower() == ".csv":
        opts = {"GEOM_POSSIBLE_NAMES": geometry_col or ",".join(WKT_COLUMNS), "KEEP_GEOM_COLUMNS": "NO"}
    try:
        gdf = pyogrio.read_dataframe(p, layer=layer, **opts)
    except Exception as e:
        raise ValueError(f"{p}: not a readable vector file ({e})") from e
    if not hasattr(gdf, "geometry") or gdf.geometry.isna().all():
        cols = ", ".join(map(str, gdf.columns))
        raise ValueError(f"{p}: no geometry read; a CSV needs a WKT column (give it with --geometry-col); "
                         f"columns: {cols}")
    return gdf.set_crs(4326) if gdf.crs is None else gdf.to_crs(4326)


def read_layer_columns(path, layer: str | None = None, geometry_col: str | None = None) -> list[str]:
    """Attribute column names of a layer (a street JSON: ``name``)."""
    p = Path(path)
    if p.suffix.lower() == ".json" and _is_street_json(p):
        return ["name"]
    src = read_layer(p, layer, geometry_col)
    return [str(c) for c in src.columns if c != src.geometry.name]


def resolve_columns(gdf, fields: dict, given: dict, path) -> dict[str, str | None]:
    """Column of the layer for each field: the one given (it must exist) or the first default found.

    Raises
    ------
    ValueError
        A given column is not in the layer: names it and lists the layer's columns.
    """
    have = [str(c) for c in gdf.columns if c != gdf.geometry.name]
    out: dict[str, str | None] = {}
    for f, defaults in fields.items():
        g = given.get(f)
        if g is not None:
            if g not in have:
                flag = "--" + f.replace("_", "-") + "-col"
                raise ValueError(f"{path}: column {g!r} ({flag}) does not exist; the layer's columns are: "
                                 f"{', '.join(have)}")
            out[f] = g
        else:
            out[f] = next((c for c in defaults if c in have), None)
    return out


def _text(gdf, col: str | None) -> np.ndarray:
    if col is None:
        return np.full(len(gdf), "", dtype=object)
    s = gdf[col].astype(object).where(gdf[col].notna(), "")
    return s.astype(str).str.strip().to_numpy(object)


def read_street_layer(path: str | Path, layer: str | None = None, columns: dict | None = None,
                      geometry_col: str | None = None, epsg: int | None = None):
    """Street lines of a layer in the OSM import's columns.

    Returns a GeoDataFrame (EPSG:4326, one row per line part) with ``way_id`` (the feature's row
    in the layer), ``name, name_kk, name_ru, old_name, alt_name, highway, area`` (strings, ``""``
    when unmapped) and LineString geometry; ``name`` falls back to ``name_kk``, then ``name_ru``,
    when empty.  A ``.json`` file in the shipped street format (``{"streets": [{"name",
    "points": [{"lat","lng"}]}]}``) is read with :func:`qauipsiz.hotspot.streets.streets_from_json`.

    Parameters
    ----------
    columns : dict, optional
        ``{field: column}`` for the fields of :data:`STREET_FIELDS`; unmapped fields take the
        first of their default column names present in the layer.
    epsg : int, optional
        Metric CRS in which a street JSON's lines are split at jumps (> 250 m between consecutive
        points); default the UTM zone of its first point.

    Raises
    ------
    ValueError
        Unreadable file, a mapped column that does not exist, or no line geometry in the layer.
    """
    import geopandas as gpd

    p = Path(path)
    if p.suffix.lower() == ".json" and _is_street_json(p):
        from qauipsiz.hotspot.streets import streets_from_json

        if epsg is None:
            from qauipsiz.hotspot.cities import utm_epsg

            first = json.loads(p.read_text(encoding="utf-8"))["streets"][0]["points"][0]
            epsg = utm_epsg(first["lng"], first["lat"])
        g = streets_from_json(p, epsg)
        if columns and any(v is not None and v != "name" for v in columns.values()):
            raise ValueError(f"{p}: a street JSON has only 'name' and 'points'; no column mapping applies")
        cols = {"name": g["name"].astype(str).to_numpy(object)}
        way_id = g["street_id"].to_numpy(np.int64)
        geoms = g.geometry.values
    else:
        src = read_layer(p, layer, geometry_col)
        cols_of = resolve_columns(src, STREET_FIELDS, columns or {}, p)
        kinds = src.geom_type.fillna("none")
        line = kinds.isin(["LineString", "MultiLineString"]).to_numpy()
        if not line.any():
            found = ", ".join(f"{k} {n}" for k, n in kinds.value_counts().items())
            raise ValueError(f"{p}: the layer has no line geometries (found {found}); streets need LineString "
                             "or MultiLineString features")
        src = src[line].reset_index(names="_row")
        cols = {f: _text(src, c) for f, c in cols_of.items()}
        geoms, ix = shapely.get_parts(src.geometry.values, return_index=True)
        cols = {f: v[ix] for f, v in cols.items()}
        way_id = src["_row"].to_numpy(np.int64)[ix]
    n = len(geoms)
    out = {"way_id": way_id}
    for f in ("name", "name_kk", "name_ru", "old_name"):
        out[f] = cols.get(f, np.full(n, "", dtype=object))
    main = out["name"].copy()
    for f in ("name_kk", "name_ru"):
        main = np.where(main == "", out[f], main)
    out["name"] = main
    out["alt_name"] = np.full(n, "", dtype=object)
    out["highway"] = cols.get("highway", np.full(n, "", dtype=object))
    out["area"] = np.zeros(n, bool)
    g = gpd.GeoDataFrame(out, geometry=np.asarray(geoms), crs=4326)
    return g[shapely.get_num_coordinates(g.geometry.values) >= 2].reset_index(drop=True)


def _is_street_json(p: Path) -> bool:
    with p.open("rb") as f:
        head = f.read(4096).decode("utf-8", errors="replace")
    return '"streets"' in head


def geometric_intersections(streets, city: City, touch_m: float = TOUCH_M) -> dict:
    """``{street: [{"crossroad", "lat", "lng"}]}`` where lines of different gazetteer names cross or
    come within ``touch_m`` metres (the intersection format of the shipped files)."""
    named = streets[streets["gazetteer_name"] != ""]
    if not len(named):
        return {}
    geoms = named.to_crs(city.epsg).geometry.values
    names = named["gazetteer_name"].to_numpy(object)
    a, b = shapely.STRtree(geoms).query(geoms, predicate="dwithin", distance=touch_m)
    keep = (a < b) & (names[a] != names[b])
    a, b = a[keep], b[keep]
    if not len(a):
        return {}
    inter = shapely.intersection(geoms[a], geoms[b])
    near = shapely.centroid(shapely.shortest_line(geoms[a], geoms[b]))
    parts, pix = shapely.get_parts(np.where(shapely.is_empty(inter), near, inter), return_index=True)
    pts = shapely.centroid(parts)
    lon, lat = city.to_wgs84(shapely.get_x(pts), shapely.get_y(pts))
    out: dict[str, list] = {}
    seen = set()
    for i, x, y in zip(pix, np.asarray(lon, float), np.asarray(lat, float), strict=True):
        s, o = names[a[i]], names[b[i]]
        for u, v in ((s, o), (o, s)):
            k = (u, v, round(x, 6), round(y, 6))
            if k not in seen:
                seen.add(k)
                out.setdefault(u, []).append({"crossroad": v, "lat": y, "lng": x})
    return out


def import_streets(city: str, path: str | Path, layer: str | None = None, columns: dict | None = None,
                   geometry_col: str | None = None, margin_m: float = MARGIN_M, progress=None) -> dict:
    """Import a street line layer into a user city's folder and rebuild its network and gazetteer.

    Parameters
    ----------
    city : str
        Key of a user city (``qauipsiz city add``).
    path : path
        Line layer (GeoPackage, GeoJSON, Shapefile, CSV with WKT) or the shipped street JSON.
    layer, columns, geometry_col
        See :func:`read_street_layer`.
    margin_m : float
        Lines reaching this many metres outside the city polygon are kept too.
    progress : callable, optional
        Called with one-line progress messages.

    Returns
    -------
    dict
        ``city, file, sha256, columns, features (lines in the layer), streets (kept), named_streets,
        network_ways, intersections, aliases, gazetteer_streets, addresses_in_gazetteer,
        pois_in_gazetteer, folder``.

    Raises
    ------
    ValueError
        Not a user city, unreadable layer, unknown column, no lines, or no line inside the boundary.
    """
    from qauipsiz.hotspot.osm import rebuild_gazetteer, write_street_files
    from qauipsiz.hotspot.paths import sha256_file
    from qauipsiz.hotspot.streets import load_streets

    say = progress or (lambda _m: None)
    c = _user_city(city)
    say(f"reading {path}")
    g = read_street_layer(path, layer, columns, geometry_col, epsg=c.epsg)
    n_all = len(g)
    clip = clip_area(c, margin_m)
    g = g[shapely.intersects(clip, g.geometry.values)].reset_index(drop=True)
    if not len(g):
        raise ValueError(f"{path}: no line of the layer lies inside the boundary of {c.key!r} (plus {margin_m:g} m); "
                         f"the layer has {n_all} lines; is it the right file (and CRS)?")
    if not (g["name"] != "").any():
        have = ", ".join(str(c) for c in read_layer_columns(path, layer, geometry_col))
        raise ValueError(f"{path}: no line has a street name (name column: {(columns or {}).get('name') or 'name'}); "
                         f"geocoding needs names: give the name column with --name-col; the layer's columns are: {have}")
    canon = canonical_names(g)
    g.insert(2, "gazetteer_name", g["name"].map(canon).fillna("").astype(str))
    say(f"{len(g):,} of {n_all:,} lines inside {c.key}; finding intersections")
    inter = geometric_intersections(g, c)
    aliases = _alias_table(c.key, g)
    aliases["kind"] = "layer"
    aliases["source"] = f"{Path(path).name} (name, name_kk, name_ru, old_name columns)"
    write_street_files(c, g, inter, aliases, attribution=f"street layer {Path(path).name}")
    say("building the gazetteer")
    gaz = rebuild_gazetteer(c)
    cols_used = {k: v for k, v in (columns or {}).items() if v is not None}
    summary = {
        "city": c.key, "file": str(Path(path).resolve()), "sha256": sha256_file(path), "layer": layer,
        "columns": cols_used, "features": n_all, "streets": len(g), "named_streets": int((g["name"] != "").sum()),
        "network_ways": len(load_streets(c.key)), "intersections": sum(len(v) for v in inter.values()),
        "aliases": len(aliases), **_gaz_counts(gaz), "folder": str(c.folder),
    }
    (Path(c.folder) / "street_import.json").write_text(json.dumps(summary, ensure_ascii=False, indent=1),
                                                       encoding="utf-8")
    return summary


def _gaz_counts(gaz) -> dict:
    k = gaz.meta["counts"]
    return {"gazetteer_streets": int(k["streets"]), "addresses_in_gazetteer": int(k["addresses"]),
            "pois_in_gazetteer": int(k["pois"])}


def _user_city(city: str) -> City:
    c = get_city(city)
    if not c.user:
        raise ValueError(f"city {c.key!r} is shipped with qauipsiz: its streets and gazetteer are shipped files. "
                         "Register your own city with 'qauipsiz city add KEY --boundary FILE' and import into it")
    return c


def read_address_layer(path: str | Path, layer: str | None = None, columns: dict | None = None,
                       geometry_col: str | None = None) -> pd.DataFrame:
    """Address points of a layer: ``street, house, lat, lon, osm_type ("layer"), osm_id (row),
    from_range``; polygons give their centroid; a house value listing several numbers or a range
    gives one row per number (:func:`qauipsiz.hotspot.osm_tables.house_numbers`); rows without a
    street or house are dropped.

    Raises
    ------
    ValueError
        Unreadable layer, a mapped column that does not exist, no street or house column, or no
        point/polygon geometry.
    """
    p = Path(path)
    src = read_layer(p, layer, geometry_col)
    cols = resolve_columns(src, ADDRESS_FIELDS, columns or {}, p)
    for f, c in cols.items():
        if c is None:
            have = ", ".join(str(x) for x in src.columns if x != src.geometry.name)
            raise ValueError(f"{p}: no {f} column found (tried {', '.join(ADDRESS_FIELDS[f])}); give it with "
                             f"--{f}-col; the layer's columns are: {have}")
    kinds = src.geom_type.fillna("none")
    ok = kinds.isin(["Point", "MultiPoint", "Polygon", "MultiPolygon"]).to_numpy()
    if not ok.any():
        found = ", ".join(f"{k} {n}" for k, n in kinds.value_counts().items())
        raise ValueError(f"{p}: the layer has no point or polygon geometries (found {found})")
    src = src[ok]
    pts = shapely.centroid(src.geometry.values)
    street, house = _text(src, cols["street"]), _text(src, cols["house"])
    rows = []
    for i, (s, h, x, y) in enumerate(zip(street, house, shapely.get_x(pts), shapely.get_y(pts), strict=True)):
        if s and h:
            rows += [(s, n, float(y), float(x), "layer", int(src.index[i]), r) for n, r in house_numbers(h)]
    return pd.DataFrame(rows, columns=["street", "house", "lat", "lon", "osm_type", "osm_id", "from_range"])


def import_addresses(city: str, path: str | Path, layer: str | None = None, columns: dict | None = None,
                     geometry_col: str | None = None, margin_m: float = MARGIN_M, progress=None) -> dict:
    """Import an address point layer into a user city (replacing its ``addresses.parquet``, e.g. an
    OSM import's) and rebuild the gazetteer.  Street names go through the city's alias table.

    Returns
    -------
    dict
        ``city, file, sha256, columns, features, address_points (inside the boundary),
        addresses_in_gazetteer (on a street the gazetteer knows), gazetteer_streets, folder``.

    Raises
    ------
    ValueError
        Not a user city, a city without streets yet, unreadable layer, unknown column, or no
        address inside the boundary.
    """
    from qauipsiz.hotspot.osm import rebuild_gazetteer
    from qauipsiz.hotspot.paths import sha256_file
    from qauipsiz.hotspot.streets import streets_path

    say = progress or (lambda _m: None)
    c = _user_city(city)
    if not streets_path(c.key).exists():
        raise ValueError(f"city {c.key!r} has no streets yet: addresses are matched to streets, so import them first "
                         f"(qauipsiz city import-streets {c.key} FILE, or import-osm)")
    say(f"reading {path}")
    a = read_address_layer(path, layer, columns, geometry_col)
    n_all = int((~a["from_range"]).sum())
    clip = clip_area(c, margin_m)
    a = a[shapely.contains_xy(clip, a["lon"].to_numpy(float), a["lat"].to_numpy(float))].reset_index(drop=True)
    if not len(a):
        raise ValueError(f"{path}: no address point of the layer (with a street and a house number) lies inside "
                         f"the boundary of {c.key!r} (plus {margin_m:g} m); the layer has {n_all}")
    ap = Path(c.folder) / "aliases.csv"
    if ap.exists():
        al = pd.read_csv(ap, dtype=str, keep_default_na=False)
        to = al.drop_duplicates("old_name", keep=False).set_index("old_name")["new_name"].to_dict()
        a["street"] = a["street"].map(lambda s: to.get(s, s))
    a.to_parquet(Path(c.folder) / "addresses.parquet", index=False)
    say(f"{int((~a['from_range']).sum()):,} address points inside {c.key}; building the gazetteer")
    gaz = rebuild_gazetteer(c)
    summary = {"city": c.key, "file": str(Path(path).resolve()), "sha256": sha256_file(path), "layer": layer,
               "columns": {k: v for k, v in (columns or {}).items() if v is not None}, "features": n_all,
               "address_points": int((~a["from_range"]).sum()), **_gaz_counts(gaz), "folder": str(c.folder)}
    (Path(c.folder) / "address_import.json").write_text(json.dumps(summary, ensure_ascii=False, indent=1),
                                                        encoding="utf-8")
    return summary
