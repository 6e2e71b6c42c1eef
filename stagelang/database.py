"""Checking a table in a running PostgreSQL server: `stagelang check --db URL --table T`.

The policy's findings, summary and repeated-ids queries (`stagelang.compiler.sql`) run in the
server, in one read-only snapshot, so only the records that do not conform and the ids that
repeat travel back. Their rows become the findings and the summary the Python engine reports
for an export, so every output format of `stagelang check` serves both. A finding's place is
the table (its `file`) and the record id; it has no line.

The findings are streamed: the server sorts them by record id (records without one last) and
hands them over a server-side cursor, a batch at a time, so memory stays the same however many
records fail. The summary is complete once the findings have all been read.

Repeated ids (SL504): of the records sharing an id, one is kept as the record the id belongs
to and each of the others gets SL504 and does not conform, as each repeat does in an export.
A table has no order to say which came first, so the one kept is the one most in the record's
favour (see `_keep_one`); the message says how many other records use the id.

What the server cannot say is not reported: cells that cannot be read (SL505, which a typed
column cannot hold) and stage history (entered dates, transitions).

    >>> import stagelang
    >>> from stagelang.database import check_postgres_table
    >>> policy = stagelang.load("policies/japan.stage")
    >>> with check_postgres_table(policy, "postgresql://localhost/crm", "crm.contacts") as checked:
    ...     for finding in checked.findings:
    ...         print(finding.record_id, finding.message)
    ...     print(checked.summary.not_conforming)
    ... # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import datetime as dt
import heapq
import itertools
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
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

if TYPE_CHECKING:
    from sqlglot import exp

SCHEMES = ("postgresql", "postgres")

# Rows fetched from a server-side cursor at a time: a few megabytes of findings at most.
BATCH = 2000

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


class TableCheck:
    """The findings about a table's records, streamed in order of record id, then the summary.

    `findings` can be read once; `summary` is complete after it, and reading `summary` first
    reads (and drops) the findings not read yet. The connection closes when the findings are
    all read, or on `close()` or at the end of a `with` block.
    """

    def __init__(self, findings: Iterator[Finding], summary: Summary, opened: list[Any]) -> None:
        self._complete = False
        self.findings = self._read(findings)
        self._summary = summary
        self._opened = opened

    def _read(self, findings: Iterator[Finding]) -> Generator[Finding, None, None]:
        yield from findings
        self._complete = True

    @property
    def summary(self) -> Summary:
        """The counts, once every finding is read; DatabaseError if they could not all be."""
        for _ in self.findings:
            pass
        if not self._complete:
            raise DatabaseError("the findings were not all read, so the summary is incomplete")
        return self._summary

    def close(self) -> None:
        _close(self._opened)

    def __enter__(self) -> TableCheck:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def check_postgres_table(
    policy: Policy,
    url: str,
    table: str,
    *,
    today: dt.date | None = None,
    repeated_ids: bool = True,
) -> TableCheck:
    """Check every record of `table` in the PostgreSQL server at `url` against the policy.

    Raises DatabaseError (whose message never holds the URL's password) when the server
    cannot be reached or the table lacks a column the policy reads, or has it with a type
    that cannot hold the field; these are found before any finding is returned. A server
    that fails while the findings are read raises DatabaseError from `findings`.
    With `repeated_ids=False`, ids used by several records are not looked for (no SL504).
    """
    try:
        import psycopg
    except ImportError:
        raise MissingExtraError("psycopg", "postgres", "checking a PostgreSQL table") from None
    try:
        from stagelang.compiler.sql import compile_policy, repeats_query
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
    repeats = repeats_query(policy.checked, table, dialect="postgres", today=today)
    with _plainly(url, table):
        connection = psycopg.connect(url, connect_timeout=10)
    opened: list[Any] = [connection]  # then its cursors
    try:
        with _plainly(url, table):
            # One snapshot for every query, so that the findings and the counts describe the
            # same rows while others write to the table; and a check never writes.
            connection.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            connection.read_only = True
            connection.execute("SET TIME ZONE 'UTC'")
            _check_columns(connection, policy, table)
            summary_rows = connection.execute(compiled.summary_sql(pretty=False)).fetchall()
            findings_rows = _stream(opened, "stagelang_findings", _by_id(compiled.findings))
            repeats_rows = None
            if repeated_ids and repeats is not None:
                repeats_rows = _stream(opened, "stagelang_repeats", _by_id(repeats))
    except BaseException:
        _close(opened)
        raise

    summary = _summary(policy, table, summary_rows)
    found = _findings(policy, table, findings_rows)
    if repeats_rows is not None:
        repeated = _repeated_ids(policy, table, repeats_rows, summary)
        # Both come sorted by record id: merged, a record's SL504 follows its other findings.
        found = heapq.merge(found, repeated, key=_place)
    stream = _counted(found, summary, opened, url, table)
    return TableCheck(stream, summary, opened)


def _by_id(query: exp.Expr) -> str:
    """The query sorted by record id, in the byte order of its text (records without one
    last), which is Python's order of strings for UTF-8: two such streams merge as they come."""
    from sqlglot import exp

    from stagelang.compiler.sql import ID

    collated = exp.Collate(
        this=exp.column(ID, quoted=True), expression=exp.to_identifier("C", quoted=True)
    )
    assert isinstance(query, exp.Select)  # both queries are a SELECT with its WITH
    ordered = query.order_by(exp.Ordered(this=collated, nulls_first=False))
    return str(ordered.sql(dialect="postgres"))


def _stream(opened: list[Any], name: str, sql: str) -> Any:
    """A server-side cursor over the query, read BATCH rows at a time."""
    cursor = opened[0].cursor(name=name)
    opened.append(cursor)
    cursor.itersize = BATCH
    cursor.execute(sql)
    return cursor


def _close(opened: list[Any]) -> None:
    """The cursors, then the connection: the connection even when closing a cursor fails."""
    if not opened:
        return
    connection, *cursors = opened
    opened.clear()
    try:
        for cursor in reversed(cursors):
            cursor.close()
    finally:
        connection.close()


def _place(finding: Finding) -> tuple[bool, str]:
    return (finding.record_id is None, finding.record_id or "")


def _counted(
    findings: Iterable[Finding], summary: Summary, opened: list[Any], url: str, table: str
) -> Iterator[Finding]:
    """The findings as they come, counted in the summary; the connection closed after them."""
    with _plainly(url, table):
        try:
            for finding in findings:
                summary.findings[finding.code] += 1
                yield finding
        finally:
            _close(opened)


@contextlib.contextmanager
def _plainly(url: str, table: str) -> Iterator[None]:
    """The driver's errors said as DatabaseError, in plain words and without a password."""
    import psycopg

    try:
        yield
    except psycopg.errors.UndefinedTable:
        raise DatabaseError(f'table "{table}" does not exist in {redact(url)}') from None
    except psycopg.Error as error:
        raise DatabaseError(_plain(error, url)) from None


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


def _summary(policy: Policy, table: str, rows: Iterable[tuple[Any, ...]]) -> Summary:
    """The summary query's counts, each record judged on its own; repeated ids and the
    findings are counted in as they are read."""
    summary = Summary(
        files=[table],
        by_stage={name: Tally() for name in _places(policy)},
        by_segment={segment: Tally() for segment in policy.segments},
        engine="postgresql",
    )
    for kind, name, records, conforming, not_conforming in rows:
        tally = Tally(int(records), int(conforming), int(not_conforming))
        if kind == "segment":
            summary.by_segment[name] = tally
            continue
        summary.by_stage[name] = tally
        summary.conforming += tally.conforming
        summary.not_conforming += tally.not_conforming
    return summary


def _places(policy: Policy) -> list[str]:
    """Stage names by rank, as the queries number them: the ladder, then the outcomes."""
    return [*policy.stages, *(outcome.name for outcome in policy.checked.outcomes)]


# Repeated ids ---------------------------------------------------------------------------------


def _repeated_ids(
    policy: Policy, table: str, rows: Iterable[tuple[Any, ...]], summary: Summary
) -> Iterator[Finding]:
    """One SL504 for each record of a repeated id but the one kept, counted in the summary.

    The rows are the repeats query's, sorted by id: for each id, its records counted by stage
    rank and segment flags, and how many of them conform on their own.
    """
    for record_id, group in itertools.groupby(rows, key=lambda row: row[0]):
        kinds = [
            _Kind(rank, tuple(bool(flag) for flag in flags), int(records), int(conforming))
            for _, rank, *flags, records, conforming in group
        ]
        _keep_one(policy, kinds, summary)
        sharing = sum(kind.records for kind in kinds)
        others = "another record" if sharing == 2 else f"{sharing - 1:,} other records"
        message = f'record id "{record_id}" is also used by {others} in the table'
        for _ in range(sharing - 1):
            yield Finding("SL504", message, table, None, record_id)


@dataclass(slots=True)
class _Kind:
    """Records sharing an id, alike in stage rank and segment flags; how many conform."""

    rank: int | None
    flags: tuple[bool, ...]
    records: int
    conforming: int

    def order(self) -> tuple[bool, int, tuple[bool, ...]]:
        """Furthest along the ladder first, then inside each segment before outside it."""
        return (self.rank is None, -(self.rank or 0), tuple(not flag for flag in self.flags))


def _keep_one(policy: Policy, kinds: list[_Kind], summary: Summary) -> None:
    """Every record sharing the id but one counts as not conforming, as repeats in an export.

    The summary query judged each record on its own. Which record is kept changes only the
    counts by stage and segment, and a table has no order to say which came first, so the one
    kept is the one most in the record's favour: one that conforms if any does, the one
    furthest along the ladder (an outcome counts as past its last stage), then one in the
    policy's first segment before one outside it, and so on down the segments. Records alike
    in all of these count the same whichever of them is kept. A record that does not conform
    on its own does not conform, kept or not.
    """
    places, segments = _places(policy), list(policy.segments)
    kept = False
    for kind in sorted(kinds, key=_Kind.order):
        moved = kind.conforming
        if moved and not kept:
            moved -= 1
            kept = True
        if not moved or kind.rank is None:  # without a stage a record never conforms
            continue
        inside = [name for name, flag in zip(segments, kind.flags, strict=True) if flag]
        tallies = [summary.by_stage[places[kind.rank]], *(summary.by_segment[s] for s in inside)]
        for tally in tallies:
            tally.conforming -= moved
            tally.not_conforming += moved
        summary.conforming -= moved
        summary.not_conforming += moved
