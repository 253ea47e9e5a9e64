"""Crime taxonomy as data: Criminal Code / Administrative Code articles, severity classes, place types."""
from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from qauipsiz.hotspot.paths import data_dir

SEVERITY_CLASSES = ("administrative", "misdemeanour", "minor", "medium", "grave", "especially_grave")


def _tax(name: str) -> Path:
    return data_dir() / "taxonomy" / name


@cache
def articles() -> pd.DataFrame:
    """Article table keyed by ``(code, article, part)``.

    ``code`` is ``UK`` (Criminal Code 2014) or ``KoAP`` (Administrative Code 2014).  Columns:
    ``category``, ``category_kk/ru/en``, ``severity_class`` (by the maximum penalty of the
    *part*), and boolean ``violent``, ``street_crime``, ``property`` flags.
    """
    df = pd.read_csv(_tax("articles.csv"), dtype={"code": str, "category": str})
    for c in ("violent", "street_crime", "property"):
        df[c] = df[c].astype(str).str.lower().eq("true")
    bad = ~df["severity_class"].isin(SEVERITY_CLASSES)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"articles.csv row {i + 2}: field severity_class: unknown class {df.severity_class[i]!r}")
    return df


@cache
def categories() -> pd.DataFrame:
    """One row per category: ``category, category_kk, category_ru, category_en`` and flags."""
    a = articles()
    return a.drop_duplicates("category")[
        ["category", "category_kk", "category_ru", "category_en", "violent", "street_crime", "property"]
    ].reset_index(drop=True)


@cache
def severity() -> pd.DataFrame:
    """Severity classes with kk/ru/en names, the maximum imprisonment (years) and default harm weight."""
    return pd.read_csv(_tax("severity.csv"))


@cache
def place_types() -> pd.DataFrame:
    """Place types of DOMAIN.md §2 with kk/ru/en names, a group and the demo city's share."""
    return pd.read_csv(_tax("place_types.csv"))


def harm_weights(path: str | Path | None = None) -> dict[str, float]:
    """Harm weight per severity class (dimensionless, a Crime-Harm-Index-like sentencing-days scale).

    ``path`` points to a CSV with ``severity_class,harm_weight`` to override the defaults.
    """
    df = pd.read_csv(path) if path else severity()
    w = dict(zip(df["severity_class"], df["harm_weight"].astype(float), strict=True))
    missing = set(SEVERITY_CLASSES) - set(w)
    if missing:
        raise ValueError(f"harm weights {path}: missing severity classes {sorted(missing)}")
    return w


def parse_article(text) -> tuple[str, int, int] | None:
    """Parse an article reference such as ``"188 ч.2"``, ``"188-2"``, ``"ст. 191 ч. 1 УК"``,
    ``"КоАП 440"`` or ``"188.2"`` into ``(code, article, part)``; ``None`` if it cannot be read.

    A missing part means part 1.  ``КоАП``/``ӘҚБтК`` in the text select the Administrative Code.
    """
    import re

    if text is None or (isinstance(text, float) and np.isnan(text)):
        return None
    s = str(text).strip().lower()
    code = "KoAP" if re.search(r"коап|әқбтк|акбтк|koap", s) else "UK"
    m = re.search(r"(\d{2,3})(?:\s*(?:ч\.?|часть|б\.?|бөлік|-|\.|/|,)\s*(\d{1,2}))?", s)
    if not m:
        return None
    return code, int(m.group(1)), int(m.group(2) or 1)


def lookup_articles(refs) -> pd.DataFrame:
    """Vectorised article lookup: one row per input reference, in input order.

    Returns ``code, article, part, category, severity_class`` and the flag columns; ``category``
    is ``None`` where the reference cannot be read or is not in the table.  Unknown parts of a
    known article fall back to part 1.  Each distinct string is parsed once.
    """
    refs = pd.Series(refs, dtype=object).astype(str)
    uniq = pd.unique(refs)
    a = articles()
    keyed = a.set_index(["code", "article", "part"])
    recs = []
    for u in uniq:
        p = parse_article(u)
        key = None
        if p is not None:
            key = p if p in keyed.index else ((p[0], p[1], 1) if (p[0], p[1], 1) in keyed.index else None)
        recs.append((u, *(p or (None, None, None)), *(key or (None, None, None))))
    u = pd.DataFrame(recs, columns=["_ref", "code", "article", "part", "_c", "_a", "_p"])
    u[["_a", "_p"]] = u[["_a", "_p"]].astype("Int64")  # all-None keys (nothing known) must still merge
    u = u.merge(a.rename(columns={"code": "_c", "article": "_a", "part": "_p"}), on=["_c", "_a", "_p"], how="left")
    out = pd.DataFrame({"_ref": refs}).merge(u, on="_ref", how="left")
    out = out.drop(columns=["_ref", "_c", "_a", "_p"])
    return out.astype(object).where(out.notna(), None)
