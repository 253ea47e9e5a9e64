"""Address normaliser: Kazakh/Russian folding, 2021 Kazakh Latin, type words, house numbers, hints.

Everything here is pure string work on one address at a time (the matcher de-duplicates a batch
first).  The canonical form is lower-case *folded Cyrillic*: Kazakh letters are replaced by what a
Russian keyboard types (қ→к, ұ/ү→у, ө→о, ә→а, і→и, ғ→г, ң→н, һ→х), ё→е, й→и, я→иа, ю→иу, ц→тс,
щ→шш, э→е and the hard/soft signs are dropped, so that Cyrillic and 2021-Latin spellings of one
name meet.  Name tokens are then *stemmed* (one Russian genitive/adjective ending and one final
vowel removed) so that "Кабанбай батыра" and "Қабанбай батыр" give the same key.
"""
from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from qauipsiz.hotspot.paths import data_dir

# ---------------------------------------------------------------------------------------------
# letters
# ---------------------------------------------------------------------------------------------
KAZAKH_ONLY = "әғқңөұүһі"
"""The nine letters the Kazakh Cyrillic alphabet adds to the Russian one."""

KAZAKH_ALPHABET = "аәбвгғдеёжзийкқлмнңоөпрстуұүфхһцчшщъыіьэюя"
"""The 42 lower-case letters of the Kazakh Cyrillic alphabet."""

_FOLD = {
    "қ": "к", "ұ": "у", "ү": "у", "ө": "о", "ә": "а", "і": "и", "ғ": "г", "ң": "н", "һ": "х",
    "ё": "е", "й": "и", "я": "иа", "ю": "иу", "ц": "тс", "щ": "шш", "э": "е", "ъ": "", "ь": "",
    # look-alikes and stray forms that turn up in typed text
    "ӊ": "н", "ҳ": "х", "ӯ": "у", "ї": "и", "є": "е",
}
_FOLD_TABLE = str.maketrans(_FOLD)

# 2021 Kazakh Latin alphabet (Cyrillic -> Latin).  Letters outside native Kazakh words follow the
# usual practice of the 2021 proposal's transliteration rules.
LATIN_2021 = {
    "а": "a", "ә": "ä", "б": "b", "в": "v", "г": "g", "ғ": "ğ", "д": "d", "е": "e", "ё": "io",
    "ж": "j", "з": "z", "и": "i", "й": "i", "к": "k", "қ": "q", "л": "l", "м": "m", "н": "n",
    "ң": "ñ", "о": "o", "ө": "ö", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ұ": "ū",
    "ү": "ü", "ф": "f", "х": "h", "һ": "h", "ц": "ts", "ч": "ch", "ш": "ş", "щ": "şş", "ъ": "",
    "ы": "y", "і": "ı", "ь": "", "э": "e", "ю": "iu", "я": "ia",
}
_TO_LATIN = str.maketrans(LATIN_2021)
# strict inverse: one Latin letter -> one Cyrillic letter, the only digraph is "ch"
_FROM_LATIN_STRICT = {
    "a": "а", "ä": "ә", "b": "б", "d": "д", "e": "е", "f": "ф", "g": "г", "ğ": "ғ", "h": "х",
    "ı": "і", "i": "и", "j": "ж", "k": "к", "l": "л", "m": "м", "n": "н", "ñ": "ң", "o": "о",
    "ö": "ө", "p": "п", "q": "қ", "r": "р", "s": "с", "ş": "ш", "t": "т", "u": "у", "ū": "ұ",
    "ü": "ү", "v": "в", "y": "ы", "z": "з",
}
LATIN_2021_LETTERS = "".join(sorted(_FROM_LATIN_STRICT))
"""Lower-case letters of the 2021 Kazakh Latin alphabet (plus the digraph "ch")."""

