"""Geocoding throughput on messy Astana addresses vs a plain rapidfuzz ``extractOne`` baseline.

    python bench/geocode.py [--quick] [--n 10000] [--runs 5]

In one run, on one core (the process is pinned to one CPU where the OS allows it), timed the one
way of ``bench/_timing.py`` on the CPU clock (``time.process_time``, immune to other processes on
a shared machine): one warm-up call, then the same number of timed calls for ours and the peer.

* **ours vs peer, same texts** — ``Geocoder(gazetteer).geocode(addresses)`` against
  ``rapidfuzz.process.extractOne(address, raw_street_names)`` (default WRatio scorer, no
  normalisation) on the same messy addresses made by the labelled-set generator
  (``tests/geocode/make_labelled_set.py``, another seed): keyboard folding, genitive,
  abbreviations, typos, 2021 Latin, swapped words, intersections, house numbers. A fresh geocoder
  per call (built outside the timed region), so nothing is cached from an earlier call.
* **ours, messy, N addresses** and **ours, exact path** (gazetteer names plus a house number):
  the throughput targets; rapidfuzz is not run on all N (it is too slow), so these have no peer
  line.

The right-street rate of both on the messy set is computed after the timing.
Targets: ≥ 5,000 messy addresses/s and ≥ 50,000 exact addresses/s on one core.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from rapidfuzz import process

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from _timing import add_args, compare, header  # noqa: E402

from qauipsiz.hotspot.geocode.gazetteer import Gazetteer, is_stale, shipped_dir  # noqa: E402
from qauipsiz.hotspot.geocode.matcher import Geocoder  # noqa: E402


def _pin_one_core() -> str:
    try:
        cpu = sorted(os.sched_getaffinity(0))[0]
        os.sched_setaffinity(0, {cpu})
        return f"pinned to CPU {cpu}"
    except (AttributeError, OSError):
        return "not pinned"


def _messy(n: int, seed: int) -> pd.DataFrame:
    spec = importlib.util.spec_from_file_location("make_labelled_set", ROOT / "tests/geocode/make_labelled_set.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "m.csv"
        mod.main(["--n", str(n), "--seed", str(seed), "--out", str(out)])
        return pd.read_csv(out, dtype=str, keep_default_na=False)


def main(argv=None) -> int:
    ap = add_args(argparse.ArgumentParser(description=__doc__.splitlines()[0]))
    ap.add_argument("--n", type=int, default=None, help="messy addresses (default 10,000; quick 1,000)")
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args(argv)
    n = a.n or (1_000 if a.quick else 10_000)
    n_base = min(n, 300 if a.quick else 2_000)
    runs = a.runs
    header("geocode benchmark", a.quick, runs)
    print(f"{_pin_one_core()}; n = {n:,} messy addresses, ours and rapidfuzz compared on the first {n_base:,}")

    folder = shipped_dir("astana")
    gaz = Gazetteer.load(folder)
    if is_stale(gaz.meta):
        from qauipsiz.hotspot.geocode.gazetteer import build_gazetteer

        gaz = build_gazetteer("astana")
    names = list(dict.fromkeys(n_ for s in gaz.streets["names"] for n_ in s.split("|")))
    lab = _messy(n, a.seed)
    texts = lab["address"].tolist()
    sub = texts[:n_base]
    fresh = lambda: Geocoder(gaz)  # noqa: E731  (index build outside the timed region)

    t_o, t_p, res_s, base = compare(
        f"messy addresses, {n_base:,} (same texts for both)",
        lambda g: g.geocode(sub), lambda g: [process.extractOne(t, names) for t in sub],
        "rapidfuzz.process.extractOne over the raw street names, default WRatio, no normalisation",
        runs, setup=fresh, clock="cpu")
    t_m, _, res, _ = compare(f"ours, messy, all {n:,}", lambda g: g.geocode(texts), None,
                             "rapidfuzz is compared on the subset above", runs, setup=fresh, clock="cpu")

    rng = np.random.default_rng(a.seed)
    exact = [f"{names[i]}, {h}" for i, h in zip(rng.integers(0, len(names), n * 5), rng.integers(1, 400, n * 5),
                                                    strict=True)]
    exact = list(dict.fromkeys(exact))[: n * 2]
    t_e, _, res_e, _ = compare(f"ours, exact path, {len(exact):,} name + house texts", lambda g: g.geocode(exact),
                               None, "an exact-name lookup has no meaningful fuzzy peer", runs, setup=fresh,
                               clock="cpu")

    # verification, outside the timed region
    # an exact name is a street (score 100, or 79 when its radius exceeds 1 km), or ambiguous when
    # the street lies in far-apart pieces (issue 14.4)
    st_e = (res_e["precision"] == "street").to_numpy()
    assert (st_e | res_e["ambiguous"].to_numpy()).all()
    assert np.isin(res_e["score"].to_numpy()[st_e], [100.0, 79.0]).all()
    sets = [set(s.split("|")) for s in gaz.streets["names"]]

    def right_street(ids, streets, crosses):
        return np.array([s >= 0 and (x in sets[s] or (y != "" and y in sets[s]))
                         for s, x, y in zip(ids, streets, crosses, strict=True)])

    right = right_street(res["street_id"], lab["street"], lab["cross_street"])
    right_s = right_street(res_s["street_id"], lab["street"][:n_base], lab["cross_street"][:n_base])
    right_b = np.array([m is not None and (m[0] == x or m[0] == y)
                        for m, x, y in zip(base, lab["street"][:n_base], lab["cross_street"][:n_base], strict=True)])
    rm, re_ = n / t_m.median, len(exact) / t_e.median
    print(f"\nright street on the {n_base:,} compared: ours {right_s.mean():.1%}, rapidfuzz {right_b.mean():.1%}; "
          f"ours on all {n:,}: {right.mean():.1%}")
    print(f"addresses per CPU-second (medians): ours messy {rm:,.0f}, ours exact {re_:,.0f}, "
          f"ours on the compared subset {n_base / t_o.median:,.0f}, rapidfuzz {n_base / t_p.median:,.0f}")
    print(f"targets: messy ≥ 5,000/s {'MET' if rm >= 5000 else 'MISSED'}; "
          f"exact ≥ 50,000/s {'MET' if re_ >= 50000 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
