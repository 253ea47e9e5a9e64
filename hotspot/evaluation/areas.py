"""Treated area, displacement ring and comparison cells of one intervention (metric geometry).

Everything here works in the city's UTM CRS (metres).  The treated area is the user's polygons,
or point features buffered by ``radius_m``; the ring is the band around it where displacement or
diffusion of benefit is looked for; comparison cells are H3 cells that touch neither.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import shapely
from scipy import sparse

from qauipsiz.hotspot.cities import City
from qauipsiz.hotspot.h3grid import cells_to_latlng, grid_disk_pairs, latlng_to_cells
from qauipsiz.hotspot.timeutil import is_dark

CELL_RES = 9  # H3 resolution of the comparison cells (about 0.1 km², a 150 m disc is 0.07 km²)
NEIGHBOUR_K = 2  # comparison cells are matched on the mean of their k-ring surroundings (18 cells)


@dataclass(frozen=True)
class Template:
    """One site's shape around its anchor, metres (the origin is the anchor).

    A disc site (a point feature) is a disc of ``radius`` with its ring between ``inner`` and
    ``outer``; a polygon site (one part of a drawn area, anchored at its centroid) is ``treated``
    with its ring ``ring_outer − treated``.  Pseudo-treated sites are this template moved to
    another anchor (:mod:`qauipsiz.hotspot.evaluation.sites`).
    """

    kind: str  # "disc" or "poly"
    radius: float = 0.0  # disc radius, metres
    inner: float = 0.0  # disc: the ring starts here, max(ring_m[0], radius)
    outer: float = 0.0  # disc: the ring ends here, ring_m[1]
    treated: shapely.Geometry | None = None  # poly: the part, anchor at the origin
    ring_outer: shapely.Geometry | None = None  # poly: the part grown by ring_m[1] - ring_m[0]
    reach: float = 0.0  # farthest point of the template (its ring's outer edge) from the anchor, metres

    @property
    def key(self) -> tuple:
        """Hashable identity (templates with equal keys count the same events)."""
        if self.kind == "disc":
            return ("disc", self.radius, self.inner, self.outer)
        return ("poly", shapely.to_wkb(self.treated), shapely.to_wkb(self.ring_outer))


@dataclass(frozen=True)
class Areas:
    """The treated area and its ring, in metres (UTM of the city)."""

    treated: shapely.Geometry
    ring: shapely.Geometry
    exclusion: shapely.Geometry  # treated ∪ ring grown by one cell: comparison cells must not touch it
    radius_m: float
    ring_m: tuple[float, float]
    site_xy: np.ndarray = field(default_factory=lambda: np.empty((0, 2)))  # anchors of the sites, metres
    site_templates: tuple[Template, ...] = ()  # one per anchor
    other: shapely.Geometry | None = None  # other interventions' areas and rings: no comparison, no placebo site


def _to_metric(geom, city: City):
    return shapely.transform(geom, lambda xy: np.c_[city.to_metric(xy[:, 0], xy[:, 1])])


def build_areas(treated, city: City, radius_m: float = 150.0,
                ring_m: tuple[float, float] = (150.0, 400.0), exclude=None) -> Areas:
    """Treated area and ring in metres from a WGS84 geometry.

    Parameters
    ----------
    treated : shapely geometry
        WGS84 (lon, lat).  Points or MultiPoints are buffered by ``radius_m`` metres; Polygons and
        MultiPolygons are used as drawn.  A GeometryCollection may mix both.
    city : City
        Gives the metric CRS.
    radius_m : float
        Buffer radius around points, metres.
    ring_m : (float, float)
        Inner and outer distance of the ring, metres.  Around points the distances are from the
        points (150–400 m by default); around polygons the ring is ``ring_m[1] - ring_m[0]`` metres
        wide, from the polygon's edge outwards.
    exclude : shapely geometry, optional
        WGS84 places of *other* interventions (points or polygons, given and ringed like
        ``treated``): no comparison cell and no pseudo-treated site touches them or their rings, so
        their effects do not leak into the comparison or the placebo distribution.

    Returns
    -------
    Areas
    """
    if treated is None or shapely.is_empty(treated):
        raise ValueError("treated: empty geometry")
    lo, hi = float(ring_m[0]), float(ring_m[1])
    if not (0 <= lo < hi):
        raise ValueError(f"ring_m {ring_m}: need 0 <= inner < outer metres")
    if not radius_m > 0:
        raise ValueError(f"radius_m {radius_m}: must be > 0 metres")
    parts = shapely.get_parts(treated)
    while any(shapely.get_type_id(parts) == 7) or any(shapely.get_type_id(parts) >= 4):
        parts = shapely.get_parts(parts)
    parts = _to_metric(parts, city)
    tid = shapely.get_type_id(parts)
    pts = parts[tid == 0]
    polys = parts[(tid == 3)]
    other = parts[(tid != 0) & (tid != 3)]
    if len(other):
        raise ValueError(f"treated: geometry type {shapely.get_type_id(other[0])} not allowed "
                         "(use points or polygons)")
    pieces_t, pieces_out, pieces_in = [], [], []
    anchors: list[np.ndarray] = []
    templates: list[Template] = []
    if len(pts) and hi <= radius_m:
        raise ValueError(f"ring_m {ring_m}: the ring's outer edge must lie beyond radius_m {radius_m:g}")
    if len(pts):
        pieces_t.append(shapely.union_all(shapely.buffer(pts, radius_m)))
        pieces_out.append(shapely.union_all(shapely.buffer(pts, hi)))
        pieces_in.append(shapely.union_all(shapely.buffer(pts, max(lo, radius_m))))
        disc = Template("disc", radius=float(radius_m), inner=max(lo, float(radius_m)), outer=hi, reach=hi)
        xy = np.unique(shapely.get_coordinates(pts), axis=0)
        anchors.append(xy)
        templates += [disc] * len(xy)
    if len(polys):
        poly = shapely.make_valid(shapely.union_all(polys))
        pieces_t.append(poly)
        pieces_out.append(shapely.buffer(poly, hi - lo))
        pieces_in.append(poly)
        parts = [g for g in shapely.get_parts(poly) if shapely.get_type_id(g) == 3 and shapely.area(g) > 0]
        for g in parts:
            c = shapely.centroid(g)
            cx, cy = shapely.get_x(c), shapely.get_y(c)
            tg = shapely.transform(g, lambda xy, cx=cx, cy=cy: xy - [cx, cy])
            ro = shapely.buffer(tg, hi - lo)
            templates.append(Template("poly", treated=tg, ring_outer=ro,
                                      reach=float(shapely.hausdorff_distance(shapely.Point(0, 0), ro))))
            anchors.append(np.array([[cx, cy]]))
    t = shapely.union_all(pieces_t)
    if shapely.area(t) <= 0:
        raise ValueError("treated: the area is empty after buffering")
    ring = shapely.difference(shapely.union_all(pieces_out), shapely.union_all([*pieces_in, t]))
    other = None
    if exclude is not None and not shapely.is_empty(exclude):
        o = build_areas(exclude, city, radius_m, ring_m)
        other = shapely.union(o.treated, o.ring)
    excl = shapely.buffer(shapely.union_all([t, ring] + ([other] if other is not None else [])), 200.0)
    shapely.prepare(t)
    shapely.prepare(ring)
    shapely.prepare(excl)
    return Areas(t, ring, excl, float(radius_m), (lo, hi), np.vstack(anchors), tuple(templates), other)


@dataclass
class EventTable:
    """Incidents ready for counting: metric coordinates, UTC time in days, H3 cell index."""

    x: np.ndarray
    y: np.ndarray
    t_days: np.ndarray  # days since 1970-01-01 UTC
    cell: np.ndarray  # index into ``cells``
    cells: np.ndarray  # uint64 H3 cells (res CELL_RES) that hold at least one event
    cell_x: np.ndarray
    cell_y: np.ndarray
    city: City
    neighbours: sparse.csr_matrix  # (cells x cells) 1 / (cells in the k-ring but the cell itself)
    cache: dict = field(default_factory=dict, repr=False)  # candidate sites and their events (sites.py)

    @property
    def t_min(self) -> float:
        """First event, days since epoch."""
        return float(self.t_days.min())

    @property
    def t_max(self) -> float:
        """Last event, days since epoch."""
        return float(self.t_days.max())


def _utc(values, what: str) -> pd.Series:
    s = pd.Series(values)
    try:
        if not isinstance(s.dtype, pd.DatetimeTZDtype):
            s = pd.to_datetime(s, utc=True, format="mixed") if s.dtype == object else pd.to_datetime(s, utc=True)
        else:
            s = s.dt.tz_convert("UTC")
    except (ValueError, TypeError) as e:
        raise ValueError(f"{what}: not a date/time ({e})") from e
    return s


def prepare_events(events: pd.DataFrame, city: City, categories=None, dark_only: bool = False) -> EventTable:
    """Select and index the incidents once (reuse it for many evaluations).

    Parameters
    ----------
    events : DataFrame
        Columns ``occurred_at`` (tz-aware, or naive = UTC), ``lat``, ``lon`` (degrees) and, when
        ``categories`` is given, ``category``; ``is_dark`` (bool) is used when present and
        ``dark_only``.  Other columns are ignored; rows without time or coordinates are dropped.
    city : City
    categories : list of str, optional
        Keep only these categories.
    dark_only : bool
        Keep only incidents in the dark (sun below −6°, ``hotspot.timeutil.is_dark``).

    Returns
    -------
    EventTable
    """
    missing = [c for c in ("occurred_at", "lat", "lon") if c not in events.columns]
    if missing:
        raise ValueError(f"events: missing column(s) {', '.join(missing)} (need occurred_at, lat, lon)")
    df = events
    if isinstance(categories, str):
        categories = [categories]
    if categories:
        if "category" not in df.columns:
            raise ValueError("events: no 'category' column to select categories from")
        df = df[df["category"].astype(str).isin([str(c) for c in categories]).to_numpy(bool)]
    lat = pd.to_numeric(df["lat"], errors="coerce").to_numpy(float)
    lon = pd.to_numeric(df["lon"], errors="coerce").to_numpy(float)
    occ = _utc(df["occurred_at"].to_numpy(), "occurred_at")
    ok = np.isfinite(lat) & np.isfinite(lon) & occ.notna().to_numpy()
    lat, lon, occ = lat[ok], lon[ok], occ[ok].reset_index(drop=True)
    if dark_only and len(lat):
        if "is_dark" in df.columns and df["is_dark"].notna().all():
            dark = df["is_dark"].to_numpy(bool)[ok]
        else:
            dark = is_dark(lat, lon, occ)
        lat, lon, occ = lat[dark], lon[dark], occ[dark].reset_index(drop=True)
    if len(lat) == 0:
        raise ValueError("events: no incident left after the category/dark selection")
    x, y = city.to_metric(lon, lat)
    t = occ.to_numpy("datetime64[ns]").astype(np.int64) / 86_400e9
    h = latlng_to_cells(lat, lon, CELL_RES)
    cells, cell = np.unique(h, return_inverse=True)
    clat, clon = cells_to_latlng(cells)
    cx, cy = city.to_metric(clon, clat)
    return EventTable(np.asarray(x, float), np.asarray(y, float), np.asarray(t, float), cell.astype(np.int64),
                      cells, np.asarray(cx, float), np.asarray(cy, float), city, _neighbour_matrix(cells))


def _neighbour_matrix(cells: np.ndarray) -> sparse.csr_matrix:
    """Row-normalised adjacency: row i averages the cells 1..NEIGHBOUR_K steps from cell i (not i).

    Cells without incidents are not in ``cells`` and count as zero in the mean."""
    src, dst = grid_disk_pairs(cells, NEIGHBOUR_K)
    n_ring = np.bincount(np.searchsorted(cells, src), minlength=len(cells)) - 1
    keep = src != dst
    src, dst = src[keep], dst[keep]
    j = np.searchsorted(cells, dst)
    j = np.minimum(j, len(cells) - 1)
    hit = cells[j] == dst
    i = np.searchsorted(cells, src[hit])
    w = 1.0 / np.maximum(n_ring[i], 1)
    return sparse.csr_matrix((w, (i, j[hit])), shape=(len(cells), len(cells)))


def comparison_mask(ev: EventTable, areas: Areas) -> np.ndarray:
    """Boolean per cell of ``ev.cells``: True where the cell centre is clear of treated area and ring.

    The exclusion zone is the treated area and ring grown by 200 m (more than an H3 res-9 cell's
    circumradius, ~174 m), so no comparison cell overlaps either.
    """
    return ~shapely.contains_xy(areas.exclusion, ev.cell_x, ev.cell_y)


def in_area(ev: EventTable, geom) -> np.ndarray:
    """Boolean per event: inside ``geom`` (metric)."""
    return shapely.contains_xy(geom, ev.x, ev.y)


LAYER_ID = {"cameras": "camera_id", "lamps": "lamp_id", "sos_buttons": "sos_id"}


def select_features(layer, name: str, ids=None, installed=None):
    """Point features of one layer and their installation date.

    Parameters
    ----------
    layer : GeoDataFrame
        The layer (any CRS; returned geometry is WGS84).
    name : str
        ``cameras``, ``lamps`` or ``sos_buttons`` (names the id column: ``camera_id`` …).
    ids : list of int, optional
        Feature ids to take; by default the features whose ``installed`` equals ``installed``.
    installed : str, optional
        Installation date (YYYY-MM-DD).  When None, the features' own ``installed`` column must
        give exactly one date.

    Returns
    -------
    (shapely geometry, str)
        The union of the chosen points (WGS84) and the installation date.
    """
    if name not in LAYER_ID:
        raise ValueError(f"layer {name!r}: use one of {', '.join(LAYER_ID)}")
    if layer is None or len(layer) == 0:
        raise ValueError(f"layer {name!r}: no features in this city")
    g = layer.to_crs(4326) if layer.crs is not None else layer
    col = LAYER_ID[name] if LAYER_ID[name] in g.columns else None
    has_inst = "installed" in g.columns
    inst_col = (pd.to_datetime(g["installed"], errors="coerce").dt.strftime("%Y-%m-%d") if has_inst
                else pd.Series(None, index=g.index, dtype=object))
    if ids:
        key = g[col] if col else pd.Series(range(len(g)), index=g.index)
        want = [int(i) for i in ids]
        sel = g[key.isin(want).to_numpy()]
        missing = sorted(set(want) - set(key[key.isin(want)].astype(int)))
        if missing:
            raise ValueError(f"ids: {name} {', '.join(map(str, missing[:10]))} not found")
    elif installed is not None and has_inst:
        day = pd.Timestamp(installed).strftime("%Y-%m-%d")
        sel = g[(inst_col == day).to_numpy()]
        if len(sel) == 0:
            raise ValueError(f"installed {day}: no {name} feature has that installed date; give --ids")
    elif has_inst and inst_col.notna().any():
        days = sorted(inst_col.dropna().unique())
        if len(days) > 1:
            raise ValueError(f"installed: {name} were installed on several dates ({', '.join(days[:5])}); "
                             "choose one or give ids")
        sel = g[(inst_col == days[0]).to_numpy()]
    else:
        raise ValueError(f"ids: the {name} layer has no installed dates; give the feature ids")
    if installed is None:
        days = sorted(inst_col[sel.index].dropna().unique())
        if len(days) != 1:
            raise ValueError(f"installed: the chosen {name} have {len(days)} installed dates; give the date")
        installed = days[0]
    pts = sel.geometry.values
    if not all(shapely.get_type_id(pts) == 0):
        raise ValueError(f"layer {name!r}: features must be points")
    return shapely.union_all(pts), str(pd.Timestamp(installed).date())
