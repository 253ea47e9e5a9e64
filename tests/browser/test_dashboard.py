"""The dashboard in a real headless Chromium (Debian ``chromium``) against a real uvicorn server.

Skips locally when chromium or Playwright is missing; fails when ``CI=true``.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from tests.conftest import require

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
pytestmark = pytest.mark.browser


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(demo_dir, tmp_path_factory):
    require(CHROMIUM is not None, "Debian chromium")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        require(False, "playwright (python)")
    from api.store import Store

    root = tmp_path_factory.mktemp("browser")
    url = f"sqlite:///{root / 'store.db'}"
    store = Store(url)
    store.ingest_file(demo_dir / "incidents_export.csv", city="astana", source="demo")
    store.import_layers_dir("astana", demo_dir / "layers")
    key = store.create_api_key("analyst", "browser test")
    store.close()
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": url, "QAUIPSIZ_DATA_DIR": str(root), "QAUIPSIZ_DEMO_DIR": str(demo_dir),
           "QAUIPSIZ_CITY": "astana", "QAUIPSIZ_TILE_URL": ""}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from api.cli import main; main()", "serve", "--host", "127.0.0.1", "--port",
         str(port), "--no-ingest", "--no-warm"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            if httpx.get(base + "/api/v1/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.3)
        if proc.poll() is not None:
            pytest.fail(f"server exited: {proc.stdout.read()}")
    else:
        proc.kill()
        pytest.fail("server did not start within 90 s")
    yield {"base": base, "key": key, "root": root}
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_dashboard_layers_filters_language(server, tmp_path_factory):
    from playwright.sync_api import sync_playwright

    base = server["base"]
    shots = tmp_path_factory.mktemp("screenshots")
    outside = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.on("request", lambda r: outside.append(r.url) if not r.url.startswith((base, "data:", "blob:")) else None)
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(base + "/")
        page.wait_for_selector("body[data-ready='1']", timeout=60_000)
        page.wait_for_function("document.querySelectorAll('#legend .lg').length > 0", timeout=30_000)

        # public visitor: only the public layers, the public legend, no restricted exports
        ids = page.eval_on_selector_all("#layer-list input", "els => els.map(e => e.value)")
        assert ids == ["public", "publicCells"]
        assert page.locator("#legend [data-layer='public']").count() == 1
        assert page.locator("#exports button").count() == 1
        page.screenshot(path=str(shots / "public.png"))

        # sign in as an analyst: restricted layers appear, heat map on by default
        page.fill("#apikey", server["key"])
        page.click("#login")
        page.wait_for_function("document.querySelectorAll('#layer-list input').length > 2", timeout=30_000)
        ids = page.eval_on_selector_all("#layer-list input", "els => els.map(e => e.value)")
        assert {"heat", "hexagons", "cpted", "lamps", "cameras", "sos"} <= set(ids) and "patrol" not in ids
        page.wait_for_selector("#legend [data-layer='heat'] .scale", timeout=60_000)

        # toggle the Gi* hexagons on: the request goes out, the legend grows, the map changes
        before_map = page.locator("#map").screenshot()
        with page.expect_response(lambda r: "/hotspots.geojson" in r.url and r.status == 200, timeout=120_000):
            page.check("#layer-hexagons")
        page.wait_for_selector("#legend [data-layer='hexagons'] .li", timeout=60_000)
        assert page.locator("#legend [data-layer='hexagons'] .li").count() == 7
        page.wait_for_timeout(500)
        after_map = page.locator("#map").screenshot()
        assert after_map != before_map

        # change filters: category theft, darkness, evening hours; both layers reload with them
        heat_vmax = page.inner_text("#legend [data-layer='heat'] .scale")
        page.select_option("#f-category", ["theft"])
        page.check("#f-light input[value='dark']")
        page.select_option("#f-hour-from", "18")
        page.select_option("#f-hour-to", "2")
        with page.expect_response(lambda r: "/hotspots.geojson" in r.url and r.status == 200, timeout=120_000) as resp:
            page.click("#apply")
        q = parse_qs(urlparse(resp.value.url).query)
        assert q["category"] == ["theft"] and q["light"] == ["dark"] and q["hours"] == ["18-2"]
        page.wait_for_function(f"(() => {{ const e = document.querySelector(\"#legend [data-layer='heat'] .scale\");"
                               f" return e && e.innerText !== {heat_vmax!r}; }})()", timeout=60_000)
        page.wait_for_timeout(800)
        filtered_map = page.locator("#map").screenshot()
        assert filtered_map != after_map

        # CPTED block scores: another layer with its own legend and popups
        with page.expect_response(lambda r: "/cpted/blocks.geojson" in r.url and r.status == 200, timeout=180_000):
            page.check("#layer-cpted")
        page.wait_for_selector("#legend [data-layer='cpted'] .li", timeout=60_000)
        assert page.locator("#legend [data-layer='cpted'] .li").count() == 5
        page.uncheck("#layer-cpted")

        # layer off: its legend block goes
        page.uncheck("#layer-hexagons")
        assert page.locator("#legend [data-layer='hexagons']").count() == 0

        # language switch: legend and panel follow
        page.click(".lang-btn[data-lang='en']")
        assert page.inner_text("#legend h3") == "Legend"
        assert "Heat map (KDE)" in page.inner_text("#layer-list")
        assert page.evaluate("document.documentElement.lang") == "en"
        page.click(".lang-btn[data-lang='kk']")
        assert page.inner_text("#legend h3") == "Шартты белгілер"
        assert "Жылу картасы" in page.inner_text("#layer-list")
        page.click(".lang-btn[data-lang='ru']")
        assert page.inner_text("#legend h3") == "Легенда"

        # a popup with cell details
        page.check("#layer-hexagons")
        page.wait_for_selector("#legend [data-layer='hexagons'] .li", timeout=60_000)
        page.click(".lang-btn[data-lang='en']")
        page.wait_for_timeout(500)
        shot = shots / "dashboard.png"
        page.screenshot(path=str(shot))
        browser.close()
    assert not errors, errors
    assert not outside, f"the dashboard fetched non-local resources: {outside[:5]}"
    assert shot.stat().st_size > 20_000
    print(f"screenshot: {shot}")
