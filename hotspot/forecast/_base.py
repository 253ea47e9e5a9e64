"""Shared machinery of the forecasters: prepared events, queried cells, refit cut-offs, scoring.

A forecaster is fitted on an event table and asked for one local calendar day at a time.
Every score for day ``d`` is computed from events strictly before ``d`` (local midnight of the
forecaster's time zone); parameters that need tuning or training are fitted at the *cut-off*
``floor(d / refit_days) * refit_days`` (days since 1970-01-01, local), from events before the
cut-off only. So nothing a forecaster returns for ``d`` can depend on events of ``d`` or later.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from qauipsiz.hotspot.h3grid import (
    cells_resolution,
    cells_to_latlng,
    grid_disk_pairs,
    latlng_to_cells,
)

EARTH_M = 6_371_008.8
FRACS = (0.01, 0.05, 0.10)
NIGHT = (18, 6)


def day_number(day) -> int:
    """Days since 1970-01-01 of a calendar date (``"2019-06-01"``, date, Timestamp)."""
    ts = pd.Timestamp(day)
    if ts.tzinfo is not None:
        ts = ts.tz_localize(None)
    return int((ts.normalize() - pd.Timestamp("1970-01-01")).days)


def day_date(d: int) -> pd.Timestamp:
    """The calendar date of day number ``d`` (inverse of :func:`day_number`)."""
    return pd.Timestamp("1970-01-01") + pd.Timedelta(days=int(d))


def cell_spacing_m(res: int) -> float:
    """Mean distance between neighbouring H3 cell centres at ``res``, metres."""
    import h3

    return float(h3.average_hexagon_edge_length(int(res), "m") * np.sqrt(3.0))


class Projection:
    """Local equirectangular metres around a fixed latitude (good to < 0.1 % within a city)."""

    def __init__(self, lat0: float):
        self.lat0 = float(lat0)
        self.kx = EARTH_M * np.pi / 180.0 * np.cos(np.radians(self.lat0))
        self.ky = EARTH_M * np.pi / 180.0

    def __call__(self, lat, lon) -> np.ndarray:
        """``(n, 2)`` metres from latitude and longitude in degrees."""
        return np.column_stack([np.asarray(lon, float) * self.kx, np.asarray(lat, float) * self.ky])


@dataclass
class Events:
    """Events sorted by time, in a forecaster's time zone and grid (see :func:`prepare_events`)."""

    t: np.ndarray  # local time, days since 1970-01-01 (fractional)
    day: np.ndarray  # local calendar day number (int64)
    xy: np.ndarray  # metres (Projection)
    cell: np.ndarray  # H3 cell at res (uint64)
    pos: np.ndarray  # row of the cell in index_cells
    hour: np.ndarray
    weekday: np.ndarray
    index_cells: np.ndarray  # sorted: event cells and every cell within two rings of one
    ring1: sp.csr_matrix  # ring-1 neighbours over index_cells, self excluded
    res: int
    proj: Projection
    first_day: int
    cum: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.t)

    def before(self, d: float) -> int:
        """Number of events with local day < ``d`` (they are rows ``[0, before(d))``)."""
        return int(np.searchsorted(self.day, d, side="left"))

    def window_counts(self, d0: float, d1: float, mask: np.ndarray | None = None) -> np.ndarray:
        """Events per index cell with day in ``[d0, d1)`` (optionally only rows where ``mask``)."""
        i, j = self.before(d0), self.before(d1)
        p = self.pos[i:j]
        w = None if mask is None else mask[i:j].astype(float)
        return np.bincount(p, weights=w, minlength=len(self.index_cells)).astype(float)


