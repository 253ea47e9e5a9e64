"""Run a rule set over a design and shape the result (JSON-ready dict)."""
from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from qauipsiz.cpted.norms import lighting_norms
from qauipsiz.cpted.review.design import Design, load_design
from qauipsiz.cpted.review.messages import LANGS, Catalogue, Message, load_catalogue
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
        Lighting norm table (a city's СП РК / СН РК values, see :func:`cpted.norms.find_city_norms`);
        default SanPiN 1.2.3685-21 table 5.56, a Russian Federation norm, cited as the default.
    city : str, optional
        City key whose UTM zone to use; default the zone of the design's centre.

    Returns
    -------
    dict
        ``{"design", "epsg", "summary": {PASS, FAIL, NOT_CHECKABLE}, "norms": {...}, "rules": [{"id",
        "status", "measured", "required", "unit" (lx, m or share), "measured_kk/ru/en",
        "required_kk/ru/en" (the values with their unit in the UI language: "3,1 лк", "33 %"),
        "source" (English), "source_kk/ru/en", "norm" (the lighting table cited, or ``None``),
        "title_kk/ru/en", "detail" (English), "detail_kk/ru/en", "fix_kk/ru/en" (how to fix it, only
        when the rule fails, else ``None``), "failing"}]}``; ``failing`` is a GeoJSON FeatureCollection
        (EPSG:4326) or ``None``.  All texts are message ids rendered through ``cpted/rules/messages.yaml``.
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
        src = _source(r, nt, cat)
        h = {lang: (cat.human(res.measured, res.unit, lang), cat.human(res.required, res.unit, lang))
             for lang in LANGS}
        fix: dict[str, str | None] = {lang: None for lang in LANGS}
        if res.status == FAIL and r.get("fix"):
            fix = {lang: cat.text(Message(r["fix"], {**res.message.params, "measured": h[lang][0],
                                                     "required": h[lang][1]}), lang) for lang in LANGS}
        row = {"id": r["id"], "status": res.status, "measured": res.measured, "required": res.required,
               "unit": res.unit, **{f"measured_{lang}": h[lang][0] for lang in LANGS},
               **{f"required_{lang}": h[lang][1] for lang in LANGS},
               "source": src["en"], **{f"source_{lang}": src[lang] for lang in LANGS},
               "norm": _norm_info(nt, cat) if r.get("norm_zones") else None,
               **{f"title_{lang}": title.get(lang, r["id"]) for lang in LANGS},
               "detail": detail["en"], **{f"detail_{lang}": detail[lang] for lang in LANGS},
               **{f"fix_{lang}": fix[lang] for lang in LANGS}, "failing": fc}
        out.append(_jsonable(row))
    summary = {s: sum(1 for r in out if r["status"] == s) for s in (PASS, FAIL, NOT_CHECKABLE)}
    return {"design": d.name, "epsg": d.epsg, "summary": summary, "norms": _norm_info(nt, cat), "rules": out,
            "_design": d}


def _norm_info(nt: pd.DataFrame, cat: Catalogue) -> dict:
    """Which lighting table the review used: designation(s), jurisdiction, default or the city's, a note."""
    default = bool(nt["default"].all()) if "default" in nt.columns else False
    file = Path(str(nt.attrs.get("file", ""))).name
    note = cat.localise(Message("norm_default_note") if default else Message("norm_city_note", {"file": file}))
    return {"designation": "; ".join(dict.fromkeys(str(x) for x in nt["designation"])),
            "jurisdiction": "; ".join(dict.fromkeys(str(x) for x in nt["jurisdiction"] if str(x))),
            "default": default, "file": file, **{f"note_{lang}": note[lang] for lang in LANGS}}


def _citation(nt: pd.DataFrame, zones: list[str], cat: Catalogue, lang: str) -> str:
    """The norm table's citation of ``zones`` in ``lang``: designation (as is), title, clause, zone — value."""
    rows = nt.set_index(nt["zone"].astype(str))
    miss = [z for z in zones if z not in rows.index]
    if miss:
        raise ValueError(f"lighting norm table: no row for zone(s) {', '.join(miss)}")
    parts = []
    for (des, clause, ttl), grp in rows.loc[zones].groupby(["designation", f"clause_{lang}", f"title_{lang}"],
                                                            sort=False):
        values = "; ".join(f"{g[f'name_{lang}']} — {cat.human(g['e_avg_lx'], 'lx', lang)}" for _, g in grp.iterrows())
        mid = "norm_citation" if ttl else "norm_citation_untitled"
        parts.append(cat.text(Message(mid, {"designation": des, "title": ttl, "clause": clause or "",
                                            "values": values}), lang).replace(", : ", ": "))
    info = _norm_info(nt, cat)
    return f"{'; '.join(parts)} ({info[f'note_{lang}']})"


def _source(rule: dict, nt: pd.DataFrame, cat: Catalogue) -> dict[str, str]:
    """The rule's source in kk / ru / en; ``{norm}`` replaced by the lighting table's citation."""
    src = rule["source"] if isinstance(rule["source"], dict) else {lang: rule["source"] for lang in LANGS}
    zones = list(rule.get("norm_zones") or [])
    return {lang: str(src.get(lang) or src.get("en") or next(iter(src.values())))
            .replace("{norm}", _citation(nt, zones, cat, lang) if zones else "") for lang in LANGS}


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
