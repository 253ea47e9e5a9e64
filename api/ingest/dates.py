"""Date/time columns of an export -> UTC, with the day/month order decided per column, never guessed.

:func:`parse_datetimes` reads a column of local dates and times:

* a ``date_format`` (mapping file ``date_format`` or ``qauipsiz ingest --date-format``) is honoured
  for every format: any ``strptime`` pattern (``%m/%d/%Y %I:%M:%S %p``, ``%d.%m.%Y %H:%M`` …) or
  the words ``day-first`` / ``month-first``;
* without one, the order of ``a/b/yyyy`` dates is inferred from the column's values: a first field
  above 12 proves day-first, a second field above 12 proves month-first.  A column whose values fit
  both orders and where none decides, or that proves both, is refused with a ``ValueError``
  naming the column and example values.  ISO 8601 (``yyyy-mm-dd``) is unambiguous;
* Excel serial day numbers (``45321.5`` or ``45321,5``) and datetime cells are read as they are;
* ``24:00`` is the end of that day (the next day's 00:00) and flagged ``end_of_day_24``;
* local times that do not exist (skipped at a DST change) or occur twice are flagged
  ``dst_gap`` / ``dst_ambiguous`` per row (gap times move to the end of the gap, repeated times
  take their first occurrence), never moved silently;
* a value that is not a date, or out of range (``9999-12-31``), marks only that row as bad.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np
import pandas as pd

from qauipsiz.api.ingest.validate import TEXT, _blank, _only_text, as_text

EXCEL_SERIAL_RANGE = (20_000.0, 80_000.0)  # 1954-10-03 .. 2119-01-11
DAY_FIRST, MONTH_FIRST, YEAR_FIRST = "day-first", "month-first", "year-first"
ORDER_WORDS = {
    "day-first": DAY_FIRST, "dayfirst": DAY_FIRST, "day_first": DAY_FIRST, "dmy": DAY_FIRST, "d/m/y": DAY_FIRST,
    "month-first": MONTH_FIRST, "monthfirst": MONTH_FIRST, "month_first": MONTH_FIRST, "mdy": MONTH_FIRST,
    "m/d/y": MONTH_FIRST,
}
"""``date_format`` values that only set the day/month order (the layout is still recognised)."""
DOTTED_DAY_FIRST = True
"""``dd.mm.yyyy`` (dots) is the layout of Kazakh and Russian registers (ГОСТ Р 6.30): a dotted column
that no value decides is read day-first, and the report says so (``date_order``, decided by
``layout``).  Slash and dash columns (``01/02/2024``) that no value decides are refused."""
MIN_MONTH_FIRST_EVIDENCE = 2
MONTH_FIRST_EVIDENCE_SHARE = 0.01
"""A dotted column is read month-first only when at least this many values (and this share of its
a.b.yyyy values) can only be month-first; fewer are typos of the day-first convention (bad dates)."""
FLAGS = ("end_of_day_24", "dst_gap", "dst_ambiguous")
"""Per-row date flags: the row is kept, the flag is reported."""
EXAMPLES = 5

_NUM_DATE = re.compile(
    r"^(?P<a>\d{1,4})(?P<s>[./-])(?P<b>\d{1,2})(?P<s2>[./-])(?P<c>\d{2,4})"
    r"(?:(?:[ T]|,\s?)(?P<H>\d{1,2})[:.](?P<M>\d{2})(?:[:.](?P<S>\d{2})(?:[.,]\d+)?)?"
    r"\s?(?P<p>[AaPp]\.?[Mm]\.?)?)?$")
_OFFSET = r"(?:Z|[+-]\d{2}:?\d{2})$"


class UndecidedDateOrder(ValueError):
    """A column's ``a/b/yyyy`` dates fit both day-first and month-first and no value decides."""


