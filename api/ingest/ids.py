"""Row identity at ingestion: source ids as text, incident ids and content hashes (duplicates)."""
from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from qauipsiz.api.ingest.validate import clean_text


def _to_str_id(s: pd.Series) -> pd.Series:
    """Ids as text; integral floats from spreadsheets lose their ``.0``."""
    from qauipsiz.api.ingest.validate import _only_text

    st = s.astype(object) if s.dtype != "string[pyarrow]" else s
    if st.dtype != object or _only_text(st):
        return clean_text(st)
    isf = st.map(lambda v: isinstance(v, float) and np.isfinite(v) and float(v).is_integer()).to_numpy(bool)
    if isf.any():
        st = st.copy()
        st[isf] = st[isf].map(lambda v: str(int(v)))
    return clean_text(st)



def _content_hash(city: str, occurred: pd.Series, offence: pd.Series, place: pd.Series, address: pd.Series,
                  lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """32-hex hash of the event's content: city, time, offence, place type, address and point (~1 m)."""
    from qauipsiz.api.ingest.validate import as_text

    occ = pd.Series(np.datetime_as_string(occurred.dt.tz_localize(None).to_numpy("datetime64[s]"), unit="s"),
                    dtype="string[pyarrow]")
    addr = as_text(address.reset_index(drop=True)).fillna("").str.lower()
    addr = addr.str.replace(r"[\s.,;:\"']+", " ", regex=True).str.strip()
    import pyarrow as pa
    import pyarrow.compute as pc

    def num(x):
        return pd.Series(pd.arrays.ArrowStringArray(pc.cast(pa.array(np.round(x, 5)), pa.string())))

    la, lo = num(lat), num(lon)
    off = as_text(offence.reset_index(drop=True)).fillna("")
    pl = as_text(place.reset_index(drop=True)).fillna("")
    key = city + "\x1f" + occ + "\x1f" + off + "\x1f" + pl + "\x1f" + addr + "\x1f" + la + "\x1f" + lo
    return np.array([hashlib.sha1(k.encode()).hexdigest()[:32] for k in key.tolist()], dtype=object)


def incident_ids(source, source_id) -> np.ndarray:
    r"""``hotspot.schema.make_incident_id`` (sha1 of ``source \x1f source_id``, 16 hex), with the
    keys joined by Arrow instead of per value in pandas."""
    from qauipsiz.api.ingest.validate import as_text

    key = (as_text(pd.Series(np.asarray(source, dtype=object))) + "\x1f"
           + as_text(pd.Series(np.asarray(source_id, dtype=object))))
    return np.array([hashlib.sha1(k.encode()).hexdigest()[:16] for k in key.tolist()], dtype=object)
