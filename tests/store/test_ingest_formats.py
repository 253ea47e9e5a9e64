"""Readers and header mapping: cp1251 CSV, comma CSV, XLSX with Russian headers, GeoJSON, GPKG, Parquet."""
from __future__ import annotations

from datetime import datetime

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from qauipsiz.api.ingest import ingest_dataframe, ingest_file, map_headers
from qauipsiz.api.ingest.readers import read_table

RU = ["Номер ЕРДР", "Дата совершения", "Дата регистрации", "Статья УК РК", "Место совершения",
      "Адрес места происшествия", "Широта", "Долгота"]
ROWS = [  # local times in Astana (UTC+6 before 2024-03-01, UTC+5 after)
    ["241", "15.01.2024 22:30", "16.01.2024 09:00", "188 ч.2", "Двор", "ул. Кенесары, д. 40", "51,1694", "71,4491"],
    ["242", "02.03.2024 10:15", "", "191 ч.1", "Улица / площадь / парк", "пр. Абая 12", "51,1280", "71,4300"],
    ["243", "2024-06-01 03:00", "", "КоАП 440", "Подъезд / лестничная клетка", "ул. Женис, 5", "", ""],
]


def _write_csv(path, rows, header=RU, sep=";", encoding="utf-8-sig"):
    text = "\n".join(sep.join(r) for r in [header, *rows]) + "\n"
    path.write_bytes(text.encode(encoding))
    return path


def test_cp1251_semicolon_csv(tmp_path, store):
    p = _write_csv(tmp_path / "erdr_cp1251.csv", ROWS, encoding="cp1251")
    t = read_table(p)
    assert (t.encoding, t.sep) == ("cp1251", ";")
    assert list(t.df.columns) == RU
    rep = ingest_file(p, city="astana", store=store, source="erdr")
    assert rep.to_json() == {"input": 3, "accepted": 3, "duplicates": 0, "quarantined": 0, "reasons": {}}
    df = store.query_incidents("astana").set_index("source_id")
    assert df.loc["241", "address_raw"] == "ул. Кенесары, д. 40"
    assert df.loc["243", "address_raw"] == "ул. Женис, 5"
    # local 22:30 on 15.01.2024 is UTC+6 -> 16:30 UTC; after 2024-03-01 Astana is UTC+5
    assert df.loc["241", "occurred_at"] == pd.Timestamp("2024-01-15 16:30", tz="UTC")
    assert df.loc["242", "occurred_at"] == pd.Timestamp("2024-03-02 05:15", tz="UTC")
    assert df.loc["241", "lat"] == pytest.approx(51.1694) and df.loc["241", "lon"] == pytest.approx(71.4491)
    assert df.loc["241", "category"] == "theft" and df.loc["241", "severity_class"] == "medium"
    assert df.loc["241", "ukrk_article"] == "UK:188:2" and df.loc["241", "place_type"] == "yard"
    assert df.loc["243", "ukrk_article"] == "KoAP:440:1" and df.loc["243", "severity_class"] == "administrative"
    assert df.loc["243", "geocode_precision"] == "none" and np.isnan(df.loc["243", "lat"])
    assert df.loc["243", "place_type"] == "entrance_stairwell"
    assert df.loc["241", "h3"] != 0 and df.loc["243", "h3"] == 0


def test_cp1251_cyrillic_round_trip(tmp_path, store):
    rows = [["1", "01.02.2024 12:00", "", "188", "Двор", "мкр. Самал, ёлочный двор «Щит»", "51,15", "71,43"]]
    p = _write_csv(tmp_path / "a.csv", rows, encoding="cp1251")
    ingest_file(p, city="astana", store=store, source="x")
    assert store.query_incidents("astana")["address_raw"].iloc[0] == "мкр. Самал, ёлочный двор «Щит»"


