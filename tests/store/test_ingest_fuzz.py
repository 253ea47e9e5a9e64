"""Ingest fuzzing (issue 20, done-when): random bytes, encodings, quotes, separators, widths and
date strings.  For every case the input counts the file's physical records, input = accepted +
duplicates + quarantined, nothing but a ``ValueError`` naming the file escapes, and every
quarantined row is stored with its own columns."""
from __future__ import annotations

import json

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from qauipsiz.api.ingest import ingest_file
from qauipsiz.api.ingest.readers import read_table

HEADER = ["Номер ЕРДР", "Дата совершения", "Статья УК РК", "Адрес места происшествия", "Широта", "Долгота"]
RU = "абвгдежзиклмнопрстуфхцчшщыэюя"

date_text = st.one_of(
    st.datetimes().map(lambda d: d.strftime("%d.%m.%Y %H:%M")),
    st.datetimes().map(lambda d: d.isoformat(sep=" ")),
    st.datetimes().map(lambda d: f"{d.month}/{d.day}/{d.year} {d.hour}:{d.minute:02d}"),
    st.floats(-10, 3_000_000, allow_nan=False).map(lambda v: f"{v:.3f}".replace(".", ",")),
    st.sampled_from(["", "24:00", "01.02.2024 24:00", "9999-12-31", "0000-00-00", "31.02.2024", "=NOW()"]),
    st.text(alphabet=RU + "0123456789 .:-/", max_size=20),
)
cell = st.text(alphabet=RU + "0123456789 .,-=+@'", max_size=15)


@st.composite
def export(draw):
    """(lines as written, number of records, separator, encoding)."""
    sep = draw(st.sampled_from([";", ",", "\t", "|"]))
    enc = draw(st.sampled_from(["utf-8", "utf-8-sig", "cp1251", "cp866", "utf-16", "utf-16-le", "utf-32"]))
    extra = draw(st.integers(0, 3))
    header = HEADER + [f"доп{i}" for i in range(extra)]
    n = draw(st.integers(1, 25))
    stray_at = draw(st.one_of(st.none(), st.integers(0, n - 1)))  # at most one unbalanced quote per file
    lines = []
    for i in range(n):
        lat, lon = draw(st.sampled_from([("51,1694", "71,4491"), ("51.13", "71.43"), ("", ""), ("0", "0"),
                                         ("71,4491", "51,1694"), ("x", "y")]))
        r = [draw(st.sampled_from(["", "1", "2", str(i + 100)])), draw(date_text),
             draw(st.sampled_from(["188", "191 ч.1", "999", "", "КоАП 440"])), draw(cell), lat, lon]
        r += [draw(cell) for _ in range(extra)]
        if draw(st.integers(0, 12)) == 0:
            r = r[: draw(st.integers(1, len(r)))] if draw(st.booleans()) else r + ["лишнее"]  # wrong width
        # a field holding the separator, a quote or a newline is quoted (a real CSV writer does so)
        out = [('"' + c.replace('"', '""') + '"') if any(x in c for x in (sep, '"', "\n")) else c for c in r]
        if i == stray_at:
            out[min(3, len(out) - 1)] = '"' + out[min(3, len(out) - 1)].strip('"')  # an opened, never closed quote
        lines.append(sep.join(out))
    if sep == ",":  # decimal commas would need quoting under a comma separator
        lines = [ln.replace("51,1694", "51.1694").replace("71,4491", "71.4491") for ln in lines]
    return sep.join(header), lines, enc


def _file(tmp, hdr, lines, enc):
    p = tmp / "x.csv"
    p.write_bytes(("\n".join([hdr, *lines]) + "\n").encode(enc, errors="replace"))
    return p


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=export())
def test_every_physical_record_is_counted(tmp_path_factory, case):
    hdr, lines, enc = case
    try:
        (("\n".join([hdr, *lines])).encode(enc))
    except UnicodeEncodeError:
        assume(False)
    p = _file(tmp_path_factory.mktemp("fz"), hdr, lines, enc)
    t = read_table(p)
    assert len(t.df) == len(lines), (enc, len(t.df), len(lines))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=export())
def test_accounting_and_stored_quarantine_columns(store, tmp_path_factory, case):
    hdr, lines, enc = case
    try:
        (("\n".join([hdr, *lines])).encode(enc))
    except UnicodeEncodeError:
        assume(False)
    p = _file(tmp_path_factory.mktemp("fz"), hdr, lines, enc)
    city = "almaty"  # a city of its own so the session store's other tests do not interfere
    before = set(store.quarantine_rows(city, status=None)["id"]) if len(store.quarantine_rows(city, status=None)) \
        else set()
    try:
        rep = ingest_file(p, city=city, store=store, source="fuzz", geocoder=None)
    except ValueError as e:  # a whole-file refusal names what to fix (e.g. an undecidable date column)
        assert "column" in str(e) or "x.csv" in str(e), e
        assert len(store.quarantine_rows(city, status=None)) == len(before)  # nothing half-written
        return
    assert rep.input == len(lines) == rep.accepted + rep.duplicates + rep.quarantined, rep.to_json()
    assert sum(rep.reasons.values()) == rep.quarantined
    q = store.quarantine_rows(city, status=None)
    new = q[~q["id"].isin(before)]
    assert len(new) <= rep.quarantined
    for raw in new["raw"]:
        rec = json.loads(raw)
        assert "_line" in rec or set(HEADER) <= set(rec), rec  # its own columns, or its raw line


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=600), ext=st.sampled_from([".csv", ".xlsx", ".geojson", ".gpkg", ".parquet"]))
def test_random_bytes_fail_cleanly(tmp_path_factory, data, ext):
    p = tmp_path_factory.mktemp("rb") / f"random{ext}"
    p.write_bytes(data)
    try:
        t = read_table(p)
    except ValueError as e:
        assert "random" in str(e)
        return
    assert len(t.df) == len(t.row_numbers)


def test_a_stray_quote_does_not_pair_with_a_later_lines_quote(tmp_path):
    """Found by the fuzz test: a stray quote and a quote inside a later line made a two-line record of
    exactly the header's width (``"…\\n…,"51.1694"`` read leniently as one quoted field plus text).
    A record may span lines only as RFC 4180 allows: the closing quote right before a separator."""
    lines = [',"0,000",188,",51.13,71.43,лишнее', ',,188,,"51.1694","71.4491",лишнее',
             ',"0,000",188,"ул. Абая\n12","51.1694","71.4491"']
    p = _file(tmp_path, ",".join(HEADER), lines, "utf-8")
    t = read_table(p)
    assert len(t.df) == 3  # the stray line, the next one alone, and one real two-line record
    assert t.df["Адрес места происшествия"].iloc[2] == "ул. Абая\n12"
