"""Printable patrol route cards: one HTML page per unit with the restricted-use marking, an inline
SVG map, the stops with times and windows, and a signature line (plans: :mod:`qauipsiz.hotspot.patrol`).
"""
from __future__ import annotations

import html

import numpy as np
import pandas as pd

from qauipsiz.hotspot.cities import get_city

MARKING = "ДЛЯ СЛУЖЕБНОГО ПОЛЬЗОВАНИЯ / ҚЫЗМЕТТІК ПАЙДАЛАНУ ҮШІН"
"""Restricted-use marking printed on every route card in kk and ru together (``lang=None``)."""
MARKINGS = {"kk": "ҚЫЗМЕТТІК ПАЙДАЛАНУ ҮШІН", "ru": "ДЛЯ СЛУЖЕБНОГО ПОЛЬЗОВАНИЯ", "en": "FOR OFFICIAL USE ONLY"}
"""The marking of a card in one language (``lang="kk"|"ru"|"en"``)."""
LANGS = ("kk", "ru", "en")

_CARD_CSS = """
body{font-family:'DejaVu Sans',Arial,sans-serif;margin:18mm;color:#111}
.mark{border:2px solid #900;color:#900;font-weight:bold;text-align:center;padding:4px;margin-bottom:8px;letter-spacing:.5px}
h1{font-size:18px;margin:6px 0} .meta{font-size:12px;margin-bottom:8px}
table{border-collapse:collapse;width:100%;font-size:11px} th,td{border:1px solid #555;padding:3px 5px;text-align:left}
th{background:#eee} svg{border:1px solid #999;margin:8px 0} .foot{font-size:10px;color:#444;margin-top:8px}
@media print{body{margin:10mm} .mark{position:running(header)}}
"""
_LABELS = {
    "title": ("Патрульдік бағыт картасы", "Маршрутная карта патруля", "Patrol route card"),
    "unit": ("Наряд", "Наряд", "Unit"),
    "shift": ("Кезекшілік", "Смена", "Shift"),
    "depot": ("Бастау / аяқтау", "Начало / окончание", "Start / end"),
    "mode": ("Қозғалыс", "Передвижение", "Travel"),
    "total": ("Ұзақтығы", "Продолжительность", "Duration"),
    "seq": ("№", "№", "#"),
    "place": ("Орын", "Место", "Place"),
    "arrive": ("Келу", "Прибытие", "Arrive"),
    "depart": ("Кету", "Убытие", "Depart"),
    "dwell": ("Болу, мин", "Стоянка, мин", "Dwell, min"),
    "window": ("Уақыт терезесі", "Окно времени", "Time window"),
    "why": ("Себебі", "Причина", "Why"),
    "sign": ("Наряд бастығының қолы", "Подпись старшего наряда", "Signature of the unit leader"),
    "walk": ("жаяу", "пеший", "on foot"),
    "drive": ("автопатруль", "автопатруль", "by car"),
    "depot_word": ("депо", "депо", "depot"),
    "min": ("мин", "мин", "min"),
    "km": ("км", "км", "km"),
    "koper": ("Копер: нүктеде 10–16 мин.", "Копер: 10–16 мин на точке.", "Koper: 10–16 min at a stop."),
}


def _lab(key, lang: str | None = None):
    """The label ``key`` in ``lang`` (kk/ru/en), or all three joined by " / " for ``lang=None``."""
    if lang is None:
        return " / ".join(_LABELS[key])
    return _LABELS[key][LANGS.index(lang)]


def _square_box(p: np.ndarray, pad: float = 150.0):
    """Lower-left corner and side (metres) of a square around points ``p`` with ``pad`` margin."""
    lo = p.min(0) - pad
    hi = p.max(0) + pad
    span = float(max(hi[0] - lo[0], hi[1] - lo[1], 1.0))
    c = (lo + hi) / 2
    return c[0] - span / 2, c[1] - span / 2, span


