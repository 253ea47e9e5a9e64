"""Placebo inference by pseudo-treated site sets drawn like the treated set (issue 18).

``evaluate(..., placebo="sites")``; not the default: on the null demo it over-rejects for 25-disc
sets and their rings (``bench/evaluation_calibration.py``, ``docs/evaluation.md``).

Random composites of comparison cells do not share what the treated sites share: sites are chosen
in busy places, and busy places drift against the rest of a city (and regress to their mean).  The
null distribution is therefore drawn *like the treated set*:

* a **pseudo-treated set** has as many sites as the treated set, each the same shape (a disc of
  ``radius_m`` with its ``ring_m`` ring, or the same polygon part with its band) moved elsewhere;
* sites closer than two reaches (800 m for a 150 m disc with a 400 m ring: their rings overlap)
  form one **unit** that moves as a whole by a translation, so clusters stay clusters;
* placements are cells of a square grid over the city (a quarter of the site's reach, 75–250 m;
  the treated sites snap to it, within ``spacing / √2``), and a placement is allowed only when every
  site of the unit lies on a grid point clear of the treated area and its ring (and of the areas of
  other interventions named with ``exclude``) by a whole reach, so no pseudo site or ring touches
  them;
* each unit draws its placement from its **busyness stratum**: the ``m`` placements whose mean
  ``log(1 + busyness)`` over the unit's sites is closest to the unit's own (with CPTED scores also
  closest in mean score), where ``m`` is 200 for one unit, ``ceil(200 / units)`` for several, at
  least 40 and at most a quarter of the placements.  Busyness is the pre-period count within two
  reaches of a site (a disc kernel on the grid), a neighbourhood measure, not the site's own count:
  strata cut on a site's own pre-period count pick places for their chance highs, which regress to
  the mean after the installation (on the demo's cameras the pseudo sets then fell 15 % against
  the comparison with no effect, and 4.7 % in the ring on the null demo);
* the units of one pseudo set stand at least one site diameter apart (at most ``MAX_TRIES``
  redraws);
* the pseudo set's area and ring are the unions of its sites' shapes and rings (an incident in one
  site's disc and another's ring counts as treated), discs counted by distance to the nearest
  pseudo site (the treated area's 32-gon polygons hold about 1.5 % fewer incidents at their edges,
  the same share before and after), polygon parts by the moved polygons;
* each pseudo set's DiD against **the same comparison** as the treated area (its matched cells)
  is one null estimate; the ring's null estimates are the pseudo rings against the same comparison.

Pseudo sets hold more or fewer incidents than the treated set, so each estimate is studentised by
its Poisson standard error widened by the extra-Poisson variance of the pseudo sets
(``z = d / sqrt(se² + tau²)``, :func:`rank_inference`).  The p-value is the two-sided rank of the
observed ``z`` among the null ``z_b``, ``min(1, 2 min(1 + #{z_b <= z}, 1 + #{z_b >= z}) / (1 + B))``,
and the 95 % interval inverts that test under a constant effect on the log scale,
``[est − s · q97.5(z_b), est − s · q2.5(z_b)]`` with ``s = sqrt(se² + tau²)``.  The comparison's term is common to the estimate
and every null estimate, so the test and the interval compare the treated area's change with the
changes of comparable places.  ``se · sd(z_b)`` gives the minimum detectable effect.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely
from scipy.signal import fftconvolve
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from qauipsiz.hotspot.evaluation.areas import Areas, EventTable, Template

M_MIN = 40  # smallest busyness stratum
M_ONE = 200  # stratum of a single site (its pseudo sites are the stratum itself)
MIN_SETS = 39  # fewer pseudo sets cannot give a 95 % interval of any use
LINK_REACHES = 2.0  # sites closer than two reaches (their rings overlap) move together, as one unit
BUSY_REACH = 2.0  # busyness: pre-period incidents within this many reaches of the anchor
MAX_TRIES = 30  # redraws of one pseudo site that lands too near another of its set


@dataclass
class PseudoCounts:
    """Pre- and post-period counts of the pseudo sets' areas and rings."""

    t_pre: np.ndarray
    t_post: np.ndarray
    r_pre: np.ndarray
    r_post: np.ndarray
    stratum_size: int
    n_candidates: int
    anchors: np.ndarray  # (n_sets, n_sites, 2) metres: where each pseudo set's sites stand


