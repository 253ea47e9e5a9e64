"""Cities as user data (issue 15 item 1): ``qauipsiz city add|remove`` and ``cities`` with shipped
and user cities, tz and UTM zone from the boundary, clear errors, and the commands that work on a
city added from a boundary file alone."""
from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from typer.testing import CliRunner

from qauipsiz.api.cli._app import app
from qauipsiz.hotspot import cities
from qauipsiz.hotspot.cities import get_city, list_cities, utm_epsg

CHICAGO = Path(__file__).resolve().parents[3] / "shared" / "data" / "peer" / "chicago_sample_2017_2019.csv"


@pytest.fixture()
def run(tmp_path):
    env = {"QAUIPSIZ_DATA_DIR": str(tmp_path / "var"), "DATABASE_URL": f"sqlite:///{tmp_path / 'q.db'}"}

    def _run(*args):
        return CliRunner().invoke(app, list(args), env=env)

    yield _run
    cities.set_user_dir(None)


def _square(tmp_path, lon, lat, half_deg=0.05, name="b.geojson", crs=4326):
    g = gpd.GeoDataFrame(geometry=[shapely.box(lon - half_deg, lat - half_deg, lon + half_deg, lat + half_deg)], crs=4326)
    p = tmp_path / name
    g.to_crs(crs).to_file(p, driver="GeoJSON")
    return p


