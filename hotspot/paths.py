"""Where shipped data lives (boundaries, taxonomy, streets, gazetteers): the ``qauipsiz.data`` package;
and the one file digest used for provenance (ingest batches, gazetteer sources, OSM imports)."""
from __future__ import annotations

import hashlib
from importlib.resources import files
from pathlib import Path


def data_dir() -> Path:
    """Return the folder of the shipped data (``data/`` in a checkout, ``qauipsiz/data`` in a wheel).

    It is read-only for the program; a user's own data lives in ``QAUIPSIZ_DATA_DIR``.
    """
    return Path(str(files("qauipsiz.data")))


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes (read in 1 MiB blocks)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
