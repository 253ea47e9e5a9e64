"""Design review norms (issue 17.9): lighting rules cite the table they really use — the Russian SanPiN
default, labelled so, until a city loads its own (``--norms FILE`` or the user's data dir); every failed
rule says how to fix it with the numbers; sources and units in the UI language."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from qauipsiz.cpted.norms import DEFAULT_LIGHTING, find_city_norms, lighting_norms
from qauipsiz.cpted.review import review
from qauipsiz.maps.review_report import render_review_html

DESIGNS = Path(__file__).resolve().parents[2] / "data" / "designs"
KAZAKH = re.compile(r"[әғқңөұүі]", re.I)  # letters of Kazakh that Russian does not have


def _city_table(path: Path, playground_lx: float = 12.0) -> Path:
    """A city norm table as a user would write it (СП РК designation, kk/ru/en titles)."""
    df = lighting_norms()
    df["e_avg_lx"] = df["e_avg_lx"].astype(float)
    df.loc[df["zone"] == "playground", "e_avg_lx"] = playground_lx
    df["designation"] = "СП РК 2.04-104-2012"
    df["source"] = "СП РК 2.04-104-2012"
    df["jurisdiction"] = "KZ"
    for lang, title, clause in (("kk", "Табиғи және жасанды жарықтандыру", "7-кесте"),
                                ("ru", "Естественное и искусственное освещение", "табл. 7"),
                                ("en", "Natural and artificial lighting", "table 7")):
        df[f"title_{lang}"], df[f"clause_{lang}"] = title, clause
    path.parent.mkdir(parents=True, exist_ok=True)
    df.drop(columns=["default"]).to_csv(path, index=False, encoding="utf-8")
    return path


def test_default_lighting_rules_cite_sanpin_as_the_russian_default():
    res = review(DESIGNS / "yard_bad.geojson")
    assert res["norms"]["default"] is True and res["norms"]["jurisdiction"] == "RU"
    light = [r for r in res["rules"] if r["norm"] is not None]
    assert {r["id"] for r in light} == {"LIGHT-PLAYGROUND", "LIGHT-PARKING", "LIGHT-ENTRANCE", "LIGHT-PATH",
                                        "PATH-UNLIT-RUN"}
    for r in light:
        assert "СанПиН 1.2.3685-21" in r["source_kk"] and "СанПиН 1.2.3685-21" in r["source_en"]
        assert "Russian Federation norm" in r["source_en"] and "норма Российской Федерации" in r["source_ru"]
        assert "Ресей Федерациясының нормасы" in r["source_kk"]
    pg = next(r for r in light if r["id"] == "LIGHT-PLAYGROUND")
    assert "10 лк" in pg["source_kk"] and "10 lx" in pg["source_en"] and "5.56-кесте" in pg["source_kk"]


def test_sources_are_in_the_ui_language():
    res = review(DESIGNS / "yard_bad.geojson")
    for r in res["rules"]:
        assert r["source_kk"] != r["source_ru"] and r["source_en"] != r["source_ru"], r["id"]
        # the kk text is Kazakh: the norm's title is translated, the designation kept
        assert KAZAKH.search(r["source_kk"]), (r["id"], r["source_kk"])
        for ru_word in ("Гигиенические", "естественное", "Концепция", "домофон, охрана", "прогулочные"):
            assert ru_word not in r["source_kk"], (r["id"], r["source_kk"])
        assert not re.search(r"[а-яА-Я]{4,}", r["source_en"].replace("СанПиН", "").replace("ЦОУ", "")
                             .replace("СН РК", "").replace("СП РК", "")), r["source_en"]


def test_every_failed_rule_says_how_to_fix_it_with_the_numbers():
    res = review(DESIGNS / "yard_bad.geojson")
    st = {r["id"]: r for r in res["rules"]}
    for r in res["rules"]:
        if r["status"] == "FAIL":
            assert all(r[f"fix_{lang}"] for lang in ("kk", "ru", "en")), r["id"]
            for lang in ("kk", "ru", "en"):
                assert r[f"required_{lang}"] in r[f"fix_{lang}"] or r["id"] == "PATH-UNLIT-RUN"
        else:
            assert r["fix_en"] is None
    pg = st["LIGHT-PLAYGROUND"]
    m = pg["measured"]
    assert pg["fix_en"].startswith(f"playground: raise average illuminance from {m:.1f} lx to ≥ 10 lx")
    assert f"{m:.1f}".replace(".", ",") + " лк" in pg["fix_ru"] and "≥ 10 лк" in pg["fix_kk"]
    assert st["PATH-UNLIT-RUN"]["fix_en"].startswith(f"the longest stretch below 1 lx is {st['PATH-UNLIT-RUN']['measured']:.0f} m")
    # shares as per cent, never "0.333 share"
    cou = st["CAM-COU"]
    assert (cou["measured_en"], cou["required_ru"]) == ("33 %", "100 %")
    assert "connect 2 of 3 cameras" in cou["fix_en"] and "33 %" in cou["fix_en"]
    good = review(DESIGNS / "yard_good.geojson")
    assert all(r["fix_ru"] is None for r in good["rules"])


def test_city_table_by_path_overrides_and_is_cited(tmp_path):
    path = _city_table(tmp_path / "sp_rk.csv", playground_lx=3.0)
    res = review(DESIGNS / "yard_bad.geojson", norms=path)
    pg = next(r for r in res["rules"] if r["id"] == "LIGHT-PLAYGROUND")
    assert res["norms"]["default"] is False and res["norms"]["designation"] == "СП РК 2.04-104-2012"
    assert pg["required"] == 3.0 and "СП РК 2.04-104-2012" in pg["source_kk"] and "7-кесте" in pg["source_kk"]
    assert "СанПиН" not in pg["source_ru"] and "Russian Federation" not in pg["source_en"]
    assert "sp_rk.csv" in pg["source_en"]
    # 4.2 lx measured on the bad design's playground: fails 10 lx (SanPiN), passes the city's 3 lx
    assert pg["status"] == "PASS" and pg["measured"] > 3.0
    html = render_review_html(res, "kk")
    assert "СП РК 2.04-104-2012" in html and "Табиғи және жасанды жарықтандыру" in html


def test_city_table_in_the_user_data_dir_is_found(tmp_path):
    assert find_city_norms(tmp_path, "astana") is None
    general = _city_table(tmp_path / "norms" / "lighting.csv")
    assert find_city_norms(tmp_path, "astana") == general
    own = _city_table(tmp_path / "cities" / "astana" / "norms" / "lighting.csv", 8.0)
    assert find_city_norms(tmp_path, "astana") == own and find_city_norms(tmp_path, "almaty") == general
    assert find_city_norms(None, "astana") is None


def test_cli_cites_the_city_table_from_the_data_dir(tmp_path):
    _city_table(tmp_path / "data" / "norms" / "lighting.csv", 12.0)
    exe = Path(sys.executable).with_name("qauipsiz")
    env = {"QAUIPSIZ_DATA_DIR": str(tmp_path / "data"), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    p = subprocess.run([str(exe), "cpted", "review", str(DESIGNS / "yard_bad.geojson"), "--json"],
                       capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 1, p.stderr
    res = json.loads(p.stdout)
    pg = next(r for r in res["rules"] if r["id"] == "LIGHT-PLAYGROUND")
    assert pg["required"] == 12.0 and "СП РК 2.04-104-2012" in pg["source_ru"]
    # the human output: kk words, kk units, how to fix
    p = subprocess.run([str(exe), "cpted", "review", str(DESIGNS / "yard_bad.geojson"), "--lang", "kk",
                        "--norms", str(DEFAULT_LIGHTING)], capture_output=True, text=True, env=env, timeout=120)
    assert p.returncode == 1
    assert "қалай түзету:" in p.stdout and "≥ 10 лк" in p.stdout and "100 %" in p.stdout and "share" not in p.stdout
    assert "Ресей Федерациясының нормасы" in p.stdout


@pytest.mark.parametrize("edit,pattern", [
    (lambda t: t.replace("10.0", "ten", 1), r"row 2, field e_avg_lx: 'ten' is not a number"),
    (lambda t: t.replace("e_avg_lx", "lux", 1), r"missing column\(s\) e_avg_lx"),
])
def test_bad_city_table_names_row_field_reason(tmp_path, edit, pattern):
    path = _city_table(tmp_path / "t.csv", 10.0)
    path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")
    with pytest.raises(ValueError, match=pattern):
        review(DESIGNS / "yard_bad.geojson", norms=path)
