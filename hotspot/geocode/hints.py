"""City and district hints in an address: "г. Астана", "Астана қ.", "р-н Есиль", "Есіл ауданы" (even
mistyped) are recognised, recorded on the :class:`~qauipsiz.hotspot.geocode.normalize.ParsedAddress`
(``city``, ``district``) and removed from the classified items before the street is read."""
from __future__ import annotations

from qauipsiz.hotspot.geocode.lexicon import stem


def strip_city(items, cities, p):
    """Remove a city name (1–3 words) next to its marker ("г. Астана", "Астана қ.") or standing
    alone at the start; sets ``p.city``."""
    if not cities:
        return items
    out: list = []
    i, n = 0, len(items)
    while i < n:
        r, _t = items[i]
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


def strip_prefix_segments(segs, districts, p, cities=frozenset()):
    """Drop comma segments that are a city ("г. Астана", "Астана қ.") or a district ("р-н Есиль",
    "Есіл ауданы"), even when the name itself is mistyped; the district name is matched fuzzily."""
    out: list = []
    for j, s in enumerate(segs):
        roles = [r for r, _ in s]
        if not s:
            continue
        # a leading segment that is a (mistyped) city name: "Астан ақ.", ". АСТАНА", "г. Аастана"
        if cities and not out and len(s) <= 3 and all(r in ("word", "k:city") for r in roles) \
                and any(any(r == "word" for r, _ in t) for t in segs[j + 1:]):
            words = " ".join(t for r, t in s if r == "word")
            if words and near_city(words, cities):
                p.city = True
                continue
        if (roles[0] == "k:city" or (roles[-1] == "k:city" and len(s) <= 4)) \
                and all(r in ("word", "k:city") for r in roles) and len(s) <= 4:
            p.city = True
            continue
        if (roles[0] == "k:district" or roles[-1] == "k:district") and len(s) <= 4 \
                and all(r in ("word", "k:district") for r in roles):
            stems = tuple(stem(t) for r, t in s if r == "word")
            if p.district is None and stems and districts:
                d = districts.get(stems)
                if d is None:
                    from rapidfuzz import fuzz, process

                    keys = list(districts)
                    m = process.extractOne(" ".join(stems), [" ".join(k) for k in keys], scorer=fuzz.ratio,
                                           score_cutoff=75)
                    d = districts[keys[m[2]]] if m else None
                p.district = d
            continue
        out.append(s)
    return out


def near_city(words: str, cities: frozenset) -> bool:
    """Whether ``words`` is one of ``cities`` up to typos (rapidfuzz ratio ≥ 80, with or without spaces)."""
    from rapidfuzz import fuzz

    return any(fuzz.ratio(words, c) >= 80 or fuzz.ratio(words.replace(" ", ""), c.replace(" ", "")) >= 80
               for c in cities)


def strip_district(items, districts, p):
    """Remove a known district name (1–2 words) with its marker ("р-н Есиль", "Есіл ауданы"); sets
    ``p.district``."""
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
