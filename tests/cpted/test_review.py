"""Design review golden tests: the good Astana design passes every rule, the bad one fails the rules it
should; NOT_CHECKABLE when data is missing; input errors; JSON and self-contained HTML output."""
from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

from qauipsiz.cpted.review import load_design, load_rules, review, to_json
from qauipsiz.maps.review_report import render_review_html

DESIGNS = Path(__file__).resolve().parents[2] / "data" / "designs"
ALL_RULES = {r["id"] for r in load_rules()}


def _gj(name):
    return json.loads((DESIGNS / name).read_text(encoding="utf-8"))


def test_rules_cite_sources():
    rules = load_rules()
    assert len(rules) >= 8
    for r in rules:
        src = r["source"] if isinstance(r["source"], dict) else {"en": r["source"]}
        assert all(len(v) >= 6 for v in src.values())
        assert set(r["title"]) == {"kk", "ru", "en"}
        assert r.get("fix"), r["id"]


def test_good_design_passes_every_rule():
    res = review(DESIGNS / "yard_good.geojson")
    bad = [(r["id"], r["detail"]) for r in res["rules"] if r["status"] != "PASS"]
    assert not bad
    assert res["summary"] == {"PASS": len(ALL_RULES), "FAIL": 0, "NOT_CHECKABLE": 0}
    assert res["epsg"] == 32642


def test_bad_design_fails_what_it_should():
    res = review(DESIGNS / "yard_bad.geojson")
    st = {r["id"]: r for r in res["rules"]}
    expected_fail = {"LIGHT-PLAYGROUND", "LIGHT-PARKING", "LIGHT-ENTRANCE", "LIGHT-PATH", "PATH-UNLIT-RUN",
                     "CAM-ENTRANCE-RECOGNISE", "CAM-COU", "CAM-PLAYGROUND-OBSERVE", "PLAYGROUND-OVERLOOKED",
                     "ENTRANCE-ACCESS"}
    assert {k for k, r in st.items() if r["status"] == "FAIL"} == expected_fail
    # measured vs required, and the failing geometry
    assert st["ENTRANCE-ACCESS"]["measured"] == 0.5 and st["ENTRANCE-ACCESS"]["required"] == 1.0
    assert len(st["ENTRANCE-ACCESS"]["failing"]["features"]) == 3
    assert st["CAM-COU"]["measured"] == pytest.approx(1 / 3, abs=1e-3)
    assert len(st["CAM-COU"]["failing"]["features"]) == 2
    assert st["LIGHT-PLAYGROUND"]["required"] == 10 and st["LIGHT-PLAYGROUND"]["measured"] < 10
    assert st["LIGHT-PARKING"]["required"] == 2
    assert st["PATH-UNLIT-RUN"]["measured"] > 20
    f = st["PATH-UNLIT-RUN"]["failing"]["features"][0]["geometry"]
    assert f["type"] == "LineString" and 71 < f["coordinates"][0][0] < 72 and 51 < f["coordinates"][0][1] < 52
    assert st["LIGHT-ENTRANCE"]["detail"].startswith("3 of 6")


def test_not_checkable_when_data_is_missing():
    gj = _gj("yard_good.geojson")
    gj["features"] = [f for f in gj["features"] if f["properties"]["kind"] not in ("playground", "lamp")]
    for f in gj["features"]:
        if f["properties"]["kind"] == "camera":
            f["properties"].pop("owner")
    st = {r["id"]: r["status"] for r in review(gj)["rules"]}
    for rid in ("LIGHT-PLAYGROUND", "CAM-PLAYGROUND-OBSERVE", "PLAYGROUND-OVERLOOKED", "LIGHT-PARKING",
                "LIGHT-ENTRANCE", "LIGHT-PATH", "PATH-UNLIT-RUN", "CAM-COU"):
        assert st[rid] == "NOT_CHECKABLE", rid
    assert st["CAM-ENTRANCE-RECOGNISE"] == "PASS" and st["ENTRANCE-ACCESS"] == "PASS"


def test_one_lamp_failure_is_localised():
    gj = _gj("yard_good.geojson")
    # break the four playground floodlights: only the playground rules should turn
    for f in gj["features"]:
        if f["properties"].get("lamp_class") == "floodlight":
            f["properties"]["working"] = False
    st = {r["id"]: r["status"] for r in review(gj)["rules"]}
    assert st["LIGHT-PLAYGROUND"] == "FAIL"
    assert st["LIGHT-ENTRANCE"] == "PASS" and st["LIGHT-PARKING"] == "PASS"


@pytest.mark.parametrize("mutate,pattern", [
    (lambda gj: gj["features"][3]["properties"].update(kind="tree"), r"feature 3, field 'kind': 'tree'"),
    (lambda gj: gj["features"][1].update(geometry={"type": "Point", "coordinates": [71.4, 51.1]}),
     r"feature 1 \(building\), field 'geometry': Point, expected Polygon"),
    (lambda gj: next(f for f in gj["features"] if f["properties"]["kind"] == "lamp")["properties"].update(height_m="high"),
     r"field 'height_m': 'high' is not a number"),
    (lambda gj: gj.update(features=[f for f in gj["features"] if f["properties"]["kind"] != "site"]), "no feature with kind 'site'"),
])
def test_bad_input_names_feature_field_reason(mutate, pattern):
    gj = copy.deepcopy(_gj("yard_good.geojson"))
    mutate(gj)
    with pytest.raises(ValueError, match=pattern):
        load_design(gj)