# lenient reading of Latin as people type it: older 2017/2018 variants, informal digraphs
_LATIN_LENIENT = dict(_FROM_LATIN_STRICT) | {
    "ŋ": "ң", "ń": "ң", "á": "ә", "ǵ": "ғ", "ó": "ө", "ú": "ұ", "ý": "у", "ç": "ч", "c": "с",
    "w": "у", "x": "х", "İ": "и", "ı": "і", "é": "е", "è": "е", "à": "а",
}
_LATIN_DIGRAPHS = {"sh": "ш", "ch": "ч", "zh": "ж", "kh": "х", "ts": "ц", "ya": "я", "yu": "ю",
                   "yo": "е", "gh": "ғ"}
_DIGRAPH_RE = re.compile(r"sh|ch|zh|kh|ts|gh|(?<![bcdfghjklmnpqrstvwxzğñşç])y[aou]")
_Y_AFTER_VOWEL = re.compile(r"(?<=[aeiouäöüū])y\b")
# Latin letters that look like Cyrillic ones inside an otherwise Cyrillic word
_HOMOGLYPH = str.maketrans({"a": "а", "b": "в", "c": "с", "e": "е", "h": "н", "i": "і", "k": "к",
                            "m": "м", "o": "о", "p": "р", "t": "т", "x": "х", "y": "у"})
_LATIN_RE = re.compile(r"[a-zäöüūğñşıçáéóúýńǵŋ]")
_WORD_RE = re.compile(r"[^\W\d_]+", re.UNICODE)
_CYR_RE = re.compile(r"[а-яёәғқңөұүһі]")


def fold(text: str) -> str:
    """Case-fold and keyboard-fold ``text`` (Cyrillic): lower case, Kazakh letters → Russian ones.

    Latin letters are left alone (see :func:`from_latin`).  ``fold(fold(s)) == fold(s)``.
    """
    return text.lower().translate(_FOLD_TABLE)


def to_latin(text: str) -> str:
    """Transliterate Kazakh Cyrillic ``text`` to the 2021 Kazakh Latin alphabet (lower case)."""
    return text.lower().translate(_TO_LATIN)


def from_latin(text: str, strict: bool = False) -> str:
    """Transliterate Latin ``text`` to Kazakh Cyrillic (lower case).

    ``strict=True`` reads only the 2021 alphabet (one letter per letter, "ch" → ч), the exact
    inverse of :func:`to_latin` up to :func:`fold`.  The default lenient mode also reads older
    2017/2018 variants (á, ń, ú …) and informal digraphs (sh, zh, kh, ya …), and "y" after a vowel
    as й ("Abay").  Characters that are not Latin letters pass through.
    """
    t = text.lower()
    if strict:
        t = t.replace("ch", "ч")
        return "".join(_FROM_LATIN_STRICT.get(ch, ch) for ch in t)
    t = _Y_AFTER_VOWEL.sub("й", t)
    t = _DIGRAPH_RE.sub(lambda m: _LATIN_DIGRAPHS[m.group()], t)
    out = []
    for ch in t:
        r = _LATIN_LENIENT.get(ch)
        if r is None and "a" <= ch <= "z":
            r = ch
        if r is None and ch.isalpha() and not _CYR_RE.match(ch):
            base = unicodedata.normalize("NFD", ch)[0]
            r = _LATIN_LENIENT.get(base, "")
        out.append(ch if r is None else r)
    return "".join(out)


def _fix_word(m: re.Match) -> str:
    w = m.group()
    if not _LATIN_RE.search(w):
        return w
    if _CYR_RE.search(w):  # mixed script: Latin look-alikes typed inside a Cyrillic word
        w = w.translate(_HOMOGLYPH)
        return from_latin(w) if _LATIN_RE.search(w) else w
    return from_latin(w)


def fold_text(text: str) -> str:
    """Fold any address text to canonical lower-case folded Cyrillic.

    Whole-Latin words are transliterated (2021 Kazakh Latin, lenient), Latin look-alike letters
    inside Cyrillic words are replaced, then :func:`fold` is applied.  Digits and punctuation stay.
    """
    t = unicodedata.normalize("NFC", text).lower()
    if _LATIN_RE.search(t):
        t = _WORD_RE.sub(_fix_word, t)
    return t.translate(_FOLD_TABLE)


# ---------------------------------------------------------------------------------------------
# stemming
# ---------------------------------------------------------------------------------------------
_ENDINGS = ("ого", "его", "аиа", "ыи", "ии", "ое", "ои")
_VOWELS = set("аеиоуы")


