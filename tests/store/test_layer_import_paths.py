"""Every path that stores city layers runs the same row checks (issue: the pipeline stored layers raw).

``Store.import_layers_dir`` (the pipeline, ``make run``, the demo city's first ingest) and
``qauipsiz ingest-layers`` both go through :mod:`qauipsiz.api.layer_checks`; the rows set aside are
checked here against an independent distance computation (shapely distance to the city polygon in
metres), on real files: the shipped demo layers, a planted lamp file, and Almaty's real stops.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from qauipsiz.api.store import Store
from qauipsiz.hotspot.cities import get_city

ALMATY_STOPS = Path("/work/shared/data/kz/osm/almaty_transit_cityger_stops.geojson")
TOL_M = 2000.0


def _metres_outside(city: str, gdf: gpd.GeoDataFrame) -> np.ndarray:
    """Distance (m) from each feature to the city polygon, computed without the code under test."""
    c = get_city(city)
    g = gdf.set_crs(4326) if gdf.crs is None else gdf
    return shapely.distance(c.boundary_metric, g.to_crs(c.epsg).geometry.values)


def _store(tmp_path) -> Store:
    return Store(f"sqlite:///{tmp_path / 'store.db'}")


def _lamp_rows(city: str) -> list[dict]:
    c = get_city(city)
    p = c.boundary.representative_point()
    good = [{"lamp_id": i, "height_m": 8.0, "flux_lm": 12000.0, "lamp_class": "street", "working": True,
             "geometry": shapely.Point(p.x + 0.001 * i, p.y)} for i in range(3)]
    return [*good,
            {"lamp_id": 3, "height_m": 8.0, "flux_lm": 1.0, "lamp_class": "street", "working": True,
             "geometry": shapely.Point(76.95, 43.24)},                       # Almaty: outside Astana
            {"lamp_id": 4, "height_m": 8.0, "flux_lm": 1.0, "lamp_class": "street", "working": True,
             "geometry": shapely.Point(p.x, p.y).buffer(0.0005)},           # a polygon for a lamp
            {"lamp_id": 5, "height_m": 500.0, "flux_lm": 1.0, "lamp_class": "street", "working": True,
             "geometry": shapely.Point(p.x, p.y + 0.001)},                  # 500 m tall: out of range
            {"lamp_id": 6, "height_m": 8.0, "flux_lm": 1.0, "lamp_class": "street", "working": True,
             "geometry": shapely.Point(500000.0, 5670000.0)}]               # metres, not degrees


def test_planted_bad_lamps_are_set_aside_by_the_store_path(tmp_path):
    folder = tmp_path / "layers"
    folder.mkdir()
    gpd.GeoDataFrame(_lamp_rows("astana"), crs=4326).to_file(folder / "lamps.geojson", driver="GeoJSON")
    store = _store(tmp_path)
    res = store.import_layers_dir("astana", folder)
    assert res == {"lamps": 3}
    q = res.quarantine.set_index("row")
    assert q["reason"].to_dict() == {3: "outside_city", 4: "bad_geometry", 5: "bad_value", 6: "not_wgs84"}
    assert q.loc[5, "field"] == "height_m" and q.loc[3, "field"] == "geometry"
    assert json.loads(q.loc[5, "raw"])["lamp_id"] == 5
    assert res.quarantined() == {"lamps": {"outside_city": 1, "bad_geometry": 1, "bad_value": 1, "not_wgs84": 1}}
    assert sorted(store.load_layer("astana", "lamps")["lamp_id"].tolist()) == [0, 1, 2]


@pytest.mark.skipif(not ALMATY_STOPS.exists(), reason="shared OSM data not present")
def test_store_path_and_ingest_layers_path_agree(tmp_path):
    """The same folder through ``Store.import_layers_dir`` and through ``ingest-layers``' function."""
    from qauipsiz.api.ingest.layers import import_layers

    folder = tmp_path / "layers"
    folder.mkdir()
    gpd.GeoDataFrame(_lamp_rows("astana"), crs=4326).to_file(folder / "lamps.geojson", driver="GeoJSON")
    shutil.copy(ALMATY_STOPS, folder / "transit_stops.geojson")  # Almaty's stops, imported for Astana
    a = Store(f"sqlite:///{tmp_path / 'a.db'}")
    b = Store(f"sqlite:///{tmp_path / 'b.db'}")
    res = a.import_layers_dir("astana", folder)
    counts, quar, renamed = import_layers(b, "astana", folder)
    assert dict(res) == counts == {"lamps": 3, "transit_stops": 0}
    pd.testing.assert_frame_equal(res.quarantine, quar)
    assert renamed == res.renamed == {"transit_stops": {"id": "stop_id", "stop_name": "name"}}
    n_stops = len(gpd.read_file(ALMATY_STOPS))
    assert res.quarantined()["transit_stops"] == {"outside_city": n_stops}


@pytest.mark.skipif(not ALMATY_STOPS.exists(), reason="shared OSM data not present")
def test_real_almaty_stops_through_the_store(tmp_path):
    folder = tmp_path / "layers"
    folder.mkdir()
    shutil.copy(ALMATY_STOPS, folder / "transit_stops.geojson")
    store = _store(tmp_path)
    res = store.import_layers_dir("almaty", folder)
    raw = gpd.read_file(ALMATY_STOPS)
    away = _metres_outside("almaty", raw)
    bad = set(res.quarantine["row"].tolist())
    assert set(np.flatnonzero(away > TOL_M + 10).tolist()) <= bad  # every far stop is set aside …
    assert all(away[r] > TOL_M - 10 for r in bad)  # … and only those (10 m: the buffer's chords)
    assert res["transit_stops"] == len(raw) - len(bad) > 0
    stored = store.load_layer("almaty", "transit_stops")
    keep = np.setdiff1d(np.arange(len(raw)), sorted(bad))
    assert stored["stop_id"].astype(int).tolist() == raw["id"].to_numpy()[keep].astype(int).tolist()
    assert stored["name"].tolist() == raw["stop_name"].to_numpy()[keep].tolist()


def test_shipped_demo_layers_through_the_store(tmp_path, demo_dir):
    """The demo generator's layers (as ``make run`` writes them; their placement does not depend on
    the number of incidents): the rows set aside are exactly those more than 2 km outside Astana,
    by an independent distance computation."""
    folder = demo_dir / "layers"
    store = _store(tmp_path)
    res = store.import_layers_dir("astana", folder)
    assert "address_points.csv" in res.skipped
    for name, n in res.items():
        raw = gpd.read_file(folder / f"{name}.geojson")
        away = _metres_outside("astana", raw)
        rows = res.quarantine.loc[res.quarantine["layer"] == name, "row"].to_numpy()
        assert set(np.flatnonzero(away > TOL_M + 10)) <= set(rows), name
        assert (away[rows] > TOL_M - 10).all(), name
        assert n == len(raw) - len(rows) == store.list_layers("astana")[name], name
    assert set(res.quarantine["reason"]) <= {"outside_city"}