@dataclass
class DateParse:
    """What :func:`parse_datetimes` decided for one column.

    Attributes
    ----------
    order : str or None
        ``day-first``, ``month-first``, ``year-first`` (ISO-like only), ``format`` (a strptime
        ``date_format`` was used) or ``None`` (no text dates: empty, serials or datetime cells).
    decided_by : str
        ``date_format``, ``values`` (inferred from a value such as ``13/01/2024``) or ``layout``.
    evidence : str or None
        A value that decided the order.
    flags : ndarray of object
        Per row: ``None`` or a comma-separated list of :data:`FLAGS`.
    """

    order: str | None
    decided_by: str = ""
    evidence: str | None = None
    flags: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=object))


def _add_flag(flags: np.ndarray, mask: np.ndarray, name: str) -> None:
    idx = np.flatnonzero(mask)
    for i in idx:
        flags[i] = name if flags[i] is None else f"{flags[i]},{name}"


def localize(naive: pd.Series, tz: str) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """Naive local wall-clock times in ``tz`` -> (UTC, gap mask, repeated mask).

    Times skipped by a DST change move to the end of the gap (02:30 -> 03:00); repeated times take their first
    occurrence; both are reported in the masks so the caller can flag them.
    """
    s = pd.Series(pd.to_datetime(pd.Series(naive).reset_index(drop=True))).dt.as_unit("ns")
    strict = s.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
    bad = strict.isna().to_numpy() & s.notna().to_numpy()
    gap = np.zeros(len(s), bool)
    amb = np.zeros(len(s), bool)
    if bad.any():
        shifted = s[bad].dt.tz_localize(tz, ambiguous=np.ones(int(bad.sum()), dtype=bool),
                                        nonexistent="shift_forward")
        # a time that exists twice localises differently when read as the second occurrence
        second = s[bad].dt.tz_localize(tz, ambiguous=np.zeros(int(bad.sum()), dtype=bool), nonexistent="NaT")
        is_amb = second.notna().to_numpy()
        idx = np.flatnonzero(bad)
        amb[idx[is_amb]] = True
        gap[idx[~is_amb]] = True
        strict = strict.copy()
        strict[bad] = shifted
    return strict.dt.tz_convert("UTC"), gap, amb


_NS_MIN, _NS_MAX = pd.Timestamp("1678-01-02"), pd.Timestamp("2262-04-10")


def _naive_ns(p) -> np.ndarray:
    """Naive datetimes (any unit) -> writable datetime64[ns]; out of the ns range (9999-12-31) -> NaT."""
    s = pd.Series(p).reset_index(drop=True)
    if s.dt.tz is not None:
        s = s.dt.tz_localize(None)
    s = s.where((s >= _NS_MIN) & (s <= _NS_MAX))
    return s.dt.as_unit("ns").to_numpy().copy()


def _utc_ns(series) -> np.ndarray:
    return pd.Series(series).dt.tz_convert("UTC").dt.tz_localize(None).dt.as_unit("ns").to_numpy()


def _examples(values: pd.Series, mask: np.ndarray) -> list[str]:
    return [str(v) for v in pd.unique(values[mask].astype(object))[:EXAMPLES]]


def _order_from(date_format: str | None) -> tuple[str | None, str | None]:
    """``date_format`` -> (strptime format or None, forced order or None)."""
    if not date_format:
        return None, None
    w = str(date_format).strip().lower()
    if w in ORDER_WORDS:
        return None, ORDER_WORDS[w]
    if "%" not in date_format:
        raise ValueError(f"date_format {date_format!r}: expected a strptime pattern such as %m/%d/%Y %H:%M "
                         f"or one of day-first, month-first")
    return date_format, None


def _datetime_cells(v: pd.Series, done: np.ndarray, out: np.ndarray, naive: np.ndarray, got: np.ndarray) -> None:
    """Take datetime cells (Excel, Parquet, DataFrames) in place: aware ones into ``out`` (UTC),
    naive ones into ``naive`` (local, ``got`` set); ``done`` marks both."""
    is_dt = v.map(lambda x: isinstance(x, (datetime, date, np.datetime64, pd.Timestamp))).to_numpy(bool) & ~done
    if not is_dt.any():
        return
    vals = v[is_dt]
    aware = vals.map(lambda x: getattr(x, "tzinfo", None) is not None).to_numpy(bool)
    if aware.any():
        out[vals.index[aware]] = _utc_ns(pd.to_datetime(vals[aware], utc=True))
    if (~aware).any():
        loc = _naive_ns(pd.to_datetime(vals[~aware].reset_index(drop=True), errors="coerce"))
        naive[vals.index[~aware]] = loc
        got[vals.index[~aware]] = ~np.isnat(loc)
    done |= is_dt


