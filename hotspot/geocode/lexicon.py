"""Words of addresses: name-token stemming, the street-type and marker dictionary (with its
abbreviations), the words of an intersection and the canonical Russian word of each street kind.

Name tokens are *stemmed* (one Russian genitive/adjective ending and one final vowel removed) so
that "Кабанбай батыра" and "Қабанбай батыр" give the same key.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from qauipsiz.hotspot.geocode.letters import fold_text
from qauipsiz.hotspot.paths import data_dir

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
        """The kind of the type phrase ``toks`` (folded tokens), or ``None``."""
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
        words[("§" + abbrev_id(a),)] = kind
    starts = frozenset(k[0] for k in words if len(k) > 1)
    return Lexicon(words, max(len(k) for k in words), abbrev_re, starts)


def abbrev_id(a: str) -> str:
    """The placeholder word that stands for abbreviation ``a`` ("р-н" → "рнъ") in tokenised text."""
    return re.sub(r"[^а-я0-9]", "", a) + "ъ"


CROSS_WORDS = ("пересечение", "пересечении", "перекресток", "перекрестке", "угол", "углу", "киылысы",
               "киылысында")
"""Folded words that say "at the intersection of" (Russian, Kazakh)."""
CROSS_FIRST = frozenset(w[0] for w in CROSS_WORDS)


def near_cross(w: str) -> bool:
    """Whether folded word ``w`` is an intersection word, allowing one typo (two in long words)."""
    from rapidfuzz.distance import Levenshtein

    for c in CROSS_WORDS:
        if c[0] == w[0] and abs(len(c) - len(w)) <= 2:
            cut = 1 if len(c) <= 5 else 2
            if Levenshtein.distance(w, c, score_cutoff=cut) <= cut:
                return True
    return False


KIND_WORD = {"street": "улица", "avenue": "проспект", "microdistrict": "микрорайон",
              "lane": "переулок", "boulevard": "бульвар", "highway": "шоссе", "square": "площадь",
              "embankment": "набережная", "alley": "аллея", "bridge": "мост", "block": "квартал"}
