"""City registry: names (kk/ru/en), metric CRS, time zone, boundaries and point → district lookup.

Shipped cities are listed in ``data/boundaries/cities.csv``.  A user's own cities live in a folder
of the user's data directory (``<QAUIPSIZ_DATA_DIR>/cities``, set by the application through
:func:`set_user_dir`), one sub-folder per city with ``boundary.geojson`` and optionally
``districts.geojson``, and a ``cities.csv`` of the same columns; :func:`add_city` and
:func:`remove_city` manage it.
"""
from __future__ import annotations

import re
import shutil
from dataclasses import asdict, dataclass, fields
from functools import cache, cached_property
from pathlib import Path

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
        District polygons file, empty when no open district polygons exist.
    boundary_file : str
        City polygon file (user cities); empty: the union of the districts, else the regions layer.
    folder : str
        Folder holding ``districts_file`` and ``boundary_file``; empty for a shipped city
        (``data/boundaries/``).
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
    boundary_file: str = ""
    folder: str = ""

    @property
    def user(self) -> bool:
        """True for a city the user registered with :func:`add_city`, False for a shipped one."""
        return bool(self.folder)

    def _path(self, name: str) -> Path:
        return Path(self.folder) / name if self.folder else data_dir() / "boundaries" / name

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
        gdf = gpd.read_file(self._path(self.districts_file))
        gdf["geometry"] = shapely.make_valid(gdf.geometry.values)
        return gdf.set_crs(4326, allow_override=True)

    @cached_property
    def boundary(self) -> shapely.Geometry:
        """City polygon in EPSG:4326: its boundary file, else the union of its districts, else its
        regions-layer polygon."""
        if self.boundary_file:
            return shapely.make_valid(shapely.union_all(gpd.read_file(self._path(self.boundary_file)).geometry.values))
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

    def contains(self, lat, lon) -> np.ndarray | bool:
        """Boolean array: is each point (decimal degrees) inside the city polygon?"""
        pts = shapely.points(np.asarray(lon, float), np.asarray(lat, float))
        shapely.prepare(self.boundary)
        return shapely.contains(self.boundary, pts) if np.ndim(pts) else bool(shapely.contains(self.boundary, pts))

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


_COLUMNS = ("city", "name_kk", "name_ru", "name_en", "epsg", "tz", "kato", "region_pcode", "districts_file",
            "boundary_file")
_KEY_RE = re.compile(r"^[a-z][a-z0-9_-]{1,31}$")
_user_dir: Path | None = None
_extra_dirs: tuple[Path, ...] = ()


def set_user_dir(path: str | Path | None) -> None:
    """Set the folder of the user's own cities (``<QAUIPSIZ_DATA_DIR>/cities``); None: shipped only.

    The application calls this from its settings; a library user who registered cities calls it
    before :func:`get_city`.
    """
    global _user_dir
    new = Path(path).resolve() if path else None
    if new != _user_dir:
        _user_dir = new
        _registry.cache_clear()


def set_extra_dirs(paths) -> None:
    """Read-only city folders (the ``cities/`` folder of an analytic store: its regional centres)
    consulted after the shipped and the user's cities, in the ``city add`` layout (``cities.csv``
    plus one sub-folder per city).  A key already known keeps its first definition; cities are
    never added to or removed from these folders (:func:`add_city` writes the user folder only).

    Parameters
    ----------
    paths : iterable of path
        Folders; missing ones are skipped.  An empty iterable removes them all.
    """
    global _extra_dirs
    new = tuple(Path(p).resolve() for p in paths)
    if new != _extra_dirs:
        _extra_dirs = new
        _registry.cache_clear()


def _read_table(path: Path, folder: str = "") -> dict[str, City]:
    if not path.exists():
        return {}
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    out = {}
    for r in df.to_dict("records"):
        sub = str(Path(folder) / r["city"]) if folder else ""
        out[r["city"]] = City(r["city"], r["name_kk"], r["name_ru"], r["name_en"], int(r["epsg"]), r["tz"],
                              r["kato"], r["region_pcode"], r.get("districts_file", ""), r.get("boundary_file", ""),
                              sub)
    return out


def _shipped() -> dict[str, City]:
    return _read_table(data_dir() / "boundaries" / "cities.csv")


@cache
def _registry() -> dict[str, City]:
    reg = _shipped()
    for folder in ((_user_dir,) if _user_dir is not None else ()) + _extra_dirs:
        reg.update({k: c for k, c in _read_table(folder / "cities.csv", str(folder)).items() if k not in reg})
    return reg


def list_cities() -> list[str]:
    """Registry keys of all known cities: the shipped ones first, then the user's."""
    return list(_registry())


