"""The rows of an input file exactly as read (:class:`RawTable`), and the markers on rows the CSV
parser could not split (:data:`MALFORMED`, :data:`UNCLOSED`)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

MALFORMED = "_malformed"
"""Column set on rows whose field count differs from the header's (value: the raw line)."""
UNCLOSED = "_unclosed_quote"
"""Column set (``True``) on rows whose line leaves a quote open; :data:`MALFORMED` holds the raw line."""
MAX_RECORD_LINES = 20
MAX_RECORD_CHARS = 20_000
"""A quoted field may span lines (a newline in an address), but not more than this: a quote still
open after that (or at the end of the file) was a stray quote, and only its own line is bad."""


@dataclass
class RawTable:
    """Rows exactly as read, plus provenance.

    Attributes
    ----------
    df : DataFrame
        One row per input record, original headers; ``lat``/``lon`` columns named ``__geom_lat``
        / ``__geom_lon`` are added for vector formats with point geometry.
    row_numbers : ndarray
        Row of each record in the source (CSV/XLSX: header is row 1; vector formats: feature number).
    format, encoding, sep, sha256 : str
    info : dict
        Reader details, e.g. the XLSX ``sheet`` read and its ``header_row``.
    """

    df: pd.DataFrame
    row_numbers: np.ndarray
    format: str
    sha256: str = ""
    encoding: str = ""
    sep: str = ""
    info: dict = field(default_factory=dict)