@dataclass
class _Pairs:
    """Events within a template's reach of each grid candidate (CSR by candidate)."""

    indptr: np.ndarray
    cand: np.ndarray  # candidate of each pair (int32)
    ev: np.ndarray  # event of each pair (int32)
    in_t: np.ndarray  # inside the site shape
    in_i: np.ndarray  # inside the ring's inner edge (disc of max(lo, radius), or the polygon)


def _spacing(reach: float) -> float:
    return float(np.clip(reach / 4.0, 75.0, 250.0))


def _grid(ev: EventTable, spacing: float) -> tuple[np.ndarray, tuple]:
    """Candidate anchors: a square grid of ``spacing`` metres inside the city, over the incidents'
    extent; with the raster it is cut from ``(x0, y0, spacing, shape, flat index of each anchor)``."""
    key = ("grid", spacing)
    if key not in ev.cache:
        x0, y0, x1, y1 = ev.x.min(), ev.y.min(), ev.x.max(), ev.y.max()
        gx, gy = np.meshgrid(np.arange(x0, x1 + spacing, spacing), np.arange(y0, y1 + spacing, spacing))
        pts = np.c_[gx.ravel(), gy.ravel()]
        inside = np.flatnonzero(shapely.contains_xy(ev.city.boundary_metric, pts[:, 0], pts[:, 1]))
        ev.cache[key] = (pts[inside], (float(x0), float(y0), spacing, gx.shape, inside))
    return ev.cache[key]


def _smoothed_busyness(ev: EventTable, raster: tuple, pre: np.ndarray, radius: float) -> np.ndarray:
    """Pre-period incidents within ``radius`` metres of every raster point (a disc kernel over the
    ``spacing`` raster, by FFT), flattened."""
    x0, y0, spacing, shape, _ = raster
    ix = np.rint((ev.x[pre] - x0) / spacing).astype(np.int64)
    iy = np.rint((ev.y[pre] - y0) / spacing).astype(np.int64)
    ok = (ix >= 0) & (ix < shape[1]) & (iy >= 0) & (iy < shape[0])
    h = np.bincount(iy[ok] * shape[1] + ix[ok], minlength=shape[0] * shape[1]).reshape(shape).astype(float)
    r = int(np.ceil(radius / spacing))
    ky, kx = np.mgrid[-r:r + 1, -r:r + 1]
    kernel = ((kx * spacing) ** 2 + (ky * spacing) ** 2 <= radius ** 2).astype(float)
    return np.clip(fftconvolve(h, kernel, mode="same"), 0.0, None).ravel()


def _event_tree(ev: EventTable) -> cKDTree:
    if "tree" not in ev.cache:
        ev.cache["tree"] = cKDTree(np.c_[ev.x, ev.y])
    return ev.cache["tree"]


def _pairs(ev: EventTable, tpl: Template) -> tuple[np.ndarray, tuple, _Pairs]:
    """Grid candidates of ``tpl``, their raster and, per candidate, the events its site or ring would
    hold (cached on ``ev``)."""
    spacing = _spacing(tpl.reach)
    grid, raster = _grid(ev, spacing)
    key = ("pairs", spacing, tpl.key)
    if key not in ev.cache:
        sd = cKDTree(grid).sparse_distance_matrix(_event_tree(ev), tpl.reach, output_type="ndarray")
        i, j, d = sd["i"], sd["j"], sd["v"]
        if tpl.kind == "disc":
            keep = d <= tpl.outer
            in_t, in_i = d <= tpl.radius, d <= tpl.inner
        else:
            rx, ry = ev.x[j] - grid[i, 0], ev.y[j] - grid[i, 1]
            in_t = shapely.contains_xy(tpl.treated, rx, ry)
            keep = in_t | shapely.contains_xy(tpl.ring_outer, rx, ry)
            in_i = in_t
        order = np.argsort(i[keep], kind="stable")
        ci = i[keep][order].astype(np.int32)
        indptr = np.searchsorted(ci, np.arange(len(grid) + 1)).astype(np.int64)
        ev.cache[key] = _Pairs(indptr, ci, j[keep][order].astype(np.int32), in_t[keep][order], in_i[keep][order])
    return grid, raster, ev.cache[key]


