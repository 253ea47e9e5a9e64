"""Demand for siting: incidents cleaned and aggregated into H3 cells, weighted for each kind of site.

Cameras see harm-weighted outdoor crime; SOS buttons serve street and violent crime, dark
incidents counted more, times a footfall proxy; posts and offices mix crime with a population
proxy.  Every demand table has one row per occupied H3 cell with metric ``x, y`` (city UTM).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from qauipsiz.cpted.siting._common import _city, _layer, _xy
from qauipsiz.hotspot.h3grid import latlng_to_cells

INDOOR_PLACE_TYPES = ("entrance_stairwell", "basement")
"""Place types a street camera cannot see (excluded from camera demand)."""


def clean_incidents(incidents: pd.DataFrame, city) -> pd.DataFrame:
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


def camera_demand(incidents: pd.DataFrame, city, layers=None, res: int = 11,
                  exclude_place_types=INDOOR_PLACE_TYPES) -> pd.DataFrame:
    """Harm-weighted incident demand per H3 cell, restricted to outdoor public space.

    Incidents of indoor place types (``exclude_place_types``) are dropped, and so are cells whose
    demand point falls inside a building footprint (``layers["buildings"]``).  See
    :func:`cell_demand` for the columns; ``weight`` is the summed ``harm_weight``.
    """
    c = _city(city)
    df = clean_incidents(incidents, c)
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
    df = clean_incidents(incidents, c)
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
    floor: np.ndarray = np.zeros(len(xy))
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