def test_comma_utf8_csv_english_headers(tmp_path, store):
    header = ["id", "occurred_at", "article", "place", "address", "latitude", "longitude"]
    rows = [["a1", "2024-05-05T12:00:00+05:00", "188-1", "Yard", "Kenesary 40", "51.1694", "71.4491"],
            ["a2", "45400.5", "190", "Mall / shop / market", '"Abay 12, office 3"', "71.4300", "51.1280"]]
    p = _write_csv(tmp_path / "b.csv", rows, header=header, sep=",", encoding="utf-8")
    t = read_table(p)
    assert (t.encoding, t.sep) == ("utf-8", ",")
    rep = ingest_file(p, city="astana", store=store, source="en")
    assert (rep.accepted, rep.quarantined) == (2, 0)
    df = store.query_incidents("astana").set_index("source_id")
    assert df.loc["a1", "occurred_at"] == pd.Timestamp("2024-05-05 07:00", tz="UTC")
    # Excel serial 45400.5 = 2024-04-18 12:00 local (UTC+5)
    assert df.loc["a2", "occurred_at"] == pd.Timestamp("2024-04-18 07:00", tz="UTC")
    assert df.loc["a2", "address_raw"] == "Abay 12, office 3"
    assert df.loc["a2", "lat"] == pytest.approx(51.128) and "swapped" in df.loc["a2", "coord_flags"]


def test_xlsx_russian_headers(tmp_path, store):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(RU)
    ws.append([240000000001, datetime(2024, 1, 15, 22, 30), datetime(2024, 1, 16, 9, 0), "188 ч.2", "Двор",
               "ул. Кенесары, д. 40", 51.1694, 71.4491])
    ws.append(["240000000002", 45400.5, None, "ст. 191 ч. 1 УК", "Подвал", "пр. Абая 12", "51,1280", "71,4300"])
    ws.append(["240000000003", "31.02.2024 10:00", None, "188", "Двор", "ул. Кенесары, д. 41", 51.1694, 71.4491])
    ws.append([None] * 8)  # trailing empty row of a sheet is not a record
    p = tmp_path / "erdr.xlsx"
    wb.save(p)
    rep = ingest_file(p, city="astana", store=store, source="erdr")
    assert rep.to_json() == {"input": 3, "accepted": 2, "duplicates": 0, "quarantined": 1,
                             "reasons": {"bad_date": 1}}
    df = store.query_incidents("astana").set_index("source_id")
    assert df.loc["240000000001", "occurred_at"] == pd.Timestamp("2024-01-15 16:30", tz="UTC")
    assert df.loc["240000000001", "reported_at"] == pd.Timestamp("2024-01-16 03:00", tz="UTC")
    assert df.loc["240000000002", "occurred_at"] == pd.Timestamp("2024-04-18 07:00", tz="UTC")
    assert df.loc["240000000002", "category"] == "robbery"
    q = store.quarantine_rows("astana")
    assert q["row_number"].tolist() == [4] and q["field"].tolist() == ["occurred_at"]
    assert "row 4" in q["message"].iloc[0] and "31.02.2024" in q["message"].iloc[0]


@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "parquet"])
def test_vector_and_parquet(tmp_path, store, fmt):
    gdf = gpd.GeoDataFrame({
        "ЕРДР нөмірі": ["k1", "k2", "k3"],
        "Жасалған күні": ["10.07.2024 23:10", "11.07.2024 01:00", "12.07.2024 14:00"],
        "Қылмыс санаты": ["Ұрлық", "Тонау", "Алаяқтық"],
        "Мекенжай": ["Кенесары көшесі 40", "Абай даңғылы 12", None],
    }, geometry=[shapely.Point(71.4491, 51.1694), shapely.Point(71.43, 51.128), None], crs=4326)
    p = tmp_path / f"kk.{fmt}"
    if fmt == "parquet":
        gdf.to_parquet(p)
    else:
        gdf.to_file(p, driver="GeoJSON" if fmt == "geojson" else "GPKG")
    rep = ingest_file(p, city="astana", store=store, source="kk")
    # the third feature has neither a point nor an address
    assert rep.to_json() == {"input": 3, "accepted": 2, "duplicates": 0, "quarantined": 1,
                             "reasons": {"no_location": 1}}
    df = store.query_incidents("astana").set_index("source_id")
    assert df.loc["k1", "lat"] == pytest.approx(51.1694) and df.loc["k1", "lon"] == pytest.approx(71.4491)
    assert df.loc["k1", "category"] == "theft" and df.loc["k2", "category"] == "robbery"
    assert pd.isna(df.loc["k1", "ukrk_article"])
    assert df.loc["k1", "occurred_at"] == pd.Timestamp("2024-07-10 18:10", tz="UTC")


