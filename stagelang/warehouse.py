"""Policies where the data lives: SQL text for a warehouse.

`render_sql` is what `stagelang sql` prints: the findings query and the summary query of
`stagelang.compiler.sql`, with a comment saying what each returns. It needs the `sql` extra.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from stagelang.errors import StagelangError
from stagelang.policy import Policy

EXTRA_ADVICE = "install it with: pip install 'stagelang[{extra}]'"


class MissingExtraError(StagelangError):
    """An optional dependency a command needs is not installed."""

    def __init__(self, package: str, extra: str, purpose: str) -> None:
        advice = EXTRA_ADVICE.format(extra=extra)
        super().__init__(f"{purpose} needs the {package} package; {advice}")


def render_sql(
    policy: Policy, table: str, dialect: str, query: str = "both", today: dt.date | None = None
) -> str:
    """The findings query, the summary query, or both, as SQL text ending with semicolons."""
    try:
        from stagelang.compiler.sql import compile_policy
    except ImportError:
        raise MissingExtraError("sqlglot", "sql", "writing SQL") from None

    compiled = compile_policy(policy.checked, table, dialect=dialect, today=today)
    parts = []
    if query in ("both", "findings"):
        parts.append(
            "-- Records that do not conform: id, stage value, the stage it names, a problem\n"
            "-- with the stage value, and the unmet criteria as stagelang check names them.\n"
            + compiled.findings_sql()
            + ";"
        )
    if query in ("both", "summary"):
        parts.append(
            "-- Records, conforming and not conforming, per stage and per segment.\n"
            + compiled.summary_sql()
            + ";"
        )
    return "\n\n".join(parts)


# DuckDB over export files ----------------------------------------------------------------------


@dataclass(frozen=True)
class DuckdbResult:
    """What the two queries returned: one tuple per row, in the columns docs/scale.md lists."""

    findings: list[tuple[Any, ...]]
    summary: list[tuple[Any, ...]]


def check_on_duckdb(policy: Policy, path: str, *, today: dt.date | None = None) -> DuckdbResult:
    """Run the policy's findings and summary queries on embedded DuckDB over a CSV or Parquet file.

    A CSV file is read as text and each cell cast to its field's type with TRY_CAST; a Parquet
    file keeps its own types. This is the SQL engine's path for measuring it against the Python
    engine (bench/bench_sql.py); it is not yet `stagelang check --engine duckdb`. It differs
    from `stagelang check` where a cell cannot be read: TRY_CAST makes it missing where the
    Python engine reports it (SL505), and it does not read the Japanese number and date
    formats, other encodings or repeated ids that the Python engine handles.
    """
    try:
        import duckdb

        from stagelang.compiler.sql import compile_policy
    except ImportError:
        raise MissingExtraError("duckdb and sqlglot", "sql", "running SQL on DuckDB") from None

    compiled = compile_policy(
        policy.checked, _typed_file(policy, path), dialect="duckdb", today=today
    )
    connection = duckdb.connect()
    try:
        connection.execute("SET TimeZone = 'UTC'")
        # DuckDB draws a progress bar on standard output for long queries, which would land
        # in the middle of the CSV that `stagelang sql --run` prints there.
        connection.execute("SET enable_progress_bar = false")
        findings = connection.execute(compiled.findings_sql(pretty=False)).fetchall()
        summary = connection.execute(compiled.summary_sql(pretty=False)).fetchall()
    except duckdb.Error as error:
        # DuckDB's first line says what it met (a ragged row, a missing column); the rest is
        # advice about its own options, which a stagelang user cannot pass.
        reason = str(error).strip().splitlines()[0]
        raise StagelangError(
            f"{path}: DuckDB cannot check the file: {reason}\n"
            "stagelang check (the Python engine) reads it row by row and names each row it "
            "cannot read"
        ) from None
    finally:
        connection.close()
    return DuckdbResult(findings, summary)


def _typed_file(policy: Policy, path: str) -> Any:
    """A DuckDB subquery over the file with one typed column per field, named as the field's
    column; the path is a sqlglot literal, never pasted."""
    from sqlglot import exp

    from stagelang.duckdb_engine.cells import sql_type

    location = exp.Literal.string(path)
    if path.lower().endswith(".parquet"):
        return exp.Anonymous(this="read_parquet", expressions=[location])
    options = [
        location,
        exp.EQ(this=exp.column("all_varchar"), expression=exp.true()),
        exp.EQ(this=exp.column("header"), expression=exp.true()),
        exp.EQ(this=exp.column("delim"), expression=exp.Literal.string(",")),
        exp.EQ(this=exp.column("quote"), expression=exp.Literal.string('"')),
        exp.EQ(this=exp.column("escape"), expression=exp.Literal.string('"')),
    ]
    source = exp.Anonymous(this="read_csv", expressions=options)
    columns = []
    for field in policy.checked.fields.values():
        cell = exp.Nullif(
            this=exp.column(field.column, quoted=True), expression=exp.Literal.string("")
        )
        typed: exp.Expr
        if field.type.is_list:
            # Items are split on the field's separator and trimmed; as in the Python reader,
            # empty items are dropped. Only lists of text are read this way.
            split = exp.Anonymous(
                this="string_split",
                expressions=[cell, exp.Literal.string(field.separator)],
            )
            typed = exp.Anonymous(
                this="list_filter",
                expressions=[
                    exp.Anonymous(
                        this="list_transform",
                        expressions=[split, _lambda("stagelang_item", "trim")],
                    ),
                    _nonempty("stagelang_item"),
                ],
            )
        elif field.type.name != "string":
            typed = exp.TryCast(this=cell, to=exp.DataType.build(sql_type(field.type)))
        else:
            typed = cell
        columns.append(exp.alias_(typed, field.column, quoted=True))
    return exp.select(*columns).from_(source).subquery("stagelang_file")


def _lambda(name: str, function: str) -> Any:
    from sqlglot import exp

    item = exp.to_identifier(name)
    body = exp.Anonymous(this=function, expressions=[exp.column(name)])
    return exp.Lambda(this=body, expressions=[item])


def _nonempty(name: str) -> Any:
    from sqlglot import exp

    item = exp.to_identifier(name)
    body = exp.NEQ(this=exp.column(name), expression=exp.Literal.string(""))
    return exp.Lambda(this=body, expressions=[item])
