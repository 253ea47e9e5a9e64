"""Facility-siting solvers on a sparse coverage matrix: lazy greedy (CELF), exact MCLP / LSCP via HiGHS, p-median."""
from __future__ import annotations

import heapq
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from qauipsiz.cpted.siting._highs import HighsOptions, _highs, _pass_milp


@dataclass
class CoverResult:
    """Result of a covering solver.

    Attributes
    ----------
    picks : numpy.ndarray of int
        Chosen candidate rows, in pick order (greedy) or ascending (exact).
    marginal_gain : numpy.ndarray of float
        Demand weight newly covered by each pick, in the order of ``picks``.
    cumulative : numpy.ndarray of float
        Covered weight after each pick, *including* demand pre-covered by existing sites.
    objective : float
        Total covered weight (pre-covered included).
    total_weight : float
        Weight of all demand.
    precovered_weight : float
        Weight already covered by existing sites.
    bound : float
        Best known upper bound on the optimum (equal to ``objective`` for a proven optimum).
    status : str
        Solver status text.
    info : dict
        Extra figures (timings, model sizes, gap of a warm start ...).
    """

    picks: np.ndarray
    marginal_gain: np.ndarray
    cumulative: np.ndarray
    objective: float
    total_weight: float
    precovered_weight: float = 0.0
    bound: float = np.nan
    status: str = ""
    info: dict = field(default_factory=dict)

    @property
    def coverage_share(self) -> np.ndarray:
        """Cumulative covered share of total demand weight after each pick (0–1)."""
        return self.cumulative / self.total_weight if self.total_weight > 0 else self.cumulative * 0

    @property
    def gap(self) -> float:
        """Relative optimality gap ``(bound − objective) / bound`` (0 for a proven optimum)."""
        if not np.isfinite(self.bound) or self.bound <= 0:
            return np.nan
        return max(0.0, (self.bound - self.objective) / self.bound)


def _prep(A, w, precovered, groups):
    A = sp.csr_matrix(A)
    A.data = np.ones_like(A.data, dtype=np.float64)
    A.sum_duplicates()
    A.data[:] = 1.0
    m, n = A.shape
    w = np.asarray(w, float).ravel()
    if w.shape != (n,):
        raise ValueError(f"demand weights: expected {n} values (columns of the coverage matrix), got {w.shape}")
    if (~np.isfinite(w)).any() or (w < 0).any():
        raise ValueError(f"demand weight {int(np.flatnonzero(~np.isfinite(w) | (w < 0))[0])}: must be finite and ≥ 0")
    pre = np.zeros(n, bool) if precovered is None else np.asarray(precovered, bool).ravel()
    if pre.shape != (n,):
        raise ValueError(f"precovered: expected {n} booleans, got {pre.shape}")
    g = None if groups is None else np.asarray(groups).ravel()
    if g is not None and g.shape != (m,):
        raise ValueError(f"groups: expected {m} labels (rows of the coverage matrix), got {g.shape}")
    return A, w, pre, g


def greedy_max_cover(A, w, p: int, precovered=None, groups=None) -> CoverResult:
    """Lazy greedy (CELF) maximal covering: pick ``p`` rows of ``A`` maximising covered weight.

    Parameters
    ----------
    A : scipy.sparse matrix, shape (n_candidates, n_demand)
        ``A[j, i] != 0`` when candidate ``j`` covers demand ``i``.
    w : array-like, shape (n_demand,)
        Demand weights (≥ 0), e.g. harm-weighted incident counts.
    p : int
        Number of sites to choose.
    precovered : array-like of bool, optional
        Demand already covered by existing sites (working cameras, buttons).
    groups : array-like, optional
        Group label per candidate row; at most one row per group is chosen (e.g. one bearing
        per camera site).

    Returns
    -------
    CoverResult
        Picks in greedy order with their marginal gains and the cumulative coverage curve.
        Greedy covers at least ``1 − 1/e`` of the optimum (Nemhauser, Wolsey & Fisher 1978).
    """
    A, w, pre, g = _prep(A, w, precovered, groups)
    m, _ = A.shape
    if p < 0:
        raise ValueError(f"p = {p}: must be ≥ 0")
    unc = np.where(pre, 0.0, w)
    gains = A @ unc
    heap = [(-gains[j], j) for j in np.flatnonzero(gains > 0).tolist()]
    heapq.heapify(heap)
    stamp = np.zeros(m, np.int64)  # iteration at which gains[j] was computed
    used_group: set = set()
    picks: list[int] = []
    gain_list: list[float] = []
    indptr, indices = A.indptr, A.indices
    it = 0
    evals = 0
    while heap and len(picks) < p:
        neg, j = heapq.heappop(heap)
        if g is not None and g[j] in used_group:
            continue
        if stamp[j] != it:
            cols = indices[indptr[j]:indptr[j + 1]]
            val = unc[cols].sum()
            evals += 1
            stamp[j] = it
            if val > 0:
                heapq.heappush(heap, (-val, j))
            continue
        if -neg <= 0:
            break
        cols = indices[indptr[j]:indptr[j + 1]]
        gain = unc[cols].sum()
        unc[cols] = 0.0
        picks.append(j)
        gain_list.append(gain)
        if g is not None:
            used_group.add(g[j])
        it += 1
    base = float(w[pre].sum())
    mg = np.asarray(gain_list, float)
    cum = base + np.cumsum(mg)
    return CoverResult(np.asarray(picks, np.int64), mg, cum, float(cum[-1]) if len(cum) else base,
                       float(w.sum()), base, np.nan, "greedy", {"evaluations": evals})


