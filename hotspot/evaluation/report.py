"""One-paragraph kk/ru/en summaries of an evaluation."""
from __future__ import annotations

from typing import Any

LANGS = ("kk", "ru", "en")

WHAT = {  # intervention kind -> (kk nominative, ru genitive, en) plural phrase
    "cameras": ("бейнекамералар", "камер видеонаблюдения", "the cameras"),
    "sos_buttons": ("SOS түймелері", "кнопок SOS", "the SOS buttons"),
    "lamps": ("шамдар", "фонарей", "the lamps"),
    "area": ("шаралар", "мер", "the measures"),
}
VERB = {  # intervention kind -> (kk, ru, en) "were switched on / installed"
    "cameras": ("қосылғаннан", "включения", "were switched on"),
    "sos_buttons": ("орнатылғаннан", "установки", "were installed"),
    "lamps": ("жағылғаннан", "включения", "were switched on"),
    "area": ("басталғаннан", "начала", "started"),
}


def _span(months: float, lang: str) -> str:
    if months < 1:
        d = round(months * 365.2425 / 12)
        return {"kk": f"{d} күн", "ru": f"{d} дн.", "en": f"{d} days"}[lang]
    return {"kk": f"{months:g} ай", "ru": f"{months:g} мес.", "en": f"{months:g} months"}[lang]


def _pct(v: float) -> str:
    return f"{abs(v):.0f}"


def _ci(lo: float, hi: float) -> str:
    """A CI of percent changes as a range of drops when both are drops, else signed."""
    if hi < 0:
        return f"{abs(hi):.0f}–{abs(lo):.0f} %"
    return f"{lo:+.0f} … {hi:+.0f} %"


def _cats(d: dict[str, Any], lang: str) -> str:
    labels = d.get("category_labels") or {}
    names = labels.get(lang) or []
    base = {"kk": "тіркелген оқиғалар", "ru": "зарегистрированные случаи", "en": "recorded offences"}[lang]
    if names:
        base = (f"recorded {', '.join(names)}" if lang == "en" else f"{base} ({', '.join(names)})")
    if d.get("dark_only"):
        base += {"kk": " (қараңғыда)", "ru": " (в тёмное время)", "en": " (after dark)"}[lang]
    return base


def _ring(d: dict[str, Any], lang: str) -> str:
    lo, hi = (round(v) for v in d["ring_m"])
    q = d.get("wdq")
    qs = "—" if q is None else f"{q:.2f}"
    r = d.get("wdq_reading")
    rp = d.get("ring_effect_pct")
    ch = "" if rp is None else f"{rp:+.0f} %, "
    t = {
        "displacement": {"kk": f"{lo}–{hi} м белдеуге ығысу бар ({ch}WDQ {qs})",
                         "ru": f"есть смещение в кольцо {lo}–{hi} м ({ch}WDQ {qs})",
                         "en": f"displacement into the {lo}–{hi} m ring ({ch}WDQ {qs})"},
        "diffusion": {"kk": f"{lo}–{hi} м белдеуге пайданың таралуы бар ({ch}WDQ {qs})",
                      "ru": f"есть распространение пользы на кольцо {lo}–{hi} м ({ch}WDQ {qs})",
                      "en": f"diffusion of benefit into the {lo}–{hi} m ring ({ch}WDQ {qs})"},
        "none": {"kk": f"{lo}–{hi} м белдеуде маңызды ығысу да, пайданың таралуы да жоқ (WDQ {qs})",
                 "ru": f"значимого смещения или распространения пользы в кольце {lo}–{hi} м нет (WDQ {qs})",
                 "en": f"no significant displacement or diffusion in the {lo}–{hi} m ring (WDQ {qs})"},
        "not_applicable": {"kk": f"{lo}–{hi} м белдеу бойынша WDQ мағынасыз (әсер жоқ)",
                           "ru": f"WDQ для кольца {lo}–{hi} м не имеет смысла (нет эффекта)",
                           "en": f"the WDQ for the {lo}–{hi} m ring does not apply (no effect to weigh)"},
    }
    return t[r or "not_applicable"][lang]


