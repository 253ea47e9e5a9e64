"""Lighting: hand-computed illuminance of one lamp, the numba kernel against brute force, grid and zones."""
from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pytest
import shapely

from qauipsiz.cpted import lighting


def test_intensity_is_flux_over_two_pi():
    assert lighting.lamp_intensity(12000.0) == pytest.approx(12000.0 / (2 * math.pi))
    assert lighting.lamp_intensity(12000.0, utilisation=0.5) == pytest.approx(6000.0 / (2 * math.pi))
    with pytest.raises(ValueError):
        lighting.lamp_intensity(1000.0, utilisation=0)


def test_one_lamp_hand_computed():
    # 12 000 lm, 10 m high: I = 1909.859 cd.  E = I h / (h² + r²)^1.5
    i = 12000.0 / (2 * math.pi)
    x = np.array([0.0, 10.0, 30.0, 0.0, 60.0])
    y = np.array([0.0, 0.0, 0.0, 10.0, 0.0])
    e90 = lighting.illuminance(x, y, [0.0], [0.0], [10.0], [i], cutoff_deg=90)
    # directly below: 1909.859 / 100 = 19.0986 lx; r = 10: cos³45° / h² → 19.0986 · 0.353553 = 6.7524
    assert e90[0] == pytest.approx(19.0986, abs=1e-4)
    assert e90[1] == pytest.approx(6.7524, abs=1e-4)
    assert e90[3] == pytest.approx(6.7524, abs=1e-4)
    # r = 30: 19098.59 / 1000^1.5 = 0.603951
    assert e90[2] == pytest.approx(0.603951, abs=1e-6)
    # r = 60: 19098.59 / 3700^1.5 = 0.084860
    assert e90[4] == pytest.approx(0.084860, abs=1e-6)
    # default cut-off 80°: the lamp lights r ≤ 10 · tan 80° = 56.71 m, so the 60 m point is dark
    e80 = lighting.illuminance(x, y, [0.0], [0.0], [10.0], [i])
    assert e80[:4] == pytest.approx(e90[:4])
    assert e80[4] == 0.0
    assert lighting.lamp_radius(10.0) == pytest.approx(56.7128, abs=1e-3)


def test_two_lamps_add_up():
    i = lighting.lamp_intensity(4000.0)
    e = lighting.illuminance([5.0], [0.0], [0.0, 10.0], [0.0, 0.0], [4.0, 4.0], [i, i], cutoff_deg=90)
    one = i * 4.0 / (16 + 25) ** 1.5
    assert e[0] == pytest.approx(2 * one)


def test_kernel_matches_brute_force():
    rng = np.random.default_rng(3)
    lx, ly = rng.uniform(0, 800, 300), rng.uniform(0, 800, 300)
    lh = rng.choice([4.0, 6.0, 10.0], 300)
    li = lighting.lamp_intensity(rng.choice([3000.0, 8000.0, 18000.0], 300))
    x, y = rng.uniform(-50, 850, 5000), rng.uniform(-50, 850, 5000)
    for cut in (60.0, 80.0, 90.0):
        fast = lighting.illuminance(x, y, lx, ly, lh, li, cutoff_deg=cut)
        slow = lighting.illuminance_bruteforce(x, y, lx, ly, lh, li, cutoff_deg=cut)
        if cut < 90:
            np.testing.assert_allclose(fast, slow, rtol=1e-10, atol=1e-12)
        else:  # the pure hemisphere model is truncated at 250 m in the fast kernel
            assert np.abs(fast - slow).max() < 0.05


def test_bad_heights_raise():
    with pytest.raises(ValueError, match="height"):
        lighting.illuminance([0.0], [0.0], [0.0], [0.0], [0.0], [100.0])


def test_sample_grid_counts_and_holes():
    block = shapely.box(0, 0, 100, 50)
    g = lighting.sample_grid([block], 5.0)
    assert len(g) == 200
    assert g.x.min() == pytest.approx(2.5) and g.y.max() == pytest.approx(47.5)
    g2 = lighting.sample_grid([block], 5.0, exclude=[shapely.box(0, 0, 20, 20)])
    assert len(g2) == 200 - 16
    assert (g2.owner == 0).all()


def test_zones_strictest_wins():
    g = lighting.sample_grid([shapely.box(0, 0, 100, 100)], 5.0)
    lu = gpd.GeoDataFrame({"landuse": ["playground", "parking"]},
                          geometry=[shapely.box(20, 20, 40, 40), shapely.box(60, 60, 90, 90)])
    ent = gpd.GeoDataFrame({"main": [True]}, geometry=[shapely.Point(30, 30)])
    zone, req = lighting.assign_zones(g, landuse=lu, entrances=ent)
    at = {z: r for z, r in zip(zone, req, strict=True)}
    assert at["playground"] == 10 and at["parking"] == 2 and at["walking_path"] == 1
    k = np.flatnonzero((np.abs(g.x - 32.5) < 0.1) & (np.abs(g.y - 32.5) < 0.1))[0]
    assert zone[k] == "playground"  # 10 lx beats the 6 lx entrance zone
    k = np.flatnonzero((np.abs(g.x - 42.5) < 0.1) & (np.abs(g.y - 32.5) < 0.1))[0]
    assert zone[k] == "entrance_path"  # 12.7 m from the entrance


def test_dark_spots_polygons():
    g = lighting.sample_grid([shapely.box(0, 0, 100, 100)], 5.0)
    lux = np.where(g.x < 30, 0.2, 5.0)
    polys, area, mean = lighting.dark_spots(g, lux, 1.0, min_area_m2=100)
    assert len(polys) == 1
    assert area[0] == pytest.approx(30 * 100)
    assert mean[0] == pytest.approx(0.2)
