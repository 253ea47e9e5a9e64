"""Issue 17 item 11 in a real headless Chromium against ``qauipsiz serve``: charts of the current filter, the
count of matching incidents, the scale bar, address search, zoom to a district, street labels, the
incident-point layer only after an analyst signs in (audited), before/after, and the print layout.

The server fixture is the one of ``test_dashboard.py`` (the reduced demo city, ingested as synthetic data).
"""
from __future__ import annotations

import httpx
import pandas as pd
import pytest

from tests.browser.test_daily_work import _finish, _page, _sign_in
from tests.browser.test_dashboard import server  # noqa: F401 -- the module-scoped server fixture

pytestmark = pytest.mark.browser


def _charts_seq(page) -> int:
    return int(page.evaluate("Number(document.body.dataset.chartsReady || 0)"))


def _wait_charts(page, after: int) -> None:
    page.wait_for_function(f"Number(document.body.dataset.chartsReady || 0) > {after}"
                           " && document.getElementById('ch-state').dataset.busy !== '1'", timeout=60_000)


def _hw_values(page) -> list[list]:
    return page.evaluate("""(() => { const t = Array.from({length: 7}, () => Array(24).fill(null));
        document.querySelectorAll('#ch-hw-svg rect[data-d]').forEach((r) => {
            t[+r.dataset.d][+r.dataset.h] = r.dataset.v === '' ? null : +r.dataset.v; });
        return t; })()""")


