"""Differential tests: the SQL backend gives the verdicts of the Python engine, record by record.

Hypothesis writes random ladders of well-typed conditions (the strategies of
test_compiled_vs_interpreted.py) and random typed records, missing values and empty text and
lists included. The records go into a typed table in DuckDB, in a real PostgreSQL server and in
a local Spark session;
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
from sql_backends import (
    create_table,
    insert_rows,
    postgres_server,
    spark_rows,
    spark_schema,
    spark_session,
)
from test_compiled_vs_interpreted import HEADER, TODAY, conditions, records

import stagelang
from stagelang.compiler.sql import DIALECTS, compile_policy, parses_back
from stagelang.policy import Policy

duckdb = pytest.importorskip("duckdb", reason="the sql extra (duckdb) is not installed")

LADDER = HEADER + (
    'segment jp: s1 == "JP"\n'
    "segment many: count(l1) >= 2\n"
    "stage A\n"
    "  exit when {exit_a}\n"
    "stage B requires {entry_b}\n"
    "  in jp requires {overlay_b}\n"
    "  in many instead requires {instead_b}\n"
    "  exit when {exit_b}\n"
    "stage C requires {entry_c}\n"
    "  in many requires {overlay_c}\n"
    "outcome lost\n"
    '  values "Closed Lost"\n'
    "  requires {lost}\n"
    "  in jp requires {overlay_lost}\n"
)
PARTS = ["exit_a", "entry_b", "overlay_b", "instead_b", "exit_b", "entry_c", "overlay_c"]
PARTS += ["lost", "overlay_lost"]
STAGE_VALUES = ["a", "B", " c ", "C", "zz", "", None, "closed lost", "LOST"]

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
    psycopg = pytest.importorskip("psycopg", reason="the postgres extra is not installed")
    with postgres_server() as url, psycopg.connect(url, autocommit=True) as connection:
        connection.execute("SET TIME ZONE 'UTC'")
        yield connection


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    # One session for the whole run: starting Spark's JVM takes seconds.
    with spark_session() as session:
        yield session


def run_on_spark(
    spark: Any, policy: Policy, rows: list[dict[str, Any]], today: Any = TODAY
) -> tuple[dict[str, tuple[Any, ...]], set[tuple[Any, ...]]]:
    """The findings and summary of the spark-dialect queries over the records as a typed table."""
    compiled = compile_policy(policy.checked, "records", dialect="spark", today=today)
    table = spark.createDataFrame(spark_rows(policy.checked, rows), spark_schema(policy.checked))
    table.createOrReplaceTempView("records")

    found = sql_findings([tuple(row) for row in spark.sql(compiled.findings_sql()).collect()])
    summary = summary_rows([tuple(row) for row in spark.sql(compiled.summary_sql()).collect()])
    return found, summary


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


# Each example costs Spark two to four seconds of planning and running on one core, so far
# fewer examples than DuckDB gets. The query must mean the same with ANSI mode on (Spark 4's
# default) and off (older clusters), where SIZE of NULL and failed casts behave differently.
@settings(max_examples=15)
@given(ladders, record_lists, st.booleans())
def test_spark_agrees_with_the_python_engine(
    spark: Any, parts: dict[str, str], rows: list[dict[str, Any]], ansi: bool
) -> None:
    policy = stagelang.loads(LADDER.format(**parts), "ladder.stage")
    rows = numbered(rows)
    spark.conf.set("spark.sql.ansi.enabled", str(ansi).lower())

    found, summary = run_on_spark(spark, policy, rows)

    assert found == python_findings(policy, rows)
    assert summary == python_summary(policy, rows)


JAPAN_COLUMNS = (
    "record_id", "country", "lifecycle_stage", "icp_fit", "engaged_sessions", "need", "process",
    "decision_makers", "meeting_at", "budget", "stakeholder", "contract_signed_at",
)  # fmt: skip


@pytest.mark.parametrize("ansi", [True, False], ids=["ansi", "legacy"])
def test_spark_finds_what_the_python_engine_finds_with_the_japan_policy(
    spark: Any, japan_path: Any, ansi: bool
) -> None:
    import datetime as dt
    from decimal import Decimal

    policy = stagelang.load(japan_path)
    as_of = dt.date(2026, 6, 30)
    met = dt.datetime(2026, 6, 1, 9, 30, tzinfo=dt.UTC)
    table = [
        ("1", "JP", "mql", True, 3, None, None, None, None, None, None, None),
        ("2", "JP", "MQL ", True, 2, None, None, None, None, None, None, None),
        ("3", "US", "sql", True, 1, True, True, ["Sato"], None, None, None, None),
        ("4", "JP", "sql", True, 4, True, True, ["Sato"], None, None, None, None),
        ("5", "JP", "sql", True, 4, True, True, None, None, None, None, None),
        ("6", "US", "Customer", True, 2, True, True, ["Lee"], met, Decimal("5000.50"), "Kim",
         as_of),
        ("7", "US", "", True, None, None, None, None, None, None, None, None),
        ("8", "US", "Partner", None, None, None, None, None, None, None, None, None),
        ("9", "JP", "opportunity", True, 5, True, True, [], met, Decimal("0"), "", None),
    ]  # fmt: skip
    rows = [dict(zip(JAPAN_COLUMNS, row, strict=True)) for row in table]
    spark.conf.set("spark.sql.ansi.enabled", str(ansi).lower())

    found, summary = run_on_spark(spark, policy, rows, today=as_of)

    assert found == python_findings(policy, rows)
    assert set(found) == {"2", "4", "5", "7", "8", "9"}
    assert summary == python_summary(policy, rows)


def test_spark_moves_a_date_and_time_by_seconds_not_days(spark: Any) -> None:
    # The generated policies never shift a date and time; sqlglot once wrote that shift as
    # Spark's DATE_ADD, which counts days.
    import datetime as dt
    import itertools

    policy = stagelang.loads(
        HEADER + "stage A requires (at1 + 1d) > day1\nstage B requires (at1 - 2d) <= day1\n",
        "shift.stage",
    )
    moments = [dt.datetime(2026, 1, 5, 23, tzinfo=dt.UTC), dt.datetime(2026, 1, 7, tzinfo=dt.UTC)]
    days = [dt.date(2026, 1, 5), dt.date(2026, 1, 6), dt.date(2026, 1, 7), None]
    rows = numbered(
        [
            {"lifecycle_stage": stage, "at1": moment, "day1": day}
            for stage, moment, day in itertools.product("ab", [*moments, None], days)
        ]
    )
    spark.conf.set("spark.sql.ansi.enabled", "true")

    found, summary = run_on_spark(spark, policy, rows)

    assert found == python_findings(policy, rows)
    assert len(found) < len(rows) - 4  # some records conform, so the shift is really tested
    assert summary == python_summary(policy, rows)


@settings(max_examples=30)
@given(ladders, st.sampled_from(DIALECTS))
def test_every_dialect_parses_back(parts: dict[str, str], dialect: str) -> None:
    policy = stagelang.loads(LADDER.format(**parts), "ladder.stage")
    compiled = compile_policy(policy.checked, "crm.contacts", dialect=dialect)

    assert parses_back(compiled.findings_sql(), dialect)
    assert parses_back(compiled.summary_sql(), dialect)


# Untrusted names and values: a column name and a constant written to break out of quoting
# must reach DuckDB as a name and a value, never as SQL.
HOSTILE = (
    "id field record_id\n"
    "stage field lifecycle_stage\n"
    'field region: string from "Region\\" ; DROP TABLE records; --"\n'
    'stage Lead requires region == "x\'); DROP TABLE records; --"\n'
)


def test_names_and_values_are_quoted_not_pasted(duck: Any) -> None:
    policy = stagelang.loads(HOSTILE, "hostile.stage")
    column = policy.fields["region"].column
    duck.execute('DROP TABLE IF EXISTS "records"')
    duck.execute(
        'CREATE TABLE "records" ("record_id" VARCHAR, "lifecycle_stage" VARCHAR, '
        + duckdb_identifier(column)
        + " VARCHAR)"
    )
    duck.executemany(
        'INSERT INTO "records" VALUES (?, ?, ?)',
        [("1", "lead", "x'); DROP TABLE records; --"), ("2", "lead", "x")],
    )
    compiled = compile_policy(policy.checked, "records", dialect="duckdb")

    found = duck.execute(compiled.findings_sql()).fetchall()

    assert [(row[0], row[4]) for row in found] == [
        ("2", ['Lead requires region == "x\'); DROP TABLE records; --"'])
    ]
    assert duck.execute('SELECT count(*) FROM "records"').fetchone() == (2,)


def duckdb_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def test_stagelang_sql_prints_both_queries_that_parse_back(japan_path: Any) -> None:
    from click.testing import CliRunner

    from stagelang.cli import main

    result = CliRunner().invoke(
        main, ["sql", str(japan_path), "--dialect", "snowflake", "--table", "crm.contacts"]
    )

    assert result.exit_code == 0, result.output
    statements = [part for part in result.output.split(";\n") if part.strip()]
    assert len(statements) == 2
    assert '"crm"."contacts"' in statements[0]
    assert all(parses_back(statement, "snowflake") for statement in statements)


def test_stagelang_sql_refuses_an_empty_table_name(japan_path: Any) -> None:
    from click.testing import CliRunner

    from stagelang.cli import main

    result = CliRunner().invoke(main, ["sql", str(japan_path), "--table", "."])

    assert result.exit_code == 2
    assert "the table name is empty" in result.output


def test_the_example_in_docs_scale_is_what_stagelang_sql_prints() -> None:
    import re
    from pathlib import Path

    from stagelang.warehouse import render_sql

    doc = (Path(__file__).parent.parent / "docs" / "scale.md").read_text("utf-8")
    policy_text = re.search(r"```stage\n(.*?)```", doc, re.DOTALL)
    shown = re.search(r"```sql\n(.*?)```", doc, re.DOTALL)
    assert policy_text is not None and shown is not None

    policy = stagelang.loads(policy_text.group(1), "policy.stage")
    printed = render_sql(policy, "crm.contacts", "postgres", "findings")

    assert shown.group(1) == printed + "\n"


def test_check_on_duckdb_finds_what_the_python_engine_finds_in_a_csv(
    japan_path: Any, tmp_path: Any
) -> None:
    import datetime as dt

    from stagelang.checking import Checker
    from stagelang.warehouse import check_on_duckdb

    export = tmp_path / "contacts.csv"
    export.write_text(
        "record_id,country,lifecycle_stage,icp_fit,engaged_sessions,need,process,"
        "decision_makers,meeting_at,budget,stakeholder,contract_signed_at\n"
        "1,JP,mql,true,3,,,,,,,\n"
        "2,JP,mql,true,2,,,,,,,\n"
        "3,US,sql,true,1,true,true,Sato; ,,,,\n"
        "4,JP,sql,true,4,true,true,Sato;Ito,,,,\n"
        "5,US,Customer,true,2,true,true,Lee,2026-05-01T10:00:00Z,5000.50,Kim,2026-06-01\n"
        "6,US,,true,2,,,,,,,\n"
        "7,US,Partner,,,,,,,,,\n",
        "utf-8",
    )
    policy = stagelang.load(japan_path)
    as_of = dt.date(2026, 6, 30)
    expected = {
        result.record_id: [f.criterion for f in result.findings if f.code == "SL501"]
        for result in Checker(policy, as_of=as_of).check_files([str(export)])
        if not result.conforms
    }

    found = check_on_duckdb(policy, str(export), today=as_of).findings

    assert {row[0]: list(row[4]) for row in found} == expected
    assert {row[0] for row in found if row[3] is not None} == {"6", "7"}


def test_stagelang_sql_run_prints_the_findings_as_csv(japan_path: Any, tmp_path: Any) -> None:
    from click.testing import CliRunner

    from stagelang.cli import main

    export = tmp_path / "contacts.csv"
    export.write_text(
        "record_id,country,lifecycle_stage,icp_fit,engaged_sessions,need,process,"
        "decision_makers,meeting_at,budget,stakeholder,contract_signed_at\n"
        "1,JP,mql,true,3,,,,,,,\n"
        "2,JP,mql,true,2,,,,,,,\n",
        "utf-8",
    )

    result = CliRunner().invoke(main, ["sql", str(japan_path), "--run", str(export)])

    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "id,stage,stage_name,problem,unmet",
        "2,mql,MQL,,MQL in japan requires engaged_sessions >= 3",
    ]
    assert "2 records, 1 not conforming (DuckDB engine)" in result.stderr


def test_stagelang_sql_run_names_a_file_duckdb_cannot_read(japan_path: Any, tmp_path: Any) -> None:
    from click.testing import CliRunner

    from stagelang.cli import main

    export = tmp_path / "ragged.csv"
    export.write_text("record_id,lifecycle_stage\n1,mql\n", "utf-8")

    result = CliRunner().invoke(main, ["sql", str(japan_path), "--run", str(export)])

    assert result.exit_code == 2
    assert f"{export}: DuckDB cannot check the file" in result.stderr
    assert "Traceback" not in result.output


NO_CRITERIA = HEADER + "stage A\nstage B\n"


@pytest.mark.parametrize("engine", ["duckdb", "postgres"])
def test_a_policy_without_criteria_runs(engine: str, request: pytest.FixtureRequest) -> None:
    # An empty list of unmet criteria has no type of its own in PostgreSQL unless cast.
    connection = request.getfixturevalue("duck" if engine == "duckdb" else engine)
    policy = stagelang.loads(NO_CRITERIA, "bare.stage")
    rows = numbered([{"lifecycle_stage": "a"}, {"lifecycle_stage": "nowhere"}, {}])
    compiled = compile_policy(policy.checked, "records", dialect=engine, today=TODAY)
    connection.execute('DROP TABLE IF EXISTS "records"')
    connection.execute(create_table(policy.checked, engine))
    statement, values = insert_rows(policy.checked, rows, mark="?" if engine == "duckdb" else "%s")
    if engine == "duckdb":
        connection.executemany(statement, values)
    else:
        with connection.cursor() as cursor:
            cursor.executemany(statement, values)

    found = sql_findings(connection.execute(compiled.findings_sql()).fetchall())

    assert found == python_findings(policy, rows)
    assert {key: value[1] for key, value in found.items()} == {
        "1": "unknown-stage",
        "2": "missing-stage",
    }
