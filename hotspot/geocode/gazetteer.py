"""Gazetteer builder: streets, intersections, aliases, address points and POIs → matchable tables.

A gazetteer is a folder of Parquet tables plus ``meta.json`` (see :func:`build_gazetteer`).  All
canonical forms (folded, stemmed, order-free keys) are computed here, at build time, so the matcher
only looks things up.  The Astana gazetteer ships under ``data/gazetteer/astana/`` and is rebuilt
automatically when its sources (streets, intersections, alias table, type words) change.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from qauipsiz.hotspot.cities import get_city
from qauipsiz.hotspot.geocode.letters import fold_text
from qauipsiz.hotspot.geocode.lexicon import load_lexicon
from qauipsiz.hotspot.geocode.normalize import _house_norm, name_key_tokens
from qauipsiz.hotspot.geocode.pieces import PIECE_GAP_M, _rep_point, street_pieces
from qauipsiz.hotspot.geocode.sources import (
    _add_lone_streets,
    _crossings_table,
    _district_table,
    _poi_table,
    _read_aliases,
    _read_points_table,
    _street_entities,
    with_user_city_extras,
)
from qauipsiz.hotspot.paths import data_dir, sha256_file
from qauipsiz.hotspot.streets import (
    JUMP_M,
    has_streets,
    intersections_path,
    streets_from_json,
    streets_path,
)

BUILD_VERSION = 8
"""The gazetteer's data-format version: bump it whenever the normaliser's canonical forms or the
table layout change (a shipped gazetteer of another version is rebuilt; ``tests/geocode`` checks
that the shipped tables equal a fresh build, so a forgotten bump fails the tests)."""

TABLES = ("streets", "street_districts", "aliases", "crossings", "addresses", "pois", "districts")
PIECE_TABLES = ("pieces", "piece_districts")
"""Tables derived from ``streets`` alone; a folder without them (an older build) gets them
recomputed on :meth:`Gazetteer.load`."""


@dataclass
class Gazetteer:
    """The tables of one city's gazetteer (all coordinates WGS84 degrees, distances metres).

    Attributes
    ----------
    city : str
        City registry key.
    streets : DataFrame
        One row per street *entity* (source names with the same canonical key and type are one
        street): ``sid, name, names ("|"-joined source names), key, tokens, kind, lat, lon,
        uncertainty_m, length_m, wkb`` (``wkb``: the street's lines in the city's UTM CRS).
        ``lat, lon`` is the point on the street nearest its vertex centroid, ``uncertainty_m``
        the farthest vertex from it.
    street_districts : DataFrame
        ``sid, district, lat, lon, uncertainty_m, length_m`` — the street clipped to a district.
    aliases : DataFrame
        ``key, kind, sid, alias`` — old or other-language names pointing at a street.
    crossings : DataFrame
        ``a, b (sid, a < b), lat, lon, n, radius_m, district`` — where two streets meet.
    addresses : DataFrame
        ``sid, house, lat, lon`` — optional house-level address points.
    pois : DataFrame
        ``key, name, kind, lat, lon, uncertainty_m`` — optional landmarks.
    districts : DataFrame
        ``district, key, lat, lon, uncertainty_m`` — folded district names (one row per form)
        with the district's representative point and radius.
    meta : dict
        ``city, version, sources (path → sha256), epsg, center (lat, lon), radius_m, counts``.
    pieces : DataFrame
        ``sid, piece, lat, lon, uncertainty_m, length_m, districts`` — each street's parts grouped
        into pieces (parts within :data:`PIECE_GAP_M` of each other are one piece); ``lat, lon``
        is the point on the piece nearest its vertex centroid, ``uncertainty_m`` the farthest
        vertex of the piece from it, ``districts`` the "|"-joined districts it crosses ("" when
        outside every district).  Computed from ``streets`` when not given.
    piece_districts : DataFrame
        ``sid, piece, district, lat, lon, uncertainty_m, length_m`` — each piece clipped to each
        district it crosses.
    """

    city: str
    streets: pd.DataFrame
    street_districts: pd.DataFrame
    aliases: pd.DataFrame
    crossings: pd.DataFrame
    addresses: pd.DataFrame
    pois: pd.DataFrame
    districts: pd.DataFrame
    meta: dict = field(default_factory=dict)
    pieces: pd.DataFrame | None = None
    piece_districts: pd.DataFrame | None = None

    def __post_init__(self):
        if self.pieces is None or self.piece_districts is None:
            self.pieces, self.piece_districts = street_pieces(self.city, self.streets)

    def save(self, out_dir: str | Path) -> Path:
        """Write the tables as Parquet files and ``meta.json`` into ``out_dir``."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        for t in TABLES + PIECE_TABLES:
            getattr(self, t).to_parquet(out / f"{t}.parquet", index=False)
        (out / "meta.json").write_text(json.dumps(self.meta, ensure_ascii=False, indent=1), encoding="utf-8")
        return out

    @classmethod
    def load(cls, folder: str | Path) -> Gazetteer:
        """Read a gazetteer written by :meth:`save`."""
        f = Path(folder)
        meta_p = f / "meta.json"
        if not meta_p.exists():
            raise ValueError(f"{f}: not a gazetteer folder (no meta.json)")
        meta = json.loads(meta_p.read_text(encoding="utf-8"))
        tables = {t: pd.read_parquet(f / f"{t}.parquet") for t in TABLES}
        if all((f / f"{t}.parquet").exists() for t in PIECE_TABLES):
            tables.update({t: pd.read_parquet(f / f"{t}.parquet") for t in PIECE_TABLES})
        return cls(city=meta["city"], meta=meta, **tables)  # older folders: pieces recomputed


