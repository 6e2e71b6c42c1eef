"""Differential tests: the SQL backend gives the verdicts of the Python engine, record by record.

Hypothesis writes random ladders of well-typed conditions (the strategies of
test_compiled_vs_interpreted.py) and random typed records, missing values and empty text and
lists included. The records go into a typed table in DuckDB and in a real PostgreSQL server;
the compiled findings query must return exactly the records the Python engine finds
non-conforming, with the same stage, problem and unmet criteria in the same order, and the
summary query the same counts. The five dialects' SQL must parse back through sqlglot.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sql_backends import create_table, insert_rows, postgres_server
from test_compiled_vs_interpreted import HEADER, TODAY, conditions, records

import stagelang
from stagelang.compiler.sql import DIALECTS, compile_policy, parses_back
from stagelang.policy import Policy

duckdb = pytest.importorskip("duckdb", reason="the duckdb extra is not installed")
psycopg = pytest.importorskip("psycopg", reason="the postgres extra is not installed")

LADDER = HEADER + (
    'segment jp: s1 == "JP"\n'
    'segment many: count(l1) >= 2\n'
    "stage A\n"
    "  exit when {exit_a}\n"
    "stage B requires {entry_b}\n"
    "  in jp requires {overlay_b}\n"
    "  exit when {exit_b}\n"
    "stage C requires {entry_c}\n"
    "  in many requires {overlay_c}\n"
)
PARTS = ["exit_a", "entry_b", "overlay_b", "exit_b", "entry_c", "overlay_c"]
STAGE_VALUES = ["a", "B", " c ", "C", "zz", "", None]

ladders = st.fixed_dictionaries({key: conditions for key in PARTS})
record_lists = st.lists(
    st.sampled_from(STAGE_VALUES).flatmap(lambda stage: records(stage)),  # type: ignore[arg-type]
    min_size=1,
    max_size=8,
)


def python_findings(policy: Policy, rows: list[dict[str, Any]]) -> dict[str, tuple[Any, ...]]:
    """What the Python engine says of each record that does not conform, by record id."""
    found = {}
    for record in rows:
        verdict = policy.check(record, today=TODAY)
        if verdict.conforms:
            continue
        problem = None
        if verdict.stage is None:
            missing = record.get("lifecycle_stage") in (None, "")
            problem = "missing-stage" if missing else "unknown-stage"
        unmet = [u.criterion.describe() for u in verdict.unmet]
        found[record["record_id"]] = (verdict.stage, problem, unmet)
    return found


def python_summary(policy: Policy, rows: list[dict[str, Any]]) -> set[tuple[Any, ...]]:
    tallies: dict[tuple[str, str], list[int]] = {}
    for record in rows:
        verdict = policy.check(record, today=TODAY)
        keys = [("stage", verdict.stage or "(no stage)")]
        if verdict.stage is not None:
            keys += [("segment", s) for s in policy.segments_of(record, today=TODAY)]
        for key in keys:
            tally = tallies.setdefault(key, [0, 0])
            tally[0 if verdict.conforms else 1] += 1
    return {(kind, name, c + n, c, n) for (kind, name), (c, n) in tallies.items()}


def numbered(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for index, record in enumerate(rows):
        record["record_id"] = str(index)
    return rows


def sql_findings(rows: list[tuple[Any, ...]]) -> dict[str, tuple[Any, ...]]:
    return {row[0]: (row[2], row[3], list(row[4])) for row in rows}


def summary_rows(rows: list[tuple[Any, ...]]) -> set[tuple[Any, ...]]:
    return {(k, n, int(r), int(c), int(nc)) for k, n, r, c, nc in rows if r}


@pytest.fixture(scope="module")
def duck() -> Iterator[Any]:
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def postgres() -> Iterator[Any]:
    with postgres_server() as url, psycopg.connect(url, autocommit=True) as connection:
        connection.execute("SET TIME ZONE 'UTC'")
        yield connection


@given(ladders, record_lists)
def test_duckdb_agrees_with_the_python_engine(
    duck: Any, parts: dict[str, str], rows: list[dict[str, Any]]
) -> None:
    policy = stagelang.loads(LADDER.format(**parts), "ladder.stage")
    rows = numbered(rows)
    compiled = compile_policy(policy.checked, "records", dialect="duckdb", today=TODAY)
    duck.execute('DROP TABLE IF EXISTS "records"')
    duck.execute(create_table(policy.checked, "duckdb"))
    statement, values = insert_rows(policy.checked, rows, mark="?")
    duck.executemany(statement, values)

    found = sql_findings(duck.execute(compiled.findings_sql()).fetchall())
    summary = summary_rows(duck.execute(compiled.summary_sql()).fetchall())

    assert found == python_findings(policy, rows)
    assert summary == python_summary(policy, rows)


@settings(max_examples=40)
@given(ladders, record_lists)
def test_postgres_agrees_with_the_python_engine(
    postgres: Any, parts: dict[str, str], rows: list[dict[str, Any]]
) -> None:
    policy = stagelang.loads(LADDER.format(**parts), "ladder.stage")
    rows = numbered(rows)
    compiled = compile_policy(policy.checked, "records", dialect="postgres", today=TODAY)
    postgres.execute('DROP TABLE IF EXISTS "records"')
    postgres.execute(create_table(policy.checked, "postgres"))
    statement, values = insert_rows(policy.checked, rows)
    with postgres.cursor() as cursor:
        cursor.executemany(statement, values)

    found = sql_findings(postgres.execute(compiled.findings_sql()).fetchall())
    summary = summary_rows(postgres.execute(compiled.summary_sql()).fetchall())

    assert found == python_findings(policy, rows)
    assert summary == python_summary(policy, rows)


@settings(max_examples=30)
@given(ladders, st.sampled_from(DIALECTS))
def test_every_dialect_parses_back(parts: dict[str, str], dialect: str) -> None:
    policy = stagelang.loads(LADDER.format(**parts), "ladder.stage")
    compiled = compile_policy(policy.checked, "crm.contacts", dialect=dialect)

    assert parses_back(compiled.findings_sql(), dialect)
    assert parses_back(compiled.summary_sql(), dialect)
