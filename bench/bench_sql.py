"""Benchmark: the policy as SQL on embedded DuckDB against the Python engine, from the same CSV.

    .venv/bin/python bench/bench_sql.py [--n 1000000] [--rounds 3]

Uses the cached HubSpot-like export of bench/bench_check_file.py (policies/japan.stage) and
measures in fresh processes, in interleaved rounds whose order alternates:

- duckdb count(*): DuckDB reading the file as text and counting its rows, the floor of any
  DuckDB query over it;
- handwritten DuckDB: one query an engineer would write by hand for policies/japan.stage
  without stagelang (a CASE ladder over the typed columns of `read_csv`, see HANDWRITTEN_SQL),
  returning the id and first failing stage of every record that does not conform;
- stagelang on DuckDB: `DuckdbChecker.check_files` over the file, as `stagelang check
  --engine duckdb` runs it (the records DuckDB settles are counted there; the others come
  back to Python, which words their findings);
- stagelang Python engine: `Checker.check_files` over the file, as `stagelang check` runs.

Each child reports its run time (imports excluded), peak memory (ru_maxrss), the number of
records that do not conform and, outside the timed part, a digest of their sorted ids. The
engines must report the same number and the two DuckDB queries the same ids, or the run stops.
"""

from __future__ import annotations

import argparse
import json
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

# The policy as a careful engineer would write it for this export, knowing its columns: the
# same ladder as bench/handwritten.py (an `exit when` criterion is reported at the stage it
# leaves), stage values in lower case as the export writes them, empty cells read as NULL.
HANDWRITTEN_SQL = """
SELECT record_id, first_failure FROM (
  SELECT record_id, CASE
    WHEN lifecycle_stage = 'subscriber' THEN NULL
    WHEN engaged_sessions IS NULL OR engaged_sessions < 1 THEN 'subscriber'
    WHEN icp_fit IS NOT TRUE THEN 'mql'
    WHEN country = 'JP' AND engaged_sessions < 3 THEN 'mql'
    WHEN lifecycle_stage = 'mql' THEN NULL
    WHEN need IS NULL THEN 'mql'
    WHEN NOT need OR process IS NOT TRUE THEN 'sql'
    WHEN coalesce(len(string_split(decision_makers, ';')), 0)
         < CASE WHEN country = 'JP' THEN 2 ELSE 1 END THEN 'sql'
    WHEN lifecycle_stage = 'sql' THEN NULL
    WHEN meeting_at IS NULL THEN 'sql'
    WHEN lifecycle_stage = 'meeting_booked' THEN NULL
    WHEN stakeholder IS NULL THEN 'meeting_booked'
    WHEN budget IS NULL OR budget <= 0 THEN 'opportunity'
    WHEN lifecycle_stage = 'opportunity' THEN NULL
    WHEN contract_signed_at IS NULL THEN 'opportunity'
  END AS first_failure
  FROM read_csv(?, header = true, types = {
    'record_id': 'VARCHAR', 'country': 'VARCHAR', 'lifecycle_stage': 'VARCHAR',
    'icp_fit': 'BOOLEAN', 'engaged_sessions': 'BIGINT', 'need': 'BOOLEAN',
    'process': 'BOOLEAN', 'decision_makers': 'VARCHAR', 'meeting_at': 'TIMESTAMPTZ',
    'budget': 'DECIMAL(18, 2)', 'stakeholder': 'VARCHAR', 'contract_signed_at': 'DATE'
  })
) WHERE first_failure IS NOT NULL
"""

# Printed after the timed part by both DuckDB children: a digest of the sorted ids found.
DIGEST = """
import hashlib
def digest(ids):
    return hashlib.sha256("\\n".join(sorted(str(i) for i in ids)).encode()).hexdigest()[:16]
"""

HANDWRITTEN = (
    DIGEST
    + """
import resource, sys, time
import duckdb
start = time.perf_counter()
connection = duckdb.connect()
connection.execute("SET enable_progress_bar = false")
rows = connection.execute(sys.argv[4], [sys.argv[1]]).fetchall()
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(len(rows), seconds, peak, digest(row[0] for row in rows))
"""
)

ENGINE = (
    DIGEST
    + """
import datetime as dt, logging, resource, sys, time
import stagelang
from stagelang.duckdb_engine import DuckdbChecker
logging.disable(logging.WARNING)
policy = stagelang.load(sys.argv[2])
start = time.perf_counter()
checker = DuckdbChecker(policy, as_of=dt.date.fromisoformat(sys.argv[3]))
failing = [r.record_id for r in checker.check_files([sys.argv[1]]) if not r.conforms]
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
assert checker.summary.engine == "duckdb", checker.summary.engine
print(len(failing), seconds, peak, digest(failing))
"""
)

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
    "handwritten DuckDB": HANDWRITTEN,
    "stagelang on DuckDB": ENGINE,
    "stagelang Python engine": PYTHON,
}


def measure(script: str, path: Path) -> tuple[int, float, float, str]:
    """Records not conforming, run time in seconds, peak memory in MiB and the digest of the
    ids found (empty where the child does not print one) of one child."""
    output = subprocess.run(
        [sys.executable, "-c", script, str(path), str(POLICY), AS_OF, HANDWRITTEN_SQL],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    ids = output[3] if len(output) > 3 else ""
    return int(output[0]), float(output[1]), int(output[2]) / 1024, ids


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
    ratios: dict[str, list[float]] = {name: [] for name in RUNS}
    for round_index in range(options.rounds):
        names = list(RUNS) if round_index % 2 == 0 else list(reversed(RUNS))
        failing, ids, timings = {}, {}, {}
        for name in names:
            failing[name], timings[name], peak, ids[name] = measure(RUNS[name], path)
            seconds[name].append(timings[name])
            memory[name].append(peak)
        for name in RUNS:
            ratios[name].append(timings[name] / timings["handwritten DuckDB"])
        check_agreement(failing, ids)

    python_time = statistics.median(seconds["stagelang Python engine"])
    floor_time = statistics.median(seconds["duckdb count(*)"])
    found = failing["stagelang Python engine"]
    print(f"{options.rounds} interleaved rounds, medians ({found:,} records not conforming):")
    for name in RUNS:
        run_time = statistics.median(seconds[name])
        print(
            f"  {name:26} {run_time:7.2f} s  {options.n / run_time:11,.0f} rows/s  "
            f"x count(*) {run_time / floor_time:6.2f}  "
            f"x handwritten DuckDB {statistics.median(ratios[name]):5.2f}  "
            f"x Python {run_time / python_time:5.2f}  "
            f"peak {statistics.median(memory[name]):6.0f} MiB"
        )
    print(json.dumps({"n": options.n, "seconds": seconds, "peak_mib": memory}))
    print("x handwritten DuckDB is the median of the per-round ratios; the other ratios are of")
    print("medians. Targets for stagelang on DuckDB: x handwritten DuckDB <= 1.5, x count(*) <= 2.")


def check_agreement(failing: dict[str, int], ids: dict[str, str]) -> None:
    """Stop the run unless the engines count the same records and both DuckDB queries name
    the same ids."""
    counts = {name: failing[name] for name in RUNS if name != "duckdb count(*)"}
    if len(set(counts.values())) != 1:
        sys.exit(f"the engines disagree on the records not conforming: {counts}")
    if ids["handwritten DuckDB"] != ids["stagelang on DuckDB"]:
        sys.exit("the handwritten DuckDB query and stagelang on DuckDB find different records")


if __name__ == "__main__":
    main()
