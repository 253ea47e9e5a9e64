"""Where shipped data lives (boundaries, taxonomy, streets, gazetteers): the ``qauipsiz.data`` package."""
from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def data_dir() -> Path:
    """Return the folder of the shipped data (``data/`` in a checkout, ``qauipsiz/data`` in a wheel).

    It is read-only for the program; a user's own data lives in ``QAUIPSIZ_DATA_DIR``.
    """
    return Path(str(files("qauipsiz.data")))
