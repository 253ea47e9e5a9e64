"""Lighting checks: average illuminance of zones, entrances and footpaths against the norm table, and
the longest unlit stretch of a path."""
from __future__ import annotations

import numpy as np
import pandas as pd
import shapely
from shapely.ops import substring

from qauipsiz.cpted import lighting
from qauipsiz.cpted.review.design import Design, truthy
from qauipsiz.cpted.review.measure import fmt_values, lamps_missing, lux_at, lux_field, path_points
from qauipsiz.cpted.review.messages import msg
from qauipsiz.cpted.review.registry import FAIL, PASS, Outcome, check


@check("zone_lighting")
def check_zone_lighting(d: Design, params: dict, norms: pd.DataFrame) -> Outcome:
    """Average illuminance (lx) over each polygon of ``params["kind"]`` ≥ the norm of ``params["zone"]``."""
    kind, zone = params["kind"], params["zone"]
    req = lighting.zone_norms(norms)[zone]
    polys = d.geoms(kind)
    if len(polys) == 0:
        return Outcome.not_checkable(req, "lx", msg("no_kind", kind=kind))
    why = lamps_missing(d)
    if why:
        return Outcome.not_checkable(req, "lx", why)
    grid, lux = lux_field(d)
    owner = grid.burn(polys, np.arange(1, len(polys) + 1))
    avg = np.array([lux[owner == k + 1].mean() if (owner == k + 1).any() else
                    float(lux_at(d, [shapely.centroid(g).x], [shapely.centroid(g).y])[0])
                    for k, g in enumerate(polys)])
    return Outcome.judge(avg < req, polys, round(float(avg.min()), 2), req, "lx",
                         msg("zone_average_lux", kind=kind, values=fmt_values(avg, ".1f")))


@check("entrance_lighting")
def check_entrance_lighting(d: Design, params: dict, norms: pd.DataFrame) -> Outcome:
    """Average illuminance (lx) within ``radius_m`` (default 3 m) of each entrance ≥ its norm (main /
    secondary entrance)."""
    ent = d["entrance"]
    zn = lighting.zone_norms(norms)
    if len(ent) == 0:
        return Outcome.not_checkable(zn["entrance_main"], "lx", msg("no_entrances"))
    why = lamps_missing(d)
    if why:
        return Outcome.not_checkable(zn["entrance_main"], "lx", why)
    main = ent["main"].map(truthy).to_numpy() if "main" in ent.columns else np.ones(len(ent), bool)
    req = np.where(main, zn["entrance_main"], zn["entrance_secondary"])
    r = float(params.get("radius_m", 3.0))
    xy = shapely.get_coordinates(d.geoms("entrance"))
    ang = np.linspace(0, 2 * np.pi, 12, endpoint=False)
    off = np.array([(0.0, 0.0)] + [(r * np.cos(a) * f, r * np.sin(a) * f) for f in (0.5, 1.0) for a in ang])
    px = (xy[:, 0, None] + off[None, :, 0]).ravel()
    py = (xy[:, 1, None] + off[None, :, 1]).ravel()
    avg = lux_at(d, px, py).reshape(len(xy), -1).mean(axis=1)
    bad = avg < req
    worst = int(np.argmin(avg - req))
    return Outcome.judge(bad, d.geoms("entrance"), round(float(avg[worst]), 2), float(req[worst]), "lx",
                         msg("entrances_below_norm", n=int(bad.sum()), total=len(ent)))


@check("path_lighting")
def check_path_lighting(d: Design, params: dict, norms: pd.DataFrame) -> Outcome:
    """Average illuminance (lx) along each footpath ≥ the norm of ``zone`` (default ``walking_path``)."""
    req = lighting.zone_norms(norms)[params.get("zone", "walking_path")]
    if len(d["path"]) == 0:
        return Outcome.not_checkable(req, "lx", msg("no_paths"))
    why = lamps_missing(d)
    if why:
        return Outcome.not_checkable(req, "lx", why)
    lines, li, _, x, y = path_points(d, 1.0)
    per = np.bincount(li, weights=lux_at(d, x, y)) / np.bincount(li)
    return Outcome.judge(per < req, lines, round(float(per.min()), 2), req, "lx",
                         msg("path_average_lux", values=fmt_values(per, ".1f")))


@check("unlit_path_run")
def check_unlit_path_run(d: Design, params: dict, norms: pd.DataFrame) -> Outcome:
    """Longest continuous path stretch below the norm of ``zone`` ≤ ``max_run_m`` metres (default 20),
    sampled every ``step_m`` metres (default 1)."""
    thr = lighting.zone_norms(norms)[params.get("zone", "walking_path")]
    max_run = float(params.get("max_run_m", 20.0))
    if len(d["path"]) == 0:
        return Outcome.not_checkable(max_run, "m", msg("no_paths"))
    why = lamps_missing(d)
    if why:
        return Outcome.not_checkable(max_run, "m", why)
    lines, li, dist, x, y = path_points(d, float(params.get("step_m", 1.0)))
    dark = lux_at(d, x, y) < thr
    runs = []  # (line, start, end) in metres along the line
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
    return Outcome(FAIL if bad else PASS, round(longest, 1), max_run, "m",
                   msg("unlit_runs", n=len(bad), lux=thr, max_run=max_run),
                   np.array(bad, dtype=object) if bad else None)
