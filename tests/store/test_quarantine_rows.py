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


def _export(tmp_path, store, name="q.csv"):
    from typer.testing import CliRunner

    import qauipsiz.api.cli  # noqa: F401  (registers the commands)
    from qauipsiz.api.cli._app import app

    out = tmp_path / name
    res = CliRunner().invoke(app, ["quarantine", "export", "--out", str(out), "--city", "astana"],
                             env={"DATABASE_URL": store.url})
    assert res.exit_code == 0, res.output
    import pandas as pd

    return pd.read_csv(out, sep=";", dtype=str, encoding="utf-8-sig"), out


def test_quarantine_id_resolves_only_a_fixed_row_of_the_same_city_and_source(tmp_path, store):
    """Issue 20.4: a file carrying quarantine ids resolves an entry only when its row now passes, for
    the entry's own city, with the original batch's source."""
    bad = [f"{i};31.02.2024 12:00;188;Двор;ул. Кенесары {i};51,1694;71,4491" for i in (1, 2)]
    ingest_file(_write(tmp_path, bad), city="astana", store=store, source="erdr")
    q, out = _export(tmp_path, store)
    assert len(q) == 2 and len(store.quarantine_rows("astana")) == 2

    # 1. re-ingested unfixed: nothing resolved
    ingest_file(out, city="astana", store=store, source="fixes")
    assert len(store.quarantine_rows("astana")) == 2

    # 2. fixed rows, but ingested for another city (Almaty coordinates so they pass there)
    fixed = q.copy()
    fixed["Дата совершения"] = "28.02.2024 12:00"
    fixed["Широта"], fixed["Долгота"] = "43,2389", "76,8897"
    p_city = tmp_path / "other_city.csv"
    fixed.to_csv(p_city, sep=";", index=False, encoding="utf-8-sig")
    rep = ingest_file(p_city, city="almaty", store=store, source="fixes")
    assert rep.accepted == 2
    assert len(store.quarantine_rows("astana")) == 2

    # 3. fixed rows of the same city, but claiming another source
    fixed = q.copy()
    fixed["Дата совершения"] = "28.02.2024 12:00"
    fixed["_source"] = "koap"
    p_src = tmp_path / "other_source.csv"
    fixed.to_csv(p_src, sep=";", index=False, encoding="utf-8-sig")
    ingest_file(p_src, city="astana", store=store, source="fixes")
    assert len(store.quarantine_rows("astana")) == 2

    # 4. one row fixed, same city and source: exactly that entry is resolved
    fixed = q.copy()
    fixed.loc[0, "Дата совершения"] = "28.02.2024 12:00"
    fixed.loc[0, "Номер ЕРДР"] = "101"
    p_ok = tmp_path / "fixed.csv"
    fixed.to_csv(p_ok, sep=";", index=False, encoding="utf-8-sig")
    ingest_file(p_ok, city="astana", store=store, source="fixes")
    still = store.quarantine_rows("astana")
    assert still["id"].tolist() == [int(q["_quarantine_id"].iat[1])]
