"""CSV reading: encoding (UTF-8 / UTF-8-BOM / UTF-16 / cp1251 …) and separator detection, formula
unescaping, and a parser that never drops a line (an unsplittable line becomes a row marked
:data:`~.raw_table.MALFORMED`)."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd

from qauipsiz.api.ingest.limits import check_columns
from qauipsiz.api.ingest.raw_table import (
    MALFORMED,
    MAX_RECORD_CHARS,
    MAX_RECORD_LINES,
    UNCLOSED,
    RawTable,
)
from qauipsiz.hotspot.paths import sha256_file


def detect_encoding(data: bytes) -> str:
    """The text encoding of an export's bytes.

    A BOM decides (UTF-8, UTF-32, UTF-16); else the pattern of zero bytes tells UTF-32/16 without
    a BOM and their byte order; else UTF-8 when the bytes decode; else the legacy Cyrillic code page
    whose decoding reads most like Russian or Kazakh text: ``cp1251`` (Windows), ``cp866`` (DOS)
    or ``kz1048`` (Windows Kazakh; wins over cp1251 only when Kazakh letters appear).
    """
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if data.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return "utf-32"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    wide = _wide_encoding(data[:1 << 16])
    if wide:
        return wide
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as e:
        # a multi-byte character cut at the end of a sample is still UTF-8
        if e.start >= len(data) - 3 and len(data) >= 1 << 16:
            return "utf-8"
    return _legacy_cyrillic(data[:1 << 18])


_LETTERS = frozenset("абвгдеёжзийклмнопрстуфхцчшщъыьэюяәғқңөұүһі")


def _wide_encoding(sample: bytes) -> str | None:
    """UTF-32/16 LE/BE without a BOM, told by where the zero bytes fall (ASCII digits, separators
    and line ends have a zero high byte); None for a byte-oriented encoding."""
    n = len(sample) - len(sample) % 4
    if n < 8 or sample.count(0) < n // 8:
        return None
    b = np.frombuffer(sample[:n], dtype=np.uint8).reshape(-1, 4) == 0
    z4 = b.mean(axis=0)
    if z4[2] > 0.95 and z4[3] > 0.95:
        return "utf-32-le"
    if z4[0] > 0.95 and z4[1] > 0.95:
        return "utf-32-be"
    odd, even = (z4[1] + z4[3]) / 2, (z4[0] + z4[2]) / 2
    if odd > 0.2 and even < 0.02:
        return "utf-16-le"
    if even > 0.2 and odd < 0.02:
        return "utf-16-be"
    return None


def _legacy_cyrillic(sample: bytes) -> str:
    def score(enc: str) -> float:
        t = sample.decode(enc, errors="replace")
        high = [c for c in t if ord(c) > 127]
        return sum(c.lower() in _LETTERS for c in high) / max(len(high), 1)

    scores = {enc: score(enc) for enc in ("cp1251", "cp866", "kz1048")}
    best = max(scores, key=lambda k: (scores[k], k == "cp1251"))
    return "cp1251" if scores[best] <= scores["cp1251"] + 1e-9 else best


def detect_separator(text: str) -> str:
    """The field separator among ``;``, ``,``, tab and ``|``: the one splitting the first lines into
    the same number (> 1) of fields most consistently; ``;`` wins ties (decimal commas are common)."""
    lines = [ln for ln in text.splitlines()[:50] if ln.strip()]
    best, best_score = ";", -1.0
    for sep in (";", "\t", ",", "|"):
        try:
            counts = [len(r) for r in csv.reader(lines, delimiter=sep)]
        except csv.Error:
            continue
        if not counts or counts[0] < 2:
            continue
        score = sum(c == counts[0] for c in counts) / len(counts) + counts[0] / 1000
        if score > best_score + 1e-9:
            best, best_score = sep, score
    return best


def unescape_formula(s: pd.Series) -> pd.Series:
    """Undo our CSV formula-injection escaping: ``'=…`` → ``=…`` (for re-ingested exports)."""
    if s.dtype == TEXT:
        m = s.str.startswith("'").to_numpy(dtype=bool, na_value=False)
        if m.any():
            m &= s.str.match(r"^'[=+\-@\t\r]").to_numpy(dtype=bool, na_value=False)
        if m.any():
            s = s.copy()
            s[m] = s[m].str.slice(1)
        return s
    if s.dtype == object or pd.api.types.is_string_dtype(s):
        st = s.astype(object)
        is_str = st.map(lambda v: isinstance(v, str)).to_numpy(bool)
        if not is_str.any():
            return st
        sub = st[is_str]
        m = sub.str.match(r"^'[=+\-@\t\r]", na=False).to_numpy(bool)
        if m.any():
            st = st.copy()
            st[sub.index[m]] = sub[m].str[1:]
        return st
    return s


