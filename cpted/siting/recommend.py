"""Where to put the next cameras, SOS buttons, police posts and inspector offices — ranked, phased and explained.

Each recommender builds a sparse coverage matrix (candidates × demand), solves it with the lazy
greedy of :mod:`cpted.siting_solvers` (nested, so phase 1 is the best first phase) and checks the
greedy answer against the exact HiGHS optimum, reporting the optimality gap.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely

from qauipsiz.cpted.cameras import Occluder, coverage_matrix, dori_range
from qauipsiz.cpted.siting_solvers import (
    greedy_max_cover,
    greedy_set_cover,
    lscp_exact,
    mclp_exact,
    p_median,
    rank_picks,
)
from qauipsiz.hotspot.cities import get_city
from qauipsiz.hotspot.h3grid import latlng_to_cells
from qauipsiz.hotspot.network import StreetNetwork, coverage_within, load_network

LANGS = ("kk", "ru", "en")
INDOOR_PLACE_TYPES = ("entrance_stairwell", "basement")
"""Place types a street camera cannot see (excluded from camera demand)."""
INSPECTOR_NORM = (3000, 5000)
"""Residents per district inspector in cities (round table 2025, DOMAIN.md §2)."""

SITE_COLUMNS = ["rank", "phase", "lat", "lon", "marginal_gain", "marginal_share", "cumulative_coverage",
                "incidents_new", "dark_new", "kind", "name", "street", "reason", "reason_kk", "reason_ru",
                "reason_en"]


# ---------------------------------------------------------------------------- helpers
def _city(city):
    return get_city(city) if isinstance(city, str) else city


def _xy(gdf, epsg):
    """Metric coordinates of point (or representative points of other) geometries."""
    g = gdf.to_crs(epsg).geometry.values
    g = np.where(shapely.get_type_id(g) == 0, g, shapely.point_on_surface(g))
    return shapely.get_coordinates(g)


def _layer(layers, name):
    import geopandas as gpd

    g = (layers or {}).get(name)
    if g is None:
        return gpd.GeoDataFrame(geometry=[], crs=4326)
    return g


def _clean_incidents(incidents: pd.DataFrame, city) -> pd.DataFrame:
    """Incidents with a usable point inside the city, in schema columns; ValueError on bad input."""
    for col in ("lat", "lon"):
        if col not in incidents.columns:
            raise ValueError(f"incidents: missing column {col!r}")
    df = incidents
    ok = np.isfinite(df["lat"].to_numpy(float)) & np.isfinite(df["lon"].to_numpy(float))
    n_nopoint = int((~ok).sum())
    df = df[ok]
    inside = np.asarray(city.contains(df["lat"].to_numpy(float), df["lon"].to_numpy(float)), bool)
    df = df[inside].copy()
    if "harm_weight" not in df.columns:
        df["harm_weight"] = 1.0
    hw = df["harm_weight"].to_numpy(float)
    bad = np.isinf(hw) | (hw < 0)
    if bad.any():
        raise ValueError(f"incidents row {df.index[bad][0]}: field harm_weight: must be finite and ≥ 0")
    n_missing = int(np.isnan(hw).sum())
    if n_missing:  # unknown severity: count the incident once rather than lose it
        df["harm_weight"] = np.where(np.isnan(hw), 1.0, hw)
    df.attrs = {"incidents_used": len(df), "dropped_no_point": n_nopoint,
                "dropped_outside_city": int((~inside).sum()), "harm_weight_missing": n_missing}
    if "is_dark" not in df.columns:
        if "occurred_at" in df.columns:
            from qauipsiz.hotspot.timeutil import is_dark

            df["is_dark"] = is_dark(df["lat"].to_numpy(float), df["lon"].to_numpy(float), df["occurred_at"])
        else:
            df["is_dark"] = False
    df["is_dark"] = df["is_dark"].fillna(False).astype(bool)
    return df


def cell_demand(incidents: pd.DataFrame, city, res: int = 11, weight=None) -> pd.DataFrame:
    """Aggregate incidents into H3 cells: one demand point per occupied cell.

    Parameters
    ----------
    incidents : DataFrame
        Schema of :mod:`hotspot.schema` (``lat``, ``lon``, ``is_dark`` used).
    city : str or City
    res : int
        H3 resolution (11 ≈ 25 m cells, 10 ≈ 65 m, 9 ≈ 175 m).
    weight : array-like, optional
        Weight per incident (default 1).

    Returns
    -------
    DataFrame
        ``h3, x, y, lat, lon, weight, count, dark`` — ``x, y`` in metres (city UTM) at the
        weighted mean of the cell's incident points, ``dark`` the number of dark incidents.
    """
    c = _city(city)
    n = len(incidents)
    w = np.ones(n) if weight is None else np.asarray(weight, float)
    lat = incidents["lat"].to_numpy(float)
    lon = incidents["lon"].to_numpy(float)
    x, y = c.to_metric(lon, lat)
    cells = latlng_to_cells(lat, lon, res)
    u, inv = np.unique(cells, return_inverse=True)
    inv = inv.ravel()
    ww = np.where(w > 0, w, 1e-12)  # positions use a tiny weight for zero-weight incidents
    sw = np.bincount(inv, ww, len(u))
    out = pd.DataFrame({
        "h3": u,
        "x": np.bincount(inv, ww * x, len(u)) / sw,
        "y": np.bincount(inv, ww * y, len(u)) / sw,
        "weight": np.bincount(inv, w, len(u)),
        "count": np.bincount(inv, minlength=len(u)),
        "dark": np.bincount(inv, incidents["is_dark"].to_numpy(bool).astype(float), len(u)).astype(int),
    })
    out["lon"], out["lat"] = c.to_wgs84(out["x"].to_numpy(), out["y"].to_numpy())
    return out


def _phases(budget: int, phases) -> np.ndarray:
    """Phase number (1-based) of each rank 1..budget."""
    if phases is None:
        phases = 3 if budget >= 6 else 1
    if isinstance(phases, int | np.integer):
        k = max(1, min(int(phases), max(budget, 1)))
        sizes = np.full(k, budget // k)
        sizes[: budget % k] += 1
    else:
        sizes = np.asarray(list(phases), int)
        if (sizes <= 0).any():
            raise ValueError(f"phases {list(phases)}: every phase needs at least one site")
        if sizes.sum() < budget:
            sizes = np.r_[sizes, budget - sizes.sum()]
    return np.repeat(np.arange(1, len(sizes) + 1), sizes)[:budget]


def _nearest_street(city, x, y) -> np.ndarray:
    from qauipsiz.hotspot.streets import load_streets

    try:
        s = load_streets(city.key).to_crs(city.epsg)
    except ValueError:
        return np.full(len(x), "", dtype=object)
    tree = shapely.STRtree(s.geometry.values)
    idx = tree.nearest(shapely.points(np.c_[x, y]))
    return s["name"].to_numpy(object)[idx] if len(x) else np.zeros(0, object)


def _fmt_int(v) -> str:
    return f"{int(round(v)):,}".replace(",", " ")


REASONS = {
    "camera": {
        "en": "Phase {phase}, #{rank}: would see {inc} recorded incidents ({dark} after dark) that no working "
              "camera covers — {share:.1f}% of the harm-weighted camera demand{street}{bearing}; coverage rises to {cum:.1f}%.",
        "ru": "Этап {phase}, №{rank}: охватит {inc} зарегистрированных происшествий ({dark} в тёмное время), которые не "
              "видит ни одна работающая камера, — {share:.1f}% взвешенного по вреду спроса{street}{bearing}; охват вырастет до {cum:.1f}%.",
        "kk": "{phase}-кезең, №{rank}: жұмыс істеп тұрған камералар көрмейтін {inc} тіркелген оқиғаны қамтиды "
              "(оның {dark} қараңғыда) — зиянға қарай өлшенген сұраныстың {share:.1f}%{street}{bearing}; қамту {cum:.1f}% дейін өседі.",
    },
    "repair": {
        "en": "Phase {phase}, #{rank}: repair the broken camera here — it would again see {inc} recorded incidents "
              "({dark} after dark), {share:.1f}% of the demand{street}; coverage rises to {cum:.1f}%.",
        "ru": "Этап {phase}, №{rank}: отремонтировать неработающую камеру — она снова охватит {inc} происшествий "
              "({dark} в тёмное время), {share:.1f}% спроса{street}; охват вырастет до {cum:.1f}%.",
        "kk": "{phase}-кезең, №{rank}: істен шыққан камераны жөндеу — ол қайтадан {inc} оқиғаны қамтиды "
              "(оның {dark} қараңғыда), сұраныстың {share:.1f}%{street}; қамту {cum:.1f}% дейін өседі.",
    },
    "sos": {
        "en": "Phase {phase}, #{rank}: {kind_en} — within {radius} m walk of {inc} street or violent crimes "
              "({dark} after dark) that no working button reaches, {share:.1f}% of the demand{street}; coverage rises to {cum:.1f}%.",
        "ru": "Этап {phase}, №{rank}: {kind_ru} — в {radius} м пешком от {inc} уличных или насильственных преступлений "
              "({dark} в тёмное время), которых не достигает ни одна работающая кнопка, {share:.1f}% спроса{street}; охват вырастет до {cum:.1f}%.",
        "kk": "{phase}-кезең, №{rank}: {kind_kk} — жұмыс істеп тұрған түймелер жетпейтін {inc} көше немесе зорлық "
              "қылмысынан (оның {dark} қараңғыда) {radius} м жаяу қашықтықта, сұраныстың {share:.1f}%{street}; қамту {cum:.1f}% дейін өседі.",
    },
    "sos_cover": {
        "en": "#{rank}: {kind_en} — brings {inc} more busy places within {radius} m walk of a button{street}.",
        "ru": "№{rank}: {kind_ru} — ещё {inc} людных мест окажутся в {radius} м пешком от кнопки{street}.",
        "kk": "№{rank}: {kind_kk} — тағы {inc} адам көп жүретін орын түймеден {radius} м жаяу қашықтықта болады{street}.",
    },
    "post": {
        "en": "Phase {phase}, #{rank}: a modular post here puts {inc} recorded incidents ({dark} after dark) within "
              "{radius} m on foot — {share:.1f}% of the crime-and-population demand{street}; coverage rises to {cum:.1f}%.",
        "ru": "Этап {phase}, №{rank}: модульный пост здесь охватит {inc} происшествий ({dark} в тёмное время) в радиусе "
              "{radius} м пешком — {share:.1f}% спроса (преступность и население){street}; охват вырастет до {cum:.1f}%.",
        "kk": "{phase}-кезең, №{rank}: мұндағы модульдік пост {radius} м жаяу радиуста {inc} оқиғаны қамтиды "
              "(оның {dark} қараңғыда) — сұраныстың {share:.1f}% (қылмыс және халық){street}; қамту {cum:.1f}% дейін өседі.",
    },
    "office": {
        "en": "#{rank}: inspector office serving a beat of ~{residents} residents (population proxy) and {inc} "
              "recorded incidents; {rpi} residents per inspector{street}.",
        "ru": "№{rank}: участковый пункт для участка ~{residents} жителей (оценка) и {inc} зарегистрированных "
              "происшествий; {rpi} жителей на одного инспектора{street}.",
        "kk": "№{rank}: учаскелік пункт: ~{residents} тұрғын (бағалау) және {inc} тіркелген оқиға; бір "
              "инспекторға {rpi} тұрғын{street}.",
    },
}
STREET_WORD = {"en": "; near {s}", "ru": "; рядом: {s}", "kk": "; жақын көше: {s}"}
BEARING_WORD = {"en": "; facing {b}°", "ru": "; азимут {b}°", "kk": "; азимуты {b}°"}
KIND_WORDS = {
    "transit_stop": ("аялдама", "остановка транспорта", "transit stop"),
    "square": ("алаң", "площадь", "square"),
    "market": ("базар", "рынок", "market"),
    "mall": ("сауда орталығы", "торговый центр", "mall"),
    "park_entrance": ("саябақ кіреберісі", "вход в парк", "park entrance"),
    "site": ("орын", "место", "site"),
}


def _reasons(kind: str, rows: pd.DataFrame, lang: str, extra: dict | None = None) -> pd.DataFrame:
    """Fill reason_kk/ru/en (and ``reason`` in ``lang``) for a site table."""
    if lang not in LANGS:
        raise ValueError(f"lang {lang!r}: expected one of {LANGS}")
    extra = extra or {}
    for lg in LANGS:
        tpl = REASONS[kind][lg]
        out = []
        for r in rows.itertuples(index=False):
            d = r._asdict()
            kw = KIND_WORDS.get(d.get("kind", "site"), KIND_WORDS["site"])
            street = STREET_WORD[lg].format(s=d["street"]) if d.get("street") else ""
            b = d.get("bearing_deg")
            bearing = BEARING_WORD[lg].format(b=int(round(b))) if b is not None and np.isfinite(b) else ""
            out.append(tpl.format(phase=d.get("phase", 1), rank=d["rank"], inc=_fmt_int(d.get("incidents_new", 0)),
                                  dark=_fmt_int(d.get("dark_new", 0)), share=100 * d.get("marginal_share", 0),
                                  cum=100 * d.get("cumulative_coverage", 0), street=street, bearing=bearing,
                                  kind_kk=kw[0], kind_ru=kw[1], kind_en=kw[2],
                                  residents=_fmt_int(d.get("residents", 0)),
                                  rpi=_fmt_int(d.get("residents_per_inspector", 0)), **extra))
        rows[f"reason_{lg}"] = out
    rows["reason"] = rows[f"reason_{lang}"]
    return rows


def _site_table(kind, picks_res, rows_xy, A, demand, city, budget, phases, lang, meta, extra=None):
    """Common output table for covering recommenders."""
    picks = picks_res.picks
    n = len(picks)
    A = sp.csr_matrix(A)
    A.data[:] = 1
    # newly covered demand per pick, in pick order
    covered = np.asarray(meta["precovered"], bool).copy()
    inc_new, dark_new = np.zeros(n, int), np.zeros(n, int)
    for k, j in enumerate(picks.tolist()):
        cols = A.indices[A.indptr[j]:A.indptr[j + 1]]
        new = cols[~covered[cols]]
        inc_new[k] = int(demand["count"].to_numpy()[new].sum())
        dark_new[k] = int(demand["dark"].to_numpy()[new].sum())
        covered[new] = True
    xy = rows_xy[picks]
    lon, lat = city.to_wgs84(xy[:, 0], xy[:, 1]) if n else (np.zeros(0), np.zeros(0))
    total = picks_res.total_weight if picks_res.total_weight > 0 else 1.0
    out = pd.DataFrame({
        "rank": np.arange(1, n + 1),
        "phase": _phases(n, phases) if n else np.zeros(0, int),
        "lat": np.asarray(lat), "lon": np.asarray(lon),
        "marginal_gain": picks_res.marginal_gain,
        "marginal_share": picks_res.marginal_gain / total,
        "cumulative_coverage": picks_res.cumulative / total,
        "incidents_new": inc_new, "dark_new": dark_new,
        "street": _nearest_street(city, xy[:, 0], xy[:, 1]) if n else np.zeros(0, object),
    })
    for col, vals in (meta.get("row_attrs") or {}).items():
        out[col] = np.asarray(vals)[picks]
    if "kind" not in out.columns:
        out["kind"] = "site"
    if "name" not in out.columns:
        out["name"] = ""
    out = _reasons(kind, out, lang, extra)
    cols = [c for c in SITE_COLUMNS if c in out.columns] + [c for c in out.columns if c not in SITE_COLUMNS]
    return out[cols]


def _solve_cover(A, w, budget, precovered, groups, method, exact, time_limit):
    g = greedy_max_cover(A, w, budget, precovered, groups)
    summary = {"greedy_objective": g.objective, "total_weight": g.total_weight,
               "precovered_weight": g.precovered_weight, "greedy_evaluations": g.info.get("evaluations")}
    chosen = g
    if exact or method == "exact":
        e = mclp_exact(A, w, budget, precovered, groups, time_limit=time_limit, warm_start=g.picks)
        summary.update({"optimum": e.objective, "bound": e.bound, "exact_status": e.status,
                        "greedy_gap": e.info.get("greedy_gap"), "exact_solve_s": e.info["solve_s"]})
        if method == "exact":
            chosen = rank_picks(A, w, e.picks, precovered)
            chosen.total_weight = g.total_weight
    if method not in ("greedy", "exact"):
        raise ValueError(f"method {method!r}: expected 'greedy' or 'exact'")
    summary["method"] = method
    return chosen, summary


# ---------------------------------------------------------------------------- cameras
def camera_candidates(net: StreetNetwork, spacing_m: float = 40.0) -> pd.DataFrame:
    """Candidate camera sites from the street network: every intersection plus points along streets.

    Returns ``x, y`` (metres) and ``kind`` (``intersection`` or ``street``); street points are
    thinned to one per ``spacing_m`` grid square.
    """
    deg = net.degree
    inter = np.flatnonzero(deg >= 3)
    other = np.flatnonzero(deg < 3)
    key = np.c_[np.floor(net.x[other] / spacing_m), np.floor(net.y[other] / spacing_m)]
    _, first = np.unique(key, axis=0, return_index=True)
    pts = other[np.sort(first)]
    return pd.DataFrame({"x": np.r_[net.x[inter], net.x[pts]], "y": np.r_[net.y[inter], net.y[pts]],
                         "kind": np.r_[np.full(len(inter), "intersection"), np.full(len(pts), "street")]})


def camera_demand(incidents: pd.DataFrame, city, layers=None, res: int = 11,
                  exclude_place_types=INDOOR_PLACE_TYPES) -> pd.DataFrame:
    """Harm-weighted incident demand per H3 cell, restricted to outdoor public space.

    Incidents of indoor place types (``exclude_place_types``) are dropped, and so are cells whose
    demand point falls inside a building footprint (``layers["buildings"]``).  See
    :func:`cell_demand` for the columns; ``weight`` is the summed ``harm_weight``.
    """
    c = _city(city)
    df = _clean_incidents(incidents, c)
    if "place_type" in df.columns and exclude_place_types:
        df = df[~df["place_type"].isin(list(exclude_place_types))]
    d = cell_demand(df, c, res, df["harm_weight"].to_numpy(float))
    d.attrs = dict(df.attrs)
    b = _layer(layers, "buildings")
    if len(b) and len(d):
        tree = shapely.STRtree(b.to_crs(c.epsg).geometry.values)
        pi, _ = tree.query(shapely.points(d[["x", "y"]].to_numpy()), predicate="within")
        keep_attrs = dict(d.attrs)
        d = d.drop(index=d.index[np.unique(pi)]).reset_index(drop=True)
        d.attrs = keep_attrs
    return d


def recommend_cameras(city, incidents: pd.DataFrame, layers: dict | None, budget: int, *,
                      candidates=None, n_bearings: int = 8, fov_deg: float = 60.0,
                      resolution_px: int = 2560, level: str = "observe", res: int = 11,
                      spacing_m: float = 40.0, include_repairs: bool = True, phases=None,
                      method: str = "greedy", exact: bool = True, time_limit: float = 30.0,
                      lang: str = "ru", coverage_fn=None, net: StreetNetwork | None = None) -> pd.DataFrame:
    """Rank new camera sites (and bearings) by the harm-weighted incident demand they add.

    Parameters
    ----------
    city : str or City
    incidents : DataFrame
        Incident table (:mod:`hotspot.schema`).
    layers : dict of GeoDataFrame
        City layers (``cameras``, ``buildings``); working cameras pre-cover their demand, broken
        ones become "repair" candidates when ``include_repairs``.
    budget : int
        Number of cameras to place.
    candidates : GeoDataFrame, optional
        User-supplied sites (poles, façades), points; a ``bearing_deg`` column fixes the bearing,
        otherwise the best of ``n_bearings`` is chosen.  Default: street intersections and points
        every ``spacing_m`` metres along streets.
    n_bearings : int
        Bearings tried per site without a fixed bearing (8 → every 45°).
    fov_deg, resolution_px, level
        The new cameras' horizontal field of view (degrees), horizontal resolution (pixels) and
        the DORI level (IEC 62676-4) that counts as "covered".
    res : int
        H3 resolution of the demand cells.
    phases : int or list of int, optional
        Number of equal budget phases, or phase sizes (default 3 phases when budget ≥ 6).
    method : {"greedy", "exact"}
        Which answer to return; the greedy one is nested (each phase extends the previous one).
    exact : bool
        Also solve the exact MILP and report the greedy optimality gap (``attrs["summary"]``).
    coverage_fn : callable, optional
        ``f(camera_xy, bearing_deg, fov_deg, resolution_px, level, target_xy, buildings)`` →
        sparse coverage; default :func:`cpted.cameras.coverage_matrix` (the CPTED camera model).

    Returns
    -------
    DataFrame
        One row per site in rank order: ``rank, phase, lat, lon, bearing_deg, marginal_gain``
        (harm weight), ``marginal_share``, ``cumulative_coverage`` (share of all demand, existing
        cameras included), ``incidents_new, dark_new, kind, street, reason, reason_kk/ru/en``.
        ``attrs["summary"]`` holds totals, the exact optimum and the greedy gap.
    """
    c = _city(city)
    if budget < 1:
        raise ValueError(f"budget {budget}: must be ≥ 1")
    cov = coverage_fn or coverage_matrix
    demand = camera_demand(incidents, c, layers, res)
    if len(demand) == 0:
        raise ValueError("recommend_cameras: no incident demand in public space")
    txy = demand[["x", "y"]].to_numpy()
    bld = _layer(layers, "buildings")
    bgeom = Occluder(bld.to_crs(c.epsg).geometry.values) if len(bld) else None
    cams = _layer(layers, "cameras")
    precovered = np.zeros(len(demand), bool)
    if len(cams):
        st = cams["status"].astype(str) if "status" in cams.columns else pd.Series("working", index=cams.index)
        work = cams[st.eq("working").to_numpy()]
        if len(work):
            A0 = cov(_xy(work, c.epsg), work["bearing_deg"].to_numpy(float),
                     work["fov_deg"].to_numpy(float) if "fov_deg" in work else fov_deg,
                     work["resolution_px"].to_numpy(float) if "resolution_px" in work else resolution_px,
                     level, txy, bgeom)
            precovered = np.asarray((sp.csr_matrix(A0) != 0).sum(0)).ravel() > 0
    # candidate sites × bearings
    if candidates is None:
        net = net or load_network(c.key)
        cand = camera_candidates(net, spacing_m)
        fixed = np.full(len(cand), np.nan)
        names = np.full(len(cand), "", dtype=object)
    else:
        cxy = _xy(candidates, c.epsg)
        cand = pd.DataFrame({"x": cxy[:, 0], "y": cxy[:, 1], "kind": "user"})
        fixed = candidates["bearing_deg"].to_numpy(float) if "bearing_deg" in candidates else np.full(len(cand), np.nan)
        names = candidates["name"].astype(str).to_numpy(object) if "name" in candidates else np.full(len(cand), "", object)
    # keep sites within reach of some uncovered demand
    from scipy.spatial import cKDTree

    reach = float(dori_range(resolution_px, fov_deg, level))
    unc = txy[~precovered]
    if len(unc):
        dd, _ = cKDTree(unc).query(cand[["x", "y"]].to_numpy(), distance_upper_bound=reach)
        near = np.isfinite(dd)
    else:
        near = np.zeros(len(cand), bool)
    sites = np.flatnonzero(near)
    bearings = np.arange(n_bearings) * (360.0 / n_bearings)
    has_fixed = np.isfinite(fixed[sites])
    site_rep = np.r_[sites[has_fixed], np.repeat(sites[~has_fixed], n_bearings)]
    bear = np.r_[fixed[sites][has_fixed], np.tile(bearings, int((~has_fixed).sum()))]
    kind = cand["kind"].to_numpy(object)[site_rep]
    nm = names[site_rep]
    rep_fov = np.full(len(site_rep), float(fov_deg))
    rep_res = np.full(len(site_rep), float(resolution_px))
    if include_repairs and len(cams) and "status" in cams.columns:
        broken = cams[cams["status"].astype(str).ne("working").to_numpy()]
        if len(broken):
            bxy = _xy(broken, c.epsg)
            base = len(cand)
            cand = pd.concat([cand, pd.DataFrame({"x": bxy[:, 0], "y": bxy[:, 1], "kind": "repair"})], ignore_index=True)
            site_rep = np.r_[site_rep, base + np.arange(len(broken))]
            bear = np.r_[bear, broken["bearing_deg"].to_numpy(float)]
            kind = np.r_[kind, np.full(len(broken), "repair", dtype=object)]
            nm = np.r_[nm, ("camera " + broken["camera_id"].astype(str)).to_numpy(object)
                       if "camera_id" in broken else np.full(len(broken), "", object)]
            rep_fov = np.r_[rep_fov, broken["fov_deg"].to_numpy(float) if "fov_deg" in broken else np.full(len(broken), fov_deg)]
            rep_res = np.r_[rep_res, broken["resolution_px"].to_numpy(float) if "resolution_px" in broken
                            else np.full(len(broken), resolution_px)]
    rows_xy = cand[["x", "y"]].to_numpy()[site_rep]
    # one coverage call per distinct (fov, resolution) so the model sees scalar specs
    spec = np.c_[rep_fov, rep_res]
    uspec, sinv = np.unique(spec, axis=0, return_inverse=True)
    blocks = [None] * len(uspec)
    order = []
    for k, (f, r) in enumerate(uspec):
        idx = np.flatnonzero(sinv.ravel() == k)
        order.append(idx)
        blocks[k] = sp.csr_matrix(cov(rows_xy[idx], bear[idx], float(f), float(r), level, txy, bgeom))
    perm = np.concatenate(order)
    A = sp.vstack(blocks, format="csr")[np.argsort(perm)]
    A.data[:] = 1.0
    w = demand["weight"].to_numpy(float)
    res_, summary = _solve_cover(A, w, budget, precovered, site_rep, method, exact, time_limit)
    meta = {"precovered": precovered, "row_attrs": {"bearing_deg": bear, "kind": kind, "name": nm}}
    out = _site_table("camera", res_, rows_xy, A, demand, c, budget, phases, lang, meta)
    rep = out["kind"].eq("repair").to_numpy()
    if rep.any():  # repairs get their own wording
        r2 = _reasons("repair", out[rep].copy(), lang)
        out.loc[rep, ["reason", "reason_kk", "reason_ru", "reason_en"]] = r2[["reason", "reason_kk", "reason_ru",
                                                                               "reason_en"]].to_numpy()
    summary.update({"n_demand_cells": len(demand), "n_sites": int(len(np.unique(site_rep))),
                    "n_candidate_rows": A.shape[0], "coverage_model": "qauipsiz.cpted.cameras.coverage_matrix",
                    "precovered_share": float(w[precovered].sum() / w.sum()), "demand_res": res,
                    "level": level, **demand.attrs})
    out.attrs["summary"] = summary
    return out


# ---------------------------------------------------------------------------- SOS buttons
def busy_places(layers: dict, city, net: StreetNetwork | None = None, mall_min_m2: float = 1500.0) -> pd.DataFrame:
    """Busy public places from the layers: transit stops, squares, markets, malls, park entrances.

    Polygons (squares, markets, large commercial buildings, parks) are represented by the point of
    their outline nearest to the street network — where people come in.  Returns ``x, y``
    (metres), ``kind`` and ``name``.
    """
    c = _city(city)
    net = net or load_network(c.key)
    parts = []
    stops = _layer(layers, "transit_stops")
    if len(stops):
        xy = _xy(stops, c.epsg)
        parts.append(pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1], "kind": "transit_stop",
                                   "name": stops["name"].astype(str).to_numpy() if "name" in stops else ""}))
    nodes = shapely.points(np.c_[net.x, net.y])
    node_tree = shapely.STRtree(nodes)

    def entrances(polys, kind, names):
        if len(polys) == 0:
            return
        k = node_tree.nearest(polys)
        ring = shapely.boundary(polys)
        p = shapely.shortest_line(ring, nodes[k])
        xy = shapely.get_coordinates(shapely.get_point(p, 0))
        parts.append(pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1], "kind": kind, "name": names}))

    lu = _layer(layers, "landuse")
    if len(lu):
        lum = lu.to_crs(c.epsg)
        for kind, key in (("square", "square"), ("market", "market"), ("park_entrance", "park")):
            sel = lum[lum["landuse"].astype(str).eq(key).to_numpy()]
            entrances(sel.geometry.values, kind, np.full(len(sel), ""))
    b = _layer(layers, "buildings")
    if len(b) and "use" in b.columns:
        bm = b.to_crs(c.epsg)
        sel = bm[bm["use"].astype(str).eq("commercial").to_numpy() & (bm.area.to_numpy() >= mall_min_m2)]
        entrances(sel.geometry.values, "mall", np.full(len(sel), ""))
    if not parts:
        raise ValueError("busy_places: no transit_stops, landuse (square/market/park) or commercial buildings in the layers")
    return pd.concat(parts, ignore_index=True)


def footfall_proxy(xy, layers: dict, city, radius_m: float = 200.0) -> np.ndarray:
    """Footfall proxy at points: 1 + number of stops, bars, busy places and active ground floors
    within ``radius_m`` metres, divided by its mean (dimensionless, mean 1).  A proxy, not a count."""
    from scipy.spatial import cKDTree

    c = _city(city)
    pts = []
    for name in ("transit_stops", "bars"):
        g = _layer(layers, name)
        if len(g):
            pts.append(_xy(g, c.epsg))
    b = _layer(layers, "buildings")
    if len(b) and "active_ground_floor" in b.columns:
        act = b[b["active_ground_floor"].fillna(False).astype(bool).to_numpy()]
        if len(act):
            pts.append(_xy(act, c.epsg))
    lu = _layer(layers, "landuse")
    if len(lu):
        sel = lu[lu["landuse"].astype(str).isin(["square", "market", "park"]).to_numpy()]
        if len(sel):
            pts.append(_xy(sel, c.epsg))
    xy = np.asarray(xy, float).reshape(-1, 2)
    if not pts or len(xy) == 0:
        return np.ones(len(xy))
    P = np.vstack(pts)
    n = cKDTree(P).query_ball_point(xy, radius_m, return_length=True)
    f = 1.0 + np.asarray(n, float)
    return f / f.mean()


def sos_demand(incidents: pd.DataFrame, city, layers=None, res: int = 11, dark_factor: float = 2.0,
               footfall_radius_m: float = 200.0) -> pd.DataFrame:
    """Street and violent crime per H3 cell, dark incidents counted ``dark_factor`` times, times a
    footfall proxy (:func:`footfall_proxy`).  Columns of :func:`cell_demand` plus ``footfall``."""
    from qauipsiz.hotspot.taxonomy import categories

    c = _city(city)
    df = _clean_incidents(incidents, c)
    if "category" not in df.columns:
        raise ValueError("incidents: missing column 'category' (needed to select street and violent crime)")
    cat = categories().set_index("category")
    flag = cat["street_crime"] | cat["violent"]
    sel = df["category"].map(flag).fillna(False).astype(bool).to_numpy()
    df = df[sel]
    w = 1.0 + (dark_factor - 1.0) * df["is_dark"].to_numpy(bool)
    d = cell_demand(df, c, res, w)
    d.attrs = dict(df.attrs)
    d["footfall"] = footfall_proxy(d[["x", "y"]].to_numpy(), layers or {}, c, footfall_radius_m)
    d["weight"] = d["weight"] * d["footfall"]
    return d


def recommend_sos(city, incidents: pd.DataFrame, layers: dict, budget: int | None = None, *,
                  radius_m: float = 300.0, mode: str = "max", res: int = 11, dark_factor: float = 2.0,
                  phases=None, method: str = "greedy", exact: bool = True, time_limit: float = 30.0,
                  lang: str = "ru", net: StreetNetwork | None = None) -> pd.DataFrame:
    """Rank SOS-button sites among busy public places; coverage is walking distance on the streets.

    Parameters
    ----------
    mode : {"max", "cover"}
        ``"max"`` — budgeted maximal covering of street and violent crime (dark-weighted, times a
        footfall proxy); ``"cover"`` — set covering: the fewest buttons so that every busy place is
        within ``radius_m`` of a button (``budget`` ignored).
    radius_m : float
        Walking distance along the street network, metres (default 300).

    Returns
    -------
    DataFrame
        As :func:`recommend_cameras` (``kind`` = type of busy place); ``attrs["summary"]``.
    """
    c = _city(city)
    net = net or load_network(c.key)
    cand = busy_places(layers, c, net)
    cxy = cand[["x", "y"]].to_numpy()
    sos = _layer(layers, "sos_buttons")
    if len(sos) and "status" in sos.columns:
        sos = sos[sos["status"].astype(str).eq("working").to_numpy()]
    sxy = _xy(sos, c.epsg) if len(sos) else np.zeros((0, 2))
    attrs = {"kind": cand["kind"].to_numpy(object), "name": cand["name"].to_numpy(object)}
    if mode == "cover":
        A = coverage_within(net, cxy, cxy, radius_m)
        pre = (np.asarray((coverage_within(net, sxy, cxy, radius_m) != 0).sum(0)).ravel() > 0) if len(sxy) \
            else np.zeros(len(cxy), bool)
        ex = lscp_exact(A, pre, time_limit=time_limit)
        gr = greedy_set_cover(A, pre)
        ranked = rank_picks(A, np.ones(len(cxy)), ex.picks, pre)
        demand = pd.DataFrame({"count": np.ones(len(cxy), int), "dark": np.zeros(len(cxy), int)})
        out = _site_table("sos_cover", ranked, cxy, A, demand, c, len(ex.picks), 1, lang,
                          {"precovered": pre, "row_attrs": attrs}, {"radius": int(radius_m)})
        out.attrs["summary"] = {"mode": "cover", "sites_needed": len(ex.picks), "greedy_sites": len(gr.picks),
                                "busy_places": len(cxy), "already_covered": int(pre.sum()),
                                "uncoverable": int(len(ex.info["uncoverable"])), "exact_status": ex.status,
                                "radius_m": radius_m}
        return out
    if mode != "max":
        raise ValueError(f"mode {mode!r}: expected 'max' or 'cover'")
    if budget is None or budget < 1:
        raise ValueError(f"budget {budget}: must be ≥ 1 in mode 'max'")
    demand = sos_demand(incidents, c, layers, res, dark_factor)
    if len(demand) == 0:
        raise ValueError("recommend_sos: no street or violent crime in the incidents")
    dxy = demand[["x", "y"]].to_numpy()
    A = coverage_within(net, cxy, dxy, radius_m)
    pre = (np.asarray((coverage_within(net, sxy, dxy, radius_m) != 0).sum(0)).ravel() > 0) if len(sxy) \
        else np.zeros(len(dxy), bool)
    w = demand["weight"].to_numpy(float)
    res_, summary = _solve_cover(A, w, budget, pre, None, method, exact, time_limit)
    out = _site_table("sos", res_, cxy, A, demand, c, budget, phases, lang, {"precovered": pre, "row_attrs": attrs},
                      {"radius": int(radius_m)})
    summary.update({"mode": "max", "radius_m": radius_m, "n_demand_cells": len(demand), "n_candidates": len(cxy),
                    **demand.attrs,
                    "precovered_share": float(w[pre].sum() / w.sum()) if w.sum() else 0.0})
    out.attrs["summary"] = summary
    return out


# ---------------------------------------------------------------------------- posts and offices
def population_proxy(city, cells_xy, incidents_per_cell, layers=None) -> np.ndarray:
    """Residents per demand cell: each district's official population (``data/population``)
    spread over its cells by residential floor area (``levels × footprint`` of residential
    buildings within 150 m), falling back to incident counts where a district has no buildings.

    This is a **proxy**: no open address-level population exists.  Returns residents (float).
    """
    from scipy.spatial import cKDTree

    from qauipsiz.hotspot.paths import data_dir

    c = _city(city)
    xy = np.asarray(cells_xy, float).reshape(-1, 2)
    lon, lat = c.to_wgs84(xy[:, 0], xy[:, 1])
    dist = np.asarray(c.assign_district(np.asarray(lat), np.asarray(lon)), dtype=object)
    files = sorted((data_dir() / "population").glob(f"{c.key}_district_population*.csv"))
    if not files:
        raise ValueError(f"population_proxy: no district population file for {c.key!r} in data/population")
    pop = pd.read_csv(files[-1])
    dd = c.districts
    key_pop = {}
    for r in dd.itertuples(index=False):
        names = {str(r.name_en).lower(), str(r.name_ru).replace("район ", "").lower(), str(r.name_kk).lower()}
        for p in pop.itertuples(index=False):
            toks = {t.strip().lower() for t in str(p.osm_match_tokens).split("|")}
            if names & toks:
                key_pop[r.district] = float(p.official_population)
                break
    floor = np.zeros(len(xy))
    b = _layer(layers, "buildings")
    if len(b) and "use" in b.columns:
        res_b = b[b["use"].astype(str).eq("residential").to_numpy()].to_crs(c.epsg)
        if len(res_b):
            fa = res_b.area.to_numpy() * res_b["levels"].fillna(1).to_numpy(float) if "levels" in res_b \
                else res_b.area.to_numpy()
            bxy = _xy(res_b, c.epsg)
            # each building's floor area goes to its nearest demand cell within 150 m
            dd_, k = cKDTree(xy).query(bxy, distance_upper_bound=150.0)
            ok = np.isfinite(dd_)
            floor = np.bincount(k[ok], fa[ok], len(xy))
    inc = np.asarray(incidents_per_cell, float)
    out = np.zeros(len(xy))
    for dk, P in key_pop.items():
        m = dist == dk
        if not m.any():
            continue
        share = floor[m] if floor[m].sum() > 0 else inc[m]
        if share.sum() <= 0:
            share = np.ones(m.sum())
        out[m] = P * share / share.sum()
    return out


def recommend_posts(city, incidents: pd.DataFrame, layers: dict | None, budget: int, *,
                    kind: str = "posts", radius_m: float = 500.0, res: int | None = None,
                    crime_share: float = 0.5, inspectors_per_office: int = 1, distance: str = "network",
                    candidate_spacing_m: float | None = None, phases=None, method: str = "greedy",
                    exact: bool = True, time_limit: float = 60.0, lang: str = "ru",
                    net: StreetNetwork | None = None) -> pd.DataFrame:
    """Sites for modular police posts (maximal covering on foot) or inspector offices (p-median).

    Demand per H3 cell is ``crime_share`` × (share of the city's harm-weighted crime) +
    (1 − ``crime_share``) × (share of the population proxy, :func:`population_proxy`).

    Parameters
    ----------
    kind : {"posts", "offices"}
        ``posts``: maximal covering, a post covers demand within ``radius_m`` metres walk
        (300–500 m); ``offices``: p-median (``budget`` offices), each office gets the beat of cells
        nearest to it, with its residents-per-inspector load.
    distance : {"network", "euclidean"}
        Distance used by the p-median.
    inspectors_per_office : int
        Inspectors sharing one office (for the residents-per-inspector load).

    Returns
    -------
    DataFrame
        Ranked sites; offices also carry ``residents, incidents, residents_per_inspector,
        within_norm``; ``attrs["beats"]`` (dict of lists; ``pd.DataFrame(attrs["beats"])``) maps each
        demand cell (``h3``, with ``lat, lon, residents, incidents``) to its ``office_rank``.
    """
    c = _city(city)
    if kind not in ("posts", "offices"):
        raise ValueError(f"kind {kind!r}: expected 'posts' or 'offices'")
    if not 0 <= crime_share <= 1:
        raise ValueError(f"crime_share {crime_share}: must be within 0..1")
    net = net or load_network(c.key)
    res = res or (10 if kind == "posts" else 8)
    df = _clean_incidents(incidents, c)
    d = cell_demand(df, c, res, df["harm_weight"].to_numpy(float))
    pop = population_proxy(c, d[["x", "y"]].to_numpy(), d["count"].to_numpy(), layers)
    d["residents"] = pop
    crime = d["weight"].to_numpy() / max(d["weight"].sum(), 1e-12)
    popn = pop / max(pop.sum(), 1e-12)
    d["weight"] = crime_share * crime + (1 - crime_share) * popn
    dxy = d[["x", "y"]].to_numpy()
    spacing = candidate_spacing_m or (150.0 if kind == "posts" else 600.0)
    inter = np.flatnonzero(net.degree >= 3)
    key = np.c_[np.floor(net.x[inter] / spacing), np.floor(net.y[inter] / spacing)]
    _, first = np.unique(key, axis=0, return_index=True)
    cn = inter[np.sort(first)]
    cxy = np.c_[net.x[cn], net.y[cn]]
    if kind == "posts":
        A = coverage_within(net, cxy, dxy, radius_m)
        keep = np.flatnonzero(np.diff(A.indptr) > 0)
        A, cxy = A[keep], cxy[keep]
        w = d["weight"].to_numpy()
        res_, summary = _solve_cover(A, w, budget, np.zeros(len(d), bool), None, method, exact, time_limit)
        out = _site_table("post", res_, cxy, A, d, c, budget, phases, lang,
                          {"precovered": np.zeros(len(d), bool), "row_attrs": {}}, {"radius": int(radius_m)})
        summary.update({"kind": "posts", "radius_m": radius_m, "n_demand_cells": len(d), "n_candidates": len(cxy),
                        **df.attrs})
        out.attrs["summary"] = summary
        return out
    # offices: p-median on network (or Euclidean) distance
    from scipy.spatial.distance import cdist

    E = cdist(cxy, dxy)
    if distance == "network":
        sn, so = net.snap(cxy[:, 0], cxy[:, 1], main_only=False)
        dn, do = net.snap(dxy[:, 0], dxy[:, 1], main_only=False)
        Dn = np.vstack([net.distances(sn[i:i + 64])[:, dn] for i in range(0, len(sn), 64)]) + so[:, None] + do[None, :]
        D = np.where(np.isfinite(Dn), Dn, 1.4 * E)  # different components: detour-factor fallback
    elif distance == "euclidean":
        D = E
    else:
        raise ValueError(f"distance {distance!r}: expected 'network' or 'euclidean'")
    budget = min(budget, len(cxy))
    # each cell may go to one of its k nearest candidates; k ≥ 3 m / p keeps the model feasible in practice
    k_near = int(min(len(cxy), max(25, np.ceil(3 * len(cxy) / budget))))
    pm = p_median(D, d["weight"].to_numpy(), budget, k_nearest=k_near, time_limit=time_limit)
    beat = pm.assign
    # order offices by the weight they serve
    served = pd.Series(d["weight"].to_numpy()).groupby(beat).sum().reindex(pm.picks).fillna(0)
    order = pm.picks[np.argsort(-served.to_numpy(), kind="stable")]
    rank_of = {j: r + 1 for r, j in enumerate(order.tolist())}
    residents = pd.Series(pop).groupby(beat).sum().reindex(order).fillna(0).to_numpy()
    incs = pd.Series(d["count"].to_numpy()).groupby(beat).sum().reindex(order).fillna(0).to_numpy()
    wsum = pd.Series(d["weight"].to_numpy()).groupby(beat).sum().reindex(order).fillna(0).to_numpy()
    mean_d = (pd.Series(D[beat, np.arange(len(d))] * d["weight"].to_numpy()).groupby(beat).sum().reindex(order)
              .fillna(0).to_numpy() / np.maximum(wsum, 1e-12))
    xy = cxy[order]
    lon, lat = c.to_wgs84(xy[:, 0], xy[:, 1])
    rpi = residents / max(inspectors_per_office, 1)
    out = pd.DataFrame({"rank": np.arange(1, len(order) + 1), "phase": _phases(len(order), phases),
                        "lat": lat, "lon": lon, "marginal_gain": wsum, "marginal_share": wsum,
                        "cumulative_coverage": np.cumsum(wsum), "incidents_new": incs.astype(int),
                        "dark_new": 0, "kind": "office", "name": "",
                        "street": _nearest_street(c, xy[:, 0], xy[:, 1]),
                        "residents": residents, "incidents": incs.astype(int), "residents_per_inspector": rpi,
                        "within_norm": (rpi >= INSPECTOR_NORM[0]) & (rpi <= INSPECTOR_NORM[1]),
                        "mean_distance_m": mean_d,
                        "beat_cells": pd.Series(beat).value_counts().reindex(order).fillna(0).astype(int).to_numpy()})
    out = _reasons("office", out, lang)
    # plain lists (not a DataFrame) so that pandas can compare and copy attrs safely
    out.attrs["beats"] = {"h3": d["h3"].astype("uint64").tolist(), "lat": d["lat"].tolist(),
                          "lon": d["lon"].tolist(), "office_rank": [rank_of[j] for j in beat.tolist()],
                          "residents": pop.tolist(), "incidents": d["count"].astype(int).tolist()}
    out.attrs["summary"] = {"kind": "offices", "objective_weight_m": pm.objective, "k_nearest": k_near, "bound": pm.bound,
                            "status": pm.status, "distance": distance, "n_demand_cells": len(d), **df.attrs,
                            "n_candidates": len(cxy), "population_total": float(pop.sum()),
                            "population_note": "residents per cell are a proxy: district totals spread by residential floor area"}
    return out