def get_city(key: str) -> City:
    """Return the :class:`City` for ``key`` (case-insensitive).

    Raises
    ------
    ValueError
        For an unknown key, naming the known keys and how to register a new city.
    """
    reg = _registry()
    k = key.strip().lower()
    if k not in reg:
        raise ValueError(f"unknown city {key!r}; known cities: {', '.join(reg)}. To add one: "
                         f"qauipsiz city add {k or 'KEY'} --boundary FILE (or --region PCODE); see docs/any-city.md")
    return reg[k]


def _read_polygons(path: str | Path, what: str) -> gpd.GeoDataFrame:
    try:
        gdf = gpd.read_file(path)
    except Exception as e:  # pyogrio raises its own error types for every unreadable file
        raise ValueError(f"{what} {str(path)!r}: not a readable vector file ({e})") from e
    if gdf.crs is None:
        gdf = gdf.set_crs(4326)
    gdf = gdf.to_crs(4326)
    gdf["geometry"] = shapely.make_valid(gdf.geometry.values)
    kinds = set(gdf.geom_type.dropna())
    if not len(gdf) or not kinds <= {"Polygon", "MultiPolygon"}:
        raise ValueError(f"{what} {str(path)!r}: needs Polygon or MultiPolygon features, "
                         f"got {', '.join(sorted(kinds)) or 'no features'}")
    return gdf


