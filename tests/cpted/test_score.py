"""Block scores on a hand-built two-block city in Astana, a brute-force lighting check, weights, risk
and priority; and the whole pipeline on a reduced demo city."""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
import yaml

from qauipsiz.cpted import lighting
from qauipsiz.cpted.block_risk import block_risk
from qauipsiz.cpted.fix_list import fix_first
from qauipsiz.cpted.score import score_blocks
from qauipsiz.cpted.score_config import STRATEGIES
from qauipsiz.hotspot.cities import get_city

CITY = get_city("astana")
X0, Y0 = CITY.to_metric(71.42, 51.15)


def _gdf(cols, geoms):
    return gpd.GeoDataFrame(cols, geometry=list(geoms), crs=CITY.epsg).to_crs(4326)


def _pt(x, y):
    return shapely.Point(X0 + x, Y0 + y)


def _box(a, b, c, d):
    return shapely.box(X0 + a, Y0 + b, X0 + c, Y0 + d)


@pytest.fixture(scope="module")
def town():
    blocks = _gdf({"block_id": [10, 20]}, [_box(0, 0, 200, 150), _box(200, 0, 400, 150)])
    bld = _gdf({"building_id": [0, 1], "levels": [9, 9], "active_ground_floor": [True, False],
                "use": ["residential", "residential"]}, [_box(40, 90, 160, 104), _box(240, 90, 360, 104)])
    ent = _gdf({"entrance_id": range(6), "building_id": [0, 0, 0, 1, 1, 1],
                "access": ["intercom"] * 3 + ["open"] * 3, "main": [True] * 6},
               [_pt(x, 89.5) for x in (60, 100, 140, 260, 300, 340)])
    lamps_xy = [(x, y) for x in range(10, 200, 25) for y in range(10, 150, 25)]
    lamps = _gdf({"lamp_id": range(len(lamps_xy)), "height_m": 6.0, "flux_lm": 8000.0, "lamp_class": "yard",
                  "working": True}, [_pt(x, y) for x, y in lamps_xy])
    cams = _gdf({"camera_id": range(3), "bearing_deg": 0.0, "fov_deg": 90.0, "resolution_px": 3840.0,
                 "height_m": 4.0, "owner": "public_cou", "status": "working"},
                [_pt(x, 80) for x in (60, 100, 140)])
    lu = _gdf({"landuse_id": [0, 1], "landuse": ["playground", "wasteland"], "fenced": [True, False]},
              [_box(80, 40, 120, 70), _box(220, 10, 380, 60)])
    stops = _gdf({"stop_id": [0], "name": ["A"]}, [_pt(20, -10)])
    sos = _gdf({"sos_id": [0], "status": "working", "connected_cou": True}, [_pt(100, -12)])
    return {"blocks": blocks, "buildings": bld, "entrances": ent, "lamps": lamps, "cameras": cams,
            "landuse": lu, "transit_stops": stops, "sos_buttons": sos}


def test_scores_rank_the_good_block_first(town):
    s = score_blocks("astana", town).set_index("block_id")
    assert list(s.index) == [10, 20]
    for col in ("score", *STRATEGIES, "priority", "fix_1_kk", "fix_1_ru", "fix_1_en"):
        assert col in s.columns
    assert s.loc[10, "score"] > s.loc[20, "score"] + 25
    assert 0 <= s["score"].min() and s["score"].max() <= 100
    good, bad = s.loc[10], s.loc[20]
    assert good["c_entrance_controlled_share"] == 1.0 and bad["c_entrance_controlled_share"] == 0.0
    # block 20 has no lamps; only its western edge catches light from block 10's lamps (r ≤ 6 · tan 80° = 34 m)
    assert bad["c_lit_share"] < 0.02 and bad["mean_lux"] < 0.3 and good["c_lit_share"] > 0.9
    assert good["c_entrance_recognise_share"] == 1.0  # cameras 9.5 m in front, recognise range 15.4 m
    assert bad["c_entrance_recognise_share"] == 0.0
    assert bad["c_defined_space_share"] == pytest.approx(1 - 160 * 50 / (200 * 150), abs=1e-6)
    assert bad["c_transit_access"] == 0.0 and good["c_transit_access"] == 1.0
    # plain-words fixes: the dark block is told about its lighting with the norm, in three languages
    fx = " | ".join(bad[[f"fix_{i}_en" for i in (1, 2, 3)]])
    assert "lighting 0.0 lx, norm" in fx and "at 3 entrances" in fx, fx
    assert "лк" in " ".join(bad[[f"fix_{i}_ru" for i in (1, 2, 3)]])
    assert bad["fix_1_kk"] != bad["fix_1_en"]
    # without a hotspot table the priority is 1 − score/100
    assert s["priority"].to_numpy() == pytest.approx(1 - s["score"].to_numpy() / 100)
    assert s.loc[20, "priority_rank"] == 1


