"""Benchmark: `stagelang check --db` against the bare queries and a count, on one PostgreSQL table.

    .venv/bin/python bench/bench_check_db.py [--copies 1000] [--rounds 5]

Starts a throwaway PostgreSQL server on loopback (tests/sql_backends.py; Debian's postgresql
package), loads the bundled example export (policies/japan.stage, examples/contacts.csv) as a
typed table and copies it `--copies` times with distinct ids, then measures, in interleaved
rounds whose order alternates:

- count(*): the server counting the table's rows, the floor of any query over it;
- bare queries: the compiled findings and summary queries run through psycopg, rows fetched
  and nothing else done with them (what a handwritten use of `stagelang sql` costs);
- stagelang check --db: the command end to end in a fresh process, `--format json` to
  /dev/null (start-up, the column check, both queries, findings and output).

Wall-clock seconds; medians and the ratios of the medians are printed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import subprocess
import sys
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


def check_db(url: str) -> float:
    command = [sys.executable, "-m", "stagelang", "check", str(POLICY), "--db", url]
    command += ["--table", "contacts", "--as-of", AS_OF.isoformat(), "--format", "json"]
    start = time.perf_counter()
    done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    seconds = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"stagelang check --db failed: {done.stderr.decode()}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()

    policy = stagelang.load(POLICY)
    with postgres_server() as url:
        rows = load(url, policy, options.copies)
        print(f"{rows:,} rows in a PostgreSQL table; {options.rounds} interleaved rounds")
        variants = {
            "count(*)": lambda: count_rows(url),
            "bare queries": lambda: bare_queries(url, policy),
            "stagelang check --db": lambda: check_db(url),
        }
        times: dict[str, list[float]] = {name: [] for name in variants}
        for round_number in range(options.rounds):
            order = list(variants)
            if round_number % 2:
                order.reverse()
            for name in order:
                times[name].append(variants[name]())

    medians = {name: statistics.median(found) for name, found in times.items()}
    for name, median in medians.items():
        print(f"{name:22} median {median:7.2f} s  {rows / median:12,.0f} rows/s")
    check, bare = medians["stagelang check --db"], medians["bare queries"]
    print(f"check --db / bare queries: {check / bare:.2f}")
    print(f"check --db / count(*):     {check / medians['count(*)']:.1f}")


if __name__ == "__main__":
    main()
