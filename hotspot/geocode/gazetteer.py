"""Gazetteer builder: streets, intersections, aliases, address points and POIs → matchable tables.

A gazetteer is a folder of Parquet tables plus ``meta.json`` (see :func:`build_gazetteer`).  All
canonical forms (folded, stemmed, order-free keys) are computed here, at build time, so the matcher
only looks things up.  The Astana gazetteer ships under ``data/gazetteer/astana/`` and is rebuilt
automatically when its sources (streets, intersections, alias table, type words) change.
"""
from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from qauipsiz.hotspot.cities import get_city
from qauipsiz.hotspot.geocode.letters import fold_text
from qauipsiz.hotspot.geocode.lexicon import load_lexicon, stem
from qauipsiz.hotspot.geocode.normalize import _house_norm, name_key_tokens, parse_address
from qauipsiz.hotspot.paths import data_dir, sha256_file
from qauipsiz.hotspot.streets import (
    JUMP_M,
    has_streets,
    intersections_path,
    streets_from_json,
    streets_path,
)

BUILD_VERSION = 7
"""The gazetteer's data-format version: bump it whenever the normaliser's canonical forms or the
table layout change (a shipped gazetteer of another version is rebuilt; ``tests/geocode`` checks
that the shipped tables equal a fresh build, so a forgotten bump fails the tests)."""

CROSSING_CELL_M = 200.0
"""Intersection points of one street pair are merged within grid cells of this size (metres)."""

CROSSING_RADIUS_M = 30.0
"""Base uncertainty of an intersection point (metres): half a wide crossing."""

PIECE_GAP_M = 1000.0
"""Parts of one street entity more than this far apart (metres) are separate *pieces*: a name that
only reaches such a street cannot say which piece is meant (namesakes in different quarters or in a
suburb, e.g. Мұстафа Шоқай көшесі west of the city, outside its districts, and улица Мустафа Шокай
in Saraishyk, 20 km apart)."""

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


def _rep_point(geom: shapely.Geometry) -> tuple[float, float, float]:
    """Point on ``geom`` nearest its vertex centroid, and the farthest vertex's distance (m)."""
    xy = shapely.get_coordinates(geom)
    c = shapely.points(xy.mean(axis=0))
    p = shapely.ops.nearest_points(geom, c)[0] if not geom.is_empty else c
    px, py = p.x, p.y
    r = float(np.sqrt(((xy - [px, py]) ** 2).sum(axis=1)).max()) if len(xy) else 0.0
    return px, py, r


def _pieces_of(geom: shapely.Geometry, gap_m: float) -> list[shapely.Geometry]:
    """Split a street's geometry into pieces: parts closer than ``gap_m`` are joined (single linkage)."""
    parts = shapely.get_parts(geom)
    parts = parts[~shapely.is_empty(parts)]
    if len(parts) <= 1:
        return [geom] if len(parts) else []
    a, b = shapely.STRtree(parts).query(parts, predicate="dwithin", distance=gap_m)
    root = list(range(len(parts)))

    def find(i):
        while root[i] != i:
            root[i] = root[root[i]]
            i = root[i]
        return i

    for i, j in zip(a.tolist(), b.tolist(), strict=True):
        ri, rj = find(i), find(j)
        if ri != rj:
            root[max(ri, rj)] = min(ri, rj)
    groups: dict[int, list[int]] = {}
    for i in range(len(parts)):
        groups.setdefault(find(i), []).append(i)
    out = []
    for _r, ix in sorted(groups.items()):  # ordered by each piece's first part
        ps = parts[ix]
        if len(ps) == 1:
            out.append(ps[0])
        elif all(shapely.get_type_id(ps) == 1):
            out.append(shapely.multilinestrings(list(ps)))
        else:
            out.append(shapely.union_all(ps))
    return out