def test_charts_search_scale_print(server, tmp_path):  # noqa: F811
    """Public charts (suppressed table), then the analyst's charts for the filter, which change with it;
    the scale bar; address search moves the map; zoom to a district; labels; the print layout."""
    from playwright.sync_api import sync_playwright

    base, key = server["base"], server["key"]
    with sync_playwright() as p:
        browser, page = _page(p, server, lang="ru")
        # the scale bar (metric)
        scale = page.locator(".leaflet-control-scale-line")
        assert scale.count() == 1 and scale.is_visible() and scale.inner_text().strip().endswith(("m", "km", "м", "км"))

        # the public role: the public table, suppressed and rounded, no filter
        page.wait_for_selector("#ch-hw-svg", timeout=60_000)
        assert page.locator("#ch-public").count() == 1
        pub = httpx.get(f"{base}/api/v1/public/cities/astana/charts", timeout=60).json()
        assert _hw_values(page) == pub["hour_weekday"]
        assert page.locator("#ch-hw-svg rect[data-d]").count() == 168

        # an analyst: the same filter as the map
        seq = _charts_seq(page)
        _sign_in(page, key)
        _wait_charts(page, seq)
        assert page.locator("#ch-public").count() == 0
        full = httpx.get(f"{base}/api/v1/cities/astana/charts", headers={"X-API-Key": key}, timeout=60).json()
        assert _hw_values(page) == full["hour_weekday"]
        count_all = page.inner_text("#ch-count")
        assert f"{full['count']:,}".replace(",", "\u00a0") in count_all or str(full["count"]) in count_all.replace("\u00a0", "")
        assert page.locator("#ch-trend-svg circle").count() == sum(m["count"] is not None for m in full["monthly"])
        bars_all = page.locator("#ch-cats-svg rect").count()
        assert bars_all == min(8, len(full["categories"]))

        # change the filter: theft in the evening; the charts follow it
        seq = _charts_seq(page)
        page.select_option("#f-category", ["theft"])
        page.select_option("#f-hour-from", "18")
        page.select_option("#f-hour-to", "2")
        page.click("#apply")
        _wait_charts(page, seq)
        theft = httpx.get(f"{base}/api/v1/cities/astana/charts", params={"category": "theft", "hours": "18-2"},
                          headers={"X-API-Key": key}, timeout=60).json()
        assert theft["count"] < full["count"]
        assert _hw_values(page) == theft["hour_weekday"]
        assert page.inner_text("#ch-count") != count_all
        assert page.locator("#ch-cats-svg rect").count() == 1
        hw = _hw_values(page)
        assert all(hw[d][h] == 0 for d in range(7) for h in range(2, 18))  # outside 18-02 nothing is drawn
        page.click("#reset")
        _wait_charts(page, seq + 1)

        # address search: the map moves to the geocoder's answer
        before = page.evaluate("window.qauipsiz.map.getCenter()")
        page.fill("#search-q", "улица Шертер, 7")
        page.press("#search-q", "Enter")
        page.wait_for_function("document.getElementById('search-state').innerText.startsWith('Найдено')", timeout=30_000)
        ans = httpx.get(f"{base}/api/v1/cities/astana/search", params={"q": "улица Шертер, 7"}, timeout=60).json()
        c = page.evaluate("window.qauipsiz.map.getCenter()")
        assert abs(c["lat"] - ans["lat"]) < 1e-4 and abs(c["lng"] - ans["lon"]) < 1e-4
        assert abs(c["lat"] - before["lat"]) + abs(c["lng"] - before["lng"]) > 1e-3
        assert page.evaluate("window.qauipsiz.map.getZoom()") >= 16
        # street labels from the city's own street layer are drawn at this zoom
        page.wait_for_timeout(300)
        assert page.locator(".map-label.street").count() > 0
        assert "Шертер" in page.inner_text(".leaflet-popup-content")
        # an address the gazetteer cannot place: a message in the UI language
        page.fill("#search-q", "zzqx qwxz 99999")
        page.press("#search-q", "Enter")
        page.wait_for_function("document.getElementById('search-state').classList.contains('error')", timeout=30_000)
        assert page.inner_text("#search-state").startswith("Адрес не найден")

        # zoom to the chosen district
        d = page.evaluate("window.qauipsiz.state.cityInfo.districts[0].district")
        page.select_option("#f-district", d)
        page.wait_for_function(f"Math.abs(window.qauipsiz.map.getCenter().lng - {c['lng']}) > 1e-3", timeout=30_000)
        fc = httpx.get(f"{base}/api/v1/cities/astana/districts.geojson", timeout=60).json()
        geom = next(f for f in fc["features"] if f["properties"]["district"] == d)["geometry"]
        import shapely

        poly = shapely.geometry.shape(geom)
        cen = page.evaluate("window.qauipsiz.map.getCenter()")
        x0, y0, x1, y1 = poly.bounds
        assert x0 < cen["lng"] < x1 and y0 < cen["lat"] < y1
        # the district fills the view: its bounds hold at least 30 % of the view's width or height
        vb = page.evaluate("(() => { const b = window.qauipsiz.map.getBounds(); return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()]; })()")
        assert max((x1 - x0) / (vb[2] - vb[0]), (y1 - y0) / (vb[3] - vb[1])) > 0.3
        page.select_option("#f-district", "")

        # PNG: the map composed on one canvas in the browser (title band with the synthetic banner, heat tiles,
        # vector layers, labels, scale bar, credit line)
        with page.expect_download(timeout=30_000) as dl:
            page.click("#print-png")
        assert dl.value.suggested_filename == "astana_SYNTHETIC_map.png"
        png = tmp_path / "map.png"
        dl.value.save_as(str(png))
        from PIL import Image

        img = Image.open(png).convert("RGB")
        mb = page.locator("#map").bounding_box()
        assert abs(img.width - mb["width"]) <= 2 and img.height > mb["height"]
        assert img.getpixel((img.width - 3, 3)) == (0xFF, 0xF3, 0xCD)  # the synthetic-data band
        body = img.crop((0, 64, img.width, 64 + int(mb["height"])))
        assert len(body.getcolors(1 << 20)) > 200  # tiles, streets and labels drawn, not a blank canvas
        import numpy as np

        px = np.asarray(body).astype(int)
        heat = (px[..., 0] > 200) & (px[..., 1] < 215) & (px[..., 2] < 190) & (px[..., 0] - px[..., 2] > 60)
        assert heat.sum() > 500, heat.sum()  # the heat tiles are in the picture

        # print: the button fills the title block and calls the browser's print; the print CSS lays out the map
        page.evaluate("() => { window.print = () => { window.__printed = (window.__printed || 0) + 1; }; }")
        page.click("#print-map")
        page.wait_for_timeout(1000)
        assert page.evaluate("window.__printed") == 1
        page.emulate_media(media="print")
        assert not page.locator("#panel").is_visible() and not page.locator("#search-form").is_visible()
        head = page.locator("#print-head")
        assert head.is_visible()
        text = head.inner_text()
        assert "Қауіпсіз — Астана" in text and "СИНТЕТИЧЕСКИЕ" in text.upper() and "OpenStreetMap" in text
        assert page.locator("#legend").is_visible() and page.locator(".leaflet-control-scale-line").is_visible()
        assert "OpenStreetMap" in page.inner_text(".leaflet-control-attribution")
        hb, mb = head.bounding_box(), page.locator("#map").bounding_box()
        assert hb["y"] + hb["height"] <= mb["y"] + 1  # the title block above the map, not under it
        vw = page.viewport_size["width"]
        assert page.locator("#map").bounding_box()["width"] > 0.9 * vw  # the panel's width goes to the map
        page.evaluate("() => window.scrollTo(0, 0)")
        page.screenshot(path=str(tmp_path / "print.png"), full_page=True)
        page.emulate_media(media="screen")
        assert page.locator("#panel").is_visible()
        _finish(browser, page)


