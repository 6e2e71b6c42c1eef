"""One Parquet file on DuckDB (`ParquetRun`): typed columns, row numbers for lines."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from stagelang.analysis import types
from stagelang.analysis.model import Field
from stagelang.records.readers import (
    InputError,
    Row,
    Table,
)

if TYPE_CHECKING:
    from sqlglot import exp

    from stagelang.duckdb_engine import DuckdbChecker
from stagelang.duckdb_engine.cells import (
    plain_test,
    python_strip,
    sql_type,
    typed_value,
)
from stagelang.duckdb_engine.exports import (
    ROW,
    Binding,
    ExportRun,
    LeftRecord,
    cell_of,
)


class ParquetRun(ExportRun):
    """Judges one Parquet file on DuckDB. Its columns keep their own types: a text column is
    read as a CSV cell is, a typed one (BIGINT, DECIMAL, DATE, TIMESTAMP, lists) as its value.
    A record's place is its row number, counted from 1, where a CSV record has its line."""

    def __init__(self, checker: DuckdbChecker, name: str) -> None:
        self.types = _parquet_columns(name)
        names = list(self.types)
        super().__init__(checker, Table(name, "parquet", "utf-8", names, iter(())))
        self.kinds = {b.position: self.types[names[b.position]] for b in self.bindings}
        found = (
            _unsuitable_column(b.name, b.field, names[b.position], self.kinds[b.position])
            for b in self.bindings
        )
        problems = [problem for problem in found if problem]
        if problems:
            raise InputError(
                name,
                "the Parquet file holds columns whose types cannot hold the policy's fields:\n  "
                + "\n  ".join(problems)
                + "\nwrite the columns as text (VARCHAR) or with the types docs/scale.md lists",
            )

    def _utf8_file(self, workspace: str) -> str:
        return self.table.name

    def _numbered(self, path: str, cells: list[str]) -> exp.Select:
        from sqlglot import exp

        names = self.table.columns or []
        row = exp.Add(this=exp.column("file_row_number"), expression=exp.Literal.number(1))
        read = exp.Anonymous(
            this="read_parquet",
            expressions=[
                exp.Literal.string(path),
                exp.EQ(this=exp.column("file_row_number"), expression=exp.true()),
            ],
        )
        return exp.select(
            exp.alias_(row, ROW, quoted=True),
            *(
                exp.alias_(exp.column(names[position], quoted=True), cell, quoted=True)
                for position, cell in zip(self.positions, cells, strict=True)
            ),
        ).from_(read)

    def _returned(self, cell: str) -> exp.Expr:
        from sqlglot import exp

        return exp.column(cell, quoted=True)

    def _value(self, binding: Binding, cell: exp.Expr) -> exp.Expr:
        kind = self.kinds[binding.position]
        if kind == "VARCHAR":
            return typed_value(binding.field, cell)
        return _native(binding.field, cell, kind)

    def _plain(self, binding: Binding, cell: exp.Expr) -> exp.Expr | None:
        kind = self.kinds[binding.position]
        if kind == "VARCHAR":
            return plain_test(binding.field, cell, self.checker.timezone)
        return _native_plain(binding.field, cell, kind, self.checker.timezone)

    def _text(self, binding: Binding) -> exp.Expr:
        from sqlglot import exp

        return exp.cast(cell_of(binding), "VARCHAR")

    def _left(self, path: str, result: Any, first: tuple[Any, ...] | None) -> Iterator[LeftRecord]:
        """The records left for Python, as JSON records are read: values by column name."""
        names = [(self.table.columns or [])[position] for position in self.positions]

        def row_of(number: int, values: tuple[Any, ...]) -> Row:
            return Row(number, dict(zip(names, values, strict=True)))

        return self._left_records(first, row_of)


# Parquet column types, as DuckDB names them, that hold each field type as its Python value.
_INTEGERS = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER"}
_TIMESTAMPS = {"TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS"}
_HOLDS = {
    "bool": {"BOOLEAN"},
    "int": _INTEGERS,
    "decimal": _INTEGERS | {"DOUBLE", "FLOAT"},
    "string": _INTEGERS | {"BOOLEAN"},
    "date": {"DATE"} | _TIMESTAMPS | {"TIMESTAMP WITH TIME ZONE"},
    "datetime": {"DATE", "TIMESTAMP WITH TIME ZONE"} | _TIMESTAMPS,
}


