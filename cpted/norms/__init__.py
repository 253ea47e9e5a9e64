"""Norm tables kept as data: lighting (SanPiN 1.2.3685-21 table 5.56), lamp classes, camera DORI levels.

The shipped lighting table is the Russian Federation's SanPiN 1.2.3685-21 (a default, labelled so in
every review); a city replaces it with its own table (СП РК / СН РК values) by passing the CSV path to
the loader, or by putting it in the user's data dir (:func:`find_city_norms`).  See ``docs/cpted.md``.
"""
from __future__ import annotations

from functools import cache
from pathlib import Path

import pandas as pd

NORMS_DIR = Path(__file__).resolve().parent
DEFAULT_LIGHTING = NORMS_DIR / "lighting_sanpin_1.2.3685-21.csv"


@cache
def _read_version(path: str, mtime_ns: int, size: int) -> pd.DataFrame:
    return pd.read_csv(path, encoding="utf-8")


def _read(path: str) -> pd.DataFrame:
    """The CSV at ``path``, cached per file version (a city's table edited in place is read again)."""
    st = Path(path).stat()
    return _read_version(path, st.st_mtime_ns, st.st_size)


CITY_NORMS_NAME = "lighting.csv"
"""File name of a city's own lighting norm table in the user's data dir (see :func:`find_city_norms`)."""


def find_city_norms(user_dir: str | Path | None, city: str | None = None) -> Path | None:
    """The city's own lighting norm table in the user's data dir, or ``None`` (use the default).

    Looked for, in order: ``<user_dir>/cities/<city>/norms/lighting.csv`` (one city), then
    ``<user_dir>/norms/lighting.csv`` (every city of this installation).

    Parameters
    ----------
    user_dir : path or None
        The user's data dir (``QAUIPSIZ_DATA_DIR``, read by ``api.settings`` only).
    city : str, optional
        City key.
    """
    if user_dir is None:
        return None
    root = Path(user_dir)
    cands = ([root / "cities" / city / "norms" / CITY_NORMS_NAME] if city else []) + [root / "norms" / CITY_NORMS_NAME]
    return next((p for p in cands if p.is_file()), None)


def lighting_norms(path: str | Path | None = None) -> pd.DataFrame:
    """Lighting norm table: ``zone, e_avg_lx (lx), name_kk/ru/en, source, designation, clause_kk/ru/en,
    jurisdiction, title_kk/ru/en, default``.

    Parameters
    ----------
    path : path, optional
        A replacement table (e.g. a city's СП РК / СН РК values): needs ``zone, e_avg_lx, source``;
        ``designation`` (the norm's official designation, kept as is in every language), ``clause_*``
        (table or clause), ``title_*`` (the norm's title per language), ``jurisdiction`` and ``name_*``
        are optional.  Default: SanPiN 1.2.3685-21 table 5.56 (a Russian Federation norm; average
        horizontal illuminance at ground level, lux), marked ``default = True``.

    Raises
    ------
    ValueError
        A missing column, or a row whose ``e_avg_lx`` is not a number ≥ 0 or whose zone is empty/repeated.
    """
    src = Path(path) if path else DEFAULT_LIGHTING
    if not src.is_file():
        raise ValueError(f"lighting norm table {src}: no such file")
    try:
        df = _read(str(src)).copy()
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as e:
        raise ValueError(f"lighting norm table {src}: not a UTF-8 CSV ({e})") from None
    need = {"zone", "e_avg_lx", "source"}
    miss = need - set(df.columns)
    if miss:
        raise ValueError(f"lighting norm table {src}: missing column(s) {', '.join(sorted(miss))}")
    lx = pd.to_numeric(df["e_avg_lx"], errors="coerce")
    for i in range(len(df)):
        if not (lx.iloc[i] >= 0):
            raise ValueError(f"lighting norm table {src}: row {i + 2}, field e_avg_lx: "
                             f"{df['e_avg_lx'].iloc[i]!r} is not a number ≥ 0 (lux)")
        z = str(df["zone"].iloc[i]).strip()
        if not z or z == "nan" or (df["zone"].astype(str).str.strip() == z).sum() > 1:
            raise ValueError(f"lighting norm table {src}: row {i + 2}, field zone: empty or repeated zone {z!r}")
    df["e_avg_lx"] = lx.astype(float)
    if "designation" not in df.columns:
        df["designation"] = df["source"]
    if "jurisdiction" not in df.columns:
        df["jurisdiction"] = ""
    for lang in ("kk", "ru", "en"):
        for col, fill in ((f"name_{lang}", "zone"), (f"clause_{lang}", None), (f"title_{lang}", None)):
            if col not in df.columns:
                df[col] = df[fill] if fill else ""
            df[col] = df[col].where(df[col].notna(), "")
    df["default"] = src.resolve() == DEFAULT_LIGHTING.resolve()
    df.attrs["file"] = str(src)
    return df


def lamp_classes(path: str | Path | None = None) -> pd.DataFrame:
    """Lamp-class table: ``lamp_class, flux_lm (lm), height_m (m), note`` used when a lamp lacks flux/height."""
    return _read(str(path or NORMS_DIR / "lamp_classes.csv")).copy()


def dori_levels(path: str | Path | None = None) -> pd.DataFrame:
    """DORI table (IEC 62676-4): ``level, ppm`` (pixels per metre at the target) and names."""
    return _read(str(path or NORMS_DIR / "dori_iec_62676-4.csv")).copy()
