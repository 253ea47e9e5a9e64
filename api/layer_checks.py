"""City-layer row checks shared by every path that stores layers (``qauipsiz ingest-layers``, the
pipeline, ``Store.import_layers_dir``, the demo city's first ingest).

A layer file of a known kind (:data:`qauipsiz.cpted.layers.SCHEMAS`: lamps, cameras, transit stops,
police stations, …) is read with common column synonyms (``id`` → ``stop_id``, ``stop_name`` →
``name``: real exports rarely use the schema's names), and every row is checked:

* geometry missing, empty or of the wrong kind → ``bad_geometry``;
* coordinates not in decimal degrees → ``not_wgs84``;
* nowhere inside the city polygon plus :data:`~qauipsiz.hotspot.geocode.coords.CITY_TOLERANCE_M`
  → ``outside_city``;
* a value the schema refuses (not a number, out of range, not one of the choices) → ``bad_value``
  naming the field.

The other rows are stored (the layer is replaced), so one bad lamp no longer refuses the whole
inventory.  Layers of other names (``beats`` …) are stored as before after the geometry and city
checks.  A required column missing from the whole file is still an error for that file.

This module imports neither the store nor ingestion (``api.store`` may not import ``api.ingest``:
the import-linter contract in ``pyproject.toml``); it only needs an object with
``save_layer(city, name, gdf) -> int``.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from qauipsiz.cpted.layers import SCHEMAS, validate_layer
from qauipsiz.hotspot.cities import get_city
from qauipsiz.hotspot.geocode.coords import city_zone

LAYER_SUFFIXES = (".geojson", ".json", ".gpkg", ".csv", ".xlsx", ".parquet")
TABLE_SUFFIXES = (".csv", ".xlsx", ".parquet")
LON_COLUMNS = ("lon", "lng", "longitude", "x", "долгота", "бойлық")
LAT_COLUMNS = ("lat", "latitude", "y", "широта", "ендік")
WKT_COLUMNS = ("geometry", "geometry_wkt", "wkt", "geom", "the_geom")
NAME_SYNONYMS = ("name", "stop_name", "station_name", "bar_name", "name_ru", "name:ru", "name_kk", "name:kk",
                 "name_kz", "название", "атауы")
"""Columns read as a layer's ``name`` when it has none, first found wins."""
ID_SYNONYMS = ("id", "fid", "objectid", "osm_id")
"""Columns read as a layer's id field (``stop_id``, ``lamp_id`` …) when it has none."""
QUARANTINE_COLUMNS = ("layer", "row", "field", "reason", "message", "raw")
_FAIL = re.compile(r"row (\d+), field '([^']*)': (.*)$", re.S)
MAX_BAD_VALUES = 5000


def _rename_synonyms(name: str, gdf: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, dict[str, str]]:
    fields = SCHEMAS[name].fields
    low = {c.lower(): c for c in gdf.columns if c != gdf.geometry.name}
    renamed: dict[str, str] = {}
    id_field = next(iter(fields))
    if id_field.endswith("_id") and id_field not in low:
        src = next((low[s] for s in ID_SYNONYMS if s in low), None)
        if src is not None and pd.to_numeric(gdf[src], errors="coerce").notna().all():
            renamed[src] = id_field
    if "name" in fields and "name" not in low:
        src = next((low[s] for s in NAME_SYNONYMS if s in low), None)
        if src is not None:
            renamed[src] = "name"
    return (gdf.rename(columns=renamed) if renamed else gdf), renamed


