"""City layers: fixed schemas and importers (GeoJSON, GeoPackage, CSV, XLSX) with row/field/reason errors.

The schemas are those of ``docs/architecture.md`` (what ``qauipsiz demo`` writes).  Every reader
returns a GeoDataFrame in EPSG:4326 whose columns are coerced to the schema's types; optional
fields missing from the file get their documented default.  Bad input raises ``ValueError`` whose
message names the layer, the row (0-based feature / data row), the field and the reason.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from qauipsiz.cpted.norms import lamp_classes

READ_SUFFIXES = (".geojson", ".json", ".gpkg", ".csv", ".xlsx")


@dataclass(frozen=True)
class Field:
    """One attribute of a layer schema.

    ``kind`` is ``int``, ``float``, ``bool``, ``str``; ``choices`` restricts string values;
    ``required`` fields must be present (column and non-null value) unless ``default`` applies;
    ``lo``/``hi`` bound numeric values (inclusive).
    """

    kind: str
    required: bool = False
    default: object = None
    choices: tuple = ()
    lo: float | None = None
    hi: float | None = None


@dataclass(frozen=True)
class LayerSchema:
    """Schema of one city layer: geometry kind (``Point``, ``LineString``, ``Polygon``) and fields."""

    name: str
    geometry: str
    fields: dict[str, Field] = field(default_factory=dict)


LANDUSE_KINDS = ("park", "yard", "playground", "parking", "garage_estate", "wasteland", "construction",
                 "market", "square", "sport")
ACCESS_KINDS = ("open", "intercom", "guarded", "locked")
CONTROLLED_ACCESS = ("intercom", "guarded", "locked")

SCHEMAS: dict[str, LayerSchema] = {s.name: s for s in [
    LayerSchema("lamps", "Point", {
        "lamp_id": Field("int"),
        "height_m": Field("float", lo=1.0, hi=60.0),
        "flux_lm": Field("float", lo=0.0, hi=500_000.0),
        "lamp_class": Field("str", default=""),
        "working": Field("bool", default=True),
    }),
    LayerSchema("cameras", "Point", {
        "camera_id": Field("int"),
        "bearing_deg": Field("float", required=True, lo=-360.0, hi=720.0),
        "fov_deg": Field("float", required=True, lo=1.0, hi=360.0),
        "resolution_px": Field("float", required=True, lo=100.0, hi=20_000.0),
        "height_m": Field("float", default=3.0, lo=0.5, hi=60.0),
        "owner": Field("str", default="private", choices=("public_cou", "private")),
        "status": Field("str", default="working", choices=("working", "broken")),
    }),
    LayerSchema("sos_buttons", "Point", {
        "sos_id": Field("int"),
        "status": Field("str", default="working", choices=("working", "broken")),
        "connected_cou": Field("bool", default=True),
    }),
    LayerSchema("buildings", "Polygon", {
        "building_id": Field("int"),
        "levels": Field("float", default=1.0, lo=0.0, hi=200.0),
        "active_ground_floor": Field("bool", default=False),
        "use": Field("str", default="residential", choices=("residential", "commercial", "public")),
    }),
    LayerSchema("entrances", "Point", {
        "entrance_id": Field("int"),
        "building_id": Field("int", default=-1),
        "access": Field("str", required=True, choices=ACCESS_KINDS),
        "main": Field("bool", default=True),
    }),
    LayerSchema("fences", "LineString", {
        "fence_id": Field("int"),
        "kind": Field("str", default="fence"),
    }),
    LayerSchema("landuse", "Polygon", {
        "landuse_id": Field("int"),
        "landuse": Field("str", required=True, choices=LANDUSE_KINDS),
        "fenced": Field("bool", default=False),
    }),
    LayerSchema("transit_stops", "Point", {"stop_id": Field("int"), "name": Field("str", default="")}),
    LayerSchema("bars", "Point", {
        "bar_id": Field("int"),
        "kind": Field("str", default="bar", choices=("bar", "liquor_shop")),
        "name": Field("str", default=""),
    }),
    LayerSchema("police_stations", "Point", {"station_id": Field("int"), "name": Field("str", default="")}),
    LayerSchema("blocks", "Polygon", {"block_id": Field("int"), "use": Field("str", default="")}),
]}
"""Layer name → schema.  File stems in a layer folder must match these names."""

_TRUE = {"true", "1", "yes", "y", "t", "да", "иә", "on"}
_FALSE = {"false", "0", "no", "n", "f", "нет", "жоқ", "off", ""}
_LON = ("lon", "lng", "longitude", "x", "долгота", "бойлық")
_LAT = ("lat", "latitude", "y", "широта", "ендік")


def _fail(layer: str, row, fld: str, reason: str) -> ValueError:
    return ValueError(f"layer {layer!r}, row {row}, field {fld!r}: {reason}")


def _coerce(layer: str, name: str, f: Field, s: pd.Series) -> pd.Series:
    """Coerce one column to the field's kind; raise on the first bad row."""
    text = not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s))
    missing = (s.isna() | (s.astype(str).str.strip() == "")) if text else s.isna()
    missing = missing.to_numpy(bool)
    if missing.any():
        if f.required:
            raise _fail(layer, int(np.flatnonzero(missing)[0]), name, "value is missing")
        if f.default is not None:
            s = s.astype(object).where(~missing, f.default)
        else:
            s = s.astype(object).where(~missing, None)
    if f.kind == "bool":
        if s.dtype == bool:
            return s
        txt = s.astype(str).str.strip().str.lower()
        bad = ~txt.isin(_TRUE | _FALSE)
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise _fail(layer, row, name, f"{s.iloc[row]!r} is not a boolean (true/false/1/0/yes/no)")
        return txt.isin(_TRUE)
    if f.kind in ("int", "float"):
        text = not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s))
        num = pd.to_numeric(s.astype(str).str.replace(",", ".", regex=False).str.strip()
                            if text else s, errors="coerce")
        bad = num.isna().to_numpy() & ~s.isna().to_numpy()
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise _fail(layer, row, name, f"{s.iloc[row]!r} is not a number")
        if f.lo is not None and (num < f.lo).any():
            row = int(np.flatnonzero((num < f.lo).to_numpy())[0])
            raise _fail(layer, row, name, f"{num.iloc[row]} is below the minimum {f.lo}")
        if f.hi is not None and (num > f.hi).any():
            row = int(np.flatnonzero((num > f.hi).to_numpy())[0])
            raise _fail(layer, row, name, f"{num.iloc[row]} is above the maximum {f.hi}")
        if f.kind == "int":
            if num.isna().any():
                return num.astype("Int64")
            return num.astype(np.int64)
        return num.astype(float)
    out = s.astype(str).str.strip()
    if f.choices:
        low = out.str.lower()
        bad = ~low.isin(f.choices)
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise _fail(layer, row, name, f"{s.iloc[row]!r} is not one of {', '.join(f.choices)}")
        out = low
    return out


