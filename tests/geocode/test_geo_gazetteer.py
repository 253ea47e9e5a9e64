"""Gazetteer builder: a small custom city build with address points, POIs and aliases."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from qauipsiz.hotspot.cities import get_city
from qauipsiz.hotspot.geocode import Geocoder, build_gazetteer
from qauipsiz.hotspot.geocode.gazetteer import Gazetteer, is_stale, shipped_dir


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """Three streets in Astana's Esil district: two crossing, one with a 1 km jump."""
    d = tmp_path_factory.mktemp("tiny")
    lat0, lon0 = 51.128, 71.43
    def line(a, b, n=5):
        return [{"lat": a[0] + (b[0] - a[0]) * k / (n - 1), "lng": a[1] + (b[1] - a[1]) * k / (n - 1)} for k in range(n)]
    streets = {"streets": [
        {"name": "Тестовая улица", "points": line((lat0, lon0 - 0.01), (lat0, lon0 + 0.01))},
        {"name": "Сынақ көшесі", "points": line((lat0 - 0.005, lon0), (lat0 + 0.005, lon0))},
        {"name": "улица Разрывная", "points": line((lat0 + 0.01, lon0), (lat0 + 0.01, lon0 + 0.003), 3)
         + line((lat0 + 0.03, lon0), (lat0 + 0.03, lon0 + 0.003), 3)},
    ]}
    inter = {"Тестовая улица": [{"crossroad": "Сынақ көшесі", "lat": lat0, "lng": lon0}]}
    (d / "s.json").write_text(json.dumps(streets, ensure_ascii=False), encoding="utf-8")
    (d / "i.json").write_text(json.dumps(inter, ensure_ascii=False), encoding="utf-8")
    pd.DataFrame({"street": ["Тестовая улица", "Тестовая улица"], "house": ["10А", "12/1"],
                  "lat": [lat0 + 0.0001, lat0 + 0.0002], "lon": [lon0 + 0.002, lon0 + 0.003]}).to_csv(d / "a.csv", index=False)
    pd.DataFrame({"name": ["ТРЦ Тестовый"], "kind": ["mall"], "lat": [lat0 + 0.001], "lon": [lon0 + 0.001]}).to_csv(d / "p.csv", index=False)
    (d / "al.csv").write_text("city,old_name,new_name\nastana,улица Старая,Тестовая улица\n", encoding="utf-8")
    g = build_gazetteer("astana", d / "s.json", d / "i.json", addresses=d / "a.csv", pois=d / "p.csv",
                        aliases=d / "al.csv")
    return d, g


def test_tables(tiny):
    _, g = tiny
    assert set(g.streets["name"]) == {"Тестовая улица", "Сынақ көшесі", "улица Разрывная"}
    assert len(g.crossings) == 1 and len(g.addresses) == 2 and len(g.pois) == 1 and len(g.aliases) == 1
    # the jumping street keeps both parts; its uncertainty covers the 2.2 km between them
    r = g.streets.set_index("name").loc["улица Разрывная"]
    assert r["uncertainty_m"] > 1000


def test_save_load_round_trip(tiny, tmp_path):
    _, g = tiny
    g.save(tmp_path / "gz")
    g2 = Gazetteer.load(tmp_path / "gz")
    pd.testing.assert_frame_equal(g.streets, g2.streets)
    assert g2.meta["counts"] == g.meta["counts"]


def test_address_precision_only_with_register(tiny):
    _, g = tiny
    geo = Geocoder(g)
    r = geo.geocode(["ул. Тестовая, д. 10а", "Тестовая улица 12/1", "ул. Тестовая, д. 99", "ул. Старая 10А"])
    assert list(r["precision"]) == ["address", "address", "street", "address"]
    assert abs(r["lat"][0] - (51.128 + 0.0001)) < 1e-9
    c = get_city("astana")
    # the street-only answer is the street's point with a street-sized radius
    x, y = c.to_metric(np.array([71.42, 71.44]), np.array([51.128, 51.128]))
    half = np.hypot(x[1] - x[0], y[1] - y[0]) / 2
    assert r["uncertainty_m"][2] == pytest.approx(half, rel=0.05)


def test_intersection_and_poi(tiny):
    _, g = tiny
    geo = Geocoder(g)
    r = geo.geocode(["Тестовая / Сынақ", "Сынак кошеси мен Тестовая кошеси киылысы", "ТРЦ Тестовый",
                     "ТРЦ Тестовый, ул. Сынак 5", "ТРЦ Неизвестный, ул. Сынак 5"])
    assert list(r["precision"]) == ["intersection", "intersection", "poi", "poi", "street"]
    assert r["lat"][0] == pytest.approx(51.128) and r["lon"][0] == pytest.approx(71.43)


