"""Benchmark: `stagelang impact` against checking the export once with each policy.

    .venv/bin/python bench/bench_impact.py [--n 300000] [--rounds 3]

Uses the cached HubSpot-like CSV export of bench_check_file.py (written under bench/data/ on
first use) and two versions of policies/japan.stage, the second with a stricter japan MQL rule
(`engaged_sessions >= 4` instead of 3). In fresh processes, in interleaved rounds whose order
alternates, it measures:

- baseline: two `Checker.check_files` runs over the export, one per policy, one after the
  other, without the id index: the least work a comparison has to do;
- impact: `stagelang.impact.compare(old, new, [export])`, which reads the export once per
  policy side by side, and also asks both policies for each record's qualifying stage.

Each child reports its run time (imports and policy loading excluded) and peak memory; the
summary prints medians and the per-round ratio impact / baseline.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_check_file import export

POLICY = Path(__file__).resolve().parent.parent / "policies" / "japan.stage"

LOAD = """
import resource, sys, time
import stagelang
text = open(sys.argv[2], encoding="utf-8").read()
old = stagelang.loads(text, sys.argv[2])
stricter = text.replace("in japan requires engaged_sessions >= 3",
                        "in japan requires engaged_sessions >= 4")
assert stricter != text
new = stagelang.loads(stricter, sys.argv[2])
"""

BASELINE = (
    LOAD
    + """
from stagelang.checking import Checker
start = time.perf_counter()
rows = 0
for policy in (old, new):
    rows += sum(1 for _ in Checker(policy, duplicate_ids=False).check_files([sys.argv[1]]))
seconds = time.perf_counter() - start
print(rows // 2, seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, 0)
"""
)

IMPACT = (
    LOAD
    + """
from stagelang.impact import compare
start = time.perf_counter()
found = compare(old, new, [sys.argv[1]])
seconds = time.perf_counter() - start
print(found.records + found.unreadable, seconds,
      resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, found.totals.newly_failing)
"""
)


def measure(script: str, path: Path) -> tuple[int, float, float, int]:
    output = subprocess.run(
        [sys.executable, "-c", script, str(path), str(POLICY)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return int(output[0]), float(output[1]), int(output[2]) / 1024, int(output[3])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=42)
    options = parser.parse_args()

    path = export(options.n, options.seed)
    print(f"export: {path} ({path.stat().st_size / 2**20:.0f} MiB, {options.n:,} rows)")
    print(f"python: {sys.version.split()[0]}")
    runs = {"baseline: check with each policy": BASELINE, "stagelang impact": IMPACT}
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    memory: dict[str, list[float]] = {name: [] for name in runs}
    ratios: list[float] = []
    for round_index in range(options.rounds):
        names = list(runs) if round_index % 2 == 0 else list(reversed(runs))
        timings = {}
        for name in names:
            rows, timings[name], peak, newly_failing = measure(runs[name], path)
            assert rows == options.n, (name, rows)
            seconds[name].append(timings[name])
            memory[name].append(peak)
            if name == "stagelang impact":
                changed = newly_failing
        ratios.append(timings["stagelang impact"] / timings["baseline: check with each policy"])

    print(f"records newly failing under the stricter policy: {changed:,}")
    print(f"\n{options.rounds} interleaved rounds, medians:")
    for name in runs:
        run_time = statistics.median(seconds[name])
        print(
            f"  {name:34} {run_time:7.2f} s  {options.n / run_time:10,.0f} rows/s  "
            f"peak {statistics.median(memory[name]):6.0f} MiB"
        )
    print(f"  impact / baseline: {statistics.median(ratios):.2f}")
    print(json.dumps({"n": options.n, "seconds": seconds, "peak_mib": memory, "ratios": ratios}))


if __name__ == "__main__":
    main()
