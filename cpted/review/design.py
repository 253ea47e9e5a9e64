"""Design review: check a site design (GeoJSON) against a YAML rule set of crime-prevention norms.

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

Each rule returns ``PASS``, ``FAIL`` or ``NOT_CHECKABLE`` with the measured and required values and,
when it fails, the failing geometry (GeoJSON, EPSG:4326).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import yaml

from qauipsiz.cpted import cameras, lighting
from qauipsiz.cpted.norms import lamp_classes, lighting_norms

RULES_DIR = Path(__file__).resolve().parent / "rules"
KINDS = {"site": "Polygon", "building": "Polygon", "entrance": "Point", "lamp": "Point", "camera": "Point",
         "fence": "LineString", "playground": "Polygon", "parking": "Polygon", "path": "LineString"}
_GT = {"Point": (0, 4), "LineString": (1, 5), "Polygon": (3, 6)}
NUMERIC = {"lamp": ("height_m", "flux_lm"), "camera": ("bearing_deg", "fov_deg", "resolution_px", "height_m"),
           "building": ("levels",)}
PASS, FAIL, NOT_CHECKABLE = "PASS", "FAIL", "NOT_CHECKABLE"


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
        return np.asarray(self.parts[kind].geometry.values, dtype=object)


def _utm_epsg(lon: float, lat: float) -> int:
    return (32600 if lat >= 0 else 32700) + int((lon + 180) // 6) + 1


def load_design(src, city: str | None = None) -> Design:
    """Read and validate a design GeoJSON (path, JSON text or dict).

    Raises ``ValueError`` naming the feature (0-based), the field and the reason for: a missing or
    unknown ``kind``, a geometry of the wrong type, a non-numeric number, coordinates that are not
    decimal degrees, or a design without a ``site``.
    """
    if isinstance(src, dict):
        gj = src
        name = gj.get("name", "")
    else:
        p = Path(src) if not (isinstance(src, str) and src.lstrip().startswith("{")) else None
        txt = p.read_text(encoding="utf-8") if p else src
        try:
            gj = json.loads(txt)
        except json.JSONDecodeError as e:
            raise ValueError(f"design {src}: not valid JSON ({e})") from None
        name = gj.get("name") or (p.stem if p else "")
    feats = gj.get("features")
    if not isinstance(feats, list) or not feats:
        raise ValueError("design: not a FeatureCollection with features")
    rows, geoms = [], []
    for i, f in enumerate(feats):
        props = dict(f.get("properties") or {})
        kind = str(props.get("kind", "")).strip().lower()
        if kind not in KINDS:
            raise ValueError(f"design feature {i}, field 'kind': {props.get('kind')!r} is not one of "
                             f"{', '.join(KINDS)}")
        try:
            g = shapely.geometry.shape(f["geometry"])
        except Exception as e:  # noqa: BLE001
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
    parts = {}
    for kind in KINDS:
        sub = m[m["kind"] == kind].reset_index(drop=True)
        parts[kind] = sub
    lamps = parts["lamp"]
    if len(lamps):
        lamps = lamps.copy()
        for col in ("height_m", "flux_lm", "lamp_class"):
            if col not in lamps.columns:
                lamps[col] = np.nan
        cls = lamp_classes().set_index("lamp_class")
        for col in ("flux_lm", "height_m"):
            miss = lamps[col].isna() & lamps["lamp_class"].isin(cls.index)
            lamps.loc[miss, col] = cls.loc[lamps.loc[miss, "lamp_class"], col].to_numpy()
        lamps["working"] = lamps["working"].map(_truthy) if "working" in lamps.columns else True
        parts["lamp"] = lamps
    return Design(parts, epsg, name)


def _truthy(v) -> bool:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return True
    return str(v).strip().lower() in ("true", "1", "yes", "t", "да")


def load_rules(path: str | Path | None = None) -> list[dict]:
    """Rule set from YAML (``rules: [{id, check, params, title, source}]``); default ``cpted/rules/default.yaml``."""
    cfg = yaml.safe_load(Path(path or RULES_DIR / "default.yaml").read_text(encoding="utf-8"))
    rules = cfg.get("rules") or []
    for i, r in enumerate(rules):
        for k in ("id", "check", "source"):
            if not r.get(k):
                raise ValueError(f"rule set {path}: rule {i} has no {k!r}")
        if r["check"] not in CHECKS:
            raise ValueError(f"rule {r['id']}: unknown check {r['check']!r}; known: {', '.join(CHECKS)}")
    return rules


# ----------------------------------------------------------------------------- shared measurements

def lux_field(d: Design, cell_m: float = 1.0):
    """Illuminance on a ``cell_m`` grid over the site (buildings excluded), cached on the design."""
    if "lux" in d.cache:
        return d.cache["lux"]
    site = shapely.union_all(d.geoms("site"))
    grid = lighting.sample_grid([site], cell_m, exclude=d.geoms("building"))
    lx, ly, lh, li = lamp_arrays(d)
    lux = lighting.illuminance(grid.x, grid.y, lx, ly, lh, li) if lx is not None else None
    d.cache["lux"] = (grid, lux)
    return grid, lux


def lamp_arrays(d: Design):
    lamps = d["lamp"]
    if len(lamps) == 0 or lamps[["height_m", "flux_lm"]].isna().any().any():
        return None, None, None, None
    return lighting.lamps_arrays(lamps, working_only=True)


def _lux_at(d: Design, x, y):
    lx, ly, lh, li = lamp_arrays(d)
    return lighting.illuminance(x, y, lx, ly, lh, li)


def _no_lamps(d: Design) -> str | None:
    if len(d["lamp"]) == 0:
        return "the design has no lamp features (no lighting plan)"
    bad = d["lamp"][["height_m", "flux_lm"]].isna().any(axis=1).to_numpy()
    if bad.any():
        return f"lamp feature {int(d['lamp']['_feature'].iloc[int(np.flatnonzero(bad)[0])])} lacks height_m or flux_lm"
    return None


def _cams(d: Design):
    cam = d["camera"]
    need = ("bearing_deg", "fov_deg", "resolution_px")
    if len(cam) == 0:
        return None, "no camera features"
    miss = [c for c in need if c not in cam.columns]
    if miss:
        return None, f"cameras lack {', '.join(miss)}"
    bad = cam[list(need)].isna().any(axis=1).to_numpy()
    if bad.any():
        return None, f"camera feature {int(cam['_feature'].iloc[int(np.flatnonzero(bad)[0])])} lacks {', '.join(need)}"
    st = cam["status"].astype(str).str.lower().to_numpy() if "status" in cam.columns else np.full(len(cam), "working")
    return cam[st != "broken"], None


def _occluder(d: Design) -> cameras.Occluder:
    if "occ" not in d.cache:
        d.cache["occ"] = cameras.Occluder(d.geoms("building"))
    return d.cache["occ"]


_KIND_NAMES = {"playground": ("балалар алаңы", "детская площадка"), "parking": ("автотұрақ", "автостоянка"),
               "paths": ("жаяу жолдар", "пешеходные дорожки"), "entrances": ("кіреберістер", "входы"),
               "cameras": ("камералар", "камеры")}
_DETAILS = [  # English detail pattern → (kk, ru) templates; groups by position, {k_*}/{l_*} for kinds / levels
    (r"the design has no lamp features \(no lighting plan\)", "жобада шамдар жоқ (жарықтандыру жоспары жоқ)",
     "в проекте нет светильников (нет плана освещения)"),
    (r"lamp feature (\d+) lacks height_m or flux_lm", "шамда (нысан {0}) height_m немесе flux_lm жоқ",
     "у светильника (объект {0}) нет height_m или flux_lm"),
    (r"the design has no buildings or entrances", "жобада ғимараттар мен кіреберістер жоқ", "в проекте нет зданий и входов"),
    (r"the design has no (\w+)", "жобада жоқ: {k_kk0}", "в проекте нет: {k_ru0}"),
    (r"no camera features", "жобада камера жоқ", "в проекте нет камер"),
    (r"cameras lack (.+)", "камераларда өрістер жоқ: {0}", "у камер нет полей: {0}"),
    (r"camera feature (\d+) lacks (.+)", "камерада (нысан {0}) жоқ: {1}", "у камеры (объект {0}) нет: {1}"),
    (r"some cameras lack the 'owner' property", "кейбір камераларда иесі (owner) көрсетілмеген",
     "у части камер не указан владелец (owner)"),
    (r"some entrances lack the 'access' property", "кейбір кіреберістерде кіру түрі (access) көрсетілмеген",
     "у части входов не указан тип доступа (access)"),
    (r"average per (\w+): (.*)", "әр нысан бойынша орташа ({k_kk0}): {1} лк", "среднее по каждому объекту ({k_ru0}): {1} лк"),
    (r"(\d+) of (\d+) entrances below norm", "{1} кіреберістің {0}-і нормадан төмен", "{0} из {1} входов ниже нормы"),
    (r"average along each path: (.*)", "әр жол бойымен орташа: {0} лк", "среднее вдоль каждой дорожки: {0} лк"),
    (r"(\d+) stretch\(es\) below (\S+) lx longer than (\S+) m", "{1} лк-дан күңгірт, {2} м-ден ұзын учаскелер: {0}",
     "участков темнее {1} лк длиннее {2} м: {0}"),
    (r"(\d+) of (\d+) entrances not seen at (\w+)", "{1} кіреберістің {0}-і «{l_kk2}» деңгейінде көрінбейді",
     "{0} из {1} входов не видны на уровне «{l_ru2}»"),
    (r"(\d+) of (\d+) cameras not connected to the ЦОУ", "{1} камераның {0}-і ЖБО-ға (ЦОУ) қосылмаған",
     "{0} из {1} камер не подключены к ЦОУ"),
    (r"share of each (\w+) seen at (\w+): (.*)", "әр нысанның ({k_kk0}) «{l_kk1}» деңгейінде көрінетін үлесі: {2}",
     "доля каждого объекта ({k_ru0}), видимая на уровне «{l_ru1}»: {2}"),
    (r"overlooked share per playground: (.*)", "алаңның терезелер мен кіреберістерден көрінетін үлесі: {0}",
     "доля площадки в поле зрения окон и входов: {0}"),
    (r"(\d+) of (\d+) entrances open", "{1} кіреберістің {0}-і бақылаусыз", "{0} из {1} входов без контроля доступа"),
]


def localise_detail(text: str) -> dict[str, str]:
    """A rule's English detail string in kk / ru / en (English where no pattern matches)."""
    import re

    from qauipsiz.cpted.norms import dori_levels

    lv = dori_levels().set_index("level")
    for pat, kk, ru in _DETAILS:
        m = re.fullmatch(pat, text)
        if not m:
            continue
        g = m.groups()
        extra = {}
        for i, v in enumerate(g):
            k = _KIND_NAMES.get(v, (v, v))
            extra[f"k_kk{i}"], extra[f"k_ru{i}"] = k
            extra[f"l_kk{i}"] = lv.loc[v, "name_kk"] if v in lv.index else v
            extra[f"l_ru{i}"] = lv.loc[v, "name_ru"] if v in lv.index else v
        return {"kk": kk.format(*g, **extra), "ru": ru.format(*g, **extra), "en": text}
    return {"kk": text, "ru": text, "en": text}