def test_json_and_html_outputs():
    res = review(DESIGNS / "yard_bad.geojson")
    data = json.loads(to_json(res))
    assert set(data) == {"design", "epsg", "summary", "norms", "rules"}
    for r in data["rules"]:
        assert {"id", "status", "measured", "required", "source"} <= set(r)
    for lang, word in (("ru", "НЕ СООТВЕТСТВУЕТ"), ("kk", "СӘЙКЕС ЕМЕС"), ("en", "FAIL")):
        html = render_review_html(res, lang)
        assert "<svg" in html and "data:image/png;base64," in html and word in html
        # self-contained: no external scripts, styles or images
        assert not re.search(r"""(src|href)=["']https?://""", html)
        assert "<script" not in html


def test_details_are_localised():
    gj = _gj("yard_good.geojson")
    gj["features"] = [f for f in gj["features"] if f["properties"]["kind"] not in ("playground", "lamp")]
    rows = review(DESIGNS / "yard_bad.geojson")["rules"] + review(gj)["rules"]
    for r in rows:
        assert r["detail_en"] == r["detail"]
        assert r["detail_ru"] != r["detail_en"] and r["detail_kk"] != r["detail_en"], r["detail"]
    st = {r["id"]: r for r in review(DESIGNS / "yard_bad.geojson")["rules"]}
    assert st["ENTRANCE-ACCESS"]["detail_ru"] == "3 из 6 входов без контроля доступа"
    assert st["CAM-ENTRANCE-RECOGNISE"]["detail_kk"] == "6 кіреберістің 6-і «тану» деңгейінде көрінбейді"


def test_message_catalogue_is_complete_and_consistent():
    """Every message id a check can report is in cpted/rules/messages.yaml with kk/ru/en text using the
    same placeholders; an unknown id is an error, not English prose."""
    import ast

    from qauipsiz.cpted import review as rv
    from qauipsiz.cpted.review.messages import LANGS, Message, placeholders

    cat = rv.load_catalogue()
    used = set()
    for path in Path(rv.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "msg":
                used.add((node.args[0].value, frozenset(k.arg for k in node.keywords)))
    assert len(used) >= 15
    for mid, params in used:
        assert mid in cat.messages, mid
        for lang in LANGS:
            assert placeholders(cat.messages[mid][lang]) == params, (mid, lang)
    fixes = {r["fix"] for r in load_rules()}
    norm_ids = {"norm_citation", "norm_citation_untitled", "norm_default_note", "norm_city_note"}
    assert set(cat.messages) == {m for m, _ in used} | fixes | norm_ids, "catalogue entries nothing reports"
    with pytest.raises(KeyError, match="not_a_message"):
        cat.text(Message("not_a_message"), "ru")
    # terms: the kind and the DORI level are translated, not left in English
    m = rv.msg("zone_seen_share", kind="parking", level="identify", values="10%")
    assert cat.localise(m) == {"kk": "әр нысанның (автотұрақ) «сәйкестендіру» деңгейінде көрінетін үлесі: 10%",
                               "ru": "доля каждого объекта (автостоянка), видимая на уровне «идентификация»: 10%",
                               "en": "share of each parking seen at identify: 10%"}


def test_a_new_rule_is_one_check_and_one_rule_entry(tmp_path):
    """Register a check with @check, name it in a rule-set YAML: the review runs it like the shipped ones."""
    import numpy as np

    from qauipsiz.cpted import review as rv

    @rv.check("test_fence_present")
    def check_test_fence_present(d, params, norms):
        n = len(d["building"])
        return rv.Outcome.judge(np.zeros(n, bool) if params.get("ok") else np.ones(n, bool), d.geoms("building"),
                                float(n), float(params["min"]), "share", rv.msg("no_kind", kind="fence"))

    try:
        (tmp_path / "r.yaml").write_text(
            "rules:\n  - id: T-FENCE\n    check: test_fence_present\n    params: {min: 1}\n"
            "    title: {kk: т, ru: т, en: t}\n    source: a test rule, not a norm\n", encoding="utf-8")
        row = review(DESIGNS / "yard_bad.geojson", tmp_path / "r.yaml")["rules"][0]
        assert row["status"] == "FAIL" and row["measured"] == 2.0 and len(row["failing"]["features"]) == 2
        assert (row["detail_en"], row["detail_ru"]) == ("the design has no fence", "в проекте нет: ограждение")
        with pytest.raises(ValueError, match="registered twice"):
            rv.check("test_fence_present")(lambda d, p, n: None)
    finally:
        rv.CHECKS.pop("test_fence_present")
    with pytest.raises(ValueError, match="unknown check 'test_fence_present'"):
        load_rules(tmp_path / "r.yaml")