def _svg_map(route_xy: np.ndarray, stop_xy: np.ndarray, streets_xy: list, size: int = 520) -> str:
    """A small inline SVG map: grey streets, the route in blue, numbered stops, the depot as a square."""
    x0, y0, span = _square_box(np.vstack([route_xy, stop_xy]))
    sc = size / span

    def tx(p):
        return np.c_[(p[:, 0] - x0) * sc, size - (p[:, 1] - y0) * sc]

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" viewBox="0 0 {size} {size}">',
             '<rect width="100%" height="100%" fill="#fafafa"/>']
    for s in streets_xy:
        q = tx(s)
        parts.append('<polyline fill="none" stroke="#ccc" stroke-width="1" points="'
                     + " ".join(f"{a:.1f},{b:.1f}" for a, b in q) + '"/>')
    q = tx(route_xy)
    parts.append('<polyline fill="none" stroke="#1f5fbf" stroke-width="2.5" stroke-opacity=".8" points="'
                 + " ".join(f"{a:.1f},{b:.1f}" for a, b in q) + '"/>')
    sq = tx(stop_xy)
    a, b = sq[0]
    parts.append(f'<rect x="{a - 6:.1f}" y="{b - 6:.1f}" width="12" height="12" fill="#900"/>')
    for i, (a, b) in enumerate(sq[1:], start=1):
        parts.append(f'<circle cx="{a:.1f}" cy="{b:.1f}" r="8" fill="#f6c343" stroke="#333"/>'
                     f'<text x="{a:.1f}" y="{b + 3.5:.1f}" font-size="9" text-anchor="middle">{i}</text>')
    bar = 500 * sc
    parts.append(f'<line x1="10" y1="{size - 12}" x2="{10 + bar:.1f}" y2="{size - 12}" stroke="#000" stroke-width="2"/>'
                 f'<text x="10" y="{size - 16}" font-size="9">500 m</text>')
    parts.append(f'<text x="{size - 14}" y="18" font-size="12" font-weight="bold">N↑</text></svg>')
    return "".join(parts)