def read_csv(path: str | Path, encoding: str | None = None, sep: str | None = None) -> RawTable:
    """Read a CSV export; every value stays text (``None`` for empty cells).

    Encoding and separator are detected unless given.  Lines with a different number of fields
    than the header are kept as rows marked in column :data:`MALFORMED`.
    """
    raw = Path(path).read_bytes()
    enc = encoding or detect_encoding(raw)
    text = raw.decode(enc, errors="strict")
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\r" in text:  # CR-only line ends become LF; a stray CR inside a line is whitespace
        text = text.replace("\r\n", "\n")
        text = text.replace("\r", "\n" if "\n" not in text else " ")
    sep = sep or detect_separator(text[:200_000])
    first = text[: text.find("\n")] if "\n" in text else text
    check_columns(first.count(sep) + 1, Path(path).name)  # before parsing: a 10^6-column line costs minutes
    df = None
    if '"' in text:
        df, rows, blank = _read_csv_guarded(text, sep)
    if df is None:
        df, rows, blank = _read_csv_arrow(text, sep)
    if df is None:
        df, rows, blank = _read_csv_records(text, sep)
    # trailing blank lines of a file are not records
    if blank.any():
        last = len(blank)
        while last and blank[last - 1]:
            last -= 1
        df, rows = df.iloc[:last], rows[:last]
    df.columns = [str(c).strip() for c in df.columns]
    _unescape_quarantine_export(df)
    return RawTable(df.reset_index(drop=True), rows, "csv", sha256_file(path), enc, sep)


def _unescape_quarantine_export(df: pd.DataFrame) -> None:
    """Strip the protective ``'`` our CSV writer puts before ``= + - @`` — only in a file that is our
    own quarantine export (it has a ``_quarantine_id`` column).  In any other file a leading ``'``
    is data and is kept (``'=1+1`` stays ``'=1+1``)."""
    if "_quarantine_id" not in df.columns:
        return
    for c in df.columns:
        df[c] = unescape_formula(df[c])


def _field_re(sep: str, strict: bool = False):
    """A whole line (record) of fields.  Lenient: text may follow a closing quote (``"a"b``), as
    spreadsheets write.  Strict (RFC 4180), for a record spanning lines: a quoted field closes right
    before a separator or the end, and a newline only stands inside quotes, so a stray quote cannot
    pair with a quote of a later line into a record of the right width."""
    import re

    d = re.escape(sep)
    if strict:
        field = f'(?:"(?:[^"]|"")*"|[^"{d}\n][^{d}\n]*|)'
    else:
        field = f'(?:"(?:[^"]|"")*"(?:[^"{d}][^{d}]*)?|[^"{d}][^{d}]*|)'
    return re.compile(f"{field}(?:{d}{field})*", re.S)


