"""Validation of raw rows: :func:`prepare` maps headers, parses dates, offences and coordinates,
calls the geocoding hook, drops in-file duplicates and splits the rows into incidents to store and
quarantine rows (see :data:`REASONS`).  Pure except for the geocoding hook; the store is not touched.
"""
from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time

import numpy as np
import pandas as pd
import shapely

from qauipsiz.api.ingest.dates import parse_date_columns
from qauipsiz.api.ingest.derive import derive_point_fields
from qauipsiz.api.ingest.ids import _content_hash, _to_str_id, incident_ids
from qauipsiz.api.ingest.mapping import Mapping, map_headers, pair_date_time
from qauipsiz.api.ingest.raw_table import MALFORMED, RawTable
from qauipsiz.api.ingest.validate import (
    _blank,
    _city_zone,
    check_coordinates,
    clean_text,
    map_place_types,
    parse_offences,
    split_coords,
)
from qauipsiz.hotspot.cities import City
from qauipsiz.hotspot.schema import INCIDENT_COLUMNS, PRECISION_LEVELS
from qauipsiz.hotspot.taxonomy import harm_weights

Geocoder = Callable[[pd.Series], pd.DataFrame]
"""The geocoding hook: takes a Series of address texts (its index identifies the rows) and returns
a DataFrame with the same index and columns ``lat, lon`` (decimal degrees, NaN when unmatched),
``precision`` (one of ``hotspot.schema.PRECISION_LEVELS``), ``score`` (0–100), ``uncertainty_m``
(metres) and ``matched`` (bool); optionally ``candidates`` (any JSON-serialisable value per row,
kept in the quarantine row when unmatched) and ``ambiguous`` (bool: unmatched rows so marked are
quarantined ``geocode_ambiguous`` instead of ``geocode_failed``)."""

QUARANTINE_META = ("_quarantine_id", "_reason", "_field", "_message", "_row_number", "_file_name", "_source",
                   "_batch_id", "_source_row")
"""Columns that ``qauipsiz quarantine export`` adds; they are not part of a row's raw content."""
MIN_DATE = pd.Timestamp("1990-01-01", tz="UTC")
MAX_DATE_WARNINGS = 1000
FUTURE_SLACK = pd.Timedelta(days=1)

REASONS = {
    "malformed_row": "the line has a different number of fields than the header",
    "empty_row": "every field is empty",
    "missing_date": "no date of the offence",
    "bad_date": "a date that cannot be read (дд.мм.гггг чч:мм, ISO 8601 or an Excel serial number)",
    "date_in_future": "the date is in the future",
    "date_implausible": "the date is before 1990",
    "missing_article": "neither an article nor a category",
    "bad_article": "an article reference that cannot be read",
    "unknown_article": "an article that is not in data/taxonomy/articles.csv",
    "unknown_category": "a category that is not in the taxonomy",
    "coord_zero": "zero coordinates and no address",
    "coord_outside": "coordinates outside the city (after trying lat/lon swapped) and no address",
    "coord_invalid": "coordinates that are not numbers and no address",
    "no_location": "neither coordinates nor an address",
    "geocode_failed": "the address could not be geocoded",
    "geocode_ambiguous": "the address names several streets (or far-apart parts of one) and nothing tells "
                         "them apart: choose among the candidates",
}
"""Quarantine reason codes and what they mean."""


@dataclass
class Prepared:
    """Result of :func:`prepare`: rows to store, rows to quarantine, duplicates within the input."""

    accepted: pd.DataFrame
    quarantined: pd.DataFrame
    file_duplicates: int
    n_input: int
    reasons: dict[str, int]
    resolve_ids: dict[int, str]
    mapping: Mapping
    flags: dict[str, int]
    awaiting_geocoding: int
    geocoded: int
    accepted_pos: np.ndarray  # input positions of ``accepted`` rows
    date_order: dict[str, str | None] = field(default_factory=dict)
    date_order_basis: dict[str, str | None] = field(default_factory=dict)
    date_warnings: list[dict] = field(default_factory=list)


