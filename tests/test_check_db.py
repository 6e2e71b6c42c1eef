"""`stagelang check --db URL --table T` against a real PostgreSQL server on loopback.

The server is the throwaway cluster of sql_backends.postgres_server(), never a mock. The
findings the server's queries lead to must be the Python engine's for the same records: the
same codes, stages, criteria, messages and values; the summary the same counts. For repeated
ids (SL504) a table has no lines: the Python engine's findings and counts are those of an
export holding the records in the order `check --db` documents (the record kept first).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from sql_backends import create_table, insert_rows, postgres_server
from test_compiled_vs_interpreted import TODAY
from test_sql_vs_python import LADDER, ladders, record_lists

import stagelang
from stagelang.checking import NO_STAGE, Checker
from stagelang.cli import main
from stagelang.compiler.sql import DIALECTS, parses_back, repeats_query
from stagelang.database import DatabaseError, check_postgres_table, redact
from stagelang.policy import Policy
from stagelang.records.readers import Row, Table

psycopg = pytest.importorskip("psycopg", reason="the postgres extra is not installed")
pytest.importorskip("sqlglot", reason="the sql extra is not installed")

ROOT = Path(__file__).parent.parent
OUTPUT_SCHEMA = json.loads((ROOT / "docs" / "check-output.schema.json").read_text("utf-8"))
AS_OF = dt.date(2026, 11, 30)
# What a typed table can say: unmet criteria, stage values, repeated ids; not history or bad
# cells.
TABLE_CODES = {"SL501", "SL502", "SL503", "SL504"}


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


def as_a_table_says(findings: list[Any]) -> list[Any]:
    """The Python engine's findings as `check --db` words them: a table has no lines, so an
    SL504 says how many other records use the id instead of the line of the first."""
    repeats = Counter(finding.record_id for finding in findings if finding.code == "SL504")
    return [
        dataclasses.replace(
            finding, message=repeated_id(finding.record_id, repeats[finding.record_id] + 1)
        )
        if finding.code == "SL504"
        else finding
        for finding in findings
    ]


def repeated_id(record_id: str, sharing: int) -> str:
    others = "another record" if sharing == 2 else f"{sharing - 1} other records"
    return f'record id "{record_id}" is also used by {others} in the table'


def test_the_bundled_example_gives_the_python_engines_findings(
    server: str, japan: Policy, example: list[Any]
) -> None:
    python = [f for result in example for f in result.findings if f.code in TABLE_CODES]
    expected = sorted(described(finding) for finding in as_a_table_says(python))

    findings = list(check_postgres_table(japan, server, "contacts", today=AS_OF).findings)

    assert sorted(described(finding) for finding in findings) == expected
    assert {f.file for f in findings} == {"contacts"}
    assert {f.line for f in findings} == {None}
    assert {f.code for f in findings} == TABLE_CODES  # the example plants each of them
    assert len(expected) > 40


def test_the_summary_counts_what_the_python_engine_counts(
    server: str, japan: Policy, example: list[Any]
) -> None:
    # Stage history is not checked in a table: a record conforms here when it has no finding
    # a table can show. The example's repeated id is kept first in the export as in the table.
    by_stage: dict[str, list[int]] = {}
    by_segment: dict[str, list[int]] = {}
    codes: Counter[str] = Counter()
    for result in example:
        found = [finding.code for finding in result.findings if finding.code in TABLE_CODES]
        codes.update(found)
        for tallies, name in (
            (by_stage, result.stage or NO_STAGE),
            *((by_segment, segment) for segment in result.segments),
        ):
            tally = tallies.setdefault(name, [0, 0, 0])
            tally[0] += 1
            tally[2 if found else 1] += 1

    summary = check_postgres_table(japan, server, "contacts", today=AS_OF).summary

    assert tallies_of(summary.by_stage) == by_stage
    assert tallies_of(summary.by_segment) == by_segment
    assert summary.records == len(example)
    assert summary.not_conforming == sum(tally[2] for tally in by_stage.values())
    assert summary.findings == codes
    assert codes["SL504"] == 1


def tallies_of(tallies: dict[str, Any]) -> dict[str, list[int]]:
    return {
        name: [t.records, t.conforming, t.not_conforming]
        for name, t in tallies.items()
        if t.records
    }


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
    assert printed["summary"]["engine"] == "postgresql"
    jsonschema.validate(printed, OUTPUT_SCHEMA)


def test_check_db_text_names_the_table_and_the_record(server: str, example: list[Any]) -> None:
    result = run_check("--db", server, "--table", "contacts", "--as-of", AS_OF.isoformat())

    assert result.exit_code == 1
    assert "Checked " in result.stdout and " records in contacts against japan-b2b" in result.stdout
    assert " with the PostgreSQL server." in result.stdout
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


# Repeated ids (SL504) -------------------------------------------------------------------------

REPEATS_POLICY = """policy "repeats"
id field record_id
stage field lifecycle_stage
field engaged_sessions: int
field country: string
segment japan: country == "JP"
stage Subscriber
stage MQL requires engaged_sessions >= 3
"""

# In no helpful order: the record check --db keeps of each id comes after the others.
REPEATS = [
    {"record_id": "7", "lifecycle_stage": "mql", "engaged_sessions": 1, "country": "US"},
    {"record_id": "8", "lifecycle_stage": "subscriber", "engaged_sessions": 0, "country": "JP"},
    {"record_id": "7", "lifecycle_stage": "mql", "engaged_sessions": 5, "country": "US"},
    {"record_id": "8", "lifecycle_stage": "mql", "engaged_sessions": 4, "country": "US"},
    {"record_id": "8", "lifecycle_stage": "mql", "engaged_sessions": 3, "country": "JP"},
    {"record_id": None, "lifecycle_stage": "subscriber", "country": "JP"},
    {"record_id": "", "lifecycle_stage": "subscriber", "country": "US"},
    {"record_id": None, "lifecycle_stage": "mql", "engaged_sessions": 9, "country": "US"},
]


@pytest.fixture(scope="module")
def repeats(server: str) -> Policy:
    policy = stagelang.loads(REPEATS_POLICY, "repeats.stage")
    load_table(server, policy, "repeats", REPEATS)
    return policy


def test_each_record_sharing_an_id_but_one_is_a_repeat(server: str, repeats: Policy) -> None:
    checked = check_postgres_table(repeats, server, "repeats")

    found = [(f.record_id, f.code, f.message) for f in checked.findings]

    # By record id; a record's SL504 after its other findings; no id, no SL504.
    assert found == [
        ("7", "SL501", "MQL requires engaged_sessions >= 3, but engaged_sessions = 1"),
        ("7", "SL504", 'record id "7" is also used by another record in the table'),
        ("8", "SL504", 'record id "8" is also used by 2 other records in the table'),
        ("8", "SL504", 'record id "8" is also used by 2 other records in the table'),
    ]
    # Kept: the conforming 7, and the 8 furthest along the ladder, in japan before outside.
    # Repeats: the other conforming 8s (a Subscriber in japan, an MQL outside it).
    summary = checked.summary
    assert tallies_of(summary.by_stage) == {"Subscriber": [3, 2, 1], "MQL": [5, 3, 2]}
    assert tallies_of(summary.by_segment) == {"japan": [3, 2, 1]}
    assert (summary.records, summary.conforming, summary.not_conforming) == (8, 5, 3)
    assert summary.findings == {"SL501": 1, "SL504": 3}


def test_repeated_ids_count_as_in_an_export_with_the_kept_record_first(
    server: str, repeats: Policy, tmp_path: Path
) -> None:
    export = tmp_path / "repeats.csv"
    export.write_text(
        "record_id,lifecycle_stage,engaged_sessions,country\n"
        + "".join(
            f"{r['record_id'] or ''},{r['lifecycle_stage']},{r.get('engaged_sessions', '')},"
            f"{r['country']}\n"
            for r in kept_first(repeats, REPEATS)
        ),
        encoding="utf-8",
    )
    checker = Checker(repeats)
    python = [f for result in checker.check_files([str(export)]) for f in result.findings]

    checked = check_postgres_table(repeats, server, "repeats")

    found = Counter((f.record_id, f.code, f.message) for f in checked.findings)
    assert found == Counter((f.record_id, f.code, f.message) for f in as_a_table_says(python))
    python_summary = {**checker.summary.to_dict(), "files": ["repeats"], "engine": "postgresql"}
    assert checked.summary.to_dict() == python_summary


def test_repeated_ids_are_not_looked_for_when_told_not_to(server: str, repeats: Policy) -> None:
    checked = check_postgres_table(repeats, server, "repeats", repeated_ids=False)

    assert [(f.record_id, f.code) for f in checked.findings] == [("7", "SL501")]
    assert tallies_of(checked.summary.by_stage) == {"Subscriber": [3, 3, 0], "MQL": [5, 4, 1]}


def test_check_db_text_lists_the_repeated_ids(server: str, repeats: Policy, tmp_path: Path) -> None:
    policy_file = tmp_path / "repeats.stage"
    policy_file.write_text(REPEATS_POLICY, encoding="utf-8")
    args = ["check", str(policy_file), "--db", server, "--table", "repeats"]

    shown = CliRunner().invoke(main, args)
    hidden = CliRunner().invoke(main, [*args, "--no-duplicate-ids", "--format", "json"])

    assert shown.exit_code == 1, shown.output
    line = '  repeats  id 8  record id "8" is also used by 2 other records in the table'
    assert shown.stdout.count(line) == 2
    assert hidden.exit_code == 1, hidden.output
    summary = json.loads(hidden.stdout)["summary"]
    assert (summary["not_conforming"], summary["findings_by_code"]) == (1, {"SL501": 1})


def test_findings_stream_in_batches_whatever_their_number(server: str) -> None:
    # 20,000 failing records, each carrying a 2 kB note: 40 MB of rows if they were all held
    # at once. Streamed a batch at a time, far less is ever held.
    policy = stagelang.loads(REPEATS_POLICY + "field note: string\n", "notes.stage")
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute("DROP TABLE IF EXISTS notes")
        connection.execute(
            "CREATE TABLE notes AS SELECT (20001 - g)::text AS record_id, 'mql' AS lifecycle_stage,"
            " 0 AS engaged_sessions, 'US' AS country, repeat('x', 2000) AS note"
            " FROM generate_series(1, 20000) AS g"
        )
    checked = check_postgres_table(policy, server, "notes")

    tracemalloc.start()
    try:
        ids = [finding.record_id for finding in checked.findings]
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert len(ids) == 20000
    assert ids == sorted(ids)  # the server sorted them, by record id as text
    assert peak < 20_000_000, f"{peak:,} bytes held at most"
    assert checked.summary.not_conforming == 20000


def test_the_summary_is_refused_when_the_findings_were_not_all_read(
    server: str, repeats: Policy
) -> None:
    checked = check_postgres_table(repeats, server, "repeats")
    next(checked.findings)
    checked.findings.close()  # the reader stops early

    with pytest.raises(DatabaseError, match="the summary is incomplete"):
        checked.summary  # noqa: B018


@pytest.mark.parametrize("dialect", DIALECTS)
def test_the_repeats_query_parses_back_in_every_dialect(japan: Policy, dialect: str) -> None:
    query = repeats_query(japan.checked, "crm.contacts", dialect=dialect)

    assert query is not None
    assert parses_back(query.sql(dialect=dialect), dialect)


def test_a_hostile_id_column_is_quoted_not_pasted(server: str) -> None:
    policy = stagelang.loads(
        "id field record_id\n"
        "stage field lifecycle_stage\n"
        'field record_id: string from "Id\\" ; DROP TABLE hostile; --"\n'
        "stage Lead requires record_id is set\n",
        "hostile.stage",
    )
    column = policy.fields["record_id"].column
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute("DROP TABLE IF EXISTS hostile")
        connection.execute(
            psycopg.sql.SQL("CREATE TABLE hostile ({} text, lifecycle_stage text)").format(
                psycopg.sql.Identifier(column)
            )
        )
        connection.cursor().executemany(
            "INSERT INTO hostile VALUES (%s, 'lead')", [("a'; --",), ("a'; --",), ("b",)]
        )

    findings = list(check_postgres_table(policy, server, "hostile").findings)

    assert [(f.record_id, f.code) for f in findings] == [("a'; --", "SL504")]
    with psycopg.connect(server) as connection:
        assert connection.execute("SELECT count(*) FROM hostile").fetchone() == (3,)


def kept_first(policy: Policy, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The records in an order where, of those sharing an id, the one `check --db` keeps comes
    first: one that conforms, furthest along the ladder, in each segment before outside it."""
    places = [*policy.stages, *(outcome.name for outcome in policy.checked.outcomes)]

    def order(record: dict[str, Any]) -> tuple[Any, ...]:
        verdict = policy.check(record, today=TODAY)
        if verdict.stage is None:
            return (True, 1, ())
        inside = policy.segments_of(record, today=TODAY)
        outside = tuple(name not in inside for name in policy.segments)
        return (not verdict.conforms, -places.index(verdict.stage), outside)

    return sorted(rows, key=order)


