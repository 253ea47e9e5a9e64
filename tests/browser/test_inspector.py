"""The district inspector's dashboard (issue 17) in a real headless Chromium against ``qauipsiz serve``:
after signing in with a key bound to a beat, the beat panel shows the beat's outline on the map and its
profile (the same numbers as the API), in the UI language; no analyst panels.  An analyst picks a beat.

The server fixture is the one of ``test_dashboard.py`` (the reduced demo city)."""
from __future__ import annotations

import os
import re
from pathlib import Path

import httpx
import pytest
import shapely
from shapely.geometry import shape

from tests.browser.test_daily_work import _finish, _page
from tests.browser.test_dashboard import server  # noqa: F401 -- the module-scoped server fixture

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.browser


def _digits(s: str) -> int:
    return int(re.sub(r"\D", "", s))


@pytest.fixture(scope="module")
def inspector(server):  # noqa: F811
    """A beat that holds incidents, an inspector key bound to it, and its profile from the API."""
    from qauipsiz.api.store import Store

    base, h = server["base"] + "/api/v1", {"X-API-Key": server["key"]}
    fc = httpx.get(f"{base}/cities/astana/beats.geojson", headers=h, timeout=120).json()
    inc = httpx.get(f"{base}/cities/astana/incidents?limit=200", headers=h, timeout=120).json()["features"]
    xy = [f["geometry"]["coordinates"] for f in inc]
    counts = {f["properties"]["beat_id"]: int(shapely.contains_xy(shape(f["geometry"]), *zip(*xy, strict=True)).sum())
              for f in fc["features"]}
    beat = max(counts, key=counts.get)
    store = Store(server["url"])
    key = store.create_api_key("inspector", "browser inspector", beat=beat)
    store.close()
    prof = httpx.get(f"{base}/cities/astana/beats/{beat}/profile?lang=kk", headers={"X-API-Key": key},
                     timeout=300).json()
    return {"beat": beat, "key": key, "profile": prof}


def test_inspector_sees_their_beat_after_signing_in(server, inspector):  # noqa: F811
    from playwright.sync_api import sync_playwright

    prof = inspector["profile"]
    with sync_playwright() as p:
        browser, page = _page(p, server, lang="kk")
        page.fill("#apikey", inspector["key"])
        page.click("#login")
        page.wait_for_selector(f"#bt-profile .bt-head[data-beat='{inspector['beat']}']", timeout=120_000)
        assert page.is_visible("#beat-section") and page.is_hidden("#bt-select")
        # analyst and commander panels stay hidden; no city-wide incident layer or export
        for sec in ("#ff-section", "#patrol-section", "#review-section", "#rec-section"):
            assert page.is_hidden(sec), sec
        assert page.locator("#layer-incidents").count() == 0
        assert page.locator("#exports button", has_text=re.compile("Оқиғалар|Incidents")).count() == 0
        # the profile's numbers are the API's
        assert _digits(page.inner_text("#bt-n")) == prof["incidents"]
        assert page.locator("#bt-trend rect").count() == len(prof["trend"])
        assert page.locator("#bt-places li").count() == len(prof["top_places"])
        assert page.locator("#bt-social li").count() == 4
        assert "қабат жоқ" in page.inner_text("#bt-social li[data-group='schools']")  # no schools layer: said so
        txt = page.text_content("#beat-section")  # the CSS upper-cases headings; the text itself
        assert "Менің учаскем" in txt and "Айлар бойынша үрдіс" in txt and "Monthly" not in txt
        if prof["fix_first"]:
            assert page.locator("#bt-ff tr").count() == len(prof["fix_first"]) + 1
        # the beat's outline is drawn and the map shows it
        drawn = page.evaluate("""(() => { const b = window.qauipsiz.state.beat; if (!b || !b.outline) return null;
            const m = window.qauipsiz.map; return [b.id, m.hasLayer(b.layer), b.outline.properties.beat_id]; })()""")
        assert drawn == [inspector["beat"], True, inspector["beat"]]
        b = prof["bounds"]
        inside = page.evaluate(f"window.qauipsiz.map.getBounds().contains([[{b[1]}, {b[0]}], [{b[3]}, {b[2]}]])")
        assert inside
        # the language follows: ru labels after switching
        page.click(".lang-btn[data-lang='ru']")
        page.wait_for_function("document.querySelector('#beat-section').textContent.includes('Динамика по месяцам')",
                               timeout=60_000)
        shots = os.environ.get("QAUIPSIZ_DOC_SHOTS")
        if shots:
            page.screenshot(path=str(ROOT / shots / "dashboard_inspector_ru.png"))
        _finish(browser, page)


def test_analyst_picks_a_beat(server, inspector):  # noqa: F811
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser, page = _page(p, server, lang="en")
        page.fill("#apikey", server["key"])
        page.click("#login")
        page.wait_for_selector("#beat-section:not([hidden]) #bt-select option", state="attached", timeout=120_000)
        assert page.locator("#bt-select option").count() > 100
        page.select_option("#bt-select", inspector["beat"])
        page.wait_for_selector(f"#bt-profile .bt-head[data-beat='{inspector['beat']}']", timeout=120_000)
        assert _digits(page.inner_text("#bt-n")) == inspector["profile"]["incidents"]
        assert "Monthly trend" in page.text_content("#beat-section")
        _finish(browser, page)
