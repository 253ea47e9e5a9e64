"""Street network: hand-made graphs with known walking distances, noding, bridging, snapping."""
from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import shapely

from qauipsiz.hotspot.network import build_network, coverage_within, from_edges, speed_m_per_min


def _ladder():
    """Two parallel streets 100 m apart joined by one cross street at x = 0.

        3 ---- 4 ---- 5        y = 100
        |
        0 ---- 1 ---- 2        y = 0
       x=0   x=200  x=400
    """
    x = np.array([0, 200, 400, 0, 200, 400], float)
    y = np.array([0, 0, 0, 100, 100, 100], float)
    u = [0, 1, 3, 4, 0]
    v = [1, 2, 4, 5, 3]
    return from_edges(x, y, u, v)


def test_hand_made_graph_distances():
    net = _ladder()
    d = net.distances([2])[0]
    # from node 2: back along the bottom to 0 (400 m), up 100 m, along the top
    assert d.tolist() == pytest.approx([400, 200, 0, 500, 700, 900])


def test_coverage_uses_walking_distance_not_straight_line():
    net = _ladder()
    src = np.array([[400.0, 0.0]])  # at node 2
    dst = np.array([[400.0, 100.0],  # node 5: 100 m away straight, 900 m on foot
                    [330.0, 3.0],  # 3 m off the bottom street, snaps to node 2
                    [0.0, 50.0]])  # 50 m from nodes 0 and 3
    C = coverage_within(net, src, dst, 300.0).toarray()
    assert C[0, 0] == 0  # not covered: the walk is 900 m
    # (330, 3) snaps to node 2 (70.06 m away): distance = network (0) + access leg
    assert C[0, 1] == pytest.approx(np.hypot(70, 3))
    C2 = coverage_within(net, src, dst, 1000.0).toarray()
    assert C2[0, 0] == pytest.approx(900.0)
    assert C2[0, 2] == pytest.approx(450.0)  # node 0 (400 m) + 50 m leg


def test_multi_source_min_only():
    net = _ladder()
    d, s = net.distances([0, 5], min_only=True)
    assert d.tolist() == pytest.approx([0, 200, 400, 100, 200, 0])
    assert s.tolist()[:2] == [0, 0] and s[5] == 5


def test_build_network_nodes_crossings_and_bridges_gaps():
    # two streets crossing without a shared vertex, and a third ending 30 m short of the first
    lines = [shapely.LineString([(0, 0), (200, 0)]), shapely.LineString([(100, -100), (100, 100)]),
             shapely.LineString([(150, 130), (150, 30)])]
    net = build_network(np.array(lines, dtype=object), epsg=0, segment_m=10, bridge_m=40)
    assert len(np.unique(net.component)) == 1
    a, _ = net.snap([0.0], [0.0])
    b, _ = net.snap([100.0], [100.0])
    c, _ = net.snap([150.0], [130.0])
    d = net.distances(a)[0]
    assert d[b[0]] == pytest.approx(200.0)  # 100 east to the crossing, 100 north
    assert d[c[0]] == pytest.approx(150 + 30 + 100)  # along, bridge 30 m, up the third street
    net2 = build_network(np.array(lines, dtype=object), epsg=0, segment_m=0, bridge_m=0)
    assert len(np.unique(net2.component)) == 2


def test_against_networkx_on_random_graph():
    rng = np.random.default_rng(0)
    n = 200
    x, y = rng.random(n) * 1000, rng.random(n) * 1000
    u = rng.integers(0, n, 600)
    v = rng.integers(0, n, 600)
    net = from_edges(x, y, u, v)
    G = nx.Graph()
    for a, b in zip(u, v, strict=True):
        if a != b:
            G.add_edge(int(a), int(b), weight=float(np.hypot(x[a] - x[b], y[a] - y[b])))
    ref = nx.single_source_dijkstra_path_length(G, int(u[0]))
    d = net.distances([int(u[0])])[0]
    for k, val in ref.items():
        assert d[k] == pytest.approx(val)
    assert np.isinf(d[[k for k in range(n) if k not in ref]]).all()


def test_speeds_and_errors():
    assert speed_m_per_min("walk") == 80.0
    with pytest.raises(ValueError, match="travel mode"):
        speed_m_per_min("fly")
    with pytest.raises(ValueError, match="point 1"):
        _ladder().snap([0.0, np.nan], [0.0, 0.0])
    with pytest.raises(ValueError, match="edge end"):
        from_edges([0, 1], [0, 0], [0], [5])
