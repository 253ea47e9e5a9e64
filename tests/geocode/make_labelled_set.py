"""Generate the labelled set of messy Astana addresses (seeded; committed with its output CSV).

    python tests/geocode/make_labelled_set.py [--n 600] [--seed 20240301] [--out tests/geocode/labelled_addresses.csv]

Independent of ``hotspot.geocode`` on purpose: it reads the real street names straight from
``data/streets/astana_streets.json`` / ``astana_intersections.json`` and applies its own corruption
rules (written from DOMAIN.md §3, not from the normaliser), so the matcher cannot pass by sharing
code with the test.  Each row: ``id, address, street, cross_street, house, corruptions``; ``street``
and ``cross_street`` are source names exactly as in the street file.

Corruptions (1–4 per address): keyboard (Kazakh letters typed on a Russian keyboard), genitive
(Russian genitive of person names), abbrev (ул., пр., к-сі, даң., мкр …), typo (one deleted,
doubled, swapped or neighbouring-key character in the name), latin (2021 Kazakh Latin alphabet),
swap (word order of the name reversed), intersection (four phrasings), house (numbers with
letters and slashes, Russian and Kazakh markers), prefix (city / district), flat, case.
"""
from __future__ import annotations

import argparse
import csv
import json
import random
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# street type words as they appear in the OSM names -> kind
NAME_TYPES = {
    "улица": "street", "көшесі": "street", "көше": "street", "проспект": "avenue", "даңғылы": "avenue",
    "переулок": "lane", "тупик": "lane", "тұйық": "lane", "микрорайон": "mkr", "шоссе": "highway",
    "бульвар": "boulevard", "набережная": "embankment", "аллея": "alley", "проезд": "lane",
}
RU_TYPE = {"street": ["ул.", "улица", "ул", "УЛ."], "avenue": ["пр.", "просп.", "проспект", "пр-т"],
           "lane": ["пер.", "переулок"], "mkr": ["мкр", "мкр.", "микрорайон"], "highway": ["ш.", "шоссе"],
           "boulevard": ["б-р", "бульвар"], "embankment": ["наб."], "alley": ["аллея"]}
KK_TYPE = {"street": ["көшесі", "к-сі", "көш."], "avenue": ["даңғылы", "даң."], "lane": ["тұйық көшесі", "тұйығы"],
           "mkr": ["шағын ауданы", "ш.а."], "highway": ["тас жолы"], "boulevard": ["бульвары"],
           "embankment": ["жағалауы"], "alley": ["аллеясы"]}
KEYBOARD = str.maketrans("әғқңөұүһіӘҒҚҢӨҰҮҺІ", "агкноуухиАГКНОУУХИ")
LATIN = {  # 2021 Kazakh Latin alphabet
    "а": "a", "ә": "ä", "б": "b", "в": "v", "г": "g", "ғ": "ğ", "д": "d", "е": "e", "ё": "io", "ж": "j",
    "з": "z", "и": "i", "й": "i", "к": "k", "қ": "q", "л": "l", "м": "m", "н": "n", "ң": "ñ", "о": "o",
    "ө": "ö", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ұ": "ū", "ү": "ü", "ф": "f", "х": "h",
    "һ": "h", "ц": "ts", "ч": "ch", "ш": "ş", "щ": "şş", "ъ": "", "ы": "y", "і": "ı", "ь": "", "э": "e",
    "ю": "iu", "я": "ia",
}
NEIGHBOURS = {  # ЙЦУКЕН neighbours for substitution typos
    "а": "впмы", "б": "ьюл", "в": "аыс", "г": "нш", "д": "лжю", "е": "кн", "ж": "дэ", "з": "щх",
    "и": "мт", "й": "ц", "к": "уе", "л": "од", "м": "си", "н": "ег", "о": "рл", "п": "ар", "р": "по",
    "с": "чм", "т": "иь", "у": "цк", "ф": "ыя", "х": "зъ", "ц": "йу", "ч": "яс", "ш": "гщ", "щ": "шз",
    "ы": "фв", "ь": "тб", "э": "ж", "ю": "бд", "я": "фч",
}
TITLES_GEN = [(r"\bбатыр\b", "батыра"), (r"\bБатыр\b", "Батыра"), (r"\bхан\b", "хана"), (r"\bХан\b", "Хана"),
              (r"\bақын\b", "акына"), (r"\bби\b", "би")]