def stem(tok: str) -> str:
    """Stem one folded name token: drop one Russian genitive/adjective ending and a final vowel.

    ``"батыра"`` → ``"батыр"``, ``"толстого"`` → ``"толст"``, ``"абаи"`` (Абай) → ``"аба"``.
    Applied until nothing changes, so ``stem(stem(t)) == stem(t)``.  Tokens with digits or
    shorter than 4 letters are returned unchanged.
    """
    while len(tok) >= 4 and tok.isalpha():
        for e in _ENDINGS:
            if tok.endswith(e) and len(tok) - len(e) >= 3:
                new = tok[: -len(e)]
                break
        else:
            new = tok[:-1] if tok[-1] in _VOWELS else tok
        if new == tok:
            break
        tok = new
    return tok


# ---------------------------------------------------------------------------------------------
# type-word dictionary (data file)
# ---------------------------------------------------------------------------------------------
STREET_KINDS = ("street", "avenue", "microdistrict", "lane", "boulevard", "highway", "square",
                "embankment", "alley", "bridge", "block")
MARKERS = ("house", "building", "flat", "city", "district", "cross", "sep", "landmark", "stop")


@dataclass(frozen=True)
class Lexicon:
    """Folded type words: ``words`` maps a token tuple (1–3 tokens) to its kind."""

    words: dict
    max_len: int
    abbrev_re: re.Pattern
    phrase_starts: frozenset = frozenset()

    def kind(self, toks: tuple) -> str | None:
        return self.words.get(toks)


def _tokens_of(text: str) -> tuple:
    return tuple(t for t in re.split(r"[^а-я0-9]+", text) if t)


@cache
def load_lexicon(path: str | None = None) -> Lexicon:
    """Load the type-word/abbreviation dictionary (default ``data/gazetteer/type_words.csv``)."""
    p = Path(path) if path else data_dir() / "gazetteer" / "type_words.csv"
    words: dict = {}
    abbrevs = []
    with p.open(encoding="utf-8") as f:
        rows = [r for r in csv.reader(f) if r and not r[0].startswith("#")]
    head, rows = rows[0], rows[1:]
    if head[:2] != ["word", "kind"]:
        raise ValueError(f"{p}: header must start with word,kind (got {head})")
    for i, r in enumerate(rows, start=2):
        w, kind = fold_text(r[0].strip()), r[1].strip()
        if kind not in STREET_KINDS and kind not in MARKERS:
            raise ValueError(f"{p} row {i}: unknown kind {kind!r}")
        if re.search(r"[-/.]", w) and " " not in w:
            abbrevs.append((w, kind))
        toks = _tokens_of(w)
        if toks:
            words.setdefault(toks, kind)
    # hyphen/slash/dot abbreviations ("р-н", "пр-т", "ж/м", "ш.а") -> a placeholder word
    alts = sorted({re.escape(a) for a, _ in abbrevs}, key=len, reverse=True)
    # hyphenated abbreviations may be glued to the next word ("р-нСарыарка")
    glue = sorted({re.escape(a) for a, _ in abbrevs if "-" in a and len(a) >= 3}, key=len, reverse=True)
    pat = r"(?<![а-я0-9])(" + "|".join(alts) + r")(?![а-я0-9])"
    if glue:
        pat += r"|(?<![а-я0-9])(" + "|".join(glue) + r")(?=[а-я])"
    abbrev_re = re.compile(pat) if alts else re.compile(r"$^")
    for a, kind in abbrevs:
        words[("§" + _abbrev_id(a),)] = kind
    starts = frozenset(k[0] for k in words if len(k) > 1)
    return Lexicon(words, max(len(k) for k in words), abbrev_re, starts)


def _abbrev_id(a: str) -> str:
    return re.sub(r"[^а-я0-9]", "", a) + "ъ"


