"""Cells in SQL: a field's value from the text of its cell, and whether that value is the one
the Python engine's coercers give (`typed_value`, `plain_test`)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from stagelang.analysis import types
from stagelang.analysis.model import Field

if TYPE_CHECKING:
    from sqlglot import exp

# The characters Python's str.strip() removes (tests/test_duckdb_engine.py holds it to that).
SPACE_CHARACTERS = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004"
    "\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)

# The spellings of true and false the Python engine reads without tidying them first.
TRUE_WORDS = ("true", "yes", "y", "1", "はい")
FALSE_WORDS = ("false", "no", "n", "0", "いいえ")

# Plain forms read in SQL. Anything else (signs, commas, 円, full-width digits, slashed and
# Japanese dates, offsets other than UTC) is left to the Python coercers.
DECIMAL_PATTERN = r"-?[0-9]{1,27}(\.[0-9]{1,9})?"
DATE_PATTERN = r"[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}"
TIME_PATTERN = r"[T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{3}|\.[0-9]{6})?)?"
UTC_SUFFIX = r"(Z|\+00:00)"


# Cells in SQL -----------------------------------------------------------------------------------
#
# `typed_value` gives a field's value from its cell, and `_plain` says whether that value is the one
# Python's coercer gives: a round trip (the value written back is the cell) for whole numbers
# and dates, a pattern for decimals and date-times, the known spellings for true and false.
# Text and lists of text need no test: TRIM with Python's own blank characters strips as
# str.strip() does.


def python_strip(cell: exp.Expr) -> exp.Expr:
    """The text as str.strip() leaves it. TRIM with a set of characters is ten times slower
    than a test of the first and last characters, which settles most cells."""
    from sqlglot import exp

    def printable(character: exp.Expr) -> exp.Expr:
        code = exp.Anonymous(this="ascii", expressions=[character])
        return exp.Between(this=code, low=exp.Literal.number(33), high=exp.Literal.number(126))

    last = exp.Anonymous(this="right", expressions=[cell.copy(), exp.Literal.number(1)])
    plain = exp.and_(printable(cell.copy()), printable(last))
    trimmed = exp.Anonymous(
        this="trim", expressions=[cell.copy(), exp.Literal.string(SPACE_CHARACTERS)]
    )
    return exp.Case(ifs=[exp.If(this=plain, true=cell.copy())], default=trimmed)


def has_blanks_other_than_spaces(cell: exp.Expr) -> exp.Expr:
    from sqlglot import exp

    others = "".join(f"\\x{{{ord(c):x}}}" for c in SPACE_CHARACTERS if c != " ")
    return exp.Anonymous(
        this="regexp_matches", expressions=[cell.copy(), exp.Literal.string(f"[{others}]")]
    )


def full_match(cell: exp.Expr, pattern: str) -> exp.Expr:
    from sqlglot import exp

    return exp.Anonymous(
        this="regexp_full_match", expressions=[cell.copy(), exp.Literal.string(pattern)]
    )


def datetime_pattern(zone: dt.tzinfo) -> str:
    """Plain date-times read in SQL: UTC ones, and ones without an offset when the zone is
    UTC. Others are left to Python, whose dates meet them as midnight in their own zone."""
    utc = zone is dt.UTC or getattr(zone, "key", None) in ("UTC", "Etc/UTC")
    suffix = f"{UTC_SUFFIX}?" if utc else UTC_SUFFIX
    time = f"{TIME_PATTERN}{suffix}"
    return f"{DATE_PATTERN}({time})?" if utc else f"{DATE_PATTERN}{time}"


def typed_value(declared: Field, cell: exp.Expr) -> exp.Expr:
    """The field's value in SQL; right whenever `_plain` holds for the cell."""
    from sqlglot import exp

    kind = declared.type
    if kind.is_list:
        if kind.item != types.STRING:
            return exp.cast(exp.null(), sql_type(kind))
        split = exp.Anonymous(
            this="string_split", expressions=[cell, exp.Literal.string(declared.separator)]
        )
        item = exp.to_identifier("stagelang_item")
        nonempty = exp.Lambda(
            this=exp.NEQ(this=exp.column(item.copy()), expression=exp.Literal.string("")),
            expressions=[item.copy()],
        )

        def items(strip: exp.Expr) -> exp.Expr:
            stripping = exp.Lambda(this=strip, expressions=[item.copy()])
            stripped = exp.Anonymous(this="list_transform", expressions=[split.copy(), stripping])
            return exp.Anonymous(this="list_filter", expressions=[stripped, nonempty.copy()])

        # Items are stripped of spaces by DuckDB's TRIM, of other blanks the slow way.
        spaces = exp.Anonymous(this="trim", expressions=[exp.column(item.copy())])
        blanks = exp.Anonymous(
            this="trim",
            expressions=[exp.column(item.copy()), exp.Literal.string(SPACE_CHARACTERS)],
        )
        return exp.Case(
            ifs=[exp.If(this=has_blanks_other_than_spaces(cell), true=items(blanks))],
            default=items(spaces),
        )
    if kind == types.STRING:
        return python_strip(cell)
    if kind == types.BOOL:
        # The spellings exports write most come first, so that most cells meet one test.
        return exp.Case(
            ifs=[
                exp.If(this=exp.EQ(this=cell.copy(), expression=exp.Literal.string("true")),
                       true=exp.true()),
                exp.If(this=exp.EQ(this=cell.copy(), expression=exp.Literal.string("false")),
                       true=exp.false()),
                exp.If(this=one_of(cell, spellings(TRUE_WORDS)), true=exp.true()),
                exp.If(this=one_of(cell, spellings(FALSE_WORDS)), true=exp.false()),
            ]
        )  # fmt: skip
    return exp.TryCast(this=cell.copy(), to=exp.DataType.build(sql_type(kind)))


def plain_test(declared: Field, cell: exp.Expr, zone: dt.tzinfo) -> exp.Expr | None:
    """TRUE when the cell is missing or `typed_value` reads it as Python does; None when every
    cell of the field is read alike."""
    from sqlglot import exp

    kind = declared.type
    if kind == types.STRING or kind == types.list_of(types.STRING):
        return None
    missing = exp.Is(this=cell.copy(), expression=exp.null())
    if kind.is_list:
        return missing
    value = exp.column(declared.column, table="t", quoted=True)
    if kind.name in ("int", "date"):
        written_back = exp.cast(value, "VARCHAR")
        return exp.or_(missing, exp.EQ(this=written_back, expression=cell.copy()))
    if kind.name == "decimal":
        return exp.or_(missing, full_match(cell, DECIMAL_PATTERN))
    if kind.name == "datetime":
        return exp.or_(missing, full_match(cell, datetime_pattern(zone)))
    return exp.or_(missing, exp.Not(this=exp.Is(this=value, expression=exp.null())))


def sql_type(kind: types.Type) -> str:
    if kind.is_list:
        assert kind.item is not None
        return sql_type(kind.item) + "[]"
    return {
        "bool": "BOOLEAN",
        "int": "BIGINT",
        "decimal": "DECIMAL(38, 9)",
        "string": "VARCHAR",
        "date": "DATE",
        "datetime": "TIMESTAMPTZ",
    }[kind.name]


def spellings(words: tuple[str, ...]) -> list[str]:
    return sorted({form for word in words for form in (word, word.upper(), word.capitalize())})


def one_of(cell: exp.Expr, values: list[str]) -> exp.Expr:
    from sqlglot import exp

    return exp.In(this=cell.copy(), expressions=[exp.Literal.string(v) for v in values])
