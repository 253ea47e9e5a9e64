"""Vectorised parsing and validation of incident fields: dates, articles, place types, coordinates.

Each parser takes a column of raw values (one per input row) and returns parsed values plus
boolean masks of problems; the pipeline turns masks into quarantine reasons or flags.
"""
from __future__ import annotations

import re
from datetime import date, datetime
from functools import cache

import numpy as np
import pandas as pd

from qauipsiz.hotspot.cities import City
from qauipsiz.hotspot.geocode.coords import (
    CITY_TOLERANCE_M,
    city_zone,
    classify_repeats,
    locate_in_city,
)
from qauipsiz.hotspot.taxonomy import articles, lookup_articles, place_types

LOW_PRECISION_DECIMALS = 4
"""Fewer decimals than this (in either coordinate) flag ``low_precision``."""
M_PER_DEG = 111_320.0

DATE_FORMATS = ("%d.%m.%Y %H:%M", "%d.%m.%Y %H:%M:%S", "%d.%m.%Y", "%d.%m.%y %H:%M", "%d.%m.%y",
                "%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y", "%d-%m-%Y %H:%M", "%d-%m-%Y",
                "%Y.%m.%d %H:%M", "%Y.%m.%d")
"""Local-time formats tried in order before ISO 8601 and Excel serial numbers."""
EXCEL_SERIAL_RANGE = (20_000.0, 80_000.0)  # 1954-10-03 .. 2119-01-11


TEXT = "string[pyarrow]"
"""Arrow-backed text: its ``.str`` methods run in C++ (RE2), not per value in Python."""


def _only_text(st: pd.Series) -> bool:
    """True when every non-missing value is a ``str`` (the CSV case), checked in C."""
    return pd.api.types.infer_dtype(st, skipna=True) in ("string", "empty")


def as_text(s: pd.Series) -> pd.Series:
    """Values as arrow text (missing stays missing; numbers and datetimes become their ``str``)."""
    if s.dtype == TEXT:
        return s
    st = s.astype(object)
    if not _only_text(st):
        st = st.map(lambda v: None if v is None or (isinstance(v, float) and v != v) or v is pd.NaT or v is pd.NA
                    else (v if isinstance(v, str) else str(v)))
    return st.astype(TEXT)


def _blank(s: pd.Series) -> np.ndarray:
    """Missing or whitespace-only values."""
    t = as_text(s).str.strip()
    return (t.isna() | (t == "")).to_numpy(dtype=bool, na_value=True)


def clean_text(s: pd.Series) -> pd.Series:
    """Strip and collapse whitespace; blank -> ``None``; non-text values become text (object dtype)."""
    t = as_text(s).str.strip()
    ws = t.str.contains(r"\s\s|[\t\n\r\x{a0}]", regex=True).to_numpy(dtype=bool, na_value=False)
    if ws.any():
        t = t.copy()
        t[ws] = t[ws].str.replace(r"\s+", " ", regex=True)
    t = t.mask(t == "")
    return t.astype(object).where(t.notna(), None)