def python_repeats(policy: Policy, ids: list[str | None]) -> Counter[str | None]:
    """SL504 findings by record id, as the Python engine finds them in an export with these
    ids in this order (the other cells are left empty: repeated ids depend on the ids alone)."""
    columns = [field.column for field in policy.fields.values()]
    id_column = policy.fields[policy.checked.id_field or ""].column
    rows = (
        Row(line, [(record_id or "") if column == id_column else "" for column in columns])
        for line, record_id in enumerate(ids, start=2)
    )
    checker = Checker(policy, as_of=TODAY)
    table = Table("generated.csv", "csv", "utf-8", columns, rows)
    return Counter(
        finding.record_id
        for result in checker.check_table(table)
        for finding in result.findings
        if finding.code == "SL504"
    )


def summary_with_repeats(policy: Policy, rows: list[dict[str, Any]]) -> set[tuple[Any, ...]]:
    """Counts by stage and segment of an export holding the records in this order: a record
    whose id an earlier record used does not conform."""
    tallies: dict[tuple[str, str], list[int]] = {}
    seen: set[str] = set()
    for record in rows:
        verdict = policy.check(record, today=TODAY)
        record_id = record.get("record_id") or None
        conforms = verdict.conforms and record_id not in seen
        if record_id is not None:
            seen.add(record_id)
        keys = [("stage", verdict.stage or NO_STAGE)]
        if verdict.stage is not None:
            keys += [("segment", s) for s in policy.segments_of(record, today=TODAY)]
        for key in keys:
            tally = tallies.setdefault(key, [0, 0])
            tally[0 if conforms else 1] += 1
    return {(kind, name, c + n, c, n) for (kind, name), (c, n) in tallies.items()}


