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
