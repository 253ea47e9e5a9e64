"""Street pieces: the parts of one street entity that lie within :data:`PIECE_GAP_M` of each other.

A name that reaches a street in several far-apart pieces cannot say which piece is meant; the
matcher then answers with the hinted district's piece or calls the name ambiguous.
:func:`street_pieces` derives the gazetteer's ``pieces`` and ``piece_districts`` tables from its
``streets`` table.
"""


import numpy as np
import pandas as pd
import shapely

from qauipsiz.hotspot.cities import get_city

PIECE_GAP_M = 1000.0
"""Parts of one street entity more than this far apart (metres) are separate *pieces*: a name that
only reaches such a street cannot say which piece is meant (namesakes in different quarters or in a
suburb, e.g. Мұстафа Шоқай көшесі west of the city, outside its districts, and улица Мустафа Шокай
in Saraishyk, 20 km apart)."""


def _rep_point(geom: shapely.Geometry) -> tuple[float, float, float]:
    """Point on ``geom`` nearest its vertex centroid, and the farthest vertex's distance (m)."""
    xy = shapely.get_coordinates(geom)
    c = shapely.points(xy.mean(axis=0))
    p = shapely.ops.nearest_points(geom, c)[0] if not geom.is_empty else c
    px, py = p.x, p.y
    r = float(np.sqrt(((xy - [px, py]) ** 2).sum(axis=1)).max()) if len(xy) else 0.0
    return px, py, r


def _pieces_of(geom: shapely.Geometry, gap_m: float) -> list[shapely.Geometry]:
    """Split a street's geometry into pieces: parts closer than ``gap_m`` are joined (single linkage)."""
    parts = shapely.get_parts(geom)
    parts = parts[~shapely.is_empty(parts)]
    if len(parts) <= 1:
        return [geom] if len(parts) else []
    a, b = shapely.STRtree(parts).query(parts, predicate="dwithin", distance=gap_m)
    root = list(range(len(parts)))

    def find(i):
        while root[i] != i:
            root[i] = root[root[i]]
            i = root[i]
        return i

    for i, j in zip(a.tolist(), b.tolist(), strict=True):
        ri, rj = find(i), find(j)
        if ri != rj:
            root[max(ri, rj)] = min(ri, rj)
    groups: dict[int, list[int]] = {}
    for i in range(len(parts)):
        groups.setdefault(find(i), []).append(i)
    out = []
    for _r, ix in sorted(groups.items()):  # ordered by each piece's first part
        ps = parts[ix]
        if len(ps) == 1:
            out.append(ps[0])
        elif all(shapely.get_type_id(ps) == 1):
            out.append(shapely.multilinestrings(list(ps)))
        else:
            out.append(shapely.union_all(ps))
    return out


def street_pieces(city: str, streets: pd.DataFrame, gap_m: float = PIECE_GAP_M) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Pieces of every street (see :class:`Gazetteer`'s ``pieces``) and their district clips.

    Parameters
    ----------
    city : str
        City registry key (UTM CRS of the ``wkb`` column, district polygons).
    streets : DataFrame
        The gazetteer's ``streets`` table (``sid``, ``wkb`` in the city's metric CRS).
    gap_m : float
        Parts farther apart than this (metres) are different pieces.

    Returns
    -------
    (pieces, piece_districts) : tuple of DataFrame
    """
    c = get_city(city)
    dist = c.districts.to_crs(c.epsg)
    dkeys = list(dist["district"])
    dgeoms = dist.geometry.values
    prow, drow = [], []
    for sid, wkb in zip(streets["sid"].astype(int), streets["wkb"], strict=True):
        geom = shapely.from_wkb(wkb)
        if geom is None or geom.is_empty:
            continue
        for k, pg in enumerate(_pieces_of(geom, gap_m)):
            px, py, r = _rep_point(pg)
            clipped = shapely.intersection(pg, dgeoms)
            hit = np.flatnonzero(~shapely.is_empty(clipped))
            prow.append((int(sid), k, px, py, r, float(pg.length), "|".join(dkeys[i] for i in hit)))
            for i in hit:
                cx, cy, cr = _rep_point(clipped[i])
                drow.append((int(sid), k, dkeys[i], cx, cy, cr, float(clipped[i].length)))
    pieces = pd.DataFrame(prow, columns=["sid", "piece", "x", "y", "uncertainty_m", "length_m", "districts"])
    pdist = pd.DataFrame(drow, columns=["sid", "piece", "district", "x", "y", "uncertainty_m", "length_m"])
    for t in (pieces, pdist):
        lo, la = c.to_wgs84(t["x"].to_numpy(float), t["y"].to_numpy(float))
        t.insert(2, "lat", np.asarray(la, float).reshape(-1))
        t.insert(3, "lon", np.asarray(lo, float).reshape(-1))
    pieces = pieces.drop(columns=["x", "y"])
    pdist = pdist.drop(columns=["x", "y"])
    pdist = pdist[["sid", "piece", "district", "lat", "lon", "uncertainty_m", "length_m"]]
    return pieces.astype({"sid": "int64", "piece": "int64"}), pdist.astype({"sid": "int64", "piece": "int64"})

