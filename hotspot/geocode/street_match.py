"""Street-name matching: stemmed name tokens → street(s), with a score.

:class:`StreetMatcher` tries, in order of trust, the exact key (or an alias), the key with the
type word, token repair, token subset and fuzzy whole-key matching (see :mod:`.matcher` for the
scores); ties are narrowed by the type word and the district.  It also finds the street that
really crosses another one, and matches landmark names to POIs.
"""
from __future__ import annotations

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from qauipsiz.hotspot.geocode.index import GazetteerIndex

GUESS_SCORE = 69.0
"""Score cap of a guess that must not be accepted (below ``matcher.ACCEPT_SCORE`` = 70): the row
goes to quarantine with the guess as its candidate."""
REPAIR_MIN_SIMILARITY = 80.0
"""A name all of whose words were replaced, one with a rapidfuzz ratio below this (two or more
letters changed in a short word: "Куйбышева" → "Карбышева"), is only a guess."""


def _numbers(tokens) -> set[str]:
    """The numbers written in name tokens ("135я" → 135, "218" → 218)."""
    import re

    return {m for t in tokens for m in re.findall(r"\d+", t)}


class StreetMatcher(GazetteerIndex):
    """Street and POI matching over a :class:`~.index.GazetteerIndex`."""

    def match_street(self, tokens: list[str], kind: str | None, district: str | None):
        """Match stemmed name tokens to a street: ``(sid or None, score, candidates_text, tied)``.

        ``tied`` holds every street the name reaches equally well after the type word and the
        district have been used (longest first; ``sid`` is its first); more than one means the
        name alone is ambiguous."""
        ck = (tuple(tokens), kind, district)
        hit = self._cache.get(ck)
        if hit is not None:
            return hit
        r = self._match_street(tokens, kind, district)
        if len(self._cache) < 200_000:
            self._cache[ck] = r
        return r

    def _match_street(self, tokens, kind, district):  # noqa: C901, PLR0912 -- exact key, key with type word, fuzzy key and token postings tried in order of trust; one ladder
        key = " ".join(sorted(tokens))
        hit = self.key2.get(key)
        if kind is not None and (not hit or all(self._kind_clash(s_, kind) for s_, _ in hit)):
            # "2-й ш.а." is "улица 2-й микрорайон": the type word is part of the gazetteer name
            alt = None
            for kw in self.kind_tokens.get(kind, ()):  # "Караоткел копири": көпірі (bridge) is in the name
                alt = self.key2.get(" ".join(sorted([*tokens, kw])))
                if alt:
                    break
            if alt:
                sid, tied = self._choose([s_ for s_, _ in alt], None, district)
                return sid, 97.0, "", tied
        if hit:
            sid, tied = self._choose([s for s, _ in hit], kind, district)
            alias = all(a for s, a in hit if s == sid)
            return sid, (97.0 if alias else 100.0) - (3.0 if self._kind_clash(sid, kind) else 0.0), "", tied
        # type words left inside the name ("улица Набережная улица" typed loosely) are dropped
        bare = [t for t in tokens if t not in self.type_words]
        if bare and len(bare) < len(tokens) and not all(t.isdigit() for t in bare):  # never a bare number
            hit = self.key2.get(" ".join(sorted(bare)))
            if hit:
                sid, tied = self._choose([s for s, _ in hit], kind, district)
                return sid, 97.0 - (3.0 if self._kind_clash(sid, kind) else 0.0), "", tied
            if not all(t in self.post for t in tokens if t in self.type_words):
                tokens = bare  # a type word no street name holds ("көпірі" is in Қараөткел көпірі)
        # token repair: mistyped type words are dropped, other unknown tokens replaced
        repaired = []
        nfix = 0
        fixsum = 0.0
        tie = 0
        worst = 100.0  # the least similar repair
        n_alpha = sum(1 for t in tokens if not t.isdigit())
        # blocking: tokens the gazetteer knows narrow the candidates for the unknown ones
        known = [self.post[t] for t in tokens if t in self.post and not t.isdigit()]
        local = None
        if known and len(known) < n_alpha:
            block = frozenset.intersection(*known)
            if 0 < len(block) <= 50:
                local = sorted({w for s_ in block for w in self.tok_sets[s_]} - set(tokens))
        for t in tokens:
            if t in self.post or t.isdigit() or len(t) < 3:
                repaired.append(t)
                continue
            ms = process.extract(t, self.vocab, scorer=fuzz.ratio, score_cutoff=75, limit=2)
            if local:
                ml = process.extract(t, local, scorer=OSA.normalized_similarity, score_cutoff=0.5, limit=2)
                if ml and (not ms or ms[0][0] != ml[0][0]):
                    ms = [(w, max(75.0, 100 * sc), i) for w, sc, i in ml]
            m = ms[0] if ms else None
            if len(t) >= 4 and n_alpha > 1:
                tw = process.extractOne(t, self.type_vocab, scorer=fuzz.ratio, score_cutoff=80)
                if tw is not None and (m is None or tw[1] >= m[1]):
                    kind = kind or self.type_words[tw[0]]
                    n_alpha -= 1
                    continue
            if m is not None:
                repaired.append(m[0])
                worst = min(worst, float(m[1]))
                nfix += 1
                fixsum += 4.0 + 0.6 * (100.0 - m[1])  # a closer repair costs less
                tie += len(ms) > 1 and ms[1][1] == m[1]  # two known tokens equally close
            else:
                repaired.append(t)
        if not repaired:
            return None, 0.0, "", ()
        fixcost = fixsum + 15.0 * tie
        # every name word replaced, one by a word two or more letters away ("Куйбышева" →
        # "Карбышева"): another street, or an old name the gazetteer lacks; never accepted
        # (a number in the name that matched, "Алмаоы-218", confirms the repair)
        guess_cap = GUESS_SCORE if nfix and nfix >= len(tokens) and worst < REPAIR_MIN_SIMILARITY else 100.0
        if repaired != list(tokens):
            hit = self.key2.get(" ".join(sorted(repaired)))
            if hit:
                sid, tied = self._choose([s for s, _ in hit], kind, district)
                sc = 96.0 - fixcost - (3.0 if self._kind_clash(sid, kind) else 0.0)
                return sid, min(sc, guess_cap), "", tied
        # token subset
        posts = [self.post[t] for t in repaired if t in self.post]
        if posts and len(posts) == len(repaired):
            common = frozenset.intersection(*posts)
            if common:
                extra = {s: len(self.tok_sets[s]) - len(set(repaired)) for s in common}
                best = min(extra.values())
                fewest = [s for s, e in extra.items() if e == best]
                sid, tied = self._choose(fewest, kind, district)
                sc = 93.0 - 5.0 * best - fixcost - (3.0 if self._kind_clash(sid, kind) else 0.0)
                if _numbers(self.tok_sets[sid]) - _numbers(repaired):
                    # the street's name has a number the text lacks ("70 лет Октября" for
                    # "Октябрьская", "Самал-2" for "Самал"): numbers tell streets apart
                    sc = min(sc, GUESS_SCORE)
                return sid, min(sc, guess_cap), "", tied
        # fuzzy over whole keys
        fk = " ".join(sorted(repaired))
        if district and district in self.district_keys:
            # the hinted district first: its streets only, and accept at the usual cut-off
            dk, dsid = self.district_keys[district]
            res = process.extract(fk, dk, scorer=fuzz.ratio, limit=3, score_cutoff=70)
            if res:
                top = [int(dsid[i]) for _k, s_, i in res if s_ == res[0][1]]
                sid, tied = self._choose(top, kind, district)
                cands = " | ".join(f"{self.names[int(dsid[i])]} ({s_:.0f})" for _k, s_, i in res)
                return sid, 0.9 * res[0][1] - 15.0 * tie - \
                    (3.0 if self._kind_clash(sid, kind) else 0.0), cands, tied
        res = process.extract(fk, self.fuzzy_keys, scorer=fuzz.ratio, limit=3, score_cutoff=50)
        cands = " | ".join(f"{self.names[i]} ({s:.0f})" for _k, s, i in res)
        if res and res[0][1] >= 70:
            top = [i for _k, s, i in res if s == res[0][1]]
            sid, tied = self._choose(top, kind, district)
            sc = 0.9 * res[0][1] - 15.0 * tie - (3.0 if self._kind_clash(sid, kind) else 0.0)
            if _numbers(self.tok_sets[sid]) - _numbers(repaired):
                sc = min(sc, GUESS_SCORE)  # "Набережная 5" is not "Набережная 2": numbers tell streets apart
            return sid, min(sc, guess_cap), cands, tied
        return None, 0.0, cands, ()

    def _refine_by_crossing(self, toks, other, district):
        """Among the streets that cross ``other`` (a match ``(sid, score, _)``), the one spelled
        most like ``toks``: ``(score, sid_other, sid_new, point)`` or None."""
        oscore = other[1]
        if other[0] is None or oscore < 80 or not toks:
            return None
        for osid in other[3]:  # each candidate of the other side (namesakes)
            nb = self.neigh.get(osid)
            if not nb:
                continue
            m = process.extractOne(" ".join(sorted(toks)), [self.fuzzy_keys[i] for i in nb], scorer=fuzz.ratio,
                                   score_cutoff=75)
            if m is None:
                continue
            new = nb[m[2]]
            pt = self._crossing(osid, new, district)
            if pt is not None:
                return min(oscore, m[1] - 5.0), osid, new, pt
        return None

    def _kind_clash(self, sid, kind):
        return kind is not None and self.kind[sid] is not None and self.kind[sid] != kind

    def _choose(self, sids: list[int], kind, district) -> tuple[int, tuple]:
        """Narrow candidate streets by the type word, then the district: ``(sid, tied)`` with
        ``tied`` the streets left (longest first, ``sid`` = ``tied[0]``)."""
        sids = list(dict.fromkeys(sids))
        if len(sids) == 1:
            return sids[0], (sids[0],)
        if kind is not None:
            k = [s for s in sids if self.kind[s] == kind]
            if k:
                sids = k
        if district and len(sids) > 1:
            d = [s for s in sids if district in self.sid_districts.get(s, ())]
            if d:
                sids = d
        tied = tuple(sorted(sids, key=lambda s: (-self.length[s], s)))
        return tied[0], tied

    def _match_poi(self, toks):
        key = " ".join(sorted(toks))
        m = process.extractOne(key, self.poi_keys, scorer=fuzz.token_sort_ratio, score_cutoff=80)
        if m is None:
            return None
        _, s, i = m
        r = self.poi.iloc[i]
        return (float(r.lat), float(r.lon), "poi", float(s), float(r.uncertainty_m), str(r["name"]), "", -1, None, 0)
