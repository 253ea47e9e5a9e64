"""Geocoding quality report: match rate overall, per district, per source and per precision level."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from qauipsiz.hotspot.geocode.matcher import ACCEPT_SCORE, MATCHED_PRECISIONS

MIN_MATCH_RATE = 0.85
"""Ratcliffe (2004): below an 85 % match rate hotspot maps become unreliable."""

_PREC_COLS = ("precision", "geocode_precision")
_SCORE_COLS = ("score", "geocode_score")
_AMBIGUOUS_COLS = ("ambiguous", "geocode_ambiguous")
_FLAG_COLS = ("flags", "geocode_flags")


def read_geocoded(path: str | Path) -> pd.DataFrame:
    """Read a geocoded table (CSV — comma or semicolon separated, UTF-8 with or without BOM — or Parquet)."""
    p = Path(path)
    if not p.exists():
        raise ValueError(f"file not found: {p}")
    if p.suffix.lower() in (".parquet", ".pq"):
        return pd.read_parquet(p)
    head = p.read_text(encoding="utf-8-sig", errors="replace")[:4096].splitlines()[0] if p.stat().st_size else ""
    sep = ";" if head.count(";") > head.count(",") else ","
    return pd.read_csv(p, sep=sep, encoding="utf-8-sig", dtype=str, keep_default_na=False)


def _col(df, names, what, required=True):
    for n in names:
        if n in df.columns:
            return n
    if required:
        raise ValueError(f"geocoded table has no {what} column (looked for {', '.join(names)})")
    return None


def match_report(df: pd.DataFrame, *, city: str | None = None, columns: dict[str, str] | None = None,
                 accept_score: float = ACCEPT_SCORE, min_rate: float = MIN_MATCH_RATE) -> dict:
    """Match rate of a geocoded table, overall and per district, source and precision level.

    A row counts as matched when its precision is one of ``address, intersection, poi, street``
    and (when a score column exists) its score is ≥ ``accept_score``.  Works on the output of
    :meth:`Geocoder.geocode`, on the batch CLI's CSV and on the incidents table
    (``geocode_precision``, ``geocode_score``, ``district``, ``source``).

    Parameters
    ----------
    df : DataFrame
        Geocoded rows.
    city : str, optional
        When the table has no district column but has ``lat, lon``, districts are assigned from
        the points with this city's polygons.
    columns : dict, optional
        Column names by role, any of ``precision, score, district, source, ambiguous`` (default:
        detected — ``precision``/``geocode_precision``, ``score``/``geocode_score``,
        ``district``/``district_hint``, ``source``; for ``ambiguous`` see below).
    accept_score : float
        Minimum score (0–100) of a matched row.
    min_rate : float
        Match rate (0–1) below which the report warns (overall and per group).

    The ``ambiguous`` column is a boolean column marking ambiguous rows (default: detected —
    ``ambiguous`` / ``geocode_ambiguous``, else a ``flags`` / ``geocode_flags`` column holding the
    flag ``ambiguous``).

    Returns
    -------
    dict
        ``n, matched, match_rate, ok, warning``, ``ambiguous`` (rows whose address names several
        streets or far-apart pieces of one that nothing separates; ``None`` when the table does
        not say), ``ambiguous_share`` and ``by_district``, ``by_source``, ``by_precision`` — lists
        of ``{"group", "n", "matched", "match_rate", "warning"}`` (district and source groups
        also carry ``ambiguous`` when known).
    """
    if len(df) == 0:
        raise ValueError("geocoded table is empty")
    cols = columns or {}
    unknown = set(cols) - {"precision", "score", "district", "source", "ambiguous"}
    if unknown:
        raise ValueError(f"columns: unknown role(s) {sorted(unknown)}")
    pc = cols.get("precision") or _col(df, _PREC_COLS, "precision")
    sc = cols.get("score") or _col(df, _SCORE_COLS, "score", required=False)
    prec = df[pc].astype("string").fillna("none").str.strip().str.lower()
    bad = ~prec.isin(["address", "intersection", "poi", "street", "district", "city", "none", ""])
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise ValueError(f"row {i}: field {pc!r}: unknown precision {df[pc].iloc[i]!r}")
    matched = np.array(prec.isin(MATCHED_PRECISIONS).to_numpy(), dtype=bool)
    if sc is not None:
        s = pd.to_numeric(df[sc].astype("string").str.replace(",", ".", regex=False), errors="coerce").to_numpy(float)
        matched &= np.nan_to_num(s, nan=0.0) >= accept_score
    dc = cols.get("district") or _col(df, ("district", "district_hint"), "district", required=False)
    if dc is not None:
        dist = df[dc].astype("string").fillna("(none)").replace("", "(none)").to_numpy(object)
    elif city is not None and {"lat", "lon"} <= set(df.columns):
        from qauipsiz.hotspot.cities import get_city

        la = pd.to_numeric(df["lat"], errors="coerce").to_numpy(float)
        lo = pd.to_numeric(df["lon"], errors="coerce").to_numpy(float)
        d = get_city(city).assign_district(la, lo)
        dist = np.array([x if isinstance(x, str) else "(none)" for x in d], dtype=object)
    else:
        dist = None
    srcc = cols.get("source") or ("source" if "source" in df.columns else None)
    amb = _ambiguous_flags(df, cols.get("ambiguous"))
    n = len(df)
    rate = float(matched.mean())

    def groups(keys):
        if keys is None:
            return []
        t = pd.DataFrame({"g": keys, "m": matched, "a": amb if amb is not None else False})
        t = t.groupby("g", sort=True).agg(size=("m", "size"), sum=("m", "sum"), amb=("a", "sum"))
        out = []
        for g, r in t.iterrows():
            mr = float(r["sum"]) / float(r["size"])
            row = {"group": str(g), "n": int(r["size"]), "matched": int(r["sum"]), "match_rate": mr,
                   "warning": mr < min_rate}
            if amb is not None:
                row["ambiguous"] = int(r["amb"])
            out.append(row)
        return out

    by_prec = []
    for lvl in ("address", "intersection", "poi", "street", "district", "city", "none"):
        k = int((prec == lvl).sum()) + (int((prec == "").sum()) if lvl == "none" else 0)
        by_prec.append({"group": lvl, "n": k, "share": k / n})
    warning = None
    if rate < min_rate:
        warning = (f"match rate {rate:.1%} is below {min_rate:.0%}: hotspot maps from this table are "
                   "unreliable (Ratcliffe 2004); review the quarantined rows")
    return {"n": n, "matched": int(matched.sum()), "match_rate": rate, "ok": rate >= min_rate, "warning": warning,
            "ambiguous": int(amb.sum()) if amb is not None else None,
            "ambiguous_share": float(amb.mean()) if amb is not None else None,
            "min_rate": min_rate, "accept_score": accept_score,
            "by_district": groups(dist), "by_source": groups(df[srcc].astype("string").fillna("(none)").to_numpy(object)) if srcc else [],
            "by_precision": by_prec}


def _ambiguous_flags(df: pd.DataFrame, col: str | None) -> np.ndarray | None:
    """Boolean array of ambiguous rows, or None when the table has no such information."""
    c = col or _col(df, _AMBIGUOUS_COLS, "ambiguous", required=False)
    if c is not None:
        v = df[c]
        if v.dtype == bool:
            return v.to_numpy(bool)
        t = v.astype("string").fillna("").str.strip().str.lower()
        return t.isin(["true", "1", "yes", "1.0"]).to_numpy(bool)
    fc = _col(df, _FLAG_COLS, "flags", required=False)
    if fc is not None:
        f = df[fc].astype("string").fillna("")
        return f.str.split(",").map(lambda xs: "ambiguous" in [x.strip() for x in xs]).to_numpy(bool)
    return None
