"""H3 binning of incidents: the filled study area, per-cell counts, filters and neighbour weights."""
from __future__ import annotations

import functools
from collections.abc import Iterable

import h3
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely

from qauipsiz.hotspot.h3grid import (
    cells_to_latlng,
    cells_to_parent,
    grid_disk_pairs,
    latlng_to_cells,
)
from qauipsiz.hotspot.schema import H3_STORE_RES

MIN_RES, MAX_RES = 7, 11
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _check_res(res: int) -> int:
    res = int(res)
    if not MIN_RES <= res <= MAX_RES:
        raise ValueError(f"res={res}: H3 resolution must be within {MIN_RES}..{MAX_RES}")
    return res


def _city(city):
    if isinstance(city, str):
        from qauipsiz.hotspot.cities import get_city

        return get_city(city)
    return city


def polygon_cells(geom, res: int) -> np.ndarray:
    """Every H3 cell (uint64, sorted) that overlaps a WGS84 (multi)polygon at resolution ``res``.

    Overlap containment is used, so every point inside ``geom`` falls in one of the cells.
    """
    res = int(res)
    shape = h3.geo_to_h3shape(shapely.geometry.mapping(geom))
    cells = h3.api.basic_int.h3shape_to_cells_experimental(shape, res, contain="overlap")
    return np.unique(np.asarray(cells, dtype=np.uint64))


def _shape_key(c) -> tuple[str, bytes]:
    # the caches below are keyed by the boundary too: a user city removed and added again under
    # the same key with another polygon must not get the old one's cells
    return c.key, shapely.to_wkb(c.boundary)


@functools.lru_cache(maxsize=32)
def _filled(shape_key: tuple[str, bytes], res: int) -> np.ndarray:
    out = polygon_cells(shapely.from_wkb(shape_key[1]), res)
    out.setflags(write=False)
    return out


def fill_city_cells(city, res: int) -> np.ndarray:
    """Every H3 cell of the city polygon at ``res`` (zero-incident cells included), sorted uint64.

    Parameters
    ----------
    city : str or hotspot.cities.City
        City key (``"astana"``) or City object.
    res : int
        H3 resolution 7–11.

    Returns
    -------
    numpy.ndarray of uint64
        Cells overlapping the city polygon (so every point inside the city falls in one),
        sorted ascending.  Cached per (city, res); the array is read-only.
    """
    c = _city(city)
    return _filled(_shape_key(c), _check_res(res))


@functools.lru_cache(maxsize=32)
def _centres(shape_key: tuple[str, bytes], res: int, city) -> tuple[np.ndarray, np.ndarray]:
    lat, lon = cells_to_latlng(_filled(shape_key, res))
    x, y = city.to_metric(lon, lat)
    xy = np.column_stack([x, y])
    xy.setflags(write=False)
    ll = np.column_stack([lat, lon])
    ll.setflags(write=False)
    return xy, ll


def city_cell_centres(city, res: int) -> np.ndarray:
    """Metric (city UTM, metres) centres of :func:`fill_city_cells`, shape (n, 2); cached, read-only."""
    c = _city(city)
    return _centres(_shape_key(c), _check_res(res), c)[0]


@functools.lru_cache(maxsize=32)
def _area_share(shape_key: tuple[str, bytes], res: int, city) -> np.ndarray:
    from qauipsiz.hotspot.h3grid import cells_to_boundaries

    hexes = shapely.transform(cells_to_boundaries(_filled(shape_key, res)),
                              lambda ll: np.column_stack(city.to_metric(ll[:, 0], ll[:, 1])))
    poly = city.boundary_metric
    shapely.prepare(poly)
    share = np.ones(len(hexes))
    edge = ~shapely.contains(poly, hexes)
    if edge.any():
        inter = shapely.intersection(hexes[edge], poly)
        share[edge] = shapely.area(inter) / shapely.area(hexes[edge])
    share = np.clip(share, 0.0, 1.0)
    share.setflags(write=False)
    return share


def city_cell_area_share(city, res: int) -> np.ndarray:
    """Share of each cell's area that lies inside the city polygon, aligned with :func:`fill_city_cells`.

    Parameters
    ----------
    city : str or hotspot.cities.City
        City key or City object.
    res : int
        H3 resolution 7–11.

    Returns
    -------
    numpy.ndarray of float, shape (n,)
        Unitless 0–1 (1 for cells wholly inside; boundary cells less), measured in the city's
        metric CRS.  Under incidents spread uniformly over the city a cell's expected count is
        proportional to this, which is the exposure the Gi* binomial term uses
        (:func:`hotspot.gistar.gi_star` ``exposure=``).  Cached per (city polygon, res); read-only.
    """
    c = _city(city)
    return _area_share(_shape_key(c), _check_res(res), c)


