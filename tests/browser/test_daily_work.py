"""Issue 17 (dashboard for daily work), items 1-5 and 8, in a real headless Chromium against ``qauipsiz serve``.

The server fixture is the one of ``test_dashboard.py`` (the reduced demo city, ingested with source
"demo", so the store's data is synthetic). Set ``QAUIPSIZ_DOC_SHOTS=docs/img`` to also write the
kk / ru / en dashboard screenshots of the documentation.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import httpx
import pytest

from tests.browser.test_dashboard import ARGS, CHROMIUM, server  # noqa: F401 -- the module-scoped server fixture

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.browser


def _page(p, server, *, lang="ru", viewport=(1400, 900)):  # noqa: F811 -- the fixture's value
    base = server["base"]
    browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    ctx = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
    ctx.add_init_script(f"localStorage.setItem('qauipsiz.lang', {lang!r});")
    page = ctx.new_page()
    page.errors, page.outside = [], []
    ctx.on("request", lambda r: page.outside.append(r.url) if not r.url.startswith((base, "data:", "blob:", "about:"))
           else None)
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.goto(base + "/")
    page.wait_for_selector("body[data-ready='1']", timeout=60_000)
    return browser, page


def _sign_in(page, key):
    page.fill("#apikey", key)
    page.click("#login")
    page.wait_for_function("document.querySelectorAll('#layer-list input').length > 2", timeout=30_000)


def _finish(browser, page):
    errors, outside = page.errors, page.outside
    browser.close()
    assert not errors, errors
    assert not outside, outside[:5]


def _click_feature(page, layer_id, pick):
    """Centre the map on a feature of ``layer_id`` chosen by the JS predicate ``pick`` and click there with
    the mouse (a real click through every pane and canvas); returns the feature's properties."""
    props = page.evaluate(f"""(() => {{
        const q = window.qauipsiz, g = q.state.layers[{layer_id!r}]; let hit = null;
        g.eachLayer((l) => {{ if (!hit && ({pick})(l.feature.properties)) hit = l; }});
        if (!hit) return null;
        q.map.setView(hit.getBounds().getCenter(), 17, {{animate: false}});
        q.map.closePopup();
        window.__qzTarget = hit;
        return hit.feature.properties; }})()""")
    assert props is not None, f"no feature of {layer_id} to click"
    page.wait_for_timeout(400)
    # the centre of the chosen polygon (its interior point may differ from the bounds' centre for odd shapes)
    xy = page.evaluate("""(() => { const q = window.qauipsiz, l = window.__qzTarget;
        const ll = l.getCenter ? l.getCenter() : l.getBounds().getCenter();
        const p = q.map.latLngToContainerPoint(ll), r = document.getElementById('map').getBoundingClientRect();
        return [r.left + p.x, r.top + p.y]; })()""")
    page.mouse.click(xy[0], xy[1])
    return props


