"""Benchmark: from which export size `stagelang check` is quicker on DuckDB than in Python.

    .venv/bin/python bench/bench_engine_threshold.py [--sizes 1000,3000,...] [--rounds 3]

For each size, writes (once, cached under bench/data/) the HubSpot-like export of
bench/bench_check_file.py and runs the whole command, `stagelang check policies/japan.stage
EXPORT --format json --engine python|duckdb` with its output thrown away, in fresh processes
and interleaved rounds of alternating order. Process start, imports (DuckDB and sqlglot for
the DuckDB engine) and writing the findings are all counted: that is what `--engine auto`
has to weigh. Prints the median wall time of each engine per size, their ratio, and the
smallest measured file size from which DuckDB was quicker; `AUTO_THRESHOLD_BYTES` in
stagelang/duckdb_engine/__init__.py is set from it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_check_file import POLICY, export

ENGINES = ("python", "duckdb")


def run(path: Path, engine: str) -> float:
    """Wall time of one `stagelang check` process."""
    command = [sys.executable, "-m", "stagelang", "check", str(POLICY), str(path)]
    command += ["--format", "json", "--engine", engine, "--as-of", "2026-06-30"]
    start = time.perf_counter()
    with open(os.devnull, "w") as sink:
        finished = subprocess.run(command, stdout=sink, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - start
    if finished.returncode not in (0, 1):
        sys.exit(f"stagelang check --engine {engine} failed:\n{finished.stderr}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,3000,10000,30000,100000,300000")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=42)
    options = parser.parse_args()

    crossover = None
    print(f"{'rows':>9} {'MiB':>7} {'python':>8} {'duckdb':>8} {'duckdb/python':>14}")
    for size in (int(part) for part in options.sizes.split(",")):
        path = export(size, options.seed)
        times: dict[str, list[float]] = {engine: [] for engine in ENGINES}
        for round_index in range(options.rounds):
            order = ENGINES if round_index % 2 == 0 else tuple(reversed(ENGINES))
            for engine in order:
                times[engine].append(run(path, engine))
        python, duckdb = (statistics.median(times[engine]) for engine in ENGINES)
        mib = path.stat().st_size / 2**20
        print(f"{size:>9,} {mib:>7.2f} {python:>7.2f}s {duckdb:>7.2f}s {duckdb / python:>14.2f}")
        if crossover is None and duckdb < python:
            crossover = path.stat().st_size
    if crossover is None:
        print("DuckDB was not quicker at any measured size")
    else:
        print(f"DuckDB quicker from {crossover:,} bytes ({crossover / 2**20:.1f} MiB) on")


if __name__ == "__main__":
    main()
