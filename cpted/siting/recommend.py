"""Where to put the next cameras, SOS buttons, police posts and inspector offices — ranked, phased and explained.

Each recommender builds demand (:mod:`.demand`) and candidates (:mod:`.candidates`), a sparse
coverage matrix (candidates × demand), solves it with the lazy greedy of :mod:`.solvers` (nested,
so phase 1 is the best first phase), checks the greedy answer against the exact HiGHS optimum,
reporting the optimality gap, and explains each site (:mod:`.reasons`).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from qauipsiz.cpted.cameras import Occluder, coverage_matrix, dori_range
from qauipsiz.cpted.siting._common import _city, _layer, _xy
from qauipsiz.cpted.siting.candidates import busy_places, camera_candidates, intersection_candidates
from qauipsiz.cpted.siting.demand import (
    camera_demand,
    cell_demand,
    clean_incidents,
    population_proxy,
    sos_demand,
)
from qauipsiz.cpted.siting.options import CameraOptions, PostOptions, SosOptions, resolve_options
from qauipsiz.cpted.siting.reasons import fill_reasons
from qauipsiz.cpted.siting.sites import CoverModel, nearest_street, phase_numbers, site_table
from qauipsiz.cpted.siting.solvers import (
    greedy_set_cover,
    lscp_exact,
    p_median,
    rank_picks,
    solve_cover,
)
from qauipsiz.hotspot.network import StreetNetwork, coverage_within, load_network

INSPECTOR_NORM = (3000, 5000)
"""Residents per district inspector in cities (round table 2025, DOMAIN.md §2)."""


# ---------------------------------------------------------------------------- cameras
def _camera_precover(cams, c, o: CameraOptions, cov, txy, bgeom) -> np.ndarray:
    """Demand cells a working camera of the layer already covers."""
    precovered = np.zeros(len(txy), bool)
    if len(cams):
        st = cams["status"].astype(str) if "status" in cams.columns else pd.Series("working", index=cams.index)
        work = cams[st.eq("working").to_numpy()]
        if len(work):
            A0 = cov(_xy(work, c.epsg), work["bearing_deg"].to_numpy(float),
                     work["fov_deg"].to_numpy(float) if "fov_deg" in work else o.fov_deg,
                     work["resolution_px"].to_numpy(float) if "resolution_px" in work else o.resolution_px,
                     o.level, txy, bgeom)
            precovered = np.asarray((sp.csr_matrix(A0) != 0).sum(0)).ravel() > 0
    return precovered


def _camera_rows(cand, fixed, names, cams, c, o: CameraOptions, txy, precovered) -> dict:
    """Candidate rows (site × bearing, plus repairs of broken cameras) within reach of uncovered demand."""
    from scipy.spatial import cKDTree

    reach = float(dori_range(o.resolution_px, o.fov_deg, o.level))
    unc = txy[~precovered]
    if len(unc):
        dd, _ = cKDTree(unc).query(cand[["x", "y"]].to_numpy(), distance_upper_bound=reach)
        near = np.isfinite(dd)
    else:
        near = np.zeros(len(cand), bool)
    sites = np.flatnonzero(near)
    bearings = np.arange(o.n_bearings) * (360.0 / o.n_bearings)
    has_fixed = np.isfinite(fixed[sites])
    site_rep = np.r_[sites[has_fixed], np.repeat(sites[~has_fixed], o.n_bearings)]
    bear = np.r_[fixed[sites][has_fixed], np.tile(bearings, int((~has_fixed).sum()))]
    kind = cand["kind"].to_numpy(object)[site_rep]
    nm = names[site_rep]
    rep_fov = np.full(len(site_rep), float(o.fov_deg))
    rep_res = np.full(len(site_rep), float(o.resolution_px))
    if o.include_repairs and len(cams) and "status" in cams.columns:
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
            rep_fov = np.r_[rep_fov, broken["fov_deg"].to_numpy(float) if "fov_deg" in broken
                            else np.full(len(broken), o.fov_deg)]
            rep_res = np.r_[rep_res, broken["resolution_px"].to_numpy(float) if "resolution_px" in broken
                            else np.full(len(broken), o.resolution_px)]
    return {"site_rep": site_rep, "bear": bear, "kind": kind, "name": nm, "fov": rep_fov, "res": rep_res,
            "xy": cand[["x", "y"]].to_numpy()[site_rep]}


def _camera_coverage(cov, rows: dict, level, txy, bgeom):
    """Coverage matrix of the candidate rows: one coverage call per distinct (fov, resolution), so
    the model sees scalar specs."""
    spec = np.c_[rows["fov"], rows["res"]]
    uspec, sinv = np.unique(spec, axis=0, return_inverse=True)
    blocks = [None] * len(uspec)
    order = []
    for k, (f, r) in enumerate(uspec):
        idx = np.flatnonzero(sinv.ravel() == k)
        order.append(idx)
        blocks[k] = sp.csr_matrix(cov(rows["xy"][idx], rows["bear"][idx], float(f), float(r), level, txy, bgeom))
    perm = np.concatenate(order)
    A = sp.vstack(blocks, format="csr")[np.argsort(perm)]
    A.data[:] = 1.0
    return A


def recommend_cameras(city, incidents: pd.DataFrame, layers: dict | None, budget: int,
                      options: CameraOptions | None = None, *, candidates=None,
                      net: StreetNetwork | None = None, **kw) -> pd.DataFrame:
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
    options : CameraOptions, optional
        Camera model, demand resolution, phases, method, language (see :class:`CameraOptions`);
        its fields may also be given as keyword arguments (``fov_deg=90``), which override it.
    candidates : GeoDataFrame, optional
        User-supplied sites (poles, façades), points; a ``bearing_deg`` column fixes the bearing,
        otherwise the best of ``n_bearings`` is chosen.  Default: street intersections and points
        every ``spacing_m`` metres along streets.
    net : StreetNetwork, optional
        The city's street network (loaded when needed and not given).

    Returns
    -------
    DataFrame
        One row per site in rank order: ``rank, phase, lat, lon, bearing_deg, marginal_gain``
        (harm weight), ``marginal_share``, ``cumulative_coverage`` (share of all demand, existing
        cameras included), ``incidents_new, dark_new, kind, street, reason, reason_kk/ru/en``.
        ``attrs["summary"]`` holds totals, the exact optimum and the greedy gap.
    """
    o = resolve_options(CameraOptions, options, kw, "recommend_cameras")
    c = _city(city)
    if budget < 1:
        raise ValueError(f"budget {budget}: must be ≥ 1")
    cov = o.coverage_fn or coverage_matrix
    demand = camera_demand(incidents, c, layers, o.res)
    if len(demand) == 0:
        raise ValueError("recommend_cameras: no incident demand in public space")
    txy = demand[["x", "y"]].to_numpy()
    bld = _layer(layers, "buildings")
    bgeom = Occluder(bld.to_crs(c.epsg).geometry.values) if len(bld) else None
    cams = _layer(layers, "cameras")
    precovered = _camera_precover(cams, c, o, cov, txy, bgeom)
    # candidate sites × bearings
    if candidates is None:
        net = net or load_network(c.key)
        cand = camera_candidates(net, o.spacing_m)
        fixed = np.full(len(cand), np.nan)
        names = np.full(len(cand), "", dtype=object)
    else:
        cxy = _xy(candidates, c.epsg)
        cand = pd.DataFrame({"x": cxy[:, 0], "y": cxy[:, 1], "kind": "user"})
        fixed = candidates["bearing_deg"].to_numpy(float) if "bearing_deg" in candidates else np.full(len(cand), np.nan)
        names = candidates["name"].astype(str).to_numpy(object) if "name" in candidates else np.full(len(cand), "", object)
    rows = _camera_rows(cand, fixed, names, cams, c, o, txy, precovered)
    A = _camera_coverage(cov, rows, o.level, txy, bgeom)
    w = demand["weight"].to_numpy(float)
    res_, summary = solve_cover(A, w, budget, precovered, rows["site_rep"], o.method, o.exact, o.time_limit)
    model = CoverModel(A, rows["xy"], precovered, {"bearing_deg": rows["bear"], "kind": rows["kind"],
                                                   "name": rows["name"]})
    out = site_table("camera", res_, model, demand, c, o.phases, o.lang)
    rep = out["kind"].eq("repair").to_numpy()
    if rep.any():  # repairs get their own wording
        r2 = fill_reasons("repair", out[rep].copy(), o.lang)
        out.loc[rep, ["reason", "reason_kk", "reason_ru", "reason_en"]] = r2[["reason", "reason_kk", "reason_ru",
                                                                               "reason_en"]].to_numpy()
    summary.update({"n_demand_cells": len(demand), "n_sites": len(np.unique(rows["site_rep"])),
                    "n_candidate_rows": A.shape[0], "coverage_model": "qauipsiz.cpted.cameras.coverage_matrix",
                    "precovered_share": float(w[precovered].sum() / w.sum()), "demand_res": o.res,
                    "level": o.level, **demand.attrs})
    out.attrs["summary"] = summary
    return out


