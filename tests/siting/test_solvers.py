"""Covering and median solvers against spopt, brute force and the greedy guarantee."""
from __future__ import annotations

import itertools

import numpy as np
import pulp
import pytest
import scipy.sparse as sp
from scipy.spatial.distance import cdist

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

from qauipsiz.cpted.siting.solvers import (  # noqa: E402
    greedy_max_cover,
    greedy_set_cover,
    lscp_exact,
    mclp_exact,
    p_median,
    rank_picks,
)


def _instance(seed, nd=120, nc=25, r=0.18):
    rng = np.random.default_rng(seed)
    dxy = rng.random((nd, 2))
    cxy = rng.random((nc, 2))
    w = rng.integers(1, 20, nd).astype(float)
    D = cdist(dxy, cxy)  # demand × candidates (spopt's orientation)
    A = sp.csr_matrix((D <= r).T.astype(float))
    return D, A, w, r


def _brute(A, w, p, groups=None, pre=None):
    A = A.toarray() > 0
    pre = np.zeros(A.shape[1], bool) if pre is None else pre
    best = -1
    for combo in itertools.combinations(range(A.shape[0]), p):
        if groups is not None and len({groups[j] for j in combo}) < p:
            continue
        cov = A[list(combo)].any(0) | pre
        best = max(best, w[cov].sum())
    return best


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mclp_exact_matches_spopt(seed):
    from spopt.locate import MCLP

    D, A, w, r = _instance(seed)
    p = 4
    m = MCLP.from_cost_matrix(D, w, r, p).solve(pulp.PULP_CBC_CMD(msg=False))
    ref = pulp.value(m.problem.objective)
    ours = mclp_exact(A, w, p)
    assert ours.status == "Optimal"
    assert ours.objective == pytest.approx(ref, rel=1e-9)
    assert len(ours.picks) == p


@pytest.mark.parametrize("seed", [3, 4])
def test_lscp_exact_matches_spopt(seed):
    from spopt.locate import LSCP

    D, A, _w, r = _instance(seed, nd=80, nc=40, r=0.3)
    coverable = (D <= r).any(1)
    D = D[coverable]  # spopt's LSCP is infeasible when some demand cannot be covered
    A = sp.csr_matrix((D <= r).T.astype(float))
    m = LSCP.from_cost_matrix(D, r).solve(pulp.PULP_CBC_CMD(msg=False))
    ref = pulp.value(m.problem.objective)
    ours = lscp_exact(A)
    assert ours.objective == pytest.approx(ref)
    covered = np.asarray(A[ours.picks].sum(0)).ravel() > 0
    assert covered.all()
    g = greedy_set_cover(A)
    assert len(g.picks) >= ours.objective
    assert (np.asarray(A[g.picks].sum(0)).ravel() > 0).all()


def test_lscp_reports_uncoverable_and_respects_precovered():
    A = sp.csr_matrix(np.array([[1, 1, 0, 0], [0, 1, 1, 0]], float))
    r = lscp_exact(A)
    assert list(r.info["uncoverable"]) == [3]
    assert r.objective == 2
    r2 = lscp_exact(A, precovered=np.array([False, False, True, False]))
    assert r2.objective == 1 and list(r2.picks) == [0]


def test_greedy_known_instance_and_guarantee():
    # items 0..5; S0 = {0,1,2}, S1 = {3,4,5}, S2 = {1,2,3,4}: greedy takes S2 first
    A = sp.csr_matrix(np.array([[1, 1, 1, 0, 0, 0], [0, 0, 0, 1, 1, 1], [0, 1, 1, 1, 1, 0]], float))
    w = np.ones(6)
    g = greedy_max_cover(A, w, 2)
    assert list(g.picks[:1]) == [2]
    assert list(g.marginal_gain) == [4, 1]
    assert list(g.cumulative) == [4, 5]
    e = mclp_exact(A, w, 2, warm_start=g.picks)
    assert e.objective == 6 and sorted(e.picks) == [0, 1]
    assert e.info["greedy_gap"] == pytest.approx(1 / 6)
    assert g.objective >= (1 - 1 / np.e) * e.objective


@pytest.mark.parametrize("seed", range(5, 10))
def test_greedy_within_guarantee_and_exact_equals_brute_force(seed):
    _, A, w, _ = _instance(seed, nd=60, nc=12, r=0.25)
    rng = np.random.default_rng(seed)
    pre = rng.random(A.shape[1]) < 0.1
    p = 3
    best = _brute(A, w, p, pre=pre)
    e = mclp_exact(A, w, p, precovered=pre)
    g = greedy_max_cover(A, w, p, precovered=pre)
    assert e.objective == pytest.approx(best)
    assert best * (1 - 1 / np.e) <= g.objective <= best + 1e-9
    # cumulative curve is the pre-covered weight plus the running sum of marginal gains
    assert g.cumulative[0] == pytest.approx(w[pre].sum() + g.marginal_gain[0])
    assert np.all(np.diff(g.marginal_gain) <= 1e-9)  # submodular: gains never increase


def test_groups_at_most_one_bearing_per_site():
    _, A, w, _ = _instance(11, nd=60, nc=12, r=0.3)
    groups = np.repeat(np.arange(6), 2)  # 6 sites × 2 bearings
    p = 3
    e = mclp_exact(A, w, p, groups=groups)
    g = greedy_max_cover(A, w, p, groups=groups)
    assert len(set(groups[e.picks])) == len(e.picks) == p
    assert len(set(groups[g.picks])) == len(g.picks)
    assert e.objective == pytest.approx(_brute(A, w, p, groups=groups))


def test_rank_picks_orders_by_marginal_gain():
    _, A, w, _ = _instance(12)
    e = mclp_exact(A, w, 5)
    r = rank_picks(A, w, e.picks)
    assert sorted(r.picks) == sorted(e.picks)
    assert r.cumulative[-1] == pytest.approx(e.objective)
    assert np.all(np.diff(r.marginal_gain) <= 1e-9)


def test_p_median_matches_spopt():
    from spopt.locate import PMedian

    rng = np.random.default_rng(13)
    dxy, cxy = rng.random((50, 2)), rng.random((12, 2))
    w = rng.integers(1, 10, 50).astype(float)
    D = cdist(dxy, cxy)
    m = PMedian.from_cost_matrix(D, w, p_facilities=3).solve(pulp.PULP_CBC_CMD(msg=False))
    ref = pulp.value(m.problem.objective)
    ours = p_median(D.T, w, 3)
    assert ours.objective == pytest.approx(ref, rel=1e-6)
    assert len(ours.picks) == 3
    # every demand is assigned to its nearest open facility
    assert np.allclose(D.T[ours.assign, np.arange(50)], D.T[ours.picks].min(0))


def test_bad_input_raises():
    A = sp.csr_matrix(np.eye(3))
    with pytest.raises(ValueError, match="demand weight 1"):
        greedy_max_cover(A, [1.0, -1.0, 2.0], 1)
    with pytest.raises(ValueError, match="expected 3"):
        mclp_exact(A, [1.0, 2.0], 1)
    with pytest.raises(ValueError, match="p_median"):
        p_median(np.ones((2, 3)), np.ones(3), 5)
