"""Checks for rows that already carry coordinates: swapped, zero, outside, low precision, sinks."""
from __future__ import annotations

import numpy as np
import pandas as pd

from qauipsiz.hotspot.cities import get_city

KZ_LAT = (40.5, 55.5)
"""Latitude range of Kazakhstan, degrees (DOMAIN.md §3)."""
KZ_LON = (46.5, 87.4)
"""Longitude range of Kazakhstan, degrees."""


def _to_float(v) -> tuple[np.ndarray, np.ndarray | None]:
    """Floats from numbers or strings (decimal comma allowed); also decimals typed, if strings."""
    s = pd.Series(v)
    if s.dtype == object or pd.api.types.is_string_dtype(s):
        txt = s.astype("string").str.strip().str.replace(",", ".", regex=False)
        num = pd.to_numeric(txt, errors="coerce").to_numpy(float)
        frac = txt.str.extract(r"\.(\d*)$", expand=False).str.len()
        dec = frac.fillna(0).to_numpy(float)
        return num, dec
    return s.to_numpy(float), None


def _decimals_lt(x: np.ndarray, d: int) -> np.ndarray:
    """True where float ``x`` has fewer than ``d`` decimals (i.e. is a multiple of 10^-(d-1))."""
    scaled = x * 10 ** (d - 1)
    return np.isfinite(x) & (np.abs(scaled - np.round(scaled)) < 1e-6 * np.maximum(1.0, np.abs(scaled)) * 1e-3 + 1e-7)


def find_sinks(lat, lon, *, min_count: int = 10, min_share: float = 0.005, round_decimals: int = 5) -> pd.DataFrame:
    """Coordinates that hold an abnormal share of the points ("sinks").

    A sink is a coordinate (rounded to ``round_decimals`` decimals, ≈ 1 m at 5) shared by at least
    ``min_count`` points *and* by at least ``min_share`` of all valid points — a police station or
    district centroid used as a default location, not a real place of many crimes.

    Parameters
    ----------
    lat, lon : array-like
        Decimal degrees WGS84; NaN ignored.
    min_count : int
        Minimum number of points at one coordinate.
    min_share : float
        Minimum share (0–1) of all valid points at one coordinate.

    Returns
    -------
    DataFrame
        ``lat, lon, count, share``, largest first.
    """
    la = np.asarray(lat, float)
    lo = np.asarray(lon, float)
    ok = np.isfinite(la) & np.isfinite(lo)
    n = int(ok.sum())
    if n == 0:
        return pd.DataFrame({"lat": [], "lon": [], "count": [], "share": []})
    key = pd.DataFrame({"lat": np.round(la[ok], round_decimals), "lon": np.round(lo[ok], round_decimals)})
    c = key.value_counts().rename("count").reset_index()
    c["share"] = c["count"] / n
    c = c[(c["count"] >= min_count) & (c["share"] >= min_share)]
    return c.sort_values("count", ascending=False).reset_index(drop=True)


def default_points(city: str = "astana") -> tuple[np.ndarray, np.ndarray]:
    """Points exports use as a default location: the centroid and representative point of each
    district polygon and of the city polygon.  Returns ``(lat, lon)`` arrays, degrees WGS84."""
    c = get_city(city)
    geoms = list(c.districts.to_crs(c.epsg).geometry.values) + [c.boundary_metric]
    xs, ys = [], []
    for g in geoms:
        for p in (g.centroid, g.representative_point()):
            xs.append(p.x)
            ys.append(p.y)
    lon, lat = c.to_wgs84(np.asarray(xs), np.asarray(ys))
    return np.asarray(lat, float), np.asarray(lon, float)


