"""Street network of a city: a sparse graph in metres, point snapping and network distances."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree

WALK_M_PER_MIN = 80.0
"""Walking speed, metres per minute (4.8 km/h, an unhurried foot patrol)."""
DRIVE_M_PER_MIN = 400.0
"""Patrol-car speed on city streets, metres per minute (24 km/h average with stops)."""
SNAP_M = 1.0
"""Street vertices closer than this (metres) are merged into one node."""
SEGMENT_M = 25.0
"""Edges are split so that no edge is longer than this (metres)."""
BRIDGE_M = 80.0
"""Dead ends are joined to another component's nearest node within this distance (metres)."""


def speed_m_per_min(mode: str) -> float:
    """Travel speed in metres per minute for ``mode`` (``"walk"`` or ``"drive"``)."""
    if mode == "walk":
        return WALK_M_PER_MIN
    if mode == "drive":
        return DRIVE_M_PER_MIN
    raise ValueError(f"travel mode {mode!r}: expected 'walk' or 'drive'")


@dataclass
class StreetNetwork:
    """An undirected street graph in a metric CRS.

    Attributes
    ----------
    x, y : numpy.ndarray
        Node coordinates in metres (the city's UTM zone, ``epsg``).
    graph : scipy.sparse.csr_matrix
        Symmetric ``n × n`` matrix of edge lengths in metres (0 = no edge).
    epsg : int
        EPSG code of ``x, y``.
    component : numpy.ndarray
        Connected-component label of every node.
    main : int
        Label of the largest component (points are snapped onto it by default).
    """

    x: np.ndarray
    y: np.ndarray
    graph: sp.csr_matrix
    epsg: int = 0
    component: np.ndarray = field(default=None, repr=False)  # type: ignore[arg-type]  # set in __post_init__
    main: int = 0
    _trees: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        if self.component is None:
            _, self.component = connected_components(self.graph, directed=False)
            self.main = int(np.bincount(self.component).argmax()) if len(self.component) else 0

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.x)

    @property
    def degree(self) -> np.ndarray:
        """Number of distinct neighbours of every node."""
        return np.diff(self.graph.indptr)

    def _tree(self, main_only: bool):
        key = bool(main_only)
        if key not in self._trees:
            idx = np.flatnonzero(self.component == self.main) if main_only else np.arange(self.n_nodes)
            self._trees[key] = (cKDTree(np.c_[self.x[idx], self.y[idx]]), idx)
        return self._trees[key]

    def snap(self, x, y, main_only: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Nearest node of each point.

        Parameters
        ----------
        x, y : array-like
            Point coordinates in metres, in the network's CRS.
        main_only : bool
            Snap only onto the largest connected component (default), so that every snapped
            point can reach every other.

        Returns
        -------
        node : numpy.ndarray of int
            Node index per point.
        offset_m : numpy.ndarray of float
            Straight-line distance from the point to its node, metres.
        """
        x = np.atleast_1d(np.asarray(x, float))
        y = np.atleast_1d(np.asarray(y, float))
        if x.shape != y.shape:
            raise ValueError(f"snap: x and y differ in shape {x.shape} vs {y.shape}")
        bad = ~(np.isfinite(x) & np.isfinite(y))
        if bad.any():
            raise ValueError(f"snap: point {int(np.flatnonzero(bad)[0])} has a non-finite coordinate")
        tree, idx = self._tree(main_only)
        d, k = tree.query(np.c_[x, y])
        return idx[k], d

    def distances(self, sources, limit: float = np.inf, min_only: bool = False):
        """Shortest network distances (metres) from node(s) ``sources`` to all nodes.

        Thin wrapper over :func:`scipy.sparse.csgraph.dijkstra`; ``inf`` beyond ``limit`` metres.
        With ``min_only`` returns ``(dist, nearest_source)`` for the multi-source problem.
        """
        src = np.atleast_1d(np.asarray(sources, dtype=np.int64))
        if min_only:
            d, _, s = dijkstra(self.graph, directed=False, indices=src, limit=limit,
                               min_only=True, return_predecessors=True)
            return d, s
        return dijkstra(self.graph, directed=False, indices=src, limit=limit)


def from_edges(x, y, u, v, length_m=None, epsg: int = 0) -> StreetNetwork:
    """Build a :class:`StreetNetwork` from node coordinates and an edge list.

    Parameters
    ----------
    x, y : array-like
        Node coordinates, metres.
    u, v : array-like of int
        Edge end nodes.
    length_m : array-like, optional
        Edge lengths in metres; the straight-line length when omitted.  Parallel edges keep the
        shortest.
    """
    x = np.asarray(x, float)
    y = np.asarray(y, float)
    u = np.asarray(u, np.int64)
    v = np.asarray(v, np.int64)
    n = len(x)
    if len(u) and (u.min() < 0 or v.min() < 0 or u.max() >= n or v.max() >= n):
        raise ValueError(f"from_edges: edge end outside 0..{n - 1}")
    w = np.hypot(x[u] - x[v], y[u] - y[v]) if length_m is None else np.asarray(length_m, float)
    if len(w) and (~np.isfinite(w) | (w < 0)).any():
        raise ValueError(f"from_edges: edge {int(np.flatnonzero(~np.isfinite(w) | (w < 0))[0])} has a bad length")
    keep = u != v
    u, v, w = u[keep], v[keep], np.maximum(w[keep], 1e-6)  # zero would read as "no edge"
    a = np.r_[u, v]
    b = np.r_[v, u]
    ww = np.r_[w, w]
    # shortest of parallel edges: sort by length descending so the last write (the shortest) wins
    order = np.lexsort((-ww, b, a))
    a, b, ww = a[order], b[order], ww[order]
    last = np.r_[(a[1:] != a[:-1]) | (b[1:] != b[:-1]), True]
    g = sp.csr_matrix((ww[last], (a[last], b[last])), shape=(n, n))
    return StreetNetwork(x=x, y=y, graph=g, epsg=epsg)


def build_network(streets, epsg: int, snap_m: float = SNAP_M, segment_m: float = SEGMENT_M,
                  bridge_m: float = BRIDGE_M) -> StreetNetwork:
    """Street graph from line geometries: nodes at vertices, merged when within ``snap_m`` metres.

    Lines are first noded (a node wherever two lines cross, shapely ``node``), densified to a
    vertex at least every ``segment_m`` metres (so that snapped points land near where they are),
    and every dead end is joined to the nearest node of *another* connected component within
    ``bridge_m`` metres (the shipped street file holds named streets only, so unnamed links and
    the last metres of many T-junctions are missing).

    Parameters
    ----------
    streets : GeoDataFrame or GeoSeries
        LineString geometries (any CRS; reprojected to ``epsg``).  Crossing OSM ways share vertex
        coordinates, so shared vertices become junctions.
    epsg : int
        Metric CRS (the city's UTM zone).
    snap_m : float
        Merge distance for vertices, metres (default 1 m).
    segment_m : float
        Maximum edge length after densification, metres (0 disables).
    bridge_m : float
        Dead-end bridging distance, metres (0 disables).

    Returns
    -------
    StreetNetwork
        Edge lengths in metres.
    """
    import shapely

    geoms = streets.to_crs(epsg).geometry.values if hasattr(streets, "to_crs") else np.asarray(streets)
    geoms = shapely.get_parts(np.asarray(geoms))
    geoms = geoms[shapely.get_num_coordinates(geoms) >= 2]
    geoms = shapely.get_parts(shapely.node(shapely.multilinestrings(geoms)))
    if segment_m > 0:
        geoms = shapely.segmentize(geoms, segment_m)
    xy, part = shapely.get_coordinates(geoms, return_index=True)
    if len(xy) == 0:
        raise ValueError("build_network: no street vertices")
    # merge vertices within snap_m: connected components of the "close pairs" graph
    pairs = cKDTree(xy).query_pairs(snap_m, output_type="ndarray")
    m = len(xy)
    close = sp.coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(m, m)) if len(pairs) \
        else sp.coo_matrix((m, m))
    _, label = connected_components(close, directed=False)
    n = int(label.max()) + 1
    cnt = np.bincount(label, minlength=n)
    nx_ = np.bincount(label, xy[:, 0], minlength=n) / cnt
    ny_ = np.bincount(label, xy[:, 1], minlength=n) / cnt
    same = part[1:] == part[:-1]
    u = label[:-1][same]
    v = label[1:][same]
    seg = np.hypot(*(xy[1:][same] - xy[:-1][same]).T)
    net = from_edges(nx_, ny_, u, v, seg, epsg=epsg)
    if bridge_m <= 0:
        return net
    dead = np.flatnonzero(net.degree == 1)
    if len(dead) == 0:
        return net
    d, k = cKDTree(np.c_[nx_, ny_]).query(np.c_[nx_[dead], ny_[dead]], k=min(64, net.n_nodes),
                                          distance_upper_bound=bridge_m)
    d = d.reshape(len(dead), -1)
    k = k.reshape(len(dead), -1)
    valid = np.isfinite(d)
    kk = np.where(valid, k, 0)
    other = valid & (net.component[kk] != net.component[dead][:, None])
    has = other.any(1)
    bu = dead[has]
    bv = kk[has, other[has].argmax(1)]
    return from_edges(nx_, ny_, np.r_[u, bu], np.r_[v, bv],
                      np.r_[seg, np.hypot(nx_[bu] - nx_[bv], ny_[bu] - ny_[bv])], epsg=epsg)


@cache
def load_network(city: str = "astana", snap_m: float = SNAP_M) -> StreetNetwork:
    """The street network of ``city`` from :func:`hotspot.streets.load_streets` (cached)."""
    from qauipsiz.hotspot.cities import get_city
    from qauipsiz.hotspot.streets import load_streets

    return build_network(load_streets(city), get_city(city).epsg, snap_m=snap_m)


def coverage_within(net: StreetNetwork, src_xy, dst_xy, radius_m: float,
                    chunk: int = 256) -> sp.csr_matrix:
    """Which destinations lie within ``radius_m`` metres of walking/driving along the network.

    The distance is ``offset(src) + network(node_src, node_dst) + offset(dst)``, the offsets
    being the straight-line access legs to the snapped nodes.

    Parameters
    ----------
    net : StreetNetwork
    src_xy, dst_xy : array-like, shape (n, 2)
        Metric coordinates of sources (e.g. candidate sites) and destinations (demand points).
    radius_m : float
        Coverage radius along the network, metres.
    chunk : int
        Sources per Dijkstra call (bounds memory at ``chunk × n_nodes`` floats).

    Returns
    -------
    scipy.sparse.csr_matrix
        ``n_src × n_dst`` matrix whose stored values are the network distances in metres
        (explicit entries only where the distance is ≤ ``radius_m``; a zero distance is stored
        as 1e-9).
    """
    src_xy = np.asarray(src_xy, float).reshape(-1, 2)
    dst_xy = np.asarray(dst_xy, float).reshape(-1, 2)
    sn, so = net.snap(src_xy[:, 0], src_xy[:, 1], main_only=False)
    dn, do = net.snap(dst_xy[:, 0], dst_xy[:, 1], main_only=False)
    # destinations grouped by node
    order = np.argsort(dn, kind="stable")
    dn_sorted = dn[order]
    rows, cols, vals = [], [], []
    usrc, inv = np.unique(sn, return_inverse=True)
    for s0 in range(0, len(usrc), chunk):
        nodes = usrc[s0:s0 + chunk]
        d = dijkstra(net.graph, directed=False, indices=nodes, limit=radius_m)  # (k, n_nodes)
        dd = d[:, dn_sorted] + do[order][None, :]  # (k, n_dst) node-to-destination
        k_ix, j_ix = np.nonzero(dd <= radius_m)
        # expand node rows to the sources snapped onto them
        src_of = np.flatnonzero((inv >= s0) & (inv < s0 + len(nodes)))
        loc = inv[src_of] - s0
        # for each source in this chunk, entries of its node row
        per_node = np.bincount(k_ix, minlength=len(nodes))
        start = np.r_[0, np.cumsum(per_node)]
        for si, li in zip(src_of.tolist(), loc.tolist(), strict=True):
            a, b = start[li], start[li + 1]
            tot = dd[li, j_ix[a:b]] + so[si]
            ok = tot <= radius_m
            rows.append(np.full(int(ok.sum()), si))
            cols.append(order[j_ix[a:b][ok]])
            vals.append(np.maximum(tot[ok], 1e-9))
    r = np.concatenate(rows) if rows else np.zeros(0, int)
    c = np.concatenate(cols) if cols else np.zeros(0, int)
    v = np.concatenate(vals) if vals else np.zeros(0)
    return sp.csr_matrix((v, (r, c)), shape=(len(src_xy), len(dst_xy)))


def shortest_path(net: StreetNetwork, predecessors_row: np.ndarray, target: int) -> np.ndarray:
    """Node sequence from a Dijkstra source to ``target`` given that source's predecessor row."""
    path = [int(target)]
    p = predecessors_row[target]
    while p >= 0:
        path.append(int(p))
        p = predecessors_row[p]
    return np.array(path[::-1])