def sentence(d: dict[str, Any], lang: str) -> str:
    """The summary of ``EvaluationResult.to_dict()`` output ``d`` in ``lang`` (kk, ru or en)."""
    if lang not in LANGS:
        raise ValueError(f"lang {lang!r}: use kk, ru or en")
    i = LANGS.index(lang)
    kind = d.get("intervention") or "area"
    what = WHAT.get(kind, WHAT["area"])[i]
    verb = VERB.get(kind, VERB["area"])[i]
    place = d.get("place")
    date = d["installed"]
    r = round(d["radius_m"])
    cats = _cats(d, lang)
    if not d["decidable"]:
        mde = d.get("mde_pct")
        m = "?" if mde is None else f"{mde:.0f}"
        b, a = _span(d["before_months"], lang), _span(d["after_months"], lang)
        return {
            "kk": f"Деректер жеткіліксіз: {b} бұрын және {a} кейін бойынша {m} %-дан кіші өзгерісті "
                  "анықтау мүмкін емес (ең аз анықталатын әсер); әсер көрсетілмейді.",
            "ru": f"Данных недостаточно: за {b} до и {a} после изменение меньше {m} % не обнаружить "
                  "(минимальный обнаружимый эффект); эффект не приводится.",
            "en": f"Not enough data to decide: with {b} before and {a} after, a change smaller than "
                  f"{m} % would go unnoticed (minimum detectable effect); no effect is reported.",
        }[lang]
    e, lo, hi, p = d["effect_pct"], d["ci_low_pct"], d["ci_high_pct"], d["p_value"]
    sig = p is not None and p < 0.05
    where = f" ({place})" if place else ""
    ring = _ring(d, lang)
    if lang == "en":
        head = f"After {what}{where} {verb} on {date}, {cats} within {r} m "
        if sig:
            move = "fell" if e < 0 else "rose"
            body = f"{move} by {_pct(e)} % (95 % CI {_ci(lo, hi)}) against comparable blocks (p = {p:.3f})"
        else:
            body = (f"changed by {e:+.0f} % (95 % CI {_ci(lo, hi)}) against comparable blocks, "
                    f"not distinguishable from chance (p = {p:.2f})")
        return f"{head}{body}; {ring}."
    if lang == "ru":
        head = f"После {verb} {what}{where} {date} {cats} в радиусе {r} м "
        if sig:
            move = "снизились" if e < 0 else "выросли"
            body = f"{move} на {_pct(e)} % (95 % ДИ {_ci(lo, hi)}) относительно сопоставимых кварталов (p = {p:.3f})"
        else:
            body = (f"изменились на {e:+.0f} % (95 % ДИ {_ci(lo, hi)}) относительно сопоставимых кварталов — "
                    f"в пределах случайности (p = {p:.2f})")
        return f"{head}{body}; {ring}."
    head = f"{date} {what}{where} {verb} кейін {r} м радиустағы {cats} "
    if sig:
        move = "азайды" if e < 0 else "көбейді"
        body = f"салыстырмалы кварталдармен салыстырғанда {_pct(e)} %-ға {move} (95 % СА {_ci(lo, hi)}, p = {p:.3f})"
    else:
        body = (f"салыстырмалы кварталдармен салыстырғанда {e:+.0f} %-ға өзгерді (95 % СА {_ci(lo, hi)}), "
                f"бұл кездейсоқтықтан ажыратылмайды (p = {p:.2f})")
    return f"{head}{body}; {ring}."


def texts(d: dict[str, Any]) -> dict[str, str]:
    """``{kk, ru, en}`` summaries."""
    return {lang: sentence(d, lang) for lang in LANGS}