def prepare_events(events: pd.DataFrame, res: int, tz: str) -> Events:
    """Sort, localise and grid an event table.

    Parameters
    ----------
    events : DataFrame
        ``occurred_at`` (tz-aware, or naive UTC), ``lat``, ``lon`` in degrees; other columns are
        ignored. Rows without a time or a finite point are dropped.
    res : int
        H3 resolution of the grid.
    tz : str
        Time zone whose calendar days are forecast (e.g. ``"Asia/Almaty"``).

    Returns
    -------
    Events
    """
    for c in ("occurred_at", "lat", "lon"):
        if c not in events.columns:
            raise ValueError(f"events: missing column {c!r} (need occurred_at, lat, lon)")
    occ = pd.to_datetime(events["occurred_at"], utc=True, errors="coerce")
    lat = pd.to_numeric(events["lat"], errors="coerce").to_numpy(float)
    lon = pd.to_numeric(events["lon"], errors="coerce").to_numpy(float)
    ok = occ.notna().to_numpy() & np.isfinite(lat) & np.isfinite(lon)
    if not ok.any():
        raise ValueError("events: no row with a valid occurred_at, lat and lon")
    loc = occ[ok].dt.tz_convert(tz).dt.tz_localize(None)
    t = ((loc - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1)).to_numpy(float)
    lat, lon = lat[ok], lon[ok]
    order = np.lexsort((lon, lat, t))  # time, then place: independent of the row order
    t, lat, lon = t[order], lat[order], lon[order]
    cell = latlng_to_cells(lat, lon, res)
    seed = np.unique(cell)
    _, d1 = grid_disk_pairs(seed, 2)
    index_cells = np.unique(np.concatenate([seed, d1]))
    pos = np.searchsorted(index_cells, cell)
    src, dst = grid_disk_pairs(index_cells, 1)
    keep = src != dst
    si, di = np.searchsorted(index_cells, src[keep]), np.searchsorted(index_cells, dst[keep])
    inside = (di < len(index_cells)) & (index_cells[np.minimum(di, len(index_cells) - 1)] == dst[keep])
    n = len(index_cells)
    ring1 = sp.csr_matrix((np.ones(int(inside.sum())), (si[inside], di[inside])), shape=(n, n))
    hours = loc.dt.hour.to_numpy()[order]
    wdays = loc.dt.day_of_week.to_numpy()[order]
    day = np.floor(t).astype(np.int64)
    # the projection's latitude comes from the earliest event only (past of every forecast day)
    proj = Projection(round(float(lat[0]), 1))
    return Events(t=t, day=day, xy=proj(lat, lon), cell=cell, pos=pos, hour=hours, weekday=wdays,
                  index_cells=index_cells, ring1=ring1, res=int(res), proj=proj, first_day=int(day[0]))


@dataclass
class Query:
    """The cells a forecast is asked for: their grid cell at the model's res, index row and centre."""

    cells: np.ndarray
    grid: np.ndarray  # cell at the model res
    pos: np.ndarray  # row in Events.index_cells, -1 when no event is within two rings
    xy: np.ndarray
    key: str
    order: np.ndarray  # argsort of grid, for counting events per queried cell
    _tree: object = None

    @property
    def tree(self):
        """KD-tree of the centres (built once)."""
        if self._tree is None:
            from scipy.spatial import cKDTree

            self._tree = cKDTree(self.xy)
        return self._tree

    def counts(self, ev: Events, d0: int, d1: int) -> np.ndarray:
        """Events with day in ``[d0, d1)`` per queried cell (several queried cells may share one)."""
        i, j = ev.before(d0), ev.before(d1)
        c = ev.cell[i:j]
        g = self.grid[self.order]
        k = np.searchsorted(g, c)
        k = np.minimum(k, len(g) - 1)
        hit = g[k] == c
        per = np.bincount(k[hit], minlength=len(g)).astype(float)
        # every queried cell with the same grid cell gets that cell's count
        first = np.searchsorted(g, g)
        out = np.empty(len(g))
        out[self.order] = per[first]
        return out


def make_query(ev: Events, cells) -> Query:
    """Query for ``cells``: H3 ids (any resolution; centres are used when it is not the model's)."""
    cells = np.asarray(cells, dtype=np.uint64).ravel()
    if len(cells) == 0:
        raise ValueError("cells: empty")
    lat, lon = cells_to_latlng(cells)
    if not np.all(np.isfinite(lat)):
        raise ValueError("cells: invalid H3 cell ids")
    res = cells_resolution(cells)
    grid = np.where(res == ev.res, cells, latlng_to_cells(lat, lon, ev.res)).astype(np.uint64)
    return _query(ev, cells, grid, ev.proj(lat, lon))


def make_point_query(ev: Events, lat, lon) -> Query:
    """Query for arbitrary points (another tool's cell centres): each is scored as its H3 cell."""
    lat, lon = np.asarray(lat, float), np.asarray(lon, float)
    if len(lat) == 0 or not (np.all(np.isfinite(lat)) and np.all(np.isfinite(lon))):
        raise ValueError("cells: need finite lat/lon for every cell")
    grid = latlng_to_cells(lat, lon, ev.res)
    return _query(ev, np.arange(len(lat), dtype=np.uint64), grid, ev.proj(lat, lon))


