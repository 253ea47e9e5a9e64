"""The one-call table, the CLI and the demo city's planted hotspots."""
from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from qauipsiz.hotspot import binning
from qauipsiz.hotspot.cities import get_city
from qauipsiz.hotspot.gistar import gi_star
from qauipsiz.hotspot.h3grid import cells_to_latlng
from qauipsiz.hotspot.kde import kde
from qauipsiz.hotspot.surface import TABLE_COLUMNS, hotspot_table


@pytest.fixture(scope="module")
def demo_incidents(demo_dir):
    return pd.read_parquet(demo_dir / "incidents_truth.parquet")


@pytest.fixture(scope="module")
def truth(demo_dir):
    return gpd.read_file(demo_dir / "truth_hotspots.geojson")


def test_table_is_consistent_with_its_parts(demo_incidents):
    df = demo_incidents
    t = hotspot_table(df, "astana", res=9, bandwidth_m=400)
    assert tuple(t.columns) == TABLE_COLUMNS
    cells = binning.fill_city_cells("astana", 9)
    np.testing.assert_array_equal(t["h3"].to_numpy(), cells)
    assert t["h3"].dtype == np.uint64
    p = t.attrs["params"]
    assert p["res"] == 9 and p["city"] == "astana" and p["k"] == 1 and p["bandwidth_m"] == 400
    assert t["count"].sum() == p["n_binned"] and p["n_binned"] + p["n_outside_or_no_point"] == len(df)
    ref = binning.bin_incidents(df, 9, cells=cells)
    np.testing.assert_array_equal(t["count"], ref["count"])
    np.testing.assert_allclose(t["weighted"], ref["weighted"])
    g = gi_star(t["count"].to_numpy(float), binning.ring_weights(cells, 1))
    np.testing.assert_allclose(t["gi_z"], g.z, atol=1e-12)
    np.testing.assert_array_equal(t["gi_bin"], g.bin)
    city = get_city("astana")
    inside = np.isin(binning.incident_cells(df, 9), cells)
    x, y = city.to_metric(df.lon.to_numpy()[inside], df.lat.to_numpy()[inside])
    dens = kde(np.c_[x, y], binning.city_cell_centres("astana", 9), 400)
    np.testing.assert_allclose(t["density"], dens, rtol=1e-9, atol=1e-9)
    assert set(t["lisa"].unique()) <= {"HH", "LL", "HL", "LH", "ns"}


def test_filters_and_options_change_the_table(demo_incidents):
    df = demo_incidents
    night = hotspot_table(df, "astana", res=9, hours="21-04", dark=True)
    mask = binning.filter_mask(df, "astana", hours="21-04", dark=True)
    assert night["count"].sum() <= mask.sum() and night.attrs["params"]["filters"] == {"hours": "21-04", "dark": True}
    w = hotspot_table(df, "astana", res=9, value="weighted", distance_m=800, permutations=0)
    assert w.attrs["params"]["neighbours"] == "distance_band" and w.attrs["params"]["value"] == "weighted"
    none = hotspot_table(df, "astana", res=9, categories=["no-such-category"])
    assert none["count"].sum() == 0 and (none["gi_bin"] == 0).all() and "note" in none.attrs["params"]


