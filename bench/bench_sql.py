"""Benchmark: the policy as SQL on embedded DuckDB against the Python engine, from the same CSV.

    .venv/bin/python bench/bench_sql.py [--n 1000000] [--rounds 3]

Uses the cached HubSpot-like export of bench/bench_check_file.py (policies/japan.stage) and
measures in fresh processes, in interleaved rounds whose order alternates:

- duckdb count(*): DuckDB reading the file as text and counting its rows, the floor of any
  DuckDB query over it;
- stagelang on DuckDB: `stagelang.warehouse.check_on_duckdb`, the compiled findings and
  summary queries over the file, every cell cast to its field's type;
- stagelang Python engine: `Checker.check_files` over the file, as `stagelang check` runs.

Each child reports its run time (imports excluded), peak memory (ru_maxrss) and the number of
records that do not conform; the two engines must report the same number, or the run stops.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_check_file import POLICY, export

AS_OF = "2026-06-30"

FLOOR = """
import resource, sys, time
import duckdb
start = time.perf_counter()
connection = duckdb.connect()
connection.execute("SET enable_progress_bar = false")
rows = connection.execute(
    "SELECT count(*) FROM read_csv(?, all_varchar = true, header = true)", [sys.argv[1]]
).fetchone()[0]
seconds = time.perf_counter() - start
print(-1, seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""

SQL = """
import datetime as dt, resource, sys, time
import stagelang
from stagelang.warehouse import check_on_duckdb
policy = stagelang.load(sys.argv[2])
start = time.perf_counter()
result = check_on_duckdb(policy, sys.argv[1], today=dt.date.fromisoformat(sys.argv[3]))
seconds = time.perf_counter() - start
print(len(result.findings), seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""

PYTHON = """
import datetime as dt, logging, resource, sys, time
import stagelang
from stagelang.checking import Checker
logging.disable(logging.WARNING)
policy = stagelang.load(sys.argv[2])
start = time.perf_counter()
checker = Checker(policy, as_of=dt.date.fromisoformat(sys.argv[3]))
failing = sum(1 for result in checker.check_files([sys.argv[1]]) if not result.conforms)
seconds = time.perf_counter() - start
print(failing, seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""

RUNS = {
    "duckdb count(*)": FLOOR,
    "stagelang on DuckDB": SQL,
    "stagelang Python engine": PYTHON,
}


def measure(script: str, path: Path) -> tuple[int, float, float]:
    """Records not conforming, run time in seconds and peak memory in MiB of one child."""
    output = subprocess.run(
        [sys.executable, "-c", script, str(path), str(POLICY), AS_OF],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return int(output[0]), float(output[1]), int(output[2]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=42)
    options = parser.parse_args()

    path = export(options.n, options.seed)
    print(f"export: {path} ({path.stat().st_size / 2**20:.0f} MiB, {options.n:,} rows)")
    seconds: dict[str, list[float]] = {name: [] for name in RUNS}
    memory: dict[str, list[float]] = {name: [] for name in RUNS}
    for round_index in range(options.rounds):
        names = list(RUNS) if round_index % 2 == 0 else list(reversed(RUNS))
        failing = {}
        for name in names:
            failing[name], run_time, peak = measure(RUNS[name], path)
            seconds[name].append(run_time)
            memory[name].append(peak)
        sql, python = failing["stagelang on DuckDB"], failing["stagelang Python engine"]
        if sql != python:
            sys.exit(f"the engines disagree: DuckDB finds {sql} records, Python {python}")

    python_time = statistics.median(seconds["stagelang Python engine"])
    floor_time = statistics.median(seconds["duckdb count(*)"])
    print(f"{options.rounds} interleaved rounds, medians ({python:,} records not conforming):")
    for name in RUNS:
        run_time = statistics.median(seconds[name])
        print(
            f"  {name:26} {run_time:7.2f} s  {options.n / run_time:11,.0f} rows/s  "
            f"x count(*) {run_time / floor_time:6.2f}  x Python {run_time / python_time:5.2f}  "
            f"peak {statistics.median(memory[name]):6.0f} MiB"
        )


if __name__ == "__main__":
    main()