# ---------------------------------------------------------------------------------------------
# tokenising and parsing
# ---------------------------------------------------------------------------------------------
_TOKEN_RE = re.compile(r"§[а-я0-9]+|№\s*[0-9а-я]+|\d+(?:-?[а-я]{1,3}\b)?(?:\s*/\s*\d+[а-я]?)?|[а-я]+|/|,|;|\(|\)")
_ORDINAL = re.compile(r"^(\d+)-(иа|и|аиа|ои|ыи|ии|ши|шы|ое|го|ги|ну|ыншы|инши|ом|м)$")
_HOUSE_TOK = re.compile(r"^(\d+)\s*([а-я]?)(?:\s*/\s*(\d+[а-я]?))?$")
_HOUSE_SPLIT = re.compile(r"^(\d+)-?([а-я]{1,2})(?:\s*/\s*(\d+[а-я]?))?$")


@dataclass
class ParsedAddress:
    """One address split into its parts (all text folded).

    ``street``/``cross`` are lists of stemmed name tokens (``cross`` is empty unless the address
    names an intersection); ``street_kind``/``cross_kind`` the type word's kind (``"street"``,
    ``"avenue"`` …) or ``None``; ``house``, ``building``, ``flat`` the parsed numbers
    (``"10а/2"`` style) or ``None``; ``district`` the district key hinted in the text;
    ``landmark`` stemmed tokens naming a place and ``landmark_kind`` its keyword; ``house_bare``
    is True when the house number had no marker ("Абая 10"), so it may belong to the name.
    """

    street: list = field(default_factory=list)
    street_kind: str | None = None
    cross: list = field(default_factory=list)
    cross_kind: str | None = None
    house: str | None = None
    building: str | None = None
    flat: str | None = None
    district: str | None = None
    city: bool = False
    landmark: list = field(default_factory=list)
    landmark_kind: str | None = None
    house_bare: bool = False

    @property
    def is_intersection(self) -> bool:
        return bool(self.street) and bool(self.cross)


def _lex_tokens(text: str, lex: Lexicon) -> list[str]:
    t = fold_text(text)
    t = lex.abbrev_re.sub(lambda m: " §" + _abbrev_id(m.group()) + " ", t)
    return _TOKEN_RE.findall(t)


def _house_norm(tok: str) -> str | None:
    m = _HOUSE_TOK.match(tok) or _HOUSE_SPLIT.match(tok)
    if not m:
        return None
    h = m.group(1) + (m.group(2) or "")
    if m.group(3):
        h += "/" + m.group(3).replace(" ", "")
    return h


def _classify(tokens: list[str], lex: Lexicon) -> list[tuple[str, str]]:
    """Turn raw tokens into (role, text) pairs; roles: word, num, ord, kind markers, punct."""
    out: list[tuple[str, str]] = []
    i, n = 0, len(tokens)
    while i < n:
        t = tokens[i]
        if t in ",;()/":
            out.append(("punct", t))
            i += 1
            continue
        if t[0] == "№":
            out.append(("ord", t[1:].strip()))
            i += 1
            continue
        if t[0].isdigit():
            m = _ORDINAL.match(t)
            if m:
                out.append(("ord", m.group(1)))
            else:
                out.append(("num", re.sub(r"\s+", "", t)))
            i += 1
            continue
        # longest type phrase first
        hit = None
        if t in lex.phrase_starts:
            for L in range(min(lex.max_len, n - i), 1, -1):
                k = lex.words.get(tuple(tokens[i:i + L]))
                if k is not None:
                    hit = (k, L)
                    break
        if hit is None:
            k = lex.words.get((t,))
            if k is not None:
                hit = (k, 1)
        if hit:
            out.append(("k:" + hit[0], " ".join(tokens[i:i + hit[1]])))
            i += hit[1]
        elif len(t) >= 4 and t[0] in _CROSS_FIRST and _near_cross(t):
            out.append(("k:cross", t))  # mistyped "пересечение", "угол", "қиылысы"
            i += 1
        else:
            out.append(("word", t))
            i += 1
    return out


_CROSS_WORDS = ("пересечение", "пересечении", "перекресток", "перекрестке", "угол", "углу", "киылысы",
                "киылысында")
_CROSS_FIRST = frozenset(w[0] for w in _CROSS_WORDS)