def _tidy_text(at: pd.Series, rest: np.ndarray) -> tuple[pd.Series, np.ndarray]:
    """Text of the ``rest`` rows with "г." after the year and doubled spaces removed, and 24:00 read
    as 00:00; returns the text and the rows that said 24:00 (a day is added to them later)."""
    odd = at.str.contains(r"г|\s\s|\t", regex=True).to_numpy(dtype=bool, na_value=False) & rest
    if odd.any():  # "12.03.2024 г. 14:30", doubled spaces
        at = at.copy()
        at[odd] = at[odd].str.replace(r"(\d{4})\s*г\.?", "\\1", regex=True).str.replace(r"\s+", " ", regex=True)
    # 24:00 is the end of the day: read 00:00 and add a day
    eod = rest & at.str.contains(r"(?:^|\D)24[:.]00(?:[:.]00)?(?:$|\D)", regex=True).to_numpy(
        dtype=bool, na_value=False)
    if eod.any():
        at = at.copy()
        at[eod] = at[eod].str.replace(r"(^|\D)24([:.])00", "\\100\\200", regex=True)
    return at, eod


def _offset_text(at: pd.Series, rest: np.ndarray, out: np.ndarray, done: np.ndarray) -> None:
    """Take ISO 8601 text with an explicit offset among the ``rest`` rows into ``out`` (UTC), in place."""
    off = rest & at.str.contains(_OFFSET, regex=True).to_numpy(dtype=bool, na_value=False)
    if off.any():
        p = pd.to_datetime(at[off].astype(object), format="ISO8601", utc=True, errors="coerce")
        ok = p.notna().to_numpy()
        idx = np.flatnonzero(off)[ok]
        out[idx] = _utc_ns(p[ok])
        done[idx] = True