def _geometry_problems(name: str, gdf: gpd.GeoDataFrame, city) -> tuple[np.ndarray, np.ndarray]:
    """Per row: reason code (or None) and field for geometry and city checks."""
    n = len(gdf)
    reason = np.full(n, None, dtype=object)
    geom = gdf.geometry.values
    missing = np.asarray(pd.isna(geom)) | shapely.is_empty(geom)
    reason[missing] = "bad_geometry"
    if name in SCHEMAS:
        want = {"Point": (0, 4), "LineString": (1, 5), "Polygon": (3, 6)}[SCHEMAS[name].geometry]
        wrong = ~np.isin(shapely.get_type_id(geom), want) & ~missing
        reason[wrong] = "bad_geometry"
    ok = reason == None  # noqa: E711 -- elementwise on an object array
    if ok.any():
        b = shapely.bounds(geom[ok])
        deg = (np.abs(b[:, [0, 2]]) <= 180).all(axis=1) & (np.abs(b[:, [1, 3]]) <= 90).all(axis=1)
        idx = np.flatnonzero(ok)
        reason[idx[~deg]] = "not_wgs84"
        good = idx[deg]
        if len(good):
            c = get_city(city) if isinstance(city, str) else city
            metric = gpd.GeoSeries(geom[good], crs=4326).to_crs(c.epsg).values
            inside = shapely.intersects(city_zone(c), metric)
            reason[good[~inside]] = "outside_city"
    return reason, np.where(reason == None, None, "geometry")  # noqa: E711


def check_layer(city, name: str, gdf: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, pd.DataFrame, dict]:
    """Rows of one layer file that can be stored, and those set aside.

    Parameters
    ----------
    city : str or City
        The city whose polygon (plus the 2 km tolerance) the features must meet.
    name : str
        Layer name (file stem), e.g. ``transit_stops``.
    gdf : GeoDataFrame
        The file as read (any CRS; none is taken as EPSG:4326).

    Returns
    -------
    good : GeoDataFrame
        EPSG:4326, the file's columns (synonyms renamed), bad rows removed, index 0..n-1.
    quarantine : DataFrame
        ``layer, row`` (0-based feature number in the file), ``field, reason, message, raw`` (the
        feature's attributes as JSON).
    renamed : dict
        Source column → schema field, for the report.

    Raises
    ------
    ValueError
        A required column missing from the file (names layer and field).
    """
    g = gdf.reset_index(drop=True)
    g = g.set_crs(4326) if g.crs is None else (g.to_crs(4326) if g.crs.to_epsg() != 4326 else g)
    renamed: dict[str, str] = {}
    if name in SCHEMAS:
        g, renamed = _rename_synonyms(name, g)
    reason, fld = _geometry_problems(name, g, city)
    msg = np.array([None if r is None else f"{r.replace('_', ' ')}" for r in reason], dtype=object)
    if name in SCHEMAS:
        rows = np.flatnonzero(reason == None)  # noqa: E711
        for _ in range(MAX_BAD_VALUES):
            if not len(rows):
                break
            try:
                validate_layer(name, g.iloc[rows])
                break
            except ValueError as e:
                m = _FAIL.search(str(e))
                if not m:  # a required column missing from the file: the whole file is refused
                    raise
                r = int(rows[int(m.group(1))])
                reason[r], fld[r], msg[r] = "bad_value", m.group(2), m.group(3)
                rows = rows[rows != r]
        else:
            raise ValueError(f"layer {name!r}: more than {MAX_BAD_VALUES} bad values; fix the file")
    bad = reason != None  # noqa: E711
    attrs = pd.DataFrame(g.drop(columns=g.geometry.name))
    raw = attrs[bad].to_json(orient="records", force_ascii=False, date_format="iso", default_handler=str)
    q = pd.DataFrame({"layer": name, "row": np.flatnonzero(bad), "field": fld[bad], "reason": reason[bad],
                      "message": msg[bad],
                      "raw": [json.dumps(x, ensure_ascii=False) for x in json.loads(raw)] if bad.any() else []},
                     columns=list(QUARANTINE_COLUMNS))
    good = g[~bad]
    if name in SCHEMAS:
        id_field = next(iter(SCHEMAS[name].fields))
        if id_field.endswith("_id") and id_field not in {c.lower() for c in good.columns}:
            good = good.assign(**{id_field: np.flatnonzero(~bad).astype(np.int64)})  # the file's row number
    return good.reset_index(drop=True), q, renamed