def _result(rule, status, measured=None, required=None, unit="", detail="", failing=None):
    return {"status": status, "measured": measured, "required": required, "unit": unit, "detail": detail,
            "failing": failing}


# ----------------------------------------------------------------------------- checks

def check_zone_lighting(d: Design, rule: dict, norms: pd.DataFrame) -> dict:
    """Average illuminance over each polygon of ``kind`` ≥ the zone norm (lux)."""
    p = rule.get("params") or {}
    kind, zone = p["kind"], p["zone"]
    req = lighting.zone_norms(norms)[zone]
    polys = d.geoms(kind)
    if len(polys) == 0:
        return _result(rule, NOT_CHECKABLE, None, req, "lx", f"the design has no {kind}")
    why = _no_lamps(d)
    if why:
        return _result(rule, NOT_CHECKABLE, None, req, "lx", why)
    grid, lux = lux_field(d)
    owner = grid.burn(polys, np.arange(1, len(polys) + 1))
    avg = np.array([lux[owner == k + 1].mean() if (owner == k + 1).any() else
                    float(_lux_at(d, [shapely.centroid(g).x], [shapely.centroid(g).y])[0])
                    for k, g in enumerate(polys)])
    bad = avg < req
    return _result(rule, FAIL if bad.any() else PASS, round(float(avg.min()), 2), req, "lx",
                   f"average per {kind}: " + ", ".join(f"{a:.1f}" for a in avg), polys[bad] if bad.any() else None)