def parse_datetimes(values: pd.Series, tz: str, date_format: str | None = None) -> tuple[pd.Series, np.ndarray, np.ndarray]:
    """Parse local dates/times (``дд.мм.гггг чч:мм``, ISO 8601, Excel serials, datetime cells) to UTC.

    Naive values are local wall-clock times in ``tz`` (IANA); values with an offset are converted.

    Returns
    -------
    utc : Series of datetime64[ns, UTC]
    missing : ndarray of bool
        Empty cells.
    bad : ndarray of bool
        Non-empty cells that are not a date (or a non-existent / ambiguous local time).
    """
    from qauipsiz.hotspot.timeutil import to_utc

    def utc_ns(series) -> np.ndarray:  # tz-aware -> naive UTC datetime64[ns] (no per-value objects)
        return pd.Series(series).dt.tz_convert("UTC").dt.tz_localize(None).dt.as_unit("ns").to_numpy()

    vin = values.reset_index(drop=True)
    n = len(vin)
    missing = _blank(vin)
    out = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")  # UTC
    done = missing.copy()

    # datetime cells (Excel, Parquet, DataFrames)
    text_only = vin.dtype == TEXT or _only_text(vin.astype(object))
    if text_only:
        is_dt = np.zeros(n, bool)
    else:
        v = vin.astype(object)
        is_dt = v.map(lambda x: isinstance(x, (datetime, date, np.datetime64, pd.Timestamp))).to_numpy(bool) & ~done
    if is_dt.any():
        vals = v[is_dt]
        aware = vals.map(lambda x: getattr(x, "tzinfo", None) is not None).to_numpy(bool)
        if aware.any():
            out[vals.index[aware]] = utc_ns(pd.to_datetime(vals[aware], utc=True))
        if (~aware).any():
            out[vals.index[~aware]] = utc_ns(to_utc(pd.to_datetime(vals[~aware]).reset_index(drop=True), tz))
        done |= is_dt

    # numbers: Excel serial days (1900 date system)
    at = as_text(vin if text_only else vin.astype(object).where(~done, None)).str.strip()
    num = pd.to_numeric(at.astype(object), errors="coerce").to_numpy(float)
    serial = ~done & np.isfinite(num) & (num > EXCEL_SERIAL_RANGE[0]) & (num < EXCEL_SERIAL_RANGE[1])
    if serial.any():
        local = pd.Timestamp("1899-12-30") + pd.to_timedelta(np.round(num[serial] * 86400), unit="s")
        out[np.flatnonzero(serial)] = utc_ns(to_utc(pd.Series(local), tz))
        done |= serial

    # text with an explicit offset
    rest = ~done
    if rest.any():
        odd = at.str.contains(r"г|\s\s|\t", regex=True).to_numpy(dtype=bool, na_value=False) & rest
        if odd.any():  # "12.03.2024 г. 14:30", doubled spaces
            at = at.copy()
            at[odd] = at[odd].str.replace(r"(\d{4})\s*г\.?", "\\1", regex=True).str.replace(r"\s+", " ", regex=True)
        off = rest & at.str.contains(r"(?:Z|[+-]\d{2}:?\d{2})$", regex=True).to_numpy(dtype=bool, na_value=False)
        if off.any():
            p = pd.to_datetime(at[off].astype(object), format="ISO8601", utc=True, errors="coerce")
            ok = p.notna().to_numpy()
            out[np.flatnonzero(off)[ok]] = utc_ns(p[ok])
            done[np.flatnonzero(off)[ok]] = True

    # local text formats, then ISO 8601 without offset
    naive = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    got = np.zeros(n, bool)
    import pyarrow as pa
    import pyarrow.compute as pc

    for fmt in ((date_format,) if date_format else ()) + DATE_FORMATS + ("ISO8601",):
        rest = ~done & ~got
        if not rest.any():
            break
        if fmt == "ISO8601":
            p = pd.to_datetime(at[rest].astype(object), format=fmt, errors="coerce")
            vals = p.dt.as_unit("ns").to_numpy()
        else:  # Arrow's strptime: vectorised C++, whole-string match
            arr = pa.array(at[rest].array)
            ts = pc.strptime(arr, format=fmt, unit="ns", error_is_null=True)
            # strptime rolls 31.02 over into March: the day typed must be the day parsed
            pat = r"^\s*(?P<d>\d{1,2})" if fmt.startswith("%d") else r"^\s*\d{4}\D\d{1,2}\D(?P<d>\d{1,2})"
            typed = pc.cast(pc.struct_field(pc.extract_regex(arr, pat), [0]), pa.int64(), safe=False)
            same = pc.fill_null(pc.equal(typed, pc.day(ts)), False)
            vals = pc.if_else(same, ts, pa.scalar(None, ts.type)).to_numpy(zero_copy_only=False)
            vals = vals.astype("datetime64[ns]")
        ok = ~np.isnat(vals)
        if ok.any():
            idx = np.flatnonzero(rest)[ok]
            naive[idx] = vals[ok]
            got[idx] = True
    if got.any():
        idx = np.flatnonzero(got)
        out[idx] = utc_ns(to_utc(pd.Series(naive[idx]), tz))
        done |= got
    res = pd.Series(out).dt.tz_localize("UTC")
    bad = ~missing & (~done | np.isnat(out))
    return res, missing, bad


def _norm(s) -> str:
    return re.sub(r"\s+", " ", str(s).strip().lower().replace("ё", "е"))


