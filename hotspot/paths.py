"""Where shipped data lives (boundaries, taxonomy, gazetteers)."""
from __future__ import annotations

import os
from pathlib import Path

_REPO_DATA = Path(__file__).resolve().parent.parent / "data"


def data_dir() -> Path:
    """Return the shipped data folder: ``$QAUIPSIZ_SHIPPED_DATA`` if set, else the repository's ``data/``."""
    env = os.environ.get("QAUIPSIZ_SHIPPED_DATA")
    return Path(env) if env else _REPO_DATA
