"""The design under review: the GeoJSON convention, validation, and the metric :class:`Design`.

Design GeoJSON convention
-------------------------
A ``FeatureCollection`` in EPSG:4326 (lon, lat).  Every feature has a ``kind`` property:

==========  ==========  =====================================================================
kind        geometry    properties (missing ones make the rules that need them NOT_CHECKABLE)
==========  ==========  =====================================================================
site        Polygon     ``name``; one site boundary (the review area)
building    Polygon     ``levels``, ``use`` (residential/commercial/public), ``active_ground_floor``
entrance    Point       ``access`` (open/intercom/guarded/locked), ``main`` (bool)
lamp        Point       ``height_m``, ``flux_lm`` (or ``lamp_class``), ``working`` (default true)
camera      Point       ``bearing_deg`` (0 = north, clockwise), ``fov_deg``, ``resolution_px``,
                        ``height_m``, ``owner`` (public_cou/private), ``status`` (working/broken)
fence       LineString  ``fence_type`` (optional)
playground  Polygon
parking     Polygon
path        LineString  footpaths
==========  ==========  =====================================================================
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from qauipsiz.cpted.norms import lamp_classes

KINDS = {"site": "Polygon", "building": "Polygon", "entrance": "Point", "lamp": "Point", "camera": "Point",
         "fence": "LineString", "playground": "Polygon", "parking": "Polygon", "path": "LineString"}
_GT = {"Point": (0, 4), "LineString": (1, 5), "Polygon": (3, 6)}
NUMERIC = {"lamp": ("height_m", "flux_lm"), "camera": ("bearing_deg", "fov_deg", "resolution_px", "height_m"),
           "building": ("levels",)}


@dataclass
class Design:
    """A parsed design: one metric GeoDataFrame per kind, the CRS and the city.

    Attributes
    ----------
    parts : dict of str → GeoDataFrame
        Features per ``kind`` in EPSG:``epsg`` (metres), with their properties.
    epsg : int
        The UTM zone used (the city's, else the zone of the design's centre).
    name : str
    """

    parts: dict[str, gpd.GeoDataFrame]
    epsg: int
    name: str = ""
    cache: dict = field(default_factory=dict)

    def __getitem__(self, kind: str) -> gpd.GeoDataFrame:
        return self.parts[kind]

    def geoms(self, kind: str) -> np.ndarray:
        """The shapely geometries (metric CRS) of the features of ``kind`` as an object array."""
        return np.asarray(self.parts[kind].geometry.values, dtype=object)


def _utm_epsg(lon: float, lat: float) -> int:
    return (32600 if lat >= 0 else 32700) + int((lon + 180) // 6) + 1


def load_design(src, city: str | None = None) -> Design:
    """Read and validate a design GeoJSON (path, JSON text or dict).

    Raises ``ValueError`` naming the feature (0-based), the field and the reason for: a missing or
    unknown ``kind``, a geometry of the wrong type, a non-numeric number, coordinates that are not
    decimal degrees, or a design without a ``site``.
    """
    gj, name = _read_geojson(src)
    feats = gj.get("features")
    if not isinstance(feats, list) or not feats:
        raise ValueError("design: not a FeatureCollection with features")
    rows, geoms = [], []
    for i, f in enumerate(feats):
        props, g = _parse_feature(i, f)
        rows.append(props)
        geoms.append(g)
    gdf = gpd.GeoDataFrame(pd.DataFrame(rows), geometry=geoms, crs=4326)
    if not (gdf["kind"] == "site").any():
        raise ValueError("design: no feature with kind 'site' (the site boundary)")
    if city:
        from qauipsiz.hotspot.cities import get_city

        epsg = get_city(city).epsg
    else:
        c = shapely.centroid(shapely.union_all(gdf.geometry.values))
        epsg = _utm_epsg(c.x, c.y)
    m = gdf.to_crs(epsg)
    parts = {kind: m[m["kind"] == kind].reset_index(drop=True) for kind in KINDS}
    if len(parts["lamp"]):
        parts["lamp"] = _complete_lamps(parts["lamp"])
    return Design(parts, epsg, name)


def _read_geojson(src) -> tuple[dict, str]:
    """The GeoJSON dict and the design's name (its ``name``, else the file's stem)."""
    if isinstance(src, dict):
        return src, src.get("name", "")
    p = Path(src) if not (isinstance(src, str) and src.lstrip().startswith("{")) else None
    txt = p.read_text(encoding="utf-8") if p else src
    try:
        gj = json.loads(txt)
    except json.JSONDecodeError as e:
        raise ValueError(f"design {src}: not valid JSON ({e})") from None
    return gj, gj.get("name") or (p.stem if p else "")


def _parse_feature(i: int, f: dict) -> tuple[dict, shapely.Geometry]:
    """Validate feature ``i``: its properties (numbers parsed, ``kind`` and ``_feature`` set) and geometry."""
    props = dict(f.get("properties") or {})
    kind = str(props.get("kind", "")).strip().lower()
    if kind not in KINDS:
        raise ValueError(f"design feature {i}, field 'kind': {props.get('kind')!r} is not one of "
                         f"{', '.join(KINDS)}")
    try:
        g = shapely.geometry.shape(f["geometry"])
    except Exception as e:
        raise ValueError(f"design feature {i} ({kind}), field 'geometry': unreadable ({e})") from None
    if g.is_empty or shapely.get_type_id(g) not in _GT[KINDS[kind]]:
        raise ValueError(f"design feature {i} ({kind}), field 'geometry': {g.geom_type}, expected {KINDS[kind]}")
    xy = shapely.get_coordinates(g)
    if np.abs(xy[:, 0]).max() > 180 or np.abs(xy[:, 1]).max() > 90:
        raise ValueError(f"design feature {i} ({kind}), field 'geometry': coordinates are not EPSG:4326 degrees")
    for fld in NUMERIC.get(kind, ()):
        v = props.get(fld)
        if v is not None and v != "":
            try:
                props[fld] = float(str(v).replace(",", "."))
            except ValueError:
                raise ValueError(f"design feature {i} ({kind}), field {fld!r}: {v!r} is not a number") from None
    props["kind"] = kind
    props["_feature"] = i
    return props, g


def _complete_lamps(lamps: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Lamps with ``flux_lm`` / ``height_m`` filled from their ``lamp_class`` and ``working`` as bool."""
    lamps = lamps.copy()
    for col in ("height_m", "flux_lm", "lamp_class"):
        if col not in lamps.columns:
            lamps[col] = np.nan
    cls = lamp_classes().set_index("lamp_class")
    for col in ("flux_lm", "height_m"):
        miss = lamps[col].isna() & lamps["lamp_class"].isin(cls.index)
        lamps.loc[miss, col] = cls.loc[lamps.loc[miss, "lamp_class"], col].to_numpy()
    lamps["working"] = lamps["working"].map(truthy) if "working" in lamps.columns else True
    return lamps


def truthy(v) -> bool:
    """A GeoJSON flag as bool: missing/NaN is true; "true", "1", "yes", "t", "да" are true."""
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return True
    return str(v).strip().lower() in ("true", "1", "yes", "t", "да")
