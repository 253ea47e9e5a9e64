"""The docs/any-city.md walkthrough on real data (issue 15 item 6): 25,000 Chicago Police incidents
(``../shared/data/peer/``) ingested into a city added from a boundary file alone, with a category map
and no date format (month-first must be inferred)."""
from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from typer.testing import CliRunner

from qauipsiz.api.cli._app import app
from qauipsiz.api.ingest.mapping import load_category_map
from qauipsiz.api.store import Store
from qauipsiz.hotspot import cities

ROOT = Path(__file__).resolve().parents[2]
CHICAGO = ROOT.parent / "shared" / "data" / "peer" / "chicago_sample_2017_2019.csv"
CATMAP = ROOT / "docs" / "examples" / "chicago_categories.csv"
pytestmark = pytest.mark.skipif(not CHICAGO.exists(), reason="shared Chicago sample not present")
_STATE: dict = {}  # the walkthrough's environment and folder, for its later steps


@pytest.fixture(scope="module")
def walked(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("chicago")
    raw = pd.read_csv(CHICAGO, dtype={"id": str})
    hull = shapely.convex_hull(shapely.multipoints(raw[["longitude", "latitude"]].to_numpy()))
    gpd.GeoSeries([hull], crs=4326).to_crs(32616).buffer(500).to_crs(4326).to_file(tmp / "chicago.geojson")
    env = {"QAUIPSIZ_DATA_DIR": str(tmp / "var"), "DATABASE_URL": f"sqlite:///{tmp / 'q.db'}"}
    run = CliRunner().invoke
    add = run(app, ["city", "add", "chicago", "--boundary", str(tmp / "chicago.geojson"), "--tz", "America/Chicago"],
              env=env)
    assert add.exit_code == 0, add.output
    r = run(app, ["ingest", str(CHICAGO), "--city", "chicago", "--category-map", str(CATMAP), "--json",
                  "--no-progress"], env=env)
    assert r.exit_code == 0, r.output
    rep = json.loads(r.output[r.output.index("{"):])
    got = Store(env["DATABASE_URL"]).query_incidents("chicago")
    q = Store(env["DATABASE_URL"]).quarantine_rows("chicago")
    _STATE.update(env=env, tmp=tmp)
    yield raw, rep, got, q
    cities.set_user_dir(None)


def test_accounting_and_acceptance(walked):
    raw, rep, got, _ = walked
    assert rep["input"] == len(raw) == rep["accepted"] + rep["duplicates"] + rep["quarantined"]
    mapped = raw["primary_type"].isin(load_category_map(CATMAP).keys())
    # every row with a mapped label and coordinates inside the city ends accepted (or a true duplicate), located
    assert rep["accepted"] + rep["duplicates"] >= 0.99 * mapped.sum()
    assert len(got) == rep["accepted"] and got["lat"].notna().all() and got["lon"].notna().all()
    assert (got["geocode_precision"] == "address").mean() >= 0.99


def test_unmapped_labels_are_quarantined_naming_the_label(walked):
    raw, rep, _, q = walked
    mapped = raw["primary_type"].isin(load_category_map(CATMAP).keys())
    assert rep["reasons"] == {"unknown_category": int((~mapped).sum())}
    assert q["message"].str.contains("NARCOTICS").any()


def test_month_first_dates_equal_the_source(walked):
    raw, rep, got, _ = walked
    assert rep["date_order"]["occurred_at"] == "month-first"
    src = raw.set_index(raw["id"].astype(float).astype(str))["date"]
    local = pd.to_datetime(got["occurred_at"], utc=True).dt.tz_convert("America/Chicago")
    want = pd.to_datetime(src.loc[got["source_id"]].to_numpy(), format="%m/%d/%Y %H:%M")
    same = (local.dt.month.to_numpy() == want.month) & (local.dt.day.to_numpy() == want.day) & \
        (local.dt.hour.to_numpy() == want.hour) & (local.dt.minute.to_numpy() == want.minute)
    assert same.all(), got.loc[~same, ["source_id", "occurred_at"]].head()


def test_repeat_places_are_not_sinks(walked):
    _, rep, got, _ = walked
    flags = got["coord_flags"].fillna("")
    assert flags.str.contains("sink").mean() <= 0.02
    assert rep["flags"].get("repeat_place", 0) > 0  # block centroids with many thefts stay at their precision
    assert np.isfinite(got["lat"]).all()


def test_hotspots_and_map_of_the_walkthrough(walked):
    """The walkthrough's last steps (docs/any-city.md): hot spots of the stored incidents and the
    offline HTML map of a city added from a boundary alone (no districts: the city is outlined)."""
    _raw, rep, got, _q = walked
    env, tmp = _STATE["env"], _STATE["tmp"]
    run = CliRunner().invoke
    r = run(app, ["hotspots", "--city", "chicago", "--res", "8", "--out", str(tmp / "hot.parquet"), "--json"], env=env)
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout[r.stdout.index("{"):])
    assert out["incidents_binned"] == rep["accepted"] == len(got)
    cells = pd.read_parquet(tmp / "hot.parquet")
    assert len(cells) == out["cells"] and out["hot_99"] > 0
    r = run(app, ["map", "--city", "chicago", "--layer", "hotspots", "--out", str(tmp / "map.html"), "--lang", "en",
                  "--no-streets"], env=env)
    assert r.exit_code == 0, (r.output, r.exception)
    html = (tmp / "map.html").read_text(encoding="utf-8")
    assert "Chicago" in html and len(html) > 100_000


def test_assault_lands_on_the_threat_key(walked):
    """The map's ASSAULT → ``threat`` (Criminal Code Article 115, угроза; data/taxonomy/README.md):
    the rows are stored under that key with its class, a criminal misdemeanour."""
    raw, _rep, got, _q = walked
    assert load_category_map(CATMAP)["ASSAULT"] == "threat"
    thr = got[got["category"] == "threat"]
    assert len(thr) >= 0.99 * int((raw["primary_type"] == "ASSAULT").sum())
    assert set(thr["severity_class"]) == {"misdemeanour"}
