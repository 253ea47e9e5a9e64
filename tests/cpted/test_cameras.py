"""Cameras: DORI range by hand, the FOV wedge, occlusion by one building, and agreement with a naive
shapely visibility polygon."""
from __future__ import annotations

import math

import numpy as np
import pytest
import shapely

from qauipsiz.cpted import cameras


def test_dori_range_hand_computed():
    # range = px / (ppm · 2 tan(FOV/2))
    assert cameras.dori_range(1920, 90, "recognise") == pytest.approx(1920 / (125 * 2 * 1.0))  # 7.68 m
    assert cameras.dori_range(3840, 60, "detect") == pytest.approx(3840 / (25 * 2 * math.tan(math.radians(30))))
    assert cameras.dori_range(3840, 60, "detect") == pytest.approx(133.0215, abs=1e-3)
    assert cameras.dori_range(2560, 90, "observe") == pytest.approx(20.48)
    assert cameras.dori_range(2560, 90, "identify") == pytest.approx(5.12)
    assert cameras.dori_range(2560, 90, 125.0) == pytest.approx(10.24)
    with pytest.raises(ValueError, match="DORI"):
        cameras.dori_range(1920, 90, "glance")


def test_wedge_range_and_angle_without_buildings():
    # 1920 px, 90°, recognise: 7.68 m, looking east
    t = np.array([[7.0, 0.0], [7.9, 0.0], [5.0, 4.9], [5.0, 5.1], [-1.0, 0.0], [0.0, 7.0]])
    m = cameras.coverage_matrix([[0.0, 0.0]], 90.0, 90.0, 1920, "recognise", t)
    assert m.shape == (1, 6)
    assert m.toarray()[0].tolist() == [True, False, True, False, False, False]
    w = cameras.fov_wedges([0.0], [0.0], [90.0], [90.0], [7.68], n_arc=200)[0]
    assert w.area == pytest.approx(math.pi * 7.68 ** 2 / 4, rel=1e-3)


def test_occlusion_by_single_building():
    house = shapely.box(10, -5, 20, 5)
    t = np.array([
        [30.0, 0.0],    # straight behind the house: hidden
        [30.0, 2.0],    # line crosses x=10 at y=0.67: hidden
        [30.0, 20.0],   # line passes x=10..20 at y=6.7..13.3, above the roof edge y=5: seen
        [8.0, 0.0],     # in front of the house: seen
        [25.0, 6.0],    # line crosses x=20 at y=4.8 (inside): hidden
        [25.0, 7.0],    # line crosses x=10 at y=2.8 (inside): hidden
        [25.0, 13.0],   # line crosses x=10 at y=5.2 (above): seen
    ])
    m = cameras.coverage_matrix([[0.0, 0.0]], 90.0, 120.0, 3840, "detect", t, [house])
    assert m.toarray()[0].tolist() == [False, False, True, True, False, False, True]
    free = cameras.coverage_matrix([[0.0, 0.0]], 90.0, 120.0, 3840, "detect", t, None)
    assert free.toarray()[0].all()
    occ = cameras.Occluder([house])
    assert occ.blocked([0, 0], [0, 0], [30, 30], [0, 20]).tolist() == [True, False]


def test_occluded_polygon_hand_computed():
    # A 2 m-wide wall across the view: the shadow behind it is a trapezoid that the polygon lacks
    wall = shapely.box(10, -5, 12, 5)
    poly = cameras.coverage_polygons([[0.0, 0.0]], 90.0, 90.0, 1.0, 1.0, [wall], range_m=20.0, n_rays=721)[0]
    naive = cameras.visibility_polygon_naive(0.0, 0.0, cameras.fov_wedges([0.0], [0.0], [90.0], [90.0], [20.0],
                                                                          n_arc=721)[0], [wall])
    # exact shadow of the wall's front face within the 20 m quarter disc: area = sector(20 m, 2·atan(0.5))
    # minus the triangle in front of the wall (10 m deep, 10 m wide)
    ang = 2 * math.atan(0.5)
    shadow = 0.5 * 20 ** 2 * ang - 0.5 * 10 * 10
    full = math.pi * 20 ** 2 / 4
    assert naive.area == pytest.approx(full - shadow, rel=2e-3)
    assert poly.area == pytest.approx(naive.area, rel=1e-2)


def test_matrix_agrees_with_naive_shapely_visibility():
    rng = np.random.default_rng(11)
    cx, cy = rng.uniform(0, 300, 6), rng.uniform(0, 300, 6)
    houses = shapely.box(*np.c_[rng.uniform(0, 280, 40), rng.uniform(0, 280, 40)].T,
                         *(np.c_[rng.uniform(0, 280, 40), rng.uniform(0, 280, 40)] + rng.uniform(5, 20, (40, 2))).T)
    houses = np.asarray(houses, dtype=object)
    keep = ~shapely.contains_xy(shapely.union_all(houses), cx, cy)
    cx, cy = cx[keep], cy[keep]
    bearing = rng.uniform(0, 360, len(cx))
    t = np.c_[rng.uniform(0, 300, 20000), rng.uniform(0, 300, 20000)]
    m = cameras.coverage_matrix(np.c_[cx, cy], bearing, 90.0, 2560, "detect", t, houses).toarray()
    r = cameras.dori_range(2560, 90, "detect")
    wedges = cameras.fov_wedges(cx, cy, bearing, 90.0, r, n_arc=400)
    agree, total = 0, 0
    for k in range(len(cx)):
        vis = cameras.visibility_polygon_naive(cx[k], cy[k], wedges[k], houses)
        ref = shapely.contains_xy(vis, t[:, 0], t[:, 1])
        near = shapely.distance(shapely.boundary(vis), shapely.points(t)) < 0.05  # on the edge: either answer
        agree += int((ref == m[k])[~near].sum())
        total += int((~near).sum())
    assert total > 0 and m.sum() > 0  # the comparison is not over empty wedges
    assert agree == total


def test_mount_on_facade_moves_camera_out_along_bearing():
    house = shapely.box(0, 0, 20, 10)
    x, y = cameras.mount_on_facade([10.0, 50.0], [5.0, 50.0], [0.0, 0.0], [house])
    assert (x[0], y[0]) == pytest.approx((10.0, 10.5))
    assert (x[1], y[1]) == (50.0, 50.0)


def test_full_circle_and_shapes():
    t = np.array([[5.0, 0.0], [-5.0, 0.0], [0.0, 5.0]])
    m = cameras.coverage_matrix([[0.0, 0.0], [100.0, 100.0]], 0.0, 360.0, 1.0, 1.0, t, range_m=6.0)
    assert m.shape == (2, 3)
    assert m.toarray().tolist() == [[True, True, True], [False, False, False]]
    empty = cameras.coverage_matrix(np.zeros((0, 2)), 0.0, 90.0, 1920, "detect", t)
    assert empty.shape == (0, 3)
