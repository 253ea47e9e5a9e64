"""Surveillance checks: entrances and zones seen by working cameras at a DORI level, cameras connected
to the police ЦОУ, playgrounds overlooked by windows and entrances (natural surveillance)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from qauipsiz.cpted import cameras
from qauipsiz.cpted.review.design import Design
from qauipsiz.cpted.review.measure import (
    camera_matrix,
    fmt_values,
    occluder,
    share_per_polygon,
    working_cameras,
    zone_cells,
)
from qauipsiz.cpted.review.messages import msg
from qauipsiz.cpted.review.registry import Outcome, check


@check("entrance_camera")
def check_entrance_camera(d: Design, params: dict, norms: pd.DataFrame | None = None) -> Outcome:
    """Every entrance inside the occluded field of view of a working camera at the DORI ``level``
    (default ``recognise``)."""
    level = params.get("level", "recognise")
    ent = d["entrance"]
    if len(ent) == 0:
        return Outcome.not_checkable(1.0, "share", msg("no_entrances"))
    cam, why = working_cameras(d)
    if why and len(d["camera"]):
        return Outcome.not_checkable(1.0, "share", why)
    xy = shapely.get_coordinates(d.geoms("entrance"))
    seen = np.zeros(len(ent), bool)
    if cam is not None and len(cam):
        seen[camera_matrix(d, cam, level, xy).indices] = True
    return Outcome.judge(~seen, d.geoms("entrance"), round(float(seen.mean()), 3), 1.0, "share",
                         msg("entrances_not_seen", n=int((~seen).sum()), total=len(ent), level=level))


@check("cameras_cou")
def check_cameras_cou(d: Design, params: dict, norms: pd.DataFrame | None = None) -> Outcome:
    """Every camera has ``owner = public_cou`` (connected to the police operational control centre)."""
    cam = d["camera"]
    if len(cam) == 0:
        return Outcome.not_checkable(1.0, "share", msg("no_cameras"))
    if "owner" not in cam.columns or cam["owner"].isna().any():
        return Outcome.not_checkable(1.0, "share", msg("cameras_lack_owner"))
    ok = cam["owner"].astype(str).str.lower().to_numpy() == "public_cou"
    return Outcome.judge(~ok, d.geoms("camera"), round(float(ok.mean()), 3), 1.0, "share",
                         msg("cameras_not_cou", n=int((~ok).sum()), total=len(cam)))


@check("zone_camera")
def check_zone_camera(d: Design, params: dict, norms: pd.DataFrame | None = None) -> Outcome:
    """Share of each ``kind`` polygon seen by working cameras at a DORI ``level`` (default ``observe``)
    ≥ ``min_share`` (default 0.5)."""
    kind, level, need = params["kind"], params.get("level", "observe"), float(params.get("min_share", 0.5))
    polys = d.geoms(kind)
    if len(polys) == 0:
        return Outcome.not_checkable(need, "share", msg("no_kind", kind=kind))
    cam, why = working_cameras(d)
    if why and len(d["camera"]):
        return Outcome.not_checkable(need, "share", why)
    grid, owner, sel = zone_cells(d, polys)
    seen = np.zeros(len(sel), bool)
    if cam is not None and len(cam) and len(sel):
        seen[camera_matrix(d, cam, level, np.c_[grid.x[sel], grid.y[sel]]).indices] = True
    share = share_per_polygon(seen, owner[sel], len(polys))
    return Outcome.judge(share < need, polys, round(float(share.min()), 3), need, "share",
                         msg("zone_seen_share", kind=kind, level=level, values=fmt_values(share, ".0%")))


def _facade_watchers(res: np.ndarray, step: float) -> np.ndarray:
    """Window positions: points every ``step`` m along the facades of ``res``, 0.5 m outside the wall."""
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
    return np.c_[px + 0.5 * vx / nv, py + 0.5 * vy / nv]


@check("playground_overlook")
def check_playground_overlook(d: Design, params: dict, norms: pd.DataFrame | None = None) -> Outcome:
    """Share of playground area with a clear line of sight within ``distance_m`` (default 40 m) of a
    residential facade (windows) or an entrance ≥ ``min_share`` (default 0.8)."""
    dist, need = float(params.get("distance_m", 40.0)), float(params.get("min_share", 0.8))
    step = float(params.get("facade_step_m", 4.0))
    polys = d.geoms("playground")
    if len(polys) == 0:
        return Outcome.not_checkable(need, "share", msg("no_kind", kind="playground"))
    bld = d["building"]
    if len(bld) == 0 and len(d["entrance"]) == 0:
        return Outcome.not_checkable(need, "share", msg("no_buildings_or_entrances"))
    use = bld["use"].astype(str).str.lower().to_numpy() if "use" in bld.columns else np.full(len(bld), "residential")
    res = np.asarray(bld.geometry.values, dtype=object)[(use == "residential") | (use == "nan")]
    watchers = [shapely.get_coordinates(d.geoms("entrance"))]
    if len(res):
        watchers.append(_facade_watchers(res, step))
    grid, owner, sel = zone_cells(d, polys)
    m = cameras.coverage_matrix(np.concatenate(watchers), 0.0, 360.0, 1.0, 1.0, np.c_[grid.x[sel], grid.y[sel]],
                                occluder(d), range_m=dist)
    seen = np.zeros(len(sel), bool)
    seen[m.indices] = True
    share = share_per_polygon(seen, owner[sel], len(polys))
    return Outcome.judge(share < need, polys, round(float(share.min()), 3), need, "share",
                         msg("playground_overlooked", values=fmt_values(share, ".0%")))
