"""Run a rule set over a design and shape the result (JSON-ready dict)."""
from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from qauipsiz.cpted.norms import lighting_norms
from qauipsiz.cpted.review.design import Design, load_design
from qauipsiz.cpted.review.messages import LANGS, load_catalogue
from qauipsiz.cpted.review.registry import CHECKS, FAIL, NOT_CHECKABLE, PASS, load_rules


def review(design, rules: str | Path | list | None = None, *, norms: str | Path | pd.DataFrame | None = None,
           city: str | None = None) -> dict:
    """Review a design against a rule set.

    Parameters
    ----------
    design : Design, path, JSON text or dict
        The design GeoJSON (see :mod:`qauipsiz.cpted.review.design` for its convention).
    rules : path or list, optional
        Rule set YAML or already-loaded rules; default ``cpted/rules/default.yaml``.
    norms : path or DataFrame, optional
        Lighting norm table; default SanPiN 1.2.3685-21 table 5.56.
    city : str, optional
        City key whose UTM zone to use; default the zone of the design's centre.

    Returns
    -------
    dict
        ``{"design", "epsg", "summary": {PASS, FAIL, NOT_CHECKABLE}, "rules": [{"id", "status",
        "measured", "required", "unit", "source", "title_kk", "title_ru", "title_en", "detail" (English),
        "detail_kk", "detail_ru", "detail_en", "failing"}]}``; ``failing`` is a GeoJSON FeatureCollection
        (EPSG:4326) or ``None``.  The details are the checks' message ids rendered through
        ``cpted/rules/messages.yaml``.
    """
    d = design if isinstance(design, Design) else load_design(design, city)
    rl = rules if isinstance(rules, list) else load_rules(rules)
    nt = norms if isinstance(norms, pd.DataFrame) else lighting_norms(norms)
    cat = load_catalogue()
    out = []
    for r in rl:
        res = CHECKS[r["check"]](d, r.get("params") or {}, nt)
        fc = None
        if res.failing is not None and len(res.failing):
            g = gpd.GeoSeries(np.asarray(res.failing, dtype=object), crs=d.epsg).to_crs(4326)
            fc = json.loads(g.to_json(drop_id=True))
        title = r.get("title") or {}
        detail = cat.localise(res.message)
        row = {"id": r["id"], "status": res.status, "measured": res.measured, "required": res.required,
               "unit": res.unit, "source": r["source"],
               **{f"title_{lang}": title.get(lang, r["id"]) for lang in LANGS},
               "detail": detail["en"], **{f"detail_{lang}": detail[lang] for lang in LANGS}, "failing": fc}
        out.append(_jsonable(row))
    summary = {s: sum(1 for r in out if r["status"] == s) for s in (PASS, FAIL, NOT_CHECKABLE)}
    return {"design": d.name, "epsg": d.epsg, "summary": summary, "rules": out, "_design": d}


def _jsonable(v):
    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.generic):
        return v.item()
    return v


def to_json(result: dict, indent: int | None = 2) -> str:
    """The review result as JSON text (``{"design", "epsg", "summary", "rules": [...]}``)."""
    return json.dumps({k: v for k, v in result.items() if not k.startswith("_")}, ensure_ascii=False, indent=indent)