@cache
def _place_index() -> dict[str, str]:
    pt = place_types()
    idx: dict[str, str] = {}
    for r in pt.itertuples():
        for name in (r.place_type, r.name_kk, r.name_ru, r.name_en):
            idx.setdefault(_norm(name), r.place_type)
            for part in str(name).split("/"):
                idx.setdefault(_norm(part), r.place_type)
    extra = {"улица": "street_square_park", "площадь": "street_square_park", "парк": "street_square_park",
             "сквер": "street_square_park", "көше": "street_square_park", "street": "street_square_park",
             "магазин": "mall_shop_market", "рынок": "mall_shop_market", "базар": "mall_shop_market",
             "трц": "mall_shop_market", "тц": "mall_shop_market", "дүкен": "mall_shop_market",
             "подъезд": "entrance_stairwell", "кіреберіс": "entrance_stairwell", "двор": "yard", "аула": "yard",
             "подвал": "basement", "жертөле": "basement", "пустырь": "wasteland", "транспорт": "public_transport",
             "автобус": "public_transport", "остановка": "public_transport", "гараж": "garage_dacha",
             "дача": "garage_dacha", "бар": "entertainment", "кафе": "entertainment", "клуб": "entertainment"}
    for k, v in extra.items():
        idx.setdefault(k, v)
    return idx


def map_place_types(values: pd.Series, extra: dict | None = None) -> tuple[pd.Series, np.ndarray]:
    """Place-type text (key, or kk/ru/en name of ``data/taxonomy/place_types.csv``, case- and
    ``ё``-insensitive; also any ``/``-separated part of a name) -> key.  Unknown text -> ``'other'``;
    empty -> ``None``.  ``extra`` maps more texts to keys (from a mapping file).

    Returns the keys and a boolean mask of the rows whose text was unknown (so ingestion can flag
    them: the row is kept, but the analyst should extend the mapping)."""
    idx = dict(_place_index())
    idx.update({_norm(k): v for k, v in (extra or {}).items()})
    codes, uniq = pd.factorize(values.reset_index(drop=True).astype(object), use_na_sentinel=True)
    cu = clean_text(pd.Series(uniq, dtype=object))
    found = [None if c is None else idx.get(_norm(c)) for c in cu]
    keys = np.array([None if c is None else (f or "other") for c, f in zip(cu, found, strict=True)], dtype=object)
    unknown_u = np.array([c is not None and f is None for c, f in zip(cu, found, strict=True)], dtype=bool)
    out = np.full(len(codes), None, dtype=object)
    unknown = np.zeros(len(codes), dtype=bool)
    ok = codes >= 0
    out[ok] = keys[codes[ok]]
    unknown[ok] = unknown_u[codes[ok]]
    return pd.Series(out, dtype=object), unknown


@cache
def _category_index() -> dict[str, str]:
    a = articles()
    idx: dict[str, str] = {}
    for r in a.drop_duplicates("category").itertuples():
        for name in (r.category, r.category_kk, r.category_ru, r.category_en):
            idx.setdefault(_norm(name), r.category)
    return idx


@cache
def _category_default() -> pd.DataFrame:
    """Per category: the first (lowest) part's code, article, severity class."""
    a = articles().sort_values(["category", "code", "article", "part"])
    return a.drop_duplicates("category").set_index("category")


