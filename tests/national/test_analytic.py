"""The analytic store (hotspot/analytic.py): partition pruning, reader = pandas filter, GeoParquet
metadata, and ``qauipsiz export parquet`` round-tripping a real SQLite store."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import shapely

from qauipsiz.hotspot import analytic
from qauipsiz.hotspot.national.generate import NOTICE, generate


@pytest.fixture(scope="module")
def nat(tmp_path_factory):
    """A small national dataset: two cities, 30,000 events over two years."""
    out = tmp_path_factory.mktemp("nat")
    generate(out, 30_000, seed=11, start="2023-01-01", years=2.0, cities=["astana", "oral"])
    return out


def _all(root, city):
    return analytic.read_events(root, city, columns=list(analytic.COLUMNS))


def test_layout_and_metadata(nat):
    meta = json.loads((nat / "_dataset.json").read_text(encoding="utf-8"))
    assert meta["synthetic"] is True and meta["notice"] == NOTICE and meta["events"] == 30_000
    assert analytic.dataset_cities(nat) == ["astana", "oral"]
    months = sorted(p.name for p in (nat / "incidents" / "city=oral").iterdir())
    assert months[0] == "month=2022-12" or months[0] == "month=2023-01"  # local midnight of Jan 1 is UTC Dec 31
    f = next((nat / "incidents" / "city=astana").glob("month=2023-06/part-*.parquet"))
    md = pq.read_schema(f).metadata
    geo = json.loads(md[b"geo"])
    assert geo["primary_column"] == "geometry" and geo["columns"]["geometry"]["encoding"] == "WKB"
    assert geo["columns"]["geometry"]["crs"]["id"]["code"] == 4326
    q = json.loads(md[b"qauipsiz"])
    assert q["synthetic"] is True and q["notice"]["en"].startswith("SYNTHETIC")
    t = pq.read_table(f)
    assert t.schema.field("occurred_at").type == analytic.COLUMNS["occurred_at"]
    # every UTC timestamp of a month file is in that month
    occ = t.column("occurred_at").to_pandas()
    assert (occ.dt.strftime("%Y-%m") == "2023-06").all()
    # the WKB decodes (shapely, independently of our writer) to the lat/lon columns
    g = shapely.from_wkb(t.column("geometry").to_numpy(zero_copy_only=False))
    np.testing.assert_array_equal(shapely.get_x(g), t.column("lon").to_numpy())
    np.testing.assert_array_equal(shapely.get_y(g), t.column("lat").to_numpy())
    # geopandas reads the file as GeoParquet with the CRS
    import geopandas as gpd

    gdf = gpd.read_parquet(f)
    assert gdf.crs.to_epsg() == 4326 and len(gdf) == t.num_rows


def test_reader_equals_pandas_filter(nat):
    full = _all(nat, "astana")
    start, end = "2023-03-15T06:00:00Z", pd.Timestamp("2024-02-01")
    cats = ["theft", "robbery", "battery"]
    got = analytic.read_events(nat, "astana", start=start, end=end, categories=cats, hours="18-02", dark=True)
    s, e = pd.Timestamp(start), end.tz_localize("UTC")
    h = full["hour_local"].to_numpy()
    m = ((full["occurred_at"] >= s) & (full["occurred_at"] < e) & full["category"].isin(cats)
         & ((h >= 18) | (h < 2)) & full["is_dark"])
    want = full[m]
    assert len(got) > 100
    key = ["incident_id"]
    a = got.sort_values(key).reset_index(drop=True)
    b = want.drop(columns="geometry").sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b, check_dtype=False)
    # hours as a list and light filter
    got2 = analytic.read_events(nat, "astana", hours=[0, 5, 23], dark=False, columns=["incident_id", "hour_local"])
    want2 = full[full["hour_local"].isin([0, 5, 23]) & ~full["is_dark"]]
    assert sorted(got2["incident_id"]) == sorted(want2["incident_id"])


def test_partition_pruning_touches_only_the_months_asked(nat, tmp_path):
    import shutil

    root = tmp_path / "pruned"
    shutil.copytree(nat, root)
    base = root / "incidents" / "city=oral"
    keep = {"month=2023-05", "month=2023-06"}
    want = analytic.read_events(nat, "oral", start="2023-05-01", end="2023-07-01")
    # ruin every other month file: a reader that opens one of them fails
    for p in base.glob("month=*/part-*.parquet"):
        if p.parent.name not in keep:
            p.write_bytes(b"not parquet")
    assert {p.parent.name for p in analytic.month_files(root, "oral", "2023-05-01", "2023-07-01")} == keep
    got = analytic.read_events(root, "oral", start="2023-05-01", end="2023-07-01")
    assert len(got) > 0
    pd.testing.assert_frame_equal(got, want)
    with pytest.raises(Exception):  # noqa: B017 -- any pyarrow error: the unpruned read opens the ruined files
        analytic.read_events(root, "oral")


def test_bad_input(nat):
    with pytest.raises(ValueError, match="not in the dataset"):
        analytic.read_events(nat, "almaty")
    with pytest.raises(ValueError, match="start"):
        analytic.read_events(nat, "oral", start="not a date")
    with pytest.raises(ValueError, match="columns"):
        analytic.read_events(nat, "oral", columns=["nope"])
    with pytest.raises(ValueError, match="hours"):
        analytic.read_events(nat, "oral", hours=[25])


def test_export_parquet_round_trips_a_sqlite_store(tmp_path, monkeypatch):
    """Ingest the demo export into a real SQLite store, export the analytic store, read it back."""
    from typer.testing import CliRunner

    from qauipsiz.api.cli import app
    from qauipsiz.api.ingest import ingest_file
    from qauipsiz.api.store import Store
    from qauipsiz.hotspot.demo import generate as demo_generate
    from qauipsiz.hotspot.timeutil import to_local

    demo = tmp_path / "demo"
    demo_generate(demo, n=1500, years=1.0, seed=7)
    data = tmp_path / "var"
    monkeypatch.setenv("QAUIPSIZ_DATA_DIR", str(data))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    url = f"sqlite:///{data / 'qauipsiz.db'}"
    data.mkdir()
    store = Store(url)
    ingest_file(demo / "incidents_export.csv", city="astana", store=store, source="demo")
    src = store.query_incidents("astana")
    store.close()
    out = tmp_path / "analytic"
    r = CliRunner().invoke(app, ["export", "parquet", "--out", str(out)])
    assert r.exit_code == 0, r.output
    located = src[src["lat"].notna()].sort_values("incident_id").reset_index(drop=True)
    assert f"{len(located)} incidents of 1 cities" in r.output
    got = _all(out, "astana").sort_values("incident_id").reset_index(drop=True)
    assert len(got) == len(located) and len(located) < len(src)  # the demo has address-only rows
    np.testing.assert_array_equal(got["incident_id"], located["incident_id"])
    pd.testing.assert_series_equal(got["occurred_at"], located["occurred_at"].dt.as_unit("us"), check_names=False)
    np.testing.assert_array_equal(got["category"], located["category"].astype(object))
    np.testing.assert_array_equal(got["lat"], located["lat"])
    np.testing.assert_array_equal(got["lon"], located["lon"])
    np.testing.assert_array_equal(got["district"].fillna("-"), located["district"].astype(object).fillna("-"))
    np.testing.assert_array_equal(got["is_dark"], located["is_dark"].astype(bool))
    loc = to_local(located["occurred_at"], "Asia/Almaty")
    np.testing.assert_array_equal(got["hour_local"], loc.dt.hour)
    np.testing.assert_array_equal(got["weekday_local"], loc.dt.day_of_week)
    meta = json.loads((out / "_dataset.json").read_text(encoding="utf-8"))
    assert meta["synthetic"] is True and meta["counts"] == {"astana": len(located)}
    assert meta["data_versions"]["astana"]