def check_entrance_lighting(d: Design, rule: dict, norms: pd.DataFrame) -> dict:
    """Average illuminance within ``radius_m`` of each entrance ≥ its norm (main / secondary)."""
    p = rule.get("params") or {}
    ent = d["entrance"]
    zn = lighting.zone_norms(norms)
    if len(ent) == 0:
        return _result(rule, NOT_CHECKABLE, None, zn["entrance_main"], "lx", "the design has no entrances")
    why = _no_lamps(d)
    if why:
        return _result(rule, NOT_CHECKABLE, None, zn["entrance_main"], "lx", why)
    main = ent["main"].map(_truthy).to_numpy() if "main" in ent.columns else np.ones(len(ent), bool)
    req = np.where(main, zn["entrance_main"], zn["entrance_secondary"])
    r = float(p.get("radius_m", 3.0))
    xy = shapely.get_coordinates(d.geoms("entrance"))
    ang = np.linspace(0, 2 * np.pi, 12, endpoint=False)
    ring = [(0.0, 0.0)] + [(r * np.cos(a) * f, r * np.sin(a) * f) for f in (0.5, 1.0) for a in ang]
    off = np.array(ring)
    px = (xy[:, 0, None] + off[None, :, 0]).ravel()
    py = (xy[:, 1, None] + off[None, :, 1]).ravel()
    avg = _lux_at(d, px, py).reshape(len(xy), -1).mean(axis=1)
    bad = avg < req
    worst = int(np.argmin(avg - req))
    return _result(rule, FAIL if bad.any() else PASS, round(float(avg[worst]), 2), float(req[worst]), "lx",
                   f"{int(bad.sum())} of {len(ent)} entrances below norm", d.geoms("entrance")[bad] if bad.any() else None)


