"""The ranked site table every recommender returns: rank, phase, position, marginal and cumulative
coverage, newly covered incidents, nearest street and the reasons."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely

from qauipsiz.cpted.siting.reasons import fill_reasons

SITE_COLUMNS = ["rank", "phase", "lat", "lon", "marginal_gain", "marginal_share", "cumulative_coverage",
                "incidents_new", "dark_new", "kind", "name", "street", "reason", "reason_kk", "reason_ru",
                "reason_en"]


def phase_numbers(budget: int, phases) -> np.ndarray:
    """Phase number (1-based) of each rank 1..budget."""
    if phases is None:
        phases = 3 if budget >= 6 else 1
    if isinstance(phases, int | np.integer):
        k = max(1, min(int(phases), max(budget, 1)))
        sizes = np.full(k, budget // k)
        sizes[: budget % k] += 1
    else:
        sizes = np.asarray(list(phases), int)
        if (sizes <= 0).any():
            raise ValueError(f"phases {list(phases)}: every phase needs at least one site")
        if sizes.sum() < budget:
            sizes = np.r_[sizes, budget - sizes.sum()]
    return np.repeat(np.arange(1, len(sizes) + 1), sizes)[:budget]


def nearest_street(city, x, y) -> np.ndarray:
    """Name of the street nearest to each point ``x, y`` (metres, city UTM); "" when the city has no streets."""
    from qauipsiz.hotspot.streets import load_streets

    try:
        s = load_streets(city.key).to_crs(city.epsg)
    except ValueError:
        return np.full(len(x), "", dtype=object)
    tree = shapely.STRtree(s.geometry.values)
    idx = tree.nearest(shapely.points(np.c_[x, y]))
    return s["name"].to_numpy(object)[idx] if len(x) else np.zeros(0, object)


@dataclass
class CoverModel:
    """A solved covering model as :func:`site_table` reads it.

    Attributes
    ----------
    A : scipy.sparse matrix, shape (n_rows, n_demand)
        Non-zero where candidate row ``j`` covers demand cell ``i``.
    rows_xy : numpy.ndarray, shape (n_rows, 2)
        Position of each candidate row, metres (city UTM).
    precovered : numpy.ndarray of bool, shape (n_demand,)
        Demand already covered by existing sites.
    row_attrs : dict
        Column name → one value per candidate row, copied to the table (``bearing_deg``, ``kind``, ``name``).
    """

    A: Any
    rows_xy: np.ndarray
    precovered: np.ndarray
    row_attrs: dict = field(default_factory=dict)


def site_table(kind, picks_res, model: CoverModel, demand, city, phases, lang, extra=None):
    """Common output table for covering recommenders: one row per pick of ``picks_res`` (a
    :class:`~qauipsiz.cpted.siting.solvers.CoverResult` over ``model``), with its reasons."""
    picks = picks_res.picks
    n = len(picks)
    A = sp.csr_matrix(model.A)
    A.data[:] = 1
    # newly covered demand per pick, in pick order
    covered = np.asarray(model.precovered, bool).copy()
    inc_new, dark_new = np.zeros(n, int), np.zeros(n, int)
    for k, j in enumerate(picks.tolist()):
        cols = A.indices[A.indptr[j]:A.indptr[j + 1]]
        new = cols[~covered[cols]]
        inc_new[k] = int(demand["count"].to_numpy()[new].sum())
        dark_new[k] = int(demand["dark"].to_numpy()[new].sum())
        covered[new] = True
    xy = model.rows_xy[picks]
    lon, lat = city.to_wgs84(xy[:, 0], xy[:, 1]) if n else (np.zeros(0), np.zeros(0))
    total = picks_res.total_weight if picks_res.total_weight > 0 else 1.0
    out = pd.DataFrame({
        "rank": np.arange(1, n + 1),
        "phase": phase_numbers(n, phases) if n else np.zeros(0, int),
        "lat": np.asarray(lat), "lon": np.asarray(lon),
        "marginal_gain": picks_res.marginal_gain,
        "marginal_share": picks_res.marginal_gain / total,
        "cumulative_coverage": picks_res.cumulative / total,
        "incidents_new": inc_new, "dark_new": dark_new,
        "street": nearest_street(city, xy[:, 0], xy[:, 1]) if n else np.zeros(0, object),
    })
    for col, vals in (model.row_attrs or {}).items():
        out[col] = np.asarray(vals)[picks]
    if "kind" not in out.columns:
        out["kind"] = "site"
    if "name" not in out.columns:
        out["name"] = ""
    out = fill_reasons(kind, out, lang, extra)
    cols = [c for c in SITE_COLUMNS if c in out.columns] + [c for c in out.columns if c not in SITE_COLUMNS]
    return out[cols]
