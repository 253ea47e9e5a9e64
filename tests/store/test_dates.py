"""Date columns: day/month order per column (inferred or from date_format), Excel serials, 24:00,
out-of-range rows, DST gaps and repeats, header synonyms; the real Chicago sample."""
from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from qauipsiz.api.ingest import ingest_file, map_headers
from qauipsiz.api.ingest.dates import parse_datetimes
from qauipsiz.api.ingest.prepare import prepare
from qauipsiz.api.ingest.readers import read_table
from qauipsiz.hotspot.cities import get_city

CHICAGO = Path("/work/shared/data/peer/chicago_sample_2017_2019.csv")
HEADER = ["id", "date", "offense", "address", "latitude", "longitude"]


def _csv(path: Path, dates, header=HEADER, offence="Theft") -> Path:
    rows = [",".join(header)]
    for i, d in enumerate(dates):
        rows.append(f'{i + 1},"{d}",{offence},"Kenesary {40 + i}",51.16{i:02d},71.44{i:02d}')
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def _local(store, tz="Asia/Almaty") -> pd.Series:
    df = store.query_incidents("astana").set_index("source_id").sort_index(key=lambda s: s.astype(int))
    return df["occurred_at"].dt.tz_convert(tz)


def test_month_first_file_is_read_month_first(tmp_path, store):
    p = _csv(tmp_path / "us.csv", ["1/13/2024 10:00", "2/1/2024 10:00", "12/31/2024 23:59"])
    rep = ingest_file(p, city="astana", store=store, source="us")
    assert (rep.accepted, rep.quarantined) == (3, 0)
    assert rep.date_order == {"occurred_at": "month-first"}
    loc = _local(store)
    assert [(t.month, t.day) for t in loc] == [(1, 13), (2, 1), (12, 31)]
    assert loc.iloc[1] == pd.Timestamp("2024-02-01 10:00", tz="Asia/Almaty")


def test_day_first_kazakh_dates(tmp_path, store):
    header = ["ЕРДР нөмірі", "Жасалған күні", "Қылмыс түрі", "Мекенжай", "Ендік", "Бойлық"]
    p = _csv(tmp_path / "kk.csv", ["13.01.2024 22:30", "02.01.2024 08:00"], header=header, offence="Ұрлық")
    rep = ingest_file(p, city="astana", store=store, source="kk")
    assert (rep.accepted, rep.quarantined) == (2, 0)
    assert rep.date_order == {"occurred_at": "day-first"}
    loc = _local(store)
    assert [(t.month, t.day) for t in loc] == [(1, 13), (1, 2)]
    assert loc.iloc[0] == pd.Timestamp("2024-01-13 22:30", tz="Asia/Almaty")


@pytest.mark.parametrize("dates", [["01/02/2024", "03/04/2024", "05/05/2024"], ["1-2-2024 10:00", "3-4-2024 11:00"]])
def test_ambiguous_column_is_refused_naming_it(tmp_path, store, dates):
    p = _csv(tmp_path / "amb.csv", dates)
    with pytest.raises(ValueError, match=r"column 'date'.*both day-first and month-first.*" + dates[0]):
        ingest_file(p, city="astana", store=store, source="amb")
    assert len(store.query_incidents("astana")) == 0
    # the mapping (or --date-format) decides
    rep = ingest_file(p, city="astana", store=store, source="amb", mapping={"date_format": "month-first"})
    assert rep.accepted == len(dates)
    assert [(t.month, t.day) for t in _local(store)][:2] == [(1, 2), (3, 4)]


def test_contradicting_column_is_refused():
    with pytest.raises(ValueError, match=r"column 'occurred'.*contradict.*13/01/2024.*01/13/2024"):
        parse_datetimes(pd.Series(["13/01/2024", "01/13/2024"]), "Asia/Almaty", column="occurred")


