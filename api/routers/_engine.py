"""The service's thin adapter over the hotspot engine: cached surfaces keyed by data version.

Every computed value is cached in :class:`api.cache.SurfaceCache` under
``(kind, city, params digest, data_version)``.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import pandas as pd

from qauipsiz.api.cache import params_key
from qauipsiz.api.errors import ApiError, client_input
from qauipsiz.api.routers._deps import Filters, Services, city_obj


@dataclass(frozen=True)
class DensityGrid:
    """A north-up density raster in the city's UTM zone (values per km²)."""

    grid: np.ndarray
    transform: object
    epsg: int
    bandwidth_m: float
    cell_m: float
    n_points: int
    vmax: float
    bounds_3857: tuple
    bandwidth_source: str = "city default"
    """``"city default"`` (:func:`city_bandwidth`) or ``"user"`` (the request's ``bandwidth_m``)."""

    @property
    def nbytes(self) -> int:
        return int(self.grid.nbytes)


def filtered_incidents(svc: Services, city: str, f: Filters) -> pd.DataFrame:
    c = city_obj(city)
    df = svc.incidents(city)
    with client_input():
        return f.apply(df, c)


def city_bandwidth(svc: Services, city: str):
    """The city default KDE radius (:class:`hotspot.bandwidth.CityBandwidth`) from all of the city's
    located incidents, cached per data version: the same value for every filter, view and output."""
    from qauipsiz.hotspot.bandwidth import city_bandwidth_of

    def compute():
        return city_bandwidth_of(svc.incidents(city), city_obj(city))

    return svc.cache.get_or_compute(("city-bandwidth", city, svc.version(city)), compute)


def resolve_bandwidth(svc: Services, city: str, bandwidth_m: float | None) -> tuple[float, str, str]:
    """``(bandwidth_m, source, rule)``: the user's radius when given, else the city default."""
    from qauipsiz.hotspot.bandwidth import resolve

    with client_input():
        return resolve(bandwidth_m, city_bandwidth(svc, city) if bandwidth_m is None else None)


def density_key(svc: Services, city: str, f: Filters, *, bandwidth_m, cell_m, weighted) -> tuple:
    """Cache key of :func:`density_grid` (cheap: lets async handlers look the raster up without a thread)."""
    params = {**f.as_params(), "bandwidth_m": bandwidth_m, "cell_m": cell_m, "weighted": weighted}
    return ("density", city, params_key(params), svc.version(city))


def density_grid(svc: Services, city: str, f: Filters, *, bandwidth_m: float | None, cell_m: float,
                 weighted: bool) -> DensityGrid:
    """Quartic KDE raster of the filtered incidents over the city's extent (cached)."""
    from qauipsiz.hotspot import kde
    from qauipsiz.maps.tiles import grid_bounds_3857, robust_vmax

    key = density_key(svc, city, f, bandwidth_m=bandwidth_m, cell_m=cell_m, weighted=weighted)

    def compute():
        c = city_obj(city)
        df = filtered_incidents(svc, city, f)
        if len(df) < 2:
            raise ApiError(422, f"only {len(df)} incidents pass the filters; a density surface needs at least 2",
                           slug="too-few-incidents")
        x, y = c.to_metric(df["lon"].to_numpy(float), df["lat"].to_numpy(float))
        xy = np.column_stack([x, y])
        w = np.nan_to_num(df["harm_weight"].to_numpy(float), nan=0.0) if weighted else None
        h, source, _rule = resolve_bandwidth(svc, city, bandwidth_m)
        with client_input():
            bx0, by0, bx1, by1 = c.boundary_metric.bounds
            grid, tr = kde.kde_grid(xy, (bx0 - h, by0 - h, bx1 + h, by1 + h), cell_m, h, "quartic", w)
        grid = grid.astype(np.float32)
        return DensityGrid(grid, tr, int(c.epsg), h, float(cell_m), len(df), robust_vmax(grid),
                           grid_bounds_3857(grid.shape, tr, int(c.epsg)), source)

    return svc.cache.get_or_compute(key, compute)


_ANALYTIC: dict = {}
_ANALYTIC_LOCK = threading.Lock()


def analytic_columns(svc: Services, city: str):
    """The city's :class:`hotspot.national.columns.CityColumns` when the analytic store
    (``QAUIPSIZ_ANALYTIC_DIR``) holds it, else None.  One copy per city is kept, replaced when the
    store's data version of the city changes."""
    root = getattr(svc.settings, "analytic_dir", None)
    if root is None:
        return None
    from qauipsiz.hotspot.national.columns import CityColumns, analytic_version

    ver = analytic_version(root, city)
    if not ver:
        return None
    with _ANALYTIC_LOCK:
        cols = _ANALYTIC.get((str(root), city))
        if cols is None or cols.version != ver:
            _ANALYTIC.pop((str(root), city), None)  # drop the old copy before loading the new one
            # the columns are also kept as memory-mapped files per data version: a restarted
            # service (or another worker process) maps them instead of reading every partition
            cols = CityColumns.load(root, city_obj(city), cache_dir=svc.settings.data_dir / "cache" / "analytic")
            _ANALYTIC[(str(root), city)] = cols
    return cols


