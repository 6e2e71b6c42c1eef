"""Benchmark: `stagelang report` end to end over an export with date columns, against the floor.

    .venv/bin/python bench/bench_report.py [--n 1000000] [--rounds 3]

Writes (once, cached under bench/data/) a HubSpot-like export of `--n` rows for
policies/japan.stage: id, country, lifecycle stage and the six `date_entered_*` columns the
policy binds, Japanese contacts slower as in the bundled example. Then measures, in fresh
processes and interleaved rounds whose order alternates:

- floor: reading the file with `csv.DictReader` and doing nothing else;
- stagelang engine: `TimeInStage.read_exports` and `result()` with `--by japan` (reading,
  coercion of the stage, country and date cells, segments, stays, Kaplan-Meier estimates);
- stagelang CLI: `stagelang report --by japan --format json`, output thrown away.

Each child reports its run time (imports excluded) and peak memory (ru_maxrss); the summary
prints medians and the median of per-round ratios to the floor.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import random
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data"
POLICY = ROOT / "policies" / "japan.stage"
STAGES = ("subscriber", "mql", "sql", "meeting_booked", "opportunity", "customer")
COLUMNS = ["record_id", "country", "lifecycle_stage", *(f"date_entered_{s}" for s in STAGES)]
AS_OF = "2026-11-30"

FLOOR = """
import csv, resource, sys, time
start = time.perf_counter()
with open(sys.argv[1], newline="", encoding="utf-8") as file:
    rows = sum(1 for _ in csv.DictReader(file))
seconds = time.perf_counter() - start
print(rows, seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""

ENGINE = """
import datetime, resource, sys, time
import stagelang
from stagelang.reporting import TimeInStage
policy = stagelang.load(sys.argv[2])
start = time.perf_counter()
report = TimeInStage(policy, by="japan", as_of=datetime.date.fromisoformat(sys.argv[3]))
report.read_exports([sys.argv[1]])
result = report.result()
seconds = time.perf_counter() - start
print(result.records, seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""

CLI = """
import contextlib, os, resource, sys, time
from stagelang.cli import main
start = time.perf_counter()
sys.argv = ["stagelang", "report", sys.argv[2], sys.argv[1], "--by", "japan",
            "--as-of", sys.argv[3], "--format", "json"]
with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
    try:
        main()
    except SystemExit:
        pass
seconds = time.perf_counter() - start
print(0, seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def export(n: int, seed: int) -> Path:
    """The CSV export of n rows, written once and reused."""
    path = DATA / f"history_{n}_{seed}.csv"
    if path.exists():
        return path
    DATA.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    as_of = dt.date.fromisoformat(AS_OF)
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(COLUMNS)
        for index in range(n):
            japan = rng.random() < 0.4
            rank = rng.choices(range(len(STAGES)), weights=(25, 25, 15, 12, 13, 10))[0]
            gaps = [rng.randint(2, 45) * (3 if japan and step in (2, 5) else 1)
                    for step in range(1, rank + 1)]  # fmt: skip
            day = as_of - dt.timedelta(days=rng.randint(0, 119) + sum(gaps))
            dates = [day]
            for gap in gaps:
                day += dt.timedelta(days=gap)
                dates.append(day)
            cells = [d.isoformat() for d in dates] + [""] * (len(STAGES) - len(dates))
            country = "JP" if japan else rng.choice(("US", "DE", "GB", "SG"))
            writer.writerow([str(51_000_000 + index), country, STAGES[rank], *cells])
    return path


def measure(script: str, path: Path) -> tuple[float, float]:
    """Run time in seconds and peak memory in MiB of one child process."""
    output = subprocess.run(
        [sys.executable, "-c", script, str(path), str(POLICY), AS_OF],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return float(output[1]), int(output[2]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=42)
    options = parser.parse_args()

    path = export(options.n, options.seed)
    print(f"export: {path} ({path.stat().st_size / 2**20:.0f} MiB, {options.n:,} rows)")
    print(f"python: {sys.version.split()[0]}")
    runs = {
        "floor: csv.DictReader": FLOOR,
        "stagelang report engine": ENGINE,
        "stagelang report --format json": CLI,
    }
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    memory: dict[str, list[float]] = {name: [] for name in runs}
    ratios: dict[str, list[float]] = {name: [] for name in runs}
    for round_index in range(options.rounds):
        names = list(runs) if round_index % 2 == 0 else list(reversed(runs))
        timings = {}
        for name in names:
            timings[name], peak = measure(runs[name], path)
            seconds[name].append(timings[name])
            memory[name].append(peak)
        floor = timings["floor: csv.DictReader"]
        for name in runs:
            ratios[name].append(timings[name] / floor)

    print(f"\n{options.rounds} interleaved rounds, medians:")
    for name in runs:
        run_time = statistics.median(seconds[name])
        print(
            f"  {name:32} {run_time:7.2f} s  {options.n / run_time:10,.0f} rows/s  "
            f"x floor {statistics.median(ratios[name]):5.2f}  "
            f"peak {statistics.median(memory[name]):6.0f} MiB"
        )
    print(json.dumps({"n": options.n, "seconds": seconds, "peak_mib": memory}))


if __name__ == "__main__":
    main()