def build_gazetteer(city: str, streets: str | Path | None = None, intersections: str | Path | None = None,
                    addresses=None, pois=None, aliases: str | Path | None = None,
                    max_gap_m: float = JUMP_M) -> Gazetteer:
    """Build a city's gazetteer from its street lines and intersections (and optional extras).

    Parameters
    ----------
    city : str
        City registry key (gives the UTM CRS and the district polygons).
    streets : path, optional
        ``{"streets": [{"name", "points": [{"lat","lng"}]}]}`` JSON (default: the shipped
        ``data/streets/<city>_streets.json``).  Lines are split where consecutive vertices are more
        than ``max_gap_m`` metres apart.
    intersections : path, optional
        ``{street: [{"crossroad", "lat", "lng"}]}`` JSON (default: shipped file; may be absent).
    addresses : path or DataFrame, optional
        House-level address points with columns ``street, house, lat, lon`` (CSV, Parquet).
    pois : path or DataFrame, optional
        Landmarks with ``name, lat, lon`` and optionally ``kind`` (CSV, Parquet, GeoJSON points).
    aliases : path, optional
        Alias table (default ``data/gazetteer/aliases.csv``): ``city, old_name, new_name, …``.
        For a user city, ``addresses``, ``pois`` and ``aliases`` default to the files in its
        folder (:func:`.sources.user_city_extras`).
    max_gap_m : float
        Jump threshold for splitting street lines, metres.

    Returns
    -------
    Gazetteer
    """
    c = get_city(city)
    # a user city's aliases, addresses and POIs unless given: a rebuild must not lose them
    addresses, pois, aliases = with_user_city_extras(c, addresses, pois, aliases)
    lex = load_lexicon()
    sp = Path(streets) if streets else streets_path(c.key)
    ip = Path(intersections) if intersections else intersections_path(c.key)
    ap = Path(aliases) if aliases else data_dir() / "gazetteer" / "aliases.csv"
    if not sp.exists():
        raise ValueError(f"streets file not found: {sp}")
    seg = streets_from_json(sp, c.epsg, max_gap_m)
    # streets whose every vertex is a jump have no segment left: one-way entries become lines,
    # the rest vertex sets
    seg = _add_lone_streets(seg, sp)
    seg_m = seg.to_crs(c.epsg)

    # --- names -> canonical key + kind -> street entities -----------------------------------
    names = pd.unique(seg["name"])
    keyinfo = {n: name_key_tokens(n, lex) for n in names}
    ent_rows, ent_of_name = _street_entities(names, keyinfo)
    sid_of_seg = seg["name"].map(ent_of_name).to_numpy()
    ok = ~pd.isna(sid_of_seg)
    seg_geom = seg_m.geometry.values[ok]
    seg_sid = sid_of_seg[ok].astype(int)
    order = np.argsort(seg_sid, kind="stable")
    bounds = np.searchsorted(seg_sid[order], np.arange(len(ent_rows) + 1))
    geom_list = []
    for i in range(len(ent_rows)):
        parts = seg_geom[order[bounds[i]:bounds[i + 1]]]
        if not len(parts):
            geom_list.append(shapely.from_wkt("MULTILINESTRING EMPTY"))
        elif all(shapely.get_type_id(parts) == 1):
            geom_list.append(shapely.multilinestrings(list(parts)))
        else:
            geom_list.append(shapely.union_all(parts))
    geoms = np.array(geom_list, dtype=object)
    rep = [_rep_point(g) for g in geoms]
    rx, ry, rr = (np.array(v, float) for v in zip(*rep, strict=True))
    lon, lat = c.to_wgs84(rx, ry)
    streets_df = pd.DataFrame({
        "sid": np.arange(len(ent_rows)),
        "name": [e["name"] for e in ent_rows],
        "names": ["|".join(e["names"]) for e in ent_rows],
        "key": [e["key"] for e in ent_rows],
        "tokens": [e["tokens"] for e in ent_rows],
        "kind": pd.array([e["kind"] for e in ent_rows], dtype="string"),
        "lat": np.asarray(lat, float), "lon": np.asarray(lon, float),
        "uncertainty_m": rr,
        "length_m": shapely.length(geoms).astype(float),
        "wkb": shapely.to_wkb(geoms),
    })

    # --- streets clipped to districts -------------------------------------------------------
    dist = c.districts.to_crs(c.epsg)
    sd_rows = []
    for dkey, dgeom in zip(dist["district"], dist.geometry.values, strict=True):
        clipped = shapely.intersection(geoms, dgeom)
        L = shapely.length(clipped)
        for j in np.flatnonzero(~shapely.is_empty(clipped)):
            px, py, r = _rep_point(clipped[j])
            lo, la = c.to_wgs84(px, py)
            sd_rows.append((int(j), dkey, float(la), float(lo), float(r), float(L[j])))
    street_districts = pd.DataFrame(sd_rows, columns=["sid", "district", "lat", "lon", "uncertainty_m", "length_m"])

    # --- aliases ----------------------------------------------------------------------------
    key_kind_to_sid = {(e["key"], e["kind"]): i for i, e in enumerate(ent_rows)}
    key_to_sids: dict[str, list[int]] = {}
    for i, e in enumerate(ent_rows):
        key_to_sids.setdefault(e["key"], []).append(i)
    al_rows = []
    for old, new in _read_aliases(ap, c.key):
        nt, nk = name_key_tokens(new, lex)
        nkey = " ".join(sorted(nt))
        sid = key_kind_to_sid.get((nkey, nk))
        if sid is None:
            cands = key_to_sids.get(nkey, [])
            sid = cands[0] if len(cands) == 1 else None
        if sid is None:
            continue
        ot, ok_ = name_key_tokens(old, lex)
        al_rows.append((" ".join(sorted(ot)), ok_, sid, old))
    aliases_df = pd.DataFrame(al_rows, columns=["key", "kind", "sid", "alias"])
    aliases_df["kind"] = aliases_df["kind"].astype("string")

    # --- intersections ----------------------------------------------------------------------
    crossings = _crossings_table(ip, c, ent_of_name)

    # --- optional address points ------------------------------------------------------------
    adr = _read_points_table(addresses, "addresses", ("street", "house", "lat", "lon"))
    if len(adr):
        sids = []
        houses = []
        for st, h in zip(adr["street"].astype(str), adr["house"].astype(str), strict=True):
            t, k = name_key_tokens(st, lex)
            key = " ".join(sorted(t))
            sid = key_kind_to_sid.get((key, k))
            if sid is None:
                cands = key_to_sids.get(key, [])
                sid = cands[0] if len(cands) == 1 else -1
            sids.append(sid)
            houses.append(_house_norm(fold_text(h).replace(" ", "")) or fold_text(h).strip())
        adr = pd.DataFrame({"sid": np.asarray(sids, int), "house": houses,
                            "lat": adr["lat"].to_numpy(float), "lon": adr["lon"].to_numpy(float)})
        adr = adr[adr["sid"] >= 0].drop_duplicates(["sid", "house"]).reset_index(drop=True)
    else:
        adr = pd.DataFrame({"sid": pd.Series(dtype=int), "house": pd.Series(dtype=str),
                            "lat": pd.Series(dtype=float), "lon": pd.Series(dtype=float)})

    # --- optional POIs ----------------------------------------------------------------------
    poi = _poi_table(pois, lex)

    # --- city-level fallback point ----------------------------------------------------------
    bm = c.boundary_metric
    cp = bm.representative_point()
    clo, cla = c.to_wgs84(cp.x, cp.y)
    crad = float(shapely.hausdorff_distance(shapely.points(cp.x, cp.y), bm.boundary))
    sources = {"streets": str(sp), "intersections": str(ip) if ip.exists() else None, "aliases": str(ap)}
    meta: dict = {
        "city": c.key, "version": BUILD_VERSION, "epsg": c.epsg,
        "sources": {k: (_rel(v), sha256_file(v)) for k, v in sources.items() if v and Path(v).exists()},
        "lexicon_sha256": sha256_file(data_dir() / "gazetteer" / "type_words.csv"),
        "center": [float(cla), float(clo)], "radius_m": crad,
        "extras": {"addresses": len(adr), "pois": len(poi)},
        "counts": {"segments": len(seg), "names": len(names), "streets": len(streets_df),
                   "street_districts": len(street_districts), "aliases": len(aliases_df),
                   "crossings": len(crossings), "addresses": len(adr), "pois": len(poi)},
        "attribution": "© OpenStreetMap contributors (ODbL 1.0)",
    }
    pieces, piece_districts = street_pieces(c.key, streets_df)
    meta["counts"]["pieces"] = len(pieces)
    meta["piece_gap_m"] = PIECE_GAP_M
    return Gazetteer(city=c.key, streets=streets_df, street_districts=street_districts, aliases=aliases_df,
                     crossings=crossings, addresses=adr, pois=poi, districts=_district_table(c), meta=meta,
                     pieces=pieces, piece_districts=piece_districts)



