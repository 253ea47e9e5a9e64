"""One city of the analytic store held in memory as compact columns, for fast filtered hotspot tables.

A 5-million-event city takes about 13 bytes per event (:attr:`CityColumns.nbytes`): the index of
its store-resolution (res 11) H3 cell into the city's distinct cells (int32), the local date as
days since the first one (uint16/int32), local hour and weekday (int8), category and district codes
(int8) and the dark flag.  A filter is a boolean mask over these arrays; the filtered events are
then summed per res-11 cell with ``np.bincount`` and the hot-spot table is computed from those
weighted cell centres (:func:`hotspot.surface.hotspot_table` with the counts as weights), so the
cost of a new filter is one pass over the columns plus a table over at most the city's distinct
res-11 cells, not over every event.

Counts and Gi* equal :func:`hotspot.surface.hotspot_table` on the same filtered incidents
exactly (they only depend on counts per cell).  The KDE density is computed from the res-11 cell
centres (about 25 m from the points) weighted by their counts, not from the points themselves:
it differs from the point KDE by the kernel's change over ≤ 25 m (``tests/national``).
"""
from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numba
import numpy as np
import pandas as pd

from qauipsiz.hotspot import analytic
from qauipsiz.hotspot.cities import City

RESOLUTIONS = (7, 8, 9, 10)
_NS = pd.Series(np.array(["ns"], dtype=object)).array
"""The ``lisa`` label of every cell (no LISA here) with the dtype pandas gives the engine's column;
repeating it is ~5x cheaper than a DataFrame converting ``n`` Python strings."""