def utm_epsg(lon: float, lat: float) -> int:
    """EPSG code of the WGS84 UTM zone holding ``lon, lat`` (decimal degrees): 326zz north, 327zz south."""
    zone = min(60, int((lon + 180.0) // 6.0) + 1)
    return (32600 if lat >= 0 else 32700) + zone


def _region_at(point: shapely.Point) -> str:
    regions = load_regions()
    hit = regions[regions.geometry.contains(point)]
    return str(hit["pcode"].iloc[0]) if len(hit) else ""


def _region_tz(pcode: str) -> str:
    t = pd.read_csv(data_dir() / "boundaries" / "kz_region_tz.csv", dtype=str)
    hit = t.loc[t["pcode"] == pcode, "tz"]
    return str(hit.iloc[0]) if len(hit) else ""


def _check_tz(tz: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise ValueError(f"unknown time zone {tz!r}: use a tz database name such as Asia/Almaty") from e
    return tz


def _districts_frame(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A user's district file in the registry's columns: ``district`` from ``district``, else
    ``name_en``, ``name``, ``name_ru`` or ``name_kk``; missing names copy it; ``kato`` may be empty."""
    src = next((c for c in ("district", "name_en", "name", "name_ru", "name_kk") if c in gdf.columns), None)
    if src is None:
        raise ValueError("districts file: needs a 'district' (or 'name', 'name_en', 'name_ru', 'name_kk') column, "
                         f"has {', '.join(map(str, gdf.columns.drop('geometry')))}")
    key = gdf[src].astype(str).str.strip()
    if key.eq("").any() or key.duplicated().any():
        raise ValueError(f"districts file: column {src!r} must name each district once, non-empty")
    out = gpd.GeoDataFrame({"district": key.str.lower().str.replace(r"\s+", "_", regex=True)}, geometry=gdf.geometry,
                           crs=4326)
    for c in ("name_kk", "name_ru", "name_en"):
        out[c] = gdf[c].astype(str) if c in gdf.columns else key
    out["kato"] = gdf["kato"].astype(str) if "kato" in gdf.columns else ""
    return out[["district", "name_kk", "name_ru", "name_en", "kato", "geometry"]]


def add_city(key: str, *, boundary: str | Path | None = None, region: str | None = None,  # noqa: PLR0912, PLR0913 -- one option per registry field, each checked
             districts: str | Path | None = None, name_kk: str | None = None, name_ru: str | None = None,
             name_en: str | None = None, tz: str | None = None, epsg: int | None = None, kato: str = "") -> City:
    """Register a user city in the user folder (see :func:`set_user_dir`) and return it.

    Parameters
    ----------
    key : str
        New registry key: lower-case Latin letters, digits, ``_`` or ``-`` (2–32 characters).
    boundary : path, optional
        Vector file (GeoJSON, GPKG, Shapefile …) with the city polygon(s); any CRS (none: WGS84).
    region : str, optional
        ``pcode`` of the shipped regions layer to use as the boundary instead (e.g. ``KAZ011``).
    districts : path, optional
        District polygons; the boundary defaults to their union when ``boundary`` is not given.
    name_kk, name_ru, name_en : str, optional
        Names; default the key in title case.
    tz : str, optional
        tz database name. Inside Kazakhstan it comes from the region holding the boundary
        (``data/boundaries/kz_region_tz.csv``); elsewhere it is required.
    epsg : int, optional
        Metric CRS; default the UTM zone of the boundary's representative point.
    kato : str
        KATO code (Kazakhstan's administrative code), optional.

    Raises
    ------
    ValueError
        Bad key, key taken, no user folder, unreadable or non-polygon file, unknown region or tz,
        non-projected EPSG, or no tz outside Kazakhstan.
    """
    if _user_dir is None:
        raise ValueError("no user data folder: set QAUIPSIZ_DATA_DIR (the application sets the cities folder)")
    k = key.strip().lower()
    if not _KEY_RE.match(k):
        raise ValueError(f"city key {key!r}: use 2-32 lower-case Latin letters, digits, '_' or '-', starting with a letter")
    if k in _registry():
        where = "a user city: remove it first (qauipsiz city remove)" if get_city(k).user else "a shipped city"
        raise ValueError(f"city {k!r} already exists ({where})")
    dist = _districts_frame(_read_polygons(districts, "districts file")) if districts else None
    if boundary is not None:
        poly = shapely.union_all(_read_polygons(boundary, "boundary file").geometry.values)
    elif region:
        regions = load_regions()
        hit = regions.loc[regions["pcode"] == region.strip().upper(), "geometry"]
        if not len(hit):
            raise ValueError(f"unknown region {region!r}; known: {', '.join(regions['pcode'])}")
        poly = shapely.make_valid(hit.iloc[0])
    elif dist is not None:
        poly = shapely.union_all(dist.geometry.values)
    else:
        raise ValueError("give the city's polygon: --boundary FILE, --region PCODE or --districts FILE")
    if poly.is_empty or poly.area <= 0:
        raise ValueError("the city boundary is empty")
    rep = poly.representative_point()
    pcode = _region_at(rep)
    if tz:
        tz = _check_tz(tz)
    else:
        tz = _region_tz(pcode) if pcode else ""
        if not tz:
            raise ValueError("the boundary is outside Kazakhstan's regions: give its time zone with --tz "
                             "(a tz database name, e.g. America/Chicago)")
    if epsg is None:
        epsg = utm_epsg(rep.x, rep.y)
    else:
        from pyproj import CRS

        try:
            crs = CRS.from_epsg(int(epsg))
        except Exception as e:  # pyproj.exceptions.CRSError
            raise ValueError(f"EPSG {epsg}: not a known CRS") from e
        if not crs.is_projected:
            raise ValueError(f"EPSG {epsg}: not a projected (metric) CRS; distances need metres")
    folder = _user_dir / k
    folder.mkdir(parents=True, exist_ok=True)
    gpd.GeoDataFrame({"city": [k]}, geometry=[poly], crs=4326).to_file(folder / "boundary.geojson", driver="GeoJSON")
    if dist is not None:
        dist.to_file(folder / "districts.geojson", driver="GeoJSON")
    title = k.replace("_", " ").replace("-", " ").title()
    city = City(k, name_kk or title, name_ru or title, name_en or title, int(epsg), tz, kato, pcode,
                "districts.geojson" if dist is not None else "", "boundary.geojson", str(folder))
    _write_user_table({**{c.key: c for c in _user_cities()}, k: city})
    return get_city(k)


def _user_cities() -> list[City]:
    return [c for c in _registry().values() if c.user]


def _write_user_table(cities: dict[str, City]) -> None:
    assert _user_dir is not None
    keep = {f.name for f in fields(City)} - {"folder", "key"}
    rows = [{"city": c.key, **{n: v for n, v in asdict(c).items() if n in keep}} for c in cities.values()]
    _user_dir.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows, columns=list(_COLUMNS)).to_csv(_user_dir / "cities.csv", index=False)
    _registry.cache_clear()


def remove_city(key: str) -> None:
    """Remove a user city (its folder and registry row); shipped cities cannot be removed.

    The store's incidents of that city are kept (remove them with the store's tools).
    """
    c = get_city(key)
    if not c.user:
        raise ValueError(f"city {c.key!r} is shipped with qauipsiz and cannot be removed")
    _write_user_table({u.key: u for u in _user_cities() if u.key != c.key})
    shutil.rmtree(c.folder, ignore_errors=True)


@cache
def load_regions() -> gpd.GeoDataFrame:
    """Kazakhstan's 20 first-level units (2022 reform) in EPSG:4326: ``pcode, name_en, geometry``."""
    return gpd.read_file(data_dir() / "boundaries" / "kz_regions.geojson")
