"""Planted hotspots on a 50,311-cell resolution-10 grid: recovery and false discoveries at FDR 5 %."""
from __future__ import annotations

import pytest

from qauipsiz.hotspot._planted import planted_grid, recovery
from qauipsiz.hotspot.gistar import gi_star


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_analytic_gi_star_recovers_planted_hotspots(seed):
    g = planted_grid(res=10, k_disk=129, n_hot=5, hot_radius=4, background=10.0, hot_rate=20.0, seed=seed)
    assert len(g.cells) >= 50_000 and g.planted.sum() == 5 * 61
    r = gi_star(g.y, g.w, alpha=0.05)
    flag = r.significant & (r.z > 0)
    rec, fdp = recovery(flag, g)
    assert rec >= 0.90, f"recovered only {rec:.1%} of planted cells"
    # a false discovery: a flagged cell whose Gi* neighbourhood holds no planted cell (true null)
    assert fdp <= 0.05, f"false-discovery proportion {fdp:.1%}"
    assert (r.significant & (r.z < 0)).sum() <= 0.05 * flag.sum()
    assert (r.bin[flag] >= 2).all()


def test_null_grid_flags_almost_nothing():
    g = planted_grid(res=10, k_disk=60, n_hot=1, hot_radius=1, background=10.0, hot_rate=10.0, seed=4)
    r = gi_star(g.y, g.w)
    assert r.significant.sum() <= 3