def _path_points(d: Design, step: float):
    paths = d.geoms("path")
    lines = shapely.get_parts(paths)
    lengths = shapely.length(lines)
    n = np.maximum(np.ceil(lengths / step).astype(int), 1) + 1
    li = np.repeat(np.arange(len(lines)), n)
    k = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
    dist = k / (n[li] - 1) * lengths[li]
    pts = shapely.line_interpolate_point(lines[li], dist)
    return lines, li, dist, shapely.get_x(pts), shapely.get_y(pts)


def check_path_lighting(d: Design, rule: dict, norms: pd.DataFrame) -> dict:
    """Average illuminance along all footpaths ≥ the walking-path norm."""
    req = lighting.zone_norms(norms)[(rule.get("params") or {}).get("zone", "walking_path")]
    if len(d["path"]) == 0:
        return _result(rule, NOT_CHECKABLE, None, req, "lx", "the design has no paths")
    why = _no_lamps(d)
    if why:
        return _result(rule, NOT_CHECKABLE, None, req, "lx", why)
    lines, li, _, x, y = _path_points(d, 1.0)
    e = _lux_at(d, x, y)
    per = np.bincount(li, weights=e) / np.bincount(li)
    bad = per < req
    return _result(rule, FAIL if bad.any() else PASS, round(float(per.min()), 2), req, "lx",
                   f"average along each path: {', '.join(f'{v:.1f}' for v in per)}", lines[bad] if bad.any() else None)


