"""Benchmark: `stagelang check --db` against the bare queries and a count, on one PostgreSQL table.

    .venv/bin/python bench/bench_check_db.py [--copies 1000] [--rounds 5] [--baseline DIR]

Starts a throwaway PostgreSQL server on loopback (tests/sql_backends.py; Debian's postgresql
package), loads the bundled example export (policies/japan.stage, examples/contacts.csv) as a
typed table and copies it `--copies` times with distinct ids, then measures, in interleaved
rounds whose order alternates:

- count(*): the server counting the table's rows, the floor of any query over it;
- bare queries: the compiled findings and summary queries run through psycopg, rows fetched
  and nothing else done with them (what a handwritten use of `stagelang sql` costs);
- stagelang check --db: the command end to end in a fresh process, `--format json` to
  /dev/null (start-up, the column check, the queries, findings and output), with the peak
  memory (maximum resident set size) of that process;
- with `--baseline DIR`: the same command run from another checkout of stagelang (say, a
  git worktree of an earlier commit), to compare its time and memory with this one's.

Wall-clock seconds and megabytes; medians and the ratios of the medians are printed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import psycopg
from sql_backends import create_table, insert_rows, postgres_server

import stagelang
from stagelang.checking import Checker
from stagelang.compiler.sql import compile_policy

ROOT = Path(__file__).resolve().parent.parent
AS_OF = dt.date(2026, 11, 30)
POLICY = ROOT / "policies" / "japan.stage"


def load(url: str, policy: stagelang.Policy, copies: int) -> int:
    example = Checker(policy).check_files([str(ROOT / "examples" / "contacts.csv")])
    records = [result.record for result in example if result.record is not None]
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(create_table(policy.checked, "postgres", "example"))
        statement, values = insert_rows(policy.checked, records)
        with connection.cursor() as cursor:
            cursor.executemany(statement.replace('"records"', '"example"'), values)
        columns = [f'"{field.column}"' for field in policy.fields.values()]
        id_column = f'"{policy.fields[policy.checked.id_field or ""].column}"'
        copied = ", ".join(
            f"{column} || '-' || copy AS {column}" if column == id_column else column
            for column in columns
        )
        connection.execute(
            f"CREATE TABLE contacts AS SELECT {copied} "
            f"FROM example, generate_series(1, {copies}) AS copy"
        )
        connection.execute("ANALYZE contacts")
        row = connection.execute("SELECT count(*) FROM contacts").fetchone()
        return int(row[0]) if row else 0


def count_rows(url: str) -> float:
    start = time.perf_counter()
    with psycopg.connect(url) as connection:
        connection.execute("SELECT count(*) FROM contacts").fetchall()
    return time.perf_counter() - start


def bare_queries(url: str, policy: stagelang.Policy) -> float:
    start = time.perf_counter()
    compiled = compile_policy(policy.checked, "contacts", dialect="postgres", today=AS_OF)
    with psycopg.connect(url) as connection:
        connection.execute(compiled.findings_sql(pretty=False)).fetchall()
        connection.execute(compiled.summary_sql(pretty=False)).fetchall()
    return time.perf_counter() - start


# Runs the command and, as it exits, writes the process's peak resident memory (VmHWM, in kB;
# Linux) to the file named by BENCH_PEAK_FILE. The peak is read inside the process because
# the rusage of a child counts the memory of the parent it was forked from.
_MEASURED = """
import atexit, os, runpy, sys

def peak():
    with open("/proc/self/status") as status, open(os.environ["BENCH_PEAK_FILE"], "w") as out:
        out.write(next(line for line in status if line.startswith("VmHWM")).split()[1])

atexit.register(peak)
sys.argv[0] = "stagelang"
runpy.run_module("stagelang", run_name="__main__", alter_sys=True)
"""


def check_db(url: str, tree: Path, peaks: list[float]) -> float:
    """The command run from the checkout at `tree` (`-c` imports the package from the working
    folder); its peak resident memory in MB is appended to `peaks`."""
    command = [sys.executable, "-c", _MEASURED, "check", str(POLICY), "--db", url]
    command += ["--table", "contacts", "--as-of", AS_OF.isoformat(), "--format", "json"]
    with tempfile.NamedTemporaryFile("r", suffix=".peak") as peak:
        environment = {**os.environ, "BENCH_PEAK_FILE": peak.name}
        start = time.perf_counter()
        done = subprocess.run(
            command, cwd=tree, env=environment, stdout=subprocess.DEVNULL, check=False
        )
        seconds = time.perf_counter() - start
        if done.returncode not in (0, 1):
            raise SystemExit(f"stagelang check --db from {tree} exited {done.returncode}")
        peaks.append(int(peak.read()) / 1024)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--baseline", type=Path, help="another checkout of stagelang to compare")
    options = parser.parse_args()

    policy = stagelang.load(POLICY)
    with postgres_server() as url:
        rows = load(url, policy, options.copies)
        print(f"{rows:,} rows in a PostgreSQL table; {options.rounds} interleaved rounds")
        peaks: dict[str, list[float]] = {"stagelang check --db": [], "baseline check --db": []}
        variants = {
            "count(*)": lambda: count_rows(url),
            "bare queries": lambda: bare_queries(url, policy),
            "stagelang check --db": lambda: check_db(url, ROOT, peaks["stagelang check --db"]),
        }
        if options.baseline is not None:
            baseline = options.baseline.resolve()
            variants["baseline check --db"] = lambda: check_db(
                url, baseline, peaks["baseline check --db"]
            )
        times: dict[str, list[float]] = {name: [] for name in variants}
        for round_number in range(options.rounds):
            order = list(variants)
            if round_number % 2:
                order.reverse()
            for name in order:
                times[name].append(variants[name]())

    medians = {name: statistics.median(found) for name, found in times.items()}
    for name, median in medians.items():
        memory = f"  peak {statistics.median(peaks[name]):6.0f} MB" if peaks.get(name) else ""
        print(f"{name:22} median {median:7.2f} s  {rows / median:12,.0f} rows/s{memory}")
    check, bare = medians["stagelang check --db"], medians["bare queries"]
    print(f"check --db / bare queries: {check / bare:.2f}")
    print(f"check --db / count(*):     {check / medians['count(*)']:.1f}")
    if "baseline check --db" in medians:
        print(f"check --db / baseline:     {check / medians['baseline check --db']:.2f}")


if __name__ == "__main__":
    main()