def parse_offences(article_raw: pd.Series | None, category_raw: pd.Series | None, n: int,
                   extra_categories: dict | None = None) -> pd.DataFrame:
    """Article references and/or category names -> ``ukrk_article, category, severity_class`` and a
    ``reason`` column (``None`` when fine; else ``missing_article``, ``bad_article``,
    ``unknown_article`` or ``unknown_category``).

    The article wins when both are given.  A category without an article takes the severity of
    its first article part (the mildest usually) and leaves ``ukrk_article`` empty.
    """
    out = pd.DataFrame({"ukrk_article": [None] * n, "category": [None] * n, "severity_class": [None] * n,
                        "reason": [None] * n}, dtype=object)
    if article_raw is not None:  # each distinct text is looked up once
        codes, uniq = pd.factorize(article_raw.reset_index(drop=True).astype(object), use_na_sentinel=True)
        cu = clean_text(pd.Series(uniq, dtype=object))
        # our own canonical form 'UK:188:2' / 'KoAP:440:1' (exports, DataFrames in the schema)
        canon = cu.astype(object).str.extract(r"^(UK|KoAP):(\d+):(\d+)$")
        hit = canon[0].notna().to_numpy()
        if hit.any():
            cu[hit] = ((canon[0][hit] == "KoAP").map({True: "КоАП ", False: ""}) + canon[1][hit] + " ч." +
                       canon[2][hit]).to_numpy(object)
        cu = cu.to_numpy(object)
        has_art = codes >= 0
        has_art[has_art] = pd.notna(cu[codes[has_art]]).astype(bool) if len(cu) else False
    else:
        has_art = np.zeros(n, bool)
    if has_art.any():
        ucodes, uidx = np.unique(codes[has_art], return_inverse=True)
        lk = lookup_articles(cu[ucodes].astype(str)).iloc[uidx].reset_index(drop=True)
        idx = np.flatnonzero(has_art)
        known = lk["category"].notna().to_numpy()
        parsed = lk["article"].notna().to_numpy()
        ref = lk["code"].astype(str) + ":" + lk["article"].astype(str).str.replace(r"\.0$", "", regex=True) + ":" + \
            lk["part"].astype(str).str.replace(r"\.0$", "", regex=True)
        out.loc[idx[known], "ukrk_article"] = ref[known].to_numpy()
        out.loc[idx[known], "category"] = lk["category"][known].to_numpy()
        out.loc[idx[known], "severity_class"] = lk["severity_class"][known].to_numpy()
        out.loc[idx[~parsed], "reason"] = "bad_article"
        out.loc[idx[parsed & ~known], "reason"] = "unknown_article"
    cat = clean_text(category_raw.reset_index(drop=True)) if category_raw is not None else pd.Series([None] * n)
    use_cat = ~has_art & cat.notna().to_numpy()
    if use_cat.any():
        cidx = dict(_category_index())
        cidx.update({_norm(k): v for k, v in (extra_categories or {}).items()})
        keys = cat[use_cat].map(lambda t: cidx.get(_norm(t)))
        idx = np.flatnonzero(use_cat)
        ok = keys.notna().to_numpy()
        d = _category_default()
        out.loc[idx[ok], "category"] = keys[ok].to_numpy()
        out.loc[idx[ok], "severity_class"] = d.loc[keys[ok].to_numpy(), "severity_class"].to_numpy()
        out.loc[idx[~ok], "reason"] = "unknown_category"
    none = ~has_art & ~use_cat
    out.loc[none, "reason"] = "missing_article"
    return out


def _decimals(txt: pd.Series) -> np.ndarray:
    """Digits after the decimal separator of numeric text (``"51,1234"`` -> 4); 0 for integers."""
    t = as_text(txt).str.replace(",", ".", regex=False)
    pos = t.str.find(".").to_numpy(dtype=float, na_value=-1)
    ln = t.str.len().to_numpy(dtype=float, na_value=0)
    return np.where(pos >= 0, ln - pos - 1, 0).astype(int)


def _coord_text(s: pd.Series) -> pd.Series:
    st = s.astype(object)
    if not _only_text(st):
        st = st.where(~st.map(lambda x: isinstance(x, (float, np.floating)) and not np.isfinite(x)), None)
        isnum = st.map(lambda x: isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool))
        st = st.where(~isnum, st[isnum].map(lambda x: repr(float(x))) if isnum.any() else st)
    txt = as_text(st).str.replace("\u00a0", "", regex=False).str.replace(" ", "", regex=False)
    return txt.mask(txt == "")


