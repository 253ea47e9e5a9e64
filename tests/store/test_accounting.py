"""Accounting identity (hypothesis), idempotency, duplicates and the demo export against its truth."""
from __future__ import annotations

import string

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qauipsiz.api.ingest import ingest_file, prepare
from qauipsiz.api.ingest.readers import read_table
from qauipsiz.hotspot.cities import get_city

HEADER = ["Номер ЕРДР", "Дата совершения", "Статья УК РК", "Место совершения", "Адрес места происшествия",
          "Широта", "Долгота"]

dates = st.one_of(
    st.datetimes(min_value=pd.Timestamp("2019-01-01").to_pydatetime(),
                 max_value=pd.Timestamp("2025-12-31").to_pydatetime()).map(lambda d: d.strftime("%d.%m.%Y %H:%M")),
    st.datetimes(min_value=pd.Timestamp("2019-01-01").to_pydatetime(),
                 max_value=pd.Timestamp("2025-12-31").to_pydatetime()).map(lambda d: d.isoformat(sep=" ")),
    st.floats(43000, 46000).map(lambda v: f"{v:.4f}"),                      # Excel serials
    st.sampled_from(["", " ", "31.02.2024 10:00", "вчера", "2024-13-01", "01.01.2099 10:00", "01.01.1970 00:00",
                     "25:61", "=1+1"]),
)
articles = st.one_of(st.sampled_from(["188 ч.2", "188", "191 ч.1", "КоАП 440", "ст. 106 ч. 1 УК", "190-3"]),
                     st.sampled_from(["", "abc", "999 ч.1", "12", "+188", "@SUM(1)"]))
places = st.sampled_from(["", "Двор", "Подъезд", "Улица / площадь / парк", "неизвестно", "Аула"])
addresses = st.one_of(st.just(""), st.text(alphabet="абвгдеж клмн.,0123456789", min_size=1, max_size=25))
coord = st.one_of(
    st.tuples(st.floats(51.08, 51.22), st.floats(71.33, 71.55)).map(lambda t: (f"{t[0]:.6f}", f"{t[1]:.6f}")),
    st.tuples(st.floats(51.08, 51.22), st.floats(71.33, 71.55)).map(lambda t: (f"{t[1]:.6f}", f"{t[0]:.6f}")),
    st.tuples(st.floats(51.08, 51.22), st.floats(71.33, 71.55)).map(lambda t: (f"{t[0]:.2f}", f"{t[1]:.2f}")),
    st.sampled_from([("", ""), ("0", "0"), ("0,0", "0,0"), ("43,25", "76,95"), ("abc", "71,4"), ("51,1", ""),
                     ("91", "200"), ("-51,1", "71,4")]),
)
ids = st.one_of(st.just(""), st.integers(1, 40).map(str), st.text(alphabet=string.digits, min_size=12, max_size=12))


@st.composite
def rows(draw):
    lat, lon = draw(coord)
    r = [draw(ids), draw(dates), draw(articles), draw(places), draw(addresses), lat, lon]
    if draw(st.integers(0, 30)) == 0:
        r = r[: draw(st.integers(2, 6))]  # a short (malformed) line
    return r


def _write(path, recs, sep, encoding, decimal_comma):
    lines = [sep.join(HEADER)]
    for r in recs:
        cells = [c.replace(".", ",") if decimal_comma and i >= 5 else c for i, c in enumerate(r)]
        lines.append(sep.join(f'"{c}"' if sep in c or '"' in c else c for c in cells))
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))


fmt = st.tuples(st.sampled_from([";", ","]), st.sampled_from(["utf-8", "utf-8-sig", "cp1251"]), st.booleans())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(recs=st.lists(rows(), min_size=1, max_size=40), f=fmt)
def test_accounting_identity_prepare(tmp_path_factory, recs, f):
    """Every row ends in exactly one class; reasons add up to the quarantined count."""
    sep, enc, dec = f
    if sep == "," and dec:
        dec = False
    p = tmp_path_factory.mktemp("acc") / "x.csv"
    _write(p, recs, sep, enc, dec)
    t = read_table(p)
    assert len(t.df) == len(recs)
    pr = prepare(t, get_city("astana"), source="h")
    assert pr.n_input == len(recs)
    assert len(pr.accepted) + pr.file_duplicates + len(pr.quarantined) == len(recs)
    assert sum(pr.reasons.values()) == len(pr.quarantined)
    # accepted rows are complete and valid
    a = pr.accepted
    assert a["occurred_at"].notna().all() and a["category"].notna().all()
    assert (a["lat"].notna() | a["address_raw"].notna()).all()
    ok = a["lat"].notna()
    assert ((a.loc[ok, "lat"] > 40.5) & (a.loc[ok, "lat"] < 55.5)).all()
    assert a["incident_id"].is_unique and a["content_hash"].is_unique
    # every quarantine message names its row
    assert all(m.startswith(f"row {r}:") for m, r in zip(pr.quarantined["message"], pr.quarantined["row_number"],
                                                           strict=True))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(recs=st.lists(rows(), min_size=1, max_size=30), f=fmt)
