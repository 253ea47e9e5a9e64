"""Route cards in one language (issue 17 item 8): the library, ``qauipsiz patrol --lang`` and the pipeline."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from qauipsiz.hotspot.cities import get_city
from qauipsiz.hotspot.network import from_edges
from qauipsiz.hotspot.patrol import MARKING, parse_shift, plan_patrol, route_cards_html
from qauipsiz.hotspot.patrol_cards import MARKINGS

CITY = get_city("astana")
TITLE = {"kk": "Патрульдік бағыт картасы", "ru": "Маршрутная карта патруля", "en": "Patrol route card"}
ARRIVE = {"kk": "Келу", "ru": "Прибытие", "en": "Arrive"}
ROBBERY = {"kk": "Тонау", "ru": "Грабёж", "en": "Robbery"}


@pytest.fixture(scope="module")
def small_plan():
    ox, oy = CITY.to_metric(np.array([71.43]), np.array([51.13]))
    ox, oy = float(ox[0]), float(oy[0])
    n, step = 11, 100.0
    ii, jj = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    idx = ii * n + jj
    u = np.r_[idx[:-1, :].ravel(), idx[:, :-1].ravel()]
    v = np.r_[idx[1:, :].ravel(), idx[:, 1:].ravel()]
    net = from_edges((ox + ii * step).ravel(), (oy + jj * step).ravel(), u, v, epsg=CITY.epsg)
    rng = np.random.default_rng(5)
    k = 6
    hs = pd.DataFrame({"x": ox + rng.integers(0, n, k) * step, "y": oy + rng.integers(0, n, k) * step,
                       "risk": rng.random(k) * 10, "peak_min": rng.integers(60, 420, k).astype(float),
                       "h3": np.arange(k, dtype=np.uint64), "top_category": "robbery"})
    sh = parse_shift("2025-12-05 18:00/02:00", CITY.tz)
    return plan_patrol(CITY, None, sh.start, sh.end, 2, (ox, oy), mode="walk", net=net, hotspots=hs,
                       depot_name="УП тест", max_radius_m=np.inf, solution_limit=5, time_limit_s=600.0)


def _only(doc: str, lang: str) -> None:
    assert TITLE[lang] in doc and ARRIVE[lang] in doc and MARKINGS[lang] in doc
    for other in {"kk", "ru", "en"} - {lang}:
        assert TITLE[other] not in doc and ARRIVE[other] not in doc, (lang, other)
        assert f">{ROBBERY[other]}<" not in doc
        assert MARKINGS[other] not in doc
    assert f'<html lang="{lang}">' in doc
    assert MARKING not in doc  # the bilingual marking only on trilingual cards


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_cards_in_one_language(small_plan, lang, tmp_path):
    routes, stops = small_plan
    cards = route_cards_html(routes, stops, CITY, tmp_path, streets=None, lang=lang)
    assert sorted(cards) == sorted(routes["unit"])
    for u, doc in cards.items():
        _only(doc, lang)
        assert f">{ROBBERY[lang]}<" in doc  # the offence named in the card's language
        assert (tmp_path / f"route_card_unit_{u}.html").read_text(encoding="utf-8") == doc


def test_cards_default_stay_trilingual_and_bad_lang_refused(small_plan):
    routes, stops = small_plan
    doc = next(iter(route_cards_html(routes, stops, CITY, streets=None).values()))
    assert all(t in doc for t in TITLE.values()) and doc.count(MARKING) == 2
    with pytest.raises(ValueError, match="lang 'de'"):
        route_cards_html(routes, stops, CITY, streets=None, lang="de")


def test_cli_patrol_and_pipeline_write_cards_in_lang(demo_dir, tmp_path):
    import geopandas as gpd
    from typer.testing import CliRunner

    import qauipsiz.api.cli.patrol  # noqa: F401
    from qauipsiz.api.cli._app import app
    from qauipsiz.api.pipeline import _patrol

    files = ["--incidents", str(demo_dir / "incidents_truth.parquet"), "--layers", str(demo_dir / "layers")]
    base = ["patrol", "--city", "astana", "--shift", "2025-12-05 18:00/02:00", "--units", "2", "--seconds", "2",
            *files]
    out = tmp_path / "cli"
    r = CliRunner().invoke(app, [*base, "--out", str(out), "--lang", "en"])
    assert r.exit_code == 0, r.output
    cards = sorted(out.glob("route_card_unit_*.html"))
    assert cards
    for f in cards:
        _only(f.read_text(encoding="utf-8"), "en")
    r = CliRunner().invoke(app, [*base, "--out", str(tmp_path / "bad"), "--lang", "de"])
    assert r.exit_code != 0 and "--lang" in r.output
    # the pipeline's patrol step (what `qauipsiz pipeline --lang kk` runs)
    inc = pd.read_parquet(demo_dir / "incidents_truth.parquet")
    layers = {"police_stations": gpd.read_file(demo_dir / "layers" / "police_stations.geojson")}
    res = _patrol(CITY, inc, layers, tmp_path / "pipe", "2025-12-05 18:00/02:00", 2, None, "kk")
    assert res["cards"]
    for f in res["cards"]:
        _only(Path(f).read_text(encoding="utf-8"), "kk")