def test_lit_share_against_brute_force(town):
    # only lamps and blocks: zones are driveway (≤ 10 m from the block edge, 2 lx) and walking path (1 lx)
    sub = {"blocks": town["blocks"], "lamps": town["lamps"]}
    s = score_blocks("astana", sub).set_index("block_id")
    b = town["blocks"].to_crs(CITY.epsg).geometry.values[0]
    g = lighting.sample_grid([b], 5.0)
    lm = town["lamps"].to_crs(CITY.epsg)
    e = lighting.illuminance_bruteforce(g.x, g.y, lm.geometry.x, lm.geometry.y, lm["height_m"],
                                        lighting.lamp_intensity(lm["flux_lm"]))
    d = shapely.distance(shapely.boundary(b), shapely.points(g.x, g.y))
    need = np.where(d <= 10.0, 2.0, 1.0)
    assert s.loc[10, "c_lit_share"] == pytest.approx(np.mean(e >= need), abs=0.01)
    assert s.loc[10, "mean_lux"] == pytest.approx(e.mean(), rel=1e-6)
    from qauipsiz.cpted.score import assess_blocks

    z = assess_blocks("astana", sub).zones
    z10 = z[z["block_id"] == 10].set_index("zone")
    drive = d <= 10.0
    assert z10.loc["driveway", "mean_lux"] == pytest.approx(e[drive].mean(), abs=0.01)
    assert z10.loc["walking_path", "share_meeting"] == pytest.approx(np.mean(e[~drive] >= 1.0), abs=0.01)
    assert z10["area_m2"].sum() == pytest.approx(len(g) * 25.0)


def test_weights_file_changes_the_score(town, tmp_path):
    w = {"strategies": {"natural_surveillance": {"weight": 1.0, "components": {"lit_share": 1.0}}}}
    p = tmp_path / "w.yaml"
    p.write_text(yaml.safe_dump(w))
    s = score_blocks("astana", town, weights=p).set_index("block_id")
    assert s["score"].to_numpy() == pytest.approx(100 * s["c_lit_share"].to_numpy(), abs=0.06)
    with pytest.raises(ValueError, match="unknown components"):
        bad = {"strategies": {"natural_surveillance": {"weight": 1, "components": {"moonlight": 1}}}}
        score_blocks("astana", town, weights=bad)


def test_risk_from_h3_table_and_priority(town):
    from qauipsiz.hotspot.h3grid import latlng_to_cells

    lon, lat = CITY.to_wgs84(X0 + 300, Y0 + 75)
    cell = latlng_to_cells([lat], [lon], 11)[0]
    hs = pd.DataFrame({"h3": [cell], "count": [40], "weighted": [100.0], "density": [5.0]})
    s = score_blocks("astana", town, hotspots=hs).set_index("block_id")
    assert s.loc[20, "risk"] > 0 and s.loc[20, "risk_norm"] == pytest.approx(1.0)
    assert s.loc[20, "risk_per_ha"] == pytest.approx(s.loc[20, "risk"] / 3.0)  # block 20 is 3 ha
    assert s.loc[10, "risk"] == pytest.approx(0.0)
    assert s.loc[20, "priority"] == pytest.approx(1 - s.loc[20, "score"] / 100)
    assert s.loc[10, "priority"] == 0.0
    # the res-11 cell (edge ≈ 25 m) lies fully inside block 20, so its whole weight lands there
    blocks_m = town["blocks"].to_crs(CITY.epsg)
    r = block_risk(blocks_m, hs)
    assert r == pytest.approx([0.0, 100.0])
    r_hex = block_risk(blocks_m, hs.assign(h3=[format(int(cell), "x")]), risk_col="count")
    assert r_hex == pytest.approx([0.0, 40.0])
    with pytest.raises(ValueError, match="risk column"):
        block_risk(blocks_m, hs[["h3"]])
    ff = fix_first(s.reset_index(), n=1, lang="kk")
    assert ff["block_id"].tolist() == [20] and "fix_1_kk" in ff.columns


def test_reduced_demo_city_and_planted_hotspots(demo_dir):
    """The whole reduced demo city: valid scores, and with a plain count table of the incidents the
    fix-first list lands on the planted hotspots far more often than blocks do at random."""
    from qauipsiz.cpted.layers import load_layer_dir
    from qauipsiz.cpted.score import assess_blocks
    from qauipsiz.hotspot.h3grid import latlng_to_cells

    L = load_layer_dir(demo_dir / "layers")
    t = pd.read_parquet(demo_dir / "incidents_truth.parquet", columns=["true_lat", "true_lon"])
    cells = latlng_to_cells(t["true_lat"].to_numpy(), t["true_lon"].to_numpy(), 9)
    hs = pd.Series(cells[cells != 0]).value_counts().rename_axis("h3").reset_index(name="count")
    res = assess_blocks("astana", L, hs)
    b = res.blocks
    assert len(b) == len(L["blocks"]) and b["score"].between(0, 100).all()
    assert b[list(STRATEGIES)].notna().any().all()
    low = b[b["score"] < 60]
    assert (low["fix_1_en"].str.len() > 0).all()
    assert res.dark_spots.crs.to_epsg() == 4326 and (res.dark_spots["area_m2"] >= 200).all()
    truth = gpd.read_file(demo_dir / "truth_hotspots.geojson").to_crs(CITY.epsg)
    bm = b.to_crs(CITY.epsg)
    d = np.array([truth.distance(g).min() for g in bm.geometry.values])
    near = d < truth["radius_m"].max()
    top = bm["priority_rank"].to_numpy() <= 30
    assert near[top].mean() >= 5 * near.mean()