def test_accounting_identity_store(store, tmp_path_factory, recs, f):
    """N = A + D + Q through the store, and the store grows by exactly A incidents."""
    sep, enc, dec = f
    p = tmp_path_factory.mktemp("acc") / "x.csv"
    _write(p, recs, sep, enc, dec and sep == ";")
    before = store.table_counts()
    rep = ingest_file(p, city="astana", store=store, source="hyp")
    j = rep.to_json()
    assert j["input"] == len(recs) == j["accepted"] + j["duplicates"] + j["quarantined"]
    assert sum(j["reasons"].values()) == j["quarantined"]
    after = store.table_counts()
    assert after["incidents"] - before["incidents"] == j["accepted"]
    assert after["quarantine"] - before["quarantine"] <= j["quarantined"]
    assert after["ingest_batches"] - before["ingest_batches"] == 1
    # the same file again adds nothing
    rep2 = ingest_file(p, city="astana", store=store, source="hyp")
    assert rep2.accepted == 0 and rep2.input == len(recs)
    assert store.table_counts()["incidents"] == after["incidents"]
    assert store.table_counts()["quarantine"] == after["quarantine"]


def test_idempotent_and_duplicates(tmp_path, store, demo_dir):
    src = demo_dir / "incidents_export.csv"
    meta = pd.read_json(demo_dir / "metadata.json", typ="series")
    rep = ingest_file(src, city="astana", store=store, source="demo")
    j = rep.to_json()
    assert j["input"] == meta["counts"]["export_rows"]
    assert j["duplicates"] == meta["counts"]["duplicates"]  # re-exports and re-registrations, all found
    assert j["accepted"] + j["quarantined"] == meta["counts"]["incidents"]
    counts, version = store.table_counts(), store.data_version("astana")
    rep2 = ingest_file(src, city="astana", store=store, source="demo")
    assert rep2.to_json() == {"input": j["input"], "accepted": 0, "duplicates": j["input"] - j["quarantined"],
                              "quarantined": j["quarantined"], "reasons": j["reasons"]}
    after = store.table_counts()
    assert {k: v for k, v in after.items() if k != "ingest_batches"} == \
        {k: v for k, v in counts.items() if k != "ingest_batches"}
    assert store.data_version("astana") == version
    # a copy under another name and source still adds nothing: same content
    copy = tmp_path / "again.csv"
    copy.write_bytes(src.read_bytes())
    assert ingest_file(copy, city="astana", store=store, source="other").accepted == 0