def parse_datetimes(values: pd.Series, tz: str, date_format: str | None = None, *,
                    column: str = "date") -> tuple[pd.Series, np.ndarray, np.ndarray, DateParse]:
    """Parse a column of local dates/times to UTC.

    Parameters
    ----------
    values : Series
        Raw cells (text, numbers, datetime cells).
    tz : str
        IANA zone of naive values; values with an offset are converted.
    date_format : str, optional
        A strptime pattern used for every text value (ISO 8601 stays accepted), or ``day-first`` /
        ``month-first``.
    column : str
        Named in the error when the order cannot be decided.

    Returns
    -------
    utc : Series of datetime64[ns, UTC]
    missing : ndarray of bool
        Empty cells.
    bad : ndarray of bool
        Non-empty cells that are not a date (or out of range).
    info : DateParse
        The order chosen and per-row flags.

    Raises
    ------
    ValueError
        When no ``date_format`` is given and the column's ``a/b/yyyy`` dates fit both day-first
        and month-first with none deciding, or when some values prove day-first and others
        month-first.
    """
    fmt, forced = _order_from(date_format)
    vin = values.reset_index(drop=True)
    n = len(vin)
    missing = _blank(vin)
    out = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    done = missing.copy()
    flags = np.full(n, None, dtype=object)
    info = DateParse(order=None, flags=flags)
    naive = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    got = np.zeros(n, bool)  # naive local value found (localised at the end)

    # datetime cells (Excel, Parquet, DataFrames)
    text_only = vin.dtype == TEXT or _only_text(vin.astype(object))
    v = vin.astype(object)
    if not text_only:
        _datetime_cells(v, done, out, naive, got)
    at = as_text(vin if text_only else v.where(~done, None)).str.strip()

    # numbers: Excel serial days (1900 date system), decimal point or comma
    numtxt = at.str.replace(r"^(\d+),(\d+)$", "\\1.\\2", regex=True)
    num = pd.to_numeric(numtxt.astype(object), errors="coerce").to_numpy(float)
    serial = ~done & np.isfinite(num) & (num > EXCEL_SERIAL_RANGE[0]) & (num < EXCEL_SERIAL_RANGE[1])
    if serial.any():
        local = pd.Timestamp("1899-12-30") + pd.to_timedelta(np.round(num[serial] * 86400), unit="s")
        naive[serial] = local.to_numpy()
        got |= serial
        done |= serial

    rest = ~done
    if rest.any():
        at, eod = _tidy_text(at, rest)
        _offset_text(at, rest, out, done)
        rest = ~done
    if rest.any():
        txt = at[rest].astype(object)
        ridx = np.flatnonzero(rest)
        if fmt:
            aware_fmt = "%z" in fmt or "%Z" in fmt
            p = pd.to_datetime(txt, format=fmt, errors="coerce", utc=aware_fmt)
            if aware_fmt:  # the values carry their offset
                ok = p.notna().to_numpy()
                out[ridx[ok]] = _utc_ns(p[ok])
                done[ridx[ok]] = True
                vals = np.full(len(ridx), np.datetime64("NaT"), dtype="datetime64[ns]")
            else:
                vals = _naive_ns(p)
            info.order, info.decided_by, info.evidence = "format", "date_format", fmt
        else:
            vals = _parse_numeric_layout(txt, forced, column, info)
        miss_iso = np.isnat(vals) & ~done[ridx]
        if miss_iso.any():  # ISO 8601 without offset is always accepted
            p = pd.to_datetime(txt[miss_iso], format="ISO8601", errors="coerce")
            vals[miss_iso] = _naive_ns(p)
            if info.order is None and p.notna().any():
                info.order, info.decided_by = YEAR_FIRST, "layout"
        ok = ~np.isnat(vals)
        naive[ridx[ok]] = vals[ok]
        got[ridx[ok]] = True
        if rest.any() and eod.any():
            e = eod & got
            naive[e] = naive[e] + np.timedelta64(1, "D")
            _add_flag(flags, e, "end_of_day_24")

    if got.any():
        idx = np.flatnonzero(got)
        try:
            utc, gap, amb = localize(pd.Series(naive[idx]), tz)
            out[idx] = _utc_ns(utc)
            _add_flag(flags, np.isin(np.arange(n), idx[gap]), "dst_gap")
            _add_flag(flags, np.isin(np.arange(n), idx[amb]), "dst_ambiguous")
        except (OverflowError, pd.errors.OutOfBoundsDatetime):  # pragma: no cover - values near the ns limits
            for i in idx:
                try:
                    u, _g, _a = localize(pd.Series([naive[i]]), tz)
                    out[i] = _utc_ns(u)[0]
                except (OverflowError, pd.errors.OutOfBoundsDatetime):
                    continue
        done |= got
    res = pd.Series(out).dt.tz_localize("UTC")
    bad = ~missing & (~done | np.isnat(out))
    flags[bad | missing] = None
    return res, missing, bad, info


def _parse_numeric_layout(txt: pd.Series, forced: str | None, column: str, info: DateParse) -> np.ndarray:
    """``a.b.yyyy [hh:mm[:ss] [AM|PM]]`` / ``yyyy-mm-dd …`` text -> naive datetime64 (NaT when not one).

    Decides day-first versus month-first for the column (see :func:`parse_datetimes`)."""
    if not len(txt):
        return np.full(0, np.datetime64("NaT"), dtype="datetime64[ns]")
    codes, uniq = pd.factorize(pd.Series(txt, dtype=TEXT).reset_index(drop=True), use_na_sentinel=True)
    uvals = _parse_unique(pd.Series(np.asarray(uniq, dtype=object), dtype=TEXT), forced, column, info)
    vals = np.full(len(codes), np.datetime64("NaT"), dtype="datetime64[ns]")
    ok = codes >= 0
    vals[ok] = uvals[codes[ok]]
    return vals