def _near_cross(w: str) -> bool:
    from rapidfuzz.distance import Levenshtein

    for c in _CROSS_WORDS:
        if c[0] == w[0] and abs(len(c) - len(w)) <= 2:
            cut = 1 if len(c) <= 5 else 2
            if Levenshtein.distance(w, c, score_cutoff=cut) <= cut:
                return True
    return False


def _name_tokens(items: list[tuple[str, str]]) -> list[str]:
    """Stemmed name tokens of a street phrase: merge letter+number ("е 522" → "е522")."""
    toks: list[str] = []
    prev_letter = False
    # "576 Е" (code written backwards) -> "е576"
    if len(items) == 2 and items[0][0] == "num" and items[1][0] == "word" and len(items[1][1]) == 1 \
            and items[0][1].isdigit():
        return [items[1][1] + items[0][1]]
    for role, t in items:
        if role in ("num", "ord"):
            num = re.sub(r"[^0-9а-я]", "", t)
            if prev_letter and toks and num.isdigit():
                toks[-1] = toks[-1] + num
            else:
                toks.append(num)
            prev_letter = False
        elif role == "word":
            toks.append(stem(t))
            prev_letter = len(t) == 1
        else:
            prev_letter = False
    return [t for t in toks if t]


def name_key_tokens(name: str, lex: Lexicon | None = None) -> tuple[list[str], str | None]:
    """Canonical tokens and type kind of a gazetteer street name (no house-number parsing).

    ``"Қабанбай Батыр даңғылы"`` → ``(["кабанб", "батыр"], "avenue")``.  Type words are removed
    unless they are the whole name (see :func:`_street_phrase` for which type word is the head).
    """
    lex = lex or load_lexicon()
    items = [it for it in _classify(_lex_tokens(name, lex), lex) if it[0] != "punct"]
    return _street_phrase(items, lex)


def name_key(name: str, lex: Lexicon | None = None) -> str:
    """Order-free canonical key of a name: sorted stemmed tokens joined by spaces."""
    return " ".join(sorted(name_key_tokens(name, lex)[0]))


_NAME_ROLES = ("k:landmark", "k:sep")


def _as_words(items):
    """Items that belong to a name: words, numbers, and landmark/separator words used in names."""
    out = []
    for r, t in items:
        if r in ("word", "num", "ord"):
            out.append((r, t))
        elif r in _NAME_ROLES:
            out.extend(("word", w) for w in t.split() if not w.startswith("§"))
    return out


def _street_phrase(items, lex):
    """Name tokens and kind of one street phrase.

    The *head* type word is the first item (Russian "ул. X") or else the last (Kazakh "X көшесі");
    other type words of the same kind are dropped, type words of another kind are part of the
    name ("улица 2-й микрорайон", "улица Набережная 2").
    """
    typed = [i for i, (r, _) in enumerate(items) if r[2:] in STREET_KINDS]
    kind = None
    keep = []
    if typed:
        head = 0 if typed[0] == 0 else (len(items) - 1 if typed[-1] == len(items) - 1 else typed[0])
        kind = items[head][0][2:]
    for r, t in items:
        k = r[2:]
        if k in STREET_KINDS:
            if k != kind:
                keep.extend(("word", w) for w in t.split() if not w.startswith("§"))
        else:
            keep.append((r, t))
    toks = _name_tokens(_as_words(keep))
    if not toks:  # the name is only type words ("Набережная"): they are the name, with no type
        toks = [stem(w) for r, t in items if r[2:] in STREET_KINDS for w in t.split() if not w.startswith("§")]
        kind = None
    return toks, kind


