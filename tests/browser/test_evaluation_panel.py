"""Issue 18 in a real headless Chromium against ``qauipsiz serve``: the Evaluation panel (analyst) runs an
evaluation of the demo's cameras and shows the before/after chart, the numbers and the sentence, prints
one page; the Cases panel lists a stored case, opens it, changes its stage and evaluates it.

The server fixture is the one of ``test_dashboard.py`` (the reduced demo city: one year from 2024-01-01).
"""
from __future__ import annotations

import re

import httpx
import pytest

from tests.browser.test_daily_work import _finish, _page, _sign_in
from tests.browser.test_dashboard import server  # noqa: F401 -- the module-scoped server fixture

pytestmark = pytest.mark.browser
API = "/api/v1/cities/astana"
# the browser's print dialog cannot run headless: count the calls instead (the print CSS is checked by a PDF)
STUB_PRINT = "() => { window.__printed = 0; window.print = () => { window.__printed += 1; }; }"


def test_evaluation_panel_chart_sentence_and_print(server, tmp_path):  # noqa: F811 -- the fixture's value
    from playwright.sync_api import sync_playwright

    cams = httpx.get(server["base"] + API + "/layers/cameras.geojson", headers={"X-API-Key": server["key"]},
                     timeout=60).json()["features"]
    ids = sorted(int(f["properties"]["camera_id"]) for f in cams)[:40]
    with sync_playwright() as p:
        browser, page = _page(p, server, lang="en")
        assert page.locator("#eval-section").is_hidden()  # public: no evaluation, no cases
        assert page.locator("#cases-section").is_hidden()
        _sign_in(page, server["key"])
        page.wait_for_selector("#eval-section", state="visible")
        page.check("#ev-kind-layer")
        page.select_option("#ev-layer", "cameras")
        page.fill("#ev-ids", ", ".join(map(str, ids)))
        page.fill("#ev-date", "2024-07-01")
        page.fill("#ev-before", "6")
        page.fill("#ev-after", "5")
        with page.expect_response(lambda r: r.url.endswith("/cities/astana/evaluations"), timeout=180_000) as resp:
            page.click("#ev-run")
        assert resp.value.status == 200, resp.value.text()
        sent = resp.value.request.post_data_json
        assert (sent["layer"], sent["ids"], sent["installed"]) == ("cameras", ids, "2024-07-01")
        res = resp.value.json()
        page.wait_for_selector("#ev-result[data-done='1'] svg.ev-chart", timeout=30_000)
        # the chart draws the answer's own series: one vertex per month for treated and comparison
        pts = page.get_attribute("#ev-result polyline.treated", "points").split()
        assert len(pts) == len(res["series"]) >= 6
        assert len(page.get_attribute("#ev-result polyline.comparison", "points").split()) == len(res["series"])
        assert page.locator("#ev-result rect.after").count() == 1  # the post-period is shaded
        # the map shows what was evaluated: one 150 m disc and one ring edge per chosen camera
        page.wait_for_function(f"""(() => {{ let n = 0; window.qauipsiz.map.eachLayer((l) => {{
            if (l instanceof L.Circle && Math.abs(l.getRadius() - {res['radius_m']}) < 1e-6) n += 1; }});
            return n === {len(ids)}; }})()""", timeout=30_000)
        assert page.inner_text("#ev-result .ev-sentence").strip() == res["text"]["en"].strip()
        nums = page.inner_text("#ev-result table.ev-num")
        assert "Minimum detectable effect" in nums
        if res["decidable"]:
            assert "95 %" in nums and "WDQ" in nums
        else:
            assert page.locator("#ev-result .ev-undecidable").is_visible()
        # the language follows: the same answer in Kazakh
        page.click(".lang-btn[data-lang='kk']")
        assert page.inner_text("#ev-result .ev-sentence").strip() == res["text"]["kk"].strip()
        # one printed page holding the report alone (the print CSS; window.print is the browser's dialog)
        page.evaluate(STUB_PRINT)
        page.click("#ev-result button.ev-print")
        assert page.evaluate("window.__printed") == 1
        page.emulate_media(media="print")
        assert page.locator("#eval-print svg.ev-chart").is_visible() and page.locator("#map").is_hidden()
        pdf = page.pdf(format="A4")
        assert len(re.findall(rb"/Type\s*/Page(?!s)", pdf)) == 1  # one page
        page.emulate_media(media="screen")
        _finish(browser, page)


