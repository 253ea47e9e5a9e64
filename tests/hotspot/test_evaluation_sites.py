"""Pseudo-treated site sets (issue 18, ``placebo="sites"``): exact counts, clear of the treated
area, busyness strata, the rank test and its interval, the ring's rule on a demo with every effect
zeroed, block-score matching (either design)."""
from __future__ import annotations

import json
import statistics

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from scipy.spatial import cKDTree

from qauipsiz.hotspot.cities import get_city
from qauipsiz.hotspot.evaluation import (
    BlockScores,
    build_areas,
    evaluate,
    evaluate_prepared,
    prepare_events,
)
from qauipsiz.hotspot.evaluation.areas import in_area
from qauipsiz.hotspot.evaluation.engine import make_design
from qauipsiz.hotspot.evaluation.sites import pseudo_counts, rank_inference


@pytest.fixture(scope="module")
def null_demo(tmp_path_factory):
    """The full demo generated with every planted effect zeroed (same sites and dates, nothing moved)."""
    from qauipsiz.hotspot.demo import generate
    from qauipsiz.hotspot.demo.interventions import zero_effects

    out = tmp_path_factory.mktemp("null_demo")
    with zero_effects():
        generate(out)
    truth = {g["group"]: g for g in json.loads((out / "interventions_truth.json").read_text("utf-8"))}
    assert all(g["moved_out"] == 0 and g["moved_into_ring"] == 0 for g in truth.values())
    return out, pd.read_parquet(out / "incidents_truth.parquet"), truth


def _sites(folder, g):
    lay = gpd.read_file(folder / "layers" / f"{g['layer']}.geojson")
    return shapely.union_all(lay[lay[g["id_col"]].isin(g["ids"])].geometry.values)


def _periods(ev, design):
    p = np.searchsorted(design.edges, ev.t_days, side="right") - 1
    return (p >= 0) & (p < design.p_pre), (p >= design.p_pre) & (p < len(design.edges) - 1)


def test_rank_inference_by_hand():
    rng = np.random.default_rng(4)
    null = rng.normal(0.05, 0.1, 999)
    se_b = rng.uniform(0.05, 0.2, 999)
    est, se = 0.3, 0.1
    p, (lo, hi), sd, centre = rank_inference(est, se, null, se_b)
    # studentised with the Poisson error widened by the extra-Poisson variance the null shows
    tau2 = max(0.0, statistics.variance(null.tolist()) - float(np.mean(se_b ** 2)))
    s_obs = (se ** 2 + tau2) ** 0.5
    zb, z = null / np.sqrt(se_b ** 2 + tau2), est / s_obs
    below = sum(1 for v in zb if v <= z)  # plain loop, independent of the vectorised count
    above = sum(1 for v in zb if v >= z)
    assert p == pytest.approx(min(1.0, 2 * min(1 + below, 1 + above) / 1000))
    assert (lo, hi) == pytest.approx((est - s_obs * np.percentile(zb, 97.5), est - s_obs * np.percentile(zb, 2.5)))
    assert sd == pytest.approx(s_obs * np.std(zb, ddof=1)) and centre == pytest.approx(s_obs * np.median(zb))
    # the interval is the test inverted: effects inside it are not rejected, effects well outside are
    for theta, inside in ((0.5 * (lo + hi), True), (lo - 0.05, False), (hi + 0.05, False)):
        p_theta = rank_inference(est - theta, se, null, se_b)[0]
        assert (p_theta >= 0.05) == inside, (theta, p_theta)


