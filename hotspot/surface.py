"""One call, one table: filled H3 cells with counts, density, Gi* and LISA for a city."""
from __future__ import annotations

import functools
import math
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import scipy.sparse as sp

from qauipsiz.hotspot import binning
from qauipsiz.hotspot.gistar import gi_star
from qauipsiz.hotspot.kde import esri_bandwidth, kde
from qauipsiz.hotspot.moran import local_moran

TABLE_COLUMNS = ("h3", "count", "weighted", "density", "gi_z", "gi_p", "gi_q", "gi_bin", "lisa")


@functools.lru_cache(maxsize=16)
def _band_weights(city_key: str, res: int, distance_m: float):
    xy = binning.city_cell_centres(city_key, res)
    return binning.distance_band_weights(xy, distance_m, self_weight=True)


def _bandwidth(pxy: np.ndarray, pw, centres: np.ndarray, bandwidth_m: float | None) -> tuple[float, str]:
    """The KDE radius in metres and its rule: the given one, else Esri's rule, else 2 cell spacings."""
    if bandwidth_m is not None:
        return bandwidth_m, "fixed"
    try:
        h = esri_bandwidth(pxy, pw)
    except ValueError:
        h = float("nan")
    if h > 0 and math.isfinite(h):
        return h, "esri"
    return float(2 * np.median(_spacing(centres))), "esri (degenerate: one spot), fallback 2 cell spacings"


def _weights(c, res: int, k: int, distance_m: float | str | None, y: np.ndarray,
             centres: np.ndarray) -> tuple[sp.csr_matrix, dict]:
    """Spatial weights (H3 rings, a distance band, or the band chosen by ``distance_m="auto"``) and
    their description for ``attrs["params"]``."""
    if distance_m is None:
        return binning.city_ring_weights(c, res, k), {"neighbours": "h3_ring", "k": int(k)}
    scale_info = None
    if distance_m == "auto":
        from qauipsiz.hotspot.scale import optimal_scale

        if np.ptp(y) == 0:
            raise ValueError("distance_m='auto' needs variation in the data (no incidents after filters?)")
        sc = optimal_scale(y, centres)
        distance_m = sc.distance_m
        scale_info = {"method": sc.method, "distances_m": sc.distances_m.round(1).tolist(),
                      "moran_z": np.round(sc.moran_z, 3).tolist(), "k": sc.k}
    distance_m = float(distance_m)
    neigh: dict = {"neighbours": "distance_band", "distance_m": distance_m}
    if scale_info:
        neigh["scale"] = scale_info
    return _band_weights(c.key, res, round(distance_m, 3)), neigh


