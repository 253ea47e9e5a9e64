"""Generated police beats (hotspot.beats): 3,000–5,000 residents per beat where the district allows,
beats tile each district without gap or overlap (shapely), compact, deterministic for a seed.
Planted ground truth (uniform residents in a known polygon) and the real Astana districts with the
official district population spread by the demo's residential floor area."""
from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import Polygon

from qauipsiz.hotspot.beats import beats_count, generate_beats, official_beats

ROOT = Path(__file__).resolve().parents[2]
UTM = 32642


def _tiling(beats: gpd.GeoDataFrame, district) -> tuple[float, float]:
    """(|union − district| area, Σ areas − union area), in m², metric CRS."""
    g = np.asarray(beats.to_crs(UTM).geometry.values, dtype=object)
    union = shapely.union_all(g)
    return (shapely.symmetric_difference(union, district).area, float(shapely.area(g).sum()) - union.area)


def test_beats_count_brute_force():
    for pop in [500, 2999, 3000, 4000, 5000, 5500, 7000, 9000, 10_001, 212_490, 281_110]:
        k = beats_count(pop)
        feasible = [j for j in range(1, 200) if 3000 <= pop / j <= 5000]
        if feasible:
            assert k in feasible
            assert abs(pop / k - 4000) == min(abs(pop / j - 4000) for j in feasible)
        else:
            assert k >= 1
    assert beats_count(0) == 1 and beats_count(float("nan")) == 1


def test_planted_uniform_district():
    """An L-shaped 6 km² district, 100,000 residents spread over 5,000 uniform homes: 25 beats of
    3,000–5,000, tiling it exactly, compact."""
    rng = np.random.default_rng(3)
    x0, y0 = 500_000.0, 5_660_000.0
    poly = Polygon([(x0, y0), (x0 + 3000, y0), (x0 + 3000, y0 + 1000), (x0 + 1000, y0 + 1000),
                    (x0 + 1000, y0 + 3000), (x0, y0 + 3000)])
    pts = np.c_[rng.uniform(x0, x0 + 3000, 20_000), rng.uniform(y0, y0 + 3000, 20_000)]
    pts = pts[shapely.contains_xy(poly, pts[:, 0], pts[:, 1])][:5000]
    homes = gpd.GeoDataFrame({"weight": np.ones(len(pts))}, geometry=gpd.points_from_xy(pts[:, 0], pts[:, 1]),
                             crs=UTM)
    d = gpd.GeoDataFrame({"district": ["x"]}, geometry=[poly], crs=UTM)
    b = generate_beats(d, {"x": 100_000}, homes, UTM)
    assert len(b) == 25 and b["beat_id"].is_unique
    assert b["residents"].between(3000, 5000).all(), b["residents"].describe()
    assert b["residents"].sum() == pytest.approx(100_000, abs=25)
    gap, overlap = _tiling(b, poly)
    assert gap < 1.0 and overlap < 1.0  # m²
    # residents counted independently: homes inside each beat × 20 residents per home
    bm = b.to_crs(UTM)
    for g, n in zip(bm.geometry, bm["residents"], strict=True):
        inside = shapely.contains_xy(g, pts[:, 0], pts[:, 1]).sum()
        assert abs(inside * 20 - n) <= 20
    assert b["compactness"].median() >= 0.5 and b["compactness"].min() >= 0.2
    # planted ground truth of compactness: a square is 0.785, our value is 4πA/P²
    sq = gpd.GeoDataFrame({"district": ["s"]}, geometry=[shapely.box(x0, y0, x0 + 100, y0 + 100)], crs=UTM)
    one = generate_beats(sq, {"s": 4000}, None, UTM)
    assert len(one) == 1 and one["compactness"].iloc[0] == pytest.approx(np.pi / 4, abs=1e-3)


def test_deterministic_for_a_seed_and_random_points_without_homes():
    d = gpd.GeoDataFrame({"district": ["a"]}, geometry=[shapely.box(0, 0, 4000, 2500)], crs=UTM)
    a = generate_beats(d, {"a": 40_000}, None, UTM, seed=5)
    b = generate_beats(d, {"a": 40_000}, None, UTM, seed=5)
    c = generate_beats(d, {"a": 40_000}, None, UTM, seed=6)
    assert a.geometry.geom_equals_exact(b.geometry, 0).all() and (a["residents"] == b["residents"]).all()
    assert len(a) == len(c) == 10
    assert not a.geometry.geom_equals_exact(c.geometry, 1e-9).all()
    assert a["residents"].between(3000, 5000).all()