# ---------------------------------------------------------------------------- SOS buttons
def _sos_cover_all(net, cxy, sxy, attrs, c, o: SosOptions) -> pd.DataFrame:
    """Set covering: the fewest buttons so that every busy place is within ``radius_m`` of one."""
    A = coverage_within(net, cxy, cxy, o.radius_m)
    pre = (np.asarray((coverage_within(net, sxy, cxy, o.radius_m) != 0).sum(0)).ravel() > 0) if len(sxy) \
        else np.zeros(len(cxy), bool)
    ex = lscp_exact(A, pre, time_limit=o.time_limit)
    gr = greedy_set_cover(A, pre)
    ranked = rank_picks(A, np.ones(len(cxy)), ex.picks, pre)
    demand = pd.DataFrame({"count": np.ones(len(cxy), int), "dark": np.zeros(len(cxy), int)})
    out = site_table("sos_cover", ranked, CoverModel(A, cxy, pre, attrs), demand, c, 1, o.lang,
                     {"radius": int(o.radius_m)})
    out.attrs["summary"] = {"mode": "cover", "sites_needed": len(ex.picks), "greedy_sites": len(gr.picks),
                            "busy_places": len(cxy), "already_covered": int(pre.sum()),
                            "uncoverable": len(ex.info["uncoverable"]), "exact_status": ex.status,
                            "radius_m": o.radius_m}
    return out


