"""Planted truth through a stored case: the demo's dated interventions (``interventions_truth.json``)
become SARA cases whose action plan is the switch-on, and the case's on-demand evaluation recovers
each planted effect (inside the 95 % interval) and leaves the placebo not significant.

This checks the case path end to end — place from the layer's ids, the date from the plan's done
item, categories and darkness passed on — against the engine called directly on the same data.
"""
from __future__ import annotations

import json

import geopandas as gpd
import pandas as pd
import pytest

from qauipsiz.api.casework import evaluate_case
from qauipsiz.api.store import Store


@pytest.fixture(scope="module")
def demo(full_demo_truth):
    folder = full_demo_truth.parent
    truth_file = folder / "interventions_truth.json"
    if not truth_file.exists():
        pytest.fail("the demo generator writes interventions_truth.json (issue 18.4)")
    inc = pd.read_parquet(full_demo_truth)
    inc = inc.assign(lat=inc["true_lat"], lon=inc["true_lon"])  # the planted effects are on true places
    layers = {n: gpd.read_file(folder / "layers" / f"{n}.geojson") for n in ("cameras", "lamps")}
    return inc, layers, json.loads(truth_file.read_text(encoding="utf-8"))


def test_cases_recover_the_planted_effects(demo, tmp_path):
    inc, layers, truth = demo
    groups = truth
    store = Store(f"sqlite:///{tmp_path / 'cases.db'}")
    end = inc["occurred_at"].max().tz_convert("Asia/Almaty")
    seen = set()
    for g in groups:
        c = store.create_case("astana", f"demo {g['group']}", layer=g["layer"], ids=g["ids"],
                              categories=g.get("categories"), status="assessment",
                              who="test", role="analyst")
        c = store.add_action(c.id, "switch on", done=g["installed"], due="2020-01-01", who="test")
        # the longest post-period the data cover, up to a year (the demo ends 2025-12-31)
        after = min(12, (end.year - int(g["installed"][:4])) * 12 + end.month - int(g["installed"][5:7]))
        res = evaluate_case(store.get_case(c.id), inc, layers, dark_only=bool(g.get("dark_only")),
                            after_months=after)
        assert (res["installed"], res["installed_rule"]) == (g["installed"], "done")  # done beats an earlier due
        assert res["decidable"], (g["group"], res["mde_pct"])
        planted = g["effect_pct"]
        if planted:
            assert res["ci_low_pct"] <= planted <= res["ci_high_pct"], (g["group"], res)
            assert res["p_value"] < 0.05
        else:
            assert res["p_value"] >= 0.05, (g["group"], res)
        seen.add(g["group"])
    assert {"cameras", "lamps", "placebo_cameras"} <= seen
    store.close()