def _rel(path: str) -> str:
    """Path relative to the shipped data folder when it lies inside it (keeps meta portable)."""
    try:
        return Path(path).resolve().relative_to(data_dir().resolve()).as_posix()
    except ValueError:
        return str(Path(path).resolve())


def shipped_dir(city: str) -> Path:
    """Folder of the gazetteer of ``city``: ``data/gazetteer/<city>/`` for a shipped city,
    ``<city folder>/gazetteer/`` for a user city (built by ``qauipsiz city import-osm``)."""
    c = get_city(city)
    return Path(c.folder) / "gazetteer" if c.user else data_dir() / "gazetteer" / c.key


def has_gazetteer(city: str) -> bool:
    """Whether ``city`` can be geocoded: a built gazetteer in :func:`shipped_dir` (``qauipsiz
    geocode build``, ``qauipsiz city import-osm``) or a street file to build one from."""
    key = get_city(city).key
    return (shipped_dir(key) / "meta.json").exists() or has_streets(key)


def is_stale(g_meta: dict) -> bool:
    """True when a saved gazetteer's sources, type words or build version changed since it was built."""
    if g_meta.get("version") != BUILD_VERSION or g_meta.get("piece_gap_m", PIECE_GAP_M) != PIECE_GAP_M:
        return True
    if g_meta.get("extras", {}).get("addresses") or g_meta.get("extras", {}).get("pois"):
        return False  # custom builds with extras are rebuilt only by the user
    lp = data_dir() / "gazetteer" / "type_words.csv"
    if lp.exists() and sha256_file(lp) != g_meta.get("lexicon_sha256"):
        return True
    for _k, (path, digest) in g_meta.get("sources", {}).items():
        p = Path(path) if Path(path).is_absolute() else data_dir() / path
        if p.exists() and sha256_file(p) != digest:
            return True
    return False
