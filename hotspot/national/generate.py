"""A synthetic national incident dataset: every city of the country, in proportion to population.

**Everything it writes is synthetic** (:data:`NOTICE`).  Category shares, the hour profile of each
category, the weekday weights and the seasonal amplitude are the demo city's
(:mod:`qauipsiz.hotspot.demo.incidents`), imported, not copied.  Of the demo's dirt, the kinds that
survive into a store of located incidents are reproduced: low-precision coordinates (rounded to
0.01°, kept only where the rounded point stays inside the city), "station sink" coordinates (the
city's place point) and re-registered duplicates (the same event under a new id).  Address-only,
swapped, zero and outside coordinates are quarantined or geocoded by ingestion, so they do not
reach the analytic store and are not generated.

Generation is vectorised per city (no Python loop over incidents): points are drawn in the city's
UTM zone from a mixture of a centre-decay component, hotspot clusters and a uniform background, by
rejection inside the city polygon.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from qauipsiz.hotspot import analytic
from qauipsiz.hotspot.cities import City
from qauipsiz.hotspot.demo import incidents as demo
from qauipsiz.hotspot.national.centres import national_cities
from qauipsiz.hotspot.timeutil import is_dark

NOTICE = {
    "en": "SYNTHETIC NATIONAL DEMO DATA: invented incidents in proportion to population, laid inside the "
          "cities' polygons (regional centres: discs around the OpenStreetMap place point, © OpenStreetMap "
          "contributors). Nothing here describes real crime in any Kazakh city.",
    "ru": "СИНТЕТИЧЕСКИЕ ДЕМОНСТРАЦИОННЫЕ ДАННЫЕ ПО СТРАНЕ: вымышленные происшествия пропорционально "
          "населению внутри границ городов (областные центры: круги вокруг точки населённого пункта "
          "OpenStreetMap). Они не описывают реальную преступность ни в одном городе Казахстана.",
    "kk": "СИНТЕТИКАЛЫҚ ҰЛТТЫҚ ДЕМО ДЕРЕКТЕР: халық санына сай ойдан шығарылған оқиғалар қала "
          "шекаралары ішінде (облыс орталықтары: OpenStreetMap елді мекен нүктесінің айналасындағы шеңбер). "
          "Олар Қазақстанның ешбір қаласындағы нақты қылмысты сипаттамайды.",
}
MIX = {"centre": 0.55, "clusters": 0.30, "uniform": 0.15}
"""Shares of the point mixture: exponential decay from the place point, hotspot clusters, uniform."""
CLUSTER_SIGMA_M = 150.0
CLUSTERS_PER_100K_PEOPLE = 3
DIRT = {"low_precision": demo.DIRT_SHARES["low_precision"], "station_sink": demo.DIRT_SHARES["station_sink"],
        "duplicate": demo.DUPLICATE_SHARE}
"""Dirt kinds that survive into a located store, with the demo's shares."""


