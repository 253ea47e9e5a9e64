"""The body of ``GET /cities/{city}/hotspots.geojson``: a hot-spot table as a GeoJSON FeatureCollection.

:func:`hotspot_body` writes it column-wise: the start of every feature (its hexagon's GeoJSON and
its ``h3`` id) is encoded once per city cell set and precision and cached as one byte buffer
(:func:`cell_feature_heads`); per request only the numbers are formatted, one column at a time,
by numba (:func:`_fmt_numbers`: integers, and floats that are exact multiples of 10**-d, written as
``float.__repr__`` writes them; other floats through ``repr``), and the features are interleaved
into one output buffer (:func:`_interleave`).  No per-feature dict, no ``json.dumps`` per feature.

:func:`hotspot_body_per_feature` is the previous encoder (a properties DataFrame, one dict and one
``json.dumps`` per feature through :func:`api.routers._geo.feature_collection`); it is kept as the
reference: both give the same bytes (``tests/national/test_serve.py``), and ``bench/_national_serve.py``
times them in the same run.
"""
from __future__ import annotations

import hashlib
import json
import threading

import numba
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


def cell_feature_heads(cells, precision: float = 1e-5) -> tuple[np.ndarray, np.ndarray]:
    """The start of each cell's feature, ``{"type":"Feature","geometry":{…},"properties":{"h3":"…"``,
    as UTF-8 bytes: ``(buffer uint8, offsets int64)``, cell ``i`` at ``buffer[offsets[i]:offsets[i + 1]]``.

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
    c = np.asarray(cells, np.uint64)
    key = (len(c), hashlib.sha1(c.tobytes()).hexdigest(), precision)
    hit = _HEADS.get(key)
    if hit is None:
        import shapely

        from qauipsiz.hotspot.h3grid import cells_to_boundaries

        g = cells_to_boundaries(c) if len(c) else np.array([], dtype=object)
        if precision and len(g):
            g = shapely.set_precision(g, precision)
        gj = shapely.to_geojson(g).tolist() if len(g) else []
        heads = ['{"type":"Feature","geometry":' + (x or "null") + ',"properties":{"h3":"' + format(h, "x") + '"'
                 for x, h in zip(gj, c.tolist(), strict=True)]
        hit = _texts_to_buffer(heads)
        with _HEADS_LOCK:
            while len(_HEADS) >= _HEADS_MAX:
                _HEADS.pop(next(iter(_HEADS)))
            _HEADS[key] = hit
    return hit


def _texts_to_buffer(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """``(UTF-8 bytes as uint8, offsets int64)`` of a list of str."""
    joined = "".join(texts).encode("utf-8")
    lens = np.fromiter(map(len, texts), np.int64, len(texts))
    if len(joined) != int(lens.sum()):  # not all ASCII: byte lengths one by one
        lens = np.fromiter((len(t.encode("utf-8")) for t in texts), np.int64, len(texts))
    off = np.zeros(len(texts) + 1, np.int64)
    np.cumsum(lens, out=off[1:])
    return np.frombuffer(joined, np.uint8), off


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


@numba.njit(cache=True, nogil=True)
def _put_int(out, pos, v):
    """Write the decimal digits of ``v`` (int64, ≥ 0) at ``out[pos]``; the new position."""
    if v == 0:
        out[pos] = 48
        return pos + 1
    n = 0
    t = v
    while t > 0:
        n += 1
        t //= 10
    for j in range(n - 1, -1, -1):
        out[pos + j] = 48 + v % 10
        v //= 10
    return pos + n


@numba.njit(cache=True, nogil=True)
def _fmt_numbers(vals, k, null, d, as_int, out, off):
    """JSON texts of one numeric column into ``out`` (offsets ``off``), as ``json.dumps`` writes them.

    ``as_int``: ``k`` are the integers themselves.  Else ``vals`` are floats rounded to ``d``
    decimals (0–5) and ``k = vals * 10**d`` exactly as integers: ``float.__repr__`` of such a value
    (|value| < 1e9) is its decimal with trailing zeros dropped and at least one digit after the
    point, or ``Ne-05`` below 1e-4; NaN, ±inf and ``null`` positions are ``null``.
    """
    p10 = 10 ** d
    pos = 0
    for i in range(len(k)):
        off[i] = pos
        if null[i] or (not as_int and not np.isfinite(vals[i])):
            out[pos:pos + 4] = np.array([110, 117, 108, 108], np.uint8)  # null
            pos += 4
            continue
        ki = k[i]
        neg = ki < 0 or (not as_int and ki == 0 and np.signbit(vals[i]))
        if neg:
            out[pos] = 45  # -
            pos += 1
        ak = -ki if ki < 0 else ki
        if as_int:
            pos = _put_int(out, pos, ak)
        elif d == 5 and 0 < ak < 10:  # below 1e-4: repr's exponent form
            out[pos] = 48 + ak
            out[pos + 1:pos + 5] = np.array([101, 45, 48, 53], np.uint8)  # e-05
            pos += 5
        else:
            pos = _put_int(out, pos, ak // p10)
            out[pos] = 46  # .
            pos += 1
            fp = ak % p10
            if fp == 0:
                out[pos] = 48
                pos += 1
            else:
                nd = d
                while fp % 10 == 0:
                    fp //= 10
                    nd -= 1
                for j in range(nd - 1, -1, -1):
                    out[pos + j] = 48 + fp % 10
                    fp //= 10
                pos += nd
    off[len(k)] = pos


@numba.njit(cache=True, nogil=True)
def _copy(out, pos, src, a, b):
    """Copy ``src[a:b]`` to ``out[pos:]``; the new position.  A loop over two views of known
    length: LLVM vectorises it (~10x faster than indexing ``out[pos]`` byte by byte)."""
    n = b - a
    dst = out[pos:pos + n]
    s = src[a:b]
    for j in range(n):
        dst[j] = s[j]
    return pos + n


@numba.njit(cache=True, nogil=True)
def _interleave(head_buf, head_off, head_idx, key_buf, key_off, val_buf, val_off, out, pos):
    """Features ``head + Σ (key + value) + "}}"`` joined by commas into ``out`` from ``pos``; the
    position after them."""
    ncol = val_off.shape[0]
    for i in range(len(head_idx)):
        if i:
            out[pos] = 44  # ,
            pos += 1
        h = head_idx[i]
        pos = _copy(out, pos, head_buf, head_off[h], head_off[h + 1])
        for c in range(ncol):
            pos = _copy(out, pos, key_buf, key_off[c], key_off[c + 1])
            pos = _copy(out, pos, val_buf, val_off[c, i], val_off[c, i + 1])
        out[pos] = 125  # }
        out[pos + 1] = 125
        pos += 2
    return pos


def _column(v: np.ndarray, null: np.ndarray | None, decimals: int | None) -> tuple[np.ndarray, np.ndarray]:
    """One property column as JSON texts ``(uint8 buffer, offsets)``: integers and floats that are
    exact multiples of 10**-decimals (0–5) below 1e9 by the numba formatter, anything else
    (non-integral weights, text) by :func:`json_values`.  Same texts either way."""
    n = len(v)
    nul = np.zeros(n, np.bool_) if null is None else np.asarray(null, np.bool_)
    out = np.empty(n * 24 + 8, np.uint8)
    off = np.empty(n + 1, np.int64)
    if v.dtype.kind in "iu" and (not n or (int(v.max()) < 2**62 and int(v.min()) > -(2**62))):
        _fmt_numbers(np.zeros(n), v.astype(np.int64), nul, 0, True, out, off)
        return out[:off[-1]], off
    if v.dtype.kind == "f":
        f = v.astype(np.float64)
        ok = np.isfinite(f) & ~nul
        for d in range(0 if decimals is None else decimals, 6):
            k = np.rint(f * 10.0 ** d)
            if (np.abs(f[ok]) < 1e9).all() and (k[ok] / 10.0 ** d == f[ok]).all():
                _fmt_numbers(f, np.where(ok, k, 0).astype(np.int64), nul, d, False, out, off)
                return out[:off[-1]], off
            if decimals is None:
                break
    return _texts_to_buffer(json_values(v, null))


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
    head = _head({"meta": meta} if meta is not None else {}).encode("utf-8") + b',"features":['
    if not len(rows):
        return head + b"]}"
    if len(allc) > 1 and not np.all(allc[1:] > allc[:-1]):
        uniq = np.unique(allc)
        (hb, ho), idx = cell_feature_heads(uniq, precision), np.searchsorted(uniq, allc[rows])
    else:
        (hb, ho), idx = cell_feature_heads(allc, precision), rows
    low = (cells["count"].to_numpy()[rows] < k_min) if k_min else None
    keys, bufs, offs = [], [], []
    for c in PROPERTIES:
        if c not in cells.columns:
            continue
        v = cells[c].to_numpy()[rows]
        if c in ROUND:
            v = np.round(v.astype(float), ROUND[c])
        keys.append("," + json.dumps(c) + ":")
        b, o = _column(v, low if c in HIDDEN else None, ROUND.get(c, 0) if v.dtype.kind == "f" else None)
        bufs.append(b)
        offs.append(o)
        if c == "gi_bin":
            b_ = v.astype(np.int64)
            lut = {x: json.dumps(GI_BINS.get(x, "not_significant")) for x in np.unique(b_).tolist()}
            keys.append(',"gi_class":')
            b, o = _texts_to_buffer(list(map(lut.__getitem__, b_.tolist())))
            bufs.append(b)
            offs.append(o)
    kb, ko = _texts_to_buffer(keys)
    base = np.cumsum([0] + [len(b) for b in bufs[:-1]])
    val_off = np.stack([o + s for o, s in zip(offs, base, strict=True)]) if offs else np.zeros((0, len(rows) + 1),
                                                                                                np.int64)
    val_buf = np.concatenate(bufs) if bufs else np.zeros(0, np.uint8)
    size = len(head) + int((ho[idx + 1] - ho[idx]).sum()) + len(rows) * (int(ko[-1]) + 3) + int(val_buf.size) + 2
    out = np.empty(size, np.uint8)
    out[:len(head)] = np.frombuffer(head, np.uint8)
    n = _interleave(hb, ho, np.asarray(idx, np.int64), kb, ko, val_buf, val_off, out, len(head))
    out[n:n + 2] = (93, 125)  # ]}
    return out[:n + 2].tobytes()


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
