"""One JSON Lines export on DuckDB (`JsonLinesRun`): each line read as text, its values taken
out by key."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from stagelang.analysis import types
from stagelang.records.readers import Row, Table, json_line

if TYPE_CHECKING:
    from sqlglot import exp

    from stagelang.duckdb_engine import DuckdbChecker
from stagelang.duckdb_engine.cells import (
    DECIMAL_PATTERN,
    full_match,
    plain_test,
    sql_type,
    typed_value,
)
from stagelang.duckdb_engine.exports import (
    KIND,
    LINE,
    OBJECT,
    ROW,
    TEXT,
    Binding,
    ExportRun,
    LeftRecord,
    lines_in,
    read_as_text,
    row_number_column,
    unique_names,
)


class JsonLinesRun(ExportRun):
    """Judges one JSON Lines export on DuckDB. DuckDB reads each line as text and takes each
    field's value out of it by its key; a value is read in SQL only when its JSON kind is one
    the Python engine reads alike (text for text; true/false; whole numbers; decimals with at
    most nine places; text in the plain forms of a CSV cell), and the line is an object without
    a repeated key. A record left to Python is its line, read as the Python reader reads it."""

    def __init__(self, checker: DuckdbChecker, table: Table) -> None:
        self.checker = checker
        self.table = table
        self.policy = checker.policy.checked
        self.keys = unique_names([f.column for f in self.policy.fields.values()])
        self.bindings = [
            Binding(name, declared, self.keys.index(declared.column))
            for name, declared in self.policy.fields.items()
        ]
        self.dated = []
        self.positions = list(range(len(self.keys)))
        self.total = 0

    def _numbered(self, path: str, cells: list[str]) -> exp.Select:
        from sqlglot import exp

        line = exp.column(LINE, quoted=True)
        valid = exp.Anonymous(this="json_valid", expressions=[line.copy()])
        # One parse of the line for every value: json_extract with a list of paths.
        pointers = exp.Array(
            expressions=[
                exp.Literal.string("/" + key.replace("~", "~0").replace("/", "~1"))
                for key in self.keys
            ]
        )
        extracted = exp.Anonymous(this="json_extract", expressions=[line.copy(), pointers])
        keys = exp.Anonymous(this="json_keys", expressions=[line.copy()])
        guarded_values = exp.Case(ifs=[exp.If(this=valid.copy(), true=extracted)])
        guarded_keys = exp.Case(ifs=[exp.If(this=valid, true=keys)])
        parsed = exp.select(
            row_number_column(),
            line.copy(),
            exp.alias_(guarded_values, "stagelang_values", quoted=True),
            exp.alias_(guarded_keys, "stagelang_keys", quoted=True),
        ).from_(read_lines(path))

        values = exp.column("stagelang_values", quoted=True)
        columns: list[exp.Expr] = [exp.column(ROW, quoted=True), exp.column(LINE, quoted=True)]
        for index, cell in enumerate(cells):
            # list_extract counts from 1 (sqlglot would shift a bracket's index itself).
            value = exp.Anonymous(
                this="list_extract", expressions=[values.copy(), exp.Literal.number(index + 1)]
            )
            columns.append(exp.alias_(value, cell, quoted=True))
            columns.append(exp.alias_(json_type(value), KIND.format(index), quoted=True))
            columns.append(exp.alias_(json_text(value), TEXT.format(index), quoted=True))
        # A JSON object (its text starts with "{") with no key twice: DuckDB reads the first
        # value of a repeated key where Python keeps the last.
        listed = exp.column("stagelang_keys", quoted=True)
        distinct = exp.Anonymous(this="list_distinct", expressions=[listed.copy()])
        starts = exp.Anonymous(
            this="starts_with",
            expressions=[exp.Trim(this=exp.column(LINE, quoted=True)), exp.Literal.string("{")],
        )
        one_object = exp.and_(
            starts,
            exp.EQ(
                this=exp.Anonymous(this="len", expressions=[listed]),
                expression=exp.Anonymous(this="len", expressions=[distinct]),
            ),
        )
        known = exp.Coalesce(this=one_object, expressions=[exp.false()])
        columns.append(exp.alias_(known, OBJECT, quoted=True))
        return exp.select(*columns).from_(parsed.subquery("stagelang_parsed"))

    def _helpers(self) -> list[str]:
        names = [OBJECT]
        for index in range(len(self.keys)):
            names += [KIND.format(index), TEXT.format(index)]
        return names

    def _passed(self, cells: list[str]) -> list[str]:
        return [LINE]

    def _returned(self, cell: str) -> exp.Expr:
        from sqlglot import exp

        return exp.column(cell, quoted=True)

    def _value(self, binding: Binding, cell: exp.Expr) -> exp.Expr:
        from sqlglot import exp

        kind = exp.column(KIND.format(binding.position), quoted=True)
        text = exp.column(TEXT.format(binding.position), quoted=True)
        declared = binding.field
        name = declared.type.name
        ifs = [exp.If(this=is_kind(kind, "VARCHAR"), true=typed_value(declared, text))]
        if declared.type == types.BOOL:
            ifs.append(exp.If(this=is_kind(kind, "BOOLEAN"), true=exp.cast(cell, "BOOLEAN")))
        elif name in ("int", "decimal") and not declared.type.is_list:
            whole = exp.cast(exp.TryCast(this=text.copy(), to=exp.DataType.build("BIGINT")),
                             sql_type(declared.type))  # fmt: skip
            ifs.append(exp.If(this=is_kind(kind, "BIGINT", "UBIGINT"), true=whole))
            if name == "decimal":
                number = exp.TryCast(
                    this=exp.cast(cell.copy(), "VARCHAR"), to=exp.DataType.build("DECIMAL(38, 9)")
                )
                ifs.append(exp.If(this=is_kind(kind, "DOUBLE"), true=number))
        return exp.Case(ifs=ifs)

    def _plain(self, binding: Binding, cell: exp.Expr) -> exp.Expr | None:
        from sqlglot import exp

        kind = exp.column(KIND.format(binding.position), table="t", quoted=True)
        text = exp.column(TEXT.format(binding.position), table="t", quoted=True)
        declared = binding.field
        name = declared.type.name
        missing = exp.or_(exp.Is(this=cell.copy(), expression=exp.null()), is_kind(kind, "NULL"))
        text_test = plain_test(declared, text, self.checker.timezone)
        as_text = is_kind(kind, "VARCHAR")
        if text_test is not None:
            as_text = exp.and_(as_text, exp.paren(text_test))
        tests = [missing, as_text]
        if declared.type.is_list and declared.type.item != types.STRING:
            tests = [missing]
        elif declared.type == types.BOOL:
            tests.append(is_kind(kind, "BOOLEAN"))
        elif name == "int" and not declared.type.is_list:
            whole = exp.Not(this=exp.Is(
                this=exp.TryCast(this=json_text(cell), to=exp.DataType.build("BIGINT")),
                expression=exp.null()))  # fmt: skip
            tests.append(exp.and_(is_kind(kind, "BIGINT", "UBIGINT"), whole))
        elif name == "decimal" and not declared.type.is_list:
            whole = exp.Not(this=exp.Is(
                this=exp.TryCast(this=json_text(cell), to=exp.DataType.build("BIGINT")),
                expression=exp.null()))  # fmt: skip
            tests.append(exp.and_(is_kind(kind, "BIGINT", "UBIGINT"), whole))
            written = exp.cast(cell.copy(), "VARCHAR")
            tests.append(exp.and_(is_kind(kind, "DOUBLE"), full_match(written, DECIMAL_PATTERN)))
        return exp.or_(*tests)

    def _text(self, binding: Binding) -> exp.Expr:
        from sqlglot import exp

        return exp.column(TEXT.format(binding.position), quoted=True)

    def _clean(self) -> exp.Expr:
        """Also: the line is one JSON object, with no key twice."""
        from sqlglot import exp

        one_object = exp.column(OBJECT, table="t", quoted=True)
        return exp.and_(one_object, super()._clean())

    def _left(self, path: str, result: Any, first: tuple[Any, ...] | None) -> Iterator[LeftRecord]:
        """The records left for Python, each its line read as the Python reader reads it."""

        def row_of(number: int, values: tuple[Any, ...]) -> Row | None:
            return json_line(number, values[0] or "")  # None for a blank line, no record

        left = self._left_records(first, row_of)
        if lines_in(path) == self.total:
            return left
        return iter(self._read_by_python(list(left)))


def read_lines(path: str) -> exp.Expr:
    """Each line of the file as one text value (JSON text never holds a raw control
    character, so the separator U+0001 does not split it)."""
    return read_as_text(path, [LINE], header=False, delimiter="\x01", quote="")


def json_type(value: exp.Expr) -> exp.Expr:
    from sqlglot import exp

    return exp.Anonymous(this="json_type", expressions=[value.copy()])


def json_text(value: exp.Expr) -> exp.Expr:
    """A JSON string's text (a number's or a flag's written form for other kinds); empty text
    is NULL, as an empty CSV cell is, and as the Python coercers read it."""
    from sqlglot import exp

    text = exp.Anonymous(
        this="json_extract_string", expressions=[value.copy(), exp.Literal.string("$")]
    )
    return exp.Nullif(this=text, expression=exp.Literal.string(""))


def is_kind(kind: exp.Expr, *names: str) -> exp.Expr:
    from sqlglot import exp

    return exp.In(this=kind.copy(), expressions=[exp.Literal.string(n) for n in names])
