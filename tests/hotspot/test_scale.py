"""Automatic scale: incremental Moran's I vs esda, peak rule and the k-NN fallback."""
from __future__ import annotations

import esda
import libpysal
import numpy as np
import pytest

from qauipsiz.hotspot.scale import first_peak, incremental_moran, knn_k, optimal_scale


def test_incremental_moran_matches_esda_distance_bands():
    rng = np.random.default_rng(1)
    xy = rng.uniform(0, 10000, (700, 2))
    y = rng.poisson(3, 700) + 8 * np.exp(-((np.hypot(*(xy - 5000).T) / 1500) ** 2))
    bands = [400.0, 900.0, 2000.0]
    mi, z = incremental_moran(y, xy, bands)
    for b, d in enumerate(bands):
        W = libpysal.weights.DistanceBand(xy, d, binary=True, silence_warnings=True)
        ref = esda.Moran(y, W, transformation="b", permutations=0)
        assert mi[b] == pytest.approx(ref.I, abs=1e-12)
        assert z[b] == pytest.approx(ref.z_rand, abs=1e-9)


def test_first_peak_rule():
    assert first_peak([0.5, 1.0, 2.0, 3.0, 2.5, 4.0]) == 3
    assert first_peak([2.0, 1.7, 1.9, 1.8]) == 0
    assert first_peak([1.0, 1.2, 1.6, 1.5]) is None  # peak below 1.65
    assert first_peak([1.0, 2.0, 3.0, 4.0]) is None  # still rising at the last band


def test_knn_rule():
    assert knn_k(20) == 3 and knn_k(200) == 10 and knn_k(10_000) == 30


def test_scale_finds_cluster_size_and_falls_back_on_noise():
    rng = np.random.default_rng(3)
    # regular grid, clusters of ~600 m radius on a 100 m lattice
    g = np.arange(0, 6000, 100.0)
    xy = np.array(np.meshgrid(g, g)).reshape(2, -1).T
    y = rng.poisson(2.0, len(xy)).astype(float)
    for cx, cy in [(1500, 1500), (4500, 1500), (1500, 4500), (4500, 4500), (3000, 3000)]:
        y += rng.poisson(6 * (np.hypot(xy[:, 0] - cx, xy[:, 1] - cy) < 600))
    r = optimal_scale(y, xy)
    assert r.method == "moran_peak"
    assert 100 <= r.distance_m <= 1000
    assert r.params["start_m"] == pytest.approx(100) and r.params["increment_m"] == pytest.approx(100)
    noise = rng.permutation(y)
    r2 = optimal_scale(noise, xy)
    if r2.method == "knn":
        assert r2.k == 30 and r2.distance_m > 0
    else:  # a chance peak on noise must still be a real local maximum above 1.65
        b = list(r2.distances_m).index(r2.distance_m)
        assert r2.moran_z[b] > 1.65
