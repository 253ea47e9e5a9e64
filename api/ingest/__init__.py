"""Ingestion of police-register exports into the store: read, map headers, validate, account, write.

>>> from qauipsiz.api.ingest import ingest_file
>>> report = ingest_file("incidents_export.csv", city="astana", source="erdr")
>>> report.to_json()   # {"input": N, "accepted": A, "duplicates": D, "quarantined": Q, "reasons": {...}}

See ``docs/store.md``.
"""
from __future__ import annotations

from qauipsiz.api.ingest.mapping import FIELDS, SYNONYMS, Mapping, load_mapping_file, map_headers
from qauipsiz.api.ingest.pipeline import IngestReport, ingest_dataframe, ingest_file, ingest_table
from qauipsiz.api.ingest.prepare import REASONS, Geocoder, Prepared, prepare
from qauipsiz.api.ingest.raw_table import RawTable
from qauipsiz.api.ingest.readers import read_table

__all__ = [
    "FIELDS", "REASONS", "SYNONYMS", "Geocoder", "IngestReport", "Mapping", "Prepared", "RawTable",
    "ingest_dataframe", "ingest_file", "ingest_table", "load_mapping_file", "map_headers", "prepare", "read_table",
]