def _aggregate_demand(A, w, pre):
    """Drop pre-covered / zero / uncoverable demand and merge columns with identical coverage sets.

    Returns the reduced matrix (candidates × groups) and the summed weights.
    """
    keep = (~pre) & (w > 0)
    Ac = sp.csc_matrix(A[:, keep])
    wk = w[keep]
    cnt = np.diff(Ac.indptr)
    ok = cnt > 0
    Ac = Ac[:, ok]
    wk = wk[ok]
    if Ac.shape[1] == 0:
        return sp.csc_matrix((A.shape[0], 0)), wk
    rng = np.random.default_rng(12345)
    h = np.c_[Ac.T @ rng.random(A.shape[0]), Ac.T @ rng.random(A.shape[0])]
    _, first, inv = np.unique(h, axis=0, return_index=True, return_inverse=True)
    wg = np.bincount(inv.ravel(), wk, minlength=len(first))
    return Ac[:, first], wg


def mclp_exact(A, w, p: int, precovered=None, groups=None, *, time_limit: float = 60.0,
               warm_start=None, highs: HighsOptions | None = None) -> CoverResult:
    """Exact maximal covering location problem (MCLP, Church & ReVelle 1974) solved by HiGHS.

    Maximise ``Σ w_i y_i`` s.t. ``y_i ≤ Σ_{j covers i} x_j``, ``Σ x_j = p`` (or all candidates
    when fewer), ``Σ_{j∈g} x_j ≤ 1`` per group, ``x`` binary, ``0 ≤ y ≤ 1``.  Demand with the
    same covering set is merged first (exact; it only shrinks the model).

    Parameters
    ----------
    A, w, p, precovered, groups
        As in :func:`greedy_max_cover`.
    time_limit : float
        Seconds for HiGHS; on timeout the best solution and its bound are returned.
    warm_start : array-like of int, optional
        Candidate rows of a feasible solution (e.g. the greedy picks) given to HiGHS.
    highs : HighsOptions, optional
        MIP gap (default 0 = prove optimality) and threads.

    Returns
    -------
    CoverResult
        ``picks`` ascending, ``marginal_gain`` empty (rank them with :func:`rank_picks`),
        ``objective`` the covered weight including pre-covered demand, ``bound`` HiGHS's dual bound.
        ``info["greedy_gap"]`` is the relative gap of ``warm_start`` when given.
    """
    import time

    import highspy

    t0 = time.perf_counter()
    A, w, pre, g = _prep(A, w, precovered, groups)
    m, _ = A.shape
    base = float(w[pre].sum())
    Ar, wg = _aggregate_demand(A, w, pre)
    k = Ar.shape[1]
    if g is not None:
        _, gid = np.unique(g, return_inverse=True)
        n_groups = int(gid.max()) + 1 if m else 0
        p_eff = min(p, n_groups)
    else:
        p_eff = min(p, m)
    # columns: x_0..x_{m-1}, y_0..y_{k-1}
    c = np.r_[np.zeros(m), wg]
    lo = np.zeros(m + k)
    hi = np.ones(m + k)
    integ = np.r_[np.ones(m, bool), np.zeros(k, bool)]
    # rows: y_i - Σ x_j ≤ 0  (k rows);  Σ x = p;  group rows
    cover_rows = sp.hstack([-Ar.T.tocsr(), sp.identity(k, format="csr")], format="csr")
    rows = [cover_rows, sp.csr_matrix(np.r_[np.ones(m), np.zeros(k)][None, :])]
    rlo: list = [np.full(k, -np.inf), [p_eff]]
    rhi: list = [np.zeros(k), [p_eff]]
    if g is not None:
        G = sp.csr_matrix((np.ones(m), (gid, np.arange(m))), shape=(n_groups, m + k))
        rows.append(G)
        rlo.append(np.full(n_groups, -np.inf))
        rhi.append(np.ones(n_groups))
    M = sp.vstack(rows, format="csr")
    h = _highs(time_limit, highs)
    _pass_milp(h, (c, lo, hi, integ), (M, np.concatenate(rlo), np.concatenate(rhi)), sense_max=True)
    info = {"n_candidates": m, "n_demand": A.shape[1], "n_demand_merged": k}
    if warm_start is not None:
        ws = np.asarray(warm_start, np.int64)
        xs = np.zeros(m)
        xs[ws] = 1
        ys = np.minimum(1.0, Ar.T @ xs) if k else np.zeros(0)
        if len(ws) < p_eff:  # pad to the equality Σ x = p
            free = np.flatnonzero(xs == 0)
            if g is not None:
                taken = set(gid[ws].tolist())
                first_free = []  # one free row per group not yet taken
                for j in free.tolist():
                    if gid[j] not in taken:
                        taken.add(gid[j])
                        first_free.append(j)
                free = np.array(first_free, dtype=np.int64)
            xs[free[: p_eff - len(ws)]] = 1
        sol = highspy.HighsSolution()
        sol.col_value = list(np.r_[xs, ys])
        h.setSolution(sol)
    t1 = time.perf_counter()
    h.run()
    t2 = time.perf_counter()
    status = h.modelStatusToString(h.getModelStatus())
    x = np.asarray(h.getSolution().col_value)[:m]
    picks = np.flatnonzero(x > 0.5)
    covered = np.asarray(A[picks].sum(0)).ravel() > 0 if len(picks) else np.zeros(A.shape[1], bool)
    obj = float(w[covered | pre].sum())
    inf = h.getInfo()
    bound = base + float(inf.mip_dual_bound) if np.isfinite(inf.mip_dual_bound) else np.nan
    if status == "Optimal" and not np.isfinite(bound):
        bound = obj
    info.update({"build_s": t1 - t0, "solve_s": t2 - t1, "mip_gap": float(inf.mip_gap),
                 "nodes": int(inf.mip_node_count)})
    if warm_start is not None:
        ws = np.asarray(warm_start, np.int64)
        cov_ws = np.asarray(A[ws].sum(0)).ravel() > 0 if len(ws) else np.zeros(A.shape[1], bool)
        gobj = float(w[cov_ws | pre].sum())
        info["greedy_objective"] = gobj
        ref = bound if np.isfinite(bound) else obj
        info["greedy_gap"] = max(0.0, (ref - gobj) / ref) if ref > 0 else 0.0
    return CoverResult(picks, np.zeros(0), np.zeros(0), obj, float(w.sum()), base, bound, status, info)


