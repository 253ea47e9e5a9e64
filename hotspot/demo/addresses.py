"""Render addresses the way police exports write them: Russian/Kazakh, abbreviated, mistyped."""
from __future__ import annotations

import re

import numpy as np

TYPE_WORDS = {
    # source word -> kind
    "улица": "street", "көшесі": "street", "көше": "street", "переулок": "lane", "тұйық": "lane",
    "тупик": "lane", "проспект": "avenue", "даңғылы": "avenue", "шоссе": "highway", "жолы": "highway",
    "тас": "highway", "бульвар": "boulevard", "бульвары": "boulevard", "набережная": "embankment",
    "микрорайон": "microdistrict", "көпірі": "bridge", "алаңы": "square", "площадь": "square",
}
RU_FORMS = {
    "street": ["ул.", "улица", "ул"], "lane": ["пер.", "переулок"], "avenue": ["пр.", "просп.", "проспект", "пр-т"],
    "highway": ["ш.", "шоссе"], "boulevard": ["б-р", "бульвар"], "embankment": ["наб."],
    "microdistrict": ["мкр", "мкр.", "микрорайон"], "bridge": ["мост"], "square": ["пл.", "площадь"],
}
KK_FORMS = {
    "street": ["көшесі", "к-сі", "көш."], "lane": ["тұйық көшесі", "тұйығы"], "avenue": ["даңғылы", "даң."],
    "highway": ["тас жолы"], "boulevard": ["бульвары"], "embankment": ["жағалауы"],
    "microdistrict": ["шағын ауданы", "ш.а."], "bridge": ["көпірі"], "square": ["алаңы"],
}
RU_GENITIVE = [(r"батыр\b", "батыра"), (r"\bхан\b", "хана"), (r"жырау\b", "жырау"), (r"\bақын\b", "акына"),
               (r"\bби\b", "би")]
KEYBOARD = str.maketrans("құүөәіғңһҚҰҮӨӘІҒҢҺ", "кууоаигнхКУУОАИГНХ")
LATIN = str.maketrans({
    "а": "a", "ә": "ä", "б": "b", "в": "v", "г": "g", "ғ": "ğ", "д": "d", "е": "e", "ё": "io", "ж": "j",
    "з": "z", "и": "i", "й": "i", "к": "k", "қ": "q", "л": "l", "м": "m", "н": "n", "ң": "ñ", "о": "o",
    "ө": "ö", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ұ": "ū", "ү": "ü", "ф": "f", "х": "h",
    "һ": "h", "ц": "s", "ч": "ch", "ш": "ş", "щ": "şş", "ъ": "", "ы": "y", "і": "ı", "ь": "", "э": "e",
    "ю": "iu", "я": "ia",
})


def split_street_name(name: str) -> tuple[str, str]:
    """Split an OSM street name into (core name, kind): ``"Қабанбай Батыр даңғылы"`` → ``("Қабанбай Батыр", "avenue")``."""
    words = name.split()
    kind = "street"
    core = []
    for w in words:
        k = TYPE_WORDS.get(w.lower())
        if k:
            kind = k
        else:
            core.append(w)
    return " ".join(core) or name, kind


def _typo(s: str, rng: np.random.Generator) -> str:
    if len(s) < 5:
        return s
    i = int(rng.integers(1, len(s) - 2))
    op = rng.integers(0, 3)
    if op == 0:
        return s[:i] + s[i + 1:]
    if op == 1:
        return s[:i] + s[i + 1] + s[i] + s[i + 2:]
    return s[:i] + s[i] + s[i:]


def _intersection_text(name: str, cross: str, lang: str, rng: np.random.Generator) -> str:
    """``name`` at its crossing with ``cross``, in one of the register's ways of writing it."""
    c_core, c_kind = split_street_name(cross)
    if lang == "ru":
        t = rng.integers(0, 3)
        return [f"{name} / {c_core}", f"пересечение {name} и {RU_FORMS[c_kind][0]} {c_core}",
                f"угол {name} и {c_core}"][t]
    return f"{name} мен {c_core} {KK_FORMS[c_kind][0]} қиылысы"


def _house_text(name: str, h: str, lang: str, rng: np.random.Generator) -> str:
    """``name`` with house ``h`` (and sometimes a flat), as Russian or Kazakh registers write it."""
    if lang == "ru":
        hf = ["д. {h}", "дом {h}", "{h}", "д.{h}"][int(rng.integers(4))].format(h=h)
        text = f"{name}, {hf}" if h else name
        if h and rng.random() < 0.3:
            text += f", кв. {int(rng.integers(1, 180))}"
        return text
    text = f"{name}, {h} үй" if h else name
    if h and rng.random() < 0.25:
        text += f", {int(rng.integers(1, 180))} пәтер"
    return text


def render_address(street: str, house: str | None, rng: np.random.Generator, *, cross: str | None = None,
                   district_ru: str | None = None) -> tuple[str, str]:
    """Render one messy address for ``street`` (+ ``house``, or an intersection with ``cross``).

    Returns ``(text, style)`` where style lists the corruptions applied, e.g. ``"ru,genitive,typo"``.
    """
    core, kind = split_street_name(street)
    style = []
    lang = "kk" if rng.random() < 0.35 else "ru"
    style.append(lang)
    if lang == "ru":
        for pat, rep in RU_GENITIVE:
            if re.search(pat, core, flags=re.I) and rng.random() < 0.7:
                core = re.sub(pat, rep, core, flags=re.I)
                style.append("genitive")
        form = RU_FORMS[kind][int(rng.integers(len(RU_FORMS[kind])))]
        name = f"{form} {core}"
    else:
        form = KK_FORMS[kind][int(rng.integers(len(KK_FORMS[kind])))]
        name = f"{core} {form}"
    if cross is not None:
        text = _intersection_text(name, cross, lang, rng)
        style.append("intersection")
    else:
        text = _house_text(name, house or "", lang, rng)
    if rng.random() < 0.25:
        text = ("г. Астана, " if lang == "ru" else "Астана қ., ") + text
        style.append("city_prefix")
    if district_ru and rng.random() < 0.15:
        text = f"р-н {district_ru}, " + text
        style.append("district_prefix")
    if rng.random() < 0.5:
        text = text.translate(KEYBOARD)
        style.append("keyboard")
    if rng.random() < 0.12:
        text = _typo(text, rng)
        style.append("typo")
    if rng.random() < 0.03:
        text = text.lower().translate(LATIN)
        style.append("latin")
    if rng.random() < 0.2:
        text = text.upper() if rng.random() < 0.5 else text.lower()
        style.append("case")
    return text, ",".join(style)