def check_coordinates(lat, lon, city: str = "astana", *, min_decimals: int = 4, sink_min_count: int = 10,
                      sink_min_share: float = 0.005, known_sinks=None, known_sink_radius_m: float = 5.0,
                      known_sink_min_count: int = 1, district_defaults: bool = True) -> pd.DataFrame:
    """Validate and repair source coordinates.

    Parameters
    ----------
    lat, lon : array-like of float or str
        Source coordinates, decimal degrees (strings may use a decimal comma; then the typed
        number of decimals is used for the precision check).
    city : str
        City registry key; its boundary polygon decides "outside".
    min_decimals : int
        Fewer decimals than this in either coordinate flags ``low_precision`` (4 decimals ≈ 11 m).
    sink_min_count, sink_min_share :
        See :func:`find_sinks`.
    known_sinks : (lat array, lon array), optional
        Points known to be used as defaults (e.g. police stations).  A coordinate within
        ``known_sink_radius_m`` metres of one and shared by ≥ ``known_sink_min_count`` rows is a
        sink too.
    district_defaults : bool
        Also treat the district and city centroids / representative points
        (:func:`default_points`) as known sinks.

    Returns
    -------
    DataFrame
        Same length and order: ``lat, lon`` (repaired: swapped pairs put back, NaN for missing/zero),
        ``flags`` (comma-separated: ``missing, zero, swapped, outside, low_precision, sink``) and
        ``ok`` (False for missing, zero, outside and sink rows, which need geocoding from the
        address instead; swapped and low-precision rows stay usable, flagged).
    """
    c = get_city(city)
    la, dla = _to_float(lat)
    lo, dlo = _to_float(lon)
    if len(la) != len(lo):
        raise ValueError(f"lat has {len(la)} values, lon has {len(lo)}")
    n = len(la)
    missing = ~(np.isfinite(la) & np.isfinite(lo))
    zero = ~missing & ((np.abs(la) < 1e-9) | (np.abs(lo) < 1e-9))
    good = ~missing & ~zero
    la = np.where(good, la, np.nan)
    lo = np.where(good, lo, np.nan)
    inside = np.zeros(n, bool)
    inside[good] = c.contains(la[good], lo[good])
    # swapped: the pair read the other way lies in the city, or (outside any city) in Kazakhstan's ranges
    cand = good & ~inside
    sw = np.zeros(n, bool)
    if cand.any():
        sw[cand] = c.contains(lo[cand], la[cand])
        kz_sw = cand & ~sw & ~((la >= KZ_LAT[0]) & (la <= KZ_LAT[1]) & (lo >= KZ_LON[0]) & (lo <= KZ_LON[1])) \
            & (lo >= KZ_LAT[0]) & (lo <= KZ_LAT[1]) & (la >= KZ_LON[0]) & (la <= KZ_LON[1])
        sw |= kz_sw
    la2 = np.where(sw, lo, la)
    lo2 = np.where(sw, la, lo)
    inside = inside | (sw & c.contains(np.nan_to_num(la2), np.nan_to_num(lo2)))
    outside = good & ~inside
    if dla is not None and dlo is not None:
        lowp = good & ((dla < min_decimals) | (dlo < min_decimals))
    else:
        lowp = good & (_decimals_lt(la2, min_decimals) | _decimals_lt(lo2, min_decimals))
    sink = np.zeros(n, bool)
    usable = good & ~outside
    if usable.any():
        s = find_sinks(la2[usable], lo2[usable], min_count=sink_min_count, min_share=sink_min_share)
        rk = pd.MultiIndex.from_arrays([np.round(la2, 5), np.round(lo2, 5)])
        if len(s):
            sink |= usable & rk.isin(pd.MultiIndex.from_arrays([s["lat"], s["lon"]]))
        ks = [tuple(np.asarray(v, float) for v in known_sinks)] if known_sinks is not None else []
        if district_defaults:
            ks.append(default_points(c.key))
        if ks:
            kla = np.concatenate([k[0] for k in ks])
            klo = np.concatenate([k[1] for k in ks])
            if len(kla):
                x, y = c.to_metric(lo2[usable], la2[usable])
                kx, ky = c.to_metric(klo, kla)
                from scipy.spatial import cKDTree

                d, _ = cKDTree(np.c_[kx, ky]).query(np.c_[x, y], k=1)
                near = np.zeros(n, bool)
                near[np.flatnonzero(usable)] = d <= known_sink_radius_m
                codes, _ = pd.factorize(rk)
                cnt = np.bincount(codes[near], minlength=codes.max() + 1)[codes]
                sink |= near & (cnt >= known_sink_min_count)
    flags = np.full(n, "", dtype=object)
    for name, m in (("missing", missing), ("zero", zero), ("swapped", sw), ("outside", outside),
                    ("low_precision", lowp), ("sink", sink)):
        if m.any():
            flags[m] = np.where(flags[m] == "", name, flags[m] + "," + name)
    ok = good & ~outside & ~sink
    return pd.DataFrame({"lat": la2, "lon": lo2, "flags": flags, "ok": ok})