def hotspot_table(incidents_df: pd.DataFrame, city, res: int = 9, *, value: str = "count",  # noqa: PLR0913 -- keyword-only options with defaults
                  k: int = 1, distance_m: float | str | None = None, kernel: str = "quartic",
                  bandwidth_m: float | None = None, weight_col: str = "harm_weight",
                  permutations: int | None = None, seed=None, alpha: float = 0.05, lisa: bool = True,
                  inference: str = "auto", min_count: int = 0, **filters) -> pd.DataFrame:
    """Hot-spot surface of a city: one row per H3 cell of the (filled) city polygon.

    Parameters
    ----------
    incidents_df : DataFrame
        Incidents in the schema of :mod:`hotspot.schema` (``lat``/``lon`` or ``h3``,
        ``occurred_at``, ``category``, ``place_type``, ``is_dark``, ``harm_weight`` as used).
    city : str or City
        City key (e.g. ``"astana"``).
    res : int
        H3 resolution 7–11.
    value : {"count", "weighted"}
        What Gi*, LISA and the density are computed on: incident counts, or sums of
        ``weight_col`` (harm-weighted).
    k : int
        H3 ring radius of the neighbourhood (used when ``distance_m`` is None).
    distance_m : float, "auto" or None
        Distance band in metres between cell centres instead of rings; ``"auto"`` picks it with
        :func:`hotspot.scale.optimal_scale` (Esri's Optimized Hot Spot rules).
    kernel : {"quartic", "epanechnikov", "gaussian"}
    bandwidth_m : float, optional
        Kernel radius in metres; default Esri's rule (:func:`hotspot.kde.esri_bandwidth`) on the
        binned points.
    weight_col : str
        Harm-weight column summed into ``weighted``.
    permutations, seed, alpha, inference, min_count
        Inference options of :func:`hotspot.gistar.gi_star`.  Default ``inference="auto"``:
        analytic only where the normal tail is accurate at the BH cut, else conditional
        permutations with enough draws for BH at this n (false-alarm rate on data with no
        pattern ≤ ``alpha`` at every sparsity); ``permutations=0`` forces analytic.
        ``attrs["params"]`` records ``inference``, ``permutations``, ``min_count`` and ``reason``.
    lisa : bool
        Compute local Moran clusters (else the ``lisa`` column is ``"ns"``).
    **filters
        :func:`hotspot.binning.filter_mask` filters: ``categories, start, end, hours, weekdays,
        dark, place_types``.

    Returns
    -------
    DataFrame
        Columns ``h3`` (uint64), ``count``, ``weighted``, ``density`` (per km², of ``value``),
        ``gi_z``, ``gi_p``, ``gi_q``, ``gi_bin`` (−3..3), ``lisa`` (HH/LL/HL/LH/ns);
        ``attrs["params"]`` holds the run parameters and counts.  When the filtered data have
        no variation across cells (e.g. no incidents), z = 0, p = q = 1, bins 0 and
        ``attrs["params"]["note"]`` says so.

    Notes
    -----
    Filled cells, their centres and the ring / band weights are cached per (city, res, k or
    distance), so repeated calls with other filters only bin, sum and test.
    """
    c = binning._city(city)
    res = binning._check_res(res)
    if value not in ("count", "weighted"):
        raise ValueError(f"value={value!r}: use 'count' or 'weighted'")
    cells = binning.fill_city_cells(c, res)
    centres = binning.city_cell_centres(c, res)
    n_input = len(incidents_df)
    df = incidents_df[binning.filter_mask(incidents_df, c, **filters)] if filters else incidents_df
    inc = binning.incident_cells(df, res)
    _, pos = binning.assign_cells(inc, cells)
    keep = pos >= 0
    if weight_col in df.columns:
        wv = np.nan_to_num(df[weight_col].to_numpy(float), nan=0.0)
    elif value == "weighted":
        raise ValueError(f"value='weighted' needs the weight column {weight_col!r}")
    else:
        wv = np.ones(len(df))
    idx = pos[keep]
    count = np.bincount(idx, minlength=len(cells)).astype(np.int64)
    weighted = np.bincount(idx, weights=wv[keep], minlength=len(cells))
    y = count.astype(float) if value == "count" else weighted

    # density from the incident points themselves (cell centre where a point has no coordinates)
    if "lat" in df.columns and "lon" in df.columns:
        lat = df["lat"].to_numpy(float)[keep]
        lon = df["lon"].to_numpy(float)[keep]
        px, py = c.to_metric(lon, lat)
        pxy = np.column_stack([px, py])
        bad = ~np.isfinite(pxy).all(axis=1)
        pxy[bad] = centres[idx[bad]]
    else:
        pxy = centres[idx]
    pw = None if value == "count" else wv[keep]
    bandwidth_m, rule = _bandwidth(pxy, pw, centres, bandwidth_m)
    density = kde(pxy, centres, bandwidth_m, kernel, pw) if len(pxy) else np.zeros(len(cells))
    w, neigh = _weights(c, res, k, distance_m, y, centres)

    note = None
    inf_meta = {"inference": "none", "permutations": 0, "min_count": int(min_count),
                "reason": "no statistic computed"}
    if np.ptp(y) == 0:
        note = "no variation across cells after filters: no statistic computed"
        n = len(cells)
        gi_z, gi_p, gi_q, gi_b = np.zeros(n), np.ones(n), np.ones(n), np.zeros(n, np.int8)
        lisa_lab = np.full(n, "ns", dtype=object)
    else:
        # boundary cells partly outside the city expect fewer incidents: the exact binomial
        # term weighs each cell by its area inside the polygon (uniform incidents: no edge spots)
        g = gi_star(y, w, star=True, permutations=permutations, seed=seed, alpha=alpha,
                    inference=inference, min_count=min_count,
                    exposure=binning.city_cell_area_share(c, res),
                    event_counts=count if value == "weighted" else None)
        gi_z, gi_p, gi_q, gi_b = g.z, g.p, g.q, g.bin
        inf_meta = {"inference": g.inference, "permutations": int(g.permutations),
                    "min_count": int(g.min_count), "reason": g.reason,
                    "min_bh_discoveries": g.params["min_bh_discoveries"]}
        if lisa:
            lm = local_moran(y, w, permutations=permutations, seed=seed, alpha=alpha,
                             inference=inference, min_count=min_count)
            lisa_lab = lm.cluster
            inf_meta["lisa_inference"] = lm.inference
            inf_meta["lisa_permutations"] = int(lm.permutations)
            inf_meta["lisa_reason"] = lm.reason
        else:
            lisa_lab = np.full(len(cells), "ns", dtype=object)

    out = pd.DataFrame({
        "h3": cells, "count": count, "weighted": weighted, "density": density, "gi_z": gi_z,
        "gi_p": gi_p, "gi_q": gi_q, "gi_bin": gi_b.astype(np.int8),
        "lisa": pd.Series(lisa_lab, dtype="string").to_numpy(),
    })
    params = {
        "generator": "qauipsiz.hotspot.surface.hotspot_table", "city": c.key, "res": res, "value": value,
        **neigh, "kernel": kernel, "bandwidth_m": float(bandwidth_m), "bandwidth_rule": rule,
        "metric_epsg": c.epsg, "gi": "Gi* (self included), analytic" if not inf_meta["permutations"]
        else f"Gi* (self included), {inf_meta['permutations']} permutations",
        **inf_meta, "seed": seed, "alpha": alpha,
        "fdr": "benjamini-hochberg", "bins": "±3/±2/±1 = q<0.01/0.05/0.10",
        "filters": {k_: _jsonable(v) for k_, v in filters.items() if v is not None},
        "n_input": n_input, "n_filtered": len(df), "n_binned": int(keep.sum()),
        "n_outside_or_no_point": int((~keep).sum()), "n_cells": len(cells),
        "created_utc": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if note:
        params["note"] = note
    out.attrs["params"] = params
    return out


def _spacing(xy) -> np.ndarray:
    from scipy.spatial import cKDTree

    d, _ = cKDTree(xy).query(xy[: min(len(xy), 2000)], k=2)
    return d[:, 1]


def _jsonable(v):
    if isinstance(v, (list, tuple, set, frozenset)):
        return [_jsonable(x) for x in v]
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    return str(v)


def to_geodataframe(table: pd.DataFrame):
    """The table with hexagon geometries (EPSG:4326) and ``h3`` as hex strings (``h3_hex``)."""
    import geopandas as gpd

    from qauipsiz.hotspot.h3grid import cells_to_boundaries

    g = gpd.GeoDataFrame(table.copy(), geometry=cells_to_boundaries(table["h3"].to_numpy()), crs=4326)
    g.insert(1, "h3_hex", [format(int(v), "x") for v in table["h3"].to_numpy()])
    g.attrs = dict(table.attrs)
    return g