def street_pieces(city: str, streets: pd.DataFrame, gap_m: float = PIECE_GAP_M) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Pieces of every street (see :class:`Gazetteer`'s ``pieces``) and their district clips.

    Parameters
    ----------
    city : str
        City registry key (UTM CRS of the ``wkb`` column, district polygons).
    streets : DataFrame
        The gazetteer's ``streets`` table (``sid``, ``wkb`` in the city's metric CRS).
    gap_m : float
        Parts farther apart than this (metres) are different pieces.

    Returns
    -------
    (pieces, piece_districts) : tuple of DataFrame
    """
    c = get_city(city)
    dist = c.districts.to_crs(c.epsg)
    dkeys = list(dist["district"])
    dgeoms = dist.geometry.values
    prow, drow = [], []
    for sid, wkb in zip(streets["sid"].astype(int), streets["wkb"], strict=True):
        geom = shapely.from_wkb(wkb)
        if geom is None or geom.is_empty:
            continue
        for k, pg in enumerate(_pieces_of(geom, gap_m)):
            px, py, r = _rep_point(pg)
            clipped = shapely.intersection(pg, dgeoms)
            hit = np.flatnonzero(~shapely.is_empty(clipped))
            prow.append((int(sid), k, px, py, r, float(pg.length), "|".join(dkeys[i] for i in hit)))
            for i in hit:
                cx, cy, cr = _rep_point(clipped[i])
                drow.append((int(sid), k, dkeys[i], cx, cy, cr, float(clipped[i].length)))
    pieces = pd.DataFrame(prow, columns=["sid", "piece", "x", "y", "uncertainty_m", "length_m", "districts"])
    pdist = pd.DataFrame(drow, columns=["sid", "piece", "district", "x", "y", "uncertainty_m", "length_m"])
    for t in (pieces, pdist):
        lo, la = c.to_wgs84(t["x"].to_numpy(float), t["y"].to_numpy(float))
        t.insert(2, "lat", np.asarray(la, float).reshape(-1))
        t.insert(3, "lon", np.asarray(lo, float).reshape(-1))
    pieces = pieces.drop(columns=["x", "y"])
    pdist = pdist.drop(columns=["x", "y"])
    pdist = pdist[["sid", "piece", "district", "lat", "lon", "uncertainty_m", "length_m"]]
    return pieces.astype({"sid": "int64", "piece": "int64"}), pdist.astype({"sid": "int64", "piece": "int64"})


def city_fold_names(city) -> frozenset:
    """Folded spellings of a city's name used to strip "г. Астана" style prefixes."""
    names = {city.name_kk, city.name_ru, city.name_en}
    if city.key == "astana":
        names |= {"Нур-Султан", "Нұр-Сұлтан", "Nur-Sultan", "Акмола", "Ақмола", "Целиноград"}
    out = set()
    for n in names:
        if n:
            out.add(" ".join(w for w in _split_words(fold_text(n))))
    return frozenset(out)


def _split_words(t: str) -> list[str]:
    import re

    return [w for w in re.split(r"[^а-я0-9]+", t) if w]


def _district_table(city) -> pd.DataFrame:
    d = city.districts
    metric = d.to_crs(city.epsg)
    rows = []
    for i in range(len(d)):
        g = metric.geometry.iloc[i]
        rp = g.representative_point()
        r = float(shapely.hausdorff_distance(shapely.points(rp.x, rp.y), g.boundary)) if not g.is_empty else 0.0
        lon, lat = city.to_wgs84(rp.x, rp.y)
        forms = set()
        for col in ("name_kk", "name_ru", "name_en", "district"):
            v = d[col].iloc[i]
            if isinstance(v, str) and v:
                toks = [stem(w) for w in _split_words(fold_text(v.replace("_", " ")))
                        if w not in ("раион", "аудан", "ауданы", "district")]
                if toks:
                    forms.add(" ".join(toks))
        for k in sorted(forms):
            rows.append((d["district"].iloc[i], k, float(lat), float(lon), r))
    return pd.DataFrame(rows, columns=["district", "key", "lat", "lon", "uncertainty_m"])


def _read_aliases(path: Path, city_key: str) -> list[tuple[str, str]]:
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as f:
        rows = [r for r in csv.reader(f) if r and not r[0].startswith("#")]
    head = rows[0]
    ix = {h: i for i, h in enumerate(head)}
    for need in ("city", "old_name", "new_name"):
        if need not in ix:
            raise ValueError(f"{path}: missing column {need!r}")
    return [(r[ix["old_name"]], r[ix["new_name"]]) for r in rows[1:]
            if r[ix["city"]] in (city_key, "*")]