def check_unlit_path_run(d: Design, rule: dict, norms: pd.DataFrame) -> dict:
    """Longest continuous path stretch below the walking-path norm ≤ ``max_run_m`` metres."""
    p = rule.get("params") or {}
    thr = lighting.zone_norms(norms)[p.get("zone", "walking_path")]
    max_run = float(p.get("max_run_m", 20.0))
    if len(d["path"]) == 0:
        return _result(rule, NOT_CHECKABLE, None, max_run, "m", "the design has no paths")
    why = _no_lamps(d)
    if why:
        return _result(rule, NOT_CHECKABLE, None, max_run, "m", why)
    from shapely.ops import substring

    lines, li, dist, x, y = _path_points(d, float(p.get("step_m", 1.0)))
    dark = _lux_at(d, x, y) < thr
    runs = []  # (line, start, end)
    for k in range(len(lines)):
        sel = np.flatnonzero(li == k)
        dk, ds = dark[sel], dist[sel]
        edges = np.diff(np.r_[0, dk.astype(int), 0])
        starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
        for s, e in zip(starts, ends, strict=True):
            a = ds[max(s - 1, 0)] if s > 0 else ds[s]
            b = ds[min(e + 1, len(ds) - 1)] if e < len(ds) - 1 else ds[e]
            runs.append((k, float(a), float(b)))
    longest = max((b - a for _, a, b in runs), default=0.0)
    bad = [substring(lines[k], a, b) for k, a, b in runs if b - a > max_run]
    return _result(rule, FAIL if bad else PASS, round(longest, 1), max_run, "m",
                   f"{len(bad)} stretch(es) below {thr:g} lx longer than {max_run:g} m",
                   np.array(bad, dtype=object) if bad else None)


def check_entrance_camera(d: Design, rule: dict, norms=None) -> dict:
    """Every entrance inside the occluded field of view of a working camera at the DORI level."""
    level = (rule.get("params") or {}).get("level", "recognise")
    ent = d["entrance"]
    if len(ent) == 0:
        return _result(rule, NOT_CHECKABLE, None, 1.0, "share", "the design has no entrances")
    cam, why = _cams(d)
    if why and len(d["camera"]):
        return _result(rule, NOT_CHECKABLE, None, 1.0, "share", why)
    xy = shapely.get_coordinates(d.geoms("entrance"))
    seen = np.zeros(len(ent), bool)
    if cam is not None and len(cam):
        m = _cam_matrix(d, cam, level, xy)
        seen[m.indices] = True
    share = float(seen.mean())
    return _result(rule, PASS if seen.all() else FAIL, round(share, 3), 1.0, "share",
                   f"{int((~seen).sum())} of {len(ent)} entrances not seen at {level}",
                   d.geoms("entrance")[~seen] if (~seen).any() else None)


def _cam_matrix(d: Design, cam, level, target_xy):
    occ = _occluder(d)
    cxy = shapely.get_coordinates(np.asarray(cam.geometry.values, dtype=object))
    b = cam["bearing_deg"].to_numpy(float)
    x, y = cameras.mount_on_facade(cxy[:, 0], cxy[:, 1], b, occ)
    return cameras.coverage_matrix(np.c_[x, y], b, cam["fov_deg"].to_numpy(float),
                                   cam["resolution_px"].to_numpy(float), level, target_xy, occ)


def check_cameras_cou(d: Design, rule: dict, norms=None) -> dict:
    """Every camera has ``owner = public_cou`` (connected to the police operational control centre)."""
    cam = d["camera"]
    if len(cam) == 0:
        return _result(rule, NOT_CHECKABLE, None, 1.0, "share", "the design has no cameras")
    if "owner" not in cam.columns or cam["owner"].isna().any():
        return _result(rule, NOT_CHECKABLE, None, 1.0, "share", "some cameras lack the 'owner' property")
    ok = cam["owner"].astype(str).str.lower().to_numpy() == "public_cou"
    return _result(rule, PASS if ok.all() else FAIL, round(float(ok.mean()), 3), 1.0, "share",
                   f"{int((~ok).sum())} of {len(cam)} cameras not connected to the ЦОУ",
                   d.geoms("camera")[~ok] if (~ok).any() else None)


