"""Address matcher: parsed address → point, precision level, score (0–100) and uncertainty (m).

Order of attempts for a street phrase (the first that succeeds wins):

1. **exact** canonical key (order-free, folded, stemmed) or an alias — score 100 (alias 97);
2. **token repair** — tokens unknown to the gazetteer are replaced by their closest known token
   (rapidfuzz ratio ≥ 75; among the streets sharing the query's known tokens first), then the
   exact key is tried again — score 96 − (4 + 0.6 × (100 − similarity)) per repaired token;
3. **token subset** — streets whose tokens contain all query tokens ("Лермонтова" →
   "улица Михаила Лермонтова") — score 93 − 5 per extra name token;
4. **fuzzy** — rapidfuzz ``ratio`` of the sorted key against all street keys (cut-off 70) —
   score = 0.9 × similarity.

Ties (several streets with the key) are broken by the type word, then by the hinted district.
A street is placed on one of its *pieces* (parts more than ``PIECE_GAP_M`` apart are separate
pieces, see :mod:`.pieces`): the hinted district's piece, or the only one.  When several
streets or pieces remain and nothing separates them (district hint, intersection, a house number
in the address points), the answer is **ambiguous**: every candidate is listed, the precision is
``district`` (all candidates in one district) or ``city``, and the score is at most
:data:`AMBIGUOUS_SCORE` — below :data:`ACCEPT_SCORE`, so the row goes to quarantine.  Any answer
whose uncertainty exceeds :data:`WIDE_M` scores at most :data:`WIDE_SCORE` (never confident).

A result is *confident* when its score is at least :data:`CONFIDENT_SCORE`, and *matched* when it
is at least :data:`ACCEPT_SCORE` with a point at street precision or better; other rows go to
quarantine with their candidates.
"""
from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from qauipsiz.hotspot.cities import get_city
from qauipsiz.hotspot.geocode.gazetteer import (
    Gazetteer,
    build_gazetteer,
    is_stale,
    shipped_dir,
)
from qauipsiz.hotspot.geocode.lexicon import stem
from qauipsiz.hotspot.geocode.normalize import ParsedAddress, _house_norm, parse_address
from qauipsiz.hotspot.geocode.street_match import StreetMatcher

CONFIDENT_SCORE = 85.0
"""Score at or above which a match is called confident (wrong-match rate ≤ 1 % on the labelled set)."""

ACCEPT_SCORE = 70.0
"""Score below which a row is not accepted as matched (goes to quarantine with its candidates)."""

MATCHED_PRECISIONS = ("address", "intersection", "poi", "street")
"""Precision levels that count as a geocoding match in match-rate reports."""

RESULT_COLUMNS = ("lat", "lon", "precision", "score", "uncertainty_m", "matched", "candidates")

AMBIGUOUS_SCORE = 60.0
"""Highest score of an ambiguous answer: the text names two or more streets (or far-apart pieces of
one street) and nothing separates them.  It is below :data:`ACCEPT_SCORE`: ambiguous rows are not
accepted and go to quarantine with every candidate, for a person to choose (a district centroid or
one guessed piece would put the incident on the wrong street for a share of the rows)."""

WIDE_M = 1000.0
"""An answer whose uncertainty radius exceeds this (metres) is never confident."""

WIDE_SCORE = 79.0
"""Highest score of an answer whose uncertainty exceeds :data:`WIDE_M` (below 80, below
:data:`CONFIDENT_SCORE`; still at least :data:`ACCEPT_SCORE`, so a long street stays accepted at
street precision with its wide radius)."""

_EXACT_RE = r"^\s*(?P<name>[^,;/]+?)\s*(?:,\s*(?:д\.|дом)?\s*(?P<house>\d{1,4}[а-я]?(?:\s*/\s*\d{1,4}[а-я]?)?)\s*)?$"


class _Answers:
    """Per-text result arrays of :meth:`Geocoder.geocode`; :meth:`set` stores one
    :meth:`Geocoder._one` tuple."""

    def __init__(self, u: int):
        self.lat = np.full(u, np.nan)
        self.lon = np.full(u, np.nan)
        self.prec = np.full(u, "none", dtype=object)
        self.score = np.zeros(u)
        self.unc = np.full(u, np.nan)
        self.matched = np.full(u, "", dtype=object)
        self.cands = np.full(u, "", dtype=object)
        self.sid = np.full(u, -1, dtype=np.int64)
        self.house = np.full(u, None, dtype=object)
        self.namb = np.zeros(u, dtype=np.int64)

    def set(self, i: int | np.integer, r: tuple) -> None:
        """Store ``(lat, lon, precision, score, uncertainty_m, matched, candidates, street_id,
        house, n_ambiguous)`` at row ``i``."""
        (self.lat[i], self.lon[i], self.prec[i], self.score[i], self.unc[i], self.matched[i],
         self.cands[i], self.sid[i], self.house[i], self.namb[i]) = r