def _parquet_columns(name: str) -> dict[str, str]:
    """The Parquet file's columns and their DuckDB types, in order."""
    import duckdb
    from sqlglot import exp

    if name == "-":
        raise InputError(name, "a Parquet file is read from disk, not standard input")
    if not os.path.isfile(name):
        raise InputError(name, "no such file")
    read = exp.Anonymous(this="read_parquet", expressions=[exp.Literal.string(name)])
    probe = exp.select(exp.Star()).from_(read).limit(0).sql(dialect="duckdb")
    try:
        with duckdb.connect() as connection:
            described = connection.execute("DESCRIBE " + probe).fetchall()
    except duckdb.Error as error:
        reason = (str(error).strip().splitlines() or ["unknown error"])[0]
        raise InputError(name, f"cannot be read as Parquet: {reason}") from None
    return {row[0]: str(row[1]) for row in described}


def _holds(declared: Field, kind: str) -> bool:
    if kind == "VARCHAR":
        return True
    if declared.type.is_list:
        item = declared.type.item
        return (
            kind.endswith("[]")
            and item is not None
            and _holds(dataclasses.replace(declared, type=item), kind[:-2])
        )
    if declared.type.name == "decimal" and kind.startswith("DECIMAL("):
        scale = int(kind.rstrip(")").split(",")[-1])
        return scale <= 9
    return kind in _HOLDS.get(declared.type.name, set())


def _unsuitable_column(name: str, declared: Field, column: str, kind: str) -> str | None:
    if _holds(declared, kind):
        return None
    return f'column "{column}" is {kind}, which cannot hold field "{name}" ({declared.type})'


def _native(declared: Field, cell: exp.Expr, kind: str) -> exp.Expr:
    """The field's value from a typed Parquet column (see `_holds`)."""
    from sqlglot import exp

    field_type = declared.type
    if field_type.is_list:
        item = exp.to_identifier("stagelang_item")
        known = exp.Not(this=exp.Is(this=exp.column(item.copy()), expression=exp.null()))
        items = exp.Anonymous(
            this="list_filter",
            expressions=[cell.copy(), exp.Lambda(this=known, expressions=[item.copy()])],
        )
        if field_type.item == types.STRING:
            strip = exp.Lambda(
                this=python_strip(exp.column(item.copy())), expressions=[item.copy()]
            )
            stripped = exp.Anonymous(this="list_transform", expressions=[items, strip])
            nonempty = exp.Lambda(
                this=exp.NEQ(this=exp.column(item.copy()), expression=exp.Literal.string("")),
                expressions=[item.copy()],
            )
            return exp.Anonymous(this="list_filter", expressions=[stripped, nonempty])
        return exp.cast(items, sql_type(field_type))
    if field_type == types.STRING:
        return exp.cast(cell.copy(), "VARCHAR")
    return exp.cast(cell.copy(), sql_type(field_type))


def _native_plain(declared: Field, cell: exp.Expr, kind: str, zone: dt.tzinfo) -> exp.Expr | None:
    """TRUE when `_native` gives the value Python's coercer gives, None when it always does."""
    from sqlglot import exp

    utc = zone is dt.UTC or getattr(zone, "key", None) in ("UTC", "Etc/UTC")
    missing = exp.Is(this=cell.copy(), expression=exp.null())
    name = declared.type.name
    if kind in ("DOUBLE", "FLOAT"):
        # Python reads a float as the decimal it prints as; nine places are kept here.
        back = exp.cast(_native(declared, cell, kind), "DOUBLE")
        return exp.or_(missing, exp.EQ(this=back, expression=cell.copy()))
    if kind == "BOOLEAN" and name == "string":
        return None
    naive = kind in _TIMESTAMPS or (kind == "DATE" and name == "datetime")
    zoned = kind == "TIMESTAMP WITH TIME ZONE" and name == "date"
    if (naive or zoned) and not utc:
        # Read in --timezone by Python; DuckDB here reads them in UTC.
        return missing
    return None
