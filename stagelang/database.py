"""Checking a table in a running PostgreSQL server: `stagelang check --db URL --table T`.

The policy's findings and summary queries (`stagelang.compiler.sql`) run in the server, so
only the records that do not conform travel back. Their rows become the findings and the
summary the Python engine reports for an export, so every output format of `stagelang check`
serves both. A finding's place is the table (its `file`) and the record id; it has no line.

What the server cannot say is not reported: repeated ids (SL504), cells that cannot be read
(SL505, which a typed column cannot hold) and stage history (entered dates, transitions).

    >>> import stagelang
    >>> from stagelang.database import check_postgres_table
    >>> policy = stagelang.load("policies/japan.stage")
    >>> checked = check_postgres_table(policy, "postgresql://localhost/crm", "crm.contacts")
    ... # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from stagelang.analysis.model import Criterion, Field
from stagelang.analysis.types import Type
from stagelang.checking import Summary, Tally
from stagelang.errors import StagelangError
from stagelang.findings import Finding
from stagelang.policy import Policy
from stagelang.suggestions import closest
from stagelang.verdicts import Unmet
from stagelang.warehouse import MissingExtraError

SCHEMES = ("postgresql", "postgres")

# The PostgreSQL types a column may have for each field type (names as pg_type has them).
_ACCEPTED = {
    "bool": {"bool"},
    "int": {"int2", "int4", "int8"},
    "decimal": {"numeric", "int2", "int4", "int8", "float4", "float8"},
    "string": {"text", "varchar", "bpchar", "name"},
    "date": {"date"},
    "datetime": {"timestamptz", "timestamp"},
}


class DatabaseError(StagelangError):
    """The server cannot be reached, or the table does not hold what the policy reads."""


@dataclass
class TableCheck:
    """The findings about the table's records that do not conform, and the summary."""

    findings: list[Finding]
    summary: Summary


def check_postgres_table(
    policy: Policy, url: str, table: str, *, today: dt.date | None = None
) -> TableCheck:
    """Check every record of `table` in the PostgreSQL server at `url` against the policy.

    Raises DatabaseError (whose message never holds the URL's password) when the server
    cannot be reached or the table lacks a column the policy reads, or has it with a type
    that cannot hold the field.
    """
    try:
        import psycopg
    except ImportError:
        raise MissingExtraError("psycopg", "postgres", "checking a PostgreSQL table") from None
    try:
        from stagelang.compiler.sql import compile_policy
    except ImportError:
        raise MissingExtraError("sqlglot", "sql", "checking a PostgreSQL table") from None

    if urlsplit(url).scheme not in SCHEMES:
        # Not echoed: a connection string such as "host=... password=..." would show its secret.
        raise DatabaseError(
            "--db takes a PostgreSQL URL, such as postgresql://USER@HOST:PORT/DATABASE "
            "(the password may come from PGPASSWORD or ~/.pgpass)"
        )
    compiled = compile_policy(
        policy.checked, table, dialect="postgres", today=today, with_values=True
    )
    try:
        with psycopg.connect(url, connect_timeout=10) as connection:
            # One snapshot for both queries, so that the findings and the counts describe the
            # same rows while others write to the table; and a check never writes.
            connection.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            connection.read_only = True
            connection.execute("SET TIME ZONE 'UTC'")
            _check_columns(connection, policy, table)
            findings_rows = connection.execute(compiled.findings_sql(pretty=False)).fetchall()
            summary_rows = connection.execute(compiled.summary_sql(pretty=False)).fetchall()
    except psycopg.errors.UndefinedTable:
        raise DatabaseError(f'table "{table}" does not exist in {redact(url)}') from None
    except psycopg.Error as error:
        raise DatabaseError(_plain(error, url)) from None

    # The rows of every record that does not conform are held in memory, with the values of
    # its fields: tables where millions of records fail need that much memory here.
    # A table has no order of its own: findings come by record id, records without one last.
    findings_rows.sort(key=lambda row: (row[0] is None, row[0] or ""))
    findings = list(_findings(policy, table, findings_rows))
    return TableCheck(findings, _summary(policy, table, summary_rows, findings))