def _table_to_gdf(df: pd.DataFrame) -> gpd.GeoDataFrame:
    """A table with a WKT column or lon/lat columns → points/shapes in EPSG:4326; a row whose
    geometry cannot be read gets none (and is set aside as ``bad_geometry`` by :func:`check_layer`)."""
    cols = {str(c).strip().lower(): c for c in df.columns}
    wkt = next((cols[c] for c in WKT_COLUMNS if c in cols), None)
    if wkt is not None:
        txt = df[wkt].astype(str).to_numpy()
        geom = np.array([_wkt_or_none(t) for t in txt], dtype=object)
        return gpd.GeoDataFrame(df.drop(columns=[wkt]), geometry=gpd.GeoSeries(geom, crs=4326).values, crs=4326)
    lon = next((cols[c] for c in LON_COLUMNS if c in cols), None)
    lat = next((cols[c] for c in LAT_COLUMNS if c in cols), None)
    if lon is None or lat is None:
        raise ValueError(f"no geometry: need a WKT column ({', '.join(WKT_COLUMNS)}) or lon/lat columns "
                         f"({', '.join(LON_COLUMNS)} / {', '.join(LAT_COLUMNS)}); columns: {list(df.columns)}")
    x, y = (pd.to_numeric(df[c].astype(str).str.replace(",", ".", regex=False).str.strip(), errors="coerce")
            .to_numpy(float) for c in (lon, lat))
    ok = np.isfinite(x) & np.isfinite(y)
    geom = np.full(len(df), None, dtype=object)
    geom[ok] = shapely.points(x[ok], y[ok])
    return gpd.GeoDataFrame(df.drop(columns=[lon, lat]), geometry=gpd.GeoSeries(geom, crs=4326).values, crs=4326)


def _wkt_or_none(t: str):
    try:
        return shapely.from_wkt(t) if t and t.strip() and t.strip().lower() != "nan" else None
    except Exception:  # shapely raises several types on bad WKT; the row is set aside
        return None


def read_layer_file(path: Path) -> gpd.GeoDataFrame:
    """One layer file as a GeoDataFrame: GeoJSON/GeoPackage (any CRS), GeoParquet, or a CSV / XLSX /
    Parquet table with a WKT column or lon/lat columns (decimal degrees)."""
    suf = path.suffix.lower()
    if suf in (".geojson", ".json", ".gpkg"):
        return gpd.read_file(path)
    if suf == ".parquet":
        try:
            return gpd.read_parquet(path)
        except ValueError:  # plain Parquet without GeoParquet metadata
            return _table_to_gdf(pd.read_parquet(path))
    if suf == ".csv":
        return _table_to_gdf(pd.read_csv(path, sep=None, engine="python", dtype=str, keep_default_na=False,
                                         encoding="utf-8-sig"))
    return _table_to_gdf(pd.read_excel(path, dtype=str).fillna(""))


class LayerImport(dict):
    """What :func:`import_layers` did: a ``{layer: features stored}`` dict (what
    ``Store.import_layers_dir`` always returned), with the rows set aside and the reading notes.

    Attributes
    ----------
    quarantine : DataFrame
        The rows set aside, as :func:`check_layer` returns them (``layer, row, field, reason,
        message, raw``), all layers together.
    renamed : dict
        Layer → {source column: schema field}.
    skipped : dict
        File name → why it was not read as a layer (a table that is not named after a layer or
        has no geometry column).
    layers : dict
        Layer → the checked GeoDataFrame that was stored (EPSG:4326), for callers that analyse
        the same rows they stored.
    """

    def __init__(self, counts: dict[str, int], quarantine: pd.DataFrame, renamed: dict, skipped: dict,
                 layers: dict[str, gpd.GeoDataFrame]):
        super().__init__(counts)
        self.quarantine = quarantine
        self.renamed = renamed
        self.skipped = skipped
        self.layers = layers

    def quarantined(self) -> dict[str, dict[str, int]]:
        """Rows set aside per layer and reason: ``{layer: {reason: rows}}`` (empty when none)."""
        return {str(lay): {str(r): int(n) for r, n in g["reason"].value_counts().items()}
                for lay, g in self.quarantine.groupby("layer")}