DISTRICTS_RU = ["Алматы", "Байконур", "Есиль", "Нура", "Сарыарка", "Сарайшык"]
DISTRICTS_KK = ["Алматы", "Байқоңыр", "Есіл", "Нұра", "Сарыарқа", "Сарайшық"]


def split_name(name: str) -> tuple[list[str], str]:
    words = name.split()
    kind = "street"
    core = []
    for w in words:
        k = NAME_TYPES.get(w.lower())
        if k:
            kind = k
        else:
            core.append(w)
    return (core or words), kind


def genitive(words: list[str], rng: random.Random) -> tuple[list[str], bool]:
    """Russian genitive of a person's name: titles (батыр → батыра), surnames, first names."""
    out, changed = [], False
    for i, w in enumerate(words):
        lw = w.lower()
        new = w
        for pat, rep in TITLES_GEN:
            if re.fullmatch(pat, w):
                new = rep
        if new == w and len(words) >= 2 and w[:1].isupper():
            if re.search(r"(ов|ев|ин|ын)$", lw):
                new = w + "а"
            elif re.search(r"(ова|ева|ина)$", lw):
                new = w[:-1] + "ой"
            elif i == 0 and re.search(r"[бвгджзклмнпрстфхцчшщ]$", lw) and len(w) > 3:
                new = w + "а"
        changed |= new != w
        out.append(new)
    return out, changed


def typo(s: str, rng: random.Random) -> str:
    idx = [i for i, ch in enumerate(s) if ch.isalpha()]
    if len(idx) < 5:
        return s
    i = rng.choice(idx[1:-1])
    op = rng.randrange(4)
    if op == 0:
        return s[:i] + s[i + 1:]
    if op == 1 and i + 1 < len(s) and s[i + 1].isalpha():
        return s[:i] + s[i + 1] + s[i] + s[i + 2:]
    if op == 2:
        return s[:i] + s[i] + s[i:]
    nb = NEIGHBOURS.get(s[i].lower())
    if nb:
        return s[:i] + rng.choice(nb) + s[i + 1:]
    return s[:i] + s[i + 1:]


def latin(s: str) -> str:
    return "".join(LATIN.get(ch, ch) for ch in s.lower())


def house_number(rng: random.Random) -> str:
    n = str(rng.choice([rng.randint(1, 30), rng.randint(1, 120), rng.randint(1, 250)]))
    r = rng.random()
    if r < 0.2:
        n += rng.choice("абвАБ")
    elif r < 0.35:
        n += "/" + str(rng.randint(1, 6))
    elif r < 0.42:
        n += rng.choice("аб") + "/" + str(rng.randint(1, 4))
    return n


def render_street(words: list[str], kind: str, lang: str, style: set, rng: random.Random) -> str:
    if lang == "ru":
        t = rng.choice(RU_TYPE.get(kind, RU_TYPE["street"])) if rng.random() < 0.9 else ""
        if (t and t.endswith(".")) or t in ("ул", "мкр"):
            style.add("abbrev")
        return (t + (" " if t and not (t.endswith(".") and rng.random() < 0.3) else "") + " ".join(words)).strip()
    t = rng.choice(KK_TYPE.get(kind, KK_TYPE["street"])) if rng.random() < 0.9 else ""
    if t in ("к-сі", "көш.", "даң.", "ш.а.", "тұйығы"):
        style.add("abbrev")
    return (" ".join(words) + (" " + t if t else "")).strip()


RU_FORM = re.compile(r"^(улица|проспект|переулок|микрорайон|бульвар|шоссе)\b|\b(улица|переулок)$", re.I)