def test_signed_in_clicks_open_popups(server):  # noqa: F811
    """Item 1: after signing in (the public layer was drawn first), a Gi* hexagon and a CPTED block open
    their popups; the CPTED popup has readable labels in the UI language only (item 5)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser, page = _page(p, server)
        page.wait_for_selector("#legend [data-layer='public'] .li", timeout=60_000)  # the public layer is drawn
        _sign_in(page, server["key"])
        with page.expect_response(lambda r: "/hotspots.geojson" in r.url and r.status == 200, timeout=120_000):
            page.check("#layer-hexagons")
        page.wait_for_selector("#legend [data-layer='hexagons'] .li", timeout=60_000)
        props = _click_feature(page, "hexagons", "(p) => p.gi_bin === 3 && p.count > 0")
        popup = page.locator(".leaflet-popup-content")
        popup.wait_for(timeout=10_000)
        assert props["h3"] in popup.inner_text() and "Класс Gi*" in popup.inner_text()
        page.uncheck("#layer-hexagons")

        # CPTED blocks: a click opens the popup, in Russian only, without raw field names
        with page.expect_response(lambda r: "/cpted/blocks.geojson" in r.url and r.status == 200,
                                  timeout=300_000) as resp:
            page.check("#layer-cpted")
        page.wait_for_selector("#legend [data-layer='cpted'] .li", timeout=60_000)
        block = _click_feature(page, "cpted", "(p) => p.score !== null && p.fix_1_ru")
        popup.wait_for(timeout=10_000)
        text = popup.inner_text()
        assert "Балл CPTED (0–100)" in text and "Естественное наблюдение" in text and "Средняя освещённость, лк" in text
        assert block["fix_1_ru"] in text
        assert block["fix_1_en"] not in text and block["fix_1_kk"] not in text  # one language only
        raw = [k for k in resp.value.json()["features"][0]["properties"] if len(k) > 2 and k in text]
        assert not raw, raw
        assert not re.search(r"[a-z]+_[a-z]+", text), text  # no snake_case field names at all
        page.click(".lang-btn[data-lang='kk']")
        _click_feature(page, "cpted", f"(p) => p.block_id === {block['block_id']!r}")
        popup.wait_for(timeout=10_000)
        assert block["fix_1_kk"] in popup.inner_text() and "CPTED балы" in popup.inner_text()
        _finish(browser, page)


def test_fix_first_panel(server):  # noqa: F811
    """Item 5: the fix-first list in the dashboard, with the street and a point of each block; the API and
    the rows carry street, lat and lon."""
    from playwright.sync_api import sync_playwright

    r = httpx.get(server["base"] + "/api/v1/cities/astana/cpted/fix-first", params={"limit": 5, "lang": "kk"},
                  headers={"X-API-Key": server["key"]}, timeout=300)
    assert r.status_code == 200
    rows = r.json()
    assert rows and {"street", "lat", "lon", "fix_1_kk"} <= set(rows[0])
    assert all(50 < x["lat"] < 52 and 70 < x["lon"] < 73 and x["street"] for x in rows)
    with sync_playwright() as p:
        browser, page = _page(p, server, lang="ru")
        assert not page.locator("#ff-section").is_visible()  # public: no CPTED
        _sign_in(page, server["key"])
        assert page.locator("#ff-section").is_visible()
        with page.expect_response(lambda r: "/cpted/fix-first" in r.url, timeout=300_000) as resp:
            page.click("#ff-load")
        assert resp.value.status == 200 and "lang=ru" in resp.value.url
        page.wait_for_selector("#ff-list tr[data-i]", timeout=30_000)
        first = resp.value.json()[0]
        row = page.locator("#ff-list tr[data-i='0']")
        assert first["street"] in row.inner_text() and first["fix_1_ru"] in row.inner_text()
        row.click()
        popup = page.locator(".leaflet-popup-content")
        popup.wait_for(timeout=10_000)
        assert first["street"] in popup.inner_text()
        # the language follows: the list is fetched again with the kk fixes
        with page.expect_response(lambda r: "/cpted/fix-first" in r.url and "lang=kk" in r.url, timeout=60_000):
            page.click(".lang-btn[data-lang='kk']")
        assert rows[0]["block_id"] == first["block_id"]  # the same order in every language
        page.wait_for_function(f"document.querySelector('#ff-list').innerText.includes({rows[0]['fix_1_kk']!r})",
                               timeout=30_000)
        assert page.inner_text("#ff-section h2").strip().lower() == "алдымен жөндеу керек кварталдар"
        _finish(browser, page)


def test_synthetic_banner_and_osm_credit(server, tmp_path):  # noqa: F811
    """Item 2: the demo city is flagged by the API and shown with a banner; the OSM credit is on the map."""
    from playwright.sync_api import sync_playwright

    info = httpx.get(server["base"] + "/api/v1/cities/astana", timeout=30).json()
    assert info["synthetic"] is True and "SYNTHETIC" in info["notice"]
    with sync_playwright() as p:
        browser, page = _page(p, server, lang="ru")
        banner = page.locator("#synthetic-banner")
        assert banner.is_visible() and "СИНТЕТИЧЕСКИЕ ДАННЫЕ" in banner.inner_text()
        assert "OpenStreetMap" in page.inner_text(".leaflet-control-attribution")
        page.click(".lang-btn[data-lang='kk']")
        assert "СИНТЕТИКАЛЫҚ ДЕРЕКТЕР" in banner.inner_text()
        page.click(".lang-btn[data-lang='en']")
        assert "SYNTHETIC DATA" in banner.inner_text()
        # a public district popup says it too
        page.wait_for_selector("#legend [data-layer='public'] .li", timeout=60_000)
        page.evaluate("(() => { let done = false; window.qauipsiz.state.layers.public.eachLayer((l) => {"
                      " if (!done) { l.openPopup(); done = true; } }); })()")
        page.locator(".leaflet-popup-content").wait_for(timeout=10_000)
        assert "synthetic data" in page.inner_text(".leaflet-popup-content").lower()
        # an exported file's name says it
        with page.expect_download(timeout=60_000) as dl:
            page.click("#exports button.export")
        assert "SYNTHETIC" in dl.value.suggested_filename
        _finish(browser, page)


def test_static_map_synthetic_and_osm(tmp_path):
    """Item 2: the static map carries the synthetic banner when asked and always the OSM credit."""
    from qauipsiz.hotspot.cities import get_city
    from qauipsiz.maps.static import write_map

    c = get_city("astana")
    page = write_map(tmp_path / "m.html", c, lang="kk", synthetic=True).read_text(encoding="utf-8")
    assert "qauipsiz-synthetic" in page and "СИНТЕТИКАЛЫҚ ДЕРЕКТЕР" in page
    assert "© OpenStreetMap contributors" in page
    plain = write_map(tmp_path / "p.html", c, lang="ru").read_text(encoding="utf-8")
    assert "qauipsiz-synthetic" not in plain and "© OpenStreetMap contributors" in plain


def test_errors_in_the_ui_language(server, tmp_path):  # noqa: F811
    """Item 3: errors are shown by their code in kk (the server's detail as secondary text); an invalid
    filter and a filter that matches nothing say so in kk."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser, page = _page(p, server, lang="kk")
        _sign_in(page, server["key"])
        bad = tmp_path / "garbage.geojson"
        bad.write_bytes(b"\xff\xfe not json")
        with page.expect_response(lambda r: "/api/v1/review" in r.url, timeout=60_000) as resp:
            page.set_input_files("#rv-file", str(bad))
        assert resp.value.status == 400
        body = resp.value.json()
        assert body["type"].endswith("/invalid-design")
        page.wait_for_selector("#rv-state.error", timeout=30_000)
        text = page.inner_text("#rv-state")
        assert "Жоба файлы оқылмады" in text and "Жоба тексерілмеді" in text
        assert body["detail"] in text  # the server's words, secondary
        page.click(".lang-btn[data-lang='ru']")
        assert "Файл проекта не прочитан" in page.inner_text("#rv-state")
        page.click(".lang-btn[data-lang='kk']")

        # an invalid filter: "to" before "from"
        page.fill("#f-start", "2025-06-01")
        page.fill("#f-end", "2025-01-01")
        with page.expect_response(lambda r: "/heat/legend" in r.url, timeout=60_000) as resp:
            page.click("#apply")
        assert resp.value.status == 422 and resp.value.json()["type"].endswith("/invalid-date-range")
        page.wait_for_function("document.querySelector('#status').innerText.includes('«Дейін» күні')",
                               timeout=30_000)
        # a filter that matches nothing: a clear message, not a blank map
        page.fill("#f-start", "2001-01-01")
        page.fill("#f-end", "2001-01-08")
        page.click("#apply")
        page.wait_for_function("document.querySelector('#status').innerText.includes("
                               "'Бұл сүзгілерге сәйкес оқиғалар жоқ')", timeout=60_000)
        assert "сәйкес оқиғалар жоқ" in page.inner_text("#legend")
        _finish(browser, page)


def test_wrong_key_says_so(server):  # noqa: F811
    """Item 4: a mistyped key shows a message in the UI language; the role stays public."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser, page = _page(p, server, lang="ru")
        assert not page.locator("#key-msg").is_visible()
        wrong = server["key"][:-3] + ("aaa" if not server["key"].endswith("aaa") else "bbb")
        with page.expect_response(lambda r: r.url.endswith("/api/v1/me"), timeout=30_000) as resp:
            page.fill("#apikey", wrong)
            page.click("#login")
        assert resp.value.status == 401
        msg = page.locator("#key-msg")
        msg.wait_for(state="visible", timeout=10_000)
        assert "Ключ не распознан" in msg.inner_text()
        page.wait_for_timeout(1500)  # layers reload: the message stays
        assert msg.is_visible()
        assert page.eval_on_selector_all("#layer-list input", "els => els.map(e => e.value)") == ["public", "publicCells"]
        assert "открытые данные" in page.inner_text("#role")
        page.click(".lang-btn[data-lang='kk']")
        assert "Кілт танылмады" in msg.inner_text()
        page.click(".lang-btn[data-lang='en']")
        assert "Key not recognised" in msg.inner_text()
        # the right key: the message goes
        _sign_in(page, server["key"])
        assert not msg.is_visible()
        _finish(browser, page)


def test_phone_layout_and_route_card(server, tmp_path):  # noqa: F811
    """Item 8: at 390×844 the panel folds away (the map is at least 300 px wide) and opens with a button;
    the route card has a viewport tag, a print button and print CSS, and fits the phone's width."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser, page = _page(p, server, lang="kk", viewport=(390, 844))
        page.wait_for_timeout(500)
        box = page.locator("#map").bounding_box()
        assert box["width"] >= 300 and box["height"] >= 300, box
        assert not page.locator("#layer-list").is_visible() or page.locator("#panel").bounding_box()["x"] < -100
        page.screenshot(path=str(tmp_path / "phone.png"))
        page.click("#panel-toggle")
        page.wait_for_timeout(400)
        panel = page.locator("#panel").bounding_box()
        assert panel["x"] >= -1 and panel["width"] <= 390
        assert page.locator("#layer-list").is_visible()
        page.click("#panel-toggle")
        page.wait_for_timeout(400)
        assert page.locator("#panel").bounding_box()["x"] < 0

        # the route cards (commander), opened at phone width
        r = httpx.get(server["base"] + "/api/v1/cities/astana/patrol-cards.html",
                      params={"shift": "2025-12-05 20:00/02:00", "units": 2, "lang": "kk"},
                      headers={"X-API-Key": server["commander"]}, timeout=300)
        assert r.status_code == 200
        cards = r.text
        assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in cards
        assert cards.count('name="viewport"') == 1 and "@media print" in cards
        card = page.context.new_page()
        card.set_content(cards)
        assert card.evaluate("document.querySelector('meta[name=viewport]').content").startswith("width=device-width")
        assert card.evaluate("document.documentElement.scrollWidth") <= 400
        assert "Басып шығару" in card.inner_text("#qz-print") and card.locator("#qz-print").is_visible()
        card.emulate_media(media="print")
        assert not card.locator("#qz-print").is_visible()  # the printout leaves the button out
        card.screenshot(path=str(tmp_path / "card_phone.png"), full_page=True)
        card.close()
        _finish(browser, page)


@pytest.mark.skipif(not os.environ.get("QAUIPSIZ_DOC_SHOTS"), reason="set QAUIPSIZ_DOC_SHOTS=docs/img to write them")
def test_documentation_screenshots(server):  # noqa: F811
    """The kk / ru / en screenshots of docs/img (an analyst with the Gi* hexagons and the fix-first list)."""
    from playwright.sync_api import sync_playwright

    out = ROOT / os.environ["QAUIPSIZ_DOC_SHOTS"]
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        for lang in ("kk", "ru", "en"):
            browser, page = _page(p, server, lang=lang, viewport=(1280, 800))
            _sign_in(page, server["key"])
            page.check("#layer-hexagons")
            page.wait_for_selector("#legend [data-layer='hexagons'] .li", timeout=120_000)
            page.wait_for_selector("#legend [data-layer='heat'] .scale", timeout=120_000)
            page.click("#ff-load")
            page.wait_for_selector("#ff-list tr[data-i]", timeout=300_000)
            page.locator("#ff-section").scroll_into_view_if_needed()
            page.wait_for_timeout(1000)
            shot = out / f"dashboard_{lang}.png"
            page.screenshot(path=str(shot), type="png")
            _finish(browser, page)
            from PIL import Image  # a 256-colour palette keeps the documentation's PNGs small

            Image.open(shot).convert("RGB").quantize(256).save(shot, optimize=True)
            assert 20_000 < shot.stat().st_size < 300_000