def parse_address(text: str, districts: dict | None = None, cities: frozenset = frozenset(),
                  lex: Lexicon | None = None) -> ParsedAddress:
    """Parse one free-text address into a :class:`ParsedAddress`.

    Parameters
    ----------
    text : str
        Address as typed, Russian or Kazakh, Cyrillic or Latin.
    districts : dict, optional
        Folded district name token(s) (tuple) → district key, used to recognise "р-н X" /
        "X ауданы" prefixes.  Recognised districts are removed from the street and kept as a hint.
    cities : frozenset of str, optional
        Folded city names (e.g. ``{"астана", "нур султан"}``) removed when they appear as a
        prefix ("г. Астана", "Астана қ.").
    lex : Lexicon, optional
        Type-word dictionary (default: the shipped one).
    """
    lex = lex or load_lexicon()
    districts = districts or {}
    p = ParsedAddress()
    items = _classify(_lex_tokens(text, lex), lex)
    if not items:
        return p

    # 1. city and district words (with their marker) -> hints, removed
    items = _strip_city(items, cities, p)
    items = _strip_district(items, districts, p)

    # 2. split into comma segments
    segs: list[list] = [[]]
    for r, t in items:
        if r == "punct" and t in ",;":
            segs.append([])
        elif r == "punct" and t in "()":
            continue
        else:
            segs[-1].append((r, t))
    segs = [s for s in _strip_prefix_segments(segs, districts, p, cities) if s]

    has_cross = any(r == "k:cross" for s in segs for r, _ in s)
    segs = [_take_marked(s, p) for s in segs]  # pass 1: "д. 10", "кв 7", "5 үй"
    segs = [s for s in segs if s]
    named = [any(r == "word" or r.startswith("k:") and r[2:] in STREET_KINDS for r, _ in s) for s in segs]
    street_items: list = []
    cross_items: list = []
    # pass 2a: a segment that is only a number is the house ("Караоткель-2, 3": 3 is the house)
    if p.house is None and any(named):
        for j in range(len(segs) - 1, -1, -1):
            if not named[j]:
                rest = _take_bare(segs[j], p, others_named=True)
                if p.house is not None:
                    segs[j] = rest
                    break
    for s, has_words in zip(segs, named, strict=True):
        rest = _take_bare(s, p, others_named=sum(named) - has_words > 0)  # pass 2b: "Абая 10"
        if not rest:
            continue
        roles = [r for r, _ in rest]
        if "k:landmark" in roles and not any(r[2:] in STREET_KINDS for r in roles) and not p.landmark:
            k = rest[roles.index("k:landmark")][1]
            p.landmark_kind = k
            p.landmark = _name_tokens([(r, t) for r, t in rest if r in ("word", "num", "ord")]) or [stem(k)]
            continue
        if street_items and cross_items:
            continue
        a, b = _split_cross(rest, has_cross)
        if not street_items:
            street_items, cross_items = a, b
        elif not cross_items and a and has_cross:
            cross_items = a
    if street_items:
        p.street, p.street_kind = _street_phrase(street_items, lex)
    if cross_items:
        p.cross, p.cross_kind = _street_phrase(cross_items, lex)
        if not p.cross:
            p.cross_kind = None
    if not p.street and p.cross:
        p.street, p.street_kind, p.cross, p.cross_kind = p.cross, p.cross_kind, [], None
    return p


def _strip_city(items, cities, p):
    if not cities:
        return items
    out = []
    i, n = 0, len(items)
    while i < n:
        r, t = items[i]
        matched = False
        if r == "word":
            for L in (3, 2, 1):
                seg = items[i:i + L]
                if len(seg) == L and all(x[0] == "word" for x in seg):
                    name = " ".join(x[1] for x in seg)
                    if name in cities:
                        prev_m = bool(out) and out[-1][0] == "k:city"
                        next_m = i + L < n and items[i + L][0] == "k:city"
                        at_start = not out or (prev_m and len(out) == 1)
                        follow = i + L >= n or items[i + L][0] == "punct" or next_m
                        if prev_m or next_m or (at_start and follow):
                            if prev_m:
                                out.pop()
                            i += L + (1 if next_m else 0)
                            p.city = True
                            matched = True
                        break
        if not matched:
            out.append(items[i])
            i += 1
    return out


