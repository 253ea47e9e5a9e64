"""Per-cell count features for the count-based members, from events before a day only.

:class:`CategoryCounts` holds a (possibly wider) table of incidents -- every category the user
gave, not only the forecast one -- gridded on a forecaster's index cells, and counts them per cell
and category over any window of local days. :func:`ring2_matrix` gives the cells exactly two rings
away. All counts of day ``d`` use rows with a local day before ``d`` only.
"""
from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import scipy.sparse as sp

from qauipsiz.hotspot.forecast._base import Events
from qauipsiz.hotspot.h3grid import latlng_to_cells


def ring2_matrix(ev: Events) -> sp.csr_matrix:
    """Cells exactly two H3 rings apart, over ``ev.index_cells`` (0/1, symmetric, no diagonal).

    Every cell with an event has all its cells within two rings in the index, so ``ring2 @ counts``
    is the exact sum over the ring-2 neighbours of any cell with an event within two rings.
    """
    r1 = ev.ring1.tocsr().astype(float)
    r1.data[:] = 1.0
    two = (r1 @ r1).tocsr()
    two.data[:] = 1.0
    near = r1 + sp.identity(r1.shape[0], format="csr")
    out = (two - two.multiply(near)).tocsr()
    out.eliminate_zeros()
    out.data[:] = 1.0
    return out


def local_days(occurred_at, tz: str) -> np.ndarray:
    """Local calendar day numbers (days since 1970-01-01) of UTC (or naive UTC) times; NaN if missing."""
    occ = pd.to_datetime(occurred_at, utc=True, errors="coerce")
    loc = occ.dt.tz_convert(tz).dt.tz_localize(None)
    t = ((loc - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1)).to_numpy(float)
    return np.floor(t)


class CategoryCounts:
    """Incidents per (index cell, category) over windows of local days.

    Parameters
    ----------
    table : DataFrame
        ``occurred_at`` (tz-aware or naive UTC), ``lat``, ``lon`` in degrees, and ``category``
        (any labels; missing ones count as ``"?"``). Rows without a time or a point are dropped;
        rows in cells outside ``ev.index_cells`` (more than two rings from every event of the
        forecast's own history) are dropped as well.
    ev : Events
        The forecaster's prepared events (their grid and index cells).
    tz : str
        Time zone of the local days.

    Attributes
    ----------
    labels : numpy.ndarray of str
        The category of each code, sorted.
    key : str
        SHA-1 of the gridded rows (day, cell, category): two tables with the same key give the
        same counts.
    """

    def __init__(self, table: pd.DataFrame, ev: Events, tz: str):
        for c in ("occurred_at", "lat", "lon", "category"):
            if c not in table.columns:
                raise ValueError(f"context: missing column {c!r} (need occurred_at, lat, lon, category)")
        day = local_days(table["occurred_at"], tz)
        lat = pd.to_numeric(table["lat"], errors="coerce").to_numpy(float)
        lon = pd.to_numeric(table["lon"], errors="coerce").to_numpy(float)
        ok = np.isfinite(day) & np.isfinite(lat) & np.isfinite(lon)
        cat = table["category"].astype("string").fillna("?").to_numpy(str)[ok]
        cell = latlng_to_cells(lat[ok], lon[ok], ev.res)
        pos = np.searchsorted(ev.index_cells, cell)
        pos = np.minimum(pos, len(ev.index_cells) - 1)
        inside = ev.index_cells[pos] == cell
        self.labels, code = np.unique(cat[inside], return_inverse=True)
        day_i = day[ok][inside].astype(np.int64)
        order = np.lexsort((code, pos[inside], day_i))  # independent of the row order
        self.day = day_i[order]
        self.n_cells, self.n_cats = len(ev.index_cells), max(len(self.labels), 1)
        self.code = pos[inside][order] * self.n_cats + code[order]
        h = hashlib.sha1(self.day.tobytes() + self.code.tobytes())
        h.update("\x1f".join(self.labels.tolist()).encode())
        self.key = h.hexdigest()

    def before(self, d: float) -> int:
        """Rows with a local day before ``d``."""
        return int(np.searchsorted(self.day, d, side="left"))

    def counts(self, d0: float, d1: float) -> np.ndarray:
        """Incidents with a local day in ``[d0, d1)``, shape ``(n_cells, n_cats)``."""
        i, j = self.before(d0), self.before(d1)
        flat = np.bincount(self.code[i:j], minlength=self.n_cells * self.n_cats)
        return flat.reshape(self.n_cells, self.n_cats).astype(float)

    def top(self, d: int, k: int) -> list[int]:
        """Codes of the ``k`` most frequent categories before day ``d`` (ties by label)."""
        tot = self.counts(-np.inf, d).sum(0)
        order = sorted(range(self.n_cats), key=lambda c: (-tot[c], self.labels[c] if len(self.labels) else ""))
        return [c for c in order[:k] if tot[c] > 0]