def _query(ev: Events, cells, grid, xy) -> Query:
    pos = np.searchsorted(ev.index_cells, grid)
    pos = np.minimum(pos, len(ev.index_cells) - 1)
    pos = np.where(ev.index_cells[pos] == grid, pos, -1)
    h = hashlib.sha1(grid.tobytes() + xy.round(1).tobytes()).hexdigest()
    return Query(cells=cells, grid=grid, pos=pos, xy=xy, key=h, order=np.argsort(grid, kind="stable"))


def near_pairs(q: Query, xy: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (queried centre, point) pair closer than ``radius`` metres.

    Returns
    -------
    rows, cols : int arrays (rows of ``q.xy``, rows of ``xy``); r2 : squared distances, m², computed from
    the coordinates (so a pair's value does not depend on the other points).
    """
    from scipy.spatial import cKDTree

    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    if len(xy) == 0:
        z = np.zeros(0, dtype=np.int64)
        return z, z, np.zeros(0)
    pr = q.tree.sparse_distance_matrix(cKDTree(xy), float(radius), output_type="ndarray")
    i, j = pr["i"].astype(np.int64), pr["j"].astype(np.int64)
    r2 = ((q.xy[i] - xy[j]) ** 2).sum(1)
    keep = r2 < float(radius) ** 2  # open support, as hotspot.kde
    return i[keep], j[keep], r2[keep]


def take(v: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """``v[pos]`` with 0 where ``pos`` is -1."""
    return np.where(pos >= 0, v[np.maximum(pos, 0)], 0.0)


def top_hits(score: np.ndarray, actual: np.ndarray, k: int) -> float:
    """Events of ``actual`` (per cell) in the ``k`` best cells of ``score``; ties get fractional credit."""
    n = len(score)
    k = min(max(int(k), 1), n)
    thr = np.partition(score, n - k)[n - k]
    above = score > thr
    tied = score == thr
    slots = k - int(above.sum())
    return float(actual[above].sum() + actual[tied].sum() * slots / max(int(tied.sum()), 1))


def best_hits(actual: np.ndarray, k: int) -> float:
    """The most events any ``k`` cells could have caught (the PEI* denominator)."""
    n = len(actual)
    k = min(max(int(k), 1), n)
    return float(np.sort(actual)[n - k:].sum())


def validation_score(fc, q: Query, days, fracs=(0.01, 0.05)) -> float:
    """Pooled PAI, averaged over ``fracs``, of ``fc`` on ``days`` (each scored from its own past)."""
    ev = fc.events
    n = len(q.grid)
    hits = np.zeros(len(fracs))
    total = 0.0
    for v in days:
        a = q.counts(ev, v, v + 1)
        if a.sum() == 0:
            continue
        s = fc.score(q, int(v))
        total += a.sum()
        hits += [top_hits(s, a, round(f * n)) for f in fracs]
    if total == 0:
        return float("nan")
    ks = np.array([max(1, round(f * n)) / n for f in fracs])
    return float(np.mean(hits / total / ks))


class Forecaster:
    """Base class: ``fit(events)``, ``predict(cells, day)``; subclasses implement :meth:`score`.

    Parameters
    ----------
    res : int
        H3 resolution of the grid the counts are taken on (default 9, ≈ 300 m between centres).
    tz : str
        Time zone of the forecast days (default UTC; use the city's).
    seed : int
        Seed of every random choice (the learned ranker's); the same inputs give the same scores.
    refit_days : int
        Parameters are re-tuned every ``refit_days`` days, from events before the cut-off only.
    """

    name = "base"
    assumes = ""

    def __init__(self, *, res: int = 9, tz: str = "UTC", seed: int = 0, refit_days: int = 28):
        self.res, self.tz, self.seed, self.refit_days = int(res), tz, int(seed), int(refit_days)
        self.events: Events | None = None
        self.cache = None  # a FitCache (hotspot.forecast.fitcache): tuned parameters kept across runs
        self._params: dict = {}
        self._queries: dict = {}

    def fit(self, events: pd.DataFrame | Events) -> Forecaster:
        """Take the event history (``occurred_at``, ``lat``, ``lon``); returns ``self``.

        Parameters
        ----------
        events : DataFrame or Events
            The incidents; only those before a forecast day are ever used for it.

        Returns
        -------
        Forecaster
        """
        self.events = events if isinstance(events, Events) else prepare_events(events, self.res, self.tz)
        self._params, self._queries = {}, {}
        return self

    def query(self, cells) -> Query:
        """The (cached) :class:`Query` of an array of H3 cells."""
        ev = self._need()
        cells = np.asarray(cells, dtype=np.uint64).ravel()
        key = hashlib.sha1(cells.tobytes()).hexdigest()
        if key not in self._queries:
            if len(self._queries) > 8:
                self._queries = {}
            self._queries[key] = make_query(ev, cells)
        return self._queries[key]

    def predict(self, cells, day) -> np.ndarray:
        """Score of each cell for the local calendar ``day`` (higher = more expected events).

        Parameters
        ----------
        cells : array of uint64 H3 ids, or Query
            The cells to rank (any resolution; another resolution is scored at its centre's cell).
        day : str, date or int
            The forecast day (local date), or its day number.

        Returns
        -------
        numpy.ndarray (len(cells),)
            Expected events of the day per cell (or a monotone proxy of it); only events before
            ``day`` are used.
        """
        q = cells if isinstance(cells, Query) else self.query(cells)
        d = int(day) if isinstance(day, int | np.integer) else day_number(day)
        return np.asarray(self.score(q, d), dtype=float)

    def cutoff(self, d: int) -> int:
        """The refit cut-off of day ``d``: parameters for ``d`` use events before it only."""
        return (int(d) // self.refit_days) * self.refit_days

    def use_cache(self, cache) -> Forecaster:
        """Keep tuned parameters in ``cache`` (a :class:`~qauipsiz.hotspot.forecast.fitcache.FitCache`,
        or ``None`` for none) across runs; returns ``self``."""
        self.cache = cache
        return self

    def params_for(self, q: Query, d: int):
        """Tuned parameters for day ``d`` (cached per cut-off and query; on disk with :meth:`use_cache`)."""
        c = self.cutoff(d)
        key = (c, q.key)
        if key not in self._params:
            self._params[key] = self._tuned(q, c)
        return self._params[key]

    def _tuned(self, q: Query, c: int):
        """:meth:`tune` at cut-off ``c``, through the fitted-state cache when there is one."""
        if self.cache is None or type(self).tune is Forecaster.tune:  # nothing tuned: nothing to keep
            return self.tune(q, c)
        key = self.cache.key(self, q, c)
        hit, value = self.cache.load(key)
        if hit:
            return value
        value = self.tune(q, c)
        self.cache.save(key, value)
        return value

    def tune(self, q: Query, cutoff: int):
        """Parameters fitted on events before ``cutoff``; none by default."""
        return None

    def score(self, q: Query, d: int) -> np.ndarray:  # pragma: no cover - abstract
        """Scores of the queried cells for day ``d``."""
        raise NotImplementedError

    def _need(self) -> Events:
        if self.events is None:
            raise ValueError(f"{self.name}: call fit(events) first")
        return self.events

    def describe(self, q: Query, d: int) -> dict:
        """The parameters used for day ``d`` (for reports)."""
        p = self.params_for(q, d)
        return {"method": self.name, "params": p if isinstance(p, dict | type(None)) else str(p)}


def grid_search(fc: Forecaster, q: Query, cutoff: int, grid: list, window: int = 28) -> dict:
    """The parameter set of ``grid`` with the best validation PAI on ``[cutoff - window, cutoff)``.

    ``fc.score_with(q, d, params)`` scores day ``d`` with given parameters. The first set wins ties.
    """
    ev = fc._need()
    days = [v for v in range(cutoff - window, cutoff, 2) if v > ev.first_day + 7]
    best, best_s = grid[0], -np.inf
    for p in grid:
        s = _score_with(fc, q, days, p)
        if s > best_s + 1e-12:
            best, best_s = p, s
    return dict(best, validation_pai=None if not np.isfinite(best_s) else round(float(best_s), 3))


def _score_with(fc, q: Query, days, p) -> float:
    class _Fixed:
        events = fc.events

        @staticmethod
        def score(q_, v):
            return fc.score_with(q_, v, p)

    s = validation_score(_Fixed, q, days)
    return s if np.isfinite(s) else -np.inf
