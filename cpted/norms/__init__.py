"""Norm tables kept as data: lighting (SanPiN 1.2.3685-21 table 5.56), lamp classes, camera DORI levels.

A city replaces a table by passing its own CSV path (same columns) to the loader.
"""
from __future__ import annotations

from functools import cache
from pathlib import Path

import pandas as pd

NORMS_DIR = Path(__file__).resolve().parent
DEFAULT_LIGHTING = NORMS_DIR / "lighting_sanpin_1.2.3685-21.csv"


@cache
def _read(path: str) -> pd.DataFrame:
    return pd.read_csv(path, encoding="utf-8")


def lighting_norms(path: str | Path | None = None) -> pd.DataFrame:
    """Lighting norm table: ``zone, e_avg_lx, name_kk, name_ru, name_en, source``.

    Parameters
    ----------
    path : path, optional
        A replacement table with the same columns (e.g. a СП РК table); default SanPiN 1.2.3685-21
        table 5.56 (average horizontal illuminance at ground level, lux).
    """
    df = _read(str(path or DEFAULT_LIGHTING)).copy()
    need = {"zone", "e_avg_lx", "source"}
    miss = need - set(df.columns)
    if miss:
        raise ValueError(f"lighting norm table {path}: missing column(s) {', '.join(sorted(miss))}")
    for lang in ("kk", "ru", "en"):
        if f"name_{lang}" not in df.columns:
            df[f"name_{lang}"] = df["zone"]
    return df


def lamp_classes(path: str | Path | None = None) -> pd.DataFrame:
    """Lamp-class table: ``lamp_class, flux_lm (lm), height_m (m), note`` used when a lamp lacks flux/height."""
    return _read(str(path or NORMS_DIR / "lamp_classes.csv")).copy()


def dori_levels(path: str | Path | None = None) -> pd.DataFrame:
    """DORI table (IEC 62676-4): ``level, ppm`` (pixels per metre at the target) and names."""
    return _read(str(path or NORMS_DIR / "dori_iec_62676-4.csv")).copy()