def check_zone_camera(d: Design, rule: dict, norms=None) -> dict:
    """Share of each ``kind`` polygon seen by working cameras at a DORI level ≥ ``min_share``."""
    p = rule.get("params") or {}
    kind, level, need = p["kind"], p.get("level", "observe"), float(p.get("min_share", 0.5))
    polys = d.geoms(kind)
    if len(polys) == 0:
        return _result(rule, NOT_CHECKABLE, None, need, "share", f"the design has no {kind}")
    cam, why = _cams(d)
    if why and len(d["camera"]):
        return _result(rule, NOT_CHECKABLE, None, need, "share", why)
    grid, _ = lux_field(d)
    owner = grid.burn(polys, np.arange(1, len(polys) + 1))
    sel = np.flatnonzero(owner > 0)
    seen = np.zeros(len(sel), bool)
    if cam is not None and len(cam) and len(sel):
        m = _cam_matrix(d, cam, level, np.c_[grid.x[sel], grid.y[sel]])
        seen[m.indices] = True
    share = np.array([seen[owner[sel] == k + 1].mean() if (owner[sel] == k + 1).any() else 0.0
                      for k in range(len(polys))])
    bad = share < need
    return _result(rule, FAIL if bad.any() else PASS, round(float(share.min()), 3), need, "share",
                   f"share of each {kind} seen at {level}: " + ", ".join(f"{s:.0%}" for s in share),
                   polys[bad] if bad.any() else None)


def check_playground_overlook(d: Design, rule: dict, norms=None) -> dict:
    """Share of playground area with a clear line of sight within ``distance_m`` of a residential
    facade (windows) or an entrance ≥ ``min_share``."""
    p = rule.get("params") or {}
    dist, need, step = float(p.get("distance_m", 40.0)), float(p.get("min_share", 0.8)), float(p.get("facade_step_m", 4.0))
    polys = d.geoms("playground")
    if len(polys) == 0:
        return _result(rule, NOT_CHECKABLE, None, need, "share", "the design has no playground")
    bld = d["building"]
    if len(bld) == 0 and len(d["entrance"]) == 0:
        return _result(rule, NOT_CHECKABLE, None, need, "share", "the design has no buildings or entrances")
    use = bld["use"].astype(str).str.lower().to_numpy() if "use" in bld.columns else np.full(len(bld), "residential")
    res = np.asarray(bld.geometry.values, dtype=object)[(use == "residential") | (use == "nan")]
    watchers = [shapely.get_coordinates(d.geoms("entrance"))]
    if len(res):
        # facade points every `step` m, 0.5 m outside the wall
        ring = shapely.get_exterior_ring(shapely.get_parts(res))
        ln = shapely.length(ring)
        n = np.maximum((ln / step).astype(int), 4)
        ri = np.repeat(np.arange(len(ring)), n)
        k = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
        pts = shapely.line_interpolate_point(ring[ri], (k + 0.5) / n[ri], normalized=True)
        c = shapely.centroid(shapely.get_parts(res))[ri]
        px, py = shapely.get_x(pts), shapely.get_y(pts)
        vx, vy = px - shapely.get_x(c), py - shapely.get_y(c)
        nv = np.hypot(vx, vy)
        nv[nv == 0] = 1
        watchers.append(np.c_[px + 0.5 * vx / nv, py + 0.5 * vy / nv])
    w = np.concatenate(watchers)
    grid, _ = lux_field(d)
    owner = grid.burn(polys, np.arange(1, len(polys) + 1))
    sel = np.flatnonzero(owner > 0)
    m = cameras.coverage_matrix(w, 0.0, 360.0, 1.0, 1.0, np.c_[grid.x[sel], grid.y[sel]], _occluder(d), range_m=dist)
    seen = np.zeros(len(sel), bool)
    seen[m.indices] = True
    share = np.array([seen[owner[sel] == k + 1].mean() if (owner[sel] == k + 1).any() else 0.0
                      for k in range(len(polys))])
    bad = share < need
    return _result(rule, FAIL if bad.any() else PASS, round(float(share.min()), 3), need, "share",
                   "overlooked share per playground: " + ", ".join(f"{s:.0%}" for s in share),
                   polys[bad] if bad.any() else None)