def check_layers_dir(city, folder: str | Path) -> LayerImport:
    """Read and check every layer file of ``folder`` without storing anything (the ``--layers DIR``
    option of the analysis commands): the same rows :func:`import_layers` would store.

    A GeoPackage not named after a layer (``layers.gpkg``) contributes each of its layers whose
    name is a known layer (:data:`~qauipsiz.cpted.layers.SCHEMAS`).

    Returns
    -------
    LayerImport
        ``{layer: features kept}`` with ``.quarantine``, ``.renamed``, ``.skipped`` and ``.layers``.

    Raises
    ------
    ValueError
        A file that cannot be read (names the file), or a required column missing from a file
        (names the layer and field).
    """
    counts: dict[str, int] = {}
    parts = []
    renamed: dict[str, dict] = {}
    skipped: dict[str, str] = {}
    kept: dict[str, gpd.GeoDataFrame] = {}
    for name, gdf in _layer_files(Path(folder), skipped):
        good, q, ren = check_layer(city, name, gdf)  # its errors name the layer
        counts[name] = len(good)
        kept[name] = good
        parts.append(q)
        if ren:
            renamed[name] = ren
    quarantine = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=list(QUARANTINE_COLUMNS))
    return LayerImport(counts, quarantine, renamed, skipped, kept)


def _layer_files(folder: Path, skipped: dict[str, str]):
    """``(layer name, GeoDataFrame)`` for every layer file of ``folder``; files that are no layer go
    into ``skipped`` with the reason."""
    for p in sorted(folder.iterdir()):
        suf = p.suffix.lower()
        if not (suf in LAYER_SUFFIXES and p.is_file()):
            continue
        if suf in TABLE_SUFFIXES and p.stem not in SCHEMAS:
            # a table of another name (the demo's address_points.csv) is data, not a layer
            skipped[p.name] = (f"a table is read as a layer only under a layer name ({', '.join(SCHEMAS)}); "
                               "convert it to GeoJSON to store it under this name")
            continue
        if suf == ".gpkg" and p.stem not in SCHEMAS:
            import pyogrio

            inner = [str(x) for x in pyogrio.list_layers(p)[:, 0]]
            if len(inner) > 1 and any(x in SCHEMAS for x in inner):
                for lay in inner:
                    if lay in SCHEMAS:
                        yield lay, gpd.read_file(p, layer=lay)
                continue
        try:
            gdf = read_layer_file(p)
        except ValueError as e:
            if suf in (".geojson", ".json", ".gpkg", ".parquet") or not str(e).startswith("no geometry"):
                raise ValueError(f"{p.name}: {e}") from None
            skipped[p.name] = str(e)  # a table that is no layer
            continue
        yield p.stem, gdf


def import_layers(store, city: str, folder: str | Path) -> LayerImport:
    """Check and store every layer file of ``folder`` (:data:`LAYER_SUFFIXES`, see
    :func:`read_layer_file`) as a layer named after the file.

    Parameters
    ----------
    store : object
        Anything with ``save_layer(city, name, gdf) -> int`` (``api.store.Store`` or its layer
        repository).
    city : str
        City key; features must meet its polygon plus the 2 km tolerance.
    folder : path
        Folder of layer files.

    Returns
    -------
    LayerImport
        ``{layer: features stored}`` with ``.quarantine``, ``.renamed``, ``.skipped`` and ``.layers``.

    Raises
    ------
    ValueError
        A file that cannot be read (names the file), or a required column missing from a file
        (names the layer and field).
    """
    res = check_layers_dir(city, folder)
    for name, good in res.layers.items():
        res[name] = store.save_layer(city, name, good)
    return res
