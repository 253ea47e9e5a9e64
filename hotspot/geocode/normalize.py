"""Address parsing: one free-text address split into street, cross street, house, building, flat,
district and landmark, and its canonical one-line form.

Everything here is pure string work on one address at a time (the matcher de-duplicates a batch
first).  Text is first folded to lower-case Cyrillic (:mod:`.letters`), type words and
abbreviations are recognised with the dictionary and name tokens stemmed (:mod:`.lexicon`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from qauipsiz.hotspot.geocode.hints import strip_city, strip_district, strip_prefix_segments
from qauipsiz.hotspot.geocode.letters import fold_text
from qauipsiz.hotspot.geocode.lexicon import (
    CROSS_FIRST,
    KIND_WORD,
    STREET_KINDS,
    Lexicon,
    abbrev_id,
    load_lexicon,
    near_cross,
    stem,
)

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
        """Whether the address names two streets (a crossing)."""
        return bool(self.street) and bool(self.cross)


def _lex_tokens(text: str, lex: Lexicon) -> list[str]:
    t = fold_text(text)
    t = lex.abbrev_re.sub(lambda m: " §" + abbrev_id(m.group()) + " ", t)
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
        elif len(t) >= 4 and t[0] in CROSS_FIRST and near_cross(t):
            out.append(("k:cross", t))  # mistyped "пересечение", "угол", "қиылысы"
            i += 1
        else:
            out.append(("word", t))
            i += 1
    return out


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


_KORPUS = re.compile(r"(?<![\w/-])(\d+[а-яА-Яa-zA-Z]?)\s?[кК]\.?\s?(\d+)(?![\w/-])")
"""A house number, "к" and a number ("40к2", "40 к3", "40 к.3"): the Russian shorthand of корпус."""
_DROB = re.compile(r"(\d+)\s*(?:дробь|дроб\.?)\s*(\d+)", re.IGNORECASE)
NAME_LIKE_KINDS = frozenset({"embankment"})
"""Type words that are also street names ("Набережная" alone, "Набережная улица"): standing alone
before a number, or before another type word, they are the name, not the type."""


def _street_phrase(items, lex):
    """Name tokens and kind of one street phrase.

    The *head* type word is the first item (Russian "ул. X") or else the last (Kazakh "X көшесі");
    other type words of the same kind are dropped, type words of another kind are part of the
    name ("улица 2-й микрорайон", "улица Набережная 2").
    """
    typed = [i for i, (r, _) in enumerate(items) if r[2:] in STREET_KINDS]
    kind = None
    keep: list = []
    if typed:
        head = 0 if typed[0] == 0 else (len(items) - 1 if typed[-1] == len(items) - 1 else typed[0])
        last = len(items) - 1
        if head == 0 and typed[-1] == last > 0 and items[0][0][2:] in NAME_LIKE_KINDS \
                and items[last][0][2:] not in NAME_LIKE_KINDS:
            head = last  # "Набережная улица": the adjective is the name, "улица" the type
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
    text = _KORPUS.sub(r"\1 корп. \2", text)  # "40к2", "40 к.3": house 40, корпус 2 (not house 2)
    text = _DROB.sub(r"\1/\2", text)  # "40 дробь 1" is 40/1
    items = _classify(_lex_tokens(text, lex), lex)
    if not items:
        return p

    # 1. city and district words (with their marker) -> hints, removed
    items = strip_city(items, cities, p)
    items = strip_district(items, districts, p)

    # 2. split into comma segments; segments that are a city or a district -> hints, removed
    segs = [s for s in strip_prefix_segments(_comma_segments(items), districts, p, cities) if s]

    has_cross = any(r == "k:cross" for s in segs for r, _ in s)
    segs = [_take_marked(s, p) for s in segs]  # pass 1: "д. 10", "кв 7", "5 үй"
    segs = [s for s in segs if s]
    named = [any(r == "word" or (r.startswith("k:") and r[2:] in STREET_KINDS) for r, _ in s) for s in segs]
    _take_lone_house(segs, named, p)  # pass 2a: "Караоткель-2, 3"
    street_items, cross_items = _street_and_cross(segs, named, has_cross, p)  # pass 2b: "Абая 10"
    if street_items:
        p.street, p.street_kind = _street_phrase(street_items, lex)
    if cross_items:
        p.cross, p.cross_kind = _street_phrase(cross_items, lex)
        if not p.cross:
            p.cross_kind = None
    if not p.street and p.cross:
        p.street, p.street_kind, p.cross, p.cross_kind = p.cross, p.cross_kind, [], None
    return p


def _comma_segments(items):
    """Split classified items at commas and semicolons; parentheses are dropped."""
    segs: list[list] = [[]]
    for r, t in items:
        if r == "punct" and t in ",;":
            segs.append([])
        elif r == "punct" and t in "()":
            continue
        else:
            segs[-1].append((r, t))
    return segs


def _take_lone_house(segs, named, p: ParsedAddress) -> None:
    """A segment that is only a number is the house ("Караоткель-2, 3": 3 is the house) when
    another segment names the street; the last such segment is taken (``segs`` updated in place)."""
    if p.house is None and any(named):
        for j in range(len(segs) - 1, -1, -1):
            if not named[j]:
                rest = _take_bare(segs[j], p, others_named=True)
                if p.house is not None:
                    segs[j] = rest
                    break


def _street_and_cross(segs, named, has_cross, p: ParsedAddress):
    """Bare house numbers ("Абая 10") and the landmark go to ``p``; returns the items of the street
    phrase and of the cross-street phrase (empty unless the address names an intersection)."""
    street_items: list = []
    cross_items: list = []
    for s, has_words in zip(segs, named, strict=True):
        rest = _take_bare(s, p, others_named=sum(named) - has_words > 0)
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
    return street_items, cross_items


def _take_marked(seg, p: ParsedAddress):
    """Remove house/building/flat markers and their numbers from one segment, filling ``p``."""
    out: list[tuple[str, str]] = []
    i, n = 0, len(seg)
    while i < n:
        r, t = seg[i]
        if r in ("k:house", "k:flat", "k:building"):
            slot = r[2:]
            # Russian: marker then number ("д. 10", "кв 7"); Kazakh: number then marker ("5 үй")
            if i + 1 < n and (seg[i + 1][0] == "num" or (seg[i + 1][0] == "ord" and _has_digit(seg[i + 1][1]))):
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
        any(r[2:] in STREET_KINDS for r, _ in body) and any(r in ("num", "ord") for r, _ in body)) or (
        len(body) == 1 and body[0][0][2:] in NAME_LIKE_KINDS)  # "Набережная 40": the street Набережная, house 40
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
                return a, [x for x in b if x[0] != "punct"]
    if has_cross:
        seps = [k for k, (r, _t) in enumerate(items) if r == "k:sep" and 0 < k < len(items) - 1]
        # "и" / "мен" before "бен" / "пен", which also occur inside names ("Хусейн бен Талал")
        main = [k for k in seps if items[k][1] in ("и", "мен")]
        for k in main or seps:
            return items[:k], items[k + 1:]
    return [it for it in items if it[0] != "punct"], []


def _emit(tokens: list[str], lex: Lexicon) -> str:
    """Write name tokens so that parsing them again gives the same tokens: anything that is not a
    plain, already-stemmed, non-keyword word is protected as a "№…" name number."""
    out = []
    for t in tokens:
        plain = t.isalpha() and len(t) > 1 and stem(t) == t and (t,) not in lex.words and _CYR_ONLY.fullmatch(t)
        out.append(t if plain and not near_cross(t) else "№" + t)
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
        st = (KIND_WORD[p.street_kind] + " " if p.street_kind else "") + _emit(p.street, lex)
        if p.cross:
            cr = (KIND_WORD[p.cross_kind] + " " if p.cross_kind else "") + _emit(p.cross, lex)
            st = f"пересечение {st} и {cr}"
        parts.append(st)
    if p.landmark:
        parts.append(f"{p.landmark_kind} {_emit(p.landmark, lex)}")
    if p.house:
        parts.append(f"д {p.house}")
    return ", ".join(parts)