def _analytic_cells(svc: Services, cols, f: Filters, res: int, params: dict) -> pd.DataFrame:
    """:func:`hotspot_cells` from the analytic store's compact columns (count, ring neighbours)."""
    kw = {"categories": f.category, "start": f.start, "end": f.end, "hours": f.hours, "weekdays": f.weekdays,
          "dark": None if f.light == "any" else f.light == "dark", "districts": f.district}
    h = params.get("bandwidth_m")
    source, rule = ("user", "set by the user") if h is not None else ("city default", "")
    if h is None:
        cb = cols.city_default_bandwidth()
        h, rule = cb.bandwidth_m, cb.rule
    with client_input():
        t = cols.hotspot_table(res, bandwidth_m=float(h), k=int(params.get("k") or 1),
                               **{k: v for k, v in kw.items() if v is not None})
    t.attrs["params"] = {**t.attrs["params"], "bandwidth_source": source, "bandwidth_rule": rule}
    return t


def hotspot_cells(svc: Services, city: str, f: Filters, *, res: int, params: dict) -> pd.DataFrame:
    """Per-cell KDE and Gi* of the filtered incidents at H3 resolution ``res`` (cached).

    The KDE radius is ``params["bandwidth_m"]`` when set, else the city default
    (:func:`city_bandwidth`); ``attrs["params"]`` records ``bandwidth_m``, ``bandwidth_source``
    (``"city default"`` or ``"user"``) and ``bandwidth_rule``."""
    from qauipsiz.hotspot import surface
    kw = {"value": "weighted" if params.get("weighted") else "count",
          "k": int(params.get("k") or 1), "distance_m": params.get("distance_m"), "lisa": False}
    allp = {**f.as_params(), "res": res, **params}
    key = ("cells", city, params_key(allp), svc.version(city))
    cols = None if params.get("weighted") or params.get("distance_m") or res > 10 else analytic_columns(svc, city)
    if cols is not None:  # the analytic store holds the city: counts from its compact columns
        return svc.cache.get_or_compute(key, lambda: _analytic_cells(svc, cols, f, res, params))

    def compute():
        c = city_obj(city)
        df = filtered_incidents(svc, city, f)
        h, source, rule = resolve_bandwidth(svc, city, params.get("bandwidth_m"))
        with client_input():
            t = surface.hotspot_table(df, c, res=res, bandwidth_m=h, **kw)
        t.attrs["params"] = {**t.attrs["params"], "bandwidth_source": source, "bandwidth_rule": rule}
        return t

    return svc.cache.get_or_compute(key, compute)


def city_layers(svc: Services, city: str) -> dict:
    """All city layers from the store, validated against the CPTED layer schemas (cached)."""
    def compute():
        from qauipsiz.cpted.layers import validate_layers

        return validate_layers(svc.store().load_layers(city))

    return svc.cache.get_or_compute(("layers", city, svc.version(city)), compute)


DEFAULT_SURFACE = {"bandwidth_m": None, "weighted": False, "k": 1}


def scored_blocks(svc: Services, city: str):
    """CPTED scores of every block, with risk from the res-9 hotspot table (cached)."""
    from qauipsiz.api.routers._deps import Filters
    from qauipsiz.cpted import score

    def compute():
        hot = hotspot_cells(svc, city, Filters(), res=9, params=DEFAULT_SURFACE)
        with client_input():
            return score.score_blocks(city, city_layers(svc, city), hotspots=hot)

    return svc.cache.get_or_compute(("cpted-blocks", city, svc.version(city)), compute)


def recommendations(svc: Services, city: str, kind: str, n: int, lang: str) -> pd.DataFrame:
    """Ranked camera / SOS / post sites (cached per city, kind, budget, language, data version)."""
    from qauipsiz.cpted import siting

    def compute():
        inc = svc.incidents(city)
        layers = city_layers(svc, city)
        with client_input():
            if kind == "cameras":
                return siting.recommend_cameras(city, inc, layers, n, exact=False, lang=lang)
            if kind == "sos":
                return siting.recommend_sos(city, inc, layers, n, exact=False, lang=lang)
            return siting.recommend_posts(city, inc, layers, n, exact=False, lang=lang)

    return svc.cache.get_or_compute(("recommend", city, kind, n, lang, svc.version(city)), compute)


def warm(svc: Services, city: str, *, cpted: bool = True) -> None:
    """Compute the dashboard's default surfaces (res-9 hotspots, heat raster, CPTED scores) ahead of
    the first request.  Best effort: a failure is printed, requests then report the real error."""
    import sys

    from qauipsiz.api.routers._deps import Filters

    steps = [lambda: hotspot_cells(svc, city, Filters(), res=9, params=DEFAULT_SURFACE),
             lambda: density_grid(svc, city, Filters(), bandwidth_m=None, cell_m=50.0, weighted=False)]
    if cpted:
        steps.append(lambda: scored_blocks(svc, city))
    for step in steps:
        try:
            step()
        except Exception as e:
            print(f"qauipsiz: cache warm-up step skipped: {type(e).__name__}: {e}", file=sys.stderr)
