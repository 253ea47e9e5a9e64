"""CPTED score per block (0–100) with ISO 22341's six physical strategies, fixes in kk/ru/en, priority.

Pipeline (all metric work in the city's UTM metres):

1. blocks (official layer, polygonised streets, or H3 cells — :mod:`cpted.blocks`);
2. a 5 m sample grid over each block's open space (buildings removed);
3. lighting: illuminance per sample (:mod:`cpted.lighting`) against the zone norm table;
4. cameras: working cameras' occluded DORI coverage of the samples and of the entrances
   (:mod:`cpted.cameras`);
5. access, surveillance, activity and maintenance measures (:mod:`cpted.access`);
6. components → strategy sub-scores → score with the weights of ``cpted/config/score_weights.yaml``;
   the three components losing most points become the block's fixes, in plain words;
7. priority = risk × (1 − score/100), risk from a hotspot table (H3 cells) scaled to [0, 1].
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from qauipsiz.cpted import access, cameras, lighting
from qauipsiz.cpted.block_risk import RISK_COLUMNS, _share, block_risk
from qauipsiz.cpted.blocks import city_blocks
from qauipsiz.cpted.layers import layers_to_metric
from qauipsiz.cpted.norms import lighting_norms
from qauipsiz.cpted.score_config import (
    LANGS,
    STRATEGIES,
    UNDEFINED_LANDUSE,
    load_fix_texts,
    load_weights,
)


@dataclass
class BlockAssessment:
    """Result of :func:`assess_blocks`.

    Attributes
    ----------
    blocks : GeoDataFrame
        One row per block, EPSG:4326 (see :func:`score_blocks`).
    dark_spots : GeoDataFrame
        Dark-spot polygons, EPSG:4326: ``block_id, area_m2, mean_lux``.
    samples : int
        Number of 5 m samples evaluated.
    timings : dict
        Seconds per stage.
    zones : DataFrame
        Lighting per block and norm zone: ``block_id, zone, area_m2, mean_lux, norm_lx,
        share_meeting`` (share of the zone's samples at or above the norm).
    """

    blocks: gpd.GeoDataFrame
    dark_spots: gpd.GeoDataFrame
    samples: int = 0
    timings: dict = field(default_factory=dict)
    zones: pd.DataFrame | None = None


def _geoms(g) -> np.ndarray:
    return np.asarray(g.geometry.values, dtype=object) if len(g) else np.zeros(0, dtype=object)


def _area_in_blocks(block_geoms, polys) -> np.ndarray:
    """Area (m²) of ``polys`` inside each block."""
    out = np.zeros(len(block_geoms))
    if len(polys) == 0:
        return out
    bi, pi = shapely.STRtree(polys).query(block_geoms, predicate="intersects")
    a = shapely.area(shapely.intersection(block_geoms[bi], polys[pi]))
    np.add.at(out, bi, a)
    return out


def _blocks_metric(c, layers: dict[str, gpd.GeoDataFrame], blocks: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame:
    """The blocks to score in the city's UTM CRS: given ones (``block_id`` added if missing) or derived."""
    if blocks is None:
        return city_blocks(c, layers).reset_index(drop=True)
    bl = blocks.to_crs(c.epsg) if blocks.crs is not None else blocks.set_crs(c.epsg)
    bl = bl.reset_index(drop=True)
    if "block_id" not in bl.columns:
        bl["block_id"] = np.arange(len(bl))
    return bl


def _camera_views(cw: gpd.GeoDataFrame, occ, sxy: np.ndarray, ent_xy: np.ndarray,
                  n_ent: int) -> tuple[dict, np.ndarray]:
    """Which samples each DORI level of the working cameras ``cw`` sees, and which of the ``n_ent``
    entrances (points ``ent_xy``) they recognise."""
    cov: dict[str, np.ndarray] = {}
    ent_seen = np.zeros(n_ent, bool)
    if not len(cw):
        return cov, ent_seen
    cxy = shapely.get_coordinates(_geoms(cw))
    mx, my = cameras.mount_on_facade(cxy[:, 0], cxy[:, 1], cw["bearing_deg"].to_numpy(float), occ)
    args = (np.c_[mx, my], cw["bearing_deg"].to_numpy(float), cw["fov_deg"].to_numpy(float),
            cw["resolution_px"].to_numpy(float))
    for lvl in ("detect", "observe", "recognise"):
        m = cameras.coverage_matrix(*args, lvl, sxy, occ)
        seen = np.zeros(len(sxy), bool)
        seen[m.indices] = True
        cov[lvl] = seen
    if n_ent:
        m = cameras.coverage_matrix(*args, "recognise", ent_xy, occ)
        ent_seen[m.indices] = True
    return cov, ent_seen


def assess_blocks(city, layers: dict[str, gpd.GeoDataFrame], hotspots: pd.DataFrame | None = None,  # noqa: PLR0913 -- keyword-only options with defaults
                  blocks: gpd.GeoDataFrame | None = None, *, weights: str | Path | dict | None = None,
                  norms: str | Path | pd.DataFrame | None = None, risk_col: str | None = None,
                  risk_basis: str = "per_ha", progress=None) -> BlockAssessment:
    """Score every block of a city; see :func:`score_blocks` for the block columns.

    Parameters
    ----------
    risk_basis : {"per_ha", "total"}
        Priority from the block's risk per hectare (default: targets where crime concentrates, so
        large blocks do not win by size alone) or from its total.
    progress : callable, optional
        Called with a short stage name as work proceeds (the CLI passes a printer).
    """
    import time

    from qauipsiz.hotspot.cities import get_city

    tick = time.perf_counter()
    timings: dict[str, float] = {}

    def stage(name):
        nonlocal tick
        now = time.perf_counter()
        timings[name] = now - tick
        tick = now
        if progress:
            progress(name)

    c = get_city(city) if isinstance(city, str) else city
    cfg = weights if isinstance(weights, dict) else load_weights(weights)
    P = {"cell_m": 5.0, "utilisation": 1.0, "cutoff_deg": 80.0, "overlook_m": 30.0, "fence_snap_m": 3.0,
         "transit_m": 150.0, "sos_m": 500.0, "active_target": 0.25, "dark_lx": 1.0, "dark_min_area_m2": 200.0,
         "driveway_m": 10.0}
    P.update(cfg.get("params") or {})
    norm_tab = norms if isinstance(norms, pd.DataFrame) else lighting_norms(norms)
    L = layers_to_metric(layers, c.epsg)
    bl = _blocks_metric(c, layers, blocks)
    bg = np.asarray(shapely.make_valid(bl.geometry.values), dtype=object)
    nb = len(bg)
    block_area = shapely.area(bg)
    stage("blocks")

    # ---- sample grid over open space
    bld = L["buildings"]
    grid = lighting.sample_grid(bg, P["cell_m"], exclude=_geoms(bld))
    own = grid.owner
    n_s = np.bincount(own, minlength=nb).astype(float)
    sx, sy = grid.x, grid.y
    stage("grid")

    # ---- lighting
    lx, ly, lh, li = lighting.lamps_arrays(L["lamps"], P["utilisation"])
    lux = lighting.illuminance(sx, sy, lx, ly, lh, li, cutoff_deg=P["cutoff_deg"])
    ent = L["entrances"].reset_index(drop=True)
    lu = L["landuse"].reset_index(drop=True)
    zone, req = lighting.assign_zones(grid, landuse=lu, entrances=ent, edge_lines=shapely.boundary(bg),
                                      norms=norm_tab, driveway_m=P["driveway_m"])
    ok = lux >= req
    lit_share = _share(np.bincount(own, weights=ok, minlength=nb), n_s)
    mean_lux = _share(np.bincount(own, weights=lux, minlength=nb), n_s)
    zdf = pd.DataFrame({"b": own, "zone": zone, "lux": lux, "req": req, "bad": ~ok})
    zg = zdf.groupby(["b", "zone"], sort=False).agg(lux=("lux", "mean"), req=("req", "first"),
                                                    n=("lux", "size"), bad=("bad", "sum")).reset_index()
    zg["deficit"] = zg["bad"] * (1 - np.minimum(zg["lux"] / zg["req"], 1))
    zones_out = pd.DataFrame({
        "block_id": bl["block_id"].to_numpy()[zg["b"].to_numpy()], "zone": zg["zone"].to_numpy(),
        "area_m2": zg["n"].to_numpy() * grid.area_m2, "mean_lux": zg["lux"].round(2).to_numpy(),
        "norm_lx": zg["req"].to_numpy(), "share_meeting": (1 - zg["bad"] / zg["n"]).round(4).to_numpy(),
    }).sort_values(["block_id", "zone"]).reset_index(drop=True)
    worst = zg.sort_values("deficit", ascending=False).drop_duplicates("b").set_index("b")
    ent_xy = shapely.get_coordinates(_geoms(ent)) if len(ent) else np.zeros((0, 2))
    ent_lux = lighting.illuminance(ent_xy[:, 0], ent_xy[:, 1], lx, ly, lh, li, cutoff_deg=P["cutoff_deg"])
    zn = lighting.zone_norms(norm_tab)
    ent_main = ent["main"].astype(bool).to_numpy() if len(ent) else np.zeros(0, bool)
    ent_req = np.where(ent_main, zn.get("entrance_main", 6.0), zn.get("entrance_secondary", 4.0))
    ent_b = access.point_owner(_geoms(ent), bg)
    ent_dark = np.bincount(ent_b[ent_b >= 0], weights=(ent_lux < ent_req)[ent_b >= 0], minlength=nb)
    spots, spot_area, spot_lux = lighting.dark_spots(grid, lux, np.minimum(req, P["dark_lx"]), P["dark_min_area_m2"])
    stage("lighting")

    # ---- cameras (working ones; a camera inside a footprint hangs on its facade)
    cam = L["cameras"].reset_index(drop=True)
    cam_b = access.point_owner(_geoms(cam), bg)
    working = (cam["status"].astype(str).to_numpy() == "working") if len(cam) else np.zeros(0, bool)
    cov, ent_seen = _camera_views(cam[working], cameras.Occluder(_geoms(bld)), np.c_[sx, sy], ent_xy, len(ent))
    for lvl in ("detect", "observe", "recognise"):
        s = cov.get(lvl, np.zeros(len(sx), bool))
        cov[lvl] = _share(np.bincount(own, weights=s, minlength=nb), n_s)
    stage("cameras")

    # ---- access, surveillance, activity, maintenance
    n_ent = np.bincount(ent_b[ent_b >= 0], minlength=nb).astype(float)
    ctrl = access.controlled(ent["access"].to_numpy()) if len(ent) else np.zeros(0, bool)
    ent_ctrl_share = _share(np.bincount(ent_b[ent_b >= 0], weights=ctrl[ent_b >= 0], minlength=nb), n_ent)
    ent_rec_share = _share(np.bincount(ent_b[ent_b >= 0], weights=ent_seen[ent_b >= 0], minlength=nb), n_ent)
    active = bld[bld["active_ground_floor"].astype(bool).to_numpy()] if len(bld) else bld
    look = access.overlook_samples(grid, P["overlook_m"], points=ent_xy, polygons=_geoms(active))
    overlook_share = _share(np.bincount(own, weights=look, minlength=nb), n_s)

    lu_kind = lu["landuse"].astype(str).to_numpy() if len(lu) else np.zeros(0, dtype=object)
    lug = _geoms(lu)
    yard = lu_kind == "yard"
    yg = lug[yard]
    y_b = access.point_owner(shapely.point_on_surface(yg), bg) if len(yg) else np.zeros(0, np.int64)
    y_open, y_gaps = access.edge_openness(yg, _geoms(L["fences"]), P["fence_snap_m"])
    y_area = shapely.area(yg) if len(yg) else np.zeros(0)
    y_fenced = (lu["fenced"].astype(bool).to_numpy()[yard] | (y_open < 0.1)) if len(yg) else np.zeros(0, bool)
    sel = y_b >= 0
    ya = np.bincount(y_b[sel], weights=y_area[sel], minlength=nb)
    yard_closed = 1 - _share(np.bincount(y_b[sel], weights=(y_area * y_open)[sel], minlength=nb), ya)
    yard_fenced = _share(np.bincount(y_b[sel], weights=(y_area * y_fenced)[sel], minlength=nb), ya)
    yard_gaps = np.bincount(y_b[sel], weights=y_gaps[sel], minlength=nb).astype(np.int64)
    y_pass = (y_open >= 0.5) | (y_gaps >= 2)  # mostly unfenced, or ≥ 2 gaps: a through-route
    yards_passable = np.bincount(y_b[sel], weights=y_pass[sel], minlength=nb).astype(np.int64)
    n_yards = np.bincount(y_b[sel], minlength=nb).astype(np.int64)
    undefined_area = _area_in_blocks(bg, lug[np.isin(lu_kind, UNDEFINED_LANDUSE)])
    defined = 1 - np.clip(undefined_area / np.maximum(block_area, 1e-9), 0, 1)
    play = np.isin(lu_kind, ("playground", "sport"))
    in_play = grid.burn(lug[play], np.ones(int(play.sum()), np.int32)) > 0 if play.any() else np.zeros(len(sx), bool)
    n_play = np.bincount(own, weights=in_play, minlength=nb)
    play_look = _share(np.bincount(own, weights=in_play & look, minlength=nb), n_play)

    lamps = L["lamps"]
    lamp_b = access.point_owner(_geoms(lamps), bg)
    lw = lamps["working"].astype(bool).to_numpy() if len(lamps) else np.zeros(0, bool)
    n_lamp = np.bincount(lamp_b[lamp_b >= 0], minlength=nb).astype(float)
    lamp_ok = _share(np.bincount(lamp_b[lamp_b >= 0], weights=lw[lamp_b >= 0], minlength=nb), n_lamp)
    n_cam = np.bincount(cam_b[cam_b >= 0], minlength=nb).astype(float)
    cam_ok = _share(np.bincount(cam_b[cam_b >= 0], weights=working[cam_b >= 0], minlength=nb), n_cam)
    cou = (cam["owner"].astype(str).to_numpy() == "public_cou") & working if len(cam) else np.zeros(0, bool)
    n_cam_w = np.bincount(cam_b[cam_b >= 0], weights=working[cam_b >= 0], minlength=nb)
    cou_share = _share(np.bincount(cam_b[cam_b >= 0], weights=cou[cam_b >= 0], minlength=nb), n_cam_w)
    transit = access.near_polygon(_geoms(L["transit_stops"]), bg, P["transit_m"]).astype(float)
    sos = L["sos_buttons"]
    sos_w = sos[(sos["status"].astype(str).to_numpy() == "working")] if len(sos) else sos
    sos_ok = access.near_polygon(_geoms(sos_w), bg, P["sos_m"]).astype(float)
    b_b = access.point_owner(shapely.point_on_surface(_geoms(bld)), bg) if len(bld) else np.zeros(0, np.int64)
    n_bld = np.bincount(b_b[b_b >= 0], minlength=nb).astype(float)
    act = bld["active_ground_floor"].astype(bool).to_numpy() if len(bld) else np.zeros(0, bool)
    act_share = _share(np.bincount(b_b[b_b >= 0], weights=act[b_b >= 0], minlength=nb), n_bld)
    bars_near = np.zeros(nb, np.int64)  # bars and liquor shops within transit_m: reported, not scored
    if len(L["bars"]):
        bi_, _ = shapely.STRtree(_geoms(L["bars"])).query(bg, predicate="dwithin", distance=P["transit_m"])
        bars_near = np.bincount(bi_, minlength=nb)
    stage("access")

    comp = {
        "lit_share": lit_share, "camera_observe_share": cov["observe"], "overlook_share": overlook_share,
        "entrance_controlled_share": ent_ctrl_share, "yard_closed_share": yard_closed,
        "defined_space_share": defined, "yard_fenced_share": yard_fenced,
        "playground_overlook_share": play_look, "lamps_working_share": lamp_ok,
        "cameras_working_share": cam_ok, "transit_access": transit,
        "active_frontage_share": np.minimum(act_share / max(P["active_target"], 1e-9), 1.0),
        "entrance_recognise_share": ent_rec_share, "camera_cou_share": cou_share, "sos_access": sos_ok,
    }
    sub, total, loss = _combine(comp, cfg["strategies"], nb)

    # ---- fixes in plain words
    texts = load_fix_texts()
    zone_names = norm_tab.set_index("zone")
    fix_params = {
        "lit_share": lambda b: _lit_params(b, worst, zone_names, ent_dark),
        "camera_observe_share": lambda b: {"pct": 100 * np.nan_to_num(cov["observe"][b])},
        "overlook_share": lambda b: {"pct": 100 * (1 - overlook_share[b])},
        "entrance_controlled_share": lambda b: {"n": round(n_ent[b] * (1 - ent_ctrl_share[b])),
                                                "total": int(n_ent[b])},
        "yard_closed_share": lambda b: {"pct": 100 * (1 - yard_closed[b]), "n": int(yards_passable[b]),
                                        "total": int(n_yards[b]), "gaps": int(yard_gaps[b])},
        "defined_space_share": lambda b: {"ha": undefined_area[b] / 1e4},
        "yard_fenced_share": lambda b: {"pct": 100 * (1 - yard_fenced[b])},
        "playground_overlook_share": lambda b: {"pct": 100 * (1 - play_look[b])},
        "lamps_working_share": lambda b: {"n": round(n_lamp[b] * (1 - lamp_ok[b])), "total": int(n_lamp[b])},
        "cameras_working_share": lambda b: {"n": round(n_cam[b] * (1 - cam_ok[b])), "total": int(n_cam[b])},
        "transit_access": lambda b: {"m": P["transit_m"]},
        "active_frontage_share": lambda b: {"pct": 100 * np.nan_to_num(act_share[b])},
        "entrance_recognise_share": lambda b: {"n": round(n_ent[b] * (1 - ent_rec_share[b])),
                                               "total": int(n_ent[b])},
        "camera_cou_share": lambda b: {"n": round(n_cam_w[b] * (1 - cou_share[b])), "total": int(n_cam_w[b])},
        "sos_access": lambda b: {"m": P["sos_m"]},
    }
    keys = list(comp)
    L_ = np.column_stack([loss[k] for k in keys]) if keys else np.zeros((nb, 0))
    order = np.argsort(-L_, axis=1, kind="stable")[:, :3]
    fixes = {f"fix_{i + 1}_{lang}": np.full(nb, "", dtype=object) for i in range(3) for lang in LANGS}
    fix_keys = np.full(nb, "", dtype=object)
    for b in range(nb):
        ks = []
        for i, j in enumerate(order[b]):
            if not L_[b, j] > 0.005:
                break
            k = keys[j]
            prm = fix_params[k](b)
            tk = "lit_share_no_entrances" if k == "lit_share" and prm.get("n", 1) == 0 else k
            for lang in LANGS:
                fixes[f"fix_{i + 1}_{lang}"][b] = texts[tk][lang].format(**prm)
            ks.append(k)
        fix_keys[b] = ",".join(ks)
    stage("score")

    # ---- risk and priority
    if risk_basis not in ("per_ha", "total"):
        raise ValueError(f"risk_basis must be 'per_ha' or 'total', got {risk_basis!r}")
    if hotspots is not None and len(hotspots):
        col = risk_col or next((c_ for c_ in RISK_COLUMNS if c_ in hotspots.columns), None)
        risk = np.nan_to_num(block_risk(gpd.GeoDataFrame(geometry=bg, crs=c.epsg), hotspots, risk_col))
        if col == "density":  # already per unit area: the total is density × area
            risk_ha, risk = risk, risk * block_area / 1e4
        else:
            risk_ha = risk / np.maximum(block_area / 1e4, 1e-9)
        basis = risk_ha if risk_basis == "per_ha" else risk
        rmax = basis.max() if len(basis) else 0.0
        risk_n = basis / rmax if rmax > 0 else np.zeros(nb)
    else:
        risk = risk_ha = np.full(nb, np.nan)
        risk_n = np.ones(nb)
    total = np.round(total, 1)
    priority = risk_n * (1 - total / 100.0)
    rank = pd.Series(priority).rank(ascending=False, method="first").to_numpy().astype(int) if nb else np.zeros(0, int)
    stage("risk")

    out = pd.DataFrame({"block_id": bl["block_id"].to_numpy(), "score": np.round(total, 1)})
    for strategy in STRATEGIES:
        out[strategy] = np.round(sub[strategy], 1)
    for k, v in fixes.items():
        out[k] = v
    out["fixes"] = fix_keys
    out["risk"] = risk
    out["risk_per_ha"] = risk_ha
    out["risk_norm"] = risk_n if hotspots is not None else np.nan
    out["priority"] = priority
    out["priority_rank"] = rank
    out["area_m2"] = np.round(block_area, 1)
    out["mean_lux"] = mean_lux
    out["dark_area_m2"] = np.bincount(access.point_owner(shapely.point_on_surface(spots), bg).clip(0), weights=spot_area,
                                      minlength=nb) if len(spots) else np.zeros(nb)
    out["camera_detect_share"] = cov["detect"]
    out["camera_recognise_share"] = cov["recognise"]
    out["n_entrances"] = n_ent.astype(int)
    out["entrances_dark"] = ent_dark.astype(int)
    out["bars_nearby"] = bars_near
    out["n_yards"] = n_yards
    out["yard_gaps"] = yard_gaps
    out["yards_passable"] = yards_passable
    for k, v in comp.items():
        out[f"c_{k}"] = v
    gdf = gpd.GeoDataFrame(out, geometry=bg, crs=c.epsg).to_crs(4326)
    sp_b = access.point_owner(shapely.point_on_surface(spots), bg) if len(spots) else np.zeros(0, np.int64)
    ds = gpd.GeoDataFrame({"block_id": bl["block_id"].to_numpy()[np.maximum(sp_b, 0)] if len(spots) else
                           np.zeros(0, np.int64), "area_m2": np.round(spot_area, 1), "mean_lux": np.round(spot_lux, 2)},
                          geometry=spots, crs=c.epsg).to_crs(4326)
    stage("output")
    return BlockAssessment(gdf, ds, len(grid), timings, zones_out)


def _lit_params(b, worst, zone_names, ent_dark):
    if b in worst.index:
        w = worst.loc[b]
        z = w["zone"]
        p = {f"zone_{lang}": (zone_names.loc[z, f"name_{lang}"] if z in zone_names.index else z) for lang in LANGS}
        p.update(lux=float(w["lux"]), norm=float(w["req"]))
    else:
        p = {f"zone_{lang}": "" for lang in LANGS}
        p.update(lux=0.0, norm=0.0)
    p["n"] = int(ent_dark[b])
    return p


def _combine(comp: dict[str, np.ndarray], strategies: dict, nb: int):
    """Components → sub-scores (0–100), total (0–100) and points lost per component (0–1 of total)."""
    sub, avail_w = {}, {}
    raw_loss = {k: np.zeros(nb) for k in comp}
    for s in STRATEGIES:
        spec = strategies.get(s) or {}
        cw = {k: float(w) for k, w in (spec.get("components") or {}).items()}
        unknown = set(cw) - set(comp)
        if unknown:
            raise ValueError(f"score weights: strategy {s} has unknown components {', '.join(sorted(unknown))}")
        num = np.zeros(nb)
        den = np.zeros(nb)
        for k, w in cw.items():
            v = np.asarray(comp[k], float)
            have = np.isfinite(v)
            num += np.where(have, w * np.clip(np.nan_to_num(v), 0, 1), 0)
            den += np.where(have, w, 0)
        sub[s] = 100 * _share(num, den)
        avail_w[s] = np.where(den > 0, float(spec.get("weight", 0)), 0.0)
        for k, w in cw.items():
            v = np.asarray(comp[k], float)
            raw_loss[k] = raw_loss[k] + np.where(np.isfinite(v) & (den > 0), w / np.where(den > 0, den, 1)
                                                 * (1 - np.clip(np.nan_to_num(v), 0, 1)), 0) * avail_w[s]
    W = sum(avail_w.values())
    total = np.zeros(nb)
    for s in STRATEGIES:
        total += np.nan_to_num(sub[s]) * avail_w[s]
    total = _share(total, W)
    loss = {k: _share(v, W) for k, v in raw_loss.items()}
    return sub, np.nan_to_num(total), {k: np.nan_to_num(v) for k, v in loss.items()}


def score_blocks(city, layers: dict[str, gpd.GeoDataFrame], hotspots: pd.DataFrame | None = None,
                 blocks: gpd.GeoDataFrame | None = None, **kwargs) -> gpd.GeoDataFrame:
    """CPTED score per block.

    Parameters
    ----------
    city : str or hotspot.cities.City
        Registry key (e.g. ``"astana"``); its UTM zone is the metric CRS.
    layers : dict of GeoDataFrame
        City layers (:func:`cpted.layers.load_layer_dir`), any CRS.  Missing layers count as empty.
    hotspots : DataFrame, optional
        Per-H3-cell table with ``h3`` and a risk column (``weighted``, ``count``, ``density`` or
        ``risk``; or ``risk_col=``), e.g. ``hotspot.surface.hotspot_table(...)``.  Without it every
        block has risk 1 and priority = 1 − score/100.
    blocks : GeoDataFrame, optional
        Blocks to score (any CRS); default :func:`cpted.blocks.city_blocks` (the ``blocks`` layer,
        else polygonised streets, else H3 cells).
    **kwargs
        ``weights`` (YAML path or dict), ``norms`` (lighting norm CSV or DataFrame), ``risk_col``,
        ``risk_basis`` (``"per_ha"`` default, or ``"total"``), ``progress`` — see :func:`assess_blocks`.

    Returns
    -------
    GeoDataFrame
        EPSG:4326, one row per block: ``block_id``; ``score`` (0–100); the six ISO 22341 sub-scores
        ``natural_surveillance, natural_access_control, territorial_reinforcement,
        image_maintenance, activity_support, target_hardening`` (0–100, NaN when nothing applies);
        ``fix_1_kk … fix_3_en`` (top three fixes in plain words, empty when none) and ``fixes``
        (their component keys); ``risk`` (block total in the hotspot column's units),
        ``risk_per_ha``, ``risk_norm`` (risk per ha / its maximum; with ``risk_basis="total"`` the
        total / its maximum), ``priority = risk_norm · (1 − score/100)``, ``priority_rank`` (1 = fix
        first); measures ``area_m2, mean_lux, dark_area_m2, camera_detect_share,
        camera_recognise_share, n_entrances, entrances_dark, bars_nearby`` (bars and liquor shops
        within 150 m, reported for context, not scored), ``n_yards, yard_gaps`` (open stretches ≥ 3 m
        in partly fenced yard edges), ``yards_passable`` (yards at least half unfenced or with ≥ 2 gaps: through-routes) and every component ``c_*`` (0–1).
    """
    return assess_blocks(city, layers, hotspots, blocks, **kwargs).blocks