def recommend_sos(city, incidents: pd.DataFrame, layers: dict, budget: int | None = None,
                  options: SosOptions | None = None, *, net: StreetNetwork | None = None, **kw) -> pd.DataFrame:
    """Rank SOS-button sites among busy public places; coverage is walking distance on the streets.

    Parameters
    ----------
    budget : int, optional
        Number of buttons (mode ``"max"``; ignored in mode ``"cover"``).
    options : SosOptions, optional
        ``mode``: ``"max"`` — budgeted maximal covering of street and violent crime (dark-weighted,
        times a footfall proxy); ``"cover"`` — set covering: the fewest buttons so that every busy
        place is within ``radius_m`` of a button.  ``radius_m``: walking distance along the street
        network, metres (default 300).  See :class:`SosOptions`; its fields may also be given as
        keyword arguments, which override it.

    Returns
    -------
    DataFrame
        As :func:`recommend_cameras` (``kind`` = type of busy place); ``attrs["summary"]``.
    """
    o = resolve_options(SosOptions, options, kw, "recommend_sos")
    c = _city(city)
    net = net or load_network(c.key)
    cand = busy_places(layers, c, net)
    cxy = cand[["x", "y"]].to_numpy()
    sos = _layer(layers, "sos_buttons")
    if len(sos) and "status" in sos.columns:
        sos = sos[sos["status"].astype(str).eq("working").to_numpy()]
    sxy = _xy(sos, c.epsg) if len(sos) else np.zeros((0, 2))
    attrs = {"kind": cand["kind"].to_numpy(object), "name": cand["name"].to_numpy(object)}
    if o.mode == "cover":
        return _sos_cover_all(net, cxy, sxy, attrs, c, o)
    if o.mode != "max":
        raise ValueError(f"mode {o.mode!r}: expected 'max' or 'cover'")
    if budget is None or budget < 1:
        raise ValueError(f"budget {budget}: must be ≥ 1 in mode 'max'")
    demand = sos_demand(incidents, c, layers, o.res, o.dark_factor)
    if len(demand) == 0:
        raise ValueError("recommend_sos: no street or violent crime in the incidents")
    dxy = demand[["x", "y"]].to_numpy()
    A = coverage_within(net, cxy, dxy, o.radius_m)
    pre = (np.asarray((coverage_within(net, sxy, dxy, o.radius_m) != 0).sum(0)).ravel() > 0) if len(sxy) \
        else np.zeros(len(dxy), bool)
    w = demand["weight"].to_numpy(float)
    res_, summary = solve_cover(A, w, budget, pre, None, o.method, o.exact, o.time_limit)
    out = site_table("sos", res_, CoverModel(A, cxy, pre, attrs), demand, c, o.phases, o.lang,
                     {"radius": int(o.radius_m)})
    summary.update({"mode": "max", "radius_m": o.radius_m, "n_demand_cells": len(demand), "n_candidates": len(cxy),
                    **demand.attrs,
                    "precovered_share": float(w[pre].sum() / w.sum()) if w.sum() else 0.0})
    out.attrs["summary"] = summary
    return out