def redact(url: str) -> str:
    """The URL without its secrets: the password replaced by ***, the query (which may hold
    password=...) left out."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password is not None:
        netloc = netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc, query="", fragment="").geturl()


def _plain(error: Exception, url: str) -> str:
    """The driver's first line, without any password, said as the server's problem."""
    reason = (str(error).strip().splitlines() or ["unknown error"])[0]
    for secret in _secrets(url):
        reason = reason.replace(secret, "***")
    return f"PostgreSQL at {redact(url)}: {reason}"


def _secrets(url: str) -> list[str]:
    parts = urlsplit(url)
    found = [value for key, value in parse_qsl(parts.query) if key == "password" and value]
    return [parts.password, *found] if parts.password else found


# The table's columns -----------------------------------------------------------------------


def _check_columns(connection: Any, policy: Policy, table: str) -> None:
    """Each field's column is there with a type that holds the field; said all at once."""
    from psycopg.postgres import types as pg_types
    from sqlglot import exp

    from stagelang.compiler.sql import table_source

    probe = exp.select(exp.Star()).from_(table_source(table)).limit(0).sql(dialect="postgres")
    cursor = connection.execute(probe)
    found = {column.name: column.type_code for column in cursor.description or []}
    problems = []
    for name, declared in policy.fields.items():
        if declared.column not in found:
            problems.append(_missing(name, declared, list(found)))
            continue
        info = pg_types.get(found[declared.column])
        shown = "an unknown type" if info is None else _type_name(info, found[declared.column])
        if info is None or not _holds(declared.type, info, found[declared.column]):
            problems.append(
                f'column "{declared.column}" is {shown}, which cannot hold field "{name}" '
                f"({declared.type})"
            )
    if problems:
        raise DatabaseError(
            f'table "{table}" does not hold what the policy reads:\n  '
            + "\n  ".join(problems)
            + '\nrename or retype the columns, or map fields to them with from "column"'
        )


def _missing(name: str, declared: Field, columns: list[str]) -> str:
    looked_for = f'column "{declared.column}"' + (
        f' (field "{name}")' if declared.column != name else ""
    )
    suggestion = closest(declared.column, columns)
    return looked_for + " is missing" + (f'; closest: "{suggestion}"' if suggestion else "")


def _holds(kind: Type, info: Any, oid: int) -> bool:
    is_array = oid == info.array_oid and oid != info.oid
    if kind.is_list:
        return is_array and kind.item is not None and info.name in _ACCEPTED[kind.item.name]
    return not is_array and info.name in _ACCEPTED[kind.name]


def _type_name(info: Any, oid: int) -> str:
    return f"{info.name}[]" if oid == info.array_oid and oid != info.oid else str(info.name)


# Rows into findings and a summary -------------------------------------------------------------


def _findings(policy: Policy, table: str, rows: Iterable[tuple[Any, ...]]) -> Iterable[Finding]:
    """One finding per problem of each row of the findings query, as the Python engine words it."""
    from stagelang.compiler.sql import criteria

    by_name = {criterion.describe(): criterion for criterion in criteria(policy.checked)}
    names = list(policy.fields)
    stage_field = policy.checked.stage_field
    for record_id, stage_value, _, problem, unmet, *values in rows:
        # The query reads empty text and empty lists as NULL already, as exports are read.
        record = dict(zip(names, values, strict=True))
        if problem is not None:
            code = "SL503" if problem == "missing-stage" else "SL502"
            # The Python engine's own sentence for a stage value that names no stage.
            verdict = policy.check({stage_field: stage_value})
            yield Finding(code, verdict.problem or problem, table, None, record_id)
            continue
        for name in unmet:
            criterion = by_name[name]
            yield _unmet_finding(table, record_id, name, criterion, record)


def _unmet_finding(
    table: str, record_id: str | None, described: str, criterion: Criterion, record: dict[str, Any]
) -> Finding:
    values = {field: record.get(field) for field in criterion.fields}
    outcome = None if any(value is None for value in values.values()) else False
    return Finding(
        "SL501",
        Unmet(criterion, values, outcome).message(),
        table,
        None,
        record_id,
        stage=criterion.stage,
        clause=criterion.text,
        criterion=described,
        values=values,
    )


def _summary(
    policy: Policy, table: str, rows: Iterable[tuple[Any, ...]], findings: list[Finding]
) -> Summary:
    places = (*policy.stages, *(outcome.name for outcome in policy.checked.outcomes))
    summary = Summary(
        files=[table],
        by_stage={name: Tally() for name in places},
        by_segment={segment: Tally() for segment in policy.segments},
    )
    for kind, name, records, conforming, not_conforming in rows:
        tally = Tally(int(records), int(conforming), int(not_conforming))
        if kind == "segment":
            summary.by_segment[name] = tally
            continue
        summary.by_stage[name] = tally
        summary.conforming += tally.conforming
        summary.not_conforming += tally.not_conforming
    summary.findings.update(finding.code for finding in findings)
    return summary
