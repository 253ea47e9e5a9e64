"""``qauipsiz cpted score`` and ``qauipsiz cpted review`` end to end through Typer."""
from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
from typer.testing import CliRunner

from qauipsiz.api.cli import app

DESIGNS = Path(__file__).resolve().parents[2] / "data" / "designs"
runner = CliRunner()


def test_review_exit_codes_json_and_html(tmp_path):
    r = runner.invoke(app, ["cpted", "review", str(DESIGNS / "yard_good.geojson"), "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["summary"]["FAIL"] == 0
    out = tmp_path / "rep.html"
    r = runner.invoke(app, ["cpted", "review", str(DESIGNS / "yard_bad.geojson"), "--html", str(out), "--lang", "en"])
    assert r.exit_code == 1
    assert "FAIL" in r.stdout and out.exists() and "<svg" in out.read_text(encoding="utf-8")
    bad = tmp_path / "x.geojson"
    bad.write_text('{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"kind": "tree"}, '
                   '"geometry": {"type": "Point", "coordinates": [71.4, 51.1]}}]}')
    r = runner.invoke(app, ["cpted", "review", str(bad)])
    assert r.exit_code == 2 and "kind" in r.output


def test_score_writes_outputs(tmp_path):
    from qauipsiz.hotspot.cities import get_city

    c = get_city("astana")
    x0, y0 = c.to_metric(71.42, 51.15)
    lay = tmp_path / "layers"
    lay.mkdir()
    gpd.GeoDataFrame({"block_id": [1, 2]}, geometry=[shapely.box(x0, y0, x0 + 200, y0 + 150),
                                                     shapely.box(x0 + 200, y0, x0 + 400, y0 + 150)],
                     crs=c.epsg).to_crs(4326).to_file(lay / "blocks.geojson", driver="GeoJSON")
    lon, lat = c.to_wgs84([x0 + 50, x0 + 100], [y0 + 50, y0 + 75])
    pd.DataFrame({"lon": lon, "lat": lat, "height_m": [6, 6], "flux_lm": [8000, 8000]}).to_csv(lay / "lamps.csv", index=False)
    out = tmp_path / "out"
    r = runner.invoke(app, ["cpted", "score", "--city", "astana", "--layers", str(lay), "--out", str(out), "--json"])
    assert r.exit_code == 0, r.output
    summ = json.loads(r.stdout)
    assert summ["blocks"] == 2
    for f in ("block_scores.geojson", "block_scores.csv", "fix_first.csv", "dark_spots.geojson", "summary.json",
              "lighting_zones.csv"):
        assert (out / f).exists()
    z = pd.read_csv(out / "lighting_zones.csv")
    assert set(z["zone"]) <= {"driveway", "walking_path"} and z["share_meeting"].between(0, 1).all()
    ff = pd.read_csv(out / "fix_first.csv")
    assert ff["priority_rank"].tolist() == [1, 2]
    assert ff["block_id"].iloc[0] == 2  # the unlit block comes first
    # where each block is: the nearest street and a point inside it (issue 17.5)
    assert list(ff.columns[:5]) == ["priority_rank", "block_id", "street", "lat", "lon"]
    assert ff["lat"].between(50.9, 51.4).all() and ff["lon"].between(71.1, 71.9).all()
    assert ff["street"].notna().all()
    r = runner.invoke(app, ["cpted", "score", "--layers", str(tmp_path / "nope"), "--out", str(out)])
    assert r.exit_code == 2