def allocate(events: int, population: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Incidents per city: one multinomial draw of ``events`` with probabilities ∝ ``population``."""
    p = np.asarray(population, float)
    return rng.multinomial(int(events), p / p.sum())


def _rejection(poly_m, n: int, draw: Callable[[int], tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """``n`` points from ``draw`` kept only inside ``poly_m`` (prepared), redrawing the rejected ones."""
    shapely.prepare(poly_m)
    xs, ys, have = [], [], 0
    while have < n:
        need = n - have
        x, y = draw(int(need * 1.3) + 16)
        ok = shapely.contains_xy(poly_m, x, y)
        x, y = x[ok][:need], y[ok][:need]
        xs.append(x)
        ys.append(y)
        have += len(x)
    return np.concatenate(xs) if xs else np.empty(0), np.concatenate(ys) if ys else np.empty(0)


def city_points(city: City, centre_lonlat: tuple[float, float], n: int, population: float,
                rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` synthetic incident locations inside ``city``'s polygon, as decimal-degree ``(lat, lon)``.

    Parameters
    ----------
    city : City
    centre_lonlat : (float, float)
        The city's place point (decimal degrees), the centre of the decay component.
    n : int
        Number of points.
    population : float
        People; sets the number of hotspot clusters.
    rng : numpy.random.Generator
    """
    poly = city.boundary_metric
    cx, cy = (float(v) for v in city.to_metric(*centre_lonlat))
    if not shapely.contains_xy(poly, cx, cy):
        p = poly.representative_point()
        cx, cy = p.x, p.y
    x0, y0, x1, y1 = poly.bounds
    scale = np.sqrt(poly.area) / 5.0  # metres
    counts = rng.multinomial(n, list(MIX.values()))
    k = max(4, int(CLUSTERS_PER_100K_PEOPLE * population / 1e5))
    hubs = np.column_stack(_rejection(poly, k, lambda m: (rng.uniform(x0, x1, m), rng.uniform(y0, y1, m))))
    hub_w = rng.pareto(1.5, k) + 1.0

    def centre(m):
        r = rng.exponential(scale, m)
        a = rng.uniform(0, 2 * np.pi, m)
        return cx + r * np.cos(a), cy + r * np.sin(a)

    def clusters(m):
        h = rng.choice(k, size=m, p=hub_w / hub_w.sum())
        return hubs[h, 0] + rng.normal(0, CLUSTER_SIGMA_M, m), hubs[h, 1] + rng.normal(0, CLUSTER_SIGMA_M, m)

    parts = [_rejection(poly, int(c), f) for c, f in zip(counts, (centre, clusters,
             lambda m: (rng.uniform(x0, x1, m), rng.uniform(y0, y1, m))), strict=True)]
    x = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    perm = rng.permutation(n)
    lon, lat = city.to_wgs84(x[perm], y[perm])
    return np.asarray(lat), np.asarray(lon)


def _times(n: int, categories: np.ndarray, cat_keys: list[str], start: str, years: float,
           rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Local wall-clock times (datetime64[s]) with the demo's hour, weekday and season profiles,
    and the local hour of each."""
    prof = {c: p for p, cs in demo.HOUR_PROFILE.items() for c in cs}
    hour = np.zeros(n, np.int64)
    for p in demo.HOUR_PROFILE:
        codes = [i for i, c in enumerate(cat_keys) if prof.get(c) == p]
        sel = np.isin(categories, codes)
        hour[sel] = rng.choice(24, size=int(sel.sum()), p=demo._hour_weights(p))
    days = pd.date_range(pd.Timestamp(start), periods=round(365.25 * years), freq="D")
    dw = np.array(demo.WEEKDAY_WEIGHTS)[days.day_of_week] * (
        1 + demo.SEASON_AMPLITUDE * np.cos(2 * np.pi * (days.day_of_year.to_numpy() - 200) / 365.25))
    day = days.to_numpy().astype("datetime64[s]")[rng.choice(len(days), size=n, p=dw / dw.sum())]
    local = day + (hour * 3600 + rng.integers(0, 60, n) * 60).astype("timedelta64[s]")
    return local, hour


def city_incidents(city: City, centre_lonlat: tuple[float, float], n: int, population: float,
                   *, start: str, years: float, rng: np.random.Generator) -> pd.DataFrame:
    """``n`` distinct synthetic incidents of one city plus its duplicates, in the analytic columns.

    Returns
    -------
    DataFrame
        ``incident_id, occurred_at (UTC), category, lat, lon, district, is_dark, hour_local,
        weekday_local`` and ``dirt`` (``clean``, ``low_precision``, ``station_sink``, ``duplicate``).
    """
    cat_keys = list(demo.CATEGORY_SHARES)
    shares = np.array(list(demo.CATEGORY_SHARES.values()))
    cats = rng.choice(len(cat_keys), size=n, p=shares / shares.sum())
    lat, lon = city_points(city, centre_lonlat, n, population, rng)
    local, hour = _times(n, cats, cat_keys, start, years, rng)
    dirt = np.zeros(n, np.int8)  # 0 clean, 1 low precision, 2 station sink, 3 duplicate
    r = rng.random(n)
    lp = r < DIRT["low_precision"]
    rlat, rlon = np.round(lat[lp], 2), np.round(lon[lp], 2)
    inside = np.asarray(city.contains(rlat, rlon), bool) if lp.any() else np.zeros(0, bool)
    idx = np.flatnonzero(lp)[inside]
    lat[idx], lon[idx] = rlat[inside], rlon[inside]
    dirt[idx] = 1
    sink = (r >= DIRT["low_precision"]) & (r < DIRT["low_precision"] + DIRT["station_sink"])
    slon, slat = centre_lonlat
    if not city.contains(slat, slon):
        p = city.boundary.representative_point()
        slon, slat = p.x, p.y
    lat[sink], lon[sink] = slat, slon
    dirt[sink] = 2
    dup = rng.choice(n, size=round(DIRT["duplicate"] * n), replace=False) if n else np.zeros(0, int)
    take = np.r_[np.arange(n), dup]
    lat, lon, local, hour, cats = lat[take], lon[take], local[take], hour[take], cats[take]
    dirt = np.r_[dirt, np.full(len(dup), 3, np.int8)]
    loc = pd.DatetimeIndex(local).tz_localize(city.tz, ambiguous=np.ones(len(local), bool),
                                              nonexistent="shift_forward")
    utc = loc.tz_convert("UTC")
    seq = pd.Series(np.arange(1, len(take) + 1)).astype(str).str.zfill(9)
    df = pd.DataFrame({
        "incident_id": (f"nat-{city.key}-" + seq).to_numpy(object),
        "occurred_at": utc,
        "category": np.array(cat_keys, dtype=object)[cats],
        "lat": lat, "lon": lon,
        "district": city.assign_district(lat, lon) if len(city.districts) else np.full(len(lat), None, object),
        "is_dark": is_dark(lat, lon, pd.Series(utc)),
        "hour_local": loc.hour.to_numpy().astype(np.int8),
        "weekday_local": loc.day_of_week.to_numpy().astype(np.int8),
        "dirt": np.array(["clean", "low_precision", "station_sink", "duplicate"], dtype=object)[dirt],
    })
    return df


def generate(out: str | Path, events: int, *, seed: int = 20240301, start: str = "2021-01-01",
             years: float = 5.0, cities: Iterable[str] | None = None,
             progress: Callable[[str, int, int], None] | None = None) -> dict:
    """Write a synthetic national dataset (layout: :mod:`qauipsiz.hotspot.analytic`) into ``out``.

    Parameters
    ----------
    out : path
        Dataset root; ``cities/`` (the regional-centre cities as user-city folders) and
        ``incidents/`` are written under it, and ``_dataset.json``.
    events : int
        Distinct incidents in total, split over the cities ∝ population (one multinomial draw);
        duplicates (the demo's 2 %) come on top.
    seed : int
        Random seed; the same seed and arguments give the same incidents.
    start : str
        First local date (ISO).
    years : float
        Length of the period in years.
    cities : iterable of str, optional
        Only these city keys (the population split is then over them).
    progress : callable, optional
        ``progress(city, rows_done, rows_total)`` after each city.

    Returns
    -------
    dict
        The ``_dataset.json`` content plus ``counts`` (rows per city, duplicates included),
        ``seconds`` (wall time) and ``rows_per_s``.
    """
    t0 = time.perf_counter()
    if int(events) < 1:
        raise ValueError(f"events={events}: must be at least 1")
    out = Path(out)
    all_cities, table = national_cities(out / "cities")
    child = {k: np.random.SeedSequence([seed, i]) for i, k in enumerate(table["city"])}  # stable under --cities
    if cities is not None:
        want = [c.strip().lower() for c in cities]
        unknown = sorted(set(want) - set(table["city"]))
        if unknown:
            raise ValueError(f"cities: unknown {', '.join(unknown)}; national cities are {', '.join(table['city'])}")
        keep = table["city"].isin(want).to_numpy()
        all_cities = [c for c, k in zip(all_cities, keep, strict=True) if k]
        table = table[keep].reset_index(drop=True)
    ss = np.random.SeedSequence(seed)
    n_city = allocate(events, table["population"].to_numpy(), np.random.default_rng(ss.spawn(1)[0]))
    counts, distinct, done, total = {}, {}, 0, int(events)
    for city, row, n in zip(all_cities, table.to_dict("records"), n_city, strict=True):
        rng = np.random.default_rng(child[city.key])
        df = city_incidents(city, (row["lon"], row["lat"]), int(n), float(row["population"]),
                            start=start, years=years, rng=rng)
        analytic.write_city(out, city.key, df, synthetic=True, notice=NOTICE)
        counts[city.key] = len(df)
        distinct[city.key] = int(n)
        done += int(n)
        if progress:
            progress(city.key, done, total)
    meta = analytic.write_manifest(
        out, synthetic=True, notice=NOTICE, seed=seed, events=int(events), cities=list(table["city"]),
        start=start, years=years, counts=counts, distinct=distinct, population=dict(zip(table["city"], table["population"].astype(int).tolist(), strict=True)),
        generator="qauipsiz.hotspot.national.generate", dirt=DIRT, mix=MIX)
    secs = time.perf_counter() - t0
    return {**meta, "seconds": secs, "rows_per_s": sum(counts.values()) / secs if secs > 0 else float("nan")}
