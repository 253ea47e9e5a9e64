"""Static maps (self-contained folium HTML), heat-tile georeferencing, UI strings, and the CLI."""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_i18n_every_key_in_every_language():
    src = (ROOT / "api/static/i18n.js").read_text(encoding="utf-8")
    blocks = dict(re.findall(r"\n  (kk|ru|en): \{(.*?)\n  \}", src, flags=re.S))
    assert set(blocks) == {"kk", "ru", "en"}
    # whole key: "value" pairs, so a colon inside a value ("Several places match:") is no key
    keys = {lang: set(re.findall(r'(\w+):\s*"(?:[^"\\]|\\.)*"', body)) for lang, body in blocks.items()}
    assert keys["kk"] == keys["ru"] == keys["en"] and len(keys["en"]) > 60
    used = set(re.findall(r'data-i18n="(\w+)"', (ROOT / "api/static/index.html").read_text(encoding="utf-8")))
    scripts = [ROOT / "api/static/app.js", *sorted((ROOT / "api/static/js").glob("*.js"))]
    in_js = set()
    for js in scripts:
        in_js |= set(re.findall(r'\bt\("(\w+)"\)', js.read_text(encoding="utf-8")))
    assert len(in_js) > 40  # the panels' modules are scanned, not only the entry module
    used |= in_js
    assert used <= keys["en"], used - keys["en"]
    # texts differ between languages (not copied English)
    assert blocks["kk"] != blocks["en"] and blocks["ru"] != blocks["en"]


def test_dashboard_serves_the_one_vendored_leaflet(client):
    """The dashboard and the static maps use the same copy, maps/vendor/leaflet."""
    v = ROOT / "maps/vendor/leaflet"
    assert not (ROOT / "api/static/vendor/leaflet").exists()
    for f in ("leaflet.js", "leaflet.css", "images/layers.png", "images/marker-icon.png"):
        r = client.get(f"/static/vendor/leaflet/{f}")
        assert r.status_code == 200 and r.content == (v / f).read_bytes(), f
    assert "Leaflet" in (v / "leaflet.js").read_text(encoding="utf-8")[:300]


def test_heat_tile_samples_the_density_surface():
    """A tile pixel equals the KDE evaluated directly at that pixel's ground position (bilinear error only)."""
    from pyproj import Transformer

    from qauipsiz.hotspot.cities import get_city
    from qauipsiz.hotspot.kde import kde, kde_grid
    from qauipsiz.maps.tiles import TILE, lonlat_to_tile, sample_tile, tile_bounds

    c = get_city("astana")
    rng = np.random.default_rng(3)
    lon = 71.43 + rng.normal(0, 0.01, 400)
    lat = 51.13 + rng.normal(0, 0.006, 400)
    x, y = c.to_metric(lon, lat)
    xy = np.column_stack([x, y])
    h = 600.0
    grid, tr = kde_grid(xy, (x.min() - h, y.min() - h, x.max() + h, y.max() + h), 20.0, h)
    z = 13
    tx, ty = lonlat_to_tile(71.43, 51.13, z)
    vals = sample_tile(grid, tr, c.epsg, z, tx, ty)
    x0, _y0, x1, y1 = tile_bounds(z, tx, ty)
    step = (x1 - x0) / TILE
    pix = [(10, 200), (128, 128), (240, 30), (77, 150)]
    mx = np.array([x0 + (col + 0.5) * step for _, col in pix])
    my = np.array([y1 - (row + 0.5) * step for row, _ in pix])
    ux, uy = Transformer.from_crs(3857, c.epsg, always_xy=True).transform(mx, my)
    direct = kde(xy, np.column_stack([ux, uy]), h)
    got = np.array([vals[r, col] for r, col in pix])
    assert direct.max() > 0
    np.testing.assert_allclose(got, direct, rtol=0.02, atol=0.01 * direct.max())


def test_tile_validation():
    from qauipsiz.maps.tiles import check_tile, empty_tile, render_tile

    with pytest.raises(ValueError, match="x and y"):
        check_tile(2, 4, 0)
    with pytest.raises(ValueError, match="zoom"):
        check_tile(23, 0, 0)
    from affine import Affine

    g = np.ones((10, 10))
    assert render_tile(g, Affine(10, 0, 500000, 0, -10, 5600000), 32642, 1, 0, 0, 1.0,
                       bounds_3857=(0, 0, 1, 1)) == empty_tile()


