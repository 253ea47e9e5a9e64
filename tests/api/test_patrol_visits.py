"""`visits` on the patrol endpoints: every hotspot once in each round of the shift."""
from __future__ import annotations

from collections import Counter

import pandas as pd

PLANS = "/api/v1/cities/astana/patrol-plans.geojson"


def test_patrol_plan_with_repeated_visits(client, headers, api_env):
    params = {"shift": "2025-12-07 18:00/02:00", "units": 2, "visits": 2}
    r = client.get(PLANS, params=params, headers=headers["commander"])
    assert r.status_code == 200, r.text[:300]
    doc = r.json()
    assert doc["meta"]["visits"] == 2
    stops = [f["properties"] for f in doc["features"] if f["properties"]["feature"] == "stop"
             and f["properties"]["kind"] == "hotspot"]
    per = Counter(s["hotspot"] for s in stops)
    missed = doc["meta"]["missed_visits"]
    assert sum(per.values()) == 2 * len(per) - missed and max(per.values()) == 2
    half = pd.Timestamp("2025-12-07 22:00", tz="Asia/Almaty")
    for s in stops:
        arrive = pd.Timestamp(s["arrive"])
        assert (arrive < half) if s["visit"] == 1 else (arrive >= half)
    entry = api_env["store"].audit_log(5, action="patrol.read").iloc[0]
    assert '"visits": 2' in entry["params"]
    assert client.get(PLANS, params={**params, "visits": 0}, headers=headers["commander"]).status_code == 422


def test_api_and_cli_choose_the_same_default_depot(client, headers, app, demo_dir, tmp_path):
    import json

    from typer.testing import CliRunner

    import qauipsiz.api.cli.patrol  # noqa: F401
    from qauipsiz.api.cli._app import app as cli
    from qauipsiz.hotspot.patrol import DEPOT_RULE

    shift = "2025-12-05 20:00/04:00"
    r = client.get(PLANS, params={"shift": shift, "units": 1}, headers=headers["commander"])
    assert r.status_code == 200, r.text[:300]
    depot = r.json()["meta"]["depot"]
    assert depot["rule"] == DEPOT_RULE and depot["station"] >= 0 and depot["name"]
    # the depot stop of the plan is that station
    first = next(f for f in r.json()["features"] if f["properties"]["feature"] == "stop")
    assert first["properties"]["kind"] == "depot"
    assert abs(first["properties"]["lat"] - depot["lat"]) < 1e-9
    # the CLI on the same incidents and stations picks the same one
    inc = tmp_path / "incidents.parquet"
    app.state.services.incidents("astana").to_parquet(inc)
    res = CliRunner().invoke(cli, ["patrol", "--city", "astana", "--shift", shift, "--units", "1", "--hotspots", "3",
                                   "--seconds", "1", "--json", "--incidents", str(inc),
                                   "--layers", str(demo_dir / "layers"), "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["depot_detail"]["station"] == depot["station"] and doc["depot"] == depot["name"]