# ---------------------------------------------------------------------------- filters
def parse_hours(hours) -> tuple[int, int]:
    """``"18-02"`` / ``(18, 2)`` → ``(18, 2)``: local hours from ``start`` (inclusive) to ``end``
    (exclusive), wrapping past midnight when ``start > end``; ``(0, 24)`` is the whole day."""
    if isinstance(hours, str):
        parts = hours.replace("–", "-").split("-")
        if len(parts) != 2:
            raise ValueError(f"hours={hours!r}: expected 'START-END', e.g. '18-02'")
        hours = parts
    try:
        a, b = (int(v) for v in hours)
    except (TypeError, ValueError) as e:
        raise ValueError(f"hours={hours!r}: expected two integers START, END") from e
    if not (0 <= a <= 23 and 0 <= b <= 24) or a == b:
        raise ValueError(f"hours={hours!r}: need 0 <= START <= 23, 0 <= END <= 24, START != END")
    return a, b


def _weekday_numbers(weekdays) -> set[int]:
    out = set()
    for d in weekdays:
        if isinstance(d, str):
            k = d.strip().lower()[:3]
            if k not in WEEKDAYS:
                raise ValueError(f"weekday {d!r}: use 0–6 (Monday=0) or mon..sun")
            out.add(WEEKDAYS.index(k))
        else:
            v = int(d)
            if not 0 <= v <= 6:
                raise ValueError(f"weekday {d!r}: use 0–6 (Monday=0) or mon..sun")
            out.add(v)
    return out


def _time_mask(occ: pd.Series, tz: str | None, start, end, hours, weekdays) -> np.ndarray:
    """The time part of :func:`filter_mask` on UTC times ``occ`` (``tz``: the city's zone or None)."""
    from qauipsiz.hotspot.timeutil import to_local

    m = np.ones(len(occ), bool)
    for bound, op in ((start, "ge"), (end, "lt")):
        if bound is None:
            continue
        t = pd.Timestamp(bound)
        if t.tzinfo is None:
            t = t.tz_localize(tz or "UTC")
        m &= getattr(occ, op)(t).fillna(False).to_numpy(bool)
    if hours is not None or weekdays is not None:
        if tz is None:
            raise ValueError("hours/weekdays filters need the city (local time zone)")
        loc = to_local(occ, tz)
        if hours is not None:
            a, b = parse_hours(hours)
            h = loc.dt.hour.to_numpy()
            m &= ((h >= a) | (h < b)) if a > b else ((h >= a) & (h < b))
        if weekdays is not None:
            m &= np.isin(loc.dt.day_of_week.to_numpy(), sorted(_weekday_numbers(weekdays)))
    return m


def filter_mask(df: pd.DataFrame, city=None, *, categories: Iterable[str] | None = None,  # noqa: PLR0913 -- keyword-only options with defaults
                start=None, end=None, hours=None, weekdays=None, dark: bool | None = None,
                place_types: Iterable[str] | None = None) -> np.ndarray:
    """Boolean mask of incidents (schema of :mod:`hotspot.schema`) that pass every given filter.

    Parameters
    ----------
    df : DataFrame
        Incidents; needs ``occurred_at`` (UTC, tz-aware) for time filters, ``category``,
        ``place_type`` and ``is_dark`` (or ``lat``/``lon`` to compute darkness) as used.
    city : str or City, optional
        Needed for ``hours`` and ``weekdays``: they are evaluated in the city's local time zone.
    categories, place_types : iterable of str or comma-separated str, optional
        Keep rows whose category / place type is in the set.
    start, end : date-like, optional
        Keep ``start <= occurred_at < end``.  Naive values are local dates/times of ``city``
        (UTC when no city is given); tz-aware values are used as they are.
    hours : str or (int, int), optional
        Local hours ``"18-02"``: 18:00 to 01:59, wrapping past midnight.
    weekdays : iterable of int or str, or comma-separated str, optional
        Local weekdays, Monday = 0 (or ``"mon"`` .. ``"sun"``).
    dark : bool, optional
        ``True`` keeps incidents in darkness (sun below −6°), ``False`` those in daylight.

    Returns
    -------
    numpy.ndarray of bool
    """
    from qauipsiz.hotspot.timeutil import is_dark

    n = len(df)
    m = np.ones(n, bool)
    tz = _city(city).tz if city is not None else None

    def col(name):
        if name not in df.columns:
            raise ValueError(f"filter needs incident column {name!r}, which is missing")
        return df[name]

    def as_list(v):
        return [s.strip() for s in v.split(",")] if isinstance(v, str) else list(v)

    if categories is not None:
        m &= col("category").isin(as_list(categories)).to_numpy()
    if place_types is not None:
        m &= col("place_type").isin(as_list(place_types)).to_numpy()
    if isinstance(weekdays, str):
        weekdays = as_list(weekdays)
    if start is not None or end is not None or hours is not None or weekdays is not None:
        m &= _time_mask(pd.to_datetime(col("occurred_at"), utc=True), tz, start, end, hours, weekdays)
    if dark is not None:
        if "is_dark" in df.columns and not df["is_dark"].isna().any():
            d = df["is_dark"].to_numpy(bool)
        else:
            d = is_dark(col("lat").to_numpy(float), col("lon").to_numpy(float), col("occurred_at"))
        m &= d if dark else ~d
    return m


