"""Police beats (участки участковых инспекторов): a city's official beats, or beats generated from
districts and population at 3,000–5,000 residents per inspector.

Generation (:func:`generate_beats`) splits each district into ``k`` beats by recursive weighted
bisection: the current piece is cut across its longer side at the weighted quantile ``k1 / k`` of the
residents inside it (``k1 = k // 2``), and each half is split again into ``k1`` and ``k - k1`` beats.
Cuts are straight lines clipped to the district, so the beats tile it exactly (no gap, no overlap), and
each beat holds ``≈ P / k`` residents (within one residence point).  ``k`` is the number of beats that
puts ``P / k`` nearest the target (4,000) inside ``[min_residents, max_residents]`` when such a ``k``
exists.

Residents are weighted points: the caller passes the district totals (e.g. official district
population) and points that spread them inside each district (e.g. residential buildings weighted by
floor area — a proxy).  A district without any point gets ``seed``-ed random points, uniform over its
area.  Everything runs in a metric CRS (``epsg``) and is deterministic for a given seed.
"""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import box

MIN_RESIDENTS, MAX_RESIDENTS, TARGET_RESIDENTS = 3000, 5000, 4000


def beats_count(population: float, min_residents: float = MIN_RESIDENTS, max_residents: float = MAX_RESIDENTS,
                target: float = TARGET_RESIDENTS) -> int:
    """Number of beats for ``population`` residents: ``P / k`` nearest ``target`` within the bounds.

    Returns at least 1.  When no ``k`` puts ``P / k`` inside ``[min_residents, max_residents]`` (e.g. a
    district of 2,000 residents, or 5,500 which is more than one beat and too few for two), the ``k``
    whose average is nearest the range is used.
    """
    if not np.isfinite(population) or population <= 0:
        return 1
    lo = max(1, int(np.ceil(population / max_residents)))
    hi = max(1, int(np.floor(population / min_residents)))
    if lo <= hi:
        ks = np.arange(lo, hi + 1)
        return int(ks[np.argmin(np.abs(population / ks - target))])
    ks = np.array([max(1, hi), lo])
    dist = np.maximum(min_residents - population / ks, 0) + np.maximum(population / ks - max_residents, 0)
    return int(ks[np.argmin(dist)])


def _bisect(region, x: np.ndarray, y: np.ndarray, w: np.ndarray, k: int, out: list,
            bounds: tuple[float, float] = (MIN_RESIDENTS, MAX_RESIDENTS)) -> None:
    """Split ``region`` holding points (x, y, w) into ``k`` pieces of equal weight; append (geom, weight).

    The cut is the point gap nearest the weighted quantile ``k1 / k`` among the gaps that leave both
    halves an average weight per beat inside ``bounds`` (when some gap does)."""
    if k <= 1 or len(w) < 2:
        out.append((region, float(w.sum())))  # fewer than two points: one beat, however many were asked
        return
    best = None
    for along_x in (True, False):  # cut across x or across y: keep the one with the more compact halves
        halves = _cut(region, x, y, w, k, bounds, along_x)
        score = min(_pp(h[0]) for h in halves)
        if best is None or score > best[0] + 1e-9:
            best = (score, halves)
    assert best is not None
    for part, sel, kk in best[1]:
        _bisect(part, x[sel], y[sel], w[sel], kk, out, bounds)


def _pp(g) -> float:
    """Polsby–Popper compactness 4πA/P² (1 for a disc, 0.785 for a square)."""
    p = g.length
    return 4 * np.pi * g.area / p**2 if p > 0 else 0.0


