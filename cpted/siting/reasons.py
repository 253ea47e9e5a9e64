"""Why each site: the kk/ru/en reason templates and the function that fills them for a site table."""
from __future__ import annotations

import numpy as np
import pandas as pd

LANGS = ("kk", "ru", "en")


def _fmt_int(v) -> str:
    return f"{round(float(v)):,}".replace(",", " ")


REASONS = {
    "camera": {
        "en": "Phase {phase}, #{rank}: would see {inc} recorded incidents ({dark} after dark) that no working "
              "camera covers — {share:.1f}% of the harm-weighted camera demand{street}{bearing}; coverage rises to {cum:.1f}%.",
        "ru": "Этап {phase}, №{rank}: охватит {inc} зарегистрированных происшествий ({dark} в тёмное время), которые не "
              "видит ни одна работающая камера, — {share:.1f}% взвешенного по вреду спроса{street}{bearing}; охват вырастет до {cum:.1f}%.",
        "kk": "{phase}-кезең, №{rank}: жұмыс істеп тұрған камералар көрмейтін {inc} тіркелген оқиғаны қамтиды "
              "(оның {dark} қараңғыда) — зиянға қарай өлшенген сұраныстың {share:.1f}%{street}{bearing}; қамту {cum:.1f}% дейін өседі.",
    },
    "repair": {
        "en": "Phase {phase}, #{rank}: repair the broken camera here — it would again see {inc} recorded incidents "
              "({dark} after dark), {share:.1f}% of the demand{street}; coverage rises to {cum:.1f}%.",
        "ru": "Этап {phase}, №{rank}: отремонтировать неработающую камеру — она снова охватит {inc} происшествий "
              "({dark} в тёмное время), {share:.1f}% спроса{street}; охват вырастет до {cum:.1f}%.",
        "kk": "{phase}-кезең, №{rank}: істен шыққан камераны жөндеу — ол қайтадан {inc} оқиғаны қамтиды "
              "(оның {dark} қараңғыда), сұраныстың {share:.1f}%{street}; қамту {cum:.1f}% дейін өседі.",
    },
    "sos": {
        "en": "Phase {phase}, #{rank}: {kind_en} — within {radius} m walk of {inc} street or violent crimes "
              "({dark} after dark) that no working button reaches, {share:.1f}% of the demand{street}; coverage rises to {cum:.1f}%.",
        "ru": "Этап {phase}, №{rank}: {kind_ru} — в {radius} м пешком от {inc} уличных или насильственных преступлений "
              "({dark} в тёмное время), которых не достигает ни одна работающая кнопка, {share:.1f}% спроса{street}; охват вырастет до {cum:.1f}%.",
        "kk": "{phase}-кезең, №{rank}: {kind_kk} — жұмыс істеп тұрған түймелер жетпейтін {inc} көше немесе зорлық "
              "қылмысынан (оның {dark} қараңғыда) {radius} м жаяу қашықтықта, сұраныстың {share:.1f}%{street}; қамту {cum:.1f}% дейін өседі.",
    },
    "sos_cover": {
        "en": "#{rank}: {kind_en} — brings {inc} more busy places within {radius} m walk of a button{street}.",
        "ru": "№{rank}: {kind_ru} — ещё {inc} людных мест окажутся в {radius} м пешком от кнопки{street}.",
        "kk": "№{rank}: {kind_kk} — тағы {inc} адам көп жүретін орын түймеден {radius} м жаяу қашықтықта болады{street}.",
    },
    "post": {
        "en": "Phase {phase}, #{rank}: a modular post here puts {inc} recorded incidents ({dark} after dark) within "
              "{radius} m on foot — {share:.1f}% of the crime-and-population demand{street}; coverage rises to {cum:.1f}%.",
        "ru": "Этап {phase}, №{rank}: модульный пост здесь охватит {inc} происшествий ({dark} в тёмное время) в радиусе "
              "{radius} м пешком — {share:.1f}% спроса (преступность и население){street}; охват вырастет до {cum:.1f}%.",
        "kk": "{phase}-кезең, №{rank}: мұндағы модульдік пост {radius} м жаяу радиуста {inc} оқиғаны қамтиды "
              "(оның {dark} қараңғыда) — сұраныстың {share:.1f}% (қылмыс және халық){street}; қамту {cum:.1f}% дейін өседі.",
    },
    "office": {
        "en": "#{rank}: inspector office serving a beat of ~{residents} residents (population proxy) and {inc} "
              "recorded incidents; {rpi} residents per inspector{street}.",
        "ru": "№{rank}: участковый пункт для участка ~{residents} жителей (оценка) и {inc} зарегистрированных "
              "происшествий; {rpi} жителей на одного инспектора{street}.",
        "kk": "№{rank}: учаскелік пункт: ~{residents} тұрғын (бағалау) және {inc} тіркелген оқиға; бір "
              "инспекторға {rpi} тұрғын{street}.",
    },
}
STREET_WORD = {"en": "; near {s}", "ru": "; рядом: {s}", "kk": "; жақын көше: {s}"}
BEARING_WORD = {"en": "; facing {b}°", "ru": "; азимут {b}°", "kk": "; азимуты {b}°"}
KIND_WORDS = {
    "transit_stop": ("аялдама", "остановка транспорта", "transit stop"),
    "square": ("алаң", "площадь", "square"),
    "market": ("базар", "рынок", "market"),
    "mall": ("сауда орталығы", "торговый центр", "mall"),
    "park_entrance": ("саябақ кіреберісі", "вход в парк", "park entrance"),
    "site": ("орын", "место", "site"),
}


def fill_reasons(kind: str, rows: pd.DataFrame, lang: str, extra: dict | None = None) -> pd.DataFrame:
    """Fill reason_kk/ru/en (and ``reason`` in ``lang``) for a site table."""
    if lang not in LANGS:
        raise ValueError(f"lang {lang!r}: expected one of {LANGS}")
    extra = extra or {}
    for lg in LANGS:
        tpl = REASONS[kind][lg]
        out = []
        for r in rows.itertuples(index=False):
            d = r._asdict()
            kw = KIND_WORDS.get(d.get("kind", "site"), KIND_WORDS["site"])
            street = STREET_WORD[lg].format(s=d["street"]) if d.get("street") else ""
            b = d.get("bearing_deg")
            bearing = BEARING_WORD[lg].format(b=round(float(b))) if b is not None and np.isfinite(b) else ""
            out.append(tpl.format(phase=d.get("phase", 1), rank=d["rank"], inc=_fmt_int(d.get("incidents_new", 0)),
                                  dark=_fmt_int(d.get("dark_new", 0)), share=100 * d.get("marginal_share", 0),
                                  cum=100 * d.get("cumulative_coverage", 0), street=street, bearing=bearing,
                                  kind_kk=kw[0], kind_ru=kw[1], kind_en=kw[2],
                                  residents=_fmt_int(d.get("residents", 0)),
                                  rpi=_fmt_int(d.get("residents_per_inspector", 0)), **extra))
        rows[f"reason_{lg}"] = out
    rows["reason"] = rows[f"reason_{lang}"]
    return rows