def _read_csv_guarded(text: str, sep: str):
    """Records when the text has quotes: a quoted field may span up to :data:`MAX_RECORD_LINES`
    lines / :data:`MAX_RECORD_CHARS` characters and must then close into a record of the header's
    field count; otherwise the quote was stray and its line alone becomes a row marked
    :data:`UNCLOSED` (and :data:`MALFORMED`), so one quote never swallows the following lines.
    Returns ``(None, None, None)`` when no line leaves a quote open (the usual readers handle it)."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    rx, rx_span = _field_re(sep), _field_re(sep, strict=True)
    is_open = [('"' in ln) and rx.fullmatch(ln) is None for ln in lines]
    if not any(is_open[1:]) and is_open[:1] != [True]:
        return None, None, None
    if not lines or is_open[0]:
        return None, None, None  # a broken header: the csv reader reports what it can
    header = _dedupe_header(next(csv.reader([lines[0]], delimiter=sep)))
    k = len(header)
    recs, rows, unclosed = [], [], []
    i = 1
    while i < len(lines):
        ln = lines[i]
        if not is_open[i]:
            recs.append(next(csv.reader([ln], delimiter=sep)) if ln else [])
            rows.append(i + 1)
            unclosed.append(None)
            i += 1
            continue
        j, chunk, ok = i, ln, False
        while j + 1 < len(lines) and j + 1 - i < MAX_RECORD_LINES and len(chunk) <= MAX_RECORD_CHARS:
            j += 1
            chunk += "\n" + lines[j]
            if rx_span.fullmatch(chunk) is not None:
                ok = True
                break
        rec = next(csv.reader([chunk], delimiter=sep)) if ok else None
        if ok and len(rec) == k:
            recs.append(rec)
            rows.append(i + 1)
            unclosed.append(None)
            i = j + 1
        else:  # a stray quote: the field ends with its line, the line is quarantined
            recs.append([""] * k)
            rows.append(i + 1)
            unclosed.append(ln)
            i += 1
    n = len(recs)
    lens = np.fromiter(map(len, recs), dtype=np.int64, count=n)
    blank = lens == 0
    bad = (lens != k) & ~blank
    df = pd.DataFrame([r if len(r) == k else [""] * k for r in recs], columns=header, dtype=object) if n \
        else pd.DataFrame(columns=header, dtype=object)
    mal = np.array(unclosed + [None] * 0, dtype=object) if n else np.array([], dtype=object)
    mal[bad] = [sep.join(recs[x]) for x in np.flatnonzero(bad)]
    df[MALFORMED] = mal
    df[UNCLOSED] = np.array([u is not None for u in unclosed], dtype=bool) if n else np.array([], dtype=bool)
    for c in header:
        col = df[c]
        df[c] = col.where(col != "", None)
    return df, np.asarray(rows, dtype=np.int64), blank


def _dedupe_header(header: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    for i, h in enumerate(header):  # duplicate headers get .1, .2 … as in pandas
        if h in seen:
            seen[h] += 1
            header[i] = f"{h}.{seen[h]}"
        else:
            seen[h] = 0
    return header


TEXT = "string[pyarrow]"


def _read_csv_arrow(text: str, sep: str):
    """Fast path with Arrow's CSV reader, used when every record is one line with the header's
    field count; returns ``(None, None, None)`` otherwise (the ``csv``-module path handles it)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    first = text.split("\n", 1)[0]
    header = next(csv.reader([first], delimiter=sep))
    if len(set(header)) != len(header):
        return None, None, None
    invalid = []

    def on_invalid(row):
        invalid.append(row)
        return "skip"

    try:
        t = pacsv.read_csv(
            io.BytesIO(text.encode("utf-8")),
            read_options=pacsv.ReadOptions(block_size=1 << 24),
            parse_options=pacsv.ParseOptions(delimiter=sep, invalid_row_handler=on_invalid, ignore_empty_lines=False,
                                              newlines_in_values=False),
            convert_options=pacsv.ConvertOptions(column_types={h: pa.string() for h in header},
                                                 strings_can_be_null=True, quoted_strings_can_be_null=True))
    except (pa.ArrowInvalid, ValueError):
        return None, None, None
    n_lines = text.count("\n") + (0 if text.endswith("\n") else 1)
    if invalid or t.num_rows != n_lines - 1:
        return None, None, None
    df = t.to_pandas(types_mapper=lambda typ: pd.StringDtype("pyarrow") if typ == pa.string() else None)
    df.columns = header
    blank = df.isna().all(axis=1).to_numpy()
    return df, np.arange(len(df)) + 2, blank


def _read_csv_records(text: str, sep: str):
    """Split records with Python's ``csv`` (quoted separators and newlines allowed); lines with a
    different field count than the header are kept as rows marked in :data:`MALFORMED`.

    Returns the frame, each record's first line number (header = 1) and a mask of blank lines.
    """
    reader = csv.reader(io.StringIO(text), delimiter=sep)
    try:
        header = next(reader)
    except StopIteration:
        raise ValueError("the file is empty (no header line)") from None
    header = _dedupe_header(header)
    recs = list(reader)
    n, k = len(recs), len(header)
    lens = np.fromiter(map(len, recs), dtype=np.int64, count=n)
    if text.count("\n") - text.endswith("\n") + 1 == n + 1:
        rows = np.arange(n) + 2  # one line per record
    else:  # quoted newlines: recount with line numbers
        reader = csv.reader(io.StringIO(text), delimiter=sep)
        next(reader)
        starts, prev = [], reader.line_num
        for _ in reader:
            starts.append(prev + 1)
            prev = reader.line_num
        rows = np.asarray(starts)
    blank = lens == 0
    bad = (lens != k) & ~blank
    if bad.any() or blank.any():
        good = [r if len(r) == k else [""] * k for r in recs]
        df = pd.DataFrame(good, columns=header, dtype=object)
        mal = np.full(n, None, dtype=object)
        mal[bad] = [sep.join(recs[i]) for i in np.flatnonzero(bad)]
        df[MALFORMED] = mal
    else:
        df = pd.DataFrame(recs, columns=header, dtype=object) if n else pd.DataFrame(columns=header, dtype=object)
    for c in header:
        col = df[c]
        df[c] = col.where(col != "", None)
    return df, rows, blank
