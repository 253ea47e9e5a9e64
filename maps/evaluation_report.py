"""One-page printable report of an intervention evaluation (``qauipsiz evaluate --html``, issue 18).

Self-contained HTML: the kk/ru/en summary, the numbers, and an inline SVG chart of the monthly
counts, treated area against its comparison (scaled to the treated pre-period total).
"""
from __future__ import annotations

import html

TITLE = {"kk": "Шараның нәтижесі", "ru": "Результат меры", "en": "Did it work?"}
ROWS = {  # key -> (kk, ru, en)
    "effect_pct": ("Әсер, %", "Эффект, %", "Effect, %"),
    "ci": ("95 % сенім аралығы", "95 % доверительный интервал", "95 % confidence interval"),
    "p_value": ("p (плацебо)", "p (плацебо)", "p (placebo)"),
    "mde_pct": ("Ең аз анықталатын әсер, %", "Минимальный обнаружимый эффект, %", "Minimum detectable effect, %"),
    "wdq": ("WDQ (белдеу)", "WDQ (кольцо)", "WDQ (ring)"),
    "synth_effect_pct": ("Синтетикалық бақылау, %", "Синтетический контроль, %", "Synthetic control, %"),
    "counts": ("Саны: дейін → кейін", "Число: до → после", "Counts: before → after"),
}
LEGEND = {"kk": ("Шара аймағы", "Салыстыру"), "ru": ("Зона меры", "Сравнение"), "en": ("Treated area", "Comparison")}
LANG_I = {"kk": 0, "ru": 1, "en": 2}


def _chart(series: list[dict], lang: str, w: int = 640, h: int = 220) -> str:
    if not series:
        return ""
    pad = 30
    n = len(series)
    ymax = max(max(s["treated"], s["comparison"]) for s in series) or 1.0

    def xy(i, v):
        return pad + i * (w - 2 * pad) / max(n - 1, 1), h - pad - v / ymax * (h - 2 * pad)

    def line(key, colour):
        pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(i, s[key]) for i, s in enumerate(series)))
        return f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{pts}"/>'

    k0 = next((i for i, s in enumerate(series) if s["after"]), n)
    x0 = xy(k0 - 0.5, 0)[0]
    lt, lc = LEGEND[lang]
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" role="img">'
            f'<line x1="{x0:.1f}" y1="{pad}" x2="{x0:.1f}" y2="{h - pad}" stroke="#888" stroke-dasharray="4 3"/>'
            f'{line("comparison", "#888")}{line("treated", "#c0392b")}'
            f'<text x="{pad}" y="{h - 8}" font-size="11">{html.escape(series[0]["period"])}</text>'
            f'<text x="{w - pad}" y="{h - 8}" font-size="11" text-anchor="end">{html.escape(series[-1]["period"])}</text>'
            f'<text x="{pad}" y="14" font-size="12" fill="#c0392b">— {html.escape(lt)}</text>'
            f'<text x="{pad + 160}" y="14" font-size="12" fill="#666">— {html.escape(lc)}</text></svg>')


def _fmt(v) -> str:
    return "—" if v is None else (f"{v:g}" if isinstance(v, int | float) else html.escape(str(v)))


def render_evaluation_html(d: dict, lang: str = "ru") -> str:
    """The printable report of ``EvaluationResult.to_dict()`` output ``d``.

    Parameters
    ----------
    d : dict
        The evaluation as a dictionary.
    lang : str
        ``kk``, ``ru`` or ``en`` for the headings (the summary is given in all three).

    Returns
    -------
    str
        A complete HTML document.
    """
    if lang not in LANG_I:
        raise ValueError(f"lang {lang!r}: use kk, ru or en")
    i = LANG_I[lang]
    c = d.get("counts") or {}
    vals = {
        "effect_pct": d.get("effect_pct"),
        "ci": None if d.get("ci_low_pct") is None else f"{d['ci_low_pct']:g} … {d['ci_high_pct']:g}",
        "p_value": d.get("p_value"), "mde_pct": d.get("mde_pct"),
        "wdq": None if d.get("wdq") is None else f"{d['wdq']:g} ({d.get('wdq_reading')})",
        "synth_effect_pct": d.get("synth_effect_pct"),
        "counts": f"{c.get('treated_before', '?')} → {c.get('treated_after', '?')}",
    }
    rows = "".join(f"<tr><th>{html.escape(ROWS[k][i])}</th><td>{_fmt(v)}</td></tr>" for k, v in vals.items())
    texts = "".join(f'<p lang="{lg}">{html.escape(d["text"][lg])}</p>' for lg in ("kk", "ru", "en") if lg in d["text"])
    return (f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>{TITLE[lang]}</title>'
            "<style>body{font:14px sans-serif;max-width:720px;margin:2em auto}th{text-align:left;padding-right:1em}"
            "@media print{body{margin:0}}</style></head><body>"
            f"<h1>{TITLE[lang]}: {html.escape(str(d.get('installed')))}</h1>{texts}"
            f"{_chart(d.get('series') or [], lang)}<table>{rows}</table>"
            f"<p><small>{html.escape(str(d.get('method', '')))}</small></p></body></html>")