def validate_layer(name: str, gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Check and coerce a layer against its schema.

    Parameters
    ----------
    name : str
        Layer name, a key of :data:`SCHEMAS`.
    gdf : GeoDataFrame
        The layer with a CRS (reprojected to EPSG:4326; no CRS is taken as EPSG:4326).

    Returns
    -------
    GeoDataFrame
        EPSG:4326, schema columns first (typed, defaults filled), extra columns kept, a fresh
        0-based index.  The id column is filled with 0..n-1 when absent.

    Raises
    ------
    ValueError
        Unknown layer, wrong/missing/empty geometry, missing required field or bad value; the message
        names the row, field and reason.  Lamps need ``height_m`` and either ``flux_lm`` or a known
        ``lamp_class`` (``cpted/norms/lamp_classes.csv``).
    """
    if name not in SCHEMAS:
        raise ValueError(f"unknown layer {name!r}; known layers: {', '.join(SCHEMAS)}")
    sch = SCHEMAS[name]
    gdf = gdf.reset_index(drop=True)
    if gdf.crs is None:
        gdf = gdf.set_crs(4326)
    elif gdf.crs.to_epsg() != 4326:
        gdf = gdf.to_crs(4326)
    geom = gdf.geometry.values
    gt = shapely.get_type_id(geom)
    want = {"Point": (0, 4), "LineString": (1, 5), "Polygon": (3, 6)}[sch.geometry]
    bad = ~np.isin(gt, want) | shapely.is_empty(geom)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        tid = int(gt[row])
        got = {-1: "missing", 0: "Point", 1: "LineString", 2: "LinearRing", 3: "Polygon", 4: "MultiPoint",
               5: "MultiLineString", 6: "MultiPolygon", 7: "GeometryCollection"}.get(tid, str(tid))
        if shapely.is_empty(geom[row]) if gt[row] >= 0 else False:
            got = "empty"
        raise _fail(name, row, "geometry", f"{got} geometry, expected {sch.geometry}")
    if sch.geometry == "Point" and (gt == 4).any():  # multipoints → first point
        geom = np.where(gt == 4, shapely.get_point(geom, 0), geom)
        gdf = gdf.set_geometry(gpd.GeoSeries(geom, crs=4326))
    x, y = shapely.get_coordinates(geom).T if len(geom) else (np.zeros(0), np.zeros(0))
    if len(x) and (np.abs(x).max() > 180 or np.abs(y).max() > 90):
        xy = shapely.get_coordinates(geom)
        idx = shapely.get_coordinates(geom, return_index=True)[1]
        row = int(idx[np.flatnonzero((np.abs(xy[:, 0]) > 180) | (np.abs(xy[:, 1]) > 90))[0]])
        raise _fail(name, row, "geometry", "coordinates are not decimal degrees (EPSG:4326); "
                    "give the file a CRS or reproject it")
    out = {}
    cols = {c.lower(): c for c in gdf.columns}
    for fname, f in sch.fields.items():
        if fname in cols:
            out[fname] = _coerce(name, fname, f, gdf[cols[fname]])
        elif fname.endswith("_id") and fname == next(iter(sch.fields)):
            out[fname] = np.arange(len(gdf), dtype=np.int64)
        elif f.required:
            raise _fail(name, "*", fname, "required column is missing")
        else:
            out[fname] = pd.Series([f.default] * len(gdf), dtype=object if f.kind == "str" else None)
            if f.default is None:
                out[fname] = pd.Series(np.nan, index=range(len(gdf)), dtype=float)
    df = pd.DataFrame(out, index=gdf.index)
    if name == "lamps":
        df = _fill_lamps(df)
    extra = [c for c in gdf.columns if c.lower() not in sch.fields and c != gdf.geometry.name]
    res = gpd.GeoDataFrame(pd.concat([df, gdf[extra]], axis=1), geometry=gdf.geometry.values, crs=4326)
    return res


def _fill_lamps(df: pd.DataFrame) -> pd.DataFrame:
    """Fill a lamp's missing flux / height from its class (``cpted/norms/lamp_classes.csv``)."""
    table = lamp_classes().set_index("lamp_class")
    cls = df["lamp_class"].astype(str).str.lower()
    for col in ("flux_lm", "height_m"):
        miss = df[col].isna().to_numpy()
        if miss.any():
            known = cls.isin(table.index).to_numpy()
            bad = miss & ~known
            if bad.any():
                row = int(np.flatnonzero(bad)[0])
                raise _fail("lamps", row, col, f"missing, and lamp_class {df['lamp_class'].iloc[row]!r} is not "
                            f"in the lamp-class table ({', '.join(table.index)})")
            df.loc[miss, col] = table.loc[cls[miss], col].to_numpy()
    return df


def _frame_to_gdf(layer: str, df: pd.DataFrame) -> gpd.GeoDataFrame:
    """Tabular file → GeoDataFrame: a ``geometry``/``wkt`` column (WKT) or lon/lat columns."""
    cols = {c.strip().lower(): c for c in df.columns}
    for g in ("geometry", "wkt", "geom"):
        if g in cols:
            txt = df[cols[g]].astype(str)
            try:
                geom = shapely.from_wkt(txt.to_numpy(), on_invalid="raise")
            except Exception:  # find the row for the message
                for i, t in enumerate(txt):
                    try:
                        shapely.from_wkt(t)
                    except Exception as e:
                        raise _fail(layer, i, cols[g], f"bad WKT ({e})") from None
                raise
            return gpd.GeoDataFrame(df.drop(columns=[cols[g]]), geometry=geom, crs=4326)
    lon = next((cols[c] for c in _LON if c in cols), None)
    lat = next((cols[c] for c in _LAT if c in cols), None)
    if lon is None or lat is None:
        raise _fail(layer, "*", "geometry", "no geometry: need a WKT 'geometry' column or 'lon'/'lat' columns")
    xy = {}
    for c in (lon, lat):
        num = pd.to_numeric(df[c].astype(str).str.replace(",", ".", regex=False).str.strip(), errors="coerce")
        bad = num.isna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise _fail(layer, row, c, f"{df[c].iloc[row]!r} is not a coordinate")
        xy[c] = num.to_numpy(float)
    return gpd.GeoDataFrame(df.drop(columns=[lon, lat]), geometry=shapely.points(xy[lon], xy[lat]), crs=4326)


def read_layer(path: str | Path, name: str | None = None) -> gpd.GeoDataFrame:
    """Read one layer file and validate it.

    Parameters
    ----------
    path : path
        ``.geojson``/``.json`` or ``.gpkg`` (any CRS; reprojected), ``.csv`` (UTF-8, ``,`` or ``;``)
        or ``.xlsx`` (first sheet) with ``lon``/``lat`` columns in decimal degrees or a WKT
        ``geometry`` column.
    name : str, optional
        Layer name; defaults to the file stem (``lamps.csv`` → ``lamps``).  For a GeoPackage the
        layer inside the file with this name is read when present.

    Returns
    -------
    GeoDataFrame
        See :func:`validate_layer`.
    """
    path = Path(path)
    name = name or path.stem
    suf = path.suffix.lower()
    if suf not in READ_SUFFIXES:
        raise ValueError(f"{path}: unsupported file type {suf!r}; use one of {', '.join(READ_SUFFIXES)}")
    if suf in (".geojson", ".json"):
        gdf = gpd.read_file(path)
    elif suf == ".gpkg":
        import pyogrio

        layers = [lay[0] for lay in pyogrio.list_layers(path)]
        gdf = gpd.read_file(path, layer=name if name in layers else layers[0])
    elif suf == ".csv":
        df = pd.read_csv(path, sep=None, engine="python", dtype=str, keep_default_na=False, encoding="utf-8-sig")
        gdf = _frame_to_gdf(name, df)
    else:
        df = pd.read_excel(path, dtype=str).fillna("")
        gdf = _frame_to_gdf(name, df)
    try:
        return validate_layer(name, gdf)
    except ValueError as e:
        raise ValueError(f"{path.name}: {e}") from None


def load_layer_dir(path: str | Path, required: tuple[str, ...] = ()) -> dict[str, gpd.GeoDataFrame]:
    """Load every known layer found in a folder.

    Parameters
    ----------
    path : path
        Folder with files named ``<layer>.<ext>`` (layer names: :data:`SCHEMAS`; extensions:
        GeoJSON, GeoPackage, CSV, XLSX).  A GeoPackage named ``layers.gpkg`` may hold several
        layers by name.  Unknown files are ignored.
    required : tuple of str
        Layers that must be present (``ValueError`` otherwise).

    Returns
    -------
    dict of str → GeoDataFrame
        Validated layers in EPSG:4326 (see :func:`validate_layer`).
    """
    path = Path(path)
    if not path.is_dir():
        raise ValueError(f"layer folder {path} does not exist")
    out: dict[str, gpd.GeoDataFrame] = {}
    for f in sorted(path.iterdir()):
        suf = f.suffix.lower()
        if suf not in READ_SUFFIXES:
            continue
        if f.stem in SCHEMAS and f.stem not in out:
            out[f.stem] = read_layer(f, f.stem)
        elif suf == ".gpkg":
            import pyogrio

            for lay in pyogrio.list_layers(f)[:, 0]:
                if lay in SCHEMAS and lay not in out:
                    gdf = gpd.read_file(f, layer=lay)
                    out[lay] = validate_layer(lay, gdf)
    missing = [r for r in required if r not in out]
    if missing:
        raise ValueError(f"layer folder {path}: missing layer(s) {', '.join(missing)}")
    return out


def validate_layers(layers: dict[str, gpd.GeoDataFrame]) -> dict[str, gpd.GeoDataFrame]:
    """Validate every layer of a ``{name: GeoDataFrame}`` dict whose name has a schema (e.g. layers
    read back from the store); other layers pass through unchanged."""
    return {k: (validate_layer(k, v) if k in SCHEMAS else v) for k, v in layers.items()}


def empty_layer(name: str) -> gpd.GeoDataFrame:
    """An empty, correctly typed layer (EPSG:4326)."""
    sch = SCHEMAS[name]
    cols = {}
    for k, f in sch.fields.items():
        cols[k] = pd.Series(dtype={"int": np.int64, "float": float, "bool": bool, "str": object}[f.kind])
    return gpd.GeoDataFrame(cols, geometry=gpd.GeoSeries([], crs=4326))


def layers_to_metric(layers: dict[str, gpd.GeoDataFrame], epsg: int) -> dict[str, gpd.GeoDataFrame]:
    """Reproject every layer to ``epsg`` (metres); missing known layers become empty frames."""
    out = {}
    for name in SCHEMAS:
        g = layers.get(name)
        if g is None:
            g = empty_layer(name)
        out[name] = g.to_crs(epsg)
    return out
