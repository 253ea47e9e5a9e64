"""Blocks: polygonisation of a small street grid, sliver removal, official layer, H3 fallback."""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from qauipsiz.cpted.blocks import city_blocks, h3_blocks, polygonize_streets


def _grid(n=3, step=100.0):
    ext = n * step
    return ([shapely.LineString([(0, k * step), (ext, k * step)]) for k in range(n + 1)]
            + [shapely.LineString([(k * step, 0), (k * step, ext)]) for k in range(n + 1)])


def test_three_by_three_grid_gives_nine_square_blocks():
    b = polygonize_streets(_grid())
    assert len(b) == 9
    np.testing.assert_allclose(np.sort(b["area_m2"].to_numpy()), np.full(9, 10_000.0))
    assert b["block_id"].tolist() == list(range(9))
    cents = sorted((round(g.centroid.x), round(g.centroid.y)) for g in b.geometry)
    assert cents == [(x, y) for x in (50, 150, 250) for y in (50, 150, 250)]


def test_slivers_and_overshoots_dropped():
    lines = _grid()
    lines.append(shapely.LineString([(0, 103), (300, 103)]))  # a lane 3 m from a street: 300 m × 3 m slivers
    lines.append(shapely.LineString([(-20, 50), (0, 50)]))      # a dangling overshoot
    lines.append(shapely.LineString([(140, 140), (160, 140), (160, 160), (140, 160), (140, 140)]))  # 400 m² island
    b = polygonize_streets(lines)
    assert len(b) == 9
    assert b["area_m2"].min() > 9_000


def test_boundary_filter():
    b = polygonize_streets(_grid(), boundary=shapely.box(-1, -1, 201, 201))
    assert len(b) == 4


def test_official_layer_preferred_and_h3_fallback():
    from qauipsiz.hotspot.cities import get_city

    c = get_city("astana")
    x, y = c.to_metric(71.43, 51.13)
    poly = shapely.box(x, y, x + 200, y + 150)
    official = gpd.GeoDataFrame({"block_id": [7]}, geometry=[poly], crs=c.epsg).to_crs(4326)
    b = city_blocks(c, {"blocks": official})
    assert b["source"].iloc[0] == "official" and b["block_id"].iloc[0] == 7
    assert b["area_m2"].iloc[0] == pytest.approx(30_000, rel=1e-3)
    # no streets → H3 cells
    empty = gpd.GeoDataFrame(geometry=gpd.GeoSeries([], crs=4326))
    h = city_blocks(c, {}, streets=empty)
    assert (h["source"] == "h3").all() and len(h) > 100
    h8 = h3_blocks(c.boundary_metric, c.epsg, 8)
    assert len(h8) < len(h)
    # cells are ~0.1 km² at res 9
    assert 0.05e6 < h["area_m2"].median() < 0.2e6


def test_city_blocks_from_shipped_streets():
    b = city_blocks("astana")
    assert len(b) > 500
    assert (b["area_m2"] >= 2_000).all()
    assert b.crs.to_epsg() == 32642


def test_yard_edge_gaps_and_through_routes():
    from qauipsiz.cpted.access import edge_openness

    yard = shapely.box(0, 0, 100, 50)
    # fenced all round except x 40..50 on the south edge and x 70..75 on the north edge
    f = [shapely.LineString([(50, 0), (100, 0), (100, 50), (75, 50)]),
         shapely.LineString([(70, 50), (0, 50), (0, 0), (40, 0)])]
    share, gaps = edge_openness([yard, shapely.box(200, 0, 210, 10)], f, snap_m=0.5, step_m=0.5)
    assert gaps.tolist() == [2, 0]  # two gaps: a through-route; the unfenced yard has no "gaps"
    assert share[0] == pytest.approx(13 / 300, abs=0.01)  # 10 + 5 m open less the 0.5 m snap at each end
    assert share[1] == 1.0
    # a gap across the ring's start point is one gap, not two
    f2 = [shapely.LineString([(5, 0), (100, 0), (100, 50), (0, 50), (0, 5)])]
    _share2, gaps2 = edge_openness([yard], f2, snap_m=0.5, step_m=0.5)
    assert gaps2.tolist() == [1]
    # a short gap (2 m) does not count
    f3 = [shapely.LineString([(42, 0), (100, 0), (100, 50), (0, 50), (0, 0), (40, 0)])]
    assert edge_openness([yard], f3, snap_m=0.2, step_m=0.5, min_gap_m=3.0)[1].tolist() == [0]
