"""Letters: the Kazakh and Russian alphabets, keyboard folding and the 2021 Kazakh Latin transliteration.

The canonical form of address text is lower-case *folded Cyrillic*: Kazakh letters are replaced by
what a Russian keyboard types (қ→к, ұ/ү→у, ө→о, ә→а, і→и, ғ→г, ң→н, һ→х), ё→е, й→и, я→иа, ю→иу,
ц→тс, щ→шш, э→е and the hard/soft signs are dropped, so that Cyrillic and 2021-Latin spellings of
one name meet.
"""
from __future__ import annotations

import re
import unicodedata

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