def _order_from_values(txt: pd.Series, a: np.ndarray, b: np.ndarray, xy: np.ndarray, sep: pd.Series,
                       column: str, info: DateParse) -> str:
    """Day-first or month-first for the ``a/b/year`` rows ``xy``, from a value that only fits one,
    else from the dotted layout; raises when values contradict or none decides (see
    :func:`parse_datetimes`).  Records the deciding value in ``info``."""
    dfirst = xy & (a > 12) & (a <= 31) & (b >= 1) & (b <= 12)
    mfirst = xy & (b > 12) & (b <= 31) & (a >= 1) & (a <= 12)
    if dfirst.any() and mfirst.any():
        raise ValueError(
            f"column {column!r}: dates contradict each other — {_examples(txt, dfirst)} can only be "
            f"day-first, {_examples(txt, mfirst)} only month-first; fix the file or set date_format "
            "in the mapping / pass --date-format (e.g. %d.%m.%Y %H:%M or %m/%d/%Y %H:%M)")
    if dfirst.any():
        info.evidence = str(txt[dfirst].iloc[0])
        return DAY_FIRST
    dotted = (sep == ".").to_numpy(dtype=bool)
    if mfirst.any() and DOTTED_DAY_FIRST and dotted[xy].all() \
            and mfirst.sum() < max(MIN_MONTH_FIRST_EVIDENCE, MONTH_FIRST_EVIDENCE_SHARE * xy.sum()):
        # a dotted (dd.mm.yyyy) column where one stray value ("05.13.2024", a typo) "proves"
        # month-first: the convention stands and that value is a bad date, not a reason to swap
        # every other date of the file
        info.evidence = str(txt[xy].iloc[0])
        info.order, info.decided_by = DAY_FIRST, "layout"
        return DAY_FIRST
    if mfirst.any():
        info.evidence = str(txt[mfirst].iloc[0])
        return MONTH_FIRST
    differ = xy & (a != b)
    if not differ.any():
        return DAY_FIRST  # a == b everywhere: both orders give the same date
    if DOTTED_DAY_FIRST and dotted[differ].all():
        info.evidence = str(txt[differ].iloc[0])
        info.order, info.decided_by = DAY_FIRST, "layout"
        return DAY_FIRST
    raise UndecidedDateOrder(
        f"column {column!r}: every date fits both day-first and month-first (all fields ≤ 12, "
        f"e.g. {_examples(txt, differ)}) and none decides; set date_format in the mapping or "
        "pass --date-format (day-first, month-first or a pattern such as %d.%m.%Y %H:%M)")