@pytest.fixture(scope="module")
def astana(full_demo_truth):
    """Astana's beats from the demo's buildings (the full demo as `qauipsiz demo` makes it; the
    session fixture generates it, so a clean checkout needs no `make demo`)."""
    from qauipsiz.hotspot.cities import get_city

    c = get_city("astana")
    t = pd.read_csv(ROOT / "data" / "population" / "astana_district_population_reference_v2.csv")
    name = {"Almaty": "almaty", "Saraiyshyq": "saraishyk", "Esil": "esil", "Nura": "nura",
            "Saryarqa": "saryarka", "Bayqoñyr": "baikonur"}
    pop = {name[r.district_name]: float(r.official_population) for r in t.itertuples() if r.district_name in name}
    assert len(pop) == 6
    b = gpd.read_file(full_demo_truth.parent / "layers" / "buildings.geojson")
    b = b[b["use"] == "residential"].copy()
    b["weight"] = b.to_crs(UTM).area.to_numpy() * b["levels"].astype(float).to_numpy()
    beats = generate_beats(c.districts, pop, b, UTM, seed=1)
    return c, pop, b, beats


def test_astana_beats_residents_tiling_compactness(astana):
    c, pop, homes, beats = astana
    assert beats["beat_id"].is_unique
    for key, total in pop.items():
        mine = beats[beats["district"] == key]
        assert mine["residents"].sum() == pytest.approx(total, abs=len(mine))
        district = c.districts.to_crs(UTM).set_index("district").geometry[key]
        gap, overlap = _tiling(mine, shapely.make_valid(district))
        assert gap < 1e-6 * district.area and overlap < 1e-6 * district.area, key
        # where the district allows: a beat leaves 3,000–5,000 only by less than its largest home
        hm = homes.to_crs(UTM)
        cen = hm.geometry.centroid
        inside = shapely.contains_xy(district, cen.x.to_numpy(), cen.y.to_numpy())
        w = hm["weight"].to_numpy()[inside]
        biggest = w.max() / w.sum() * total
        off = np.maximum(3000 - mine["residents"], mine["residents"] - 5000)
        assert (off <= biggest).all(), (key, mine["residents"].min(), mine["residents"].max(), biggest)
    share_ok = beats["residents"].between(3000, 5000).mean()
    assert share_ok >= 0.97
    assert beats["compactness"].median() >= 0.5 and (beats["compactness"] >= 0.2).mean() >= 0.9


def test_official_layer_is_normalised_and_checked():
    g = gpd.GeoDataFrame({"name": ["A-1", "A-2"], "residents": [3500, 4200]},
                         geometry=[shapely.box(71.40, 51.10, 71.41, 51.11), shapely.box(71.41, 51.10, 71.42, 51.11)],
                         crs=4326)
    o = official_beats(g)
    assert list(o["beat_id"]) == ["A-1", "A-2"] and list(o["residents"]) == [3500, 4200]
    dup = g.assign(name=["A-1", "A-1"])
    with pytest.raises(ValueError, match=r"row 0, field beat_id: 'A-1' repeats"):
        official_beats(dup)
    pts = gpd.GeoDataFrame({"name": ["p"]}, geometry=[shapely.Point(71.4, 51.1)], crs=4326)
    with pytest.raises(ValueError, match="row 0, field geometry: a beat must be a polygon"):
        official_beats(pts)


def test_population_from_floor_area_planted():
    """Two districts; homes of known floor area: residents = floor area / 30 m² in each, and the beats
    made from that estimate hold 3,000–5,000 residents."""
    from qauipsiz.hotspot.beats import population_from_floor_area

    rng = np.random.default_rng(11)
    a, b = shapely.box(0, 0, 3000, 3000), shapely.box(3000, 0, 6000, 3000)
    d = gpd.GeoDataFrame({"district": ["a", "b"]}, geometry=[a, b], crs=UTM).to_crs(4326)
    xy = np.c_[rng.uniform(10, 2990, 800), rng.uniform(10, 2990, 800)]
    homes = gpd.GeoDataFrame({"weight": rng.uniform(500, 3000, 800)},
                             geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=UTM)
    est = population_from_floor_area(d, homes, UTM)
    assert est["a"] == pytest.approx(homes["weight"].sum() / 30.0, rel=1e-9) and est["b"] == 0.0
    assert population_from_floor_area(d, homes, UTM, m2_per_resident=60.0)["a"] == pytest.approx(est["a"] / 2)
    with pytest.raises(ValueError, match="m2_per_resident must be > 0"):
        population_from_floor_area(d, homes, UTM, m2_per_resident=0)
    beats = generate_beats(d, est, homes, UTM)
    assert set(beats["district"]) == {"a"} and beats["residents"].between(3000, 5000).all()
    assert beats["residents"].sum() == pytest.approx(est["a"], abs=len(beats))
