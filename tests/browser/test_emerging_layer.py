"""Issue 16.2: the emerging hot spot layer in a real headless Chromium against ``qauipsiz serve``
(the server fixture of ``test_dashboard.py``): the layer loads, its legend lists the 17 patterns in
the UI language, and the colours drawn are those of the legend."""
from __future__ import annotations

import pytest

from tests.browser.test_dashboard import ARGS, CHROMIUM, server  # noqa: F401 -- the module-scoped server fixture

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("lang", ["kk", "en"])
def test_emerging_layer_and_legend(server, lang):  # noqa: F811 -- the fixture's value
    from playwright.sync_api import sync_playwright

    from qauipsiz.hotspot.emerging import pattern_labels

    labels = pattern_labels()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
        page.add_init_script(f"localStorage.setItem('qauipsiz.lang', {lang!r});")
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(server["base"] + "/")
        page.wait_for_selector("body[data-ready='1']", timeout=60_000)
        page.fill("#apikey", server["key"])
        page.click("#login")
        page.wait_for_function("document.querySelectorAll('#layer-list input').length > 2", timeout=30_000)
        assert "emerging" in page.eval_on_selector_all("#layer-list input", "els => els.map(e => e.value)")
        with page.expect_response(lambda r: "/emerging.geojson" in r.url and r.status == 200, timeout=120_000):
            page.check("#layer-emerging")
        page.wait_for_selector("#legend [data-layer='emerging'] .li", timeout=120_000)
        items = page.eval_on_selector_all("#legend [data-layer='emerging'] .li", "els => els.map(e => e.textContent)")
        assert len(items) == 17
        for item, want in zip(items, labels[f"label_{lang}"], strict=True):
            assert item.startswith(want), (item, want)
        drawn = page.evaluate("""(() => { const out = new Set();
            window.qauipsiz.state.layers.emerging.eachLayer((l) => out.add(l.options.fillColor)); return [...out]; })()""")
        assert set(drawn) <= set(labels["colour"]) and drawn
        title = page.inner_text("#layer-list")
        assert ("Emerging hot spots" in title) if lang == "en" else ("Жаңа пайда болған" in title)
        browser.close()
    assert not errors, errors