def check_entrance_access(d: Design, rule: dict, norms=None) -> dict:
    """Every entrance has access control: intercom, guarded or locked."""
    ent = d["entrance"]
    if len(ent) == 0:
        return _result(rule, NOT_CHECKABLE, None, 1.0, "share", "the design has no entrances")
    if "access" not in ent.columns or ent["access"].isna().any():
        return _result(rule, NOT_CHECKABLE, None, 1.0, "share", "some entrances lack the 'access' property")
    ok = ent["access"].astype(str).str.lower().isin(["intercom", "guarded", "locked"]).to_numpy()
    return _result(rule, PASS if ok.all() else FAIL, round(float(ok.mean()), 3), 1.0, "share",
                   f"{int((~ok).sum())} of {len(ent)} entrances open", d.geoms("entrance")[~ok] if (~ok).any() else None)


CHECKS = {
    "zone_lighting": check_zone_lighting, "entrance_lighting": check_entrance_lighting,
    "path_lighting": check_path_lighting, "unlit_path_run": check_unlit_path_run,
    "entrance_camera": check_entrance_camera, "cameras_cou": check_cameras_cou,
    "zone_camera": check_zone_camera, "playground_overlook": check_playground_overlook,
    "entrance_access": check_entrance_access,
}


def review(design, rules: str | Path | list | None = None, *, norms: str | Path | pd.DataFrame | None = None,
           city: str | None = None) -> dict:
    """Review a design against a rule set.

    Parameters
    ----------
    design : Design, path, JSON text or dict
        The design GeoJSON (see the module docstring for its convention).
    rules : path or list, optional
        Rule set YAML or already-loaded rules; default ``cpted/rules/default.yaml``.
    norms : path or DataFrame, optional
        Lighting norm table; default SanPiN 1.2.3685-21 table 5.56.
    city : str, optional
        City key whose UTM zone to use; default the zone of the design's centre.

    Returns
    -------
    dict
        ``{"design", "epsg", "summary": {PASS, FAIL, NOT_CHECKABLE}, "rules": [{"id", "status",
        "measured", "required", "unit", "source", "title_kk", "title_ru", "title_en", "detail" (English),
        "detail_kk", "detail_ru", "detail_en", "failing"}]}``; ``failing`` is a GeoJSON FeatureCollection (EPSG:4326) or ``None``.
    """
    d = design if isinstance(design, Design) else load_design(design, city)
    rl = rules if isinstance(rules, list) else load_rules(rules)
    nt = norms if isinstance(norms, pd.DataFrame) else lighting_norms(norms)
    out = []
    for r in rl:
        res = CHECKS[r["check"]](d, r, nt)
        fail = res.pop("failing")
        fc = None
        if fail is not None and len(fail):
            g = gpd.GeoSeries(np.asarray(fail, dtype=object), crs=d.epsg).to_crs(4326)
            fc = json.loads(g.to_json(drop_id=True))
        title = r.get("title") or {}
        row = {"id": r["id"], "status": res["status"], "measured": res["measured"], "required": res["required"],
               "unit": res["unit"], "source": r["source"],
               **{f"title_{lang}": title.get(lang, r["id"]) for lang in ("kk", "ru", "en")},
               "detail": res["detail"],
               **{f"detail_{lang}": v for lang, v in localise_detail(str(res["detail"])).items()}, "failing": fc}
        out.append(_jsonable(row))
    summary = {s: sum(1 for r in out if r["status"] == s) for s in (PASS, FAIL, NOT_CHECKABLE)}
    return {"design": d.name, "epsg": d.epsg, "summary": summary, "rules": out, "_design": d}


def _jsonable(v):
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.generic):
        return v.item()
    return v


def to_json(result: dict, indent: int | None = 2) -> str:
    """The review result as JSON text (``{"design", "summary", "rules": [...]}``)."""
    return json.dumps({k: v for k, v in result.items() if not k.startswith("_")}, ensure_ascii=False, indent=indent)