def test_pseudo_sets_are_counted_exactly_and_stay_clear(full_demo_truth):
    """Each pseudo set's area and ring, recounted by distance to its sites (and with build_areas'
    polygons), give the counts the vectorised tables gave; no pseudo site or ring touches the
    treated area or its ring; strata stand in neighbourhoods as busy as the sites'."""
    folder = full_demo_truth.parent
    truth = {g["group"]: g for g in json.loads((folder / "interventions_truth.json").read_text("utf-8"))}
    city = get_city("astana")
    ev = prepare_events(pd.read_parquet(full_demo_truth), city, ["theft"])
    areas = build_areas(_sites(folder, truth["cameras"]), city)
    design = make_design(ev, "2025-06-01", 17, 7)
    pre, post = _periods(ev, design)
    pc = pseudo_counts(ev, areas, pre, post, 60, np.random.default_rng(0))
    assert pc is not None and pc.anchors.shape == (60, 25, 2) and pc.stratum_size >= 40
    for b in range(0, 60, 12):
        got = np.array([pc.t_pre[b], pc.t_post[b], pc.r_pre[b], pc.r_post[b]])
        # exact: an incident is treated within 150 m of the set's nearest site, ring within 150-400 m
        near = cKDTree(pc.anchors[b]).query(np.c_[ev.x, ev.y])[0]
        in_t, in_r = near <= 150.0, (near > 150.0) & (near <= 400.0)
        assert got.tolist() == [(in_t & pre).sum(), (in_t & post).sum(), (in_r & pre).sum(), (in_r & post).sum()]
        # the polygons build_areas makes (32-gon discs, as the real treated area is counted) hold the same to 3 %
        lon, lat = city.to_wgs84(pc.anchors[b, :, 0], pc.anchors[b, :, 1])
        a = build_areas(shapely.multipoints(np.c_[lon, lat]), city)
        poly_t, poly_r = in_area(ev, a.treated), in_area(ev, a.ring)
        ref = np.array([(poly_t & pre).sum(), (poly_t & post).sum(), (poly_r & pre).sum(), (poly_r & post).sum()])
        assert np.all(np.abs(got - ref) <= np.maximum(2, 0.03 * ref)), (got, ref)
    flat = pc.anchors.reshape(-1, 2)
    gap = shapely.distance(shapely.union(areas.treated, areas.ring), shapely.points(flat))
    assert gap.min() > 400.0 - 1e-6  # a pseudo site's ring reaches 400 m: it never touches either
    # strata: the pseudo sites stand in neighbourhoods as busy as the cameras' (pre-period thefts
    # within 800 m, counted here with a KD-tree), though their own discs are quieter than the 25
    # busiest theft spots of the city the demo put its cameras on
    tree = cKDTree(np.c_[ev.x, ev.y][pre])
    hood = tree.query_ball_point(areas.site_xy, 800.0, return_length=True).mean()
    pseudo_hood = tree.query_ball_point(flat, 800.0, return_length=True).mean()
    assert 0.67 < pseudo_hood / hood < 1.5, (pseudo_hood, hood)
    assert 0.15 < pc.t_pre.mean() / (in_area(ev, areas.treated) & pre).sum() < 1.0


def test_ring_rule_and_calibration_on_the_null_demo(null_demo):
    """With no effect planted anywhere, the demo's 25 camera sites show no effect in their discs or
    ring; the ring is compared with the treated area's comparison (one rule) and tested against the
    pseudo rings; a small seeded batch of random 25-disc sets rarely rejects either."""
    folder, events, truth = null_demo
    city = get_city("astana")
    ev = prepare_events(events, city, ["theft"])
    r = evaluate_prepared(ev, build_areas(_sites(folder, truth["cameras"]), city), "2025-06-01", before_months=17,
                          after_months=7, with_synth=False, placebo="sites")
    d, t, ring = r.to_dict(), r.treated_estimate, r.ring_estimate
    assert d["placebo_design"] == "sites"
    assert ring.comp_idx is t.comp_idx and (ring.comp_pre, ring.comp_post) == (t.comp_pre, t.comp_post)
    assert d["p_value"] >= 0.05 and d["ci_low_pct"] <= 0 <= d["ci_high_pct"], d
    assert d["ring_p_value"] >= 0.05 and d["ring_ci_low_pct"] <= 0 <= d["ring_ci_high_pct"], d
    assert d["wdq_reading"] in ("none", "not_applicable")
    rng = np.random.default_rng(18)
    p_t, p_r = [], []
    for i in range(12):
        j = rng.choice(len(ev.x), 25, replace=False)
        lon, lat = city.to_wgs84(ev.x[j], ev.y[j])
        day = pd.Timestamp("2025-03-01") + pd.Timedelta(days=int(rng.integers(0, 92)))
        res = evaluate_prepared(ev, build_areas(shapely.multipoints(np.c_[lon, lat]), city), day, before_months=14,
                                after_months=7, seed=i, n_placebo=199, with_synth=False, placebo="sites")
        p_t.append(res.treated_estimate.p_value)
        p_r.append(res.ring_estimate.p_value)
    assert sum(p < 0.05 for p in p_t) <= 2 and sum(p < 0.05 for p in p_r) <= 2, (p_t, p_r)
    assert np.median(p_t) > 0.2 and np.median(p_r) > 0.2


