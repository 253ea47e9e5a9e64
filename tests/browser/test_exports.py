"""Issue 17.6 in a real headless Chromium: the exports panel downloads a layer as XLSX that openpyxl
opens, and the incident export states how many rows the file holds of how many."""
from __future__ import annotations

import openpyxl
import pytest

from tests.browser.test_dashboard import ARGS, CHROMIUM, server  # noqa: F401 -- the module-scoped server fixture

pytestmark = pytest.mark.browser


def test_dashboard_downloads_xlsx_that_openpyxl_opens(server, tmp_path):  # noqa: F811
    from playwright.sync_api import sync_playwright

    base = server["base"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        ctx = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
        ctx.add_init_script("localStorage.setItem('qauipsiz.lang', 'en');")
        page = ctx.new_page()
        errors, outside = [], []
        page.on("pageerror", lambda e: errors.append(str(e)))
        ctx.on("request", lambda r: outside.append(r.url)
               if not r.url.startswith((base, "data:", "blob:", "about:")) else None)
        page.goto(base + "/")
        page.wait_for_selector("body[data-ready='1']", timeout=60_000)
        # public: the district indicators in every format, no restricted export
        opts = page.eval_on_selector_all("#export-format option", "els => els.map(e => e.value)")
        assert opts == ["geojson", "gpkg", "csv", "xlsx"]
        assert page.locator("#exports button[data-i18n='exportIncidents']").count() == 0

        page.fill("#apikey", server["key"])
        page.click("#login")
        page.wait_for_function("document.querySelectorAll('#layer-list input').length > 2", timeout=30_000)
        page.wait_for_selector("#exports button[data-i18n='exportIncidents']", timeout=30_000)
        # a CPTED layer switched on gets its own export
        page.check("#layer-cpted")
        page.wait_for_selector("#exports button[data-i18n='exportCpted']", timeout=30_000)

        page.select_option("#export-format", "xlsx")
        with page.expect_download(timeout=120_000) as dl:
            page.click("#exports button[data-i18n='exportIncidents']")
        path = tmp_path / "inc.xlsx"
        dl.value.save_as(path)
        assert dl.value.suggested_filename.endswith("incidents.xlsx")
        wb = openpyxl.load_workbook(path)
        ws = wb.worksheets[0]
        head = [c.value for c in ws[1]]
        assert "incident_id" in head and "lat" in head
        n = sum(1 for _ in ws.iter_rows(min_row=2))
        assert n > 0
        about = {r[0].value: r[1].value for r in wb["about"].iter_rows(min_row=2)}
        assert about["rows"] == n and about["total"] == n  # complete, and the file says so
        page.wait_for_function("document.getElementById('export-state').textContent.includes(' of ')", timeout=30_000)
        assert f"{n:,} of {n:,} rows" in page.inner_text("#export-state")

        with page.expect_download(timeout=120_000) as dl2:
            page.click("#exports button[data-i18n='exportCpted']")
        p2 = tmp_path / "cpted.xlsx"
        dl2.value.save_as(p2)
        for row in openpyxl.load_workbook(p2).worksheets[0].iter_rows():
            for c in row:
                assert c.data_type != "f"
        browser.close()
    assert not errors, errors
    assert not outside, outside[:5]
