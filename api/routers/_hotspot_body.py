"""The body of ``GET /cities/{city}/hotspots.geojson``: a hot-spot table as a GeoJSON FeatureCollection.

:func:`hotspot_body` writes it column-wise: the start of every feature (its hexagon's GeoJSON and
its ``h3`` id) is encoded once per city cell set and precision and cached
(:func:`cell_feature_heads`); per request only the numbers are formatted, one column at a time
(``float.__repr__`` over ``tolist()``, small integers through a lookup table), and the features
are joined by one ``%``-format over the zipped columns.  No per-feature dict, no ``json.dumps``
per feature.

:func:`hotspot_body_per_feature` is the previous encoder (a properties DataFrame, one dict and one
``json.dumps`` per feature through :func:`api.routers._geo.feature_collection`); it is kept as the
reference: both give the same bytes (``tests/national/test_serve.py``), and ``bench/_national_serve.py``
times them in the same run.
"""
from __future__ import annotations

import hashlib
import json
import threading

import numpy as np
import pandas as pd

GI_BINS = {3: "hot_99", 2: "hot_95", 1: "hot_90", 0: "not_significant", -1: "cold_90", -2: "cold_95", -3: "cold_99"}
PROPERTIES = ("count", "weighted", "density", "gi_z", "gi_p", "gi_q", "gi_bin")
"""Table columns written as feature properties (after ``h3``; ``gi_class`` follows ``gi_bin``)."""
ROUND = {"density": 3, "gi_z": 5, "gi_p": 5, "gi_q": 5}
"""Decimals each float property is rounded to (``numpy.round``)."""
HIDDEN = ("count", "weighted", "density")
"""Properties set to null for cells whose count is below the caller's k-anonymity threshold."""

_HEADS: dict = {}
_HEADS_LOCK = threading.Lock()
_HEADS_MAX = 8


def cell_feature_heads(cells, precision: float = 1e-5) -> np.ndarray:
    """The start of each cell's feature, ``{"type":"Feature","geometry":{…},"properties":{"h3":"…"``,
    as an object array of str (one per cell of ``cells``, in its order).

    Parameters
    ----------
    cells : array of uint64
        H3 cells, sorted ascending without repeats (a city's filled cells at one resolution).
    precision : float
        Coordinate grid of the hexagons in degrees (1e-5 ≈ 1.1 m), as
        :func:`api.routers._geo.feature_collection`.

    Notes
    -----
    The result is cached per cell set and precision (the last 8), so every table of a city at one
    resolution reuses it; a res-10 city of 40,000 cells takes ~10 MB.
    """
    from qauipsiz.api.routers._geo import cell_geojson

    c = np.asarray(cells, np.uint64)
    key = (len(c), hashlib.sha1(c.tobytes()).hexdigest(), precision)
    hit = _HEADS.get(key)
    if hit is None:
        gj = cell_geojson(c, precision)
        hexes = np.array([format(int(x), "x") for x in c.tolist()], dtype=object)
        hit = np.asarray(['{"type":"Feature","geometry":' + (g or "null") + ',"properties":{"h3":"' + h + '"'
                          for g, h in zip(gj.tolist(), hexes.tolist(), strict=True)], dtype=object)
        with _HEADS_LOCK:
            while len(_HEADS) >= _HEADS_MAX:
                _HEADS.pop(next(iter(_HEADS)))
            _HEADS[key] = hit
    return hit


def json_values(values, null=None) -> list[str]:
    """One column as JSON value texts, as ``json.dumps`` writes each value after
    :func:`api.store.export.plain_value` (NaN and ±inf → ``null``).

    Parameters
    ----------
    values : array-like
        Floats, integers, booleans or strings (one dtype per column).
    null : array of bool, optional
        Positions written as ``null`` whatever their value.

    Returns
    -------
    list of str
    """
    a = np.asarray(values)
    if a.dtype.kind == "b":
        out = np.where(a, "true", "false").astype(object)
    elif a.dtype.kind in "iu":
        lo, hi = (int(a.min()), int(a.max())) if len(a) else (0, 0)
        if hi - lo <= 1_000_000:  # counts and bins: a lookup table of their texts
            out = np.array([str(i) for i in range(lo, hi + 1)], dtype=object)[a.astype(np.int64) - lo]
        else:
            out = np.array(list(map(str, a.tolist())), dtype=object)
    elif a.dtype.kind == "f":
        a = a.astype(np.float64)
        out = np.array(list(map(float.__repr__, a.tolist())), dtype=object)
        bad = ~np.isfinite(a)
        if bad.any():
            out[bad] = "null"
    else:  # text (or other objects): each distinct value encoded once
        objs = a.astype(object)
        enc = {v: "null" if v is None or (isinstance(v, float) and not np.isfinite(v))
               else json.dumps(v, ensure_ascii=False) for v in pd.unique(objs)}
        out = np.array([enc[v] for v in objs.tolist()], dtype=object)
    if null is not None and len(out):
        out[np.asarray(null, bool)] = "null"
    return out.tolist()


def _rows(cells: pd.DataFrame, only_nonzero: bool) -> np.ndarray:
    if not only_nonzero:
        return np.arange(len(cells))
    keep = (cells["count"].to_numpy() > 0) | (cells["gi_bin"].to_numpy() != 0)
    return np.flatnonzero(keep)


