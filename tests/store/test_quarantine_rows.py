"""Issue 20 (3, 5, 6, 7): quarantined rows keep their columns, a stray quote cannot swallow lines,
a leading ``'`` is data, the API CSV is formula-neutralised, one impossible date quarantines one row."""
from __future__ import annotations

import json

import pytest

from qauipsiz.api.ingest import ingest_file
from qauipsiz.api.ingest.readers import read_table

HEADER = ["Номер ЕРДР", "Дата совершения", "Статья УК РК", "Место совершения", "Адрес места происшествия",
          "Широта", "Долгота"]


def _write(tmp_path, lines, name="e.csv"):
    p = tmp_path / name
    p.write_text(";".join(HEADER) + "\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return p


def _ok(i, addr="ул. Абая 1", date=None):
    return f"{i};{date or f'0{i % 9 + 1}.02.2024 12:00'};188;Двор;{addr};51,1694;71,4491"


def _identity(rep):
    assert rep.input == rep.accepted + rep.duplicates + rep.quarantined, rep.to_json()


def _raws(store):
    q = store.quarantine_rows("astana")
    return q, [json.loads(r) for r in q["raw"]]


def test_bad_rows_keep_their_columns_next_to_a_malformed_line(tmp_path, store):
    bad = [f"{i};31.02.2024 12:00;188;Двор;ул. Кенесары {i};51,1694;71,4491" for i in range(1, 5)]
    p = _write(tmp_path, [*bad, "99;01.02.2024 12:00;188", _ok(7)])
    rep = ingest_file(p, city="astana", store=store, source="erdr")
    _identity(rep)
    assert (rep.input, rep.accepted, rep.quarantined) == (6, 1, 5)
    assert rep.reasons == {"bad_date": 4, "malformed_row": 1}
    q, raws = _raws(store)
    assert len(q) == 5
    by_row = dict(zip(q["row_number"].tolist(), raws, strict=True))
    for r in range(2, 6):
        assert by_row[r]["Адрес места происшествия"] == f"ул. Кенесары {r - 1}"
        assert by_row[r]["Номер ЕРДР"] == str(r - 1) and by_row[r]["Дата совершения"] == "31.02.2024 12:00"
    assert "99;01.02.2024 12:00;188" in json.dumps(by_row[6], ensure_ascii=False)


def test_identical_bad_rows_are_each_kept(tmp_path, store):
    bad = "1;31.02.2024 12:00;188;Двор;ул. Кенесары 1;51,1694;71,4491"
    p = _write(tmp_path, [bad, bad, bad, _ok(2)])
    rep = ingest_file(p, city="astana", store=store, source="erdr")
    _identity(rep)
    assert (rep.input, rep.accepted, rep.quarantined) == (4, 1, 3)
    q, raws = _raws(store)
    assert sorted(q["row_number"].tolist()) == [2, 3, 4]
    assert all(r["Адрес места происшествия"] == "ул. Кенесары 1" for r in raws)
    # the same file again: nothing new is stored, the accounting still holds
    rep2 = ingest_file(p, city="astana", store=store, source="erdr")
    _identity(rep2)
    assert len(store.quarantine_rows("astana")) == 3


@pytest.mark.parametrize("where", ["middle", "last"])
def test_unbalanced_quote_does_not_swallow_lines(tmp_path, store, where):
    broken = '5;02.02.2024 12:00;188;Двор;"ул. Абая 5;51,1694;71,4491'
    lines = [_ok(1), _ok(2, "ул. Абая 2"), broken, _ok(3, "ул. Абая 3"), _ok(4, "ул. Абая 4")]
    if where == "last":
        lines = [*lines[:2], *lines[3:], broken]
    p = _write(tmp_path, lines)
    t = read_table(p)
    assert len(t.df) == 5  # one record per physical line
    rep = ingest_file(p, city="astana", store=store, source="erdr")
    _identity(rep)
    assert (rep.input, rep.accepted, rep.quarantined) == (5, 4, 1)
    q = store.quarantine_rows("astana")
    row = 4 if where == "middle" else 6
    assert q["row_number"].tolist() == [row] and f"row {row}" in q["message"].iat[0]
    got = store.query_incidents("astana")
    assert sorted(got["address_raw"]) == ["ул. Абая 1", "ул. Абая 2", "ул. Абая 3", "ул. Абая 4"]


def test_quoted_newline_still_allowed(tmp_path, store):
    p = _write(tmp_path, [_ok(1), '2;02.02.2024 12:00;188;Двор;"ул. Абая\n2";51,1694;71,4491', _ok(3, "x")])
    t = read_table(p)
    assert len(t.df) == 3 and t.df["Адрес места происшествия"].iat[1] == "ул. Абая\n2"
    rep = ingest_file(p, city="astana", store=store, source="erdr")
    _identity(rep)
    assert rep.accepted == 3


def test_leading_quote_is_kept_as_data(tmp_path, store):
    p = _write(tmp_path, [_ok(1, "'=1+1"), _ok(2, "'ул. Абая")])
    rep = ingest_file(p, city="astana", store=store, source="erdr")
    _identity(rep)
    assert rep.accepted == 2
    assert sorted(store.query_incidents("astana")["address_raw"]) == ["'=1+1", "'ул. Абая"]


def test_out_of_range_date_quarantines_only_its_row(tmp_path, store):
    p = _write(tmp_path, [_ok(1), _ok(2, "b"), _ok(3, "c", date="9999-12-31"), _ok(4, "d")])
    rep = ingest_file(p, city="astana", store=store, source="erdr")
    _identity(rep)
    assert (rep.input, rep.accepted, rep.quarantined) == (4, 3, 1)
    q = store.quarantine_rows("astana")
    assert q["row_number"].tolist() == [4]
    assert q["field"].iat[0] == "occurred_at"
    assert json.loads(q["raw"].iat[0])["Дата совершения"] == "9999-12-31"