def test_draw_area_and_save_as_case(server):  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser, page = _page(p, server, lang="ru")
        _sign_in(page, server["key"])
        page.check("#ev-kind-area")
        page.click("#ev-draw")
        box = page.locator("#map").bounding_box()
        cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        for dx, dy in ((-60, -60), (60, -60), (60, 60), (-60, 60)):
            page.mouse.click(cx + dx, cy + dy)
        page.click("#ev-draw")  # finish
        expect(page.locator("#ev-area-state")).to_contain_text("4")
        page.fill("#ev-date", "2024-07-01")
        page.fill("#ev-before", "6")
        page.fill("#ev-after", "5")
        with page.expect_response(lambda r: r.url.endswith("/evaluations"), timeout=180_000) as resp:
            page.click("#ev-run")
        sent = resp.value.request.post_data_json
        ring = sent["area"]["coordinates"][0]
        assert sent["area"]["type"] == "Polygon" and len(ring) == 5 and ring[0] == ring[-1]
        assert resp.value.status == 200, resp.value.text()
        page.wait_for_selector("#ev-result[data-done='1'] svg.ev-chart", timeout=30_000)
        page.fill("#ev-case-title", "Нарисованная область")
        with page.expect_response(lambda r: r.url.endswith("/cities/astana/cases") and r.request.method == "POST") as cr:
            page.click("#ev-save")
        saved = cr.value.json()
        assert saved["place"]["area"]["coordinates"][0] == ring  # the drawn polygon, as evaluated
        assert saved["actions"][0]["done_date"] == "2024-07-01"
        page.wait_for_selector(f"#cs-list .cs-row[data-id='{saved['id']}']", timeout=30_000)
        _finish(browser, page)