def _head(extra: dict) -> str:
    return json.dumps({"type": "FeatureCollection", **extra}, ensure_ascii=False, separators=(",", ":"),
                      default=str)[:-1]


def _column(v: np.ndarray, null) -> tuple[str, list]:
    """``(conversion, values)`` of one property column for the ``%``-format of the features:
    ``%d`` with Python ints, ``%d.0`` with integral floats, ``%r`` with finite floats (``float.__repr__``,
    as ``json.dumps``), else ``%s`` with the JSON texts of :func:`json_values`."""
    if null is None or not null.any():
        if v.dtype.kind in "iu":
            return "%d", v.tolist()
        if v.dtype.kind == "f" and np.isfinite(v).all():
            v = v.astype(np.float64)
            whole = (np.abs(v) < 1e15).all() and (v == np.rint(v)).all() and not np.signbit(v[v == 0]).any()
            return ("%d.0", v.astype(np.int64).tolist()) if whole else ("%r", v.tolist())
    return "%s", json_values(v, null)


def hotspot_body(cells: pd.DataFrame, *, only_nonzero: bool = True, k_min: int = 0, meta: dict | None = None,
                 precision: float = 1e-5) -> bytes:
    """A hot-spot table as GeoJSON FeatureCollection bytes, encoded column-wise.

    Parameters
    ----------
    cells : DataFrame
        A hot-spot table (:func:`hotspot.surface.hotspot_table` columns: ``h3`` uint64, ``count``,
        ``weighted``, ``density`` per km², ``gi_z``, ``gi_p``, ``gi_q``, ``gi_bin``), one row per
        cell of the city at one resolution.
    only_nonzero : bool
        Drop cells with no incidents and Gi* bin 0.
    k_min : int
        Cells with a count below it get ``count``, ``weighted`` and ``density`` null (0: none).
    meta : dict, optional
        The collection's ``meta`` member.
    precision : float
        Coordinate grid of the hexagons in degrees.

    Returns
    -------
    bytes
        UTF-8 GeoJSON; the same bytes as :func:`hotspot_body_per_feature`.
    """
    allc = cells["h3"].to_numpy(np.uint64)
    rows = _rows(cells, only_nonzero)
    if not len(rows):
        heads = np.zeros(0, dtype=object)
    elif len(allc) > 1 and not np.all(allc[1:] > allc[:-1]):
        uniq = np.unique(allc)
        heads = cell_feature_heads(uniq, precision)[np.searchsorted(uniq, allc[rows])]
    else:
        heads = cell_feature_heads(allc, precision)[rows]
    low = (cells["count"].to_numpy()[rows] < k_min) if k_min else None
    fmt, cols = ["%s"], [heads.tolist()]
    for c in PROPERTIES:
        if c not in cells.columns:
            continue
        v = cells[c].to_numpy()[rows]
        if c in ROUND:
            v = np.round(v.astype(float), ROUND[c])
        conv, vals = _column(v, low if c in HIDDEN else None)
        fmt.append("," + json.dumps(c).replace("%", "%%") + ":" + conv)
        cols.append(vals)
        if c == "gi_bin":
            b = v.astype(np.int64)
            lut = {x: json.dumps(GI_BINS.get(x, "not_significant")) for x in np.unique(b).tolist()}
            fmt.append(',"gi_class":%s')
            cols.append(list(map(lut.__getitem__, b.tolist())))
    feats = ",".join(map(("".join(fmt) + "}}").__mod__, zip(*cols, strict=True)))
    return "".join((_head({"meta": meta} if meta is not None else {}), ',"features":[', feats, "]}")).encode("utf-8")


def hotspot_body_per_feature(cells: pd.DataFrame, *, only_nonzero: bool = True, k_min: int = 0,
                             meta: dict | None = None, precision: float = 1e-5) -> bytes:
    """The previous encoder of :func:`hotspot_body` (same arguments, same bytes): a properties
    DataFrame, then one dict and one ``json.dumps`` per feature
    (:func:`api.routers._geo.feature_collection`).  Kept as the reference for tests and the benchmark."""
    from qauipsiz.api.routers._geo import cell_geojson, feature_collection
    from qauipsiz.hotspot.h3grid import cells_to_boundaries

    t = cells.iloc[_rows(cells, only_nonzero)]
    props = pd.DataFrame({"h3": [format(int(x), "x") for x in t["h3"].to_numpy(np.uint64)]})
    for c in PROPERTIES:
        if c in t.columns:
            props[c] = t[c].to_numpy()
    for c, d in ROUND.items():
        if c in props:
            props[c] = props[c].astype(float).round(d)
    if "gi_bin" in props:
        props["gi_class"] = [GI_BINS.get(int(b), "not_significant") for b in props["gi_bin"]]
    props = props.astype(object)
    if k_min:
        low = t["count"].to_numpy() < k_min
        props.loc[low, [c for c in HIDDEN if c in props]] = None
    allc = cells["h3"].to_numpy(np.uint64)
    gj = cell_geojson(allc, precision) if np.all(allc[1:] > allc[:-1]) else None
    if gj is not None:
        gj = gj[np.searchsorted(allc, t["h3"].to_numpy(np.uint64))]
    return feature_collection(None if gj is not None else cells_to_boundaries(t["h3"].to_numpy(np.uint64)),
                              props, precision=precision, extra={"meta": meta} if meta is not None else None,
                              geojson=gj)