LADDER_WITH_OUTCOME = """policy "repeats"
id field record_id
stage field lifecycle_stage
field engaged_sessions: int
field country: string
segment japan: country == "JP"
segment engaged: engaged_sessions >= 4
stage Subscriber
stage MQL requires engaged_sessions >= 3
stage SQL requires engaged_sessions >= 5
outcome lost
  values "Closed Lost"
  requires engaged_sessions >= 1
"""
STAGE_OR_NOT = ["subscriber", "mql", "sql", "Closed Lost", "unknown", None]
simple_records = st.fixed_dictionaries(
    {
        # Mostly one id, so that records share it; mostly engaged enough to conform.
        "record_id": st.sampled_from(["1", "1", "1", "2", "", None]),
        "lifecycle_stage": st.sampled_from(STAGE_OR_NOT),
        "engaged_sessions": st.sampled_from([None, 0, 3, 4, 5, 6]),
        "country": st.sampled_from(["JP", "US", None]),
    }
)


@settings(max_examples=25, deadline=None)
@given(rows=st.lists(simple_records, min_size=2, max_size=8))
def test_repeated_ids_count_as_the_python_engine_counts_them(
    server: str, rows: list[dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    # Records sharing an id, at different stages and in different segments, that conform or
    # not: check --db must count them as the Python engine counts an export that holds the
    # same records with the one kept first, whatever order the table holds them in.
    policy = stagelang.loads(LADDER_WITH_OUTCOME, "repeats.stage")
    load_table(server, policy, "generated_repeats", rows)
    export = tmp_path_factory.mktemp("repeats") / "repeats.csv"
    columns = ["record_id", "lifecycle_stage", "engaged_sessions", "country"]
    export.write_text(
        ",".join(columns)
        + "\n"
        + "".join(
            ",".join("" if r[c] is None else str(r[c]) for c in columns) + "\n"
            for r in kept_first(policy, rows)
        ),
        encoding="utf-8",
    )
    checker = Checker(policy, as_of=TODAY)
    python = [f for result in checker.check_files([str(export)]) for f in result.findings]

    checked = check_postgres_table(policy, server, "generated_repeats", today=TODAY)

    found = Counter((f.record_id, f.code, f.stage, f.message) for f in checked.findings)
    table_says = as_a_table_says(python)
    assert found == Counter((f.record_id, f.code, f.stage, f.message) for f in table_says)
    assert checked.summary.to_dict() == {
        **checker.summary.to_dict(),
        "files": ["generated_repeats"],
        "engine": "postgresql",
    }


record_ids = st.sampled_from(["r1", "r2", "", None])


@settings(max_examples=25, deadline=None)
@given(ladders, record_lists, st.data())
def test_generated_policies_give_the_python_engines_findings(
    server: str, parts: dict[str, str], rows: list[dict[str, Any]], data: st.DataObject
) -> None:
    policy = stagelang.loads(LADDER.format(**parts), "ladder.stage")
    ids = data.draw(st.lists(record_ids, min_size=len(rows), max_size=len(rows)), label="ids")
    for record, record_id in zip(rows, ids, strict=True):
        record["record_id"] = record_id
    load_table(server, policy, "generated", rows)
    expected: Counter[tuple[Any, ...]] = Counter()
    for record in rows:
        record_id = record["record_id"] or None  # empty text is no id, as in an export
        verdict = policy.check(record, today=TODAY)
        if verdict.problem:
            code = "SL503" if record.get("lifecycle_stage") in (None, "") else "SL502"
            expected[(record_id, code, None, verdict.problem)] += 1
        for unmet in verdict.unmet:
            expected[(record_id, "SL501", unmet.stage, unmet.message())] += 1
    in_order = kept_first(policy, rows)
    repeated = python_repeats(policy, [record["record_id"] for record in in_order])
    sharing = Counter(record["record_id"] for record in rows)
    for record_id, count in repeated.items():
        assert record_id is not None and count == sharing[record_id] - 1
        expected[(record_id, "SL504", None, repeated_id(record_id, count + 1))] += count

    checked = check_postgres_table(policy, server, "generated", today=TODAY)

    findings = list(checked.findings)
    found = Counter((f.record_id, f.code, f.stage, f.message) for f in findings)
    assert found == expected
    assert Counter(f.record_id for f in findings if f.code == "SL504") == repeated
    places = [(f.record_id is None, f.record_id or "") for f in findings]
    assert places == sorted(places)
    tallies = {
        *(("stage", name, *vars(t).values()) for name, t in checked.summary.by_stage.items()),
        *(("segment", name, *vars(t).values()) for name, t in checked.summary.by_segment.items()),
    }
    assert {row[:5] for row in tallies if row[2]} == summary_with_repeats(policy, in_order)
    assert checked.summary.records == len(rows)


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
