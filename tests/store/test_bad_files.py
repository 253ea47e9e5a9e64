"""Issue 20.8, 20.9, 20.11: every reader failure is a clear error naming the file (a 400 from the
service, never a 500), bounded work on hostile files, and the encodings and sheets police exports
come in."""
from __future__ import annotations

import zipfile

import numpy as np
import openpyxl
import pytest

from qauipsiz.api.ingest import ingest_file
from qauipsiz.api.ingest.csv_read import detect_encoding
from qauipsiz.api.ingest.limits import MAX_COLUMNS, MAX_NAME_BYTES, safe_file_name
from qauipsiz.api.ingest.readers import read_table

HEADER = "Номер ЕРДР;Дата совершения;Статья УК РК;Адрес места происшествия;Широта;Долгота"
ROWS = ["1;01.02.2024 12:00;188;ул. Абая 1, Есіл;51,1694;71,4491",
        "2;02.02.2024 24:00;188;проспект Мәңгілік Ел 5;51,1290;71,4300",
        "3;45321,5;188;ул. Кенесары 2;51,1700;71,4500"]


def _bomb(path):
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<x/>")
        z.writestr("xl/worksheets/sheet1.xml", b"<a>" + b" " * (64 * 2**20) + b"</a>")
    return path


BAD = {
    "not_zip.xlsx": lambda p: p.write_bytes(b"not a zip"),
    "garbage.gpkg": lambda p: p.write_bytes(b"garbage" * 10),
    "broken.geojson": lambda p: p.write_text("{nope", encoding="utf-8"),
    "list.json": lambda p: p.write_text("[1,2,3]", encoding="utf-8"),
    "empty.geojson": lambda p: p.write_text('{"type":"FeatureCollection","features":[]}', encoding="utf-8"),
    "nested.geojson": lambda p: p.write_text("[" * 100_000, encoding="utf-8"),
    "bomb.xlsx": _bomb,
    "wide.csv": lambda p: p.write_text(";".join(f"c{i}" for i in range(100_000)) + "\n" + "1;" * 99_999 + "1\n",
                                       encoding="utf-8"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_reader_failures_are_value_errors_naming_the_file(tmp_path, name):
    p = tmp_path / name
    BAD[name](p)
    with pytest.raises(ValueError, match=name.replace(".", r"\.")) as e:
        read_table(p)
    assert str(tmp_path) not in str(e.value)  # no server paths in messages


def test_width_and_zip_bounds_are_named(tmp_path):
    with pytest.raises(ValueError, match=f"100,000 columns, more than the {MAX_COLUMNS}"):
        BAD["wide.csv"](tmp_path / "w.csv")
        read_table(tmp_path / "w.csv")
    with pytest.raises(ValueError, match="zip bomb"):
        read_table(_bomb(tmp_path / "b.xlsx"))


def test_long_file_names_are_shortened_keeping_the_extension():
    name = "отчёт_" * 60 + ".csv"
    short = safe_file_name(name)
    assert short.endswith(".csv") and len(short.encode()) <= MAX_NAME_BYTES and short.startswith("отчёт_")
    assert safe_file_name("../../etc/passwd.csv") == "passwd.csv"


@pytest.mark.parametrize("enc", ["utf-8", "cp1251", "cp866", "kz1048", "utf-16-le", "utf-16-be", "utf-32-le"])
def test_encodings_without_bom(tmp_path, enc):
    rows = ROWS if enc not in ("cp1251", "cp866") else [r.replace("і", "и").replace("ә", "а").replace("ң", "н")
                                                           for r in ROWS]
    p = tmp_path / f"e_{enc}.csv"
    p.write_bytes(("\n".join([HEADER, *rows]) + "\n").encode(enc))
    assert detect_encoding(p.read_bytes()) == enc
    t = read_table(p)
    assert list(t.df.columns)[:2] == ["Номер ЕРДР", "Дата совершения"]
    assert t.df["Адрес места происшествия"].tolist() == [r.split(";")[3] for r in rows]


def _workbook(path, sheets):
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, grid in sheets.items():
        ws = wb.create_sheet(name)
        for r in grid:
            ws.append(r)
    wb.save(path)
    return path


def _grid():
    return [h.split(";") for h in [HEADER, *ROWS]]


def test_xlsx_title_rows_second_sheet_and_sheet_choice(tmp_path, store):
    title = [["Сведения о зарегистрированных уголовных правонарушениях"], ["за февраль 2024 г."], []]
    p = _workbook(tmp_path / "r.xlsx", {"Титул": [], "Данные": title + _grid(), "Прочее": _grid()[:2]})
    t = read_table(p)
    assert t.info == {"sheet": "Данные", "header_row": 4}
    assert list(t.row_numbers) == [5, 6, 7] and t.df.shape == (3, 6)
    rep = ingest_file(p, city="astana", store=store, source="xlsx")
    assert (rep.input, rep.accepted) == (3, 3), rep.to_json()
    assert read_table(p, sheet="Прочее").df.shape == (1, 6)
    assert read_table(p, sheet=2).info["sheet"] == "Прочее"
    with pytest.raises(ValueError, match="no sheet 'Лист1'; sheets: Титул, Данные, Прочее"):
        read_table(p, sheet="Лист1")
    with pytest.raises(ValueError, match="no data in sheet"):
        read_table(p, sheet="Титул")


def test_every_date_error_is_per_row(tmp_path, store):
    p = tmp_path / "d.csv"
    p.write_text("\n".join([HEADER, *ROWS, "4;9999-12-31;188;ул. Абая 9;51,1694;71,4491",
                            "5;32.01.2024 10:00;188;ул. Абая 9;51,1694;71,4491"]) + "\n", encoding="utf-8")
    rep = ingest_file(p, city="astana", store=store, source="d")
    assert (rep.input, rep.accepted, rep.quarantined) == (5, 3, 2), rep.to_json()
    assert rep.flags.get("end_of_day_24") == 1
    got = store.query_incidents("astana").sort_values("source_id")
    assert np.isfinite(got["lat"]).all() and len(got) == 3
