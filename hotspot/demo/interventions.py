"""Planted interventions with known effects in the demo city (issue 18, item 4).

Three dated groups of layer features, chosen in busy places away from the planted hotspots and
from each other (so their areas and rings never overlap):

* ``cameras`` — 25 cameras switched on 2025-06-01: theft within 150 m after that date falls by
  30 %, and theft in the 150–400 m ring rises by 10 % (displacement);
* ``lamps`` — 20 yard lamps that did not work, switched on 2025-01-01 (their ``working`` becomes
  true): incidents of any category *in the dark* within 150 m fall by 25 % (daylight ones
  unchanged);
* ``placebo_cameras`` — 25 other cameras switched on 2025-04-01 with no effect at all.

The demo spans 2024-01-01 to 2025-12-31, so every date leaves at least 14 months before and 7
after.  Effects are made by *moving* incidents, never adding or deleting them, so the incident
count and every other planted truth stay as they were: a removed incident is moved to the place
and time of another background incident of the same place type anywhere in the city at least
700 m from every site (so it adds the same thin share everywhere else, before and after alike,
which a difference-in-differences cancels); a displaced one is taken from such a place, in the
post-period, into the ring.  Only background incidents that are
neither a near repeat nor the source of one are moved (planted hotspots and near-repeat pairs keep
their places).  The number moved is exact: ``round(effect × count)`` of the area's own
post-period count, so the realised effect equals the planted one up to rounding.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from qauipsiz.hotspot.cities import City
from qauipsiz.hotspot.timeutil import is_dark, to_utc

GROUPS: list[dict[str, Any]] = [  # chosen in this order (the first gets the busiest places)
    {"group": "cameras", "layer": "cameras", "id_col": "camera_id", "n": 25, "installed": "2025-06-01",
     "categories": ["theft"], "dark_only": False, "effect": -0.30, "ring_effect": 0.10},
    {"group": "lamps", "layer": "lamps", "id_col": "lamp_id", "n": 20, "installed": "2025-01-01",
     "categories": None, "dark_only": True, "effect": -0.25, "ring_effect": 0.0, "broken_before": True},
    {"group": "placebo_cameras", "layer": "cameras", "id_col": "camera_id", "n": 25, "installed": "2025-04-01",
     "categories": None, "dark_only": False, "effect": 0.0, "ring_effect": 0.0},
]
RADIUS_M = 150.0
RING_M = (150.0, 400.0)
SITE_GAP_M = 320.0  # between sites of one group (their 150 m discs never overlap)
GROUP_GAP_M = 1_000.0  # between groups: areas, rings and their comparison exclusion apart
HOTSPOT_GAP_M = 650.0  # from a planted hotspot's centre (its disc stays out of every ring)
FAR_M = 700.0  # moved incidents go to (or come from) anywhere at least this far from every site


@contextmanager
def zero_effects() -> Iterator[None]:
    """Within the block, the demo plants its groups with every effect set to zero (a null demo for
    calibration studies, ``bench/evaluation_calibration.py``): the same sites and dates, no incident
    moved.  ``GROUPS`` is restored on exit."""
    global GROUPS
    saved = GROUPS
    GROUPS = [{**g, "effect": 0.0, "ring_effect": 0.0} for g in saved]
    try:
        yield
    finally:
        GROUPS = saved


def _greedy(xy: np.ndarray, score: np.ndarray, n: int, taken: np.ndarray, gap_self: float,
            gap_other: float) -> np.ndarray:
    """Up to ``n`` rows of ``xy``, best score first, ``gap_self`` apart and ``gap_other`` from ``taken``."""
    chosen: list[int] = []
    for i in np.argsort(-score, kind="stable"):
        if score[i] <= 0 or len(chosen) == n:
            break
        if len(taken) and np.hypot(*(taken - xy[i]).T).min() < gap_other:
            continue
        if chosen and np.hypot(*(xy[chosen] - xy[i]).T).min() < gap_self:
            continue
        chosen.append(int(i))
    return np.asarray(chosen, dtype=np.int64)


def _movable(df: pd.DataFrame) -> np.ndarray:
    src = df["near_repeat_of"].to_numpy()
    is_src = np.zeros(len(df), bool)
    is_src[src[src >= 0]] = True
    return (df["hotspot_id"].to_numpy() < 0) & (src < 0) & ~is_src


def _relocate_far(df: pd.DataFrame, rows: np.ndarray, far: np.ndarray, rng) -> None:
    """Move ``rows`` to the place *and time* of random ``far`` background incidents of the same place
    type (±15 m, ±3 h): the moved incidents follow the background in space and time, so they add the
    same small share everywhere outside the sites, before and after alike."""
    pt = df["place_type"].to_numpy()
    x, y = df["x"].to_numpy().copy(), df["y"].to_numpy().copy()
    t = df["occurred_local"].to_numpy().copy()
    far_idx = np.flatnonzero(far)
    for p in np.unique(pt[rows]):
        r = rows[pt[rows] == p]
        pool = far_idx[pt[far_idx] == p]
        if len(pool) == 0:
            pool = far_idx
        d = pool[rng.integers(0, len(pool), len(r))]
        x[r] = x[d] + rng.normal(0, 15.0, len(r))
        y[r] = y[d] + rng.normal(0, 15.0, len(r))
        t[r] = t[d] + rng.integers(-180, 181, len(r)).astype("timedelta64[m]")
    df["x"], df["y"] = x, y
    lo, hi = df["occurred_local"].min(), df["occurred_local"].max()
    df["occurred_local"] = pd.Series(t, index=df.index).clip(lower=lo, upper=hi).dt.floor("min")


def _random_in_area(area, n: int, rng) -> tuple[np.ndarray, np.ndarray]:
    x0, y0, x1, y1 = shapely.bounds(area)
    xs, ys = np.empty(0), np.empty(0)
    while len(xs) < n:
        px, py = rng.uniform(x0, x1, 4 * n + 16), rng.uniform(y0, y1, 4 * n + 16)
        ok = shapely.contains_xy(area, px, py)
        xs, ys = np.r_[xs, px[ok]], np.r_[ys, py[ok]]
    return xs[:n], ys[:n]


def _selected(df: pd.DataFrame, g: dict, city: City, t0: pd.Timestamp) -> np.ndarray:
    """Rows of the group's categories (and darkness) on or after the installation."""
    sel = np.array(df["occurred_local"] >= t0, dtype=bool)
    if g["categories"]:
        sel &= df["category"].isin(g["categories"]).to_numpy()
    if g["dark_only"] and sel.any():
        idx = np.flatnonzero(sel)
        lon, lat = city.to_wgs84(df["x"].to_numpy()[idx], df["y"].to_numpy()[idx])
        utc = to_utc(df["occurred_local"].iloc[idx].reset_index(drop=True), city.tz)
        sel[idx] = is_dark(lat, lon, utc)
    return sel