def rank_picks(A, w, picks, precovered=None) -> CoverResult:
    """Order a fixed set of picks greedily (largest marginal gain first) and report each gain.

    Used to phase an exact solution: the first ``k`` of the ranking are a sensible phase 1.
    """
    A = sp.csr_matrix(A)[np.asarray(picks, np.int64)]
    r = greedy_max_cover(A, w, len(picks), precovered)
    rest = np.setdiff1d(np.arange(len(picks)), r.picks)  # zero-gain picks go last
    order = np.r_[r.picks, rest]
    mg = np.r_[r.marginal_gain, np.zeros(len(rest))]
    cum = r.precovered_weight + np.cumsum(mg)
    return CoverResult(np.asarray(picks, np.int64)[order], mg, cum, float(cum[-1]) if len(cum) else
                       r.precovered_weight, r.total_weight, r.precovered_weight, np.nan, "ranked")


def solve_cover(A, w, budget, precovered, groups, method, exact, time_limit):
    """Budgeted maximal covering as the recommenders solve it: the nested lazy greedy, checked
    against the exact HiGHS optimum when ``exact`` (or returned ranked when ``method="exact"``).

    Returns the chosen :class:`CoverResult` and a summary dict (objectives, bound, greedy gap).
    """
    g = greedy_max_cover(A, w, budget, precovered, groups)
    summary = {"greedy_objective": g.objective, "total_weight": g.total_weight,
               "precovered_weight": g.precovered_weight, "greedy_evaluations": g.info.get("evaluations")}
    chosen = g
    if exact or method == "exact":
        e = mclp_exact(A, w, budget, precovered, groups, time_limit=time_limit, warm_start=g.picks)
        summary.update({"optimum": e.objective, "bound": e.bound, "exact_status": e.status,
                        "greedy_gap": e.info.get("greedy_gap"), "exact_solve_s": e.info["solve_s"]})
        if method == "exact":
            chosen = rank_picks(A, w, e.picks, precovered)
            chosen.total_weight = g.total_weight
    if method not in ("greedy", "exact"):
        raise ValueError(f"method {method!r}: expected 'greedy' or 'exact'")
    summary["method"] = method
    return chosen, summary


