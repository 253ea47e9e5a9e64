"""Synthetic incidents on the demo city: shares, time profiles, planted hotspots, near repeats, dirt."""
from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from qauipsiz.hotspot.cities import City
from qauipsiz.hotspot.demo.addresses import render_address
from qauipsiz.hotspot.taxonomy import articles, harm_weights, place_types
from qauipsiz.hotspot.timeutil import is_dark, to_utc

CATEGORY_SHARES = {
    "theft": 0.46, "petty_theft": 0.08, "fraud": 0.13, "robbery": 0.05, "armed_robbery": 0.01,
    "hooliganism": 0.05, "battery": 0.04, "minor_harm": 0.03, "medium_harm": 0.015, "grievous_harm": 0.008,
    "murder": 0.002, "rape": 0.002, "extortion": 0.008, "vehicle_taking": 0.015, "property_damage": 0.03,
    "vandalism": 0.01, "public_drinking": 0.05, "petty_hooliganism": 0.01,
}
PART_SHARES = {  # share of each part of an article within its category
    "theft": {1: 0.5, 2: 0.35, 3: 0.1, 4: 0.05}, "fraud": {1: 0.6, 2: 0.3, 3: 0.08, 4: 0.02},
    "robbery": {1: 0.7, 2: 0.25, 3: 0.04, 4: 0.01}, "armed_robbery": {1: 0.7, 2: 0.25, 3: 0.05},
    "hooliganism": {1: 0.6, 2: 0.35, 3: 0.05}, "medium_harm": {1: 0.7, 2: 0.3},
    "grievous_harm": {1: 0.8, 2: 0.15, 3: 0.05}, "murder": {1: 0.85, 2: 0.15}, "rape": {1: 0.8, 2: 0.2},
    "extortion": {1: 0.8, 2: 0.2}, "vehicle_taking": {1: 0.7, 2: 0.3}, "property_damage": {1: 0.7, 2: 0.3},
    "vandalism": {1: 0.9, 2: 0.1},
}
HOUR_PROFILE = {  # category -> profile name
    "day": ["theft", "petty_theft", "fraud", "extortion"],
    "evening": ["robbery", "hooliganism", "battery", "minor_harm", "medium_harm", "public_drinking",
                "petty_hooliganism", "grievous_harm"],
    "night": ["armed_robbery", "vehicle_taking", "property_damage", "vandalism", "rape", "murder"],
}
WEEKDAY_WEIGHTS = [0.95, 0.95, 0.97, 1.0, 1.1, 1.15, 1.0]  # Monday first
SEASON_AMPLITUDE = 0.15  # summer peak, day of year 200
DIRT_SHARES = {"address_only": 0.10, "swapped": 0.008, "zero": 0.006, "outside": 0.006,
               "low_precision": 0.006, "station_sink": 0.004}
DUPLICATE_SHARE = 0.02
NEAR_REPEAT = {"share": 0.06, "radius_m": 200.0, "max_days": 14}
DARK_SHIFT = 0.4  # share of daylight yard/street incidents moved to dark hours ("riskier after dark")

HOTSPOTS: list[dict[str, Any]] = [  # anchor layer, place type, category mix, local hours, share of all incidents, radius m
    {"anchor": "market", "place_type": "mall_shop_market", "mix": {"theft": 0.7, "robbery": 0.2, "fraud": 0.1},
     "hours": (9, 19), "share": 0.03, "radius_m": 180.0},
    {"anchor": "transit_stops", "place_type": "public_transport", "mix": {"theft": 0.85, "robbery": 0.15},
     "hours": (7, 20), "share": 0.025, "radius_m": 150.0},
    {"anchor": "bars", "place_type": "entertainment",
     "mix": {"hooliganism": 0.4, "battery": 0.3, "robbery": 0.2, "minor_harm": 0.1}, "hours": (21, 4),
     "share": 0.025, "radius_m": 150.0},
    {"anchor": "yard", "place_type": "yard", "mix": {"theft": 0.5, "robbery": 0.3, "property_damage": 0.2},
     "hours": (19, 3), "share": 0.02, "radius_m": 150.0},
    {"anchor": "park", "place_type": "street_square_park",
     "mix": {"robbery": 0.4, "hooliganism": 0.3, "public_drinking": 0.3}, "hours": (18, 1), "share": 0.02,
     "radius_m": 200.0},
    {"anchor": "wasteland", "place_type": "wasteland", "mix": {"robbery": 0.5, "armed_robbery": 0.2, "theft": 0.3},
     "hours": (20, 4), "share": 0.015, "radius_m": 150.0},
]