def test_add_list_remove_outside_kazakhstan(run, tmp_path):
    b = _square(tmp_path, -87.68, 41.84, 0.2)
    r = run("city", "add", "chicago", "--boundary", str(b))
    assert r.exit_code != 0 and "--tz" in str(r.exception)  # no tz outside Kazakhstan
    r = run("city", "add", "chicago", "--boundary", str(b), "--tz", "America/Chicago", "--name-en", "Chicago", "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert (out["epsg"], out["tz"], out["source"], out["name_en"]) == (32616, "America/Chicago", "user", "Chicago")
    listed = {c["city"]: c["source"] for c in json.loads(run("cities", "--json").output)}
    assert listed == {"astana": "shipped", "almaty": "shipped", "shymkent": "shipped", "chicago": "user"}
    c = get_city("chicago")
    assert c.contains(41.84, -87.68) and not c.contains(51.17, 71.45)
    assert (tmp_path / "var" / "cities" / "chicago" / "boundary.geojson").exists()
    r = run("city", "add", "chicago", "--boundary", str(b), "--tz", "America/Chicago")
    assert r.exit_code != 0 and "already exists" in str(r.exception)
    assert run("city", "remove", "chicago").exit_code == 0
    assert "chicago" not in list_cities()
    assert not (tmp_path / "var" / "cities" / "chicago").exists()
    r = run("city", "remove", "astana")
    assert r.exit_code != 0 and "shipped" in str(r.exception)


@pytest.mark.parametrize(("pcode", "tz", "epsg"), [("KAZ012", "Asia/Qostanay", 32641), ("KAZ020", "Asia/Oral", 32639),
                                                    ("KAZ014", "Asia/Aqtau", 32639), ("KAZ011", "Asia/Almaty", 32643)])
def test_kazakh_tz_and_utm_zone_come_from_the_boundary(run, pcode, tz, epsg):
    r = run("city", "add", "c" + pcode.lower(), "--region", pcode, "--json")
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert (out["tz"], out["epsg"]) == (tz, epsg)


def test_boundary_in_another_crs_and_districts(run, tmp_path):
    # Karaganda's centre, written in UTM 43N: read back in WGS84, tz Asia/Almaty from the region layer
    b = _square(tmp_path, 73.10, 49.80, 0.05, crs=32643)
    d = gpd.GeoDataFrame({"name_ru": ["Запад", "Восток"]},
                         geometry=[shapely.box(73.05, 49.75, 73.10, 49.85), shapely.box(73.10, 49.75, 73.15, 49.85)],
                         crs=4326)
    d.to_file(tmp_path / "d.geojson", driver="GeoJSON")
    r = run("city", "add", "karaganda", "--boundary", str(b), "--districts", str(tmp_path / "d.geojson"),
            "--name-kk", "Қарағанды", "--json")
    assert r.exit_code == 0, r.output
    c = get_city("karaganda")
    assert (c.tz, c.epsg, c.name_kk, c.region_pcode) == ("Asia/Almaty", 32643, "Қарағанды", "KAZ011")
    assert list(c.assign_district([49.80, 49.80], [73.07, 73.13])) == ["запад", "восток"]
    assert abs(c.boundary.area - 0.01) < 1e-4


def test_bad_input_gets_a_clear_error(run, tmp_path):
    line = tmp_path / "line.geojson"
    gpd.GeoDataFrame(geometry=[shapely.LineString([(0, 0), (1, 1)])], crs=4326).to_file(line, driver="GeoJSON")
    r = run("city", "add", "x1", "--boundary", str(line), "--tz", "UTC")
    assert r.exit_code != 0 and "Polygon" in str(r.exception) and "LineString" in str(r.exception)
    b = _square(tmp_path, 73.1, 49.8)
    r = run("city", "add", "x2", "--boundary", str(b), "--tz", "Asia/Nowhere")
    assert r.exit_code != 0 and "unknown time zone" in str(r.exception)
    r = run("city", "add", "Bad Key", "--boundary", str(b))
    assert r.exit_code != 0 and "city key" in str(r.exception)
    r = run("city", "add", "x3", "--region", "KAZ999")
    assert r.exit_code != 0 and "unknown region" in str(r.exception)
    r = run("city", "add", "x4", "--boundary", str(b), "--epsg", "4326")
    assert r.exit_code != 0 and "projected" in str(r.exception)
    with pytest.raises(ValueError, match="qauipsiz city add mycity"):
        get_city("mycity")


def test_utm_zone_rule():
    assert [utm_epsg(71.45, 51.17), utm_epsg(76.95, 43.25), utm_epsg(-87.7, 41.8), utm_epsg(151.2, -33.9)] == \
        [32642, 32643, 32616, 32756]


@pytest.mark.skipif(not CHICAGO.exists(), reason="shared Chicago sample not present")
def test_ingest_and_hotspots_on_a_city_added_from_a_boundary_alone(run, tmp_path):
    """A real city outside the registry: its own boundary, real coordinates and month-first dates."""
    raw = pd.read_csv(CHICAGO, nrows=3000).dropna(subset=["latitude", "longitude"])
    hull = shapely.convex_hull(shapely.multipoints(raw[["longitude", "latitude"]].to_numpy())).buffer(0.002)
    gpd.GeoDataFrame(geometry=[hull], crs=4326).to_file(tmp_path / "chi.geojson", driver="GeoJSON")
    assert run("city", "add", "chicago", "--boundary", str(tmp_path / "chi.geojson"), "--tz", "America/Chicago"
               ).exit_code == 0
    # article-coded rows (the taxonomy's own codes) at the real coordinates and times
    exp = pd.DataFrame({"id": raw["case_number"], "occurred_at": raw["date"], "article": "188",
                        "latitude": raw["latitude"], "longitude": raw["longitude"]})
    exp.to_csv(tmp_path / "chi.csv", index=False)
    r = run("ingest", str(tmp_path / "chi.csv"), "--city", "chicago", "--json", "--no-progress",
            "--date-format", "%m/%d/%Y %H:%M")
    assert r.exit_code == 0, r.output
    rep = json.loads(r.output[r.output.index("{"):])  # stderr lines (progress, geocoding) come first
    assert rep["input"] == rep["accepted"] + rep["duplicates"] + rep["quarantined"], rep
    assert rep["accepted"] >= 0.99 * len(exp), rep
    h = run("hotspots", "--city", "chicago", "--res", "8", "--out", str(tmp_path / "h.geojson"), "--json")
    assert h.exit_code == 0, h.output
    cells = gpd.read_file(tmp_path / "h.geojson")
    assert cells["count"].sum() == rep["accepted"]
    assert get_city("chicago").contains(cells.geometry.centroid.y.to_numpy(), cells.geometry.centroid.x.to_numpy()).mean() > 0.9