def _strip_prefix_segments(segs, districts, p, cities=frozenset()):
    """Drop comma segments that are a city ("г. Астана", "Астана қ.") or a district ("р-н Есиль",
    "Есіл ауданы"), even when the name itself is mistyped; the district name is matched fuzzily."""
    out = []
    for j, s in enumerate(segs):
        roles = [r for r, _ in s]
        if not s:
            continue
        # a leading segment that is a (mistyped) city name: "Астан ақ.", ". АСТАНА", "г. Аастана"
        if cities and not out and len(s) <= 3 and all(r in ("word", "k:city") for r in roles) \
                and any(any(r == "word" for r, _ in t) for t in segs[j + 1:]):
            words = " ".join(t for r, t in s if r == "word")
            if words and _near_city(words, cities):
                p.city = True
                continue
        if roles[0] == "k:city" or (roles[-1] == "k:city" and len(s) <= 4):
            if all(r in ("word", "k:city") for r in roles) and len(s) <= 4:
                p.city = True
                continue
        if (roles[0] == "k:district" or roles[-1] == "k:district") and len(s) <= 4 \
                and all(r in ("word", "k:district") for r in roles):
            words = tuple(stem(t) for r, t in s if r == "word")
            if p.district is None and words and districts:
                d = districts.get(words)
                if d is None:
                    from rapidfuzz import fuzz, process

                    keys = list(districts)
                    m = process.extractOne(" ".join(words), [" ".join(k) for k in keys], scorer=fuzz.ratio,
                                           score_cutoff=75)
                    d = districts[keys[m[2]]] if m else None
                p.district = d
            continue
        out.append(s)
    return out


def _near_city(words: str, cities: frozenset) -> bool:
    from rapidfuzz import fuzz

    return any(fuzz.ratio(words, c) >= 80 or fuzz.ratio(words.replace(" ", ""), c.replace(" ", "")) >= 80
               for c in cities)


def _strip_district(items, districts, p):
    if not districts:
        return items
    out = list(items)
    for i, (r, _t) in enumerate(items):
        if r != "k:district":
            continue
        # Russian: marker before the name ("р-н Есиль"); Kazakh: after ("Есіл ауданы")
        for lo, hi in ((i + 1, i + 3), (i - 2, i)):
            for L in (2, 1):
                a, b = (lo, lo + L) if lo > i else (hi - L, hi)
                if a < 0 or b > len(items):
                    continue
                seg = items[a:b]
                if not all(x[0] == "word" for x in seg):
                    continue
                key = tuple(stem(x[1]) for x in seg)
                if key in districts:
                    p.district = districts[key]
                    drop = set(range(a, b)) | {i}
                    return [it for j, it in enumerate(out) if j not in drop]
    return items


def _take_marked(seg, p: ParsedAddress):
    """Remove house/building/flat markers and their numbers from one segment, filling ``p``."""
    out = []
    i, n = 0, len(seg)
    while i < n:
        r, t = seg[i]
        if r in ("k:house", "k:flat", "k:building"):
            slot = r[2:]
            # Russian: marker then number ("д. 10", "кв 7"); Kazakh: number then marker ("5 үй")
            if i + 1 < n and (seg[i + 1][0] == "num" or seg[i + 1][0] == "ord" and _has_digit(seg[i + 1][1])):
                val, i = _house_value(seg, i + 1)
                _set(p, slot, val)
                continue
            if out and out[-1][0] == "num":
                _set(p, slot, _house_norm(out.pop()[1]))
                i += 1
                continue
            if slot == "building" and i + 1 < n and seg[i + 1][0] == "word" and len(seg[i + 1][1]) <= 2:
                _set(p, slot, seg[i + 1][1])
                i += 2
                continue
            if slot == "house" and i + 1 < n:  # "д." before a non-number: not a marker after all
                out.append(("word", t))
            i += 1
            continue
        out.append((r, t))
        i += 1
    return out


def _has_digit(t: str) -> bool:
    return any(c.isdigit() for c in t)


