"""Benchmark: `stagelang check` end to end from a CSV file, against reading the file alone.

    .venv/bin/python bench/bench_check_file.py [--n 1000000] [--rounds 3]

Writes (once, cached under bench/data/) a HubSpot-like CSV export of `--n` rows for
policies/japan.stage, made from bench/records.py, then measures in fresh processes, in
interleaved rounds whose order alternates:

- floor: reading the file with `csv.DictReader` and doing nothing else;
- stagelang: `Checker.check_files` over the file (reading, encoding detection, coercion of
  every declared cell, the compiled check, segments and findings), counting results, which is
  `stagelang check` without printing;
- stagelang CLI: `stagelang check --format json` with its output thrown away.

Each child reports its run time (imports excluded) and its peak memory (ru_maxrss). The
summary prints medians and the per-round ratio to the floor.
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

sys.path.insert(0, str(Path(__file__).resolve().parent))

from records import make_record

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / "data"
POLICY = ROOT / "policies" / "japan.stage"

COLUMNS = [
    "record_id", "email", "country", "lifecycle_stage", "icp_fit", "engaged_sessions",
    "need", "process", "decision_makers", "meeting_at", "budget", "stakeholder",
    "contract_signed_at",
]  # fmt: skip

FLOOR = """
import csv, resource, sys, time
start = time.perf_counter()
with open(sys.argv[1], newline="", encoding="utf-8") as file:
    rows = sum(1 for _ in csv.DictReader(file))
seconds = time.perf_counter() - start
print(rows, seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""

ENGINE = """
import resource, sys, time
import stagelang
from stagelang.checking import Checker
policy = stagelang.load(sys.argv[2])
start = time.perf_counter()
checker = Checker(policy, duplicate_ids=sys.argv[3] == "ids")
rows = sum(1 for _ in checker.check_files([sys.argv[1]]))
seconds = time.perf_counter() - start
print(rows, seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""

CLI = """
import contextlib, io, os, resource, sys, time
from stagelang.cli import main
start = time.perf_counter()
sys.argv = ["stagelang", "check", sys.argv[2], sys.argv[1], "--format", "json"]
with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
    try:
        main()
    except SystemExit:
        pass
seconds = time.perf_counter() - start
print(0, seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def cell(value: object) -> str:
    """A typed value as a HubSpot export writes it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return ";".join(value)
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def export(n: int, seed: int) -> Path:
    """The CSV export of n rows, written once and reused."""
    path = DATA / f"contacts_{n}_{seed}.csv"
    if path.exists():
        return path
    DATA.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(COLUMNS)
        for index in range(n):
            record, _ = make_record(index, rng)
            record["email"] = f"user{index}@example.com"
            writer.writerow([cell(record.get(column)) for column in COLUMNS])
    return path


def measure(script: str, path: Path, mode: str) -> tuple[float, float]:
    """Run time in seconds and peak memory in MiB of one child process."""
    output = subprocess.run(
        [sys.executable, "-c", script, str(path), str(POLICY), mode],
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
        "floor: csv.DictReader": (FLOOR, ""),
        "stagelang engine": (ENGINE, "ids"),
        "stagelang engine, no id index": (ENGINE, "no-ids"),
        "stagelang check --format json": (CLI, ""),
    }
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    memory: dict[str, list[float]] = {name: [] for name in runs}
    ratios: dict[str, list[float]] = {name: [] for name in runs}
    for round_index in range(options.rounds):
        names = list(runs) if round_index % 2 == 0 else list(reversed(runs))
        timings = {}
        for name in names:
            script, mode = runs[name]
            timings[name], peak = measure(script, path, mode)
            seconds[name].append(timings[name])
            memory[name].append(peak)
        floor = timings["floor: csv.DictReader"]
        for name in runs:
            ratios[name].append(timings[name] / floor)

    print(f"\n{options.rounds} interleaved rounds, medians:")
    for name in runs:
        run_time = statistics.median(seconds[name])
        rate = options.n / run_time
        print(
            f"  {name:32} {run_time:7.2f} s  {rate:10,.0f} rows/s  "
            f"x floor {statistics.median(ratios[name]):5.2f}  "
            f"peak {statistics.median(memory[name]):6.0f} MiB"
        )
    print(json.dumps({"n": options.n, "seconds": seconds, "peak_mib": memory}))


if __name__ == "__main__":
    main()