def _parse_unique(txt: pd.Series, forced: str | None, column: str, info: DateParse) -> np.ndarray:
    import pyarrow as pa
    import pyarrow.compute as pc

    m = len(txt)
    vals = np.full(m, np.datetime64("NaT"), dtype="datetime64[ns]")
    if not m:
        return vals
    st = pc.extract_regex(pa.array(txt.array), _NUM_DATE.pattern)
    hit = st.is_valid().to_numpy(zero_copy_only=False)
    if not hit.any():
        return vals

    def field_(name) -> pa.Array:
        return pc.struct_field(st, name)

    def col(name):
        f = field_(name)
        f = pc.if_else(pc.equal(f, ""), pa.scalar(None, pa.string()), f)
        return pc.fill_null(pc.cast(f, pa.int64()), 0).to_numpy(zero_copy_only=False)

    parts = {"s": pd.Series(field_("s").to_numpy(zero_copy_only=False), dtype=object),
             "p": pd.Series(field_("p").to_numpy(zero_copy_only=False), dtype=object)}
    same_sep = pc.fill_null(pc.equal(field_("s"), field_("s2")), False).to_numpy(zero_copy_only=False)
    hit &= same_sep
    a, b, c = col("a"), col("b"), col("c")
    la = pc.fill_null(pc.utf8_length(field_("a")), 0).to_numpy(zero_copy_only=False)
    lc = pc.fill_null(pc.utf8_length(field_("c")), 0).to_numpy(zero_copy_only=False)
    ymd = hit & (la == 4)
    xy = hit & (la <= 2) & (lc != 3)  # a/b/year
    # the order of a/b/year dates
    if xy.any():
        if forced:
            order = forced
            info.decided_by = "date_format"
        else:
            order = _order_from_values(txt, a, b, xy, parts["s"], column, info)
            if not info.decided_by:
                info.decided_by = "values"
        info.order = order
        day = np.where(order == DAY_FIRST, a, b)
        mon = np.where(order == DAY_FIRST, b, a)
        yr = np.where(lc == 2, np.where(c < 69, 2000 + c, 1900 + c), c)
    else:
        day = mon = yr = np.zeros(m, np.int64)
    if ymd.any():
        yr = np.where(ymd, a, yr)
        mon = np.where(ymd, b, mon)
        day = np.where(ymd, c, day)
        if info.order is None:
            info.order, info.decided_by = YEAR_FIRST, "layout"
        ymd &= lc <= 2
    use = xy | ymd
    hh, mm, ss = col("H"), col("M"), col("S")
    ampm = parts["p"].fillna("").str.lower().str.slice(0, 1).to_numpy(object)
    has_p = ampm != ""
    ok12 = ~has_p | ((hh >= 1) & (hh <= 12))
    hh = np.where(has_p & (ampm == "p") & (hh < 12), hh + 12, np.where(has_p & (ampm == "a") & (hh == 12), 0, hh))
    use &= ok12 & (hh <= 23) & (mm <= 59) & (ss <= 59) & (mon >= 1) & (mon <= 12) & (day >= 1) & (day <= 31)
    if not use.any():
        return vals
    use &= (yr >= 1678) & (yr <= 2261)  # datetime64[ns]; later years are out of range (bad rows)
    if not use.any():
        return vals
    d = pd.to_datetime(pd.DataFrame({"year": yr[use], "month": mon[use], "day": day[use]}), errors="coerce")
    t = pd.to_timedelta(hh[use] * 3600 + mm[use] * 60 + ss[use], unit="s")
    vals[use] = _naive_ns(d + t)
    return vals


def parse_date_columns(columns: dict[str, tuple[pd.Series, str | None]], tz: str,
                       date_format: str | None = None) -> dict[str, tuple]:
    """Parse the date columns of one file with one day/month order for the whole file.

    Parameters
    ----------
    columns : dict
        Field name -> (raw values, source column name), e.g. ``occurred_at`` and ``reported_at``.
    tz : str
        IANA zone of naive values.
    date_format : str, optional
        As in :func:`parse_datetimes`; when given, every column uses it.

    Returns
    -------
    dict
        Field -> the 4-tuple of :func:`parse_datetimes`.  A column whose own values do not decide
        (all fields ≤ 12, or dotted and read by the layout convention) takes the order that the
        values of another column of the same file prove; ``info.decided_by`` is then
        ``"values of <column>"``.  Columns whose values prove different orders keep their own.

    Raises
    ------
    ValueError
        As :func:`parse_datetimes`, when no column of the file decides an undecided one.
    """
    out: dict[str, tuple] = {}
    undecided: dict[str, UndecidedDateOrder] = {}
    for f, (vals, col) in columns.items():
        try:
            out[f] = parse_datetimes(vals, tz, date_format, column=col or f)
        except UndecidedDateOrder as e:
            undecided[f] = e
    if date_format:
        return out
    proven = {(r[3].order, f) for f, r in out.items()
              if r[3].decided_by == "values" and r[3].order in (DAY_FIRST, MONTH_FIRST)}
    orders = {o for o, _ in proven}
    if len(orders) == 1:
        order = orders.pop()
        src = columns[sorted(f for _, f in proven)[0]][1]
        weak = [f for f in columns if f in undecided
                or (out[f][3].decided_by == "layout" and out[f][3].order in (DAY_FIRST, MONTH_FIRST))]
        for f in weak:
            vals, col = columns[f]
            res = parse_datetimes(vals, tz, order, column=col or f)
            res[3].decided_by = f"values of {src!r}"
            out[f] = res
            undecided.pop(f, None)
    if undecided:
        raise next(iter(undecided.values()))
    return {f: out[f] for f in columns}
