"""Issue 16.7: the forecast layer "tomorrow / this shift" in a real headless Chromium against
``qauipsiz serve`` (the server fixture of ``test_dashboard.py``): the analyst and the commander get the
layer and its panel, the request asks for the city's local tomorrow (or today) with the chosen method,
the cells are coloured by rank band, and the method's backtested PAI is shown beside the better
baseline in the panel and the legend, in the UI language. The public sees neither."""
from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pandas as pd
import pytest

from tests.browser.test_dashboard import ARGS, CHROMIUM, server  # noqa: F401 -- the module-scoped server fixture

pytestmark = pytest.mark.browser

BANDS = {"#7f2704", "#d94801", "#fd8d3c", "#fdd0a2", "#fff5eb"}  # api/static/js/config.js FORECAST_BANDS


def _open(p, base, lang):
    browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
    page.add_init_script(f"localStorage.setItem('qauipsiz.lang', {lang!r});")
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(base + "/")
    page.wait_for_selector("body[data-ready='1']", timeout=60_000)
    return browser, page, errors


@pytest.mark.parametrize(("lang", "role", "which", "title", "pai_word"), [
    ("kk", "key", "tomorrow", "Болжам: ертең / осы ауысым", "үздік базалық әдіс"),
    ("en", "commander", "today", "Forecast: tomorrow / this shift", "better baseline"),
])
def test_forecast_layer_with_backtested_pai(server, lang, role, which, title, pai_word):  # noqa: F811 -- the fixture's value
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser, page, errors = _open(p, server["base"], lang)
        assert page.is_hidden("#fc-section")  # public: no forecast panel, no layer
        page.wait_for_function("document.querySelectorAll('#layer-list input').length > 0", timeout=30_000)
        assert "forecast" not in page.eval_on_selector_all("#layer-list input", "els => els.map(e => e.value)")
        page.fill("#apikey", server[role])
        page.click("#login")
        page.wait_for_function("document.querySelectorAll('#layer-list input').length > 2", timeout=30_000)
        assert "forecast" in page.eval_on_selector_all("#layer-list input", "els => els.map(e => e.value)")
        assert title in page.inner_text("#layer-list")
        assert page.is_visible("#fc-section")
        page.select_option("#fc-day", which)
        page.select_option("#fc-method", "blend")
        with page.expect_response(lambda r: "/forecast.geojson" in r.url and r.status == 200, timeout=180_000) as resp:
            page.check("#layer-forecast")
        q = parse_qs(urlparse(resp.value.url).query)
        local = pd.Timestamp.now(tz="Asia/Almaty").normalize().tz_localize(None)
        want = local + pd.Timedelta(days=1 if which == "tomorrow" else 0)
        # the page's clock and ours may straddle midnight: one of the two adjacent days
        assert q["day"][0] in {str(want.date()), str((want + pd.Timedelta(days=1)).date())}
        assert q["method"] == ["blend"]
        meta = resp.value.json()["meta"]
        page.wait_for_selector("#lg-forecast-pai", timeout=60_000)
        legend = page.inner_text("#legend [data-layer='forecast']")
        assert pai_word in legend and "PAI" in legend
        assert f"{meta['backtest']['pai']['1%'][0]:.2f}".replace(".", "," if lang != "en" else ".") in legend
        page.wait_for_function("document.getElementById('fc-state').textContent.includes('PAI')", timeout=30_000)
        assert meta["backtest"]["from"] in page.inner_text("#fc-state")
        drawn = page.evaluate("""(() => { const out = new Set();
            window.qauipsiz.state.layers.forecast.eachLayer((l) => out.add(l.options.fillColor)); return [...out]; })()""")
        assert drawn and set(drawn) <= BANDS
        assert "#7f2704" in drawn  # the top 1 % band is drawn
        n = page.evaluate("window.qauipsiz.state.layers.forecast.getLayers().length")
        assert n == meta["returned"] > 0
        browser.close()
    assert not errors, errors