def test_block_scores_lookup_matches_geopandas():
    city = get_city("astana")
    rng = np.random.default_rng(2)
    x0, y0 = city.to_metric(71.43, 51.13)
    boxes = [shapely.box(x0 + i * 300, y0 + j * 300, x0 + i * 300 + 250, y0 + j * 300 + 250)
             for i in range(6) for j in range(6)]
    scores = rng.uniform(0, 100, len(boxes))
    wgs = shapely.transform(np.asarray(boxes, dtype=object), lambda xy: np.c_[city.to_wgs84(xy[:, 0], xy[:, 1])])
    bs = BlockScores.from_wgs84(wgs, scores, city, max_gap_m=40.0)
    px, py = x0 + rng.uniform(-100, 1900, 400), y0 + rng.uniform(-100, 1900, 400)
    got = bs.at(px, py)
    blocks = gpd.GeoDataFrame({"score": scores}, geometry=boxes, crs=city.epsg)
    pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(px, py), crs=city.epsg)
    ref = gpd.sjoin_nearest(pts, blocks, how="left", max_distance=40.0).groupby(level=0)["score"].first()
    np.testing.assert_allclose(got, ref.reindex(range(400)).to_numpy(), rtol=1e-6, equal_nan=True)
    assert np.isnan(got).any() and np.isfinite(got).sum() > 300  # gaps between blocks are > 40 m in places
    with pytest.raises(ValueError, match="block scores"):
        BlockScores.from_wgs84(wgs, [np.nan] * len(boxes), city)


def test_matching_on_block_scores_picks_cells_of_similar_score(full_demo_truth):
    """Planted covariate: the city's blocks east of the cameras' median longitude score 90, the rest
    10.  Matched on it, the comparison cells' mean score moves towards the cameras' own."""
    folder = full_demo_truth.parent
    truth = {g["group"]: g for g in json.loads((folder / "interventions_truth.json").read_text("utf-8"))}
    city = get_city("astana")
    ev = prepare_events(pd.read_parquet(full_demo_truth), city, ["theft"])
    sites = _sites(folder, truth["cameras"])
    areas = build_areas(sites, city)
    cut = float(np.median(areas.site_xy[:, 0]))
    x0, y0, x1, y1 = shapely.bounds(city.boundary_metric)
    west, east = shapely.box(x0, y0, cut, y1), shapely.box(cut, y0, x1, y1)
    wgs = shapely.transform(np.asarray([west, east], dtype=object),
                            lambda xy: np.c_[city.to_wgs84(xy[:, 0], xy[:, 1])])
    bs = BlockScores.from_wgs84(wgs, [10.0, 90.0], city)
    target = bs.mean_at(areas.site_xy[:, 0], areas.site_xy[:, 1])
    assert 10 < target < 90

    def comp_score(block_scores):
        r = evaluate_prepared(ev, areas, "2025-06-01", before_months=17, after_months=7, with_synth=False,
                              with_ring=False, n_placebo=99, block_scores=block_scores)
        pool = ~shapely.contains_xy(areas.exclusion, ev.cell_x, ev.cell_y)
        idx = np.flatnonzero(pool)[r.treated_estimate.comp_idx]
        return r, float(np.mean(bs.at(ev.cell_x[idx], ev.cell_y[idx])))

    plain, s_plain = comp_score(None)
    matched, s_matched = comp_score(bs)
    assert matched.to_dict()["match_cpted"] and not plain.to_dict()["match_cpted"]
    assert abs(s_matched - target) < abs(s_plain - target)


