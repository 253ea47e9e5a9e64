"""End to end: the job `make run` runs, on a reduced demo city, into a fresh SQLite store."""
import json

import geopandas as gpd
import pandas as pd
import pytest
import rasterio

from qauipsiz.api.pipeline import run_demo
from qauipsiz.api.store import Store


@pytest.fixture(scope="module")
def run(demo_dir, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pipeline")
    store = Store(f"sqlite:///{tmp / 'store.db'}")
    summary = run_demo(demo_dir, tmp / "out", store=store, cameras=10, sos=5, posts=3, units=2, progress=False)
    return summary, tmp / "out", store


def test_every_row_is_accounted_for(run, demo_dir):
    summary, _, store = run
    ing = summary["ingest"]
    n_rows = len(pd.read_csv(demo_dir / "incidents_export.csv", sep=";", encoding="utf-8-sig"))
    assert ing["input"] == n_rows == ing["accepted"] + ing["duplicates"] + ing["quarantined"]
    assert store.count_incidents("astana") == ing["accepted"]


def test_layers_go_through_the_row_checks(run, demo_dir):
    """The pipeline stores layers through the ``ingest-layers`` checks: every feature of every layer
    file is either stored or set aside (run.json, layers_quarantine.csv, audit log), and a feature
    more than 2 km outside the city (independent distance) is never stored."""
    import numpy as np
    import shapely

    from qauipsiz.hotspot.cities import get_city

    summary, out, store = run
    lay = summary["layers"]
    c = get_city("astana")
    q = pd.read_csv(out / "layers_quarantine.csv", encoding="utf-8-sig") if lay["quarantined"] else None
    assert (out / "layers_quarantine.csv").exists() == bool(lay["quarantined"])
    for name, n in lay["stored"].items():
        raw = gpd.read_file(demo_dir / "layers" / f"{name}.geojson")
        rows = q.loc[q["layer"] == name, "row"].to_numpy() if q is not None else np.array([], int)
        assert n + len(rows) == len(raw) and n == store.list_layers("astana")[name], name
        assert len(rows) == sum(lay["quarantined"].get(name, {}).values()), name
        away = shapely.distance(c.boundary_metric, raw.to_crs(c.epsg).geometry.values)
        assert set(np.flatnonzero(away > 2010.0)) <= set(rows.tolist()), name
    audit = store.audit_log(action="ingest_layers")
    assert len(audit) == 1 and json.loads(audit["params"].iloc[0])["quarantined"] == lay["quarantined"]


def test_outputs_exist_and_carry_the_synthetic_notice(run):
    _summary, out, _ = run
    assert "SYNTHETIC" in json.loads((out / "run.json").read_text(encoding="utf-8"))["notice"]
    for f in ("hotspots_res9.geojson", "density.tif", "cpted_blocks.geojson", "fix_first.csv",
              "recommend_cameras.json", "recommend_sos.json", "recommend_posts.json", "patrol/routes.geojson"):
        assert (out / f).exists(), f
    for f in ("hotspots_res9.geojson", "cpted_blocks.geojson", "patrol/routes.geojson"):
        assert "SYNTHETIC" in json.loads((out / f).read_text(encoding="utf-8"))["metadata"]["notice"], f
    with rasterio.open(out / "density.tif") as ds:
        assert "SYNTHETIC" in ds.tags()["NOTICE"]
    rec = json.loads((out / "recommend_cameras.json").read_text(encoding="utf-8"))
    assert len(rec["sites"]) == 10 and "SYNTHETIC" in rec["notice"]
    assert {"rank", "lat", "lon", "marginal_gain", "cumulative_coverage", "reason"} <= set(rec["sites"][0])
    assert len(list((out / "patrol").glob("route_card_unit_*.html"))) == 2


def test_planted_hotspots_are_found_hot(run, demo_dir):
    _, out, _ = run
    cells = gpd.read_file(out / "hotspots_res9.geojson")
    truth = gpd.read_file(demo_dir / "truth_hotspots.geojson").to_crs(32642)
    hot = cells[cells["gi_bin"] >= 2].to_crs(32642)
    found = [hot.distance(p).min() <= r + 200 for p, r in zip(truth.geometry, truth.radius_m, strict=True)]
    assert sum(found) >= len(truth) - 1, found


def test_city_without_street_network_runs_what_it_can(tmp_path):
    """Almaty ships boundaries but no street file: blocks fall back to H3 cells; siting and patrols
    are skipped with the reason in run.json instead of failing the whole job."""
    import numpy as np

    from qauipsiz.api.pipeline import run_pipeline
    from qauipsiz.cpted.blocks import city_blocks

    assert (city_blocks("almaty")["source"] == "h3").all()
    rng = np.random.default_rng(5)
    n = 300
    t = pd.Timestamp("2025-03-01") + pd.to_timedelta(rng.integers(0, 200 * 24 * 60, n), "min")
    pd.DataFrame({"Номер ЕРДР": np.arange(n), "Дата совершения": t.strftime("%d.%m.%Y %H:%M"),
                  "Статья УК РК": "188 ч.1", "Широта": rng.normal(43.238, 0.01, n).round(6),
                  "Долгота": rng.normal(76.945, 0.01, n).round(6)}).to_csv(tmp_path / "a.csv", sep=";", index=False)
    (tmp_path / "layers").mkdir()
    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    summary = run_pipeline("almaty", tmp_path / "a.csv", tmp_path / "layers", tmp_path / "out", store=store,
                           progress=False)
    assert summary["ingest"]["accepted"] == n and summary["hotspots"]["cells"] > 1000
    assert summary["cpted"]["blocks"] > 1000 and set(summary["skipped"]) == {"recommend", "patrol"}
    assert "street network" in summary["skipped"]["patrol"]
    assert (tmp_path / "out" / "fix_first.csv").exists() and not (tmp_path / "out" / "recommend_sos.json").exists()
