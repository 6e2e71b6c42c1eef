"""`stagelang check --db URL --table T` against a real PostgreSQL server on loopback.

The server is the throwaway cluster of sql_backends.postgres_server(), never a mock. The
findings the server's queries lead to must be the Python engine's for the same records: the
same codes, stages, criteria, messages and values; the summary the same counts.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from sql_backends import create_table, insert_rows, postgres_server
from test_compiled_vs_interpreted import TODAY
from test_sql_vs_python import LADDER, ladders, numbered, python_summary, record_lists

import stagelang
from stagelang.checking import Checker
from stagelang.cli import main
from stagelang.database import DatabaseError, check_postgres_table, redact
from stagelang.policy import Policy

psycopg = pytest.importorskip("psycopg", reason="the postgres extra is not installed")
pytest.importorskip("sqlglot", reason="the sql extra is not installed")

ROOT = Path(__file__).parent.parent
AS_OF = dt.date(2026, 11, 30)
# What a typed table can say: unmet criteria and stage values; not history, ids or bad cells.
TABLE_CODES = {"SL501", "SL502", "SL503"}


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with postgres_server() as url:
        yield url


@pytest.fixture(scope="module")
def japan() -> Policy:
    return stagelang.load(ROOT / "policies" / "japan.stage")


@pytest.fixture(scope="module")
def example(server: str, japan: Policy) -> list[Any]:
    """The bundled example export, read by the Python engine and loaded as a typed table.

    Rows with a cell the Python engine cannot read (SL505) are left out of the table: a typed
    column cannot hold "TBD", so the two engines could not be shown the same record.
    """
    results = [
        result
        for result in Checker(japan, as_of=AS_OF).check_files([str(ROOT / "examples/contacts.csv")])
        if result.record is not None and not any(f.code == "SL505" for f in result.findings)
    ]
    load_table(server, japan, "contacts", [result.record for result in results])
    return results


def load_table(url: str, policy: Policy, table: str, rows: list[dict[str, Any]]) -> None:
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f'DROP TABLE IF EXISTS "{table}"')
        connection.execute(create_table(policy.checked, "postgres", table))
        statement, values = insert_rows(policy.checked, rows)
        statement = statement.replace('"records"', f'"{table}"')
        with connection.cursor() as cursor:
            cursor.executemany(statement, values)


def run_check(*args: str) -> Any:
    return CliRunner().invoke(main, ["check", str(ROOT / "policies/japan.stage"), *args])


def described(finding: Any) -> tuple[Any, ...]:
    return (
        finding.record_id,
        finding.code,
        finding.stage,
        finding.criterion,
        finding.message,
        json.dumps(dict(finding.values), default=str, sort_keys=True),
    )


def test_the_bundled_example_gives_the_python_engines_findings(
    server: str, japan: Policy, example: list[Any]
) -> None:
    expected = sorted(
        described(finding)
        for result in example
        for finding in result.findings
        if finding.code in TABLE_CODES
    )

    checked = check_postgres_table(japan, server, "contacts", today=AS_OF)

    assert sorted(described(finding) for finding in checked.findings) == expected
    assert {f.file for f in checked.findings} == {"contacts"}
    assert {f.line for f in checked.findings} == {None}
    assert len(expected) > 40  # the example plants problems of every kind


def test_the_summary_counts_what_the_python_engine_counts(
    server: str, japan: Policy, example: list[Any]
) -> None:
    by_stage: dict[str, list[int]] = {}
    for result in example:
        verdict = japan.check(result.record, today=AS_OF)
        tally = by_stage.setdefault(verdict.stage or "(no stage)", [0, 0, 0])
        tally[0] += 1
        tally[1 if verdict.conforms else 2] += 1

    summary = check_postgres_table(japan, server, "contacts", today=AS_OF).summary

    found = {
        name: [t.records, t.conforming, t.not_conforming]
        for name, t in summary.by_stage.items()
        if t.records
    }
    assert found == by_stage
    assert summary.records == len(example)
    assert summary.not_conforming == sum(tally[2] for tally in by_stage.values())


def test_check_db_exits_1_with_findings_and_prints_them_as_json(
    server: str, japan: Policy, example: list[Any]
) -> None:
    result = run_check(
        "--db", server, "--table", "contacts", "--as-of", AS_OF.isoformat(), "--format", "json"
    )

    assert result.exit_code == 1, result.output
    printed = json.loads(result.stdout)
    library = check_postgres_table(japan, server, "contacts", today=AS_OF)
    assert [f["message"] for f in printed["findings"]] == [f.message for f in library.findings]
    assert printed["summary"]["files"] == ["contacts"]
    assert printed["summary"]["not_conforming"] == library.summary.not_conforming


def test_check_db_text_names_the_table_and_the_record(server: str, example: list[Any]) -> None:
    result = run_check("--db", server, "--table", "contacts", "--as-of", AS_OF.isoformat())

    assert result.exit_code == 1
    assert "Checked " in result.stdout and " records in contacts against japan-b2b" in result.stdout
    assert "  contacts  id 51205855  engaged_sessions = 2" in result.stdout


def test_check_db_annotates_github_with_the_table_and_the_record(
    server: str, example: list[Any]
) -> None:
    result = run_check(
        "--db", server, "--table", "contacts", "--as-of", AS_OF.isoformat(), "--format", "github"
    )

    assert result.exit_code == 1
    assert (
        "::error file=contacts,title=SL501 unmet-criterion::MQL in japan requires "
        "engaged_sessions >= 3, but engaged_sessions = 2 (record 51205855)"
    ) in result.stdout.splitlines()


def test_check_db_exits_0_when_every_record_conforms(server: str, japan: Policy) -> None:
    record = {"record_id": "1", "lifecycle_stage": "subscriber", "country": "JP"}
    load_table(server, japan, "clean", [record])

    result = run_check("--db", server, "--table", "clean")

    assert result.exit_code == 0, result.output
    assert "All 1 records conform." in result.stdout


@settings(max_examples=25, deadline=None)
@given(ladders, record_lists)
def test_generated_policies_give_the_python_engines_findings(
    server: str, parts: dict[str, str], rows: list[dict[str, Any]]
) -> None:
    policy = stagelang.loads(LADDER.format(**parts), "ladder.stage")
    rows = numbered(rows)
    load_table(server, policy, "generated", rows)
    expected = []
    for record in rows:
        verdict = policy.check(record, today=TODAY)
        if verdict.problem:
            code = "SL503" if record.get("lifecycle_stage") in (None, "") else "SL502"
            expected.append((record["record_id"], code, None, verdict.problem))
        for unmet in verdict.unmet:
            expected.append((record["record_id"], "SL501", unmet.stage, unmet.message()))

    checked = check_postgres_table(policy, server, "generated", today=TODAY)

    found = [(f.record_id, f.code, f.stage, f.message) for f in checked.findings]
    assert sorted(found) == sorted(expected)
    tallies = {
        *(("stage", name, *vars(t).values()) for name, t in checked.summary.by_stage.items()),
        *(("segment", name, *vars(t).values()) for name, t in checked.summary.by_segment.items()),
    }
    assert {row[:5] for row in tallies if row[2]} == python_summary(policy, rows)


# Errors: a plain sentence and exit 2, never a traceback, never the password.


def test_a_missing_table_is_named(server: str) -> None:
    result = run_check("--db", server, "--table", "crm.no_such_table")

    assert result.exit_code == 2
    assert 'table "crm.no_such_table" does not exist' in result.stderr
    assert "Traceback" not in result.output


def test_missing_and_mistyped_columns_are_listed(server: str) -> None:
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute("DROP TABLE IF EXISTS thin")
        connection.execute(
            "CREATE TABLE thin (record_id text, lifecycle_stage text, "
            'engaged_sessions text, "Country" text)'
        )

    result = run_check("--db", server, "--table", "thin")

    assert result.exit_code == 2
    assert 'table "thin" does not hold what the policy reads' in result.stderr
    assert 'column "engaged_sessions" is text, which cannot hold field' in result.stderr
    assert 'column "country" is missing; closest: "Country"' in result.stderr
    assert "Traceback" not in result.output


def test_a_server_that_cannot_be_reached_is_said_without_the_password(server: str) -> None:
    # The server's own port with a database that does not exist, and a refused port.
    wrong_database = server.replace("@", ":hunter2@").rsplit("/", 1)[0] + "/no_such_db"
    for url in (wrong_database, "postgresql://analyst:hunter2@127.0.0.1:1/crm"):
        result = run_check("--db", url, "--table", "contacts")

        assert result.exit_code == 2, result.output
        assert "stagelang: PostgreSQL at " in result.stderr
        assert "hunter2" not in result.output
        assert "Traceback" not in result.output


@pytest.mark.parametrize("url", ["mysql://a:hunter2@host/db", "host=db password=hunter2"])
def test_a_url_that_is_not_postgresql_is_refused_without_echoing_it(url: str) -> None:
    with pytest.raises(DatabaseError, match="takes a PostgreSQL URL") as raised:
        check_postgres_table(stagelang.load(ROOT / "policies/japan.stage"), url, "t")

    assert "hunter2" not in str(raised.value)


def test_a_password_in_the_query_is_not_printed() -> None:
    result = run_check(
        "--db", "postgresql://analyst@127.0.0.1:1/crm?password=hunter2", "--table", "contacts"
    )

    assert result.exit_code == 2
    assert "PostgreSQL at postgresql://analyst@127.0.0.1:1/crm: " in result.stderr
    assert "hunter2" not in result.output


def test_redact_hides_the_password() -> None:
    assert redact("postgresql://ann:s3cret@db:5432/crm") == "postgresql://ann:***@db:5432/crm"
    assert redact("postgresql://ann@db/crm?password=s3cret") == "postgresql://ann@db/crm"
    assert redact("postgresql://ann@db/crm") == "postgresql://ann@db/crm"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--db", "postgresql://h/db"], "give --table too"),
        (["--table", "contacts"], "give --db too"),
        (["examples/contacts.csv", "--db", "postgresql://h/db", "--table", "t"], "DATA"),
        (["--db", "postgresql://h/db", "--table", "t", "--format", "csv"], "--format csv"),
        (["--db", "postgresql://h/db", "--table", "t", "--encoding", "cp932"], "--encoding"),
        (["--db", "postgresql://h/db", "--table", "t", "--timezone", "+09:00"], "--timezone"),
    ],
)
def test_usage_errors(args: list[str], expected: str) -> None:
    result = run_check(*args)

    assert result.exit_code == 2
    assert expected in result.output