# ---------------------------------------------------------------------------- posts and offices
def _office_distances(net, cxy, dxy, distance: str) -> np.ndarray:
    """Candidate × demand distances in metres for the p-median: along the network (Euclidean × 1.4
    between network components) or straight."""
    from scipy.spatial.distance import cdist

    E = cdist(cxy, dxy)
    if distance == "network":
        sn, so = net.snap(cxy[:, 0], cxy[:, 1], main_only=False)
        dn, do = net.snap(dxy[:, 0], dxy[:, 1], main_only=False)
        Dn = np.vstack([net.distances(sn[i:i + 64])[:, dn] for i in range(0, len(sn), 64)]) + so[:, None] + do[None, :]
        return np.where(np.isfinite(Dn), Dn, 1.4 * E)  # different components: detour-factor fallback
    if distance == "euclidean":
        return E
    raise ValueError(f"distance {distance!r}: expected 'network' or 'euclidean'")


def _offices(c, d, df, pop, cxy, net, budget: int, o: PostOptions) -> pd.DataFrame:
    """Inspector offices: p-median on network (or Euclidean) distance, each with its beat and load."""
    D = _office_distances(net, cxy, d[["x", "y"]].to_numpy(), o.distance)
    budget = min(budget, len(cxy))
    # each cell may go to one of its k nearest candidates; k ≥ 3 m / p keeps the model feasible in practice
    k_near = int(min(len(cxy), max(25, np.ceil(3 * len(cxy) / budget))))
    pm = p_median(D, d["weight"].to_numpy(), budget, k_nearest=k_near, time_limit=o.time_limit)
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
    rpi = residents / max(o.inspectors_per_office, 1)
    out = pd.DataFrame({"rank": np.arange(1, len(order) + 1), "phase": phase_numbers(len(order), o.phases),
                        "lat": lat, "lon": lon, "marginal_gain": wsum, "marginal_share": wsum,
                        "cumulative_coverage": np.cumsum(wsum), "incidents_new": incs.astype(int),
                        "dark_new": 0, "kind": "office", "name": "",
                        "street": nearest_street(c, xy[:, 0], xy[:, 1]),
                        "residents": residents, "incidents": incs.astype(int), "residents_per_inspector": rpi,
                        "within_norm": (rpi >= INSPECTOR_NORM[0]) & (rpi <= INSPECTOR_NORM[1]),
                        "mean_distance_m": mean_d,
                        "beat_cells": pd.Series(beat).value_counts().reindex(order).fillna(0).astype(int).to_numpy()})
    out = fill_reasons("office", out, o.lang)
    # plain lists (not a DataFrame) so that pandas can compare and copy attrs safely
    out.attrs["beats"] = {"h3": d["h3"].astype("uint64").tolist(), "lat": d["lat"].tolist(),
                          "lon": d["lon"].tolist(), "office_rank": [rank_of[j] for j in beat.tolist()],
                          "residents": pop.tolist(), "incidents": d["count"].astype(int).tolist()}
    out.attrs["summary"] = {"kind": "offices", "objective_weight_m": pm.objective, "k_nearest": k_near, "bound": pm.bound,
                            "status": pm.status, "distance": o.distance, "n_demand_cells": len(d), **df.attrs,
                            "n_candidates": len(cxy), "population_total": float(pop.sum()),
                            "population_note": "residents per cell are a proxy: district totals spread by residential floor area"}
    return out


