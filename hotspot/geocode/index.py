"""In-memory index of one city's gazetteer for the address matcher.

:class:`GazetteerIndex` turns the gazetteer tables (streets, aliases, token postings, pieces,
district clips, crossings, address points, POIs) into the dictionaries and arrays the matcher
looks things up in, and answers geometric questions: a street's lines and where two streets meet.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from qauipsiz.hotspot.cities import get_city
from qauipsiz.hotspot.geocode.gazetteer import Gazetteer
from qauipsiz.hotspot.geocode.lexicon import load_lexicon
from qauipsiz.hotspot.geocode.sources import city_fold_names

_INTERSECT_MAX_M = 60.0


class GazetteerIndex:
    """Lookup tables of one city's gazetteer (base of :class:`~.matcher.Geocoder`)."""

    def __init__(self, gaz: Gazetteer):
        self.gaz = gaz
        self.city = get_city(gaz.city)
        self.lex = load_lexicon()
        self.cities = city_fold_names(self.city)
        st = gaz.streets
        self.n = len(st)
        self.names = st["name"].to_numpy(object)
        self.all_names = [s.split("|") for s in st["names"]]
        self.kind = st["kind"].astype(object).where(st["kind"].notna(), None).to_numpy(object)
        self.lat = st["lat"].to_numpy(float)
        self.lon = st["lon"].to_numpy(float)
        self.unc = st["uncertainty_m"].to_numpy(float)
        self.length = st["length_m"].to_numpy(float)
        self._wkb = st["wkb"].to_numpy(object)
        self._geom: dict[int, shapely.Geometry] = {}
        # exact keys (names and aliases) -> [(sid, is_alias)]
        self.key2: dict[str, list[tuple[int, bool]]] = {}
        for sid, k in enumerate(st["key"]):
            self.key2.setdefault(k, []).append((sid, False))
        for k, sid in zip(gaz.aliases["key"], gaz.aliases["sid"], strict=True):
            self.key2.setdefault(k, []).append((int(sid), True))
        # token postings
        self.tok_sets = [frozenset(t.split()) for t in st["tokens"]]
        post: dict[str, set] = {}
        for sid, ts in enumerate(self.tok_sets):
            for t in ts:
                post.setdefault(t, set()).add(sid)
        self.post = {t: frozenset(v) for t, v in post.items()}
        self.vocab = sorted(t for t in self.post if not t.isdigit())
        self.fuzzy_keys = list(st["key"])
        # stemmed single type words (for dropping mistyped ones: "уллица", "переуок")
        from qauipsiz.hotspot.geocode.lexicon import STREET_KINDS, stem

        self.type_words: dict[str, str] = {}
        for k, v in self.lex.words.items():
            if v in STREET_KINDS and len(k) == 1 and not k[0].startswith("§") and len(k[0]) >= 4:
                self.type_words.setdefault(stem(k[0]), v)
        self.type_vocab = list(self.type_words)
        from qauipsiz.hotspot.geocode.letters import fold_text
        from qauipsiz.hotspot.geocode.lexicon import KIND_WORD as _KIND_WORD

        self.kind_token = {k: stem(fold_text(w)) for k, w in _KIND_WORD.items()}
        self.kind_tokens = _kind_tokens(self.kind_token, self.type_words)
        # district tables
        sd = gaz.street_districts
        self.sd = {(int(s), d): (la, lo, u) for s, d, la, lo, u in
                   zip(sd["sid"], sd["district"], sd["lat"], sd["lon"], sd["uncertainty_m"], strict=True)}
        # pieces: sid -> [(piece, lat, lon, uncertainty_m, districts)], clips (sid, piece, district)
        self.pieces_of: dict[int, list] = {}
        pc, pdd = gaz.pieces, gaz.piece_districts
        assert pc is not None and pdd is not None  # filled by Gazetteer.__post_init__
        for s_, k, la, lo, u, ds in zip(pc["sid"], pc["piece"], pc["lat"], pc["lon"], pc["uncertainty_m"],
                                        pc["districts"], strict=True):
            self.pieces_of.setdefault(int(s_), []).append(
                (int(k), float(la), float(lo), float(u), tuple(d for d in str(ds).split("|") if d)))
        self.piece_sd = {(int(s_), int(k), d): (float(la), float(lo), float(u)) for s_, k, d, la, lo, u in
                         zip(pdd["sid"], pdd["piece"], pdd["district"], pdd["lat"], pdd["lon"],
                             pdd["uncertainty_m"], strict=True)}
        self.sid_districts: dict[int, set] = {}
        # streets whose key (with aliases) reaches no other street: the exact path may answer them
        by_key: dict[str, set] = {}
        for k_, v in self.key2.items():
            by_key[k_] = {s_ for s_, _a in v}
        self._key_solo = {s_ for s_, k_ in enumerate(st["key"]) if by_key.get(k_) == {s_}}
        self._npieces = np.array([len(self.pieces_of.get(s_, ())) for s_ in range(self.n)], dtype=np.int64)
        for s, d in zip(sd["sid"], sd["district"], strict=True):
            self.sid_districts.setdefault(int(s), set()).add(d)
        self.district_keys = {}
        for d, grp in sd.groupby("district", sort=True):
            ids = np.unique(grp["sid"].to_numpy(int))
            self.district_keys[d] = ([self.fuzzy_keys[i] for i in ids], ids)
        dt = gaz.districts
        self.dist_forms = {tuple(k.split()): d for k, d in zip(dt["key"], dt["district"], strict=True)}
        self.dist_point = {d: (la, lo, u) for d, la, lo, u in
                           zip(dt["district"], dt["lat"], dt["lon"], dt["uncertainty_m"], strict=True)}
        self.cross, self.neigh = self._index_crossings(gaz.crossings)
        # addresses and POIs
        ad = gaz.addresses
        self.addr = {(int(s), h): (float(la), float(lo)) for s, h, la, lo in
                     zip(ad["sid"], ad["house"], ad["lat"], ad["lon"], strict=True)}
        po = gaz.pois
        self.poi_keys = list(po["key"])
        self.poi = po
        self.center = tuple(gaz.meta.get("center", (np.nan, np.nan)))
        self.radius_m = float(gaz.meta.get("radius_m", np.nan))
        self._cache: dict[tuple, tuple] = {}
        # exact path: a gazetteer name as written (any case), optionally followed by a house number
        ex: dict[str, set] = {}
        for sid, names in enumerate(self.all_names):
            for nm in names:
                ex.setdefault(nm.lower().strip(), set()).add(sid)
        for nm, sid in zip(gaz.aliases["alias"], gaz.aliases["sid"], strict=True):
            ex.setdefault(nm.lower().strip(), set()).add(int(sid))
        self.exact = {k: next(iter(v)) for k, v in ex.items() if len(v) == 1}


    @staticmethod
    def _index_crossings(cr: pd.DataFrame) -> tuple[dict[tuple, list], dict[int, list]]:
        """Crossings ``(a, b) -> [(lat, lon, radius_m, district)]`` and each street's crossing
        neighbours ``sid -> [sid, ...]`` (sorted)."""
        cross: dict[tuple, list] = {}
        for a, b, la, lo, r, d in zip(cr["a"], cr["b"], cr["lat"], cr["lon"], cr["radius_m"],
                                      cr["district"].astype(object), strict=True):
            d = d if isinstance(d, str) else None
            cross.setdefault((int(a), int(b)), []).append((float(la), float(lo), float(r), d))
        nb: dict[int, set] = {}
        for a, b in cross:
            nb.setdefault(a, set()).add(b)
            nb.setdefault(b, set()).add(a)
        return cross, {k: sorted(v) for k, v in nb.items()}

    def geometry(self, sid: int) -> shapely.Geometry:
        """Street ``sid``'s lines in the city's UTM CRS (metres)."""
        g = self._geom.get(sid)
        if g is None:
            g = self._geom[sid] = shapely.from_wkb(self._wkb[sid])
        return g

    def _crossing(self, a: int, b: int, district):
        rows = self.cross.get((min(a, b), max(a, b)))
        if rows:
            if district:
                rd = [r for r in rows if r[3] == district]
                rows = rd or rows
            la, lo, r, _ = rows[0]
            if len(rows) > 1:  # several places where the pair meets: widen the radius to cover them
                x, y = self.city.to_metric(np.array([q[1] for q in rows]), np.array([q[0] for q in rows]))
                r = max(r, float(np.hypot(np.asarray(x) - x[0], np.asarray(y) - y[0]).max()) + r)
            return la, lo, r
        if a == b:
            return None
        ga, gb = self.geometry(a), self.geometry(b)
        if ga.is_empty or gb.is_empty:
            return None
        d = shapely.distance(ga, gb)
        if d > _INTERSECT_MAX_M:
            return None
        pa, pb = shapely.ops.nearest_points(ga, gb)
        lo, la = self.city.to_wgs84((pa.x + pb.x) / 2, (pa.y + pb.y) / 2)
        return float(la), float(lo), 30.0 + float(d)


def _kind_tokens(kind_token: dict[str, str], type_words: dict[str, str]) -> dict[str, list[str]]:
    """Every stemmed word of each street kind, the canonical one first ("мост", then "копир" for
    bridge): a gazetteer name may keep any of them when another type word is its head."""
    out: dict[str, list[str]] = {k: [w] for k, w in kind_token.items()}
    for w, k in type_words.items():
        if w not in out.setdefault(k, []):
            out[k].append(w)
    return out