def test_incident_layer_and_compare_after_sign_in(server):  # noqa: F811
    """The incident-point layer is offered only after an analyst signs in; its reads are audited; the box
    on the map states how many of how many are shown.  Before/after draws a difference layer."""
    from playwright.sync_api import sync_playwright

    from qauipsiz.api.store import Store

    with sync_playwright() as p:
        browser, page = _page(p, server, lang="en")
        assert page.locator("#layer-incidents").count() == 0
        assert page.locator("#cmp-section").is_hidden()
        _sign_in(page, server["key"])
        assert page.locator("#layer-incidents").count() == 1
        with page.expect_response(lambda r: "/incidents?" in r.url and r.status == 200, timeout=60_000) as resp:
            page.check("#layer-incidents")
        total = int(resp.value.headers["x-total-count"])
        page.wait_for_selector("#inc-note", timeout=30_000)
        shown = page.evaluate("(() => { let n = 0; window.qauipsiz.state.layers.incidents.eachLayer(() => n++); return n; })()")
        assert shown == min(total, 5000) and shown > 0
        assert page.inner_text("#inc-note").startswith(f"{shown:,} of {total:,} incidents")
        store = Store(server["url"])
        log = store.audit_log(20, action="incidents.read")
        store.close()
        assert len(log) and log["role"].iloc[0] == "analyst" and "browser test" in str(log["who"].iloc[0])

        # before / after: first and last quarter of the data
        months = [m["month"] for m in page.evaluate("fetch('/api/v1/cities/astana/charts', {headers: {'X-API-Key': "
                                                    + repr(server["key"]) + "}}).then((r) => r.json())")["monthly"]]
        b0 = pd.Period(months[0], "M")
        a1 = pd.Period(months[-1], "M")
        page.fill("#cmp-b0", b0.start_time.strftime("%Y-%m-%d"))
        page.fill("#cmp-b1", (b0 + 3).start_time.strftime("%Y-%m-%d"))
        page.fill("#cmp-a0", (a1 - 2).start_time.strftime("%Y-%m-%d"))
        page.fill("#cmp-a1", (a1 + 1).start_time.strftime("%Y-%m-%d"))
        with page.expect_response(lambda r: "/compare.geojson" in r.url and r.status == 200, timeout=60_000) as resp:
            page.click("#cmp-run")
        fc = resp.value.json()
        page.wait_for_selector("#cmp-summary", timeout=30_000)
        assert f"Before {fc['meta']['total_before']:,}" in page.inner_text("#cmp-summary")
        assert page.locator("#cmp-districts tr").count() == len(fc["meta"]["districts"]) + 1
        page.click(".lang-btn[data-lang='kk']")
        page.wait_for_timeout(200)
        assert page.inner_text("#cmp-summary").startswith("Бұрын")
        page.click("#cmp-clear")
        assert page.inner_text("#cmp-result") == ""
        _finish(browser, page)


def test_trend_marks_the_2019_series_break(server, demo_dir, tmp_path):  # noqa: F811
    """Incidents of late 2018 added to the store (real ingestion) make the monthly series span January 2019:
    the trend chart marks the series break and says why, in the UI language."""
    from playwright.sync_api import sync_playwright

    from qauipsiz.api.ingest import ingest_file
    from qauipsiz.api.store import Store

    lines = (demo_dir / "incidents_export.csv").read_text(encoding="utf-8-sig").splitlines()
    rows = []
    for i, line in enumerate(lines[1:41]):
        f = line.split(";")
        day, month = 1 + i % 27, 11 + i % 2
        f[0] = f"18{i:013d}"
        f[1] = f"{day:02d}.{month:02d}.2018 {f[1][-5:]}"
        f[2] = f"{day:02d}.{month:02d}.2018 23:59"
        rows.append(";".join(f))
    csv = tmp_path / "planted_2018.csv"
    csv.write_text("\n".join([lines[0], *rows]) + "\n", encoding="utf-8-sig")
    store = Store(server["url"])
    rep = ingest_file(csv, city="astana", store=store, source="planted2018")
    store.close()
    assert rep.accepted >= 30
    import time

    for _ in range(20):  # the service sees another process's ingestion within its version clock's second
        body = httpx.get(f"{server['base']}/api/v1/cities/astana/charts", headers={"X-API-Key": server["key"]},
                         timeout=60).json()
        if body["series_break"]:
            break
        time.sleep(0.5)
    assert body["series_break"]["month"] == "2019-01", [m["month"] for m in body["monthly"]][:3]
    months = [m["month"] for m in body["monthly"]]
    assert months[0] == "2018-11" and "2019-01" in months
    with sync_playwright() as p:
        browser, page = _page(p, server, lang="en")
        _sign_in(page, server["key"])
        page.wait_for_selector("#ch-break", state="attached", timeout=60_000)  # a vertical line: no width
        assert "2019: series break" in page.inner_text("#ch-break-note")
        # the mark sits between December 2018 and January 2019 on the time axis
        xs = page.evaluate("""(() => { const c = (m) => { const e = document.querySelector(`#ch-trend-svg circle[data-month='${m}']`);
            return e ? +e.getAttribute('cx') : null; };
            return [c('2018-12'), +document.getElementById('ch-break').getAttribute('x1'), c('2019-01')]; })()""")
        assert xs[0] is not None and xs[2] is not None and xs[0] < xs[1] < xs[2]
        _finish(browser, page)