def recommend_posts(city, incidents: pd.DataFrame, layers: dict | None, budget: int,
                    options: PostOptions | None = None, *, net: StreetNetwork | None = None,
                    **kw) -> pd.DataFrame:
    """Sites for modular police posts (maximal covering on foot) or inspector offices (p-median).

    Demand per H3 cell is ``crime_share`` × (share of the city's harm-weighted crime) +
    (1 − ``crime_share``) × (share of the population proxy, :func:`population_proxy`).

    Parameters
    ----------
    options : PostOptions, optional
        ``kind``: ``posts`` — maximal covering, a post covers demand within ``radius_m`` metres
        walk (300–500 m); ``offices`` — p-median (``budget`` offices), each office gets the beat
        of cells nearest to it, with its residents-per-inspector load (``inspectors_per_office``
        share an office; ``distance`` ``"network"`` or ``"euclidean"``).  See :class:`PostOptions`;
        its fields may also be given as keyword arguments, which override it.

    Returns
    -------
    DataFrame
        Ranked sites; offices also carry ``residents, incidents, residents_per_inspector,
        within_norm``; ``attrs["beats"]`` (dict of lists; ``pd.DataFrame(attrs["beats"])``) maps each
        demand cell (``h3``, with ``lat, lon, residents, incidents``) to its ``office_rank``.
    """
    o = resolve_options(PostOptions, options, kw, "recommend_posts")
    c = _city(city)
    if o.kind not in ("posts", "offices"):
        raise ValueError(f"kind {o.kind!r}: expected 'posts' or 'offices'")
    if not 0 <= o.crime_share <= 1:
        raise ValueError(f"crime_share {o.crime_share}: must be within 0..1")
    net = net or load_network(c.key)
    res = o.res or (10 if o.kind == "posts" else 8)
    df = clean_incidents(incidents, c)
    d = cell_demand(df, c, res, df["harm_weight"].to_numpy(float))
    pop = population_proxy(c, d[["x", "y"]].to_numpy(), d["count"].to_numpy(), layers)
    d["residents"] = pop
    crime = d["weight"].to_numpy() / max(d["weight"].sum(), 1e-12)
    popn = pop / max(pop.sum(), 1e-12)
    d["weight"] = o.crime_share * crime + (1 - o.crime_share) * popn
    dxy = d[["x", "y"]].to_numpy()
    cn = intersection_candidates(net, o.candidate_spacing_m or (150.0 if o.kind == "posts" else 600.0))
    cxy = np.c_[net.x[cn], net.y[cn]]
    if o.kind == "offices":
        return _offices(c, d, df, pop, cxy, net, budget, o)
    A = coverage_within(net, cxy, dxy, o.radius_m)
    keep = np.flatnonzero(np.diff(A.indptr) > 0)
    A, cxy = A[keep], cxy[keep]
    w = d["weight"].to_numpy()
    res_, summary = solve_cover(A, w, budget, np.zeros(len(d), bool), None, o.method, o.exact, o.time_limit)
    out = site_table("post", res_, CoverModel(A, cxy, np.zeros(len(d), bool)), d, c, o.phases, o.lang,
                     {"radius": int(o.radius_m)})
    summary.update({"kind": "posts", "radius_m": o.radius_m, "n_demand_cells": len(d), "n_candidates": len(cxy),
                    **df.attrs})
    out.attrs["summary"] = summary
    return out