def test_shipped_gazetteer_is_fresh_and_has_aliases():
    meta = json.loads((shipped_dir("astana") / "meta.json").read_text(encoding="utf-8"))
    assert not is_stale(meta), "data/gazetteer/astana is stale: run `qauipsiz geocode build --city astana`"
    # the shipped tables are exactly what a fresh build gives
    fresh, shipped = build_gazetteer("astana"), Gazetteer.load(shipped_dir("astana"))
    for t in ("streets", "street_districts", "aliases", "crossings", "districts"):
        pd.testing.assert_frame_equal(getattr(fresh, t), getattr(shipped, t), check_dtype=False, obj=t)
    geo = Geocoder.for_city("astana")
    assert geo.geocode_one("пр. Победы, 5")["matched"] == "Жеңіс даңғылы"
    assert geo.geocode_one("проспект Независимости")["matched"] == "Тәуелсіздік даңғылы"


def test_street_clipped_to_district_hint(astana):
    # a long avenue: with a district hint its point lies in that district and its radius shrinks
    free = astana.geocode(["Қабанбай батыр даңғылы"]).iloc[0]
    dists = astana.gaz.street_districts[astana.gaz.street_districts["sid"] == free["street_id"]]
    assert len(dists) >= 2
    d = dists.sort_values("length_m").iloc[0]["district"]
    hinted = astana.geocode(["Қабанбай батыр даңғылы"], district_hint=d).iloc[0]
    assert hinted["uncertainty_m"] < free["uncertainty_m"]
    assert get_city("astana").assign_district([hinted["lat"]], [hinted["lon"]])[0] == d


def test_bad_inputs_raise():
    with pytest.raises(ValueError, match="district_hint"):
        Geocoder.for_city("astana").geocode(["ул. Абая"], district_hint="nowhere")
    with pytest.raises(ValueError, match="addresses"):
        build_gazetteer("astana", addresses=pd.DataFrame({"street": ["x"], "lat": [1.0], "lon": [2.0]}))


def test_exact_fast_path_agrees_with_full_matcher(astana):
    """The vectorised exact path (gazetteer name + house) gives what the full parser/matcher gives."""
    names = list(astana.gaz.streets["name"])
    texts = [f"{n}, {i % 40 + 1}" for i, n in enumerate(names)] + names[:300] + [n.upper() + ", д. 5/1" for n in names[:50]]
    fast = astana.geocode(texts)
    for t, row in zip(texts, fast.itertuples(), strict=True):
        slow = astana._one(t, None)
        assert (row.street_id, row.precision, row.score) == (slow[7], slow[2], slow[3]), t


def test_other_city_build_uses_renaming_aliases(tmp_path):
    """`geocode build` for Almaty from the same kinds of files; DOMAIN.md §3's renamings apply."""
    lat0, lon0 = 43.245, 76.93  # central Almaty
    streets = {"streets": [
        {"name": "улица Кабанбай батыра", "points": [{"lat": lat0, "lng": lon0 - 0.01}, {"lat": lat0, "lng": lon0 + 0.01}]},
        {"name": "улица Толе би", "points": [{"lat": lat0 - 0.01, "lng": lon0}, {"lat": lat0 - 0.01, "lng": lon0 + 0.02}]},
        {"name": "проспект Назарбаева", "points": [{"lat": lat0 - 0.02, "lng": lon0 + 0.005}, {"lat": lat0 + 0.02, "lng": lon0 + 0.005}]},
    ]}
    (tmp_path / "s.json").write_text(json.dumps(streets, ensure_ascii=False), encoding="utf-8")
    (tmp_path / "i.json").write_text(json.dumps({"улица Кабанбай батыра": [
        {"crossroad": "проспект Назарбаева", "lat": lat0, "lng": lon0 + 0.005}]}, ensure_ascii=False), encoding="utf-8")
    g = build_gazetteer("almaty", tmp_path / "s.json", tmp_path / "i.json")
    geo = Geocoder(g)
    r = geo.geocode(["ул. Калинина, 12", "Комсомольская 5", "угол Фурманова и Калинина", "Қабанбай батыр к-сі 3"])
    assert list(r["matched"][:2]) == ["улица Кабанбай батыра", "улица Толе би"]
    assert list(r["score"][:2]) == [97.0, 97.0]
    assert r["precision"][2] == "intersection" and r["lat"][2] == pytest.approx(lat0)
    assert r["matched"][3] == "улица Кабанбай батыра"
    assert set(g.districts["district"]) == set(get_city("almaty").districts["district"])