@pytest.mark.parametrize(("group", "before", "after"), [("cameras", 17, 7), ("lamps", 12, 12),
                                                        ("placebo_cameras", 14, 8)])
def test_default_design_on_the_null_demo(null_demo, group, before, after):
    """The default design (cell composites; every unit, the ring too, through the same rule of
    ``did.estimate_unit``) on the demo's three groups with every effect zeroed: neither the treated
    area nor the ring is significant, both intervals hold 0.  The lamps (after dark, 12 / 12) sit at
    the minimum-detectable-effect guard (MDE 20.3 % with composites thinned to the unit's size,
    19.8 % before), so their treated estimate is checked raw: it is computed also when not reported."""
    folder, events, truth = null_demo
    g = truth[group]
    r = evaluate(events, _sites(folder, g), g["installed"], city=get_city("astana"), categories=g["categories"],
                 dark_only=g["dark_only"], before_months=before, after_months=after)
    d, t = r.to_dict(), r.treated_estimate
    assert d["placebo_design"] == "composites" and (d["decidable"] or group == "lamps"), d
    assert d["decidable"] == (d["mde_pct"] <= 20), d
    assert t.p_value >= 0.05 and t.ci[0] <= 0 <= t.ci[1], d
    if d["decidable"]:
        assert d["p_value"] >= 0.05 and d["ci_low_pct"] <= 0 <= d["ci_high_pct"], d
    assert d["ring_p_value"] >= 0.05 and d["ring_ci_low_pct"] <= 0 <= d["ring_ci_high_pct"], d
    assert d["wdq_reading"] in ("none", "not_applicable")


def test_sites_chosen_on_recent_incidents_regress_to_the_mean(null_demo):
    """Selection on the pre-period (docs/evaluation.md, assumptions): with no effect anywhere, 25
    discs centred on incidents of their own pre-period fall against the comparison, discs centred on
    post-period incidents rise, by about the one incident per disc each carries (1/k of the disc's
    pre- or post-period count, plus its near repeats); the same days and discs' surroundings."""
    _, events, _ = null_demo
    city = get_city("astana")
    ev = prepare_events(events, city, ["theft"])
    rng = np.random.default_rng(1818)
    diffs, predicted = [], []
    for i in range(10):
        day = pd.Timestamp("2025-03-01") + pd.Timedelta(days=int(rng.integers(0, 92)))
        d = make_design(ev, day, 14, 7)
        pre, post = _periods(ev, d)
        est = {}
        for name, pool in (("pre", pre), ("post", post)):
            j = rng.choice(np.flatnonzero(pool), 25, replace=False)
            lon, lat = city.to_wgs84(ev.x[j], ev.y[j])
            r = evaluate_prepared(ev, build_areas(shapely.multipoints(np.c_[lon, lat]), city), day, before_months=14,
                                  after_months=7, seed=i, n_placebo=19, with_synth=False, with_ring=False)
            t = r.treated_estimate
            assert t.unit_pre >= 25 if name == "pre" else t.unit_post >= 25  # every centre is counted
            est[name] = t.est
            predicted.append(25 / t.unit_pre if name == "pre" else 25 / t.unit_post)
        diffs.append(est["pre"] - est["post"])
    expected = -float(np.mean(predicted)) * 2  # one extra incident in the pre-period of one, post of the other
    got = float(np.mean(diffs))
    assert got < -0.02, (got, expected)  # a clear fall of pre-chosen sites against post-chosen ones
    assert 0.4 * expected > got > 2.5 * expected, (got, expected)