def test_demo_planted_hotspots_are_significant_hot_cells_in_cli_output(demo_dir, truth, tmp_path):
    from qauipsiz.api.cli import app
    from qauipsiz.api.cli.hotspots import read_metadata

    runner = CliRunner()
    outs = {}
    for ext in ("geojson", "gpkg", "parquet"):
        out = tmp_path / f"hs.{ext}"
        r = runner.invoke(app, ["hotspots", "--city", "astana", "--res", "9", "--incidents",
                                str(demo_dir / "incidents_truth.parquet"), "--out", str(out), "--json"])
        assert r.exit_code == 0, r.output
        summary = json.loads(r.output.strip().splitlines()[-1])
        assert summary["hot_99"] > 0
        meta = read_metadata(out)
        assert meta["res"] == 9 and meta["city"] == "astana" and meta["fdr"] == "benjamini-hochberg"
        outs[ext] = gpd.read_parquet(out) if ext == "parquet" else gpd.read_file(out)
    g = outs["gpkg"]
    assert len(g) == len(binning.fill_city_cells("astana", 9))
    hot = g[g["gi_bin"] >= 2]
    city = get_city("astana")
    hot_m = hot.to_crs(city.epsg)
    for row in truth.itertuples():
        x, y = city.to_metric(row.geometry.x, row.geometry.y)
        d = hot_m.geometry.distance(gpd.points_from_xy([x], [y])[0])
        assert (d <= row.radius_m).any(), f"planted hotspot {row.hotspot_id} not found among hot cells"
    # and the same table from the Parquet output
    np.testing.assert_array_equal(outs["parquet"]["gi_bin"].to_numpy(), g["gi_bin"].to_numpy())


def test_demo_hotspot_found_with_its_own_filters(demo_incidents, truth):
    # a night-time hotspot stands out more clearly when filtered to its hours and categories
    city = get_city("astana")
    for row in truth.itertuples():
        cats = row.category.split(",")
        t = hotspot_table(demo_incidents, "astana", res=9, categories=cats, hours=row.hours)
        cells = t.loc[t["gi_bin"] >= 2, "h3"].to_numpy()
        lat, lon = cells_to_latlng(cells)
        x, y = city.to_metric(lon, lat)
        cx, cy = city.to_metric(row.geometry.x, row.geometry.y)
        assert (np.hypot(x - cx, y - cy) <= row.radius_m + 250).any(), row.hotspot_id


def test_cli_geotiff(demo_dir, tmp_path):
    import rasterio

    from qauipsiz.api.cli import app

    tif = tmp_path / "density.tif"
    r = CliRunner().invoke(app, ["hotspots", "--res", "8", "--incidents", str(demo_dir / "incidents_truth.parquet"),
                                 "--out", str(tmp_path / "t.parquet"), "--bandwidth-m", "500",
                                 "--geotiff", str(tif), "--cell-m", "100"])
    assert r.exit_code == 0, r.output
    with rasterio.open(tif) as src:
        assert src.crs.to_epsg() == get_city("astana").epsg and src.res == (100.0, 100.0)
        arr = src.read(1)
        assert arr.max() > 0 and src.tags()["bandwidth_m"] == "500.0"
        # integral of the density ≈ number of incidents inside the city (edge losses are small)
        n = arr.sum() * 0.01  # per km² × 0.01 km² per pixel
        df = pd.read_parquet(demo_dir / "incidents_truth.parquet")
        inside = get_city("astana").contains(df.lat.to_numpy(), df.lon.to_numpy()).sum()
        assert n == pytest.approx(inside, rel=0.05)


def test_cli_help_and_bad_input(tmp_path):
    from qauipsiz.api.cli import app

    runner = CliRunner()
    r = runner.invoke(app, ["hotspots", "--help"])
    assert r.exit_code == 0 and "--res" in r.output
    bad = tmp_path / "x.parquet"
    r = runner.invoke(app, ["hotspots", "--incidents", str(bad), "--out", str(tmp_path / "o.geojson")])
    assert r.exit_code != 0
    r = runner.invoke(app, ["hotspots", "--lang", "de", "--out", str(tmp_path / "o.geojson")])
    assert r.exit_code == 2 and "--lang" in r.output


def test_cli_summary_line_in_kazakh(demo_dir, tmp_path):
    from qauipsiz.api.cli import app

    r = CliRunner().invoke(app, ["hotspots", "--res", "7", "--incidents", str(demo_dir / "incidents_truth.parquet"),
                                 "--out", str(tmp_path / "h.parquet"), "--lang", "kk"])
    assert r.exit_code == 0, r.output
    assert "ұяшық" in r.output and "ыстық нүктелер 99/95/90 %" in r.output