def filter_incidents(df: pd.DataFrame, city=None, **filters) -> pd.DataFrame:
    """Rows of ``df`` passing :func:`filter_mask` (same keyword filters)."""
    return df[filter_mask(df, city, **filters)]


# ---------------------------------------------------------------------------- binning
def incident_cells(df: pd.DataFrame, res: int) -> np.ndarray:
    """H3 cell (uint64) of each incident at ``res``; 0 where the incident has no point.

    Computed from ``lat``/``lon`` where finite, else from the stored ``h3`` column
    (resolution 11, :data:`hotspot.schema.H3_STORE_RES`) by bit arithmetic.
    """
    res = _check_res(res)
    n = len(df)
    out = np.zeros(n, np.uint64)
    if "lat" in df.columns and "lon" in df.columns:
        lat = df["lat"].to_numpy(float)
        lon = df["lon"].to_numpy(float)
        out = latlng_to_cells(lat, lon, res)
    if "h3" in df.columns and res <= H3_STORE_RES:
        miss = out == 0
        if miss.any():
            stored = df["h3"].to_numpy()[miss].astype(np.uint64)
            out[miss] = cells_to_parent(stored, res)
    return out


def assign_cells(c: np.ndarray, cells: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Row of each incident cell ``c`` in the study area ``cells`` (−1 outside it or when 0).

    Returns ``(cells, pos)``; with ``cells=None`` the study area is the sorted occupied cells.
    """
    c = np.asarray(c, np.uint64)
    u = np.unique(c[c != 0]) if cells is None else np.asarray(cells, np.uint64)
    if len(u) == 0:
        return u, np.full(len(c), -1, np.int64)
    idx = pd.Index(u)
    if not idx.is_unique:
        raise ValueError("cells: the study-area cells must be unique")
    pos = idx.get_indexer(c)  # hash lookup; -1 where absent (cell 0 is never in u)
    return u, pos.astype(np.int64)


def bin_incidents(df: pd.DataFrame, res: int, *, weight_col: str | None = "harm_weight",
                  cells: np.ndarray | None = None, city=None, **filters) -> pd.DataFrame:
    """Per-cell incident counts and weighted sums.

    Parameters
    ----------
    df : DataFrame
        Incidents (schema columns; ``lat``/``lon`` or ``h3``).
    res : int
        H3 resolution 7–11.
    weight_col : str or None
        Column summed into ``weighted`` (default the harm weight); None gives ``weighted = count``.
        Missing weights count as 0.
    cells : array of uint64, optional
        Study area (e.g. :func:`fill_city_cells`).  When given the result has exactly these rows,
        in this order, zeros included, and incidents outside them are dropped (their number is in
        ``attrs["outside"]``).  Otherwise only occupied cells, sorted.
    city : str or City, optional
        Needed by the time filters (local time zone).
    **filters
        Passed to :func:`filter_mask` (categories, start, end, hours, weekdays, dark, place_types).

    Returns
    -------
    DataFrame
        Columns ``h3`` (uint64), ``count`` (int64), ``weighted`` (float64).
        ``attrs``: ``n_input`` (rows of ``df``), ``n_filtered`` (rows passing the filters),
        ``n_binned`` (rows counted in a cell), ``outside`` (rows with a cell outside ``cells``),
        ``no_point`` (filtered rows with no location).
    """
    res = _check_res(res)
    n_input = len(df)
    if filters:
        df = df[filter_mask(df, city, **filters)]
    c = incident_cells(df, res)
    if weight_col is None:
        w = np.ones(len(df))
    else:
        if weight_col not in df.columns:
            raise ValueError(f"weight column {weight_col!r} is not in the incident table")
        w = np.nan_to_num(df[weight_col].to_numpy(float), nan=0.0)
    has = c != 0
    no_point = int((~has).sum())
    u, pos = assign_cells(c, cells)
    keep = pos >= 0
    idx = pos[keep]
    w = w[keep]
    cnt = np.bincount(idx, minlength=len(u)).astype(np.int64)
    ws = np.bincount(idx, weights=w, minlength=len(u))
    out = pd.DataFrame({"h3": u, "count": cnt, "weighted": ws})
    out.attrs.update(n_input=n_input, n_filtered=len(df), n_binned=int(keep.sum()),
                     outside=int((has & ~keep).sum()), no_point=no_point)
    return out


# ---------------------------------------------------------------------------- weights
def ring_weights(cells, k: int = 1, *, self_weight: bool = False) -> sp.csr_matrix:
    """Binary contiguity weights from H3 rings.

    Parameters
    ----------
    cells : array of uint64
        Study-area cells (row/column order of the matrix).
    k : int
        Ring radius in grid steps (1 = the six touching cells).
    self_weight : bool
        Put 1 on the diagonal (Gi* style) instead of 0.

    Returns
    -------
    scipy.sparse.csr_matrix
        n × n binary (float64) weights; neighbours outside ``cells`` are dropped.
    """
    cells = np.asarray(cells, np.uint64)
    if k < 1:
        raise ValueError(f"k={k}: ring radius must be >= 1")
    n = len(cells)
    src, dst = grid_disk_pairs(cells, k)
    order = np.argsort(cells, kind="stable")
    sc = cells[order]
    si = order[np.searchsorted(sc, src)]
    pos = np.minimum(np.searchsorted(sc, dst), n - 1)
    ok = sc[pos] == dst
    di = order[pos]
    si, di = si[ok], di[ok]
    keep = si != di
    w = sp.csr_matrix((np.ones(int(keep.sum())), (si[keep], di[keep])), shape=(n, n))
    w.sum_duplicates()
    if self_weight:
        w = (w + sp.identity(n, format="csr")).tocsr()
    return w


def distance_band_weights(xy, distance_m: float, *, self_weight: bool = False) -> sp.csr_matrix:
    """Binary weights: 1 between points within ``distance_m`` metres (inclusive), via a KD-tree.

    Parameters
    ----------
    xy : array (n, 2)
        Metric coordinates in metres (e.g. :func:`city_cell_centres`).
    distance_m : float
        Band radius in metres.
    self_weight : bool
        Put 1 on the diagonal.
    """
    from scipy.spatial import cKDTree

    xy = np.asarray(xy, float)
    if not distance_m > 0:
        raise ValueError(f"distance_m={distance_m}: must be > 0 metres")
    n = len(xy)
    pairs = cKDTree(xy).query_pairs(distance_m * (1 + 1e-12), output_type="ndarray")
    i = np.r_[pairs[:, 0], pairs[:, 1]]
    j = np.r_[pairs[:, 1], pairs[:, 0]]
    w = sp.csr_matrix((np.ones(len(i)), (i, j)), shape=(n, n))
    if self_weight:
        w = (w + sp.identity(n, format="csr")).tocsr()
    return w


@functools.lru_cache(maxsize=32)
def _city_ring(shape_key: tuple[str, bytes], res: int, k: int) -> sp.csr_matrix:
    w = ring_weights(_filled(shape_key, res), k, self_weight=True)
    return w


def city_ring_weights(city, res: int, k: int = 1) -> sp.csr_matrix:
    """Cached Gi*-style ring weights (diagonal 1) over :func:`fill_city_cells` (city, res, k).

    Treat the returned matrix as read-only: it is shared between calls.  It carries the cells'
    area shares inside the city as ``w.exposure`` (:func:`city_cell_area_share`), which
    :func:`hotspot.gistar.gi_star` uses when no ``exposure`` is passed, so Gi* on these weights
    does not take the partly-outside boundary cells for cold spots.
    """
    c = _city(city)
    w = _city_ring(_shape_key(c), _check_res(res), int(k))
    if getattr(w, "exposure", None) is None:
        w.exposure = city_cell_area_share(c, res)
    return w
