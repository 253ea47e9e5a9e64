"""Default inference controls false discoveries at every sparsity and keeps power (issue 14)."""
from __future__ import annotations

import h3
import numpy as np
import pytest
import scipy.sparse as sp
from scipy import stats

from qauipsiz.hotspot._inference import bh_adjust
from qauipsiz.hotspot.binning import ring_weights
from qauipsiz.hotspot.gistar import gi_star, min_bh_discoveries
from qauipsiz.hotspot.moran import local_moran

ALPHA = 0.05
MEANS = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)


def _disk(k: int) -> np.ndarray:
    c = h3.api.basic_int.latlng_to_cell(51.16, 71.44, 9)
    return np.sort(np.asarray(h3.api.basic_int.grid_disk(c, k), np.uint64))


def _lattice(side: int, ring: int) -> sp.csr_matrix:
    """Rook-free square lattice: Chebyshev distance ≤ ring (queen for ring 1), no diagonal."""
    n = side * side
    r, c = np.divmod(np.arange(n), side)
    rows, cols = [], []
    for dr in range(-ring, ring + 1):
        for dc in range(-ring, ring + 1):
            if dr == 0 and dc == 0:
                continue
            rr, cc = r + dr, c + dc
            ok = (rr >= 0) & (rr < side) & (cc >= 0) & (cc < side)
            rows.append(np.flatnonzero(ok))
            cols.append(rr[ok] * side + cc[ok])
    i, j = np.concatenate(rows), np.concatenate(cols)
    return sp.csr_matrix((np.ones(len(i)), (i, j)), shape=(n, n))


def _tolerance(runs: int) -> int:
    """99.9 % upper binomial quantile of the number of runs with any flag when the rate is α."""
    return int(stats.binom.ppf(0.999, runs, ALPHA))


def test_min_bh_discoveries_is_the_smallest_set_bh_flags():
    # 200 cells at p_min = 2e-4 among 50,000 get q = 0.05 exactly: not < alpha, so 201 are needed
    assert min_bh_discoveries(50_000, 9_999, 0.05) == 201
    for n, P, a in [(50_000, 9_999, 0.05), (1_000, 999, 0.05), (4_000, 9_999, 0.1), (30, 99, 0.05)]:
        r = min_bh_discoveries(n, P, a)
        pmin = 2.0 / (P + 1)
        for k, flagged in ((r, True), (r - 1, False)):
            if k < 1:
                continue
            p = np.ones(n)
            p[:k] = pmin
            assert bool((bh_adjust(p) < a).any()) is flagged, (n, P, a, k)
    assert min_bh_discoveries(1_000, 0, 0.05) == 1


def test_gi_star_default_null_calibration_over_sparsity_and_rings():
    """≥ 200 seeded homogeneous-Poisson runs; share with any cell at 95 % must stay ≤ α."""
    rng = np.random.default_rng(20241205)
    grids = [ring_weights(_disk(18), 1), ring_weights(_disk(18), 3), _lattice(40, 1), _lattice(40, 2)]
    runs = hits = 0
    per_level = {}
    for mu in MEANS:
        h = 0
        for w in grids:
            for _ in range(8):
                y = rng.poisson(mu, w.shape[0]).astype(float)
                runs += 1
                if np.ptp(y) == 0:
                    continue
                r = gi_star(y, w)
                assert r.inference == "binomial+analytic" and r.summary()["inference"] == r.inference
                h += bool((np.abs(r.bin) >= 2).any())
        per_level[mu] = h
        hits += h
    assert runs >= 200
    assert hits <= _tolerance(runs), (hits, runs, per_level)
    for mu, h in per_level.items():  # no sparsity level is badly off either
        assert h <= _tolerance(32), (mu, h, per_level)


def test_analytic_fails_where_default_holds():
    """The issue itself: analytic Gi* flags null cells at sparse means; the default does not."""
    rng = np.random.default_rng(7)
    w = ring_weights(_disk(18), 1)
    an = df = 0
    for _ in range(20):
        y = rng.poisson(0.1, w.shape[0]).astype(float)
        an += bool((np.abs(gi_star(y, w, permutations=0).bin) >= 2).any())
        df += bool((np.abs(gi_star(y, w).bin) >= 2).any())
    assert an >= 10 and df <= 2


