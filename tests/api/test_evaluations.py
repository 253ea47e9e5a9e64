"""POST /cities/{city}/evaluations: role matrix, audit rows, the library's answer, bad input as problems."""
from __future__ import annotations

import json

import pytest

BASE = "/api/v1/cities/astana/evaluations"
# the reduced demo covers 2024 only: an installation on 2024-08-01 with 6 months before and 4 after
BODY = {"layer": "cameras", "ids": [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], "installed": "2024-08-01",
        "before_months": 6, "after_months": 4}


def _last_id(api_env):
    log = api_env["store"].audit_log(1)
    return int(log["id"].iloc[0]) if len(log) else 0


@pytest.mark.parametrize(("role", "code"), [("public", 401), ("planner", 403), ("commander", 403),
                                            ("analyst", 200), ("admin", 200)])
def test_role_matrix(client, headers, role, code):
    r = client.post(BASE, json=BODY, headers=headers[role])
    assert r.status_code == code, r.text
    if code != 200:
        assert r.headers["content-type"].startswith("application/problem+json")


def test_answer_is_the_library_answer_and_audited(client, headers, api_env):
    import geopandas as gpd

    from qauipsiz.hotspot.cities import get_city
    from qauipsiz.hotspot.evaluation import evaluate
    from qauipsiz.hotspot.evaluation.areas import select_features

    since = _last_id(api_env)
    r = client.post(BASE, json=BODY, headers=headers["analyst"])
    assert r.status_code == 200, r.text
    d = r.json()
    assert "no-store" in r.headers["cache-control"]
    for key in ("effect_pct", "ci_low_pct", "ci_high_pct", "p_value", "mde_pct", "decidable", "wdq", "wdq_reading",
                "synth_effect_pct", "series", "n_treated_cells", "n_comparison", "text"):
        assert key in d
    assert set(d["text"]) == {"kk", "ru", "en"} and len(d["series"]) == 10
    store = api_env["store"]
    cams = gpd.GeoDataFrame(store.load_layers("astana", ["cameras"])["cameras"])
    geom, day = select_features(cams, "cameras", BODY["ids"], BODY["installed"])
    ref = evaluate(store.query_incidents("astana", located_only=True), geom, day, city=get_city("astana"),
                   before_months=6, after_months=4, intervention="cameras").to_dict()
    assert d == json.loads(json.dumps(ref))
    log = store.audit_log(1000)
    rows = log[(log["id"] > since) & (log["action"] == "evaluations.run")]
    assert len(rows) == 1


def test_drawn_area(client, headers):
    ring = [[71.40, 51.15], [71.44, 51.15], [71.44, 51.17], [71.40, 51.17], [71.40, 51.15]]
    body = {"area": {"type": "Polygon", "coordinates": [ring]}, "installed": "2024-07-01",
            "before_months": 6, "after_months": 5, "categories": ["theft"]}
    r = client.post(BASE, json=body, headers=headers["admin"])
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["categories"] == ["theft"] and d["counts"]["treated_before"] > 0
    assert (d["effect_pct"] is None) == (not d["decidable"])


@pytest.mark.parametrize(("body", "code", "needle"), [
    ({**BODY, "installed": "2024-02-01"}, 400, "installed"),  # 6 months before is outside the data
    ({**BODY, "ids": [999999]}, 400, "not found"),
    ({"layer": "cameras", "area": {"type": "Point", "coordinates": [71.4, 51.1]}, "installed": "2024-08-01"}, 422,
     "exactly one"),
    ({"area": {"type": "Polygon", "coordinates": "x"}, "installed": "2024-08-01"}, 400, "area"),
    ({**BODY, "layer": "bars"}, 422, ""),
    ({**BODY, "before_months": 0}, 422, ""),
])
def test_bad_input_is_a_problem(client, headers, body, code, needle):
    r = client.post(BASE, json=body, headers=headers["analyst"])
    assert r.status_code == code, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert needle in r.json()["detail"]


def test_cli_json_html_and_error_line(demo_dir, tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    from typer.testing import CliRunner

    from qauipsiz.api.cli import app

    args = ["evaluate", "--layer", "cameras", "--ids", "0,1,2,3,4,5,6,7,8,9", "--installed", "2024-08-01",
            "--before", "6M", "--after", "4M", "--incidents", str(demo_dir / "incidents_truth.parquet"),
            "--layers", str(demo_dir / "layers")]
    out = tmp_path / "report.html"
    r = CliRunner().invoke(app, [*args, "--json", "--html", str(out)])
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert d["installed"] == "2024-08-01" and d["before_months"] == 6 and d["after_months"] == 4
    page = out.read_text("utf-8")
    assert "<svg" in page and d["text"]["ru"][:20] in page
    r = CliRunner().invoke(app, [*args, "--lang", "kk"])
    assert r.exit_code == 0 and r.output.strip() == d["text"]["kk"]
    exe = Path(sys.executable).with_name("qauipsiz")
    bad = [str(exe), *args[:6], "2024-02-01", *args[7:]]
    p = subprocess.run(bad, capture_output=True, text=True, timeout=300)
    assert p.returncode == 2
    lines = [s for s in p.stderr.splitlines() + p.stdout.splitlines() if s.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and "installed" in lines[0]


def test_match_cpted_field(client, headers):
    """``match_cpted`` adds the block CPTED score to the matching; a city without CPTED layers is a
    422 ``no-cpted-scores`` problem, refused before anything is computed."""
    r = client.post(BASE, json={**BODY, "match_cpted": True}, headers=headers["analyst"])
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["match_cpted"] is True and d["placebo_design"] in ("sites", "composites")
    plain = client.post(BASE, json=BODY, headers=headers["analyst"]).json()
    assert plain["match_cpted"] is False
    ring = [[76.90, 43.23], [76.92, 43.23], [76.92, 43.25], [76.90, 43.25], [76.90, 43.23]]
    body = {"area": {"type": "Polygon", "coordinates": [ring]}, "installed": "2024-08-01", "match_cpted": True}
    r = client.post("/api/v1/cities/almaty/evaluations", json=body, headers=headers["analyst"])
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["type"].endswith("/no-cpted-scores") and "match_cpted" in r.json()["detail"]


def test_cli_match_cpted_without_layers_is_one_error_line(demo_dir, tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    square = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, "geometry": {
        "type": "Polygon", "coordinates": [[[71.40, 51.15], [71.44, 51.15], [71.44, 51.17], [71.40, 51.17],
                                            [71.40, 51.15]]]}}]}
    area = tmp_path / "square.geojson"
    area.write_text(json.dumps(square), encoding="utf-8")
    empty = tmp_path / "no_layers"
    empty.mkdir()
    exe = Path(sys.executable).with_name("qauipsiz")
    p = subprocess.run([str(exe), "evaluate", "--area", str(area), "--installed", "2024-08-01", "--before", "6M",
                        "--after", "4M", "--incidents", str(demo_dir / "incidents_truth.parquet"), "--layers",
                        str(empty), "--match-cpted"], capture_output=True, text=True, timeout=300)
    assert p.returncode == 2, p.stdout + p.stderr
    lines = [s for s in p.stderr.splitlines() + p.stdout.splitlines() if s.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and "match_cpted" in lines[0] and "CPTED" in lines[0]