def test_static_map_is_self_contained(api_env, tmp_path):
    from qauipsiz.hotspot.cities import get_city
    from qauipsiz.hotspot.surface import hotspot_table
    from qauipsiz.maps.static import write_map

    inc = api_env["store"].query_incidents("astana", located_only=True)
    hot = hotspot_table(inc, "astana", res=8, lisa=False)
    cams = api_env["store"].load_layer("astana", "sos_buttons")
    out = write_map(tmp_path / "m.html", get_city("astana"), hotspots=hot, points={"sos_buttons": cams}, lang="kk")
    page = out.read_text(encoding="utf-8")
    assert not re.findall(r'<(?:script|link)[^>]+(?:src|href)="https?:', page)
    assert "cdn." not in page and "code.jquery" not in page
    assert "L.map(" in page
    assert "Ыстық нүкте, 99 %" in page and "Шартты белгілер" in page
    hexes = {format(int(h), "x") for h in hot.loc[hot["count"] > 0, "h3"]}
    assert sum(h in page for h in list(hexes)[:50]) == min(50, len(hexes))
    en = write_map(tmp_path / "e.html", get_city("astana"), hotspots=hot, lang="en").read_text(encoding="utf-8")
    assert "Hot spot, 99 %" in en and "Legend" in en
    with pytest.raises(ValueError, match="lang"):
        write_map(tmp_path / "x.html", get_city("astana"), lang="de")


def test_cli_map(api_env, tmp_path):
    from typer.testing import CliRunner

    from qauipsiz.api.cli import app

    env = {"DATABASE_URL": api_env["settings"].database_url, "QAUIPSIZ_DATA_DIR": str(api_env["root"])}
    out = tmp_path / "map.html"
    r = CliRunner().invoke(app, ["map", "--city", "astana", "--layer", "hotspots", "--layer", "public",
                                 "--out", str(out), "--lang", "ru", "--no-streets"], env=env)
    assert r.exit_code == 0, r.output
    assert "opens offline" in r.output and out.exists()
    page = out.read_text(encoding="utf-8")
    assert "Показатели районов" in page and "Очаги Gi*" in page
    bad = CliRunner().invoke(app, ["map", "--layer", "nonsense", "--out", str(out)], env=env)
    assert bad.exit_code != 0


def test_cli_serve_prints_address_and_serves(api_env):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "DATABASE_URL": api_env["settings"].database_url,
           "QAUIPSIZ_DATA_DIR": str(api_env["root"])}
    p = subprocess.Popen([sys.executable, "-c", "from qauipsiz.api.cli import main; main()", "serve", "--city", "astana",
                          "--host", "127.0.0.1", "--port", str(port), "--no-warm"],
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT)
    try:
        line = p.stdout.readline()
        assert f"http://127.0.0.1:{port}/" in line
        import httpx

        for _ in range(100):
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/api/v1/ready", timeout=2,
                              headers={"X-API-Key": api_env["keys"]["analyst"]})
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        assert r.status_code == 200, r.text
        assert r.json()["cities"]["astana"] > 1000  # counts for a keyed caller; the public sees readiness only
        pub = httpx.get(f"http://127.0.0.1:{port}/api/v1/ready", timeout=2)
        assert pub.status_code == 200 and "cities" not in pub.json()
    finally:
        p.terminate()
        p.wait(10)


def test_serve_ingests_demo_into_empty_store(demo_dir, tmp_path):
    from qauipsiz.api.cli._inputs import ensure_city_data
    from qauipsiz.api.store import Store

    store = Store(f"sqlite:///{tmp_path / 'empty.db'}")
    done = ensure_city_data(store, "astana", demo_dir, echo=lambda m: None)
    assert done["ingested"]["accepted"] > 1000 and store.count_incidents("astana") == done["ingested"]["accepted"]
    assert done["layers"]["lamps"] > 0
    again = ensure_city_data(store, "astana", demo_dir, echo=lambda m: None)
    assert again == {"ingested": None, "layers": None}
