"""Issue 20.10: a planner (no incident-level access) never sees a hexagon holding fewer than k
incidents with its count; an analyst does."""
from __future__ import annotations

API = "/api/v1"
NARROW = "/cities/astana/hotspots.geojson?res=10&category=robbery&hours=22-23"


def test_planner_counts_below_k_are_hidden(client, headers, api_env):
    k = api_env["settings"].min_public_count
    a = client.get(API + NARROW, headers=headers["analyst"]).json()
    small = [f for f in a["features"] if 0 < (f["properties"]["count"] or 0) < k]
    assert small, "the narrow query must have cells with single incidents for this test to mean anything"
    pl = client.get(API + NARROW, headers=headers["planner"]).json()
    assert pl["meta"]["counts_hidden_below"] == k and "counts_hidden_below" not in a["meta"]
    by_h3 = {f["properties"]["h3"]: f["properties"] for f in pl["features"]}
    assert set(by_h3) == {f["properties"]["h3"] for f in a["features"]}
    for f in pl["features"]:
        q = f["properties"]
        assert q["count"] is None or q["count"] >= k
        assert (q["count"] is None) == (q["density"] is None)
    for f in small:
        assert by_h3[f["properties"]["h3"]]["count"] is None
