"""The dashboard in a real headless Chromium (Debian ``chromium``) against a real uvicorn server.

Skips locally when chromium or Playwright is missing; fails when ``CI=true``.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from tests._serve import free_port
from tests.conftest import require

ROOT = Path(__file__).resolve().parents[2]
DESIGNS = ROOT / "data" / "designs"

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(demo_dir, tmp_path_factory):
    require(CHROMIUM is not None, "Debian chromium")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        require(False, "playwright (python)")
    from qauipsiz.api.ingest import ingest_file
    from qauipsiz.api.store import Store

    root = tmp_path_factory.mktemp("browser")
    url = f"sqlite:///{root / 'store.db'}"
    store = Store(url)
    ingest_file(demo_dir / "incidents_export.csv", city="astana", store=store, source="demo")
    store.import_layers_dir("astana", demo_dir / "layers")
    key = store.create_api_key("analyst", "browser test")
    commander = store.create_api_key("commander", "browser test")
    store.close()
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "QAUIPSIZ_DATA_DIR": str(root), "QAUIPSIZ_DEMO_DIR": str(demo_dir),
           "QAUIPSIZ_CITY": "astana", "QAUIPSIZ_TILE_URL": ""}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from qauipsiz.api.cli import main; main()", "serve", "--host", "127.0.0.1", "--port",
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
    yield {"base": base, "key": key, "commander": commander, "root": root, "url": url}
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
        assert "Gi*" in page.inner_text("#lg-inference")  # which inference ran is in the legend
        # the heat map's radius: the city default, shown in the legend
        bw_default = page.inner_text("#lg-bandwidth")
        assert bw_default.startswith("Радиус KDE, м: ") and "по умолчанию для города" in bw_default
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
        assert "bandwidth_m" not in q
        page.wait_for_timeout(300)
        assert page.inner_text("#lg-bandwidth") == bw_default  # the same radius whatever the filter
        page.wait_for_function(f"(() => {{ const e = document.querySelector(\"#legend [data-layer='heat'] .scale\");"
                               f" return e && e.innerText !== {heat_vmax!r}; }})()", timeout=60_000)
        page.wait_for_timeout(800)
        filtered_map = page.locator("#map").screenshot()
        assert filtered_map != after_map

        # the user sets the radius: the request carries it and the legend says so
        page.fill("#f-bandwidth", "250")
        with page.expect_response(lambda r: "/heat/legend" in r.url and r.status == 200, timeout=120_000) as resp:
            page.click("#apply")
        assert parse_qs(urlparse(resp.value.url).query)["bandwidth_m"] == ["250"]
        page.wait_for_function("(() => { const e = document.querySelector('#lg-bandwidth');"
                               " return e && e.innerText.includes('250'); })()", timeout=60_000)
        assert "задан пользователем" in page.inner_text("#lg-bandwidth")
        page.fill("#f-bandwidth", "")

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


def _open(p, server, key=None):
    """A page of the dashboard (signed in with ``key`` when given), with page errors and non-local requests
    collected."""
    base = server["base"]
    browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    page = ctx.new_page()
    page.errors, page.outside = [], []
    ctx.on("request", lambda r: page.outside.append(r.url) if not r.url.startswith((base, "data:", "blob:", "about:"))
           else None)
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.goto(base + "/")
    page.wait_for_selector("body[data-ready='1']", timeout=60_000)
    if key:
        page.fill("#apikey", key)
        page.click("#login")
        page.wait_for_function("document.querySelectorAll('#layer-list input').length > 2", timeout=30_000)
    return browser, page


def _visible(page, sel):
    return page.locator(sel).is_visible()


def test_task_panels_follow_permissions(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser, page = _open(p, server)
        # public visitor: none of the planner / commander controls
        assert not _visible(page, "#review-section") and not _visible(page, "#patrol-section")
        assert not _visible(page, "#rec-section")
        # analyst: review and recommendations, no patrol
        page.fill("#apikey", server["key"])
        page.click("#login")
        page.wait_for_function("document.querySelectorAll('#layer-list input').length > 2", timeout=30_000)
        assert _visible(page, "#review-section") and _visible(page, "#rec-section")
        assert not _visible(page, "#patrol-section")
        # commander: patrol and recommendations, no design review
        page.click("#login")  # sign out
        page.wait_for_function("document.querySelectorAll('#layer-list input').length === 2", timeout=30_000)
        assert not _visible(page, "#review-section")
        page.fill("#apikey", server["commander"])
        page.click("#login")
        page.wait_for_function("document.querySelectorAll('#layer-list input').length > 2", timeout=30_000)
        assert _visible(page, "#patrol-section") and _visible(page, "#rec-section")
        assert not _visible(page, "#review-section")
        # every new label in every language
        for lang, title in (("kk", "Патруль жоспары"), ("en", "Patrol plan"), ("ru", "План патрулирования")):
            page.click(f".lang-btn[data-lang='{lang}']")
            assert page.inner_text("#patrol-section h2").strip().lower() == title.lower()
        errors, outside = page.errors, page.outside
        browser.close()
    assert not errors, errors
    assert not outside, outside[:5]


def test_design_review_panel(server, tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser, page = _open(p, server, server["key"])
        # the bad yard: every failing rule listed with measured vs required and its source
        with page.expect_response(lambda r: "/api/v1/review" in r.url and r.request.method == "POST",
                                  timeout=120_000) as resp:
            page.set_input_files("#rv-file", str(DESIGNS / "yard_bad.geojson"))
        assert resp.value.status == 200
        q = parse_qs(urlparse(resp.value.url).query)
        assert q["format"] == ["json"] and q["city"] == ["astana"] and q["lang"] == ["ru"]
        result = resp.value.json()
        n_fail = result["summary"]["FAIL"]
        assert n_fail > 0
        page.wait_for_selector("#rv-rules li.rule", timeout=30_000)
        failing = page.locator("#rv-rules li[data-status='FAIL']")
        assert failing.count() == n_fail
        assert page.locator("#rv-rules li.rule").count() == len(result["rules"])
        assert page.get_attribute(".rv-summary .badge.fail", "data-n") == str(n_fail)
        rule = next(r for r in result["rules"] if r["status"] == "FAIL")
        li = page.locator(f"#rv-rules li[data-rule='{rule['id']}']")
        text = li.inner_text()
        assert rule["title_ru"] in text and "не соответствует" in text
        assert "Измерено" in text and "Норма" in text and rule["source_ru"][:20] in text
        # values with their unit in the UI language ("4,2 лк", shares as per cent "33 %"), and how to fix it
        assert rule["measured_ru"] in text and rule["required_ru"] in text, text
        assert "Как исправить" in text and rule["fix_ru"] in text
        # drawn on the map: the design, and the failing features of each failing rule
        drawn = page.evaluate("(() => { const r = window.qauipsiz.state.review;"
                              " return {layers: r.layer.getLayers().length, fail: Object.keys(r.failLayers)}; })()")
        with_geometry = sorted(r["id"] for r in result["rules"] if r["status"] == "FAIL" and r["failing"])
        assert sorted(drawn["fail"]) == with_geometry and drawn["layers"] == 1 + len(with_geometry)
        assert page.locator("#legend [data-layer='review']").count() == 1
        page.locator("#rv-rules").scroll_into_view_if_needed()
        page.wait_for_timeout(300)
        page.screenshot(path=str(tmp_path / "review.png"))
        # the language follows
        page.click(".lang-btn[data-lang='en']")
        assert rule["title_en"] in li.inner_text() and "fail" in li.inner_text()
        page.click(".lang-btn[data-lang='kk']")
        assert rule["title_kk"] in li.inner_text()
        # the HTML report opens in a new tab
        with page.expect_popup(timeout=60_000) as pop:
            page.click("#rv-html")
        report = pop.value
        report.wait_for_function("document.body && document.body.innerText.includes(" + repr(rule["id"]) + ")",
                                 timeout=60_000)
        assert report.url.startswith("blob:")
        report.close()
        # the good yard fails fewer rules
        with page.expect_response(lambda r: "/api/v1/review" in r.url, timeout=120_000) as resp2:
            page.set_input_files("#rv-file", str(DESIGNS / "yard_good.geojson"))
        good = resp2.value.json()
        assert good["summary"]["FAIL"] < n_fail
        page.wait_for_function(f"document.querySelectorAll('#rv-rules li[data-status=FAIL]').length === "
                               f"{good['summary']['FAIL']}", timeout=30_000)
        # a bad upload: the problem+json detail is shown, nothing drawn
        bad = tmp_path / "broken.geojson"
        bad.write_text("{not json", encoding="utf-8")
        with page.expect_response(lambda r: "/api/v1/review" in r.url, timeout=60_000) as resp3:
            page.set_input_files("#rv-file", str(bad))
        assert resp3.value.status == 400
        detail = resp3.value.json()["detail"]
        page.wait_for_selector("#rv-state.error", timeout=30_000)
        assert detail in page.inner_text("#rv-state")
        assert page.locator("#rv-rules li").count() == 0
        assert page.locator("#legend [data-layer='review']").count() == 0
        errors, outside = page.errors, page.outside
        browser.close()
    assert not errors, errors
    assert not outside, outside[:5]


def _marker_counts(page):
    return page.evaluate("(() => { const m = window.qauipsiz.state.meta.recommended; const o = {};"
                         " for (const k in m.kinds) o[k] = m.kinds[k].layer.getLayers().length; return o; })()")


def test_recommendation_budget(server, tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser, page = _open(p, server, server["key"])
        seen = []
        page.on("request", lambda r: seen.append(r.url) if "/recommendations/" in r.url else None)
        page.fill("#rec-n-cameras", "12")
        page.fill("#rec-n-sos", "6")
        page.fill("#rec-n-posts", "3")
        assert not seen, "typing a budget must not fire requests"
        with page.expect_response(lambda r: "/recommendations/cameras.geojson" in r.url, timeout=180_000) as resp:
            page.click("#rec-apply")
        assert parse_qs(urlparse(resp.value.url).query)["n"] == ["12"]
        assert page.is_checked("#layer-recommended")
        page.wait_for_function("document.querySelector('#rec-state').dataset.busy === ''", timeout=180_000)
        assert sorted(parse_qs(urlparse(u).query)["n"][0] for u in seen) == ["12", "3", "6"]
        before = _marker_counts(page)
        assert before == {"cameras": 12, "sos": 6, "posts": 3}, before
        # each site's rank and marginal gain in the list
        rows = page.locator("#rec-list details[data-kind='cameras'] tr[data-i]")
        assert rows.count() == 12
        assert rows.nth(0).get_attribute("data-rank") == "1"
        gains = resp.value.json()["features"]
        assert gains[0]["properties"]["rank"] == 1
        assert page.locator("#legend [data-layer='recommended']").inner_text().count("(") == 3

        # a smaller camera budget: fewer camera markers, the others unchanged
        page.fill("#rec-n-cameras", "5")
        with page.expect_response(lambda r: "/recommendations/cameras.geojson" in r.url, timeout=180_000) as resp:
            page.click("#rec-apply")
        assert parse_qs(urlparse(resp.value.url).query)["n"] == ["5"]
        page.wait_for_function("document.querySelector('#rec-state').dataset.busy === ''", timeout=180_000)
        after = _marker_counts(page)
        assert after == {"cameras": 5, "sos": 6, "posts": 3}, after
        assert page.locator("#rec-list details[data-kind='cameras'] tr[data-i]").count() == 5
        # the popup of a marker: rank and marginal gain
        page.locator("#rec-list details[data-kind='cameras'] summary").click()
        page.locator("#rec-list details[data-kind='cameras'] tr[data-i='0']").click()
        popup = page.locator(".leaflet-popup-content")
        popup.wait_for(timeout=10_000)
        g = resp.value.json()["features"][0]["properties"]["marginal_gain"]
        assert "1" in popup.inner_text() and "Предельный выигрыш" in popup.inner_text() and g > 0
        page.screenshot(path=str(tmp_path / "recommendations.png"))
        # an out-of-range budget is refused in the panel, without a request
        n = len(seen)
        page.fill("#rec-n-sos", "500")
        page.click("#rec-apply")
        assert "200" in page.inner_text("#rec-state")
        page.wait_for_timeout(300)
        assert len(seen) == n
        errors, outside = page.errors, page.outside
        browser.close()
    assert not errors, errors
    assert not outside, outside[:5]


def test_patrol_controls_and_route_cards(server, tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser, page = _open(p, server, server["commander"])
        plans = []
        page.on("request", lambda r: plans.append(r.url) if "/patrol-plans.geojson" in r.url else None)
        page.fill("#pt-date", "2025-12-05")
        page.select_option("#pt-start", "20")
        page.select_option("#pt-end", "2")
        page.type("#pt-units", "3")  # appends to the 4: typing is not a request
        page.fill("#pt-units", "3")
        assert not plans
        assert page.is_disabled("#pt-cards")  # no plan on the map yet
        with page.expect_response(lambda r: "/patrol-plans.geojson" in r.url, timeout=180_000) as resp:
            page.click("#pt-apply")
        assert resp.value.status == 200
        q = parse_qs(urlparse(resp.value.url).query)
        assert q["shift"] == ["2025-12-05 20:00/02:00"] and q["units"] == ["3"] and q["mode"] == ["drive"]
        assert q["visits"] == ["1"]
        assert page.is_checked("#layer-patrol")
        page.wait_for_selector("#legend [data-layer='patrol'] .li", timeout=180_000)
        assert page.locator("#legend [data-layer='patrol'] .li").count() == 3
        assert len(plans) == 1

        # new shift and units on foot: a "computing…" state while the plan is computed, then the layer reloads
        held = []
        page.route("**/patrol-plans.geojson*", lambda route: held.append(route))
        page.select_option("#pt-start", "22")
        page.select_option("#pt-end", "4")
        page.fill("#pt-units", "2")
        page.select_option("#pt-mode", "walk")
        page.select_option("#pt-visits", "2")
        page.click("#pt-apply")
        page.wait_for_function("document.querySelector('#pt-state').dataset.busy === '1'", timeout=10_000)
        assert page.is_disabled("#pt-apply") and page.is_disabled("#pt-cards")
        assert page.inner_text("#pt-state") in ("⏳ Вычисляется…", "Вычисляется…")
        while not held:
            page.wait_for_timeout(50)
        held[0].continue_()
        page.unroute("**/patrol-plans.geojson*")
        page.wait_for_function("document.querySelector('#pt-state').dataset.busy === ''", timeout=180_000)
        assert not page.is_disabled("#pt-apply")
        q = parse_qs(urlparse(plans[-1]).query)
        assert q["shift"] == ["2025-12-05 22:00/04:00"] and q["units"] == ["2"] and q["mode"] == ["walk"]
        assert q["visits"] == ["2"]
        assert len(plans) == 2
        assert page.locator("#legend [data-layer='patrol'] .li").count() == 2
        assert "маршрутов: 2" in page.inner_text("#pt-state")
        # a stop's popup says which of the two visits it is
        page.evaluate("(() => { const g = window.qauipsiz.state.layers.patrol; let done = false;"
                      " g.eachLayer((l) => { if (!done && l.feature.properties.feature === 'stop'"
                      " && l.feature.properties.visit === 2) { l.openPopup(); done = true; } }); })()")
        popup = page.locator(".leaflet-popup-content")
        popup.wait_for(timeout=10_000)
        assert "Посещение №" in popup.inner_text() and "2" in popup.inner_text()
        page.screenshot(path=str(tmp_path / "patrol.png"))

        # route cards of the plan on the map, with the restricted-use marking
        with page.expect_popup(timeout=60_000) as pop, \
                page.expect_response(lambda r: "/patrol-cards.html" in r.url, timeout=180_000) as cards:
            page.click("#pt-cards")
        assert cards.value.status == 200
        cq = parse_qs(urlparse(cards.value.url).query)
        assert cq["shift"] == ["2025-12-05 22:00/04:00"] and cq["units"] == ["2"] and cq["mode"] == ["walk"]
        assert cq["visits"] == ["2"]
        tab = pop.value
        tab.wait_for_function("document.body && document.body.innerText.includes('ДЛЯ СЛУЖЕБНОГО ПОЛЬЗОВАНИЯ')",
                              timeout=60_000)
        assert tab.locator("h1").count() == 2
        tab.screenshot(path=str(tmp_path / "cards.png"), full_page=True)
        tab.close()
        # one unit's card
        page.select_option("#pt-unit", "2")
        with page.expect_popup(timeout=60_000) as pop, \
                page.expect_response(lambda r: "/patrol-cards.html" in r.url, timeout=180_000) as cards:
            page.click("#pt-cards")
        assert parse_qs(urlparse(cards.value.url).query)["unit"] == ["2"]
        pop.value.wait_for_function("document.querySelectorAll('h1').length === 1", timeout=60_000)
        pop.value.close()
        # an impossible shift is refused in the panel
        page.select_option("#pt-end", "22")
        page.click("#pt-apply")
        assert page.locator("#pt-state.error").count() == 1
        assert len(plans) == 2
        errors, outside = page.errors, page.outside
        browser.close()
    assert not errors, errors
    assert not outside, outside[:5]
