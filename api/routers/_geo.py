"""GeoJSON encoding and cached byte responses shared by the routers."""
from __future__ import annotations

import hashlib
import json
import threading

import numpy as np
import pandas as pd
import shapely
from fastapi import Request, Response

from qauipsiz.api.store.export import plain_value

GEOJSON = "application/geo+json"


def feature_collection(geoms, props: pd.DataFrame, *, precision: float = 1e-6, extra: dict | None = None,
                       geojson=None) -> bytes:
    """A GeoJSON FeatureCollection as UTF-8 bytes.

    Parameters
    ----------
    geoms : array-like of shapely geometries (EPSG:4326)
    props : DataFrame
        One row of properties per geometry.
    precision : float
        Coordinate grid in degrees (1e-6 ≈ 0.1 m); ``0`` keeps full precision.
    extra : dict, optional
        Top-level members added to the collection (e.g. ``"meta"``).
    geojson : array of str, optional
        The geometries already encoded (one GeoJSON string per row, e.g. cached per city and H3
        resolution by :func:`cell_geojson`); ``geoms`` and ``precision`` are then not used.
    """
    if geojson is not None:
        g = gj = np.asarray(geojson, dtype=object)
    else:
        g = np.asarray(geoms, dtype=object)
        if precision and len(g):
            g = shapely.set_precision(g, precision)
        gj = shapely.to_geojson(g) if len(g) else np.array([], dtype=object)
    cols = list(props.columns)
    arrays = [props[c].to_numpy(dtype=object) for c in cols]
    feats = []
    for i in range(len(g)):
        p = {c: plain_value(a[i]) for c, a in zip(cols, arrays, strict=True)}
        feats.append('{"type":"Feature","geometry":' + (gj[i] or "null") + ',"properties":'
                     + json.dumps(p, ensure_ascii=False, separators=(",", ":")) + "}")
    head = {"type": "FeatureCollection"}
    if extra:
        head.update(extra)
    head_s = json.dumps(head, ensure_ascii=False, separators=(",", ":"), default=str)[:-1]
    return (head_s + ',"features":[' + ",".join(feats) + "]}").encode("utf-8")


_CELL_JSON: dict = {}
_CELL_JSON_LOCK = threading.Lock()


def cell_geojson(cells, precision: float) -> np.ndarray:
    """GeoJSON strings of H3 hexagons ``cells`` (uint64), as :func:`feature_collection` would
    encode them at ``precision``; the encoding of each sorted cell set (a city's filled cells at
    one resolution) is kept, the last 8 sets, so a city's tables reuse it."""
    from qauipsiz.hotspot.h3grid import cells_to_boundaries

    c = np.asarray(cells, np.uint64)
    key = (len(c), int(c[0]) if len(c) else 0, int(c[-1]) if len(c) else 0, hashlib.sha1(c.tobytes()).hexdigest(),
           precision)
    hit = _CELL_JSON.get(key)
    if hit is None:
        g = cells_to_boundaries(c)
        if precision and len(g):
            g = shapely.set_precision(g, precision)
        hit = shapely.to_geojson(g) if len(g) else np.array([], dtype=object)
        with _CELL_JSON_LOCK:
            while len(_CELL_JSON) >= 8:
                _CELL_JSON.pop(next(iter(_CELL_JSON)))
            _CELL_JSON[key] = hit
    return hit


def etag_for(*parts) -> str:
    return '"' + hashlib.sha1("\x1f".join(map(str, parts)).encode()).hexdigest()[:20] + '"'


def cached_bytes(request: Request, body: bytes, media_type: str, etag: str, *, public: bool = False,
                 max_age: int = 60, filename: str | None = None) -> Response:
    """A byte response with an ETag; 304 when the client already holds it."""
    cc = f"{'public' if public else 'private'}, max-age={max_age}"
    headers = {"ETag": etag, "Cache-Control": cc, "Vary": "X-API-Key, Authorization"}
    if filename:
        headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)