def _cut(region, x, y, w, k: int, bounds: tuple[float, float], along_x: bool) -> list:
    """The two halves (geometry, point mask, beats) of ``region`` cut across ``x`` (or ``y``)."""
    x0, y0, x1, y1 = region.bounds
    a, b = (x, y) if along_x else (y, x)
    order = np.lexsort((b, a))
    cw = np.cumsum(w[order])
    k1 = k // 2
    target = cw[-1] * k1 / k
    lo_w, hi_w = bounds
    left, right = cw[:-1], cw[-1] - cw[:-1]  # weight of each half when cutting after point j
    ok = (left / k1 >= lo_w) & (left / k1 <= hi_w) & (right / (k - k1) >= lo_w) & (right / (k - k1) <= hi_w)
    ok &= a[order[1:]] > a[order[:-1]]  # a gap between distinct coordinates
    cand = np.flatnonzero(ok)
    if not len(cand):
        cand = np.flatnonzero(a[order[1:]] > a[order[:-1]])
    if not len(cand):
        cand = np.arange(len(w) - 1)
    i = int(cand[np.argmin(np.abs(left[cand] - target))])  # points order[:i+1] go to the first half
    cut = 0.5 * (a[order[i]] + a[order[i + 1]])
    pad = 1.0
    lo_box = box(x0 - pad, y0 - pad, cut, y1 + pad) if along_x else box(x0 - pad, y0 - pad, x1 + pad, cut)
    hi_box = box(cut, y0 - pad, x1 + pad, y1 + pad) if along_x else box(x0 - pad, cut, x1 + pad, y1 + pad)
    first = np.zeros(len(w), bool)
    first[order[:i + 1]] = True
    return [(shapely.intersection(region, lo_box), first, k1), (shapely.intersection(region, hi_box), ~first, k - k1)]


M2_PER_RESIDENT = 30.0
"""Gross residential floor area per resident (m², footprint × levels) used when a district has no
official population: Kazakhstan's housing stock is about 23 m² of living space per person (2023), and
gross floor area exceeds living area by roughly a quarter to a third — a rough, stated proxy."""


def population_from_floor_area(districts: gpd.GeoDataFrame, residences: gpd.GeoDataFrame, epsg: int, *,
                               weight: str = "weight", m2_per_resident: float = M2_PER_RESIDENT) -> dict[str, float]:
    """Residents per district estimated as residential floor area (m², column ``weight``) inside it
    divided by ``m2_per_resident`` (default :data:`M2_PER_RESIDENT`).  Districts with no residence: 0."""
    if m2_per_resident <= 0:
        raise ValueError(f"beats: m2_per_resident must be > 0, got {m2_per_resident}")
    d = districts.to_crs(epsg)
    r = residences.to_crs(epsg)
    c = shapely.centroid(np.asarray(r.geometry.values, dtype=object))
    x, y = shapely.get_x(c), shapely.get_y(c)
    w = pd.to_numeric(r[weight], errors="coerce").fillna(0).to_numpy(float)
    return {str(k): float(w[shapely.contains_xy(shapely.make_valid(g), x, y)].sum() / m2_per_resident)
            for k, g in zip(d["district"], d.geometry, strict=True)}


