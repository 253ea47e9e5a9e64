"""The evaluation's statistics against independent implementations: statsmodels (Poisson DiD with
unit and period fixed effects), a hand-computed WDQ, SciPy's SLSQP (synthetic control)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize

from qauipsiz.hotspot.evaluation.did import composite_sums, estimate_unit, ratio_effect
from qauipsiz.hotspot.evaluation.power import decidable, mde_log, mde_pct
from qauipsiz.hotspot.evaluation.synth import synth_effect, synth_weights
from qauipsiz.hotspot.evaluation.wdq import reading, success_measure, wdq

sm = pytest.importorskip("statsmodels.api")
smf = pytest.importorskip("statsmodels.formula.api")


@pytest.mark.parametrize("counts", [(120, 70, 2400, 2300), (35, 41, 900, 610), (0, 12, 300, 280)])
def test_did_equals_poisson_two_way_fixed_effects_2x2(counts):
    t0, t1, c0, c1 = counts
    est, se = ratio_effect(t0, t1, c0, c1)
    h = 0.5 if min(counts) == 0 else 0.0  # Haldane correction, applied to the table statsmodels sees too
    df = pd.DataFrame({"y": np.array([t0, t1, c0, c1], float) + h, "treated": [1, 1, 0, 0], "post": [0, 1, 0, 1]})
    fit = smf.glm("y ~ C(treated) + C(post) + treated:post", data=df, family=sm.families.Poisson()).fit(tol=1e-12, maxiter=500)
    assert est == pytest.approx(fit.params["treated:post"], abs=1e-8)
    assert se == pytest.approx(fit.bse["treated:post"], rel=1e-6)


def test_did_equals_poisson_fixed_effects_on_a_cell_panel():
    """Treated unit plus 30 comparison cells, each with its own fixed effect, pre/post periods:
    the interaction equals the pooled ratio of ratios, and so does its standard error."""
    rng = np.random.default_rng(3)
    n = 30
    lvl = rng.gamma(2.0, 8.0, n)
    pre = rng.poisson(lvl * 12)
    post = rng.poisson(lvl * 6 * 1.05)
    t_pre, t_post = 300, 120
    rows = [(f"c{i}", p, 0, 0) for i, p in enumerate(pre)] + [(f"c{i}", q, 1, 0) for i, q in enumerate(post)]
    rows += [("T", t_pre, 0, 1), ("T", t_post, 1, 1)]
    df = pd.DataFrame(rows, columns=["unit", "y", "post", "treated"])
    df["d"] = df["post"] * df["treated"]
    fit = smf.glm("y ~ C(unit) + C(post) + d", data=df, family=sm.families.Poisson()).fit(tol=1e-12, maxiter=500)
    est, se = ratio_effect(t_pre, t_post, pre.sum(), post.sum())
    assert est == pytest.approx(fit.params["d"], abs=1e-6)
    assert se == pytest.approx(fit.bse["d"], rel=1e-4)
    # OLS on log counts with the same fixed effects (2 x 2, pooled comparison) gives the same point estimate
    agg = pd.DataFrame({"ly": np.log([t_pre, t_post, pre.sum(), post.sum()]), "treated": [1, 1, 0, 0],
                        "post": [0, 1, 0, 1]})
    ols = smf.ols("ly ~ treated + post + treated:post", data=agg).fit()
    assert est == pytest.approx(ols.params["treated:post"], abs=1e-10)


def test_wdq_by_hand():
    # A: treated 100 -> 70, B: buffer 200 -> 220, C: control 1000 -> 1000
    # SM = 70/1000 - 100/1000 = -0.03; BM = 220/1000 - 200/1000 = 0.02; WDQ = 0.02 / -0.03 = -2/3
    assert success_measure(100, 70, 1000, 1000) == pytest.approx(-0.03)
    q = wdq(100, 70, 200, 220, 1000, 1000)
    assert q == pytest.approx(-2 / 3)
    assert reading(q, -0.03, ring_significant=True) == "displacement"
    assert reading(q, -0.03, ring_significant=False) == "none"
    # buffer also falls: diffusion of benefit; control grows 1000 -> 1250 here
    q2 = wdq(100, 70, 200, 180, 1000, 1250)
    assert q2 == pytest.approx((180 / 1250 - 200 / 1000) / (70 / 1250 - 100 / 1000))
    assert q2 > 0 and reading(q2, success_measure(100, 70, 1000, 1250), True) == "diffusion"
    # no success (the treated area got worse): the WDQ does not apply
    assert reading(wdq(100, 130, 200, 220, 1000, 1000), 0.03, True) == "not_applicable"
    assert wdq(100, 70, 200, 220, 0, 1000) is None


def test_synth_weights_match_slsqp():
    rng = np.random.default_rng(5)
    donors = rng.poisson(50, size=(14, 8)).astype(float)
    target = donors @ np.array([0.5, 0.3, 0.2, 0, 0, 0, 0, 0]) + rng.normal(0, 1.0, 14)
    w = synth_weights(target, donors)
    res = minimize(lambda v: ((target - donors @ v) ** 2).sum(), np.full(8, 1 / 8), method="SLSQP",
                   bounds=[(0, 1)] * 8, constraints=[{"type": "eq", "fun": lambda v: v.sum() - 1}],
                   options={"ftol": 1e-12, "maxiter": 500})
    assert w.sum() == pytest.approx(1.0) and (w >= 0).all()
    assert ((target - donors @ w) ** 2).sum() <= res.fun * (1 + 1e-4) + 1e-6
    np.testing.assert_allclose(w, res.x, atol=2e-3)
    # a planted 20 % drop after the installation is recovered exactly when the target is a donor mix
    post = rng.poisson(50, size=(6, 8)).astype(float)
    mix = np.array([0.5, 0.5, 0, 0, 0, 0, 0, 0])
    eff = synth_effect(donors @ mix, 0.8 * (post @ mix), donors, post)
    assert eff == pytest.approx(-20.0, abs=0.5)
    assert synth_effect(donors[:5] @ mix, post @ mix, donors[:5], post) is None  # too few pre-periods


def test_composites_partition_cells_and_reach_their_sizes():
    rng = np.random.default_rng(1)
    pre = rng.poisson(6, 2000).astype(float)
    vals = np.c_[pre, rng.poisson(3, 2000)]
    for sizes in [(40.0, 200.0), (1500.0, 6000.0)]:  # the loop and the vectorised path
        s = composite_sums(vals, pre, sizes, 300, np.random.default_rng(2))
        assert s.shape[1:] == (2, 2) and len(s) == 300
        for j, size in enumerate(sizes):
            got = s[:, j, 0]
            assert (got >= size - 1e-9).all() or size >= 1000  # loop: never under; vectorised: close
            assert np.median(np.abs(got - size)) <= pre.max()


def test_placebo_inference_covers_a_planted_effect_on_poisson_cells():
    """Synthetic panel: 3,000 Poisson cells, a unit with a planted -25 % effect; the unit's interval
    covers it, and with no effect the p-value is rarely small (placebo pairs calibrated)."""
    rng = np.random.default_rng(11)
    lam = rng.gamma(1.5, 1.0, 3000)
    P = 12
    pool_pre = rng.poisson(np.repeat(lam[:, None], P, 1))
    pool_post = rng.poisson(lam * 6)
    covered, small_p = 0, 0
    for k in range(40):
        u_lam = 40.0
        unit_pre = rng.poisson(np.full(P, u_lam))
        eff = 0.75 if k % 2 == 0 else 1.0
        unit_post = rng.poisson(u_lam * 6 * eff)
        u = estimate_unit(unit_pre, unit_post, pool_pre, pool_post, pool_pre.astype(float), 40.0 / 1.5,
                          np.random.default_rng(k), n_placebo=399)
        if eff < 1:
            covered += u.ci[0] <= np.log(0.75) <= u.ci[1]
        else:
            small_p += u.p_value < 0.05
    assert covered >= 17  # of 20 (95 % nominal)
    assert small_p <= 3  # of 20 (5 % nominal)


def test_mde_arithmetic():
    assert mde_log(0.1) == pytest.approx((1.959963984540054 + 0.8416212335729143) * 0.1)
    assert mde_pct(np.log(1 / 0.8)) == pytest.approx(20.0)
    assert decidable(np.log(1 / 0.81)) and not decidable(np.log(1 / 0.79)) and not decidable(None)