def test_local_moran_default_null_calibration():
    rng = np.random.default_rng(11)
    w = ring_weights(_disk(12), 1)  # 469 cells: automatic permutation counts stay small
    runs = hits = 0
    for mu in (0.03, 0.1, 0.3, 1.0, 10.0):
        for _ in range(8):
            y = rng.poisson(mu, w.shape[0]).astype(float)
            runs += 1
            if np.ptp(y) == 0:
                continue
            r = local_moran(y, w, seed=int(rng.integers(2**31)))
            assert r.inference == "permutation" and r.permutations >= 4 * w.shape[0] / ALPHA - 1
            assert r.params["inference"] == "permutation" and "min_count" in r.summary()
            hits += bool(r.significant.any())
    assert hits <= _tolerance(runs), (hits, runs)


def test_explicit_legacy_options_still_work():
    rng = np.random.default_rng(1)
    w = ring_weights(_disk(8), 1)
    y = rng.poisson(2.0, w.shape[0]).astype(float)
    a = gi_star(y, w, permutations=0)
    assert a.inference == "analytic" and a.permutations == 0
    b = gi_star(y, w, permutations=9999, seed=3)
    assert b.inference == "permutation" and b.permutations == 9999
    c = gi_star(y, w, inference="permutation", seed=3)
    assert c.permutations >= 4 * len(y) / ALPHA - 1
    s = gi_star(y, w).summary()
    assert {"inference", "permutations", "min_count", "reason"} <= set(s)
    # min_count removes hot flags from thin windows only
    d = gi_star(y, w, min_count=10**6)
    assert not (d.bin > 0).any()
    # non-integer values take the skewness rule
    e = gi_star(y + rng.normal(0, 0.01, len(y)), w, seed=0)
    assert e.inference in ("analytic", "permutation") and e.reason.startswith("auto")


@pytest.fixture(scope="module")
def dense_grid():
    from qauipsiz.hotspot._planted import planted_grid

    return planted_grid(seed=3)  # 50,311 cells, background 2, five radius-4 disks at 7


@pytest.fixture(scope="module")
def sparse_grid():
    from qauipsiz.hotspot._planted import planted_grid

    # background 0.05, twenty 7-cell clusters at mean 2
    return planted_grid(background=0.05, hot_rate=2.0, n_hot=20, hot_radius=1, seed=1)


def test_power_dense(dense_grid):
    from qauipsiz.hotspot._planted import recovery

    r = gi_star(dense_grid.y, dense_grid.w)
    rec, fdp = recovery(r.bin >= 2, dense_grid)
    assert len(dense_grid.y) >= 50_000
    assert rec >= 0.90 and fdp <= 0.05, (rec, fdp)


def test_power_sparse(sparse_grid):
    from qauipsiz.hotspot._planted import recovery

    r = gi_star(sparse_grid.y, sparse_grid.w)
    rec, fdp = recovery(r.bin >= 2, sparse_grid)
    assert rec >= 0.80 and fdp <= 0.05, (rec, fdp)


def test_hotspot_table_records_default_inference():
    import pandas as pd

    from qauipsiz.hotspot.surface import hotspot_table

    rng = np.random.default_rng(2)
    df = pd.DataFrame({"lat": 51.16 + rng.normal(0, 0.01, 300), "lon": 71.44 + rng.normal(0, 0.015, 300),
                       "harm_weight": rng.uniform(0.5, 2, 300)})
    t = hotspot_table(df, "astana", res=8, bandwidth_m=500)
    p = t.attrs["params"]
    assert p["inference"] == "binomial+analytic" and p["permutations"] == 0 and p["min_count"] == 0
    assert p["reason"].startswith("auto") and p["lisa_inference"] == "permutation"
    t0 = hotspot_table(df, "astana", res=8, bandwidth_m=500, permutations=0, min_count=2)
    assert t0.attrs["params"]["inference"] == "analytic" and t0.attrs["params"]["min_count"] == 2
