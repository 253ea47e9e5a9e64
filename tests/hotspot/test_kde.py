"""KDE against brute force and scikit-learn, Esri's bandwidth by hand, GeoTIFF output."""
from __future__ import annotations

import math

import numpy as np
import pytest

from qauipsiz.hotspot.kde import esri_bandwidth, kde, kde_brute, kde_geotiff, kde_grid


@pytest.mark.parametrize("kernel", ["quartic", "epanechnikov", "gaussian"])
def test_kde_equals_brute_force(kernel):
    rng = np.random.default_rng(1)
    P = np.r_[rng.normal(0, 2500, (4000, 2)), rng.normal(3000, 150, (500, 2))]
    E = rng.uniform(-7000, 7000, (1500, 2))
    E[:20] = P[:20]  # on top of points
    wts = rng.uniform(0.5, 4, len(P))
    for h in (90.0, 400.0, 1300.0):
        got = kde(P, E, h, kernel, wts)
        ref = kde_brute(P, E, h, kernel, wts)
        # the Gaussian is summed to 10 bandwidths (dropped terms < 2e-22 of the peak)
        nz = ref > ref.max() * (1e-10 if kernel == "gaussian" else 1e-12)
        assert np.max(np.abs(got[nz] - ref[nz]) / ref[nz]) < 1e-9
        assert np.all(np.abs(got[~nz] - ref[~nz]) <= ref.max() * 1e-10)


def test_quartic_brute_force_is_the_textbook_formula():
    P = np.array([[0.0, 0.0], [100.0, 0.0], [1000.0, 1000.0]])
    E = np.array([[50.0, 0.0]])
    r = 200.0
    by_hand = 3 / (math.pi * r * r) * 2 * (1 - (50 / r) ** 2) ** 2 * 1e6  # two points at 50 m
    assert kde(P, E, r)[0] == pytest.approx(by_hand, rel=1e-12)


def test_density_integrates_to_the_count():
    rng = np.random.default_rng(2)
    P = rng.uniform(-1000, 1000, (300, 2))
    grid, _tr = kde_grid(P, (-2000, -2000, 2000, 2000), 10.0, 250.0)
    total = grid.sum() * (10.0 * 10.0) / 1e6  # per km² × km² per cell
    assert total == pytest.approx(300, rel=2e-3)


def test_sklearn_epanechnikov_equal_after_normalising():
    from sklearn.neighbors import KernelDensity

    rng = np.random.default_rng(4)
    P = rng.normal(0, 1500, (3000, 2))
    E = rng.uniform(-4000, 4000, (800, 2))
    h = 350.0
    ours = kde(P, E, h, "epanechnikov")
    sk = np.exp(KernelDensity(kernel="epanechnikov", bandwidth=h).fit(P).score_samples(E))
    # sklearn: mean of the same normalised kernel, per m²; ours: sum, per km²
    m = ours > 0
    np.testing.assert_allclose(ours[m], sk[m] * len(P) * 1e6, rtol=1e-7)
    assert np.all(sk[~m] <= sk.max() * 1e-12)


def test_esri_bandwidth_hand_example():
    # 4 points on a square of side 200 around (0,0) plus one at the centre
    xy = np.array([[100.0, 100], [100, -100], [-100, 100], [-100, -100], [0, 0]])
    # mean centre (0,0); distances: 4 × 141.421..., 0 → SD = sqrt(4·20000/5) = 126.491...
    sd = math.sqrt(4 * 20000 / 5)
    dm = math.sqrt(20000)  # median distance
    expected = 0.9 * min(sd, math.sqrt(1 / math.log(2)) * dm) * 5 ** -0.2
    assert esri_bandwidth(xy) == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(0.9 * 126.49110640673518 * 0.7247796636776955, rel=1e-12)
    # the Dm branch wins when a few far points inflate SD
    xy2 = np.r_[xy, [[5000.0, 5000.0]]]
    c = xy2.mean(0)
    d = np.hypot(*(xy2 - c).T)
    exp2 = 0.9 * min(math.sqrt((d**2).mean()), math.sqrt(1 / math.log(2)) * np.median(d)) * 6 ** -0.2
    assert esri_bandwidth(xy2) == pytest.approx(exp2, rel=1e-12)


def test_geotiff_roundtrip(tmp_path):
    import rasterio

    rng = np.random.default_rng(5)
    P = rng.normal([500000, 5670000], 800, (2000, 2))
    path = tmp_path / "kde.tif"
    params = kde_geotiff(path, P, 32642, bandwidth_m=300, cell_m=50)
    with rasterio.open(path) as src:
        assert src.crs.to_epsg() == 32642
        assert src.res == (50.0, 50.0)
        arr = src.read(1)
        # the value of a pixel equals kde at that pixel's centre
        r, c = np.unravel_index(np.argmax(arr), arr.shape)
        x, y = src.xy(r, c)
        assert arr[r, c] == pytest.approx(kde(P, [[x, y]], 300)[0], rel=1e-6)
        assert src.tags()["bandwidth_m"] == "300.0"
    assert params["kernel"] == "quartic"


def test_nan_points_are_ignored():
    rng = np.random.default_rng(8)
    P = rng.normal(0, 500, (300, 2))
    E = rng.uniform(-800, 800, (50, 2))
    Pn = np.r_[P, [[np.nan, 0.0], [0.0, np.nan]]]
    np.testing.assert_allclose(kde(Pn, E, 200.0), kde_brute(P, E, 200.0), rtol=1e-12, atol=1e-12)


def test_bad_input():
    with pytest.raises(ValueError, match="kernel"):
        kde([[0, 0]], [[0, 0]], 10, "box")
    with pytest.raises(ValueError, match="bandwidth_m"):
        kde([[0, 0]], [[0, 0]], -1)
    with pytest.raises(ValueError, match="weights"):
        kde([[0, 0]], [[0, 0]], 10, weights=[1, 2])