def _take_bare(seg, p: ParsedAddress, others_named: bool):
    """A bare trailing number after a street name ("Абая 10", "Абая 10 а"), or a segment that is
    only a number while another segment names the street, is the house number."""
    if p.house is not None or not seg:
        return seg
    body, tail = seg, None
    if len(seg) >= 2 and seg[-2][0] == "num" and seg[-1][0] == "word" and len(seg[-1][1]) == 1 \
            and seg[-2][1].isdigit():
        body, tail = seg[:-2], seg[-2][1] + seg[-1][1]
    elif seg[-1][0] == "num":
        body, tail = seg[:-1], seg[-1][1]
    if tail is None:
        return seg
    has_name = any(r == "word" and len(t) > 1 for r, t in body) or (
        any(r[2:] in STREET_KINDS for r, _ in body) and any(r in ("num", "ord") for r, _ in body))
    if has_name or (not body and others_named):
        h = _house_norm(tail)
        if h is not None:
            p.house = h
            p.house_bare = True
            return body
    return seg


def _house_value(seg, j):
    t = seg[j][1]
    if seg[j][0] == "ord":
        return t, j + 1
    h = _house_norm(t) or t
    # "10 а" / "10 / 2"
    if j + 1 < len(seg) and seg[j + 1][0] == "word" and len(seg[j + 1][1]) == 1 and "/" not in h and not h[-1].isalpha():
        h += seg[j + 1][1]
        j += 1
    return h, j + 1


def _set(p, slot, val):
    if val is not None and getattr(p, slot) is None:
        setattr(p, slot, val)


def _split_cross(items, has_cross):
    """Split a segment into (street, cross street) at "/", or at "и"/"мен" next to a cross word."""
    items = [it for it in items if it[0] != "k:cross"] if has_cross else items
    for k, (r, t) in enumerate(items):
        if r == "punct" and t == "/":
            a, b = items[:k], items[k + 1:]
            if any(x[0] == "word" for x in a) and any(x[0] == "word" for x in b):
                return a, [x for x in b if not (x[0] == "punct")]
    if has_cross:
        seps = [k for k, (r, _t) in enumerate(items) if r == "k:sep" and 0 < k < len(items) - 1]
        # "и" / "мен" before "бен" / "пен", which also occur inside names ("Хусейн бен Талал")
        main = [k for k in seps if items[k][1] in ("и", "мен")]
        for k in main or seps:
            return items[:k], items[k + 1:]
    return [it for it in items if it[0] != "punct"], []


_KIND_WORD = {"street": "улица", "avenue": "проспект", "microdistrict": "микрорайон",
              "lane": "переулок", "boulevard": "бульвар", "highway": "шоссе", "square": "площадь",
              "embankment": "набережная", "alley": "аллея", "bridge": "мост", "block": "квартал"}


def _emit(tokens: list[str], lex: Lexicon) -> str:
    """Write name tokens so that parsing them again gives the same tokens: anything that is not a
    plain, already-stemmed, non-keyword word is protected as a "№…" name number."""
    out = []
    for t in tokens:
        plain = t.isalpha() and len(t) > 1 and stem(t) == t and (t,) not in lex.words and _CYR_ONLY.fullmatch(t)
        out.append(t if plain and not _near_cross(t) else "№" + t)
    return " ".join(out)


_CYR_ONLY = re.compile(r"[а-я]+")


def normalize_address(text: str, lex: Lexicon | None = None) -> str:
    """Canonical one-line form of an address, e.g. ``"проспект кабанб батыр д 10/2"``.

    Street tokens are folded and stemmed, type words reduced to one Russian word per kind,
    intersections written ``"пересечение A и B"``, landmarks as ``"<keyword> <name>"`` and the
    house number as ``"д N"``; city/district prefixes and flat numbers are dropped.
    Idempotent: ``normalize_address(normalize_address(s)) == normalize_address(s)``.
    """
    lex = lex or load_lexicon()
    p = parse_address(text, lex=lex)
    parts = []
    if p.street:
        st = (_KIND_WORD[p.street_kind] + " " if p.street_kind else "") + _emit(p.street, lex)
        if p.cross:
            cr = (_KIND_WORD[p.cross_kind] + " " if p.cross_kind else "") + _emit(p.cross, lex)
            st = f"пересечение {st} и {cr}"
        parts.append(st)
    if p.landmark:
        parts.append(f"{p.landmark_kind} {_emit(p.landmark, lex)}")
    if p.house:
        parts.append(f"д {p.house}")
    return ", ".join(parts)