def _lat_lon(ev: Events) -> tuple[np.ndarray, np.ndarray]:
    """Degrees of every event back from the local projection (exact inverse of ``Projection``)."""
    return ev.xy[:, 1] / ev.proj.ky, ev.xy[:, 0] / ev.proj.kx


def event_darkness(ev: Events, tz: str) -> np.ndarray:
    """Was each event in darkness (sun below −6°, ``hotspot.timeutil.is_dark``) at its place and time?

    The events' local times are read back to UTC through the tz database (a wall-clock time that
    occurs twice is read as its first occurrence). Memoised on ``ev``.
    """
    from qauipsiz.hotspot.timeutil import is_dark, to_utc

    key = ("dark", tz)
    if key not in ev.cum:
        local = pd.Timestamp("1970-01-01") + pd.to_timedelta(np.round(ev.t * 86400.0), unit="s")
        lat, lon = _lat_lon(ev)
        ev.cum[key] = np.asarray(is_dark(lat, lon, to_utc(local, tz)), bool)
    return ev.cum[key]


def day_darkness(ev: Events, tz: str, days) -> np.ndarray:
    """Share of each local day (day numbers) with the sun below −6° at the first event's place.

    Sampled every 15 minutes of local clock time (96 samples). The place is the earliest event's,
    so it is fixed before every forecast day.
    """
    from qauipsiz.hotspot.timeutil import is_dark, to_utc

    days = np.atleast_1d(np.asarray(days, np.int64))
    lat, lon = _lat_lon(ev)
    steps = (np.arange(96) + 0.5) / 96.0
    local = pd.Timestamp("1970-01-01") + pd.to_timedelta((days[:, None] + steps[None, :]).ravel() * 86400.0, unit="s")
    dark = np.asarray(is_dark(np.full(local.size, lat[0]), np.full(local.size, lon[0]), to_utc(local, tz)), bool)
    return dark.reshape(len(days), 96).mean(1)


def cell_covariate(ev: Events, values) -> tuple[np.ndarray, str]:
    """A per-cell score (e.g. a CPTED block score) on ``ev.index_cells``; NaN where unknown.

    Parameters
    ----------
    ev : Events
    values : mapping or Series
        H3 cell (int, or hex string) at the events' resolution -> number.

    Returns
    -------
    (numpy.ndarray, str)
        The values per index cell and a SHA-1 of the mapping (for cache keys).
    """
    s = pd.Series(values, dtype="object")
    if s.empty:
        raise ValueError("covariates: empty")
    keys = [int(k, 16) if isinstance(k, str) else int(k) for k in s.index]
    vals = pd.to_numeric(s, errors="coerce").to_numpy(float)
    cells = np.asarray(keys, dtype=np.uint64)
    order = np.argsort(cells)
    cells, vals = cells[order], vals[order]
    out = np.full(len(ev.index_cells), np.nan)
    k = np.minimum(np.searchsorted(cells, ev.index_cells), len(cells) - 1)
    hit = cells[k] == ev.index_cells
    out[hit] = vals[k[hit]]
    return out, hashlib.sha1(cells.tobytes() + vals.tobytes()).hexdigest()