def _combine_date_time(d: pd.Series, t: pd.Series | None) -> pd.Series:
    def piece(v, kind):
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return ""
        if kind == "d" and isinstance(v, (datetime, date)):
            return v.strftime("%Y-%m-%d")  # ISO: unambiguous whatever the column's other values
        if kind == "t" and isinstance(v, (datetime, time)):
            return v.strftime("%H:%M:%S")
        return str(v).strip()

    ds = d.map(lambda v: piece(v, "d"))
    if t is None:
        return ds.where(ds != "", None)
    ts = t.map(lambda v: piece(v, "t"))
    out = (ds + " " + ts).str.strip()
    return out.where(ds != "", None)


def prepare(table: RawTable, city: City, *, source: str, mapping: dict | None = None,  # noqa: C901, PLR0912 -- the ingest steps in order (map, parse, check, derive, dedupe), each a few lines
            geocoder: Geocoder | None = None, sinks: np.ndarray | None = None,
            file_name: str | None = None, now: pd.Timestamp | None = None) -> Prepared:
    """Validate raw rows and split them into rows to store, quarantine rows and in-file duplicates.

    Pure except for calling ``geocoder``; the store is not touched.  See :data:`REASONS` for the
    quarantine codes and ``docs/store.md`` for what is flagged versus quarantined.
    """
    df = table.df.reset_index(drop=True)
    n = len(df)
    rownum = np.asarray(table.row_numbers)
    now = now or pd.Timestamp.now(tz="UTC")
    data_cols = [c for c in df.columns if c != MALFORMED and c not in QUARANTINE_META]
    ov = dict(mapping or {})
    if "__geom_lat" in df.columns:
        ov.setdefault("columns", {})
        ov["columns"] = {"__geom_lat": "lat", "__geom_lon": "lon", **ov["columns"]}
        # attribute columns that would also claim lat/lon are ignored in favour of the geometry
        for c in data_cols:
            if c not in ("__geom_lat", "__geom_lon") and c not in ov["columns"]:
                from qauipsiz.api.ingest.mapping import _INDEX, normalise_header

                if _INDEX.get(normalise_header(c)) in ("lat", "lon", "coords"):
                    ov["columns"][c] = "ignore"
    mp = map_headers([c for c in df.columns if c != MALFORMED], ov)
    mp = pair_date_time(mp, df, ov)  # "Дата совершения" + "Время совершения": one date, one time
    by_field = {f: h for h, f in mp.columns.items()}

    def get(f):
        h = by_field.get(f)
        return df[h].reset_index(drop=True) if h is not None else None

    reason = np.full(n, None, dtype=object)
    fld = np.full(n, None, dtype=object)
    detail = np.full(n, None, dtype=object)

    def q(mask, code, f, det=None):
        m = np.asarray(mask, bool) & (reason == None)  # noqa: E711
        if not m.any():
            return
        idx = np.flatnonzero(m)
        reason[idx] = code
        fld[idx] = f
        if det is not None:  # the raw value, only for the rows that fail
            detail[idx] = det if isinstance(det, str) else np.asarray(pd.Series(det).iloc[idx], dtype=object)

    if MALFORMED in df.columns:
        mal = df[MALFORMED].notna().to_numpy()
        q(mal, "malformed_row", None, df[MALFORMED])
    empty = np.ones(n, bool)
    for c in data_cols:
        empty &= _blank(df[c])
    q(empty, "empty_row", None)

    # source and source id
    src = clean_text(get("source")) if get("source") is not None else pd.Series([None] * n, dtype=object)
    src = src.fillna(source).astype(object)
    sid = _to_str_id(get("source_id")) if get("source_id") is not None else pd.Series([None] * n, dtype=object)

    # times
    if "occurred_at" in by_field:
        occ_raw = get("occurred_at")
        occ_col = by_field["occurred_at"]
    else:
        occ_raw = _combine_date_time(get("occurred_date"), get("occurred_time"))
        occ_col = by_field.get("occurred_date")
    date_cols = {"occurred_at": (occ_raw, occ_col)}
    if "reported_at" in by_field:
        date_cols["reported_at"] = (get("reported_at"), by_field["reported_at"])
    parsed = parse_date_columns(date_cols, city.tz, mp.date_format)  # one day/month order per file
    occ, miss, bad, occ_info = parsed["occurred_at"]
    date_infos = {"occurred_at": (occ_info, occ_raw)}
    q(miss, "missing_date", "occurred_at")
    q(bad, "bad_date", "occurred_at", occ_raw)
    q(occ.notna().to_numpy() & (occ > now + FUTURE_SLACK).to_numpy(), "date_in_future", "occurred_at", occ_raw)
    q(occ.notna().to_numpy() & (occ < MIN_DATE).to_numpy(), "date_implausible", "occurred_at", occ_raw)
    if "reported_at" in by_field:
        rep_raw = date_cols["reported_at"][0]
        rep, _, rbad, rep_info = parsed["reported_at"]
        q(rbad, "bad_date", "reported_at", rep_raw)
        date_infos["reported_at"] = (rep_info, rep_raw)
    else:
        rep = pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns, UTC]")

    # offence
    off = parse_offences(get("article"), get("category"), n, mp.categories)
    for code in ("missing_article", "bad_article", "unknown_article", "unknown_category"):
        raw_off = get("article") if code != "unknown_category" else get("category")
        q(off["reason"].eq(code).to_numpy(), code, "category" if code == "unknown_category" else "ukrk_article",
          raw_off)
    if get("place_type") is not None:
        place, place_unknown = map_place_types(get("place_type"), mp.place_types)
    else:
        place, place_unknown = pd.Series([None] * n, dtype=object), np.zeros(n, dtype=bool)
    address = clean_text(get("address")) if get("address") is not None else pd.Series([None] * n, dtype=object)
    has_addr = address.notna().to_numpy()

    # coordinates
    lat_raw, lon_raw = get("lat"), get("lon")
    if get("coords") is not None:
        clat, clon = split_coords(get("coords"))
        lat_raw = clat if lat_raw is None else lat_raw.where(clean_text(lat_raw).notna(), clat)
        lon_raw = clon if lon_raw is None else lon_raw.where(clean_text(lon_raw).notna(), clon)
    if lat_raw is None:
        lat_raw = pd.Series([None] * n, dtype=object)
    if lon_raw is None:
        lon_raw = pd.Series([None] * n, dtype=object)
    cc = check_coordinates(lat_raw, lon_raw, city, sinks, addresses=address)
    usable = cc["usable"].to_numpy()
    coord_txt = pd.Series(list(zip(lat_raw.tolist(), lon_raw.tolist(), strict=True)), dtype=object) \
        if (~usable & ~has_addr).any() else None
    noloc = ~usable & ~has_addr
    q(noloc & cc["zero"].to_numpy(), "coord_zero", "lat", coord_txt)
    q(noloc & cc["outside"].to_numpy(), "coord_outside", "lat", coord_txt)
    q(noloc & cc["invalid"].to_numpy(), "coord_invalid", "lat", coord_txt)
    q(noloc, "no_location", "address")

    lat = cc["lat"].to_numpy(float).copy()
    lon = cc["lon"].to_numpy(float).copy()
    precision = cc["precision"].to_numpy(object).copy()
    precision[~usable] = "none"
    score = cc["score"].to_numpy(float).copy()
    unc = cc["uncertainty_m"].to_numpy(float).copy()
    flags = cc["flags"].to_numpy(object).copy()
    candidates = np.full(n, None, dtype=object)

    # geocoding hook
    geocoded = 0
    ok_rows = reason == None  # noqa: E711
    need = ok_rows & has_addr & (~usable | cc["low_precision"].to_numpy() | cc["sink"].to_numpy())
    if geocoder is not None and need.any():
        idx = np.flatnonzero(need)
        res = geocoder(pd.Series(address.to_numpy()[idx], index=idx, name="address"))
        missing_cols = {"lat", "lon", "precision", "score", "uncertainty_m", "matched"} - set(res.columns)
        if missing_cols:
            raise ValueError(f"geocoder result: missing column(s) {sorted(missing_cols)}")
        res = res.reindex(idx)
        glat = pd.to_numeric(res["lat"], errors="coerce").to_numpy(float)
        glon = pd.to_numeric(res["lon"], errors="coerce").to_numpy(float)
        gprec = res["precision"].astype(object).where(res["precision"].notna(), "none").to_numpy()
        matched = res["matched"].fillna(False).astype(bool).to_numpy() & np.isfinite(glat) & np.isfinite(glon)
        matched &= np.isin(gprec, PRECISION_LEVELS[:-1])
        if matched.any():
            x, y = city.to_metric(glon[matched], glat[matched])
            inside = shapely.contains_xy(_city_zone(city.key), x, y)
            matched[np.flatnonzero(matched)[~inside]] = False
        rank = {p: i for i, p in enumerate(PRECISION_LEVELS)}
        cur_rank = np.array([rank.get(p, len(PRECISION_LEVELS)) for p in precision[idx]])
        new_rank = np.array([rank.get(p, len(PRECISION_LEVELS)) for p in gprec])
        take = matched & (~usable[idx] | (new_rank < cur_rank))
        t = idx[take]
        lat[t], lon[t] = glat[take], glon[take]
        precision[t] = gprec[take]
        score[t] = pd.to_numeric(res["score"], errors="coerce").to_numpy(float)[take]
        unc[t] = pd.to_numeric(res["uncertainty_m"], errors="coerce").to_numpy(float)[take]
        flags[t] = np.where(flags[t] == "", "geocoded", flags[t] + ",geocoded")
        geocoded = int(take.sum())
        failed = ~matched & ~usable[idx]
        if "candidates" in res.columns:
            candidates[idx] = [None if c is None or (isinstance(c, float) and np.isnan(c))
                               else json.dumps(c, ensure_ascii=False, default=str) for c in res["candidates"]]
        if "ambiguous" in res.columns:
            amb = res["ambiguous"].fillna(False).astype(bool).to_numpy() & failed
            amask = np.zeros(n, bool)
            amask[idx[amb]] = True
            q(amask, "geocode_ambiguous", "address", address)
            failed &= ~amb
        fmask = np.zeros(n, bool)
        fmask[idx[failed]] = True
        q(fmask, "geocode_failed", "address", address)

    ok_rows = reason == None  # noqa: E711
    have_pt = np.isfinite(lat) & np.isfinite(lon)
    awaiting = int((ok_rows & ~have_pt).sum())

    # duplicates within the input (first occurrence wins)
    pos = np.flatnonzero(ok_rows)
    off_key = off["ukrk_article"].fillna(off["category"])
    chash = _content_hash(city.key, occ.iloc[pos].reset_index(drop=True), off_key.iloc[pos].reset_index(drop=True),
                          place.iloc[pos].reset_index(drop=True), address.iloc[pos].reset_index(drop=True),
                          lat[pos], lon[pos])
    sid_p = sid.iloc[pos].reset_index(drop=True)
    src_p = src.iloc[pos].reset_index(drop=True)
    has_sid = sid_p.notna().to_numpy()
    key_id = np.where(has_sid, sid_p.to_numpy(object), "content:" + pd.Series(chash, dtype=object))
    ids = incident_ids(src_p, key_id)
    dup = pd.Series(ids).duplicated().to_numpy() | pd.Series(chash).duplicated().to_numpy()
    keep = pos[~dup]
    kk = ~dup

    d = derive_point_fields(city, lat[keep], lon[keep], occ.iloc[keep])
    hw = harm_weights()
    sev = off["severity_class"].iloc[keep].to_numpy(object)
    acc = pd.DataFrame({
        "incident_id": ids[kk],
        "source": src_p[kk].to_numpy(object),
        "source_id": sid_p[kk].to_numpy(object),
        "occurred_at": occ.iloc[keep].reset_index(drop=True),
        "reported_at": rep.iloc[keep].reset_index(drop=True),
        "category": off["category"].iloc[keep].to_numpy(object),
        "ukrk_article": off["ukrk_article"].iloc[keep].to_numpy(object),
        "severity_class": sev,
        "harm_weight": pd.Series(sev).map(hw).to_numpy(float),
        "place_type": place.iloc[keep].to_numpy(object),
        "address_raw": address.iloc[keep].to_numpy(object),
        "lat": lat[keep], "lon": lon[keep],
        "geocode_precision": precision[keep],
        "geocode_score": score[keep],
        "geocode_uncertainty_m": unc[keep],
        "coord_flags": pd.Series(flags[keep]).replace("", None).to_numpy(object),
        "district": d["district"].to_numpy(object),
        "h3": d["h3"].to_numpy(np.uint64),
        "is_dark": d["is_dark"].to_numpy(object),
        "city": city.key,
        "content_hash": chash[kk],
        "row_number": rownum[keep],
    })
    assert list(acc.columns[: len(INCIDENT_COLUMNS)]) == list(INCIDENT_COLUMNS)

    # quarantine rows
    qpos = np.flatnonzero(reason != None)  # noqa: E711
    raw_cols = [c for c in df.columns if c not in QUARANTINE_META and c != MALFORMED]
    recs = []
    if len(qpos):
        sub = df.iloc[qpos][raw_cols].rename(columns={"__geom_lat": "_lat", "__geom_lon": "_lon"})
        sub = sub.astype(object).where(sub.notna(), None)
        # the row number a quarantine-export row had in its original file (so an unchanged row
        # re-quarantined from the export hashes like its open entry)
        orig_row = pd.to_numeric(df["_row_number"], errors="coerce") if "_row_number" in df.columns else None
        seen_raw: set[str] = set()
        for i, rec in zip(qpos, sub.to_dict("records"), strict=True):
            line = df[MALFORMED].iat[i] if MALFORMED in df.columns else None
            if isinstance(line, str):  # (a missing marker may read back as NaN, which is not None)
                rec = {"_line": line}
            key = json.dumps(rec, ensure_ascii=False, default=str, sort_keys=True)
            if key in seen_raw:
                # an identical bad row is still its own row: its source row number makes it distinct
                r0 = orig_row.iat[i] if orig_row is not None and pd.notna(orig_row.iat[i]) else rownum[i]
                rec = {**rec, "_source_row": int(r0)}
            seen_raw.add(key)
            msg = f"row {rownum[i]}: " + (f"field {fld[i]}: " if fld[i] else "") + REASONS[reason[i]]
            if detail[i] is not None and reason[i] not in ("empty_row", "missing_date", "no_location",
                                                            "missing_article"):
                msg += f": {str(detail[i])[:200]!r}"
            recs.append({"source": src.iat[i], "file_name": file_name, "row_number": int(rownum[i]),
                         "reason": reason[i], "field": fld[i], "message": msg,
                         "raw": json.dumps(rec, ensure_ascii=False, default=str, sort_keys=True),
                         "candidates": candidates[i]})
    quar = pd.DataFrame(recs, columns=["source", "file_name", "row_number", "reason", "field", "message", "raw",
                                       "candidates"])

    # a quarantine export's row resolves its entry only when it now passes (accepted or duplicate);
    # the store checks the entry's city and source (the export's _source column maps to source)
    resolve: dict[int, str] = {}
    if "_quarantine_id" in df.columns:
        qid = pd.to_numeric(df["_quarantine_id"], errors="coerce").to_numpy(float)[pos]
        ok = np.isfinite(qid)
        resolve = {int(q): str(s) for q, s in zip(qid[ok], src.to_numpy(object)[pos][ok], strict=True)}

    fl = Counter()
    for f in acc["coord_flags"].dropna():
        fl.update(f.split(","))
    if place_unknown[keep].any():
        fl["place_type_unknown"] = int(place_unknown[keep].sum())
    date_warnings = []
    for f, (info, raw) in date_infos.items():
        dflags = info.flags[keep]
        for x in dflags[pd.notna(dflags)]:
            fl.update(str(x).split(","))
        for i in keep[pd.notna(dflags)][:MAX_DATE_WARNINGS - len(date_warnings)]:
            for x in str(info.flags[i]).split(","):
                date_warnings.append({"row": int(rownum[i]), "field": f, "flag": x, "value": str(raw.iat[i])})
    return Prepared(
        accepted=acc, quarantined=quar, file_duplicates=int(dup.sum()), n_input=n,
        reasons=dict(Counter(reason[qpos].tolist())), resolve_ids=resolve, mapping=mp, flags=dict(fl),
        awaiting_geocoding=awaiting - int((~have_pt[pos] & dup).sum()), geocoded=geocoded, accepted_pos=keep,
        date_order={f: info.order for f, (info, _) in date_infos.items()},
        date_order_basis={f: info.decided_by or None for f, (info, _) in date_infos.items()},
        date_warnings=date_warnings)