def test_cases_panel_open_stage_evaluate(server):  # noqa: F811
    from playwright.sync_api import expect, sync_playwright

    h = {"X-API-Key": server["commander"]}
    body = {"title": "Кражи у камер", "layer": "cameras", "categories": ["theft"],
            "actions": [{"text": "Включить камеры", "owner": "акимат", "due_date": "2024-06-20",
                         "done_date": "2024-07-01"},
                        {"text": "Патрули", "owner": "полиция", "due_date": "2024-09-01"}]}
    r = httpx.post(server["base"] + API + "/cases", json=body, headers=h, timeout=30)
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    with sync_playwright() as p:
        browser, page = _page(p, server, lang="ru")
        _sign_in(page, server["commander"])  # commander: cases yes, the free evaluation panel no
        page.wait_for_selector(f"#cs-list .cs-row[data-id='{cid}']", timeout=30_000)
        assert page.locator("#eval-section").is_hidden()
        row = page.locator(f"#cs-list .cs-row[data-id='{cid}']")
        assert "выявление" in row.inner_text() and "1/2" in row.inner_text()
        row.locator("button.cs-open").click()
        page.wait_for_selector("#cs-detail h3")
        assert "Кражи у камер" in page.inner_text("#cs-detail h3")
        assert page.locator("#cs-detail ul.cs-actions li").count() == 2
        with page.expect_response(lambda r: r.request.method == "PATCH" and r.url.endswith(f"/cases/{cid}")):
            page.select_option("#cs-status", "response")
        expect(page.locator(f"#cs-list .cs-row[data-id='{cid}'] .cs-status")).to_have_text("меры")
        with page.expect_response(lambda r: "/actions/" in r.url and r.request.method == "PATCH"):
            page.locator("#cs-detail button.cs-done").first.click()
        expect(page.locator("#cs-detail button.cs-done")).to_have_count(0)
        expect(page.locator(f"#cs-list .cs-row[data-id='{cid}'] .cs-progress")).to_have_text("2/2")
        page.fill("#cs-before", "6")  # the reduced demo city holds one year
        page.fill("#cs-after", "5")
        with page.expect_response(lambda r: r.url.endswith(f"/cases/{cid}/evaluations"), timeout=180_000) as resp:
            page.click("#cs-evaluate")
        assert resp.value.status == 200, resp.value.text()
        res = resp.value.json()
        assert res["installed"] == "2024-07-01" and res["installed_rule"] == "done"
        page.wait_for_selector("#cs-eval[data-done='1'] svg.ev-chart", timeout=30_000)
        assert page.inner_text("#cs-eval .ev-sentence").strip() == res["text"]["ru"].strip()
        # its printable report: one A4 page with the case's title, the chart and the sentence, nothing else
        page.evaluate(STUB_PRINT)
        page.click("#cs-eval button.ev-print")
        assert page.evaluate("window.__printed") == 1
        page.emulate_media(media="print")
        expect(page.locator("#eval-print h1")).to_have_text(f"#{cid} Кражи у камер")
        assert page.locator("#eval-print table.cs-plan tr").count() == 3  # the plan's two items under a header
        assert page.locator("#eval-print svg.ev-chart").is_visible() and page.locator("#map").is_hidden()
        assert page.locator("#panel").is_hidden()
        assert len(re.findall(rb"/Type\s*/Page(?!s)", page.pdf(format="A4"))) == 1
        page.emulate_media(media="screen")
        # a new case from the panel's form: it is stored, listed and opened
        page.fill("#cs-new-title", "Ночные грабежи")
        page.select_option("#cs-new-layer", "lamps")
        page.fill("#cs-new-ids", "3, 5")
        page.select_option("#cs-new-category", "robbery")
        page.fill("#cs-new-hours", "22-04")
        page.fill("#cs-new-first", "Починить фонари")
        page.fill("#cs-new-first-due", "2024-08-15")
        with page.expect_response(lambda r: r.url.endswith("/cities/astana/cases") and r.request.method == "POST") as cr:
            page.click("#cs-create")
        assert cr.value.status == 201, cr.value.text()
        new = cr.value.json()
        assert new["place"] == {"layer": "lamps", "ids": [3, 5]}
        assert new["problem"]["categories"] == ["robbery"] and new["problem"]["hours"] == "22-04"
        assert new["actions"][0]["due_date"] == "2024-08-15" and new["created_by"].startswith("key:")
        expect(page.locator("#cs-detail h3")).to_contain_text("Ночные грабежи")
        expect(page.locator(f"#cs-list .cs-row[data-id='{new['id']}']")).to_have_count(1)
        _finish(browser, page)
    stored = httpx.get(server["base"] + API + f"/cases/{cid}", headers=h, timeout=30).json()
    assert stored["status"] == "response" and all(a["done_date"] for a in stored["actions"])


def test_inspector_sees_the_cases_of_its_beat(server):  # noqa: F811
    from playwright.sync_api import expect, sync_playwright
    from shapely.geometry import mapping, shape

    from qauipsiz.api.store import Store

    base, h = server["base"], {"X-API-Key": server["key"]}
    beats = httpx.get(base + API + "/beats.geojson", headers=h, timeout=120).json()["features"]
    mine, far = beats[0], max(beats[1:], key=lambda f: shape(f["geometry"]).centroid.distance(
        shape(beats[0]["geometry"]).centroid))
    ids = []
    for f, title in ((mine, "в участке"), (far, "чужой участок")):
        area = mapping(shape(f["geometry"]).representative_point().buffer(0.0005))
        r = httpx.post(base + API + "/cases", json={"title": title, "area": area}, headers=h, timeout=30)
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    store = Store(server["url"])
    key = store.create_api_key("inspector", "browser inspector", beat=mine["properties"]["beat_id"])
    store.close()
    with sync_playwright() as p:
        browser, page = _page(p, server, lang="ru")
        page.fill("#apikey", key)
        page.click("#login")
        page.wait_for_selector("#cases-section", state="visible", timeout=30_000)
        expect(page.locator(f"#cs-list .cs-row[data-id='{ids[0]}']")).to_have_count(1)
        assert page.locator(f"#cs-list .cs-row[data-id='{ids[1]}']").count() == 0
        assert page.locator("#eval-section").is_hidden()  # the free evaluation stays with analyst and admin
        _finish(browser, page)