class Geocoder(StreetMatcher):
    """Offline geocoder for one city's gazetteer.

    Create it with :meth:`for_city` (shipped gazetteer, cached per process) or
    :meth:`from_gazetteer`; then call :meth:`geocode` on a batch of address strings.  The lookup
    tables are built by :class:`~.index.GazetteerIndex`, street names matched by
    :class:`~.street_match.StreetMatcher`.
    """

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_gazetteer(cls, gaz: Gazetteer | str | Path) -> Geocoder:
        """A geocoder over a :class:`Gazetteer` object or a gazetteer folder."""
        if not isinstance(gaz, Gazetteer):
            gaz = Gazetteer.load(gaz)
        return cls(gaz)

    @classmethod
    def for_city(cls, city: str = "astana") -> Geocoder:
        """The shipped gazetteer of ``city`` (``data/gazetteer/<city>/``), cached per process.

        The gazetteer is rebuilt from the shipped streets/intersections when it is missing or its
        sources (or the type-word table, alias table, build version) changed; the rebuilt tables
        are written back when the folder is writable.
        """
        return _for_city(get_city(city).key)

    # ------------------------------------------------------------------ public API
    def geocode(self, addresses: Sequence[str], district_hint=None) -> pd.DataFrame:
        """Geocode a batch of free-text addresses.

        Parameters
        ----------
        addresses : sequence of str
            Address texts (Russian/Kazakh, Cyrillic/Latin).  ``None``/NaN give precision ``none``.
        district_hint : str or sequence of str, optional
            District key(s) of the city registry (one for all rows, or one per row; ``None``
            entries allowed).  A hint found in the text itself is used when none is given.

        Returns
        -------
        DataFrame
            One row per input, same order and index 0..n−1: ``lat, lon`` (WGS84 degrees, NaN when
            there is no point), ``precision`` (one of ``hotspot.schema.PRECISION_LEVELS``),
            ``score`` (0–100), ``uncertainty_m`` (metres), ``matched`` (canonical name of what was
            matched, "" when nothing; for an ambiguous row the candidate streets' names joined by
            " | "), ``candidates`` (up to three ``"name (score)"`` alternatives joined by " | " for
            rows below :data:`ACCEPT_SCORE`; for an ambiguous row every candidate piece as
            ``"name [district] lat,lon ±r m"``; else ""), ``ambiguous`` (bool: the text names
            several streets or far-apart pieces of one and nothing separates them; precision is
            then ``district`` or ``city`` and the score at most :data:`AMBIGUOUS_SCORE`), plus
            ``accepted`` (bool: street precision or better and score ≥ ACCEPT_SCORE),
            ``street_id`` (matched street's ``sid``; −1 if none or if an ambiguous row has
            several streets), ``house`` and ``district_hint``.
        """
        texts = pd.Series(list(addresses), dtype=object)
        n = len(texts)
        if isinstance(district_hint, str) or district_hint is None:
            hints = np.full(n, district_hint, dtype=object)
        else:
            hints = np.asarray(list(district_hint), dtype=object)
            if len(hints) != n:
                raise ValueError(f"district_hint: {len(hints)} values for {n} addresses")
        valid_d = set(self.dist_point)
        for i, h in enumerate(hints):
            if h is not None and not (isinstance(h, float) and np.isnan(h)) and h not in valid_d:
                raise ValueError(f"district_hint row {i}: unknown district {h!r} (known: {sorted(valid_d)})")
        hints = np.array([h if isinstance(h, str) else None for h in hints], dtype=object)
        tarr = np.array([t if isinstance(t, str) else "" for t in texts], dtype=object)
        if any(h is not None for h in hints):
            keys = pd.MultiIndex.from_arrays([tarr, np.array([h or "" for h in hints], dtype=object)])
            codes, uniq = pd.factorize(keys)
            utext = np.asarray(uniq.get_level_values(0), dtype=object)
            uhint = np.array([h or None for h in uniq.get_level_values(1)], dtype=object)
        else:
            codes, utext = pd.factorize(tarr)
            utext = np.asarray(utext, dtype=object)
            uhint = np.full(len(utext), None, dtype=object)
        a = _Answers(len(utext))
        done = self._exact_path(utext, uhint, a)
        for j in np.flatnonzero(~done):
            a.set(j, self._one(utext[j], uhint[j]))
        lat, lon, prec, score, unc, matched, cands, sid, house, namb = (
            a.lat, a.lon, a.prec, a.score, a.unc, a.matched, a.cands, a.sid, a.house, a.namb)
        take = np.asarray(codes)
        out = pd.DataFrame({
            "lat": lat[take], "lon": lon[take], "precision": prec[take], "score": score[take],
            "uncertainty_m": unc[take], "matched": matched[take], "candidates": cands[take],
            "street_id": sid[take], "house": house[take], "ambiguous": namb[take] > 1,
        })
        out["accepted"] = np.isin(prec, MATCHED_PRECISIONS)[take] & (score[take] >= ACCEPT_SCORE)
        out["district_hint"] = hints
        return out

    def _exact_path(self, texts, hints, a: _Answers) -> np.ndarray:
        """Vectorised fast path for texts that are a gazetteer name (any case) plus an optional
        house number ("улица Сарыарка, 5", "Сарыарқа даңғылы, д. 12/1").  Fills the result arrays
        of ``a`` in place for those rows and returns the boolean mask of rows it answered."""
        lat, lon, prec, score, unc, matched, sid, house = a.lat, a.lon, a.prec, a.score, a.unc, a.matched, a.sid, a.house
        done = np.zeros(len(texts), bool)
        if not len(texts):
            return done
        m = pd.Series(texts, dtype=object).str.lower().str.extract(_EXACT_RE)
        k = m["name"].map(self.exact).to_numpy(dtype=float, na_value=np.nan)
        hit = np.isfinite(k)
        if not hit.any():
            return done
        # streets in several far-apart pieces: the hinted district's piece, else ambiguous (as the
        # full matcher answers); with an address register, or a key shared with another street,
        # the full matcher decides
        one_piece = self._npieces[k[hit].astype(np.int64)] <= 1
        m_house = m["house"].to_numpy(dtype=object)
        for i in np.flatnonzero(hit)[~one_piece]:
            hit[i] = False
            s_ = int(k[i])
            if self.addr or s_ not in self._key_solo:
                continue
            h = m_house[i]
            h = h.replace(" ", "") if isinstance(h, str) else None
            places = self._places((s_,), hints[i])
            if len(places) == 1:
                _s, _k, la_, lo_, u_, _ds = places[0]
                u_ = max(u_, 15.0)
                r = (la_, lo_, "street", WIDE_SCORE if u_ > WIDE_M else 100.0, u_, self.names[s_], "", s_, h, 0)
            else:
                r = self._ambiguous(places, 100.0, h)
            a.set(i, r)
            done[i] = True
        if not hit.any():
            return done
        idx = np.flatnonzero(hit)
        ks = k[idx].astype(np.int64)
        hs = m_house[idx]
        hs = np.array([h.replace(" ", "") if isinstance(h, str) else None for h in hs], dtype=object)
        la, lo, un = self.lat[ks].copy(), self.lon[ks].copy(), self.unc[ks].copy()
        pr = np.full(len(idx), "street", dtype=object)
        mt = self.names[ks].copy()
        hh = hints[idx]
        if any(h is not None for h in hh) or self.addr:
            for j, (s_, d, h) in enumerate(zip(ks, hh, hs, strict=True)):
                if d is not None and (s_, 0, d) in self.piece_sd:
                    la[j], lo[j], un[j] = self.piece_sd[(s_, 0, d)]
                if h and self.addr and (s_, h) in self.addr:
                    la[j], lo[j] = self.addr[(s_, h)]
                    un[j], pr[j], mt[j] = 15.0, "address", f"{self.names[s_]}, {h}"
        un = np.maximum(un, 15.0)
        lat[idx], lon[idx], unc[idx] = la, lo, un
        prec[idx], score[idx], matched[idx], sid[idx], house[idx] = pr, np.where(un > WIDE_M, WIDE_SCORE, 100.0), mt, ks, hs
        done[idx] = True
        return done

    def geocode_one(self, address: str, district_hint: str | None = None) -> dict:
        """Geocode one address; returns ``{"lat","lon","precision","score","uncertainty_m","matched"}``,
        plus ``"ambiguous": True`` and ``"candidates"`` (list of str) when the answer is ambiguous."""
        r = self.geocode([address], district_hint).iloc[0]
        out = {"lat": None if np.isnan(r.lat) else round(float(r.lat), 7),
               "lon": None if np.isnan(r.lon) else round(float(r.lon), 7),
               "precision": r.precision, "score": round(float(r.score), 1),
               "uncertainty_m": None if np.isnan(r.uncertainty_m) else round(float(r.uncertainty_m), 1),
               "matched": r.matched}
        if r.ambiguous:
            out["ambiguous"] = True
            out["candidates"] = r.candidates.split(" | ")
        return out

    def parse(self, address: str) -> ParsedAddress:
        """Parse ``address`` with this city's district and city names (see :func:`parse_address`)."""
        return parse_address(address, self.dist_forms, self.cities, self.lex)

    # ------------------------------------------------------------------ internals
    def _one(self, text: str, hint: str | None):
        """Full parse and match of one text: ``(lat, lon, precision, score, uncertainty_m, matched,
        candidates, street_id, house, n_ambiguous)``; any answer wider than :data:`WIDE_M` is capped
        at :data:`WIDE_SCORE`."""
        r = self._one_raw(text, hint)
        if r[1] == r[1] and r[2] in MATCHED_PRECISIONS and r[4] > WIDE_M and r[3] > WIDE_SCORE:
            r = (*r[:3], WIDE_SCORE, *r[4:])
        return r

    def _one_raw(self, text: str, hint: str | None):  # noqa: C901, PLR0912 -- the fallback cascade (landmark, crossing, street, POI, district, city) reads top-down as one decision; tests pin each step
        p = self.parse(text)
        district = hint or p.district
        house = p.house
        if p.landmark and len(self.poi_keys) and p.street:
            # "ТРЦ Керуен, ул. Достык 9": a well-matched landmark is more precise than the street
            r = self._match_poi(p.landmark)
            if r is not None and r[3] >= 90:
                return r
        if not p.street and p.landmark and not len(self.poi_keys):
            # "Триатлон Парк": a landmark word that is part of a street name
            kw = [stem(w) for w in (p.landmark_kind or "").split() if not w.startswith("§")]
            s0 = self.match_street(p.landmark + kw, None, district)
            if s0[0] is not None and s0[1] >= 90:
                p.street = p.landmark + kw
        if p.street:
            s1 = None
            if house and p.house_bare and not p.cross:
                # "Караоткель-2", "улица 20-40": a bare trailing number that completes a name
                hit = self.key2.get(" ".join(sorted(p.street + [_digits(house)])))
                if hit and str(_digits(house)) == house:
                    sid, tied = self._choose([s_ for s_, _ in hit], p.street_kind, district)
                    s1, house = (sid, 100.0, "", tied), None
            if s1 is None:
                s1 = self.match_street(p.street, p.street_kind, district)
            if s1[0] is None and house and not p.cross:
                # names ending in a number ("Самал 2", "Жасыл Саябақ-223") read as street + house
                s1b = self.match_street(p.street + [_digits(house)], p.street_kind, district)
                if s1b[0] is not None and s1b[1] >= 90:
                    s1, house = s1b, None
            if p.cross:
                s2 = self.match_street(p.cross, p.cross_kind, district)
                best = None
                if s1[0] is not None and s2[0] is not None:
                    # an intersection separates namesakes: the candidate pair that really meets
                    for a in s1[3]:
                        for b in s2[3]:
                            pt = self._crossing(a, b, district)
                            if pt is not None:
                                best = (min(s1[1], s2[1]), a, b, pt)
                                break
                        if best is not None:
                            break
                if best is None or best[0] < 90:
                    # one side mistyped: the street that really crosses the other side, if one is
                    # close enough in spelling ("Хаетау / Габидена Мустафина" → Хантау)
                    for toks, other in ((p.street, s2), (p.cross, s1)):
                        r = self._refine_by_crossing(toks, other, district)
                        if r is not None and (best is None or r[0] > best[0]):
                            best = r if toks is p.cross else (r[0], r[2], r[1], r[3])
                if best is not None:
                    sc, a, b, (la, lo, r) = best
                    return (la, lo, "intersection", sc, r, f"{self.names[a]} / {self.names[b]}", "", a, None, 0)
                if s1[0] is not None and s2[0] is not None:
                    s1 = (s1[0], s1[1] - 15, s1[2], s1[3])  # streets that do not meet: street precision
                elif s1[0] is None and s2[0] is not None:
                    s1 = (s2[0], s2[1] - 15, s2[2], s2[3])
                else:
                    s1 = (s1[0], s1[1] - 15, s1[2], s1[3]) if s1[0] is not None else s1
            sid, score, cands, tied = s1
            if sid is not None:
                if house and self.addr:
                    # an address point separates namesakes: the candidates that have this house
                    hits = {}
                    for s_ in tied:
                        hp = self.addr.get((s_, house)) or self.addr.get((s_, _house_norm(house) or house))
                        if hp is not None:
                            hits[s_] = hp
                    if len(hits) == 1:
                        s_, hp = next(iter(hits.items()))
                        return (hp[0], hp[1], "address", score, 15.0, f"{self.names[s_]}, {house}", "", s_, house, 0)
                places = self._places(tied, district)
                if len(places) > 1:
                    return self._ambiguous(places, score, house)
                sid, _k, la, lo, u, _ds = places[0]
                if score >= ACCEPT_SCORE:
                    return (la, lo, "street", score, max(u, 15.0), self.names[sid], "", sid, house, 0)
                if not (district or p.city):  # a weak guess, no better fallback: keep it, flagged
                    return (la, lo, "street", score, max(u, 15.0), self.names[sid], cands or
                            f"{self.names[sid]} ({score:.0f})", sid, house, 0)
                # a weak guess but a known district/city: report that, with the guess as candidate
                street_cands = cands or f"{self.names[sid]} ({score:.0f})"
            else:
                street_cands = cands
        else:
            street_cands = ""
        if p.landmark and len(self.poi_keys):
            r = self._match_poi(p.landmark)
            if r is not None:
                return r
        if district and district in self.dist_point:
            la, lo, u = self.dist_point[district]
            return (la, lo, "district", 50.0, u, district, street_cands, -1, house, 0)
        if p.city:
            return (self.center[0], self.center[1], "city", 30.0, self.radius_m, self.city.key, street_cands, -1, house, 0)
        return (np.nan, np.nan, "none", 0.0, np.nan, "", street_cands, -1, house, 0)

    def _places(self, sids, district) -> list[tuple]:
        """Where the candidate streets ``sids`` can be: ``[(sid, piece, lat, lon, uncertainty_m,
        districts)]``, one per piece; with a district, only the pieces in it (clipped to it), unless
        none is."""
        out = []
        for s_ in sids:
            pcs = self.pieces_of.get(s_)
            if not pcs:  # a gazetteer without piece rows for this street: its whole-street point
                out.append((s_, 0, self.lat[s_], self.lon[s_], self.unc[s_], tuple(sorted(self.sid_districts.get(s_, ())))))
            else:
                out.extend((s_, *pc) for pc in pcs)
        if district:
            inside = [(s_, k, *self.piece_sd[(s_, k, district)], (district,)) for s_, k, *_ in out
                      if (s_, k, district) in self.piece_sd]
            if inside:
                return inside
        return out

    def _ambiguous(self, places, score, house):
        """The answer for several candidate places that nothing separates."""
        ds = {d for *_, dd in places for d in (dd or ("",))}
        if len(ds) == 1 and "" not in ds and next(iter(ds)) in self.dist_point:
            prec = "district"
            la, lo, u = self.dist_point[next(iter(ds))]
        else:
            prec = "city"
            (la, lo), u = self.center, self.radius_m
        sids = list(dict.fromkeys(s_ for s_, *_ in places))
        cands = " | ".join(f"{self.names[s_]} [{'/'.join(dd) or 'outside'}] {pla:.6f},{plo:.6f} ±{pu:.0f} m"
                           for s_, _k, pla, plo, pu, dd in places)
        return (la, lo, prec, min(score, AMBIGUOUS_SCORE), u, " | ".join(self.names[s_] for s_ in sids), cands,
                sids[0] if len(sids) == 1 else -1, house, len(places))

def _digits(h: str) -> str:
    return "".join(ch for ch in h.split("/")[0] if ch.isdigit())


@lru_cache(maxsize=8)
def _for_city(city: str) -> Geocoder:
    folder = shipped_dir(city)
    gaz = None
    if (folder / "meta.json").exists():
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        if not is_stale(meta):
            gaz = Gazetteer.load(folder)
    if gaz is None:
        gaz = build_gazetteer(city)
        with contextlib.suppress(OSError):  # read-only install: keep the in-memory build
            gaz.save(folder)
    return Geocoder(gaz)
