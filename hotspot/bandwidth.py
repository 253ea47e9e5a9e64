"""The city default KDE bandwidth: one radius per city and data version, the same for every filter.

Esri's default radius (:func:`qauipsiz.hotspot.kde.esri_bandwidth`) is computed on whatever points
it is given, so every filter (a district, an hour window, a category) gets another radius and
two views of one city cannot be compared; on a whole real city it is kilometres wide. The city
default is computed **once from all of a city's located incidents** and then used unchanged for
every filter, view and output unless the user sets a radius.

Rule (measured in ``bench/bandwidth.py``, see ``docs/hotspots.md``)::

    h = clip(median over incidents of the distance to the 20th-nearest other incident,
             300 m, 600 m)

* The k-th-neighbour distance is the radius within which a typical incident has ``k`` others,
  so a kernel of that radius holds about 20 incidents at a typical incident (relative Poisson
  noise about 1/√20 ≈ 22 %). Sparse cities get wider kernels, dense ones narrower.
* The floor, 300 m, is the spacing of the default analysis grid (H3 res 9 cell centres are
  about 300 m apart) and the radius that ranked next-day cells best at res 9 on both the real
  Chicago sample and the demo city. A narrower kernel evaluated at res-9 centres drops the
  incidents between them.
* The ceiling, 600 m (about a 7-minute walk), keeps the surface at patrol scale; Esri's rule gave
  1.3–2.6 km on real cities.
* Deterministic and independent of row order: the points are sorted before at most
  ``max_query`` evenly spaced query points are taken, and every point is a possible neighbour.

Everything is pure: no store, no cache. The service caches the value per (city, data version).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

K_NEIGHBOURS = 20
MIN_M = 300.0
MAX_M = 600.0
MAX_QUERY = 20_000

SOURCE_CITY = "city default"
SOURCE_USER = "user"


@dataclass(frozen=True)
class CityBandwidth:
    """A city's default kernel radius and how it was obtained (all distances in metres)."""

    bandwidth_m: float
    raw_m: float
    """The k-th-neighbour median before clipping (NaN with fewer than k + 1 points)."""
    n_points: int
    k: int
    min_m: float
    max_m: float
    rule: str

    def as_dict(self) -> dict:
        """JSON-ready fields (metres rounded to 0.1 m; ``raw_m`` None when undefined)."""
        d = asdict(self)
        d["raw_m"] = None if not math.isfinite(self.raw_m) else round(self.raw_m, 1)
        d["bandwidth_m"] = round(self.bandwidth_m, 1)
        return d


def rule_text(k: int = K_NEIGHBOURS, min_m: float = MIN_M, max_m: float = MAX_M) -> str:
    """The rule in words, as recorded in outputs' ``bandwidth_rule``."""
    return (f"median distance to the {k}th-nearest incident over all the city's located incidents, "
            f"clipped to {min_m:g}-{max_m:g} m")


def city_bandwidth(xy, *, k: int = K_NEIGHBOURS, min_m: float = MIN_M, max_m: float = MAX_M,
                   max_query: int = MAX_QUERY) -> CityBandwidth:
    """The city default radius from the metric points of **all** the city's located incidents.

    Parameters
    ----------
    xy : array (n, 2)
        Incident points in metres (the city's UTM); rows with a non-finite coordinate are left out.
    k : int
        Neighbour rank (default 20).
    min_m, max_m : float
        Clip range in metres (default 300–600 m).
    max_query : int
        At most this many query points (evenly spaced after sorting the points); all points are
        candidates as neighbours, so the value does not depend on the row order.

    Returns
    -------
    CityBandwidth
        ``bandwidth_m`` in metres. With fewer than ``k + 1`` points there is no neighbour
        statistic and the radius is ``max_m`` (sparse data: the widest patrol-scale kernel).
    """
    from scipy.spatial import cKDTree

    if not 0 < min_m <= max_m:
        raise ValueError(f"min_m={min_m}, max_m={max_m}: need 0 < min_m <= max_m metres")
    if int(k) < 1:
        raise ValueError(f"k={k}: must be >= 1")
    k = int(k)
    P = np.asarray(xy, float).reshape(-1, 2)
    P = P[np.isfinite(P).all(axis=1)]
    n = len(P)
    rule = rule_text(k, min_m, max_m)
    if n < k + 1:
        return CityBandwidth(float(max_m), float("nan"), n, k, float(min_m), float(max_m),
                             rule + f"; only {n} points (< {k + 1}), so the ceiling")
    P = P[np.lexsort((P[:, 1], P[:, 0]))]
    Q = P if n <= max_query else P[np.linspace(0, n - 1, max_query).round().astype(np.int64)]
    d, _ = cKDTree(P).query(Q, k=[k + 1])  # the query point itself is its own 1st neighbour
    raw = float(np.median(d[:, 0]))
    return CityBandwidth(float(min(max(raw, min_m), max_m)), raw, n, k, float(min_m), float(max_m), rule)


def city_bandwidth_of(incidents_df, city, **kw) -> CityBandwidth:
    """:func:`city_bandwidth` of the located incidents of ``incidents_df`` inside ``city``.

    Pass the city's **unfiltered** incidents: that is what makes the value the same for every
    filter. Uses ``lat``/``lon`` (degrees), else the centre of the stored ``h3`` cell; rows without
    a point or outside the polygon are left out.
    """
    from qauipsiz.hotspot.binning import _city

    c = _city(city)
    n = len(incidents_df)
    has = set(incidents_df.columns)
    lat = incidents_df["lat"].to_numpy(float) if "lat" in has else np.full(n, np.nan)
    lon = incidents_df["lon"].to_numpy(float) if "lon" in has else np.full(n, np.nan)
    if "h3" in has:  # no coordinates: the stored res-11 cell's centre (about 25 m), as binning does
        from qauipsiz.hotspot.h3grid import cells_to_latlng

        miss = ~(np.isfinite(lat) & np.isfinite(lon))
        cells = incidents_df["h3"].to_numpy()[miss]
        if len(cells):
            cells = np.asarray(pd.to_numeric(pd.Series(cells), errors="coerce").fillna(0), np.uint64)
            lat[miss], lon[miss] = cells_to_latlng(cells)
    elif not {"lat", "lon"} <= has:
        raise ValueError("city_bandwidth_of: the incidents need lat and lon (or h3) columns")
    ok = np.isfinite(lat) & np.isfinite(lon)
    ok[ok] = c.contains(lat[ok], lon[ok])
    x, y = c.to_metric(lon[ok], lat[ok])
    return city_bandwidth(np.column_stack([x, y]), **kw)


def resolve(user_bandwidth_m: float | None, default: CityBandwidth | None) -> tuple[float, str, str]:
    """``(bandwidth_m, source, rule)``: the user's radius when given, else the city default."""
    if user_bandwidth_m is not None:
        h = float(user_bandwidth_m)
        if not (h > 0 and math.isfinite(h)):
            raise ValueError(f"bandwidth_m={user_bandwidth_m}: must be a positive number of metres")
        return h, SOURCE_USER, "set by the user"
    if default is None:
        raise ValueError("no bandwidth: give bandwidth_m or the city default (city_bandwidth_of)")
    return float(default.bandwidth_m), SOURCE_CITY, default.rule