def test_demo_export_matches_truth(store, demo_dir):
    """Ingesting the synthetic export recovers the generator's truth (dates, taxonomy, repaired points)."""
    ingest_file(demo_dir / "incidents_export.csv", city="astana", store=store, source="demo")
    got = store.query_incidents("astana").set_index("source_id")
    truth = pd.read_parquet(demo_dir / "incidents_truth.parquet").set_index("source_id")
    both = truth.join(got, how="inner", suffixes=("", "_got"))
    assert len(both) == len(got)
    assert (both["occurred_at"] == both["occurred_at_got"]).all()
    assert (both["category"] == both["category_got"]).all()
    assert (both["severity_class"] == both["severity_class_got"]).all()
    assert (both["ukrk_article"] == both["ukrk_article_got"]).all()
    assert (both["place_type"] == both["place_type_got"]).all()
    d = both["dirt"]
    city = get_city("astana")
    x0, y0 = city.to_metric(both["true_lon"].to_numpy(), both["true_lat"].to_numpy())
    x1, y1 = city.to_metric(both["lon_got"].to_numpy(float), both["lat_got"].to_numpy(float))
    err = np.hypot(x1 - x0, y1 - y0)
    clean = (d == "clean").to_numpy()
    assert np.nanmax(err[clean]) < 40  # 5 m GPS noise in the export
    sw = (d == "swapped").to_numpy()
    assert sw.any()  # the demo export has swapped coordinates; each is repaired and flagged
    assert np.nanmax(err[sw]) < 40 and both.loc[sw, "coord_flags"].str.contains("swapped").all()
    for kind in ("zero", "outside", "address_only"):
        m = (d == kind).to_numpy()
        assert m.any(), kind
        assert (both.loc[m, "geocode_precision"] == "none").all(), kind
        assert both.loc[m, "lat_got"].isna().all(), kind
    lp = (d == "low_precision").to_numpy()
    assert lp.any()
    assert both.loc[lp, "coord_flags"].str.contains("low_precision").all()
    assert both.loc[lp, "geocode_precision"].isin(["street", "district", "city"]).all()
    assert (both.loc[clean, "district"] == both.loc[clean, "district_got"]).mean() > 0.98
    assert (both.loc[clean, "is_dark"] == both.loc[clean, "is_dark_got"]).mean() > 0.99


def test_geocoder_hook_contract(tmp_path, store):
    """Address-only rows go through the hook: matched rows get its point, unmatched are quarantined
    with the hook's candidates; without a hook they wait for geocoding."""
    header = "Дата совершения;Статья УК РК;Адрес места происшествия;Широта;Долгота\n"
    body = ("01.02.2024 12:00;188;ул. Кенесары, 40;;\n"
            "01.02.2024 13:00;188;ул. Непонятная, 1;;\n"
            "01.02.2024 14:00;188;ул. Кенесары, 41;51,1694;71,4491\n")
    p = tmp_path / "g.csv"
    p.write_text(header + body, encoding="utf-8")
    calls = []

    def geocoder(addresses: pd.Series) -> pd.DataFrame:
        calls.append(addresses.copy())
        hit = addresses.str.contains("Кенесары").to_numpy()
        return pd.DataFrame({"lat": np.where(hit, 51.1690, np.nan), "lon": np.where(hit, 71.4480, np.nan),
                             "precision": np.where(hit, "address", "none"), "score": np.where(hit, 95.0, 0.0),
                             "uncertainty_m": np.where(hit, 15.0, np.nan), "matched": hit,
                             "candidates": [None if h else ["ул. Кенесары (41)"] for h in hit]},
                            index=addresses.index)

    rep = ingest_file(p, city="astana", store=store, source="g", geocoder=geocoder)
    assert rep.to_json() == {"input": 3, "accepted": 2, "duplicates": 0, "quarantined": 1,
                             "reasons": {"geocode_failed": 1}}
    assert len(calls) == 1 and len(calls[0]) == 2  # only the rows without a usable point
    got = store.query_incidents("astana").sort_values("occurred_at")
    assert got["lat"].iloc[0] == pytest.approx(51.169) and got["geocode_precision"].iloc[0] == "address"
    assert got["geocode_score"].iloc[0] == 95.0 and "geocoded" in got["coord_flags"].iloc[0]
    q = store.quarantine_rows("astana")
    assert q["reason"].tolist() == ["geocode_failed"] and "Кенесары (41)" in q["candidates"].iloc[0]


def test_awaiting_geocoding_then_update(tmp_path, store):
    p = tmp_path / "a.csv"
    p.write_text("Дата совершения;Статья УК РК;Адрес места происшествия\n01.02.2024 12:00;188;ул. Кенесары, 40\n",
                 encoding="utf-8")
    rep = ingest_file(p, city="astana", store=store, source="a")
    assert rep.awaiting_geocoding == 1
    pend = store.pending_geocoding("astana")
    assert len(pend) == 1
    v = store.data_version("astana")
    n = store.update_geocodes("astana", pd.DataFrame({"incident_id": pend["incident_id"], "lat": [51.169],
                                                      "lon": [71.448], "precision": ["address"], "score": [90.0],
                                                      "uncertainty_m": [12.0]}))
    assert n == 1 and store.data_version("astana") != v and store.pending_geocoding("astana").empty
    got = store.query_incidents("astana").iloc[0]
    assert got["district"] is not None and got["h3"] != 0 and got["geocode_precision"] == "address"
