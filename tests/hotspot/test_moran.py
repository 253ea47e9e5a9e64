"""Local and global Moran's I parity with esda."""
from __future__ import annotations

import esda
import libpysal
import numpy as np
import pytest

from qauipsiz.hotspot.moran import global_moran, local_moran


def test_local_moran_matches_esda_on_columbus(columbus):
    df, w = columbus
    y = df["CRIME"].to_numpy()
    ref = esda.Moran_Local(y, w, transformation="r", permutations=0)
    got = local_moran(y, w.sparse)
    np.testing.assert_allclose(got.Is, ref.Is, atol=1e-12)
    np.testing.assert_array_equal(got.quad, ref.q)
    np.testing.assert_allclose(got.EIc, ref.EIc, atol=1e-12)
    np.testing.assert_allclose(got.VIc, ref.VIc, atol=1e-12)


def test_local_moran_matches_esda_on_h3_grid(ring_grid):
    _cells, y, w = ring_grid
    W = libpysal.weights.WSP(w).to_W(silence_warnings=True)
    for t in ("r", "b"):
        ref = esda.Moran_Local(y, W, transformation=t, permutations=0)
        got = local_moran(y, w, transform=t)
        np.testing.assert_allclose(got.Is, ref.Is, atol=1e-10)
        np.testing.assert_array_equal(got.quad, ref.q)


def test_clusters_only_where_significant(ring_grid):
    _cells, y, w = ring_grid
    r = local_moran(y, w)
    assert set(np.unique(r.cluster)) <= {"HH", "LL", "HL", "LH", "ns"}
    assert ((r.cluster != "ns") == (r.q < 0.05)).all()
    labels = {1: "HH", 2: "LH", 3: "LL", 4: "HL"}
    sig = r.cluster != "ns"
    assert all(labels[q] == c for q, c in zip(r.quad[sig], r.cluster[sig], strict=True))
    assert (r.cluster == "HH").sum() >= 5  # the planted bump


def test_local_moran_permutations_agree_with_esda(columbus):
    df, w = columbus
    y = df["CRIME"].to_numpy()
    got = local_moran(y, w.sparse, permutations=9999, seed=2)
    ref = esda.Moran_Local(y, w, permutations=9999, seed=2, n_jobs=1)
    # both are 9,999-draw Monte-Carlo estimates: sd of a difference ≈ 0.014 at p ≈ 0.5
    np.testing.assert_allclose(got.p, np.minimum(1, 2 * ref.p_sim), atol=0.05)
    np.testing.assert_allclose(got.z, ref.z_sim, atol=0.15)


@pytest.mark.parametrize("t", ["b", "r"])
def test_global_moran_matches_esda(columbus, t):
    df, w = columbus
    y = df["CRIME"].to_numpy()
    w.transform = t  # this test's own W: the columbus fixture is fresh per test
    ref = esda.Moran(y, w, transformation=t, permutations=0)
    got = global_moran(y, w.sparse)
    assert got.I == pytest.approx(ref.I, abs=1e-12)
    assert got.z_rand == pytest.approx(ref.z_rand, abs=1e-9)
    assert got.VI_rand == pytest.approx(ref.VI_rand, abs=1e-12)