def _hour_weights(profile: str) -> np.ndarray:
    h = np.arange(24) + 0.5
    if profile == "day":
        w = 0.25 + np.exp(-0.5 * ((h - 14.5) / 3.5) ** 2)
    elif profile == "evening":
        w = 0.2 + np.exp(-0.5 * (((h - 20.5 + 12) % 24 - 12) / 3.5) ** 2)
    else:
        w = 0.15 + np.exp(-0.5 * (((h - 0.5 + 12) % 24 - 12) / 3.0) ** 2)
    return w / w.sum()


def _window_weights(start: int, end: int) -> np.ndarray:
    h = np.arange(24)
    w = ((h >= start) | (h < end)) if start > end else ((h >= start) & (h < end))
    return w / w.sum()


def _random_in(polys, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` uniform random points inside the union of ``polys`` (area-weighted, by rejection)."""
    polys = np.asarray(polys)
    area = shapely.area(polys)
    which = rng.choice(len(polys), size=n, p=area / area.sum())
    x = np.empty(n)
    y = np.empty(n)
    todo = np.arange(n)
    bounds = shapely.bounds(polys)
    while len(todo):
        b = bounds[which[todo]]
        px = rng.uniform(b[:, 0], b[:, 2])
        py = rng.uniform(b[:, 1], b[:, 3])
        ok = shapely.contains_xy(polys[which[todo]], px, py)
        x[todo[ok]], y[todo[ok]] = px[ok], py[ok]
        todo = todo[~ok]
    return x, y


def _pick(xy: np.ndarray, weight: np.ndarray, n: int, jitter_m: float, rng) -> tuple[np.ndarray, np.ndarray]:
    i = rng.choice(len(xy), size=n, p=weight / weight.sum())
    return xy[i, 0] + rng.normal(0, jitter_m, n), xy[i, 1] + rng.normal(0, jitter_m, n)


def _xy(gdf: gpd.GeoDataFrame) -> np.ndarray:
    c = shapely.centroid(gdf.geometry.values)
    return np.c_[shapely.get_x(c), shapely.get_y(c)]


def _centrality(xy: np.ndarray, centre: tuple[float, float], scale_m: float = 6000.0) -> np.ndarray:
    return 0.15 + np.exp(-np.hypot(xy[:, 0] - centre[0], xy[:, 1] - centre[1]) / scale_m)


def _place_points(place: str, n: int, L: dict, centre, rng) -> tuple[np.ndarray, np.ndarray]:
    """Background locations (UTM metres) for ``n`` incidents of one place type."""
    lu = L["landuse"]
    b = L["buildings"]
    if n == 0:
        return np.empty(0), np.empty(0)
    if place == "street_square_park":
        n_park = round(0.2 * n)
        px, py = _random_in(lu.loc[lu.landuse.isin(["park", "square"]), "geometry"].values, n_park, rng)
        lines = L["streets_m"].geometry.values
        mid = shapely.line_interpolate_point(lines, 0.5, normalized=True)
        w = shapely.length(lines) * _centrality(np.c_[shapely.get_x(mid), shapely.get_y(mid)], centre)
        k = rng.choice(len(lines), size=n - n_park, p=w / w.sum())
        pts = shapely.line_interpolate_point(lines[k], rng.random(n - n_park), normalized=True)
        sx = shapely.get_x(pts) + rng.normal(0, 6, n - n_park)
        sy = shapely.get_y(pts) + rng.normal(0, 6, n - n_park)
        return np.r_[px, sx], np.r_[py, sy]
    if place in ("yard", "wasteland", "garage_dacha"):
        lu_key = {"yard": "yard", "wasteland": "wasteland", "garage_dacha": "garage_estate"}[place]
        return _random_in(lu.loc[lu.landuse == lu_key, "geometry"].values, n, rng)
    if place == "mall_shop_market":
        xy = np.r_[_xy(b[b.use == "commercial"]), _xy(lu[lu.landuse == "market"])]
        return _pick(xy, _centrality(xy, centre), n, 10, rng)
    if place == "entertainment":
        xy = _xy(L["bars"])
        return _pick(xy, _centrality(xy, centre), n, 12, rng)
    if place == "public_transport":
        xy = _xy(L["transit_stops"])
        return _pick(xy, _centrality(xy, centre), n, 12, rng)
    if place == "entrance_stairwell":
        e = L["entrances"]
        xy = _xy(e[b.use.to_numpy()[e.building_id.to_numpy()] == "residential"])
        return _pick(xy, _centrality(xy, centre), n, 1.5, rng)
    xy = _xy(b[b.use == "residential"]) if place == "basement" else _xy(b)
    return _pick(xy, _centrality(xy, centre), n, 3, rng)


def _apportion(shares: dict, n: int) -> dict:
    """Largest-remainder integer counts summing to ``n``."""
    keys = list(shares)
    raw = np.array([shares[k] for k in keys], float)
    raw = raw / raw.sum() * n
    base = np.floor(raw).astype(int)
    base[np.argsort(raw - base)[::-1][: n - base.sum()]] += 1
    return dict(zip(keys, base, strict=True))


def generate_incidents(city: City, L: dict, n: int, years: float, rng: np.random.Generator,
                       start: str = "2024-01-01") -> tuple[pd.DataFrame, list[dict]]:
    """Generate ``n`` distinct incidents (truth, UTM ``x, y``) and the planted-hotspot records."""
    cx0, cy0 = city.to_metric(71.43, 51.128)
    centre = (float(cx0), float(cy0))
    pshares = dict(zip(place_types()["place_type"], place_types()["demo_share"], strict=True))
    n_nr = round(n * NEAR_REPEAT["share"] * CATEGORY_SHARES["theft"])
    n_seed = n - n_nr

    # --- planted hotspots ---
    hot_rows: list[dict] = []
    hot_parts: list[pd.DataFrame] = []
    for hid, h in enumerate(HOTSPOTS):
        anchor = {"market": L["landuse"][L["landuse"].landuse == "market"],
                  "yard": L["landuse"][L["landuse"].landuse == "yard"],
                  "park": L["landuse"][L["landuse"].landuse == "park"],
                  "wasteland": L["landuse"][L["landuse"].landuse == "wasteland"]}.get(h["anchor"], L.get(h["anchor"]))
        xy = _xy(anchor)
        # anchors near the centre but apart from each other
        w = _centrality(xy, centre, 4000.0) ** 4
        for prev in hot_rows:
            w[np.hypot(xy[:, 0] - prev["x"], xy[:, 1] - prev["y"]) < 1500] = 0
        cx, cy = xy[rng.choice(len(xy), p=w / w.sum())]
        m = round(h["share"] * n_seed)
        r = h["radius_m"] * np.sqrt(rng.random(m))
        a = rng.uniform(0, 2 * np.pi, m)
        cats = rng.choice(list(h["mix"]), size=m, p=list(h["mix"].values()))
        hours = rng.choice(24, size=m, p=_window_weights(*h["hours"]))
        hot_parts.append(pd.DataFrame({"x": cx + r * np.cos(a), "y": cy + r * np.sin(a), "category": cats,
                                       "place_type": h["place_type"], "hour": hours, "hotspot_id": hid}))
        hot_rows.append({"hotspot_id": hid, "x": cx, "y": cy, "radius_m": h["radius_m"], "n": m,
                         "category": ",".join(h["mix"]), "place_type": h["place_type"],
                         "hours": f"{h['hours'][0]:02d}-{h['hours'][1]:02d}", "share": h["share"]})
    hot = pd.concat(hot_parts, ignore_index=True)

    # --- background: the rest, so that overall shares match the declared ones ---
    n_bg = n_seed - len(hot)
    cat_target = {k: v * n - (hot.category == k).sum() - (n_nr if k == "theft" else 0)
                  for k, v in CATEGORY_SHARES.items()}
    place_target = {k: v * n_seed - (hot.place_type == k).sum() for k, v in pshares.items()}
    cat_n = _apportion({k: max(v, 0) for k, v in cat_target.items()}, n_bg)
    place_n = _apportion({k: max(v, 0) for k, v in place_target.items()}, n_bg)
    places = np.concatenate([np.full(c, k, dtype=object) for k, c in place_n.items()])
    xs, ys = [], []
    for k, c in place_n.items():
        x, y = _place_points(k, c, L, centre, rng)
        xs.append(x)
        ys.append(y)
    cats = rng.permutation(np.concatenate([np.full(c, k, dtype=object) for k, c in cat_n.items()]))
    bg = pd.DataFrame({"x": np.concatenate(xs), "y": np.concatenate(ys), "category": cats,
                       "place_type": places, "hotspot_id": -1})
    prof = {c: p for p, cs in HOUR_PROFILE.items() for c in cs}
    bg["hour"] = -1
    for p in HOUR_PROFILE:
        sel = bg.category.map(prof).to_numpy() == p
        bg.loc[sel, "hour"] = rng.choice(24, size=int(sel.sum()), p=_hour_weights(p))
    df = pd.concat([hot, bg], ignore_index=True)

    # --- days: weekday x season profile over the period ---
    t0 = pd.Timestamp(start)
    days = pd.date_range(t0, periods=round(365.25 * years), freq="D")
    dw = np.array(WEEKDAY_WEIGHTS)[days.day_of_week] * (1 + SEASON_AMPLITUDE * np.cos(2 * np.pi * (days.day_of_year.to_numpy() - 200) / 365.25))
    day = days[rng.choice(len(days), size=len(df), p=dw / dw.sum())]
    local = day + pd.to_timedelta(df.hour.to_numpy(), "h") + pd.to_timedelta(rng.integers(0, 60, len(df)), "min")
    df["occurred_local"] = local
    lon, lat = city.to_wgs84(df.x.to_numpy(), df.y.to_numpy())
    utc = to_utc(df.occurred_local, city.tz)
    # yards and streets: riskier after dark — move a share of daylight ones to a dark hour
    dark = is_dark(lat, lon, utc)
    move = (~dark & df.place_type.isin(["yard", "street_square_park"]).to_numpy() & (df.hotspot_id < 0).to_numpy()
            & (rng.random(len(df)) < DARK_SHIFT))
    night = rng.choice([20, 21, 22, 23, 0, 1, 2, 5, 6], size=int(move.sum()))
    df.loc[move, "occurred_local"] = (df.loc[move, "occurred_local"].dt.normalize()
                                      + pd.to_timedelta(night, "h") + pd.to_timedelta(rng.integers(0, 60, int(move.sum())), "min"))
    df["near_repeat_of"] = -1

    # --- near repeats: follow-ups of background thefts within 200 m and 14 days ---
    src = rng.choice(np.flatnonzero((df.category == "theft").to_numpy() & (df.hotspot_id < 0).to_numpy()), size=n_nr)
    d = NEAR_REPEAT["radius_m"] * np.sqrt(rng.random(n_nr))
    a = rng.uniform(0, 2 * np.pi, n_nr)
    nr = df.iloc[src].copy()
    nr["x"] += d * np.cos(a)
    nr["y"] += d * np.sin(a)
    nr["occurred_local"] = nr["occurred_local"] + pd.to_timedelta(rng.uniform(0.5, NEAR_REPEAT["max_days"], n_nr), "D")
    nr["near_repeat_of"] = src
    nr["hotspot_id"] = -1
    df = pd.concat([df, nr], ignore_index=True)
    end = days[-1] + pd.Timedelta(hours=23, minutes=59)
    df["occurred_local"] = df["occurred_local"].clip(upper=end).dt.floor("min")
    # jitter and hotspot discs can cross the city edge: pull those points just inside it
    inner = shapely.buffer(city.boundary_metric, -25.0)
    pts = shapely.points(df.x.to_numpy(), df.y.to_numpy())
    out = ~shapely.contains(inner, pts)
    if out.any():
        moved = shapely.get_point(shapely.shortest_line(inner, pts[out]), 0)
        df.loc[out, "x"], df.loc[out, "y"] = shapely.get_x(moved), shapely.get_y(moved)
    return df, hot_rows


def assign_articles(df: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Pick an article part for each incident's category and attach taxonomy fields."""
    a = articles()
    code = np.empty(len(df), dtype=object)
    art = np.zeros(len(df), int)
    part = np.ones(len(df), int)
    for cat, idx in df.groupby("category").indices.items():
        rows = a[a.category == cat]
        shares = PART_SHARES.get(cat, {1: 1.0})
        p = rng.choice(list(shares), size=len(idx), p=list(shares.values()))
        code[idx] = rows["code"].iloc[0]
        art[idx] = rows["article"].iloc[0]
        part[idx] = p
    key = pd.DataFrame({"code": code, "article": art, "part": part})
    m = key.merge(a, on=["code", "article", "part"], how="left")
    df = df.copy()
    df["ukrk_article"] = [f"{c}:{x}:{y}" for c, x, y in zip(code, art, part, strict=True)]
    df["article_text"] = [("КоАП " if c == "KoAP" else "") + f"{x} ч.{y}" for c, x, y in zip(code, art, part, strict=True)]
    df["severity_class"] = m["severity_class"].to_numpy()
    df["harm_weight"] = m["severity_class"].map(harm_weights()).to_numpy()
    return df


def assign_addresses(df: pd.DataFrame, L: dict, intersections_m: pd.DataFrame, district_ru: np.ndarray,
                     rng: np.random.Generator) -> pd.DataFrame:
    """Nearest building's address (within 80 m), else nearest street or an intersection near it."""
    pts = shapely.points(df.x.to_numpy(), df.y.to_numpy())
    b = L["buildings"]
    bi, bj = shapely.STRtree(b.geometry.values).query_nearest(pts, max_distance=80, return_distance=False)
    street = np.empty(len(df), dtype=object)
    house = np.full(len(df), None, dtype=object)
    street[bi] = b["street"].to_numpy()[bj]
    house[bi] = b["house"].to_numpy()[bj]
    st = L["streets_m"]
    si, sj = shapely.STRtree(st.geometry.values).query_nearest(pts, return_distance=False)
    nearest_street = np.empty(len(df), dtype=object)
    nearest_street[si] = st["name"].to_numpy()[sj]
    no_b = np.array([s is None for s in street])
    street[no_b] = nearest_street[no_b]
    # street incidents near a named intersection are often written as one
    ipts = shapely.points(intersections_m.x.to_numpy(), intersections_m.y.to_numpy())
    ii, ij = shapely.STRtree(ipts).query_nearest(pts, max_distance=60, return_distance=False)
    cross = np.full(len(df), None, dtype=object)
    use_x = (df.place_type.to_numpy()[ii] == "street_square_park") & (rng.random(len(ii)) < 0.5)
    cross[ii[use_x]] = ij[use_x]
    texts, styles = [], []
    for k in range(len(df)):
        if cross[k] is not None:
            r = intersections_m.iloc[cross[k]]
            t, s = render_address(r.street, None, rng, cross=r.crossroad, district_ru=district_ru[k])
            street[k] = r.street
            house[k] = None
        else:
            h = house[k] if rng.random() < 0.9 else None
            t, s = render_address(street[k], h, rng, district_ru=district_ru[k])
            house[k] = h
        texts.append(t)
        styles.append(s)
    df = df.copy()
    df["street_name"] = street
    df["house"] = house
    df["cross_street"] = [intersections_m.crossroad.iloc[c] if c is not None else None for c in cross]
    df["address_raw"] = texts
    df["address_style"] = styles
    return df