@dataclass
class CityColumns:
    """Compact columns of one city of an analytic store (load with :meth:`load`)."""

    city: City
    version: str
    cells11: np.ndarray                # distinct res-11 H3 cells (uint64)
    cell_code: np.ndarray              # per event: index into cells11 (int32)
    day: np.ndarray                    # per event: local date, days since day0 (uint16 or int32)
    day0: np.datetime64
    hour: np.ndarray                   # per event: local hour 0..23 (int8)
    weekday: np.ndarray                # per event: local weekday, Monday = 0 (int8)
    category: np.ndarray               # per event: code into categories (int8)
    categories: list[str]
    district: np.ndarray               # per event: code into districts, -1 = none (int8)
    districts: list[str]
    dark: np.ndarray                   # per event: bool
    res_codes: dict                    # res 7..10 -> per event: 1 + row in fill_city_cells(city, res), 0 outside
    _centres: dict = field(default_factory=dict, repr=False)
    _folder: Path | None = field(default=None, repr=False)  # the column files (load(cache_dir=…) / open)

    @property
    def n(self) -> int:
        """Number of events."""
        return len(self.cell_code)

    @property
    def nbytes(self) -> int:
        """Bytes held by the event columns and the cached kernel matrices."""
        arrs = (self.cells11, self.cell_code, self.day, self.hour, self.weekday, self.category, self.district,
                self.dark, *self.res_codes.values())
        cached = sum(getattr(v, "data", v).nbytes + getattr(v, "indices", np.zeros(0)).nbytes
                     for v in self._centres.values() if hasattr(v, "nbytes") or hasattr(v, "data"))
        return int(sum(a.nbytes for a in arrs) + cached)

    _ARRAYS = ("cells11", "cell_code", "day", "hour", "weekday", "category", "district", "dark")

    def save(self, folder: str | Path) -> Path:
        """Write the columns as ``.npy`` files plus ``columns.json`` into ``folder`` (created; written
        to a temporary sibling and renamed, so a reader never sees half a folder).  :meth:`open`
        maps them back into memory without reading the partitions again."""
        import os
        import shutil
        import tempfile

        folder = Path(folder)
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
        try:
            for name in self._ARRAYS:
                np.save(tmp / f"{name}.npy", getattr(self, name))
            for r, a in self.res_codes.items():
                np.save(tmp / f"res{r}.npy", a)
            meta = {"format": 1, "city": self.city.key, "version": self.version, "day0": str(self.day0),
                    "categories": self.categories, "districts": self.districts, "res": sorted(self.res_codes)}
            (tmp / "columns.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
            os.replace(tmp, folder)
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)
            if not (folder / "columns.json").exists():
                raise
        return folder

    @classmethod
    def open(cls, folder: str | Path, city) -> CityColumns:
        """Columns written by :meth:`save`, memory-mapped read-only (pages are read from disk when a
        filter first touches them and are shared by every process mapping the same files).

        Raises
        ------
        ValueError
            When ``folder`` holds another city's columns or no complete set.
        """
        from qauipsiz.hotspot.binning import _city

        c, folder = _city(city), Path(folder)
        try:
            meta = json.loads((folder / "columns.json").read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as e:
            raise ValueError(f"{folder}: no readable columns.json ({e})") from e
        if meta.get("format") != 1 or meta.get("city") != c.key:
            raise ValueError(f"{folder}: columns of city {meta.get('city')!r} (format {meta.get('format')}), "
                             f"not {c.key!r}")
        arr = {n: np.load(folder / f"{n}.npy", mmap_mode="r") for n in cls._ARRAYS}
        res = {int(r): np.load(folder / f"res{int(r)}.npy", mmap_mode="r") for r in meta["res"]}
        cols = cls(c, meta["version"], arr["cells11"], arr["cell_code"], arr["day"],
                   np.datetime64(meta["day0"], "D"), arr["hour"], arr["weekday"], arr["category"],
                   list(meta["categories"]), arr["district"], list(meta["districts"]), arr["dark"], res,
                   _folder=folder)
        with contextlib.suppress(OSError, ValueError, TypeError):  # written by city_default_bandwidth
            from qauipsiz.hotspot.bandwidth import CityBandwidth

            d = json.loads((folder / "bandwidth.json").read_text(encoding="utf-8"))
            cols._centres["bandwidth"] = CityBandwidth(**d)
        return cols

    @classmethod
    def load(cls, root: str | Path, city, *, batch_rows: int = 1_000_000,
             cache_dir: str | Path | None = None) -> CityColumns:
        """Read one city's partitions (every month) into compact columns.

        Parameters
        ----------
        root : path
            Analytic store root.
        city : str or City
            The city (its ``tz`` converts times to local dates).
        batch_rows : int
            Rows converted at a time (bounds the transient memory while loading).
        cache_dir : path, optional
            A folder for the columns as files (:meth:`save`): when it holds this city at the
            store's current data version they are memory-mapped (:meth:`open`: a second of work
            instead of a read of every partition), else they are built and written there (older
            versions of the city are removed).  An unwritable folder only costs the cache.
        """
        import shutil

        from qauipsiz.hotspot.binning import _city

        c = _city(city)
        if cache_dir is None:
            return cls._build(root, c, batch_rows)
        files = analytic.month_files(root, c.key)
        folder = Path(cache_dir) / f"{c.key}-{_version(root, c.key, files)}"
        if (folder / "columns.json").exists():
            try:
                return cls.open(folder, c)
            except (ValueError, OSError):
                # damaged: removed, so that the columns built below are written in its place
                # (save cannot replace a non-empty folder, and every later load would rebuild)
                shutil.rmtree(folder, ignore_errors=True)
        cols = cls._build(root, c, batch_rows)
        if cols.version == folder.name[len(c.key) + 1:]:  # unchanged while it was read
            for old in Path(cache_dir).glob(f"{c.key}-*"):
                if old != folder and old.is_dir() and not old.name.startswith("."):
                    shutil.rmtree(old, ignore_errors=True)
            with contextlib.suppress(OSError):  # a read-only cache folder: served from memory anyway
                cols._folder = cols.save(folder)
        return cols

    @classmethod
    def _build(cls, root: str | Path, c: City, batch_rows: int) -> CityColumns:
        """:meth:`load` from the partitions."""
        import pyarrow.dataset as pads

        from qauipsiz.hotspot.binning import assign_cells, fill_city_cells
        from qauipsiz.hotspot.h3grid import latlng_to_cells
        from qauipsiz.hotspot.schema import H3_STORE_RES

        files = analytic.month_files(root, c.key)
        ds = pads.dataset([str(p) for p in files], schema=analytic.SCHEMA, format="parquet")
        cols = ["occurred_at", "category", "lat", "lon", "district", "is_dark", "hour_local", "weekday_local"]
        parts: dict = {k: [] for k in ("cell", "day", "hour", "wd", "cat", "dist", "dark", *RESOLUTIONS)}
        filled = {r: fill_city_cells(c, r) for r in RESOLUTIONS}
        for b in ds.to_batches(columns=cols, batch_size=batch_rows):
            lat = b.column("lat").to_numpy()
            lon = b.column("lon").to_numpy()
            parts["cell"].append(latlng_to_cells(lat, lon, H3_STORE_RES))
            for r in RESOLUTIONS:
                dt = np.int16 if len(filled[r]) < 32766 else np.int32
                parts[r].append((assign_cells(latlng_to_cells(lat, lon, r), filled[r])[1] + 1).astype(dt))
            occ = pd.Series(b.column("occurred_at").to_pandas())
            parts["day"].append(occ.dt.tz_convert(c.tz).dt.tz_localize(None).to_numpy().astype("datetime64[D]"))
            parts["hour"].append(b.column("hour_local").to_numpy().astype(np.int8))
            parts["wd"].append(b.column("weekday_local").to_numpy().astype(np.int8))
            parts["cat"].append(b.column("category").dictionary_encode())
            parts["dist"].append(b.column("district").dictionary_encode())
            parts["dark"].append(b.column("is_dark").to_numpy(zero_copy_only=False).astype(bool))
        cells = np.concatenate(parts["cell"]) if parts["cell"] else np.zeros(0, np.uint64)
        cells11, code = np.unique(cells, return_inverse=True)
        del cells
        days = np.concatenate(parts["day"]) if parts["day"] else np.zeros(0, "datetime64[D]")
        day0 = days.min() if len(days) else np.datetime64("1970-01-01", "D")
        dnum = (days - day0).astype(np.int64)
        dnum = dnum.astype(np.uint16 if len(dnum) == 0 or dnum.max() < 65535 else np.int32)
        cat_codes, cats = _recode(parts["cat"])
        dist_codes, dists = _recode(parts["dist"])
        version = _version(root, c.key, files)
        # events in cell order: the counting pass then adds into neighbouring histogram slots
        order = np.argsort(code, kind="stable")

        def cat(key, dtype):
            return np.concatenate(parts[key])[order] if parts[key] else np.zeros(0, dtype)

        return cls(c, version, cells11, code.astype(np.int32)[order], dnum[order], day0, cat("hour", np.int8),
                   cat("wd", np.int8), cat_codes[order], cats, dist_codes[order], dists, cat("dark", bool),
                   {r: cat(r, np.int16) for r in RESOLUTIONS})

    # ------------------------------------------------------------------ filters
    def _spec(self, *, categories=None, start=None, end=None, hours=None, weekdays=None,
              dark: bool | None = None, districts=None) -> tuple:
        """The filters as lookup tables and a day range, for :func:`_filter_count`."""
        top = int(np.iinfo(self.day.dtype).max) + 1  # every stored day is below
        days = [0, top]
        for i, bound in enumerate((start, end)):
            if bound is not None:
                d = int((np.datetime64(pd.Timestamp(bound).date(), "D") - self.day0) // np.timedelta64(1, "D"))
                days[i] = min(max(d, 0), top)
        hour_lut = np.ones(24, np.bool_)
        if hours is not None:
            from qauipsiz.hotspot.binning import parse_hours

            a, b = parse_hours(hours)
            h = np.arange(24)
            hour_lut = ((h >= a) | (h < b)) if a > b else ((h >= a) & (h < b))
        wd_lut = np.ones(7, np.bool_)
        if weekdays is not None:
            wd_lut = np.zeros(7, np.bool_)
            wd_lut[[int(d) for d in weekdays]] = True
        cat_lut = _lut(self.categories, categories) if categories is not None else np.ones(len(self.categories) + 1,
                                                                                            np.bool_)
        dist_lut = _lut(self.districts, districts) if districts is not None else np.ones(len(self.districts) + 1,
                                                                                         np.bool_)
        dark_lut = np.array([dark is None or not dark, dark is None or bool(dark)], np.bool_)  # [light, dark]
        return days[0], days[1], hour_lut, wd_lut, cat_lut, dist_lut, dark_lut

    def mask(self, *, categories=None, start=None, end=None, hours=None, weekdays=None,
             dark: bool | None = None, districts=None) -> np.ndarray:
        """Boolean mask of the events passing the dashboard filters.

        Parameters
        ----------
        categories : iterable of str, optional
        start, end : date-like, optional
            **Local** dates (as the dashboard's filters); ``end`` excluded.
        hours : "START-END" or (start, end), optional
            Local hours, wrapping midnight when START > END.
        weekdays : iterable of int, optional
            Local weekdays, Monday = 0.
        dark : bool, optional
        districts : iterable of str, optional
        """
        m = np.ones(self.n, bool)
        if categories is not None:
            m &= _lut(self.categories, categories)[self.category]
        for bound, lower in ((start, True), (end, False)):
            if bound is None:
                continue
            d = int((np.datetime64(pd.Timestamp(bound).date(), "D") - self.day0) // np.timedelta64(1, "D"))
            d = min(max(d, 0), int(np.iinfo(self.day.dtype).max))  # every stored day is inside this range
            m &= (self.day >= d) if lower else (self.day < d)
        if hours is not None:
            from qauipsiz.hotspot.binning import parse_hours

            a, b = parse_hours(hours)
            lut = np.zeros(24, bool)
            h = np.arange(24)
            lut[((h >= a) | (h < b)) if a > b else ((h >= a) & (h < b))] = True
            m &= lut[self.hour]
        if weekdays is not None:
            lut = np.zeros(7, bool)
            lut[[int(d) for d in weekdays]] = True
            m &= lut[self.weekday]
        if dark is not None:
            m &= self.dark if dark else ~self.dark
        if districts is not None:
            m &= _lut(self.districts, districts)[self.district]
        return m

    def cell_counts(self, mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Res-11 cells with at least one (filtered) event and their counts: ``(cells uint64, counts int64)``."""
        code = self.cell_code if mask is None else self.cell_code[mask]
        cnt = np.bincount(code, minlength=len(self.cells11))
        nz = np.flatnonzero(cnt)
        return self.cells11[nz], cnt[nz].astype(np.int64)

    def city_default_bandwidth(self):
        """The city default KDE radius (:func:`hotspot.bandwidth.city_bandwidth`, metres) of all the
        city's events, placed at their res-11 cell centres (≤ 25 m from the points); cached."""
        if "bandwidth" not in self._centres:
            from qauipsiz.hotspot.bandwidth import city_bandwidth

            n11 = np.bincount(self.cell_code, minlength=len(self.cells11))
            self._centres["bandwidth"] = cb = city_bandwidth(np.repeat(self._xy11(), n11, axis=0))
            if self._folder is not None:  # kept beside the column files: seconds of work on millions of events
                import dataclasses

                with contextlib.suppress(OSError):
                    tmp = self._folder / f".bandwidth-{id(self)}.json"
                    tmp.write_text(json.dumps(dataclasses.asdict(cb)), encoding="utf-8")
                    tmp.replace(self._folder / "bandwidth.json")
        return self._centres["bandwidth"]

    def _xy11(self) -> np.ndarray:
        """Metric (city UTM) centres of :attr:`cells11`, cached."""
        if "xy" not in self._centres:
            from qauipsiz.hotspot.h3grid import cells_to_latlng

            lat, lon = cells_to_latlng(self.cells11)
            self._centres["xy"] = np.column_stack(self.city.to_metric(lon, lat))
        return self._centres["xy"]

    def _kernel(self, res: int, h: float, centres: np.ndarray):
        """Sparse quartic-kernel matrix (cells of ``res`` x :attr:`cells11`), per km², for radius ``h``
        metres: ``K @ counts`` is :func:`hotspot.kde.kde` of the weighted res-11 centres.  The last
        four (res, radius) pairs are kept."""
        import math

        import scipy.sparse as sp
        from scipy.spatial import cKDTree

        key = ("K", res, round(float(h), 6))
        if key not in self._centres:
            d = cKDTree(centres).sparse_distance_matrix(cKDTree(self._xy11()), h, output_type="coo_matrix")
            u2 = (d.data / h) ** 2
            val = np.where(u2 < 1.0, (1.0 - u2) ** 2, 0.0) * (3.0 / (math.pi * h * h) * 1e6)
            K = sp.csr_matrix((val, (d.row, d.col)), shape=(len(centres), len(self.cells11)))
            K.eliminate_zeros()
            olds = [k_ for k_ in self._centres if k_[0] == "K"]
            for k_ in olds[:-3]:
                del self._centres[k_]
            self._centres[key] = K
        return self._centres[key]

    def _packed(self) -> np.ndarray | None:
        """Per event, one uint16 code of (category, district, hour, weekday, dark):
        ``(c * (len(districts) + 1) + d) * 336 + hour * 14 + weekday * 2 + dark`` with null codes
        (-1) as the last category / district; None when the combinations exceed 65,536 or a value
        is out of range (then the filter reads the five columns).  Built once (~50 ms for 5
        million events, 2 bytes per event) and cached: the filter pass then does one table lookup
        per event instead of five (~2x faster)."""
        if "packed" not in self._centres:
            nc, nd = len(self.categories) + 1, len(self.districts) + 1
            out = None
            ok = nc * nd * 336 <= 65536 and (self.n == 0 or (
                0 <= int(self.hour.min()) and int(self.hour.max()) <= 23 and 0 <= int(self.weekday.min())
                and int(self.weekday.max()) <= 6 and int(self.category.min()) >= -1
                and int(self.district.min()) >= -1))
            if ok:
                ci = np.where(self.category < 0, nc - 1, self.category).astype(np.int32)
                di = np.where(self.district < 0, nd - 1, self.district).astype(np.int32)
                out = ((ci * nd + di) * 336 + self.hour.astype(np.int32) * 14 + self.weekday.astype(np.int32) * 2
                       + self.dark.astype(np.int32)).astype(np.uint16)
            self._centres["packed"] = out
        return self._centres["packed"]

    def _gi_plan(self, res: int, k: int, w) -> _GiPlan | None:
        """The cached :class:`_GiPlan` of the city's ring weights ``w`` at (res, k), or None when
        it does not reproduce :func:`hotspot.gistar.gi_star` (then gi_star runs per request)."""
        key = ("gi", res, int(k))
        if key not in self._centres:
            from qauipsiz.hotspot import binning

            self._centres[key] = _GiPlan.build(w, binning.city_cell_area_share(self.city, res))
        return self._centres[key]

    def hotspot_table(self, res: int = 9, *, bandwidth_m: float | None = None, k: int = 1,
                      **filters) -> pd.DataFrame:
        """Hot-spot table (columns of :func:`hotspot.surface.hotspot_table`) of the filtered events.

        Parameters
        ----------
        res : int
            H3 resolution 7–10.
        bandwidth_m : float, optional
            KDE radius in metres (default: Esri's rule on the weighted cell centres).
        k : int
            H3 ring radius of the Gi* neighbourhood.
        **filters
            :meth:`mask` filters.

        Returns
        -------
        DataFrame
            ``count`` and Gi* as from the events themselves; ``density`` (per km²) from res-11 cell
            centres weighted by counts; ``attrs["params"]["points"]`` says so.
        """
        from qauipsiz.hotspot import binning, surface
        from qauipsiz.hotspot.gistar import gi_star

        if res not in self.res_codes:
            raise ValueError(f"res={res}: the analytic columns hold H3 resolutions {', '.join(map(str, RESOLUTIONS))}")
        cells = binning.fill_city_cells(self.city, res)
        centres = binning.city_cell_centres(self.city, res)
        lo, hi, hl, wl, cl, dl, kl = self._spec(**filters)
        # one pass over the events: filter and count per cell of res and per res-11 cell (numba)
        packed = self._packed()
        if packed is not None:  # hour, weekday, light, category and district as one code: one lookup
            lut = (np.outer(np.outer(cl, dl).ravel(), hl[_SLOT_H] & wl[_SLOT_W] & kl[_SLOT_D])).ravel()
            cnt, n11, n_pass = _filter_count_packed(self.day, packed, lo, hi, lut, self.res_codes[res],
                                                    self.cell_code, len(cells) + 1, len(self.cells11))
        else:
            cnt, n11, n_pass = _filter_count(self.day, self.hour, self.weekday, self.category, self.district,
                                             self.dark, lo, hi, hl, wl, cl, dl, kl, self.res_codes[res],
                                             self.cell_code, len(cells) + 1, len(self.cells11))
        count = cnt[1:].astype(np.int64)  # code 0: outside the city's cells
        y = count.astype(float)
        # density: the events' res-11 cell centres, weighted by their counts (a cached sparse kernel
        # matrix cells x res-11 cells per radius, so a new filter costs one sparse product)
        n11 = n11.astype(float)
        occ = n11 > 0
        if bandwidth_m is None:  # Esri's rule on the occupied centres
            h, rule = surface._bandwidth(self._xy11()[occ], n11[occ], centres, bandwidth_m)
        else:  # the given radius: no need to gather the centres
            h, rule = surface._bandwidth(np.zeros((0, 2)), np.zeros(0), centres, bandwidth_m)
        density = self._kernel(res, h, centres) @ n11 if occ.any() else np.zeros(len(cells))
        w = binning.city_ring_weights(self.city, res, k)
        n = len(cells)
        if np.ptp(y) == 0:
            gz, gp, gq, gb = np.zeros(n), np.ones(n), np.ones(n), np.zeros(n, np.int8)
            inf: dict = {"inference": "none", "note": "no variation across cells after filters: no statistic computed"}
        else:
            # boundary cells expect incidents in proportion to their area inside the city, as in
            # hotspot.surface.hotspot_table (cached per city polygon and resolution); the parts of
            # gi_star that depend only on the weights are computed once per (res, k)
            plan = self._gi_plan(res, k, w)
            if plan is not None:
                gz, gp, gq, gb = plan(y)
                inf = dict(plan.info)
            else:
                g = gi_star(y, w, star=True, exposure=binning.city_cell_area_share(self.city, res))
                gz, gp, gq, gb = g.z, g.p, g.q, g.bin
                inf = {"inference": g.inference, "permutations": int(g.permutations), "reason": g.reason}
        t = pd.DataFrame({"h3": cells, "count": count, "weighted": y, "density": density, "gi_z": gz, "gi_p": gp,
                          "gi_q": gq, "gi_bin": np.asarray(gb).astype(np.int8),
                          "lisa": _NS.repeat(n)})
        t.attrs["params"] = {
            "generator": "qauipsiz.hotspot.national.columns.CityColumns.hotspot_table", "city": self.city.key,
            "res": res, "value": "count", "neighbours": "h3_ring", "k": int(k), "kernel": "quartic",
            "bandwidth_m": float(h), "bandwidth_rule": rule, **inf,
            "points": "KDE on res-11 cell centres weighted by their counts (analytic store)",
            "n_filtered": int(n_pass), "n_binned": int(count.sum()), "n_cells": n, "data_version": self.version,
            "filters": {k_: _plain(v) for k_, v in filters.items() if v is not None}}
        return t


class _GiPlan:
    """:func:`hotspot.gistar.gi_star` (Gi*, ``inference="auto"``, integer counts on equal-weight
    windows: ``p = max(normal p, exact binomial p)``) for one weights matrix and exposure, with
    every part that depends only on them computed once: the prepared weights with their diagonal,
    the row sums and sums of squares of the z denominator, the window shares of the binomial term.
    Per call only the window sums, z, the two p terms, BH q and the bins are computed, with the
    same operations in the same order as gi_star, so the results are the same bits
    (:meth:`build` checks that on a test vector and returns None otherwise; ``tests/national``).
    """

    def __init__(self, wp, c: float, den_w: np.ndarray, wi: np.ndarray, share: np.ndarray, info: dict):
        self.wp, self.c, self.den_w, self.wi, self.share, self.info = wp, c, den_w, wi, share, info

    @classmethod
    def build(cls, w, exposure: np.ndarray) -> _GiPlan | None:
        """The plan of ring weights ``w`` (n x n, binary) and cell ``exposure`` (unitless), or None
        when gi_star would not take the binomial+analytic path on them or the check fails."""
        from qauipsiz.hotspot.gistar import _equal_window_weight, gi_star, prepare_weights

        n = w.shape[0]
        if n < 30:
            return None
        wp = prepare_weights(w, n, True)
        c = _equal_window_weight(wp)
        if c is None:
            return None
        e = np.asarray(exposure, float)
        wi = np.asarray(wp.sum(axis=1)).ravel()
        s1 = np.asarray(wp.multiply(wp).sum(axis=1)).ravel()
        den_w = np.sqrt(np.maximum(n * s1 - wi**2, 0.0) / (n - 1))
        share = np.minimum(1.0, (wp @ e) / c / e.sum())
        probe = (np.arange(n) * 7919 % 13).astype(float)  # uneven integer counts
        g = gi_star(probe, w, star=True, exposure=e)
        if g.inference != "binomial+analytic":
            return None
        plan = cls(wp, c, den_w, wi, share,
                   {"inference": g.inference, "permutations": int(g.permutations), "reason": g.reason})
        got = plan(probe)
        same = all(np.array_equal(a, b) for a, b in zip(got, (g.z, g.p, g.q, g.bin), strict=True))
        return plan if same else None

    def __call__(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(z, p, q, bin)`` of counts ``y`` (float, non-negative integers, not constant)."""
        from scipy import stats

        from qauipsiz.hotspot._inference import bh_adjust, esri_bins
        from qauipsiz.hotspot.gistar import binomial_two_sided_p

        n = len(y)
        wy = self.wp @ y
        xbar = y.mean()
        # Σ y²: integer counts with (Σ y)² < 2**53 sum exactly in any order, so numpy's own sum
        # gives gi_star's ``y @ y`` bits without a BLAS call (a threaded OpenBLAS dot leaves its
        # worker threads spinning for ~0.1 s, taking the other core from this and other requests)
        yy = float(np.add.reduce(y * y)) if float(y.sum()) ** 2 < 2.0**53 else float(y @ y)
        s = np.sqrt(max(yy / n - xbar**2, 0.0))
        num = wy - xbar * self.wi
        den = s * self.den_w
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(den > 0, num / den, 0.0)
        pb = binomial_two_sided_p(np.round(wy / self.c), round(y.sum()), self.share)
        p = np.maximum(2.0 * stats.norm.sf(np.abs(z)), pb)
        q = bh_adjust(p)
        return z, p, q, esri_bins(z, q)


def analytic_version(root: str | Path, city: str) -> str:
    """Data version of ``city`` in the analytic store at ``root`` (see :attr:`CityColumns.version`),
    ``""`` when the store does not hold the city.  Costs one ``stat`` per partition file."""
    if city not in analytic.dataset_cities(root):
        return ""
    return _version(root, city, analytic.month_files(root, city))


def analytic_synthetic(root: str | Path) -> bool:
    """Whether the analytic store's manifest says its incidents are synthetic."""
    try:
        return bool(analytic.read_manifest(root).get("synthetic"))
    except ValueError:
        return False


@numba.njit(cache=True, nogil=True)
def _filter_count(day, hour, weekday, category, district, dark, lo, hi, hour_lut, wd_lut, cat_lut, dist_lut,  # noqa: PLR0913 -- numba kernel: arrays and scalars only
                  dark_lut, code_r, code11, n_r, n11):
    """Counts per res-r code and per res-11 cell of the events passing the filters, and their number.

    Codes -1 of ``category``/``district`` (null) index the last entry of their lookup table;
    ``dark_lut`` is ``[light passes, dark passes]``.  Branch-free: every event adds its 0/1 pass
    flag (random filters make the branches unpredictable; this is ~2.4x faster than skipping).
    """
    cr = np.zeros(n_r, np.int32)
    c11 = np.zeros(n11, np.int32)
    k = 0
    for i in range(len(day)):
        d = day[i]
        ok = ((d >= lo) & (d < hi) & hour_lut[hour[i]] & wd_lut[weekday[i]] & cat_lut[category[i]]
              & dist_lut[district[i]] & dark_lut[np.int64(dark[i])])
        o = np.int32(ok)
        cr[code_r[i]] += o
        c11[code11[i]] += o
        k += int(o)
    return cr, c11, k


_SLOT_H, _SLOT_W, _SLOT_D = np.arange(336) // 14, np.arange(336) // 2 % 7, np.arange(336) % 2
"""Hour, weekday and dark flag of each of the 336 slots of :meth:`CityColumns._packed`."""


@numba.njit(cache=True, nogil=True)
def _filter_count_packed(day, packed, lo, hi, lut, code_r, code11, n_r, n11):  # noqa: PLR0913 -- numba kernel: arrays and scalars only
    """:func:`_filter_count` with the hour, weekday, light, category and district filters as one
    lookup table over :meth:`CityColumns._packed` codes.  Same counts."""
    cr = np.zeros(n_r, np.int32)
    c11 = np.zeros(n11, np.int32)
    k = 0
    for i in range(len(day)):
        d = day[i]
        o = np.int32((d >= lo) & (d < hi) & lut[packed[i]])
        cr[code_r[i]] += o
        c11[code11[i]] += o
        k += int(o)
    return cr, c11, k


def _lut(values: list[str], wanted) -> np.ndarray:
    """Boolean lookup table over int8 codes of ``values`` (index -1, the last entry, is null: False)."""
    want = {str(w) for w in wanted}
    lut = np.zeros(len(values) + 1, bool)
    lut[[i for i, v in enumerate(values) if v in want]] = True
    return lut


def _plain(v):
    if isinstance(v, str | int | float | bool):
        return v
    try:
        return [_plain(x) for x in v]
    except TypeError:
        return str(v)


def _recode(chunks: list) -> tuple[np.ndarray, list[str]]:
    """Dictionary-encoded Arrow chunks → one int8 code array over their union of values (-1 = null)."""
    values: list[str] = sorted({str(v) for ch in chunks for v in ch.dictionary.to_pylist() if v is not None})
    if len(values) > 127:
        raise ValueError(f"{len(values)} distinct values: too many for int8 codes")
    idx = {v: i for i, v in enumerate(values)}
    out = []
    for ch in chunks:
        lut = np.array([idx[v] if v is not None else -1 for v in ch.dictionary.to_pylist()] + [-1], np.int8)
        ind = ch.indices.to_numpy(zero_copy_only=False)
        ind = np.where(np.isnan(ind), len(lut) - 1, ind).astype(np.int64) if ind.dtype.kind == "f" else ind
        out.append(lut[ind])
    return (np.concatenate(out) if out else np.zeros(0, np.int8)), values


def _version(root, city: str, files: list[Path]) -> str:
    """Data version of one city of the store: the manifest's creation time and the files' sizes and
    modification times (changes whenever the city's partitions are rewritten)."""
    import hashlib

    try:
        created = str(analytic.read_manifest(root).get("created", ""))
    except (ValueError, json.JSONDecodeError):
        created = ""
    h = hashlib.sha1(f"{city}\x1f{created}".encode())
    for p in files:
        st = p.stat()
        h.update(f"{p.parent.name}/{p.name}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]