def test_date_format_is_honoured(tmp_path, store):
    fmt = "%m/%d/%Y %I:%M:%S %p"
    p = _csv(tmp_path / "f.csv", ["02/01/2024 01:02:03 PM", "03/04/2024 12:30:00 AM", "2024-05-06T07:08:00"])
    rep = ingest_file(p, city="astana", store=store, source="f", mapping={"date_format": fmt})
    assert (rep.accepted, rep.quarantined) == (3, 0) and rep.date_order == {"occurred_at": "format"}
    assert list(_local(store)) == [pd.Timestamp(x, tz="Asia/Almaty") for x in
                                   ("2024-02-01 13:02:03", "2024-03-04 00:30:00", "2024-05-06 07:08:00")]
    # a day-first pattern on the same layout reads the other way; a value not in the pattern is a bad row
    u, miss, bad, _info = parse_datetimes(pd.Series(["02/01/2024", "13/01/2024", "1/13/2024", ""]), "UTC",
                                         "%d/%m/%Y")
    assert u.iloc[0] == pd.Timestamp("2024-01-02", tz="UTC") and u.iloc[1] == pd.Timestamp("2024-01-13", tz="UTC")
    assert bad.tolist() == [False, False, True, False] and miss.tolist() == [False, False, False, True]


def test_date_format_cli_flag(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    import qauipsiz.api.cli.ingest  # noqa: F401
    from qauipsiz.api.cli._app import app

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("QAUIPSIZ_DATA_DIR", str(tmp_path / "var"))
    p = _csv(tmp_path / "amb.csv", ["01/02/2024 10:00", "03/04/2024 10:00"])
    r = CliRunner().invoke(app, ["ingest", str(p), "--city", "astana", "--no-geocode", "--no-progress"])
    assert r.exit_code == 2 and "column 'date'" in r.output
    r = CliRunner().invoke(app, ["ingest", str(p), "--city", "astana", "--no-geocode", "--no-progress",
                                 "--date-format", "%m/%d/%Y %H:%M"])
    assert r.exit_code == 0, r.output
    assert "accepted 2" in r.output and '"occurred_at": "format"' in r.output
    p2 = _csv(tmp_path / "us.csv", ["1/13/2024 10:00", "2/1/2024 10:00"])
    r = CliRunner().invoke(app, ["ingest", str(p2), "--city", "astana", "--no-geocode", "--no-progress", "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["accepted"] == 2 and doc["date_order"] == {"occurred_at": "month-first"}


@pytest.mark.parametrize("serial", ["45321.5", "45321,5"])
def test_excel_serials_both_decimal_marks(tmp_path, store, serial):
    u, _miss, bad, _ = parse_datetimes(pd.Series([serial, 45321.25]), "Asia/Almaty")
    assert u.dt.tz_convert("Asia/Almaty").tolist() == [pd.Timestamp("2024-01-30 12:00", tz="Asia/Almaty"),
                                                       pd.Timestamp("2024-01-30 06:00", tz="Asia/Almaty")]
    assert not bad.any()
    p = tmp_path / "x.csv"
    p.write_text(f'id;date;offense;address\n1;{serial};Theft;Kenesary 40\n', encoding="utf-8")
    rep = ingest_file(p, city="astana", store=store, source="x")
    assert rep.accepted == 1
    assert _local(store).iloc[0] == pd.Timestamp("2024-01-30 12:00", tz="Asia/Almaty")


def test_out_of_range_row_is_quarantined_not_the_file(tmp_path, store):
    p = _csv(tmp_path / "r.csv", ["2024-01-13 10:00", "9999-12-31 00:00", "31.02.2024", "not a date",
                                  "2024-02-01 24:00"])
    rep = ingest_file(p, city="astana", store=store, source="r")
    assert rep.to_json() == {"input": 5, "accepted": 2, "duplicates": 0, "quarantined": 3,
                             "reasons": {"bad_date": 3}}
    q = store.quarantine_rows("astana").sort_values("row_number")
    assert q["row_number"].tolist() == [3, 4, 5] and set(q["field"]) == {"occurred_at"}
    assert "9999-12-31" in q["message"].iloc[0] and "field occurred_at" in q["message"].iloc[0]
    # 24:00 is the end of that day, flagged
    assert _local(store).iloc[1] == pd.Timestamp("2024-02-02 00:00", tz="Asia/Almaty")
    assert rep.flags.get("end_of_day_24") == 1
    assert [w["flag"] for w in rep.date_warnings] == ["end_of_day_24"]


def test_dst_gap_and_repeat_are_flagged():
    vals = pd.Series(["3/10/2024 2:30", "11/3/2024 1:30", "3/13/2024 2:30", datetime(2024, 3, 10, 2, 15)],
                     dtype=object)
    u, _miss, bad, info = parse_datetimes(vals, "America/Chicago", column="occurred")
    assert info.order == "month-first" and not bad.any()
    assert info.flags.tolist() == ["dst_gap", "dst_ambiguous", None, "dst_gap"]
    assert u.iloc[2] == pd.Timestamp("2024-03-13 07:30", tz="UTC")
    assert u.iloc[1] == pd.Timestamp("2024-11-03 06:30", tz="UTC")  # first occurrence (CDT)


def test_dst_gap_flag_reaches_the_report(tmp_path, store):
    # Asia/Almaty had no DST in 2024; build a city in Chicago time with the same boundary
    city = dataclasses.replace(get_city("astana"), tz="America/Chicago")
    p = _csv(tmp_path / "dst.csv", ["2024-03-10 02:30", "2024-03-12 02:30"])
    prep = prepare(read_table(p), city, source="dst")
    assert len(prep.accepted) == 2 and prep.flags.get("dst_gap") == 1
    assert prep.date_warnings == [{"row": 2, "field": "occurred_at", "flag": "dst_gap", "value": "2024-03-10 02:30"}]


@pytest.mark.parametrize("header,field", [
    ("offense", "category"), ("Offence", "category"), ("Crime Type", "category"), ("Primary Type", "category"),
    ("primary_type", "category"), ("Вид преступления", "category"), ("Қылмыс түрі", "category"),
    ("Date", "occurred_at"), ("Дата", "occurred_date"), ("Дата и время", "occurred_at"),
    ("Offense Date", "occurred_at")])
def test_header_synonyms(header, field):
    m = map_headers([header, "Адрес", "Статья" if field != "category" else "Дата совершения"])
    assert m.columns[header] == field


def test_chicago_sample_dates_equal_the_source():
    if not CHICAGO.exists():
        pytest.skip(f"{CHICAGO} is absent")
    table = read_table(CHICAGO)
    src = pd.read_csv(CHICAGO, dtype=str)
    types = sorted(src["primary_type"].unique())
    # the coordinates are in Chicago, not in a registry city: keep the rows through their address
    mapping = {"columns": {"block": "address"}, "categories": {t: "theft" for t in types}}
    city = dataclasses.replace(get_city("astana"), tz="America/Chicago")
    prep = prepare(table, city, source="chicago", mapping=mapping, now=pd.Timestamp("2020-01-01", tz="UTC"))
    assert prep.mapping.columns["date"] == "occurred_at" and prep.mapping.columns["primary_type"] == "category"
    assert prep.date_order == {"occurred_at": "month-first"}
    assert prep.reasons == {}, prep.reasons
    assert len(prep.accepted) + prep.file_duplicates == len(src)
    want = pd.Series([datetime.strptime(v, "%m/%d/%Y %H:%M") for v in src["date"].iloc[prep.accepted_pos]])
    got = prep.accepted["occurred_at"].dt.tz_convert("America/Chicago").dt.tz_localize(None).reset_index(drop=True)
    flagged = np.array([w["row"] for w in prep.date_warnings if w["flag"] == "dst_gap"])
    gap = np.isin(prep.accepted["row_number"].to_numpy(), flagged)
    assert (got[~gap] == want[~gap]).all(), pd.DataFrame({"got": got, "want": want})[~gap & (got != want)].head()
    # a time skipped by the spring DST change is flagged, never silently the same value
    assert (got[gap] != want[gap]).all()
    assert not any(w["flag"] == "end_of_day_24" for w in prep.date_warnings)
    # the autumn repeated hour (01:00-01:59 on the first Sunday of November) is flagged, read as CDT
    amb = [w for w in prep.date_warnings if w["flag"] == "dst_ambiguous"]
    assert amb and prep.flags["dst_ambiguous"] == len(amb)
    assert all(" 1:" in w["value"] and w["value"].startswith("11/") for w in amb)