def _random_points(poly, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` uniform random points inside ``poly`` (rejection sampling on its bounds)."""
    x0, y0, x1, y1 = poly.bounds
    got: list[np.ndarray] = []
    have = 0
    while have < n:
        c = np.c_[rng.uniform(x0, x1, 4 * n), rng.uniform(y0, y1, 4 * n)]
        c = c[shapely.contains_xy(poly, c[:, 0], c[:, 1])]
        got.append(c)
        have += len(c)
    return np.concatenate(got)[:n]


def generate_beats(districts: gpd.GeoDataFrame, population: dict[str, float], residences: gpd.GeoDataFrame | None,  # noqa: PLR0913 (keyword-only options)
                   epsg: int, *, weight: str = "weight", min_residents: float = MIN_RESIDENTS,
                   max_residents: float = MAX_RESIDENTS, target: float = TARGET_RESIDENTS,
                   seed: int = 0) -> gpd.GeoDataFrame:
    """Beats generated from districts and population.

    Parameters
    ----------
    districts : GeoDataFrame
        District polygons with a ``district`` key (any CRS).
    population : dict
        ``district -> residents`` (persons).  A district missing here gets no beats.
    residences : GeoDataFrame or None
        Points or polygons (centroids are used) whose ``weight`` column spreads each district's
        residents inside it (e.g. residential floor area, m²); ``None`` or no feature in a district:
        ``seed``-ed uniform random points.
    epsg : int
        Metric CRS of the computation (e.g. the city's UTM zone).
    min_residents, max_residents, target : float
        Residents per beat (persons); default 3,000–5,000, aiming at 4,000.
    seed : int
        Seed of the random points of districts without residences.

    Returns
    -------
    GeoDataFrame
        ``beat_id`` (``<district>-<NN>``), ``district``, ``residents`` (persons, rounded), ``area_km2``
        (km²), ``compactness`` (Polsby–Popper 4πA/P², 1 for a disc) and the geometry in EPSG:4326.
    """
    if "district" not in districts.columns:
        raise ValueError("beats: districts need a 'district' column")
    d = districts.to_crs(epsg)
    pts = None
    if residences is not None and len(residences):
        if weight not in residences.columns:
            raise ValueError(f"beats: residences need a {weight!r} column")
        r = residences.to_crs(epsg)
        w = pd.to_numeric(r[weight], errors="coerce").to_numpy(float)
        if np.any(~np.isfinite(w) | (w < 0)):
            bad = int(np.flatnonzero(~np.isfinite(w) | (w < 0))[0])
            raise ValueError(f"beats: residences row {bad}, field {weight}: not a number ≥ 0")
        c = shapely.centroid(np.asarray(r.geometry.values, dtype=object))
        pts = np.c_[shapely.get_x(c), shapely.get_y(c), w]
    rng = np.random.default_rng(seed)
    rows = []
    for rec in d.sort_values("district").itertuples():
        key = str(rec.district)
        pop = float(population.get(key, 0) or 0)
        if pop <= 0:
            continue
        poly = shapely.make_valid(rec.geometry)
        xy = np.empty((0, 3))
        if pts is not None:
            inside = shapely.contains_xy(poly, pts[:, 0], pts[:, 1]) & (pts[:, 2] > 0)
            xy = pts[inside]
        if len(xy) == 0:
            xy = np.c_[_random_points(poly, 2000, rng), np.ones(2000)]
        res = xy[:, 2] / xy[:, 2].sum() * pop
        k = beats_count(pop, min_residents, max_residents, target)
        out: list = []
        _bisect(poly, xy[:, 0], xy[:, 1], res, k, out, (min_residents, max_residents))
        for i, (g, n) in enumerate(out, 1):
            rows.append({"beat_id": f"{key}-{i:02d}", "district": key, "residents": float(n), "geometry": g})
    g = gpd.GeoDataFrame(rows, geometry="geometry", crs=epsg) if rows else gpd.GeoDataFrame(
        {"beat_id": [], "district": [], "residents": []}, geometry=[], crs=epsg)
    area, perim = g.area.to_numpy(), g.length.to_numpy()
    g["area_km2"] = np.round(area / 1e6, 3)
    g["compactness"] = np.round(np.where(perim > 0, 4 * np.pi * area / np.maximum(perim, 1e-9) ** 2, 0.0), 3)
    g["residents"] = np.round(g["residents"].to_numpy(float)).astype(int)
    return g.to_crs(4326)


def official_beats(layer: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A city's official beats layer normalised: ``beat_id`` (from ``beat_id``, ``id``, ``name`` or the
    row number), ``district``, ``residents`` (when given) and polygons in EPSG:4326.

    Raises ``ValueError`` naming the row when a geometry is not a polygon or a beat id repeats.
    """
    g = layer.to_crs(4326) if layer.crs is not None else layer.set_crs(4326)
    g = g.reset_index(drop=True)
    src = next((c for c in ("beat_id", "id", "name") if c in g.columns), None)
    ids = g[src].astype(str) if src else pd.Series([f"beat-{i + 1:02d}" for i in range(len(g))])
    for i, (gid, geom) in enumerate(zip(ids, g.geometry, strict=True)):
        if geom is None or geom.geom_type not in ("Polygon", "MultiPolygon"):
            raise ValueError(f"beats layer: row {i}, field geometry: a beat must be a polygon")
        if (ids == gid).sum() > 1:
            raise ValueError(f"beats layer: row {i}, field beat_id: {gid!r} repeats")
    out = gpd.GeoDataFrame({"beat_id": ids.to_numpy(),
                            "district": g["district"].astype(str).to_numpy() if "district" in g.columns else "",
                            "residents": pd.to_numeric(g["residents"], errors="coerce").to_numpy()
                            if "residents" in g.columns else np.nan},
                           geometry=g.geometry.values, crs=4326)
    return out