def make_row(rng: random.Random, names: list[str], pairs: list[tuple[str, str]], want_cross: bool):  # noqa: C901, PLR0912 -- one branch per address style of the labelled set
    style: set = set()
    lang = "kk" if rng.random() < 0.4 else "ru"
    if want_cross:
        a, b = rng.choice(pairs)
        if rng.random() < 0.5:
            a, b = b, a
        wa, ka = split_name(a)
        wb, kb = split_name(b)
        if lang == "ru" and rng.random() < 0.6:
            # Russian OSM names are already genitive ("улица Мурата Насырова"); Kazakh ones are not
            wa, g1 = genitive(wa, rng) if not RU_FORM.search(a) else (wa, False)
            wb, g2 = genitive(wb, rng) if not RU_FORM.search(b) else (wb, False)
            if g1 or g2:
                style.add("genitive")
        sa = render_street(wa, ka, lang, style, rng)
        sb = render_street(wb, kb, lang, style, rng) if rng.random() < 0.7 else " ".join(wb)
        if lang == "ru":
            form = rng.randrange(3)
            text = [f"{sa} / {sb}", f"пересечение {sa} и {sb}", f"угол {sa} и {sb}"][form]
        else:
            text = rng.choice([f"{sa} мен {sb} қиылысы", f"{sa} / {sb}"])
        style.add("intersection")
        street, cross, house = a, b, ""
    else:
        street = rng.choice(names)
        words, kind = split_name(street)
        if lang == "ru" and rng.random() < 0.7 and not RU_FORM.search(street):
            words, g = genitive(words, rng)
            if g:
                style.add("genitive")
        if len(words) >= 2 and rng.random() < 0.15:
            words = words[::-1]
            style.add("swap")
        text = render_street(words, kind, lang, style, rng)
        house = house_number(rng) if rng.random() < 0.85 else ""
        if house:
            style.add("house")
            if lang == "ru":
                text += rng.choice([", д. {h}", ", дом {h}", " {h}", ", {h}", ", д.{h}"]).format(h=house)
                if rng.random() < 0.25:
                    text += f", кв. {rng.randint(1, 200)}"
                    style.add("flat")
            else:
                text += rng.choice([", {h} үй", ", үй {h}", " {h}"]).format(h=house)
                if rng.random() < 0.2:
                    text += f", {rng.randint(1, 200)} пәтер"
                    style.add("flat")
        cross = ""
    if rng.random() < 0.25:
        text = ("г. Астана, " if lang == "ru" else "Астана қ., ") + text
        style.add("prefix")
    if rng.random() < 0.12:
        k = rng.randrange(6)
        text = (f"р-н {DISTRICTS_RU[k]}, " if lang == "ru" else f"{DISTRICTS_KK[k]} ауданы, ") + text
        style.add("prefix")
    if rng.random() < 0.5:
        folded = text.translate(KEYBOARD)
        if folded != text:
            style.add("keyboard")
        text = folded
    if rng.random() < 0.3:
        # typo inside the street name part only (not in the type word or number)
        name_part = " ".join(split_name(street)[0])
        m = re.search(re.escape(name_part.translate(KEYBOARD)), text) or re.search(re.escape(name_part), text)
        if m and len(name_part) >= 6:
            text = text[:m.start()] + typo(m.group(), rng) + text[m.end():]
            style.add("typo")
    if rng.random() < 0.12:
        text = latin(text)
        style.add("latin")
    if rng.random() < 0.15:
        text = text.upper() if rng.random() < 0.5 else text.lower()
        style.add("case")
    return text, street, cross, house, ",".join(sorted(style))


def main(argv=None) -> Path:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=600)
    ap.add_argument("--seed", type=int, default=20240301)
    ap.add_argument("--cross-share", type=float, default=0.25)
    ap.add_argument("--out", default=str(Path(__file__).with_name("labelled_addresses.csv")))
    a = ap.parse_args(argv)
    rng = random.Random(a.seed)
    streets = json.loads((ROOT / "data/streets/astana_streets.json").read_text(encoding="utf-8"))["streets"]
    names = sorted({s["name"].strip() for s in streets if len(s.get("points") or []) >= 2
                    and re.search(r"[^\W\d_]{3,}", s["name"])})
    inter = json.loads((ROOT / "data/streets/astana_intersections.json").read_text(encoding="utf-8"))
    nameset = set(names)
    pairs = sorted({(k.strip(), p["crossroad"].strip()) for k, v in inter.items() for p in v
                    if p.get("crossroad") and k.strip() in nameset and p["crossroad"].strip() in nameset
                    and k.strip() != p["crossroad"].strip()})
    rows = []
    seen = set()
    while len(rows) < a.n:
        r = make_row(rng, names, pairs, rng.random() < a.cross_share)
        if r[0] in seen:
            continue
        seen.add(r[0])
        rows.append(r)
    out = Path(a.out)
    with out.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "address", "street", "cross_street", "house", "corruptions"])
        for i, r in enumerate(rows):
            w.writerow([i, *r])
    return out


if __name__ == "__main__":
    print(main())
