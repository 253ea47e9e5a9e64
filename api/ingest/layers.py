"""``qauipsiz ingest-layers``: city layers checked row by row, bad rows set aside with a reason.

The checks live in :mod:`qauipsiz.api.layer_checks` so that every path that stores layers (this
command, ``Store.import_layers_dir``, the pipeline, the demo city's first ingest) runs the same
ones; the store may not import ingestion (import-linter contract in ``pyproject.toml``).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from qauipsiz.api.layer_checks import (
    ID_SYNONYMS,
    LAYER_SUFFIXES,
    MAX_BAD_VALUES,
    NAME_SYNONYMS,
    QUARANTINE_COLUMNS,
    TABLE_SUFFIXES,
    LayerImport,
    check_layer,
    read_layer_file,
)
from qauipsiz.api.layer_checks import import_layers as _import_layers

__all__ = ["ID_SYNONYMS", "LAYER_SUFFIXES", "MAX_BAD_VALUES", "NAME_SYNONYMS", "QUARANTINE_COLUMNS",
           "TABLE_SUFFIXES", "LayerImport", "check_layer", "import_layers", "read_layer_file"]


def import_layers(store, city: str, folder: str | Path) -> tuple[dict[str, int], pd.DataFrame, dict]:
    """Check and store every layer file of ``folder`` (see :func:`qauipsiz.api.layer_checks.import_layers`).

    Returns
    -------
    counts : dict
        Layer → features stored.
    quarantine : DataFrame
        The rows set aside (``layer, row, field, reason, message, raw``), all layers together.
    renamed : dict
        Layer → {source column: schema field}; ``"_skipped"``: {file: why} for tables (CSV, XLSX,
        Parquet) that are not named after a layer or have no geometry column.
    """
    res = _import_layers(store, city, folder)
    renamed: dict = dict(res.renamed)
    if res.skipped:
        renamed["_skipped"] = dict(res.skipped)
    return dict(res), res.quarantine, renamed
