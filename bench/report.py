"""Write ``bench/README.md`` from the last ``make bench`` run (the outputs in ``bench/out/*.txt``).

    python bench/report.py        # after `make bench`, which calls it

The README starts with the machine (cores, load average now and at the start of each script),
then a summary table of every comparison (ours and the peer: median and min–max, ratio of
medians), then each script's full output. Nothing in it is typed by hand.
"""
from __future__ import annotations

import datetime as dt
import os
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import machine_line

HERE = Path(__file__).resolve().parent
HEAD = """# Benchmarks

`make bench` runs every script here, one after another, and then this report; each script times
**ours and the peer in the same run, the same way** (`bench/_timing.py`): one warm-up call each,
timed apart and printed on its own line (it includes numba JIT compilation), then the same number
of timed runs for both (at least 5); the median with its min–max for each and the ratio of
medians (peer / ours: above 1 means ours is faster). Verification (same cells, same optimum,
agreement with a reference) runs after the timing, outside the timed region. Where no real peer
exists the output says so (`peer  none — …`); a reference implementation of our own is labelled
as such. Each script takes `--quick` (`make bench BENCH_ARGS=--quick`) and `--runs N`. Tests never
assert times; these scripts are where the issues' speed targets are checked.

This file is written by `bench/report.py` from the last run's output (`bench/out/`, not
committed); do not edit it by hand.

The machine is shared: read the load average next to each number. With a load above the core
count, medians can be several times slower than on an idle machine and the min–max spread is wide.
"""

NUM = r"([0-9.]+) s"
OURS = re.compile(rf"^\s+ours\s+median {NUM}( CPU)? \[min {NUM} – max {NUM}\] \(n=(\d+)\)")
PEER = re.compile(rf"^\s+peer\s+median {NUM}( CPU)? \[min {NUM} – max {NUM}\] \(n=(\d+)\)\s+\((.*)\)\s*$")
NONE = re.compile(r"^\s+peer\s+none — (.*)$")
RATIO = re.compile(r"ratio of medians peer/ours = ([0-9.]+)x")


def summarise(name: str, text: str) -> list[str]:
    """Rows ``| script | comparison | ours | peer | ratio |`` from one script's output."""
    rows: list[str] = []
    title = ""
    cur: dict = {}
    for line in text.splitlines():
        if line and not line.startswith(" ") and not line.startswith("=="):
            title = line.strip()
        if m := OURS.match(line):
            cur = {"title": title, "ours": f"{m[1]} s [{m[3]}–{m[4]}]{' CPU' if m[2] else ''}", "n": m[5]}
        elif (m := PEER.match(line)) and cur:
            cur["peer"] = f"{m[1]} s [{m[3]}–{m[4]}] {m[6]}"
        elif (m := NONE.match(line)) and cur:
            rows.append(f"| `{name}` | {cur['title']} | {cur['ours']} | none: {m[1]} | — |")
            cur = {}
        elif (m := RATIO.search(line)) and cur.get("peer"):
            rows.append(f"| `{name}` | {cur['title']} | {cur['ours']} | {cur['peer']} | **{m[1]}x** |")
            cur = {}
    return rows


def main() -> None:
    outs = sorted((HERE / "out").glob("*.txt"))
    if not outs:
        raise SystemExit("bench/report.py: no outputs in bench/out/; run `make bench` first")
    parts = [HEAD, f"Last run: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; at the end of the run, "
                   f"{machine_line()}.\n"]
    starts, table = [], []
    for f in outs:
        text = f.read_text(encoding="utf-8")
        m = re.search(r"^machine: .*$", text, re.M)
        mode = re.search(r"\((quick|full) run", text)
        starts.append(f"- `{f.stem}.py` ({mode[1] if mode else '?'} run): "
                      f"{m[0] if m else 'no machine line in its output (it does not use bench/_timing.py)'}")
        table += summarise(f.stem, text)
    parts.append("At the start of each script:\n\n" + "\n".join(starts) + "\n")
    parts.append("## Summary: medians [min–max] in seconds\n\n| script | comparison | ours | peer | "
                 "ratio of medians peer/ours |\n|---|---|---|---|---|\n" + "\n".join(table) + "\n\n"
                 "`api_load.py` reports latencies and throughput over load windows (below), not seconds per call.\n")
    for f in outs:
        parts.append(f"## `{f.stem}.py`\n\n```text\n{f.read_text(encoding='utf-8').rstrip()}\n```\n")
    (HERE / "README.md").write_text("\n".join(parts), encoding="utf-8")
    print(f"wrote {HERE / 'README.md'} from {len(outs)} outputs ({os.cpu_count()} cores, "
          f"{len(table)} comparisons in the summary)")


if __name__ == "__main__":
    main()