def stratum_size(n_sites: int, n_candidates: int) -> int:
    """Candidates per busyness stratum: 200 for one site, ``ceil(200 / n)``, at least 40, at most a
    quarter of the candidates."""
    m = M_ONE if n_sites <= 1 else max(M_MIN, math.ceil(M_ONE / n_sites))
    return int(max(1, min(m, n_candidates // 4)))


def _draw_sets(strata: list[np.ndarray], gxy: list[np.ndarray], min_gap: float, n_sets: int,
               rng: np.random.Generator) -> np.ndarray:
    """``n_sets`` rows of one candidate per site, distinct within a row and ``min_gap`` apart.

    Site ``k`` of every row takes the first of ``MAX_TRIES`` draws from its stratum that is clear
    of the row's sites ``0 … k−1`` (its last draw when none is)."""
    n = len(strata)
    out = np.empty((n_sets, n), np.int64)
    px, py = np.empty((n_sets, n)), np.empty((n_sets, n))
    rows = np.arange(n_sets)
    for k in range(n):
        s = strata[k]
        draws = s[rng.integers(len(s), size=(n_sets, MAX_TRIES))]
        if k == 0:
            pick = draws[:, 0]
        else:
            xs, ys = gxy[k][draws, 0], gxy[k][draws, 1]  # (sets, tries)
            d = np.hypot(xs[:, :, None] - px[:, None, :k], ys[:, :, None] - py[:, None, :k]).min(axis=2)
            same = (draws[:, :, None] == out[:, None, :k]).any(axis=2)
            ok = (d >= min_gap) & ~same
            first = np.where(ok.any(axis=1), np.argmax(ok, axis=1), MAX_TRIES - 1)
            pick = draws[rows, first]
        out[:, k] = pick
        px[:, k], py[:, k] = gxy[k][pick, 0], gxy[k][pick, 1]
    return out


def _gather(pr: _Pairs, cand: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the pairs of candidates ``cand`` (concatenated) and the row of each."""
    starts, ends = pr.indptr[cand], pr.indptr[cand + 1]
    lens = ends - starts
    tot = int(lens.sum())
    offs = np.cumsum(lens) - lens
    pos = np.repeat(starts - offs, lens) + np.arange(tot)
    return pos, np.repeat(np.arange(len(cand)), lens)


def _count_sets(sets: np.ndarray, pairs_of: list[_Pairs], pre: np.ndarray, post: np.ndarray) -> np.ndarray:
    """Pre/post counts of each set's area (union of its sites) and ring, shape (4, n_sets).

    Sets are processed in chunks as dense (sets × incidents) membership tables."""
    n_sets, n = sets.shape
    n_ev = len(pre)
    out = np.zeros((4, n_sets))
    chunk = max(1, 4_000_000 // max(n_ev, 1))
    for c0 in range(0, n_sets, chunk):
        sl = sets[c0:c0 + chunk]
        cs = len(sl)
        t_any = np.zeros((cs, n_ev), bool)
        i_any = np.zeros((cs, n_ev), bool)
        o_any = np.zeros((cs, n_ev), bool)
        for k in range(n):
            pr = pairs_of[k]
            pos, row = _gather(pr, sl[:, k])
            e = pr.ev[pos]
            o_any[row, e] = True
            ft, fi = pr.in_t[pos], pr.in_i[pos]
            t_any[row[ft], e[ft]] = True
            i_any[row[fi], e[fi]] = True
        o_any &= ~(i_any | t_any)  # the ring
        for row0, member in ((0, t_any), (2, o_any)):
            idx = np.flatnonzero(member)
            r, e = np.divmod(idx, n_ev)
            out[row0, c0:c0 + cs] = np.bincount(r, weights=pre[e], minlength=cs)
            out[row0 + 1, c0:c0 + cs] = np.bincount(r, weights=post[e], minlength=cs)
    return out


def pseudo_counts(ev: EventTable, areas: Areas, pre: np.ndarray, post: np.ndarray, n_sets: int,
                  rng: np.random.Generator, score_at=None) -> PseudoCounts | None:
    """Counts of ``n_sets`` pseudo-treated site sets and their rings (see the module docstring).

    Parameters
    ----------
    ev : EventTable
        Prepared incidents (candidate pairs are cached on it for later evaluations).
    areas : Areas
        The treated area, its ring and its sites (anchors and templates).
    pre, post : ndarray of bool, shape (n_events,)
        Incidents in the pre- and post-period.
    n_sets : int
        Pseudo sets wanted.
    rng : numpy.random.Generator
    score_at : callable, optional
        ``score_at(x, y) -> ndarray`` (metric coordinates) of a place covariate such as the block
        CPTED score (0–100); when given, strata are nearest in busyness *and* score (each on its
        standard deviation over the candidates).

    Returns
    -------
    PseudoCounts or None
        None when the site sets cannot be drawn (no sites, or fewer than ``4 · MIN_SETS``
        candidates clear of the treated area and ring).
    """
    n = len(areas.site_templates)
    if n == 0 or n_sets < MIN_SETS:
        return None
    reach = max(t.reach for t in areas.site_templates)
    taken = [areas.treated, areas.ring] + ([areas.other] if areas.other is not None else [])
    clear_zone = shapely.buffer(shapely.union_all(taken), reach)
    shapely.prepare(clear_zone)
    groups: dict[tuple, list[int]] = {}
    for k, tpl in enumerate(areas.site_templates):
        groups.setdefault(tpl.key, []).append(k)
    units = [(areas.site_templates[idx[0]], np.asarray(idx)[cl]) for idx in groups.values()
             for cl in _clusters(areas.site_xy[idx], LINK_REACHES * areas.site_templates[idx[0]].reach)]
    strata, anchor_xy, site_cells = [], [], []
    m_used, n_place = 0, 0
    maps: dict[tuple, tuple] = {}
    for tpl, sites in units:
        if tpl.key not in maps:
            maps[tpl.key] = _template_maps(ev, tpl, clear_zone, pre, score_at)
        _, raster, pr, elig2d, key2d, score2d, cand_of = maps[tpl.key]
        x0, y0, sp, (ny, nx), _ = raster
        cells = np.c_[np.clip(np.rint((areas.site_xy[sites, 1] - y0) / sp), 0, ny - 1),
                      np.clip(np.rint((areas.site_xy[sites, 0] - x0) / sp), 0, nx - 1)].astype(np.int64)
        off = cells - cells[0]
        valid = np.ones((ny, nx), bool)
        acc = np.zeros((ny, nx))
        for dy, dx in off:
            valid &= _shift(elig2d, dy, dx, False)
            acc += _shift(key2d, dy, dx, 0.0)
        place = np.flatnonzero(valid)
        if len(place) < 4 * MIN_SETS:
            return None
        key_p = acc.ravel()[place] / len(sites)
        key_u = float(key2d[cells[:, 0], cells[:, 1]].mean())
        dist = ((key_p - key_u) / (float(key_p.std()) or 1.0)) ** 2 + rng.random(len(place)) * 1e-9
        if score2d is not None:
            s_u = float(np.nanmean(np.r_[np.asarray(score_at(areas.site_xy[sites, 0], areas.site_xy[sites, 1]),
                                                    float), np.nan]))
            if np.isfinite(s_u):
                tot, cnt = np.zeros((ny, nx)), np.zeros((ny, nx))
                for dy, dx in off:
                    sh = _shift(score2d, dy, dx, np.nan)
                    tot += np.nan_to_num(sh)
                    cnt += np.isfinite(sh)
                s_p = (tot / np.maximum(cnt, 1)).ravel()[place]
                s_p[cnt.ravel()[place] == 0] = np.nan
                dist = dist + np.nan_to_num(((s_p - s_u) / (float(np.nanstd(s_p)) or 1.0)) ** 2, nan=4.0)
        m = stratum_size(len(units), len(place))
        m_used, n_place = max(m_used, m), max(n_place, len(place))
        strata.append(place[np.argpartition(dist, m - 1)[:m]] if m < len(place) else place)
        iy, ix = np.divmod(np.arange(ny * nx), nx)
        anchor_xy.append(np.c_[x0 + ix * sp, y0 + iy * sp])
        site_cells.append((sites, off[:, 0] * nx + off[:, 1], cand_of, pr))
    gaps = [t.radius if t.kind == "disc" else float(shapely.hausdorff_distance(shapely.Point(0, 0), t.treated))
            for t in areas.site_templates]
    min_gap = 2.0 * max(gaps) if len(units) > 1 else 0.0
    drawn = _draw_sets(strata, anchor_xy, min_gap, n_sets, rng)  # (n_sets, units): anchor raster cells
    sets = np.empty((n_sets, n), np.int64)
    pairs_of: list[_Pairs] = [None] * n  # type: ignore[list-item]
    for u, (sites, flat_off, cand_of, pr) in enumerate(site_cells):
        sets[:, sites] = cand_of[drawn[:, u][:, None] + flat_off[None, :]]
        for k in sites:
            pairs_of[k] = pr
    out = _count_sets(sets, pairs_of, pre, post)
    anchors = np.stack([maps[areas.site_templates[k].key][0][sets[:, k]] for k in range(n)], axis=1)
    return PseudoCounts(out[0], out[1], out[2], out[3], m_used, n_place, anchors)


def _clusters(xy: np.ndarray, link: float) -> list[np.ndarray]:
    """Groups of sites linked by distances below ``link`` metres (connected components)."""
    n = len(xy)
    if n == 1:
        return [np.zeros(1, np.int64)]
    pairs = cKDTree(xy).query_pairs(link, output_type="ndarray")
    g = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n))
    _, lab = connected_components(g, directed=False)
    return [np.flatnonzero(lab == c) for c in range(lab.max() + 1)]


def _shift(a: np.ndarray, dy: int, dx: int, fill) -> np.ndarray:
    """``out[y, x] = a[y + dy, x + dx]`` where that exists, else ``fill``."""
    ny, nx = a.shape
    out = np.full(a.shape, fill, dtype=a.dtype)
    ys, xs = slice(max(0, -dy), min(ny, ny - dy)), slice(max(0, -dx), min(nx, nx - dx))
    yi, xi = slice(max(0, dy), min(ny, ny + dy)), slice(max(0, dx), min(nx, nx + dx))
    if ys.start < ys.stop and xs.start < xs.stop:
        out[ys, xs] = a[yi, xi]
    return out


def _template_maps(ev: EventTable, tpl: Template, clear_zone, pre: np.ndarray, score_at) -> tuple:
    """Per raster cell of the template's grid: eligible as a site, ``log(1 + busyness)``, score."""
    grid, raster, pr = _pairs(ev, tpl)
    _, _, _, (ny, nx), kept = raster
    elig = np.zeros(ny * nx, bool)
    elig[kept] = ~shapely.contains_xy(clear_zone, grid[:, 0], grid[:, 1])
    key = np.log1p(_smoothed_busyness(ev, raster, pre, BUSY_REACH * tpl.reach))
    cand_of = np.full(ny * nx, -1, np.int64)
    cand_of[kept] = np.arange(len(kept))
    score = None
    if score_at is not None:
        score = np.full(ny * nx, np.nan)
        score[kept] = np.asarray(score_at(grid[:, 0], grid[:, 1]), float)
        score = score.reshape(ny, nx)
    return grid, raster, pr, elig.reshape(ny, nx), key.reshape(ny, nx), score, cand_of


def rank_inference(est: float, se: float, null: np.ndarray, null_se: np.ndarray) -> tuple[float, tuple[float, float], float, float]:
    """Two-sided rank p-value, 95 % interval, spread and centre from studentised null estimates.

    Pseudo sets hold more or fewer incidents than the treated area, so their estimates are more or
    less noisy; each estimate is therefore divided by its standard error, the Poisson one plus the
    extra-Poisson variance the pseudo sets show, ``tau² = max(0, var(d_b) − mean(se_b²))`` (method
    of moments): ``z = d / sqrt(se² + tau²)``, and the null distribution of ``z`` is scaled back by
    the treated area's ``sqrt(se² + tau²)``.

    Parameters
    ----------
    est, se : float
        Observed estimate and its Poisson standard error (log scale).
    null, null_se : ndarray
        Null estimates and their Poisson standard errors (log scale), one per pseudo set.

    Returns
    -------
    (p, (lo, hi), sd, centre)
        ``p = min(1, 2 min(1 + #{z_b <= z}, 1 + #{z_b >= z}) / (1 + B))`` with ``z = est / s``,
        ``s = sqrt(se² + tau²)``; the interval ``[est − s · q97.5(z_b), est − s · q2.5(z_b)]`` (log
        scale, the test inverted under a constant effect); ``s · sd(z_b)`` and ``s · median(z_b)``.
    """
    d, se_b = np.asarray(null, float), np.asarray(null_se, float)
    tau2 = max(0.0, float(d.var(ddof=1) - np.mean(se_b ** 2)))  # extra-Poisson variance, method of moments
    se_b = np.sqrt(se_b ** 2 + tau2)
    se = math.sqrt(se ** 2 + tau2)
    zb = d / se_b
    z = est / se
    tol = 1e-12
    lo_rank = 1 + np.count_nonzero(zb <= z + tol)
    hi_rank = 1 + np.count_nonzero(zb >= z - tol)
    p = float(min(1.0, 2.0 * min(lo_rank, hi_rank) / (1 + len(zb))))
    q_lo, q_hi = np.quantile(zb, [0.025, 0.975])
    return p, (float(est - se * q_hi), float(est - se * q_lo)), float(se * zb.std(ddof=1)), float(se * np.median(zb))