def lscp_exact(A, precovered=None, groups=None, required=None, time_limit: float = 60.0,
               highs: HighsOptions | None = None) -> CoverResult:
    """Exact location set covering (LSCP, Toregas et al. 1971): fewest sites covering all demand.

    Parameters
    ----------
    A : scipy.sparse matrix, shape (n_candidates, n_demand)
        Coverage.
    precovered : array-like of bool, optional
        Demand already covered by existing sites (needs no new site).
    groups : array-like, optional
        At most one chosen row per group.
    required : array-like of bool, optional
        Demand that must be covered (default: all demand that any candidate can cover).
        Demand no candidate covers is reported in ``info["uncoverable"]``, never silently dropped.
    time_limit, highs
        As in :func:`mclp_exact`.

    Returns
    -------
    CoverResult
        ``picks`` (ascending), ``objective`` = number of sites.
    """
    import time

    t0 = time.perf_counter()
    n = sp.csr_matrix(A).shape[1]
    A, _w, pre, g = _prep(A, np.ones(n), precovered, groups)
    m = A.shape[0]
    req = np.ones(n, bool) if required is None else np.asarray(required, bool).ravel()
    coverable = np.asarray(A.sum(0)).ravel() > 0
    uncoverable = np.flatnonzero(req & ~pre & ~coverable)
    need = req & ~pre & coverable
    Ar, _ = _aggregate_demand(A, need.astype(float), ~need)
    k = Ar.shape[1]
    rows = [Ar.T.tocsr()]
    rlo = [np.ones(k)]
    rhi = [np.full(k, np.inf)]
    if g is not None:
        _, gid = np.unique(g, return_inverse=True)
        ng = int(gid.max()) + 1
        rows.append(sp.csr_matrix((np.ones(m), (gid, np.arange(m))), shape=(ng, m)))
        rlo.append(np.full(ng, -np.inf))
        rhi.append(np.ones(ng))
    h = _highs(time_limit, highs)
    _pass_milp(h, (np.ones(m), np.zeros(m), np.ones(m), np.ones(m, bool)),
               (sp.vstack(rows, format="csr"), np.concatenate(rlo), np.concatenate(rhi)), sense_max=False)
    t1 = time.perf_counter()
    h.run()
    status = h.modelStatusToString(h.getModelStatus())
    x = np.asarray(h.getSolution().col_value) if k else np.zeros(m)
    picks = np.flatnonzero(x > 0.5)
    inf = h.getInfo()
    return CoverResult(picks, np.zeros(0), np.zeros(0), float(len(picks)), float(n),
                       float(pre.sum()), float(inf.mip_dual_bound) if k else 0.0, status,
                       {"uncoverable": uncoverable, "build_s": t1 - t0,
                        "solve_s": time.perf_counter() - t1, "n_required": int(need.sum())})


def greedy_set_cover(A, precovered=None, required=None) -> CoverResult:
    """Greedy set cover (ln n approximation) — the fast counterpart of :func:`lscp_exact`."""
    n = sp.csr_matrix(A).shape[1]
    A, _, pre, _ = _prep(A, np.ones(n), precovered, None)
    req = np.ones(n, bool) if required is None else np.asarray(required, bool).ravel()
    coverable = np.asarray(A.sum(0)).ravel() > 0
    need = req & ~pre & coverable
    r = greedy_max_cover(A, need.astype(float), A.shape[0])
    return CoverResult(r.picks, r.marginal_gain, r.cumulative, float(len(r.picks)), float(need.sum()),
                       0.0, np.nan, "greedy", {"uncoverable": np.flatnonzero(req & ~pre & ~coverable)})


