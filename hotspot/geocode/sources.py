"""Gazetteer sources → tables: district names, the alias file, address/POI point files, streets
without segments, street entities, crossings and landmarks (used by :func:`.gazetteer.build_gazetteer`).
"""

import csv
import json
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from qauipsiz.hotspot.geocode.letters import fold_text
from qauipsiz.hotspot.geocode.lexicon import stem
from qauipsiz.hotspot.geocode.normalize import parse_address

CROSSING_CELL_M = 200.0
"""Intersection points of one street pair are merged within grid cells of this size (metres)."""

CROSSING_RADIUS_M = 30.0
"""Base uncertainty of an intersection point (metres): half a wide crossing."""


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


def one_point_per_address(adr: pd.DataFrame, city) -> pd.DataFrame:
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


def user_city_extras(city) -> dict:
    """What a user city's folder holds for its gazetteer besides the street lines: ``aliases``
    (path of ``aliases.csv``), ``addresses`` (``addresses.parquet`` of ``qauipsiz city import-osm``
    or ``import-addresses``, one point per street and house:
    :func:`one_point_per_address`) and ``pois`` (named rows of
    ``pois.parquet``); ``None`` for each one absent.  :func:`.gazetteer.build_gazetteer` uses them
    when not given, so a rebuild (a new gazetteer format, a street-layer import) keeps them."""
    folder = Path(city.folder)
    out: dict = {"aliases": None, "addresses": None, "pois": None}
    if (folder / "aliases.csv").exists():
        out["aliases"] = folder / "aliases.csv"
    if (folder / "addresses.parquet").exists():
        a = pd.read_parquet(folder / "addresses.parquet")
        if len(a):
            out["addresses"] = one_point_per_address(a, city)
    if (folder / "pois.parquet").exists():
        p = pd.read_parquet(folder / "pois.parquet")
        p = p.loc[p["name"].astype(str) != "", ["name", "kind", "lat", "lon"]]
        if len(p):
            out["pois"] = p.reset_index(drop=True)
    return out


def with_user_city_extras(city, addresses, pois, aliases):
    """``(addresses, pois, aliases)`` with each one not given (``None``) taken from a user city's
    folder (:func:`user_city_extras`); a shipped city's are returned unchanged."""
    if not city.user:
        return addresses, pois, aliases
    extra = user_city_extras(city)
    return (extra["addresses"] if addresses is None else addresses, extra["pois"] if pois is None else pois,
            aliases or extra["aliases"])
