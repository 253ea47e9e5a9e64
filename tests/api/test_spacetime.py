"""Space-time endpoints: emerging hot spots (roles, engine parity, legend) and the near-repeat risk layer."""
from __future__ import annotations

import h3
import numpy as np
import pytest

API = "/api/v1"
ALLOWED = {"analyst", "planner", "commander", "admin"}
PATHS = ["/cities/astana/emerging.geojson?step=month&res=8", "/cities/astana/emerging/legend",
         "/cities/astana/near-repeat.geojson?category=theft"]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("role", ["public", "analyst", "planner", "commander", "admin"])
def test_roles(client, headers, path, role):
    r = client.get(API + path, headers=headers[role])
    if role in ALLOWED:
        assert r.status_code == 200, (role, path, r.text[:300])
    else:
        assert r.status_code == (401 if role == "public" else 403)


def test_emerging_matches_engine(client, headers, api_env):
    from qauipsiz.hotspot.cube import space_time_cube
    from qauipsiz.hotspot.emerging import emerging_hotspots

    r = client.get(API + "/cities/astana/emerging.geojson?step=month&res=8&only_patterns=false",
                   headers=headers["analyst"])
    assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
    fc = r.json()
    assert len(fc["legend"]) == 17 and {"kk", "ru", "en"} <= set(fc["legend"][3]["label"])
    inc = api_env["store"].query_incidents("astana", located_only=True)
    import pandas as pd

    occ = pd.to_datetime(inc["occurred_at"], utc=True).dt.tz_convert("Asia/Almaty")
    ref = emerging_hotspots(space_time_cube(inc, "astana", 8, step="month",
                                            start=str(occ.min().date()),
                                            end=str((occ.max().normalize() + pd.Timedelta(days=1)).date())))
    ref = ref.set_index("h3")
    assert len(fc["features"]) == len(ref)
    for f in fc["features"]:
        p = f["properties"]
        assert h3.is_valid_cell(p["h3"])
        row = ref.loc[np.uint64(int(p["h3"], 16))]
        assert p["pattern"] == row["pattern"] and p["count"] == row["count"]
    assert fc["meta"]["patterns"] == ref.attrs["params"]["patterns"]
    assert r.headers.get("etag")


def test_emerging_bad_step_is_422(client, headers):
    assert client.get(API + "/cities/astana/emerging.geojson?step=year", headers=headers["admin"]).status_code == 422


def test_near_repeat_layer(client, headers):
    r = client.get(API + "/cities/astana/near-repeat.geojson?category=theft&distance_m=200&days=14",
                   headers=headers["commander"])
    assert r.status_code == 200
    fc = r.json()
    assert fc["features"], "recent thefts give cells at risk"
    assert all(0 <= f["properties"]["days_left"] <= 14 for f in fc["features"])
    assert all(f["properties"]["nearest_m"] <= 200 for f in fc["features"])
