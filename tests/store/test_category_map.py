"""``--category-map``: police labels in any language -> taxonomy keys, with clear errors."""
from __future__ import annotations

import pytest

from qauipsiz.api.ingest import ingest_file
from qauipsiz.api.ingest.mapping import load_category_map


def test_csv_yaml_and_errors(tmp_path):
    p = tmp_path / "m.csv"
    p.write_text("label;category\nКража из квартиры;theft\nҰрлық;theft\n\n", encoding="utf-8")
    assert load_category_map(p) == {"Кража из квартиры": "theft", "Ұрлық": "theft"}
    y = tmp_path / "m.yaml"
    y.write_text("AUTO THEFT: vehicle_taking\n", encoding="utf-8")
    assert load_category_map(y) == {"AUTO THEFT": "vehicle_taking"}
    bad = tmp_path / "bad.csv"
    bad.write_text("label,category\nBURGLARY,burglary_residential\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"unknown category key.*'BURGLARY' -> 'burglary_residential'.*theft"):
        load_category_map(bad)
    nohead = tmp_path / "nohead.csv"
    nohead.write_text("BURGLARY,theft\n", encoding="utf-8")
    with pytest.raises(ValueError, match="header 'label,category'"):
        load_category_map(nohead)
    short = tmp_path / "short.csv"
    short.write_text("label,category\nBURGLARY\n", encoding="utf-8")
    with pytest.raises(ValueError, match="row 2"):
        load_category_map(short)


def test_map_applies_at_ingest_and_unknown_labels_are_named(tmp_path, store):
    f = tmp_path / "e.csv"
    f.write_text("id,offense,date,lat,lon\n"
                 "1,Кража из квартиры,2024-02-01 10:00,51.1694,71.4491\n"
                 "2,кража  ИЗ квартиры,2024-02-01 11:00,51.1695,71.4492\n"
                 "3,Contraband,2024-02-01 12:00,51.1696,71.4493\n", encoding="utf-8")
    rep = ingest_file(f, city="astana", store=store, source="t",
                      mapping={"categories": {"Кража из квартиры": "theft"}})
    assert (rep.accepted, rep.quarantined, rep.reasons) == (2, 1, {"unknown_category": 1})
    q = store.quarantine_rows("astana")
    assert "Contraband" in q["message"].iat[0]
    assert set(store.query_incidents("astana")["category"]) == {"theft"}