def _site_scores(df: pd.DataFrame, g: dict, xy: np.ndarray, city: City) -> np.ndarray:
    sel = np.ones(len(df), bool)
    if g["categories"]:
        sel &= df["category"].isin(g["categories"]).to_numpy()
    tree = cKDTree(np.c_[df["x"].to_numpy()[sel], df["y"].to_numpy()[sel]])
    score = tree.query_ball_point(xy, RADIUS_M, return_length=True).astype(float)
    inner = shapely.buffer(city.boundary_metric, -(RING_M[1] + 250.0))
    score[~shapely.contains_xy(inner, xy[:, 0], xy[:, 1])] = 0
    return score


def plant_interventions(df: pd.DataFrame, L: dict, hot_rows: list[dict], city: City,
                        seed: int) -> tuple[pd.DataFrame, list[dict]]:
    """Choose the dated feature groups and move incidents to plant their effects.

    Parameters
    ----------
    df : DataFrame
        Incidents from ``generate_incidents`` (UTM ``x, y`` metres, ``occurred_local``, ``category``,
        ``place_type``, ``hotspot_id``, ``near_repeat_of``).
    L : dict of GeoDataFrame
        Layers in the city's UTM CRS; ``cameras``, ``lamps`` and ``sos_buttons`` gain an
        ``installed`` column (local date string, None for features not in a group; the SOS
        buttons have none).
    hot_rows : list of dict
        Planted hotspots (``x, y`` centres) to keep away from.
    city : City
    seed : int
        The demo seed; a separate generator is derived from it, so the rest of the demo is unchanged.

    Returns
    -------
    (DataFrame, list of dict)
        Incidents with some ``x, y`` moved, and one truth record per group.
    """
    rng = np.random.default_rng([seed, 18])
    df = df.copy()
    for name in ("cameras", "lamps", "sos_buttons"):
        L[name]["installed"] = np.full(len(L[name]), None, dtype=object)
    hot_xy = np.array([[h["x"], h["y"]] for h in hot_rows]) if hot_rows else np.empty((0, 2))
    taken = np.empty((0, 2))
    sites: list[tuple[dict, np.ndarray]] = []
    for g in GROUPS:
        lay = L[g["layer"]]
        xy = np.c_[lay.geometry.x.to_numpy(), lay.geometry.y.to_numpy()]
        score = _site_scores(df, g, xy, city)
        if g.get("broken_before"):  # yard lamps that did not work
            score[lay["working"].to_numpy(bool) | (lay["lamp_class"].to_numpy() != "yard")] = 0
        if len(hot_xy):
            near_hot = cKDTree(hot_xy).query(xy)[0] < HOTSPOT_GAP_M
            score[near_hot] = 0
        pick = _greedy(xy, score, g["n"], taken, SITE_GAP_M, GROUP_GAP_M)
        taken = np.r_[taken, xy[pick]]
        sites.append((g, pick))
    all_pts = shapely.points(taken)
    far_zone = shapely.union_all(shapely.buffer(all_pts, FAR_M))
    movable = _movable(df)
    far = movable & ~shapely.contains_xy(far_zone, df["x"].to_numpy(), df["y"].to_numpy())
    truth: list[dict] = []
    for g, pick in sites:
        lay = L[g["layer"]]
        inst = lay["installed"].to_numpy(object).copy()
        inst[pick] = g["installed"]
        lay["installed"] = inst
        if g.get("broken_before"):
            lay.loc[lay.index[pick], "working"] = True
        pts = shapely.points(lay.geometry.x.to_numpy()[pick], lay.geometry.y.to_numpy()[pick])
        disc = shapely.union_all(shapely.buffer(pts, RADIUS_M))
        ring = shapely.difference(shapely.union_all(shapely.buffer(pts, RING_M[1])),
                                  shapely.union_all(shapely.buffer(pts, RING_M[0])))
        t0 = pd.Timestamp(g["installed"])
        sel = _selected(df, g, city, t0)
        xs, ys = df["x"].to_numpy(), df["y"].to_numpy()
        in_t = sel & shapely.contains_xy(disc, xs, ys)
        in_r = sel & shapely.contains_xy(ring, xs, ys)
        n_t, n_r = int(in_t.sum()), int(in_r.sum())
        k = round(-g["effect"] * n_t)
        cand = np.flatnonzero(in_t & movable)
        rem = rng.choice(cand, size=min(k, len(cand)), replace=False) if k > 0 else np.empty(0, np.int64)
        far_g = far & ~in_t & ~in_r
        _relocate_far(df, rem, far_g, rng)
        m = round(g["ring_effect"] * n_r)
        added = np.empty(0, np.int64)
        if m > 0:
            donors = np.flatnonzero(far_g & sel)
            added = rng.choice(donors, size=min(m, len(donors)), replace=False)
            ax, ay = _random_in_area(ring, len(added), rng)
            df.loc[added, "x"] = ax
            df.loc[added, "y"] = ay
        far[rem] = False
        far[added] = False
        truth.append({
            "group": g["group"], "layer": g["layer"], "id_col": g["id_col"],
            "ids": [int(v) for v in lay[g["id_col"]].to_numpy()[pick]], "installed": g["installed"],
            "categories": g["categories"], "dark_only": g["dark_only"], "radius_m": RADIUS_M, "ring_m": list(RING_M),
            "effect_pct": round(100 * g["effect"], 1), "ring_effect_pct": round(100 * g["ring_effect"], 1),
            "realised_effect_pct": round(-100 * len(rem) / n_t, 2) if n_t else 0.0,
            "realised_ring_effect_pct": round(100 * len(added) / n_r, 2) if n_r else 0.0,
            "after_count_without_effect": n_t, "moved_out": len(rem),
            "ring_after_count_without_effect": n_r, "moved_into_ring": len(added),
        })
    return df, truth