def split_coords(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """A combined ``"51.12, 71.43"`` / ``"51,12; 71,43"`` column -> (lat text, lon text)."""
    t = clean_text(s)
    parts = t.str.extract(r"^\s*([+-]?\d+(?:[.,]\d+)?)\s*(?:[;, ]|\s)\s*([+-]?\d+(?:[.,]\d+)?)\s*$")
    return parts[0].astype(object), parts[1].astype(object)


def _city_zone(city_key: str):
    """The city's polygon + :data:`CITY_TOLERANCE_M` (metric CRS, prepared); see
    :func:`qauipsiz.hotspot.geocode.coords.city_zone`."""
    return city_zone(city_key, CITY_TOLERANCE_M)


def check_coordinates(lat_raw: pd.Series | None, lon_raw: pd.Series | None, city: City,
                      sinks: np.ndarray | None = None, addresses: pd.Series | None = None) -> pd.DataFrame:
    """Parse and check coordinates against the city (its polygon + :data:`CITY_TOLERANCE_M`).

    The swap repair and the sink rule are those of :mod:`qauipsiz.hotspot.geocode.coords`
    (:func:`~qauipsiz.hotspot.geocode.coords.locate_in_city`,
    :func:`~qauipsiz.hotspot.geocode.coords.classify_repeats`), so ingest and
    ``qauipsiz.hotspot.geocode.check_coordinates`` flag the same rows.

    Parameters
    ----------
    lat_raw, lon_raw : Series
        Raw values (text with ``.`` or ``,`` decimals, or numbers), decimal degrees.
    city : City
        Points more than :data:`CITY_TOLERANCE_M` outside its polygon are ``outside``; a pair that
        is outside but lies in the city read the other way is ``swapped`` (and repaired).
    sinks : ndarray (k, 2), optional
        Known default points (lat, lon), e.g. police stations; the district and city centroids are
        added.  Rows at one are ``sink``.
    addresses : Series, optional
        Address text per row: a coordinate carrying many different addresses is a ``sink``; one
        with one consistent address (a mall, an apartment block) is a ``repeat_place``, kept.

    Returns
    -------
    DataFrame
        ``lat, lon`` (NaN unless usable), ``present`` (any coordinate given), ``usable``,
        ``invalid``, ``zero``, ``outside``, ``swapped``, ``low_precision``, ``sink``,
        ``repeat_place`` (bool), ``precision``, ``score``, ``uncertainty_m`` for usable points,
        ``flags`` (comma text).
    """
    n = len(lat_raw) if lat_raw is not None else len(lon_raw)
    lt = _coord_text(lat_raw.reset_index(drop=True)) if lat_raw is not None else pd.Series([None] * n, dtype=TEXT)
    ln = _coord_text(lon_raw.reset_index(drop=True)) if lon_raw is not None else pd.Series([None] * n, dtype=TEXT)
    present = (lt.notna() | ln.notna()).to_numpy(dtype=bool)
    lat = pd.to_numeric(lt.str.replace(",", ".", regex=False).astype(object), errors="coerce").to_numpy(float)
    lon = pd.to_numeric(ln.str.replace(",", ".", regex=False).astype(object), errors="coerce").to_numpy(float)
    parsed = np.isfinite(lat) & np.isfinite(lon)
    invalid = present & ~parsed
    zero = parsed & ((lat == 0) | (lon == 0))
    lat2, lon2, inside, swapped = locate_in_city(lat, lon, city, CITY_TOLERANCE_M)
    outside = parsed & ~zero & ~inside
    usable = parsed & ~zero & inside
    dec = np.minimum(_decimals(lt), _decimals(ln))
    low = usable & (dec < LOW_PRECISION_DECIMALS)
    known = (sinks[:, 0], sinks[:, 1]) if sinks is not None and len(sinks) else None
    sink, repeat, _ = classify_repeats(np.where(usable, lat2, np.nan), np.where(usable, lon2, np.nan), city,
                                       None if addresses is None else addresses.reset_index(drop=True),
                                       known_sinks=known)
    quantum_m = 0.5 * 10.0 ** (-dec.astype(float)) * M_PER_DEG
    unc = np.maximum(10.0, quantum_m)
    precision = np.full(n, None, dtype=object)
    precision[usable] = "address"
    precision[low & (dec == 3)] = "street"
    precision[low & (dec == 2)] = "district"
    precision[low & (dec <= 1)] = "city"
    score = np.where(usable, 100.0, np.nan)
    score[low] = 50.0
    score[sink] = 25.0
    precision[sink] = "district"
    unc[sink] = np.maximum(unc[sink], 1000.0)
    flags = np.full(n, "", dtype=object)
    for name, mask in (("swapped", swapped), ("zero", zero), ("outside", outside), ("invalid", invalid),
                       ("low_precision", low), ("sink", sink), ("repeat_place", repeat)):
        if mask.any():
            flags[mask] = np.where(flags[mask] == "", name, flags[mask] + "," + name)
    return pd.DataFrame({
        "lat": np.where(usable, lat2, np.nan), "lon": np.where(usable, lon2, np.nan), "present": present,
        "usable": usable, "invalid": invalid, "zero": zero, "outside": outside, "swapped": swapped,
        "low_precision": low, "sink": sink, "repeat_place": repeat, "precision": precision, "score": score,
        "uncertainty_m": np.where(usable, unc, np.nan), "flags": flags,
    })