def _read_points_table(src, what: str, need: tuple[str, ...]) -> pd.DataFrame:
    if src is None:
        return pd.DataFrame(columns=list(need))
    if isinstance(src, pd.DataFrame):
        df = src.copy()
        if "geometry" in df.columns and ("lat" not in df.columns):
            df["lon"] = shapely.get_x(df.geometry.values)
            df["lat"] = shapely.get_y(df.geometry.values)
    else:
        p = Path(src)
        if p.suffix.lower() in (".geojson", ".json", ".gpkg"):
            import geopandas as gpd

            g = gpd.read_file(p).to_crs(4326)
            df = pd.DataFrame(g.drop(columns="geometry"))
            df["lon"], df["lat"] = g.geometry.x.to_numpy(), g.geometry.y.to_numpy()
        elif p.suffix.lower() == ".parquet":
            df = pd.read_parquet(p)
        else:
            df = pd.read_csv(p, dtype=str, keep_default_na=False)
    miss = [c for c in need if c not in df.columns]
    if miss:
        raise ValueError(f"{what}: missing column(s) {miss}; need {list(need)}")
    for c in ("lat", "lon"):
        v = pd.to_numeric(df[c].astype(str).str.replace(",", ".", regex=False), errors="coerce")
        bad = np.flatnonzero(~np.isfinite(v.to_numpy(float)))
        if len(bad):
            raise ValueError(f"{what}: row {int(bad[0]) + 2}: field {c!r} is not a number ({df[c].iloc[bad[0]]!r})")
        df[c] = v.to_numpy(float)
    return df


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
    max_gap_m : float
        Jump threshold for splitting street lines, metres.

    Returns
    -------
    Gazetteer
    """
    c = get_city(city)
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


def _add_lone_streets(seg: pd.DataFrame, sp: Path) -> pd.DataFrame:
    """``seg`` plus the streets of ``sp`` whose every vertex is a jump (no segment left): one-way
    entries become lines, the rest vertex sets."""
    raw_streets = json.loads(sp.read_text(encoding="utf-8"))["streets"]
    have = set(seg["name"])
    lone: dict[str, list] = {}
    for s_ in raw_streets:
        nm = s_.get("name")
        pts = s_.get("points") or []
        if nm and nm not in have and pts:
            lone.setdefault(nm, []).append([(p["lng"], p["lat"]) for p in pts])
    if lone:
        import geopandas as gpd

        def _lone_geom(entries):
            # an entry of 2–3 points is one OSM way (a way has at least two nodes): a line, even
            # though its vertices are farther apart than the jump threshold; longer entries whose
            # every step is a jump stay a set of points
            lines = [shapely.linestrings(np.asarray(e, float)) for e in entries if 2 <= len(e) <= 3]
            pts = [q for e in entries if not 2 <= len(e) <= 3 for q in e]
            if not pts:
                return lines[0] if len(lines) == 1 else shapely.multilinestrings(lines)
            mp = shapely.multipoints(np.asarray(pts, float))
            return shapely.union_all([mp, *lines]) if lines else mp

        extra = gpd.GeoDataFrame({"name": list(lone), "part": 0},
                                 geometry=[_lone_geom(v) for v in lone.values()], crs=4326)
        extra["length_m"] = 0.0
        extra.insert(0, "street_id", np.arange(len(seg), len(seg) + len(extra)))
        seg = pd.concat([seg, extra], ignore_index=True)
        seg = gpd.GeoDataFrame(seg, geometry="geometry", crs=4326)
    return seg


def _street_entities(names, keyinfo: dict) -> tuple[list[dict], dict[str, int]]:
    """Street entities (one per canonical key and kind) and the entity of each name; an untyped
    name joins the one typed kind its key has ("Промзона" is "улица Промзона")."""
    ent_of_name: dict[str, int] = {}
    ent_rows: list[dict] = []
    ent_index: dict[tuple, int] = {}
    typed_kinds: dict[str, set] = {}
    for toks, kind in keyinfo.values():
        if kind is not None:
            typed_kinds.setdefault(" ".join(sorted(toks)), set()).add(kind)
    for n in names:
        toks, kind = keyinfo[n]
        if not toks:
            continue
        key = " ".join(sorted(toks))
        if kind is None and len(typed_kinds.get(key, ())) == 1:
            kind = next(iter(typed_kinds[key]))  # "Промзона" is the same street as "улица Промзона"
        ek = (key, kind)
        if ek not in ent_index:
            ent_index[ek] = len(ent_rows)
            ent_rows.append({"name": n, "names": [n], "key": ek[0], "tokens": " ".join(toks), "kind": kind})
        else:
            ent_rows[ent_index[ek]]["names"].append(n)
        ent_of_name[n] = ent_index[ek]
    return ent_rows, ent_of_name


def _crossings_table(ip: Path, c, ent_of_name: dict[str, int]) -> pd.DataFrame:
    """Street crossings from the intersections JSON ``ip``: one row per street pair and
    :data:`CROSSING_CELL_M` cell, ``a, b, lat, lon, n, radius_m, district``."""
    cr_cols = ["a", "b", "lat", "lon", "n", "radius_m", "district"]
    if not ip.exists():
        return pd.DataFrame(columns=cr_cols)
    raw = json.loads(ip.read_text(encoding="utf-8"))
    recs = [(k, p.get("crossroad") or "", p["lat"], p["lng"]) for k, v in raw.items() for p in v]
    it = pd.DataFrame(recs, columns=["street", "crossroad", "lat", "lon"])
    a = it["street"].map(ent_of_name)
    b = it["crossroad"].map(ent_of_name)
    keep = a.notna() & b.notna() & (a != b)
    it = it[keep].copy()
    a, b = a[keep].astype(int).to_numpy(), b[keep].astype(int).to_numpy()
    it["a"], it["b"] = np.minimum(a, b), np.maximum(a, b)
    x, y = c.to_metric(it["lon"].to_numpy(), it["lat"].to_numpy())
    it["x"], it["y"] = x, y
    it["gx"] = np.floor(np.asarray(x) / CROSSING_CELL_M).astype(np.int64)
    it["gy"] = np.floor(np.asarray(y) / CROSSING_CELL_M).astype(np.int64)
    g = it.groupby(["a", "b", "gx", "gy"], sort=True)
    agg = g.agg(x=("x", "mean"), y=("y", "mean"), n=("x", "size")).reset_index()
    it = it.merge(agg[["a", "b", "gx", "gy", "x", "y"]].rename(columns={"x": "mx", "y": "my"}),
                  on=["a", "b", "gx", "gy"])
    it["d"] = np.hypot(it["x"] - it["mx"], it["y"] - it["my"])
    spread = it.groupby(["a", "b", "gx", "gy"], sort=True)["d"].max().to_numpy()
    lo, la = c.to_wgs84(agg["x"].to_numpy(), agg["y"].to_numpy())
    crossings = pd.DataFrame({"a": agg["a"].astype(int), "b": agg["b"].astype(int),
                              "lat": np.asarray(la, float), "lon": np.asarray(lo, float),
                              "n": agg["n"].astype(int), "radius_m": CROSSING_RADIUS_M + spread})
    crossings["district"] = pd.array(c.assign_district(crossings["lat"].to_numpy(), crossings["lon"].to_numpy()), dtype="string")
    crossings = crossings.sort_values(["a", "b", "n"], ascending=[True, True, False]).reset_index(drop=True)
    return crossings

def _poi_table(pois, lex) -> pd.DataFrame:
    """Landmarks ``key, name, kind, lat, lon, uncertainty_m`` from a points table (see
    :func:`build_gazetteer`); rows whose name gives no key are dropped."""
    poi = _read_points_table(pois, "pois", ("name", "lat", "lon"))
    if not len(poi):
        return pd.DataFrame({"key": pd.Series(dtype=str), "name": pd.Series(dtype=str), "kind": pd.Series(dtype=str),
                             "lat": pd.Series(dtype=float), "lon": pd.Series(dtype=float),
                             "uncertainty_m": pd.Series(dtype=float)})
    keys, kinds = [], []
    for n in poi["name"].astype(str):
        p = parse_address(n, lex=lex)
        toks = p.landmark or p.street or [stem(w) for w in _split_words(fold_text(n))]
        keys.append(" ".join(sorted(toks)))
        kinds.append(p.landmark_kind or "")
    unc = pd.to_numeric(poi["uncertainty_m"], errors="coerce").fillna(50.0).to_numpy(float) \
        if "uncertainty_m" in poi.columns else np.full(len(poi), 50.0)
    poi = pd.DataFrame({"key": keys, "name": poi["name"].astype(str).to_numpy(),
                        "kind": poi["kind"].astype(str).to_numpy() if "kind" in poi.columns else kinds,
                        "lat": poi["lat"].to_numpy(float), "lon": poi["lon"].to_numpy(float),
                        "uncertainty_m": unc})
    poi = poi[poi["key"] != ""].reset_index(drop=True)
    return poi


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
