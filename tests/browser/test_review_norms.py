"""Design review panel in kk (issue 17.9) in a real headless Chromium: sources in Kazakh with the
norm's designation kept and SanPiN labelled as the Russian Federation default, a how-to-fix line per
failed rule, values with kk units ("33 %", "лк"), never "share"."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.test_daily_work import _finish, _page, _sign_in
from tests.browser.test_dashboard import server  # noqa: F401 -- the module-scoped server fixture

DESIGNS = Path(__file__).resolve().parents[2] / "data" / "designs"
pytestmark = pytest.mark.browser


def test_review_panel_in_kazakh(server):  # noqa: F811
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser, page = _page(p, server, lang="kk")
        _sign_in(page, server["key"])
        with page.expect_response(lambda r: "/api/v1/review" in r.url and r.request.method == "POST",
                                  timeout=120_000) as resp:
            page.set_input_files("#rv-file", str(DESIGNS / "yard_bad.geojson"))
        result = resp.value.json()
        page.wait_for_selector("#rv-rules li.rule", timeout=30_000)
        n_fail = result["summary"]["FAIL"]
        assert page.locator("#rv-rules li[data-status='FAIL'] .fix").count() == n_fail > 0
        text = page.inner_text("#rv-result")
        assert "share" not in text and "Гигиенические" not in text and "Концепция" not in text
        pg = page.inner_text("#rv-rules li[data-rule='LIGHT-PLAYGROUND']")
        assert "СанПиН 1.2.3685-21" in pg and "5.56-кесте" in pg and "Ресей Федерациясының нормасы" in pg
        assert "Қалай түзету" in pg and "≥ 10 лк" in pg
        cou = page.inner_text("#rv-rules li[data-rule='CAM-COU']")
        assert "33 %" in cou and "100 %" in cou
        _finish(browser, page)