@dataclass
class PMedianResult:
    """Result of :func:`p_median`.

    Attributes
    ----------
    picks : numpy.ndarray of int
        Chosen candidate rows (ascending).
    assign : numpy.ndarray of int
        For each demand point, the chosen candidate row serving it (nearest open site).
    objective : float
        ``Σ w_i d(i, assign_i)`` in weight × metres.
    bound : float
        HiGHS dual bound (same units).
    status : str
    info : dict
    """

    picks: np.ndarray
    assign: np.ndarray
    objective: float
    bound: float
    status: str
    info: dict = field(default_factory=dict)


def p_median(D, w, p: int, max_dist: float | None = None, k_nearest: int | None = None,
             time_limit: float = 60.0, highs: HighsOptions | None = None) -> PMedianResult:
    """Exact p-median (Hakimi 1964; ReVelle & Swain 1970) by HiGHS.

    Minimise ``Σ_i Σ_j w_i d_ij z_ij`` s.t. ``Σ_j z_ij = 1``, ``z_ij ≤ x_j``, ``Σ x_j = p``.

    Parameters
    ----------
    D : array-like, shape (n_candidates, n_demand)
        Distances in metres (network or Euclidean); ``inf`` = not allowed.
    w : array-like, shape (n_demand,)
        Demand weights.
    p : int
        Number of facilities.
    max_dist : float, optional
        Assignments longer than this (metres) are not allowed (shrinks the model).
    k_nearest : int, optional
        Keep only each demand's ``k`` nearest candidates (a heuristic reduction; ``None`` keeps all).
    time_limit, highs
        As in :func:`mclp_exact`.

    Returns
    -------
    PMedianResult
    """
    import time

    t0 = time.perf_counter()
    D = np.asarray(D, float)
    w = np.asarray(w, float).ravel()
    m, n = D.shape
    if w.shape != (n,):
        raise ValueError(f"p_median: expected {n} demand weights, got {w.shape}")
    if not 1 <= p <= m:
        raise ValueError(f"p_median: p = {p} must be between 1 and the {m} candidates")
    allow = np.isfinite(D)
    if max_dist is not None:
        allow &= D <= max_dist
    if k_nearest is not None and k_nearest < m:
        kth = np.partition(np.where(np.isfinite(D), D, np.inf), k_nearest - 1, axis=0)[k_nearest - 1]
        allow &= D <= kth[None, :]
    bad = ~allow.any(0)
    if bad.any():
        raise ValueError(f"p_median: demand point {int(np.flatnonzero(bad)[0])} has no allowed candidate")
    jj, ii = np.nonzero(allow)  # z variables (candidate j, demand i)
    nz = len(jj)
    cost = np.r_[np.zeros(m), w[ii] * D[jj, ii]]
    # rows: Σ_j z_ij = 1 (n rows); z_ij - x_j ≤ 0 (nz rows); Σ x = p
    zcol = m + np.arange(nz)
    R1 = sp.csr_matrix((np.ones(nz), (ii, zcol)), shape=(n, m + nz))
    R2 = sp.csr_matrix((np.r_[np.ones(nz), -np.ones(nz)], (np.r_[np.arange(nz), np.arange(nz)], np.r_[zcol, jj])),
                       shape=(nz, m + nz))
    R3 = sp.csr_matrix(np.r_[np.ones(m), np.zeros(nz)][None, :])
    M = sp.vstack([R1, R2, R3], format="csr")
    h = _highs(time_limit, highs)
    _pass_milp(h, (cost, np.zeros(m + nz), np.ones(m + nz), np.r_[np.ones(m, bool), np.zeros(nz, bool)]),
               (M, np.r_[np.ones(n), np.full(nz, -np.inf), [p]], np.r_[np.ones(n), np.zeros(nz), [p]]), sense_max=False)
    t1 = time.perf_counter()
    h.run()
    status = h.modelStatusToString(h.getModelStatus())
    x = np.asarray(h.getSolution().col_value)[:m]
    picks = np.flatnonzero(x > 0.5)
    if len(picks) == 0:
        raise ValueError(f"p_median: no solution ({status}); with k_nearest={k_nearest} or max_dist={max_dist} "
                         "the restricted model may be infeasible — loosen them")
    Dp = np.where(allow[picks], D[picks], np.inf)
    assign = picks[Dp.argmin(0)]
    obj = float((w * D[assign, np.arange(n)]).sum())
    inf = h.getInfo()
    return PMedianResult(picks, assign, obj, float(inf.mip_dual_bound), status,
                         {"build_s": t1 - t0, "solve_s": time.perf_counter() - t1, "n_assign_vars": nz})