def test_header_mapping_and_override(tmp_path):
    m = map_headers(RU)
    assert m.columns == {"Номер ЕРДР": "source_id", "Дата совершения": "occurred_at",
                         "Дата регистрации": "reported_at", "Статья УК РК": "article",
                         "Место совершения": "place_type", "Адрес места происшествия": "address",
                         "Широта": "lat", "Долгота": "lon"}
    kk = map_headers(["Жасалған күні", "Қылмыс санаты", "Мекенжай", "Ендік", "Бойлық"])
    assert set(kk.columns.values()) == {"occurred_at", "category", "address", "lat", "lon"}
    with pytest.raises(ValueError, match=r"occurred_at.*Колонка1"):
        map_headers(["Колонка1", "Статья", "Адрес"])
    m2 = map_headers(["Колонка1", "Статья", "Адрес"], {"columns": {"Колонка1": "occurred_at"}})
    assert m2.columns["Колонка1"] == "occurred_at"


def test_mapping_file_cli_path(tmp_path, store):
    header = ["Когда", "Что", "Где", "Ш", "Д"]
    rows = [["01.02.2024 12:00", "188 ч.1", "ул. Кенесары 1", "51,1694", "71,4491"]]
    p = _write_csv(tmp_path / "odd.csv", rows, header=header)
    mf = tmp_path / "map.yaml"
    mf.write_text("columns:\n  Когда: occurred_at\n  Что: article\n  Где: address\n  Ш: lat\n  Д: lon\n",
                  encoding="utf-8")
    with pytest.raises(ValueError, match="cannot map"):
        ingest_file(p, city="astana", store=store)
    rep = ingest_file(p, city="astana", store=store, mapping=mf)
    assert rep.accepted == 1 and rep.mapping["Когда"] == "occurred_at"


def test_malformed_csv_lines_are_quarantined(tmp_path, store):
    text = ";".join(RU) + "\n" + ";".join(ROWS[0]) + "\n" + "1;2;3\n" + ";".join(ROWS[1]) + "\n"
    p = tmp_path / "broken.csv"
    p.write_text(text, encoding="utf-8")
    rep = ingest_file(p, city="astana", store=store, source="erdr")
    assert rep.to_json() == {"input": 3, "accepted": 2, "duplicates": 0, "quarantined": 1,
                             "reasons": {"malformed_row": 1}}
    assert store.quarantine_rows("astana")["row_number"].tolist() == [3]


def test_ingest_dataframe_in_the_schema(store):
    """A DataFrame already in the incident schema (tz-aware times, canonical article refs) ingests as is."""
    df = pd.DataFrame({
        "source_id": ["a", "b"], "occurred_at": pd.to_datetime(["2024-05-01 10:00", "2024-05-02 23:00"], utc=True),
        "ukrk_article": ["UK:188:2", "KoAP:440:1"], "place_type": ["yard", "street_square_park"],
        "address_raw": ["ул. Кенесары 1", None], "lat": [51.1694, 51.128], "lon": [71.4491, 71.43],
    })
    rep = ingest_dataframe(df, city="astana", store=store, source="api")
    assert rep.to_json() == {"input": 2, "accepted": 2, "duplicates": 0, "quarantined": 0, "reasons": {}}
    got = store.query_incidents("astana").set_index("source_id")
    assert got.loc["a", "ukrk_article"] == "UK:188:2" and got.loc["a", "severity_class"] == "medium"
    assert got.loc["b", "ukrk_article"] == "KoAP:440:1" and got.loc["b", "category"] is not None
    assert got.loc["a", "occurred_at"] == pd.Timestamp("2024-05-01 10:00", tz="UTC")
    assert ingest_dataframe(df, city="astana", store=store, source="api").accepted == 0


def test_unknown_place_type_is_kept_as_other_and_flagged(tmp_path, store):
    rows = [["1", "01.02.2024 12:00", "", "188", "Двор", "ул. Кенесары, д. 40", "51,1694", "71,4491"],
            ["2", "01.02.2024 13:00", "", "188", "Автомойка", "ул. Кенесары, д. 41", "51,1695", "71,4492"],
            ["3", "01.02.2024 14:00", "", "188", "автомойка ", "ул. Кенесары, д. 42", "51,1696", "71,4493"],
            ["4", "01.02.2024 15:00", "", "188", "", "ул. Кенесары, д. 43", "51,1697", "71,4494"]]
    rep = ingest_file(_write_csv(tmp_path / "p.csv", rows), city="astana", store=store, source="p")
    assert rep.accepted == 4 and rep.flags.get("place_type_unknown") == 2
    df = store.query_incidents("astana").set_index("source_id")
    assert df.loc["1", "place_type"] == "yard" and df.loc["2", "place_type"] == "other"
    assert df.loc["3", "place_type"] == "other" and pd.isna(df.loc["4", "place_type"])
