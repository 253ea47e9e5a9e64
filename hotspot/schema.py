"""The one incident table schema shared by ingestion, the store, the engine and the API."""
from __future__ import annotations

import numpy as np
import pandas as pd

PRECISION_LEVELS = ("address", "intersection", "poi", "street", "district", "city", "none")
"""Geocode precision, best first.  ``none`` means no usable point (awaiting geocoding)."""

# name -> (pandas dtype, description with units)
INCIDENT_COLUMNS: dict[str, tuple[str, str]] = {
    "incident_id": ("string", "our stable id: sha1 of (source, source_id), 16 hex chars"),
    "source": ("string", "register the row came from, e.g. 'erdr', '102', 'koap', 'demo'"),
    "source_id": ("string", "the row's id in its source register (e.g. ЕРДР number)"),
    "occurred_at": ("datetime64[ns, UTC]", "when it happened, tz-aware (stored as UTC)"),
    "reported_at": ("datetime64[ns, UTC]", "when it was registered, tz-aware (UTC); may be missing"),
    "category": ("string", "taxonomy category key (data/taxonomy/articles.csv)"),
    "ukrk_article": ("string", "article reference 'CODE:ARTICLE:PART', e.g. 'UK:188:2', 'KoAP:440:1'"),
    "severity_class": ("string", "one of data/taxonomy/severity.csv"),
    "harm_weight": ("float64", "harm weight of the severity class (dimensionless)"),
    "place_type": ("string", "data/taxonomy/place_types.csv key"),
    "address_raw": ("string", "address text exactly as in the export"),
    "lat": ("float64", "latitude, decimal degrees WGS84; NaN while awaiting geocoding"),
    "lon": ("float64", "longitude, decimal degrees WGS84"),
    "geocode_precision": ("string", "one of PRECISION_LEVELS; 'address' for trusted source coordinates"),
    "geocode_score": ("float64", "match score 0–100 (100 for source coordinates that passed checks)"),
    "geocode_uncertainty_m": ("float64", "radius of the point's uncertainty, metres"),
    "coord_flags": ("string", "comma-separated coordinate repairs/warnings: swapped, low_precision, sink"),
    "district": ("string", "district key of the city registry; missing outside all districts"),
    "h3": ("uint64", "H3 cell at resolution 11 (0 when there is no point)"),
    "is_dark": ("boolean", "sun below −6° at the incident's place and time"),
}

H3_STORE_RES = 11
"""Resolution of the stored ``h3`` column; coarser cells are its parents."""


def empty_incidents() -> pd.DataFrame:
    """An empty incident table with the schema's columns and dtypes."""
    return pd.DataFrame({c: pd.Series(dtype=t) for c, (t, _) in INCIDENT_COLUMNS.items()})


def conform(df: pd.DataFrame) -> pd.DataFrame:
    """Return ``df`` with exactly the schema's columns, in order, cast to the schema's dtypes.

    Missing optional columns are added empty.  Raises ``ValueError`` naming the column when a
    value cannot be cast.
    """
    out = {}
    n = len(df)
    for c, (t, _) in INCIDENT_COLUMNS.items():
        col = df[c] if c in df.columns else pd.Series([None] * n, index=df.index)
        try:
            if t.startswith("datetime64"):
                col = pd.to_datetime(col, utc=True).dt.as_unit("ns")
            elif t == "uint64":
                col = pd.Series(np.asarray(col.fillna(0), dtype=np.uint64), index=df.index)
            else:
                col = col.astype(t)
        except (TypeError, ValueError) as e:
            raise ValueError(f"incident column {c!r}: cannot cast to {t}: {e}") from e
        out[c] = col
    return pd.DataFrame(out, index=df.index)


def make_incident_id(source, source_id) -> np.ndarray:
    r"""Deterministic incident ids: first 16 hex chars of sha1("source\x1fsource_id")."""
    import hashlib

    s = pd.Series(source, dtype=str).str.cat(pd.Series(source_id, dtype=str).values, sep="\x1f")
    return np.array([hashlib.sha1(v.encode()).hexdigest()[:16] for v in s])


def schema_markdown() -> str:
    """The schema as a Markdown table (used by docs and ``qauipsiz schema``)."""
    rows = [f"| `{c}` | {t} | {d} |" for c, (t, d) in INCIDENT_COLUMNS.items()]
    return "| column | dtype | meaning |\n|---|---|---|\n" + "\n".join(rows)