def route_cards_html(routes, stops: pd.DataFrame, city, out_dir=None, depot_name: str | None = None,
                     streets=None, lang: str | None = None) -> dict[int, str]:
    """One printable HTML route card per unit (inline SVG map, no external resources).

    Each card carries the restricted-use marking, the shift, the depot, the stops with arrival /
    departure times (local clock, HH:MM), dwell (minutes) and time windows, a small map (scale bar in
    metres) and a signature line.  Returns ``{unit: html}`` and writes ``route_card_unit_<n>.html``
    into ``out_dir`` when given.

    Parameters
    ----------
    lang : {"kk", "ru", "en"} or None
        Language of every label, the city name, the offence names and the marking
        (:data:`MARKINGS`); ``None`` (default) prints kk / ru / en together with :data:`MARKING`.
    """
    if lang is not None and lang not in LANGS:
        raise ValueError(f"lang {lang!r}: expected one of kk, ru, en")
    mark = MARKING if lang is None else MARKINGS[lang]
    from pathlib import Path

    import shapely

    from qauipsiz.hotspot.streets import load_streets

    c = get_city(city) if isinstance(city, str) else city
    shift = stops.attrs.get("shift")
    depot_name = depot_name if depot_name is not None else stops.attrs.get("depot_name", "")
    if streets is None:
        try:
            streets = load_streets(c.key)
        except ValueError:
            streets = None
    sm = streets.to_crs(c.epsg) if streets is not None else None
    cat_names = {}
    try:
        from qauipsiz.hotspot.taxonomy import categories

        cat_names = categories().set_index("category")[["category_kk", "category_ru", "category_en"]].to_dict("index")
    except Exception:  # a card without category names is still a card
        pass
    out = {}
    for r in routes.itertuples(index=False):
        st = stops[stops["unit"] == r.unit].sort_values("seq")
        gx, gy = c.to_metric(np.asarray(shapely.get_coordinates(r.geometry))[:, 0],
                             np.asarray(shapely.get_coordinates(r.geometry))[:, 1])
        route_xy = np.c_[gx, gy]
        sx, sy = c.to_metric(st["lon"].to_numpy(), st["lat"].to_numpy())
        stop_xy = np.c_[sx, sy][:-1]  # last row is the depot again
        street_lines = []
        if sm is not None:
            x0, y0, span = _square_box(np.vstack([route_xy, stop_xy]))
            box = shapely.box(x0, y0, x0 + span, y0 + span)
            sel = sm.geometry.values[shapely.intersects(sm.geometry.values, box)]
            for g in shapely.get_parts(shapely.intersection(sel, box)):
                if shapely.get_type_id(g) == 1 and shapely.get_num_coordinates(g) >= 2:
                    street_lines.append(shapely.get_coordinates(g))
        svg = _svg_map(route_xy, stop_xy, street_lines[:4000])
        trs = []
        for s in st.itertuples(index=False):
            if s.kind == "depot":
                place = html.escape(depot_name or _lab("depot_word", lang))
                why = ""
                window = ""
            else:
                place = (html.escape(str(s.street)) + "<br>" if getattr(s, "street", "") else "") + f"{s.lat:.5f}, {s.lon:.5f}"
                cn = cat_names.get(s.top_category, {})
                names = (cn.get("category_kk"), cn.get("category_ru")) if lang is None else (cn.get(f"category_{lang}"),)
                why = html.escape(" / ".join(v for v in names if v) or str(s.top_category))
                window = f"{s.window_start:%H:%M}–{s.window_end:%H:%M}"
            trs.append(f"<tr><td>{s.seq}</td><td>{place}</td><td>{s.arrive:%H:%M}</td><td>{s.depart:%H:%M}</td>"
                       f"<td>{s.dwell_min or ''}</td><td>{window}</td><td>{why}</td></tr>")
        shift_txt = f"{shift.start:%Y-%m-%d %H:%M}–{shift.end:%H:%M} ({shift.start.tz})" if shift else ""
        mode = stops.attrs.get("mode", "drive")
        mode_txt = _lab("walk" if mode == "walk" else "drive", lang)
        li = 1 if lang is None else LANGS.index(lang)
        city_txt = (f"{c.name_kk} / {c.name_ru}" if lang is None else getattr(c, f"name_{lang}"))
        koper = "Koper: 10–16 мин на точке." if lang is None else _lab("koper", lang)
        doc = f"""<!doctype html><html lang="{lang or 'ru'}"><head><meta charset="utf-8">
<title>{_LABELS['title'][li]} — {_LABELS['unit'][li]} {r.unit}</title><style>{_CARD_CSS}</style></head><body>
<div class="mark">{mark}</div>
<h1>{_lab('title', lang)} — {_lab('unit', lang)} {r.unit}</h1>
<div class="meta">{html.escape(city_txt)} · {_lab('shift', lang)}: {shift_txt} ·
{_lab('depot', lang)}: {html.escape(depot_name or '')} · {_lab('mode', lang)}: {mode_txt} ·
{_lab('total', lang)}: {r.minutes} {_LABELS['min'][li]}, {r.distance_m / 1000:.1f} {_LABELS['km'][li]}, {r.n_stops} · {r.start:%H:%M}–{r.end:%H:%M}</div>
{svg}
<table><tr><th>{_lab('seq', lang)}</th><th>{_lab('place', lang)}</th><th>{_lab('arrive', lang)}</th><th>{_lab('depart', lang)}</th>
<th>{_lab('dwell', lang)}</th><th>{_lab('window', lang)}</th><th>{_lab('why', lang)}</th></tr>
{''.join(trs)}</table>
<p class="foot">{koper} © OpenStreetMap contributors. {_lab('sign', lang)}: ____________________</p>
<div class="mark">{mark}</div>
</body></html>"""
        out[int(r.unit)] = doc
        if out_dir is not None:
            Path(out_dir).mkdir(parents=True, exist_ok=True)
            (Path(out_dir) / f"route_card_unit_{int(r.unit)}.html").write_text(doc, encoding="utf-8")
    return out

