"""Checked policy to SQL, built as sqlglot expression trees for one dialect.

The query reads a table whose columns hold the policy's fields (a field reads the column its
`from "..."` names, as in an export) with native types: BOOLEAN, an integer, a decimal, text,
DATE, a timestamp, and arrays for lists. It returns one row per record that does not conform:
its id, its stage value, the stage that value names, a problem when it names none, and the
unmet criteria, named exactly as the Python engine names them in findings
(`Criterion.describe()`, such as "MQL in japan requires engaged_sessions >= 3"). The summary
query counts records by stage and segment; `repeats_query`, for `stagelang check --db`, counts
the records whose id other records share.

Safety: nothing a policy author writes is pasted into SQL text. Column names become sqlglot
identifiers and constants become sqlglot literals, which the library quotes for the dialect.

Meaning: the language follows SQL's three-valued logic, so `and`, `or`, `not` and comparisons
map onto SQL's own. What SQL does not do by itself is spelled out here, as the reference
interpreter (`stagelang.compiler.interpreter`) does it: empty text and empty lists are missing
(NULL), a bare text or list field means "is set", `count` of a missing list is 0, a date meets
a timestamp as midnight, and a criterion is met only when it is TRUE. Durations are carried as
a number of seconds, so that `today - signed_on > 365d` compares two numbers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import sqlglot
from sqlglot import exp

from stagelang.analysis import types
from stagelang.analysis.model import CheckedPolicy, Criterion
from stagelang.errors import StagelangError
from stagelang.syntax import nodes

DIALECTS = ("duckdb", "postgres", "snowflake", "bigquery", "spark")

_DAY = 86400

# Names of the columns the queries compute. They live in the query's own CTEs, next to field
# columns that are renamed to positions, so a field name can never clash with them.
ID, STAGE, STAGE_NAME, PROBLEM, UNMET = "id", "stage", "stage_name", "problem", "unmet"
_RANK = "stagelang_rank"
CONFORMS = "stagelang_conforms"
JUDGED = "stagelang_judged"
NO_STAGE = "(no stage)"  # as the Python engine's summary names records without a stage


class SqlError(StagelangError):
    """A policy that cannot be compiled for the dialect asked for."""


@dataclass(frozen=True)
class CompiledSql:
    """The two queries for one policy, dialect and table."""

    dialect: str
    findings: exp.Expr
    summary: exp.Expr

    def findings_sql(self, pretty: bool = True) -> str:
        return self.findings.sql(dialect=self.dialect, pretty=pretty)

    def summary_sql(self, pretty: bool = True) -> str:
        return self.summary.sql(dialect=self.dialect, pretty=pretty)


def compile_policy(
    policy: CheckedPolicy,
    table: str | exp.Expr,
    *,
    dialect: str = "duckdb",
    today: dt.date | None = None,
    timestamp_type: str = "TIMESTAMPTZ",
    with_values: bool = False,
) -> CompiledSql:
    """The findings query and the summary query of a policy over `table`.

    `table` is a table name (dotted names are split into catalog, schema and table) or any
    sqlglot expression usable in FROM. `today` fixes the date `today` means; without it the
    query uses the warehouse's CURRENT_DATE. `timestamp_type` is the type datetime fields have
    in the table, to which dates are cast when the two meet. With `with_values`, each findings
    row also carries the record's fields after `unmet`, in the policy's order of fields (empty
    text and empty lists as NULL), so that a finding can name the values it was judged on.
    """
    if dialect not in DIALECTS:
        raise SqlError(f'unknown SQL dialect "{dialect}"; use one of {", ".join(DIALECTS)}')
    judgement = Judgement(policy, dialect, today, timestamp_type)
    judged = judgement.judged(table_source(table), with_values)
    values = judgement.field_columns() if with_values else []
    return CompiledSql(
        dialect, _findings_query(judged, policy, dialect, values), _summary_query(judged, policy)
    )


def table_source(table: str | exp.Expr) -> exp.Expr:
    if isinstance(table, exp.Expr):
        return table
    parts = [part for part in table.split(".") if part]
    if not parts:
        raise SqlError("the table name is empty")
    names = [exp.to_identifier(part, quoted=True) for part in parts]
    if len(names) > 3:
        raise SqlError(f'"{table}" has more than three dotted parts (catalog.schema.table)')
    return exp.Table(
        this=names[-1],
        db=names[-2] if len(names) > 1 else None,
        catalog=names[-3] if len(names) > 2 else None,
    )


def criteria(policy: CheckedPolicy) -> list[Criterion]:
    """Every criterion, in the order a record meets them (the order of the unmet list).

    The ladder's criteria come first, then those of the outcomes off the ladder (Closed Lost);
    a record is judged by one or the other, never both.
    """
    ladder = [c for stage in policy.stages for c in (*stage.entry, *stage.exit)]
    return ladder + [c for outcome in policy.outcomes for c in outcome.entry]


def _places(policy: CheckedPolicy) -> list[tuple[str, tuple[str, ...]]]:
    """Stage names and their CRM values by rank: the ladder, then the outcomes after it."""
    ladder = [(stage.name, stage.values) for stage in policy.stages]
    return ladder + [(outcome.name, outcome.values) for outcome in policy.outcomes]


def field_alias(name: str, index: int) -> str:
    """The name a field's column has inside the query: the field's own, unless it would clash."""
    if name in (ID, STAGE) or name.startswith("stagelang_"):
        return f"stagelang_f{index}"
    return name


def segment_alias(index: int) -> str:
    return f"stagelang_in_s{index}"


def unmet_alias(index: int) -> str:
    return f"stagelang_unmet_{index}"


class Judgement:
    """Builds the CTE that judges every record: its rank, segments and each unmet criterion."""

    def __init__(
        self,
        policy: CheckedPolicy,
        dialect: str,
        today: dt.date | None,
        timestamp_type: str,
    ) -> None:
        self.policy = policy
        self.dialect = dialect
        self.today = today
        self.timestamp_type = timestamp_type
        self.positions = {name: index for index, name in enumerate(policy.fields)}

    def judged(
        self, source: exp.Expr, with_values: bool = False, carry: Sequence[str] = ()
    ) -> exp.Select:
        """SELECT over `source`: id, stage, rank, segment flags, one flag per criterion.

        The columns of `source` named in `carry` pass through unchanged (their names must
        start with "stagelang_" and not clash with the query's own).
        """
        carried = [exp.column(name, quoted=True) for name in carry]
        fields = exp.select(
            *(
                exp.alias_(self._read(name), field_alias(name, index), quoted=True)
                for name, index in self.positions.items()
            ),
            *carried,
        ).from_(source)

        stage = self._field(self.policy.stage_field)
        columns: list[exp.Expr] = [
            exp.alias_(self._id(), ID, quoted=True),
            exp.alias_(stage, STAGE, quoted=True),
            exp.alias_(self._rank(stage), _RANK, quoted=True),
        ]
        for index, segment in enumerate(self.policy.segments.values()):
            columns.append(
                exp.alias_(
                    _is_true(self.condition(segment.condition)), segment_alias(index), quoted=True
                )
            )
        ranked = exp.select(*columns, *self.field_columns(), *_copies(carried)).from_(
            exp.alias_(fields.subquery(), "stagelang_fields", quoted=True)
        )
        if self.dialect == "postgres":
            # PostgreSQL pulls subqueries up into the query around them, which copies the
            # stage rank (a CASE over LOWER(TRIM(...))) into every criterion that reads it:
            # 23 s instead of 1.2 s for 299,000 rows of the japan policy. OFFSET 0 keeps the
            # rank computed once a row.
            ranked = ranked.offset(0)

        flags: list[exp.Expr] = [exp.column(ID, quoted=True), exp.column(STAGE, quoted=True)]
        flags.append(exp.column(_RANK, quoted=True))
        flags.extend(
            exp.column(segment_alias(i), quoted=True) for i in range(len(self.policy.segments))
        )
        for index, criterion in enumerate(criteria(self.policy)):
            flags.append(exp.alias_(self._unmet(criterion), unmet_alias(index), quoted=True))
        if with_values:
            flags.extend(self.field_columns())
        flags.extend(_copies(carried))
        flagged = exp.select(*flags).from_(
            exp.alias_(ranked.subquery(), "stagelang_ranked", quoted=True)
        )
        conforms = exp.alias_(conforms_expression(self.policy), CONFORMS, quoted=True)
        return exp.select(exp.Star(), conforms).from_(
            exp.alias_(flagged.subquery(), "stagelang_flagged", quoted=True)
        )

    # Reading fields

    def _read(self, name: str) -> exp.Expr:
        """A field's column, with empty text and empty lists read as missing."""
        field = self.policy.fields[name]
        column = exp.column(field.column, quoted=True)
        if field.type == types.STRING:
            return exp.Nullif(this=column, expression=exp.Literal.string(""))
        if field.type.is_list:
            size = exp.ArraySize(this=column.copy())
            return exp.Case(
                ifs=[exp.If(this=exp.GT(this=size, expression=_number(0)), true=column)]
            )
        return column

    def field_columns(self) -> list[exp.Expr]:
        return [exp.column(field_alias(n, i), quoted=True) for n, i in self.positions.items()]

    def _field(self, name: str) -> exp.Expr:
        return exp.column(field_alias(name, self.positions[name]), quoted=True)

    def _id(self) -> exp.Expr:
        if self.policy.id_field is None:
            return exp.cast(exp.null(), "VARCHAR")
        return exp.cast(self._field(self.policy.id_field), "VARCHAR")

    def source_id(self) -> exp.Expr | None:
        """The record id read from the table's own columns: the judged query's `id`."""
        if self.policy.id_field is None:
            return None
        return exp.cast(self._read(self.policy.id_field), "VARCHAR")

    def _rank(self, stage: exp.Expr) -> exp.Expr:
        """The stage's position on the ladder, matched ignoring case and outer spaces."""
        folded = exp.Lower(this=exp.Trim(this=stage.copy()))
        ifs = []
        for rank, (_, declared) in enumerate(_places(self.policy)):
            values = sorted({value.strip().casefold() for value in declared})
            match = exp.In(this=folded.copy(), expressions=[exp.Literal.string(v) for v in values])
            ifs.append(exp.If(this=match, true=_number(rank)))
        return exp.Case(ifs=ifs)

    def _unmet(self, criterion: Criterion) -> exp.Expr:
        """TRUE when the criterion applies to the record and is not TRUE for it."""
        rank = exp.column(_RANK, quoted=True)
        names = [name for name, _ in _places(self.policy)]
        place = names.index(criterion.stage)
        if place >= len(self.policy.stages):  # an outcome's own criteria, for its records only
            applies: exp.Expr = exp.EQ(this=rank, expression=_number(place))
        elif criterion.kind == "exit":
            # A record above the ladder (lower ranks only) has left every stage below its own.
            below = exp.GT(this=rank.copy(), expression=_number(place))
            applies = exp.and_(below, self._on_ladder(rank))
        else:
            at_or_above = exp.GTE(this=rank.copy(), expression=_number(place))
            applies = exp.and_(at_or_above, self._on_ladder(rank))
        if criterion.segment is not None:
            applies = exp.and_(applies, self._in_segment(criterion.segment))
        if criterion.unless and place < len(self.policy.stages):
            # Replaced by an `instead requires` for records in any of these segments.
            replaced = exp.or_(*(self._in_segment(name) for name in criterion.unless))
            applies = exp.and_(applies, exp.Not(this=_wrap(replaced)))
        unmet = exp.and_(applies, exp.Not(this=_is_true(self.condition(criterion.condition))))
        return exp.Coalesce(this=_wrap(unmet), expressions=[exp.false()])

    def _on_ladder(self, rank: exp.Expr) -> exp.Expr:
        return exp.LT(this=rank.copy(), expression=_number(len(self.policy.stages)))

    def _in_segment(self, name: str) -> exp.Expr:
        index = list(self.policy.segments).index(name)
        return exp.column(segment_alias(index), quoted=True)

    # Conditions: SQL booleans, NULL for unknown

    def condition(self, expr: nodes.Expr) -> exp.Expr:
        if isinstance(expr, nodes.Logical):
            parts = [_wrap(self.condition(operand)) for operand in expr.operands]
            combine = exp.and_ if expr.operator == "and" else exp.or_
            return combine(*parts)
        if isinstance(expr, nodes.Not):
            return exp.Not(this=_wrap(self.condition(expr.operand)))
        if isinstance(expr, nodes.IsSet):
            test = exp.Is(this=_wrap(self.value(expr.operand)), expression=exp.null())
            return test if expr.negated else exp.Not(this=test)
        if isinstance(expr, nodes.Compare):
            return self._compare(expr)
        if isinstance(expr, nodes.Name):
            column = self._field(expr.name)
            if self.policy.type_of(expr) == types.BOOL:
                return column
            return exp.Not(this=exp.Is(this=column, expression=exp.null()))
        if isinstance(expr, nodes.Literal) and isinstance(expr.value, bool):
            return exp.Boolean(this=expr.value)
        raise SqlError(f"not a condition: {expr!r}")

    def _compare(self, expr: nodes.Compare) -> exp.Expr:
        left_type, right_type = self.policy.type_of(expr.left), self.policy.type_of(expr.right)
        if expr.operator in ("in", "not in"):
            found = self._membership(expr.left, expr.right)
            return exp.Not(this=_wrap(found)) if expr.operator == "not in" else found
        if expr.operator == "contains":
            if left_type.is_list:
                return self._membership(expr.right, expr.left)
            position = exp.StrPosition(this=self.value(expr.left), substr=self.value(expr.right))
            return exp.GT(this=position, expression=_number(0))
        left, right = self.value(expr.left), self.value(expr.right)
        if left_type == types.DATE and right_type == types.DATETIME:
            left = exp.cast(left, self.timestamp_type)
        elif left_type == types.DATETIME and right_type == types.DATE:
            right = exp.cast(right, self.timestamp_type)
        comparison = _COMPARISONS[expr.operator]
        return comparison(this=_wrap(left), expression=_wrap(right))

    def _membership(self, item: nodes.Expr, container: nodes.Expr) -> exp.Expr:
        needle = self.value(item)
        if isinstance(container, nodes.ListLiteral):
            if not container.items:
                # `x in []` is false for a known x and unknown for a missing one.
                return _unknown_if_null([needle], exp.false())
            values = [_wrap(self.value(i)) for i in container.items]
            return exp.In(this=_wrap(needle), expressions=values)
        haystack = self.value(container)
        contains = exp.ArrayContains(this=haystack, expression=needle)
        return _unknown_if_null([needle.copy(), haystack.copy()], contains)

    # Values

    def value(self, expr: nodes.Expr) -> exp.Expr:
        if isinstance(expr, nodes.Literal):
            return _literal(expr.value)
        if isinstance(expr, nodes.Name):
            return self._field(expr.name)
        if isinstance(expr, nodes.Today):
            if self.today is None:
                return exp.CurrentDate()
            return _literal(self.today)
        if isinstance(expr, nodes.Count):
            return self._count(self.value(expr.argument))
        if isinstance(expr, nodes.Negate):
            return exp.Neg(this=_wrap(self.value(expr.operand)))
        if isinstance(expr, nodes.Arithmetic):
            return self._arithmetic(expr)
        if isinstance(expr, nodes.ListLiteral):
            return exp.Array(expressions=[self.value(item) for item in expr.items])
        return self.condition(expr)

    def _count(self, items: exp.Expr) -> exp.Expr:
        """The number of items in a list, 0 for a missing one."""
        if self.dialect == "spark":
            # Spark's SIZE of NULL is -1 unless ANSI mode is on, so a missing list is tested
            # first; the query then means the same whichever mode the cluster runs in.
            missing = exp.Is(this=_wrap(items.copy()), expression=exp.null())
            return exp.Case(
                ifs=[exp.If(this=missing, true=_number(0))], default=exp.ArraySize(this=items)
            )
        return exp.Coalesce(this=exp.ArraySize(this=items), expressions=[_number(0)])

    def _arithmetic(self, expr: nodes.Arithmetic) -> exp.Expr:
        left_type, right_type = self.policy.type_of(expr.left), self.policy.type_of(expr.right)
        left, right = self.value(expr.left), self.value(expr.right)
        if left_type.is_temporal and right_type.is_temporal:
            unit = "DAY" if left_type == right_type == types.DATE else "SECOND"
            difference = exp.DateDiff(this=left, expression=right, unit=exp.var(unit))
            scale = _DAY if unit == "DAY" else 1
            return exp.Mul(this=_wrap(difference), expression=_number(scale))
        if right_type.is_temporal:  # a duration plus a date: the same as the other way round
            left, right, left_type = right, left, right_type
        if left_type.is_temporal:
            return self._shift(left, left_type, right, negative=expr.operator == "-")
        combine = exp.Add if expr.operator == "+" else exp.Sub
        return combine(this=_wrap(left), expression=_wrap(right))

    def _shift(
        self, moment: exp.Expr, kind: types.Type, seconds: exp.Expr, negative: bool
    ) -> exp.Expr:
        """A date or timestamp moved by a duration held in seconds."""
        if negative:
            seconds = exp.Neg(this=_wrap(seconds))
        if kind == types.DATE:
            # As Python's date arithmetic, whole days only, rounded down.
            floor = exp.Floor(this=exp.Div(this=_wrap(seconds), expression=_number(_DAY)))
            # Spark's DATE_ADD takes an INT number of days and refuses a BIGINT.
            days = exp.cast(floor, "INT" if self.dialect == "spark" else "BIGINT")
            shifted = exp.DateAdd(this=moment, expression=days, unit=exp.var("DAY"))
            return exp.cast(shifted, "DATE")
        whole = exp.cast(seconds, "BIGINT")
        moved: exp.Expr
        if self.dialect == "spark":
            # sqlglot writes a DateAdd in seconds as Spark's two-argument DATE_ADD, which adds
            # days; TimestampAdd becomes the three-argument form that keeps the unit.
            moved = exp.TimestampAdd(this=moment, expression=whole, unit=exp.var("SECOND"))
        else:
            moved = exp.DateAdd(this=moment, expression=whole, unit=exp.var("SECOND"))
        return exp.cast(moved, self.timestamp_type)


def _copies(expressions: Sequence[exp.Expr]) -> list[exp.Expr]:
    return [expression.copy() for expression in expressions]


_COMPARISONS: dict[str, type[exp.Binary]] = {
    "==": exp.EQ,
    "!=": exp.NEQ,
    "<": exp.LT,
    "<=": exp.LTE,
    ">": exp.GT,
    ">=": exp.GTE,
}


def _literal(value: object) -> exp.Expr:
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int):
        return _number(value)
    if isinstance(value, Decimal):
        return exp.Literal.number(str(value))
    if isinstance(value, str):
        return exp.Literal.string(value)
    if isinstance(value, dt.date):
        return exp.cast(exp.Literal.string(value.isoformat()), "DATE")
    if isinstance(value, dt.timedelta):
        return _number(int(value.total_seconds()))
    raise SqlError(f"a constant of type {type(value).__name__} has no SQL form")


_ATOMS = (exp.Column, exp.Literal, exp.Boolean, exp.Null, exp.Func, exp.Paren, exp.Case, exp.Cast)


def _wrap(expression: exp.Expr) -> exp.Expr:
    """Parentheses where precedence needs them: around anything but a single term."""
    if isinstance(expression, _ATOMS) and not isinstance(expression, (exp.And, exp.Or)):
        return expression
    return exp.paren(expression)


def _number(value: int) -> exp.Expr:
    literal = exp.Literal.number(abs(value))
    return exp.Neg(this=literal) if value < 0 else literal


def _is_true(condition: exp.Expr) -> exp.Expr:
    """TRUE when the condition is TRUE; FALSE when it is FALSE or unknown."""
    return exp.Coalesce(this=_wrap(condition), expressions=[exp.false()])


def _unknown_if_null(values: Sequence[exp.Expr], known: exp.Expr) -> exp.Expr:
    missing = exp.or_(*(exp.Is(this=_wrap(v), expression=exp.null()) for v in values))
    return exp.Case(ifs=[exp.If(this=missing, true=exp.cast(exp.null(), "BOOLEAN"))], default=known)


# The queries


def _findings_query(
    judged: exp.Select, policy: CheckedPolicy, dialect: str, values: Sequence[exp.Expr] = ()
) -> exp.Select:
    listed = criteria(policy)
    rank = exp.column(_RANK, quoted=True)
    stage = exp.column(STAGE, quoted=True)
    problem = exp.Case(
        ifs=[
            exp.If(
                this=exp.Is(this=stage, expression=exp.null()),
                true=exp.Literal.string("missing-stage"),
            ),
            exp.If(
                this=exp.Is(this=rank.copy(), expression=exp.null()),
                true=exp.Literal.string("unknown-stage"),
            ),
        ]
    )
    names = [
        exp.Case(
            ifs=[
                exp.If(
                    this=exp.column(unmet_alias(i), quoted=True),
                    true=exp.Literal.string(c.describe()),
                )
            ]
        )
        for i, c in enumerate(listed)
    ]
    return (
        exp.select(
            exp.column(ID, quoted=True),
            stage.copy(),
            exp.alias_(_stage_name(policy, rank.copy()), STAGE_NAME, quoted=True),
            exp.alias_(problem, PROBLEM, quoted=True),
            exp.alias_(_compact(exp.Array(expressions=names), dialect), UNMET, quoted=True),
            *values,
        )
        .from_(exp.to_identifier(JUDGED, quoted=True))
        .where(exp.Not(this=exp.column(CONFORMS, quoted=True)))
        .with_(exp.to_identifier(JUDGED, quoted=True), as_=judged)
    )


def _stage_name(policy: CheckedPolicy, rank: exp.Expr) -> exp.Expr:
    ifs = [
        exp.If(
            this=exp.EQ(this=rank.copy(), expression=_number(place)), true=exp.Literal.string(name)
        )
        for place, (name, _) in enumerate(_places(policy))
    ]
    return exp.Case(ifs=ifs)


def _compact(array: exp.Expr, dialect: str) -> exp.Expr:
    """The array without its NULLs, in each dialect's own words."""
    if not array.expressions:
        # A policy without criteria: an empty array has no type of its own in PostgreSQL.
        return exp.cast(array, exp.DataType.build("ARRAY<VARCHAR>"))
    if dialect == "postgres":
        return exp.ArrayRemove(this=array, expression=exp.null())
    if dialect == "bigquery":
        item = exp.to_identifier("stagelang_item")
        unnested = exp.Unnest(expressions=[array], alias=exp.TableAlias(columns=[item]))
        query = (
            exp.select(exp.column(item))
            .from_(unnested)
            .where(exp.Not(this=exp.Is(this=exp.column(item.copy()), expression=exp.null())))
        )
        return exp.Array(expressions=[query])
    return exp.ArrayCompact(this=array)


def conforms_expression(policy: CheckedPolicy) -> exp.Expr:
    """TRUE for a judged record that names a stage and meets every criterion that applies."""
    known = exp.Not(this=exp.Is(this=exp.column(_RANK, quoted=True), expression=exp.null()))
    unmet = [exp.column(unmet_alias(i), quoted=True) for i in range(len(criteria(policy)))]
    if not unmet:
        return known
    return exp.and_(known, exp.Not(this=_wrap(exp.or_(*unmet))))


def _summary_query(judged: exp.Select, policy: CheckedPolicy) -> exp.Expr:
    """Records, conforming and not conforming, per stage and per segment."""
    conforms = exp.column(CONFORMS, quoted=True)
    rank = exp.column(_RANK, quoted=True)
    name = exp.Coalesce(this=_stage_name(policy, rank), expressions=[exp.Literal.string(NO_STAGE)])
    base = exp.to_identifier(JUDGED, quoted=True)

    def tallies(kind: str, label: exp.Expr) -> list[exp.Expr]:
        ones = exp.Case(ifs=[exp.If(this=conforms.copy(), true=_number(1))], default=_number(0))
        good = exp.Coalesce(this=exp.Sum(this=ones), expressions=[_number(0)])
        return [
            exp.alias_(exp.Literal.string(kind), "kind", quoted=True),
            exp.alias_(label, "name", quoted=True),
            exp.alias_(exp.Count(this=exp.Star()), "records", quoted=True),
            exp.alias_(good, "conforming", quoted=True),
            exp.alias_(
                exp.Sub(this=exp.Count(this=exp.Star()), expression=good.copy()),
                "not_conforming",
                quoted=True,
            ),
        ]

    by_stage = exp.select(*tallies("stage", name)).from_(base).group_by(name.copy())
    query: exp.Expr = by_stage
    known = exp.Not(this=exp.Is(this=rank.copy(), expression=exp.null()))
    for index, segment in enumerate(policy.segments):
        in_segment = exp.and_(known.copy(), exp.column(segment_alias(index), quoted=True))
        part = exp.select(*tallies("segment", exp.Literal.string(segment))).from_(base.copy())
        query = exp.union(query, part.where(in_segment), distinct=False)
    return (
        exp.select(exp.Star())
        .from_(exp.alias_(exp.paren(query), "stagelang_summary", quoted=True))
        .with_(exp.to_identifier(JUDGED, quoted=True), as_=judged)
    )


def repeats_query(
    policy: CheckedPolicy,
    table: str | exp.Expr,
    *,
    dialect: str = "duckdb",
    today: dt.date | None = None,
    timestamp_type: str = "TIMESTAMPTZ",
) -> exp.Select | None:
    """The records whose id other records share, counted by id, stage and segments.

    One row per repeated id and per stage rank and segment flags found among its records:
    `id`, `stagelang_rank`, the segment flags, `records` and how many of them `conforming`
    (each judged on its own). Ids used once and records without an id are not there. None
    for a policy without an id field. The ids are found first (GROUP BY ... HAVING over the
    id column alone), so that only the records sharing one are judged again.
    """
    judgement = Judgement(policy, dialect, today, timestamp_type)
    record_id = judgement.source_id()
    if record_id is None:
        return None
    source = table_source(table)
    repeated = (
        exp.select(exp.alias_(record_id, ID, quoted=True))
        .from_(source.copy())
        .where(exp.Not(this=exp.Is(this=record_id.copy(), expression=exp.null())))
        .group_by(record_id.copy())
        .having(exp.GT(this=exp.Count(this=exp.Star()), expression=_number(1)))
    )
    sharing = (
        exp.select(exp.Star())
        .from_(source.copy())
        .where(exp.In(this=record_id.copy(), query=repeated.subquery()))
    )
    judged = judgement.judged(exp.alias_(sharing.subquery(), "stagelang_sharing", quoted=True))
    keys = [
        exp.column(ID, quoted=True),
        exp.column(_RANK, quoted=True),
        *(exp.column(segment_alias(i), quoted=True) for i in range(len(policy.segments))),
    ]
    ones = exp.Case(
        ifs=[exp.If(this=exp.column(CONFORMS, quoted=True), true=_number(1))], default=_number(0)
    )
    return (
        exp.select(
            *keys,
            exp.alias_(exp.Count(this=exp.Star()), "records", quoted=True),
            exp.alias_(exp.Sum(this=ones), "conforming", quoted=True),
        )
        .from_(exp.to_identifier(JUDGED, quoted=True))
        .group_by(*(key.copy() for key in keys))
        .with_(exp.to_identifier(JUDGED, quoted=True), as_=judged)
    )


def parses_back(sql: str, dialect: str) -> bool:
    """Whether sqlglot reads generated SQL again in its dialect (a test of the generator)."""
    try:
        sqlglot.parse_one(sql, read=dialect)
    except sqlglot.errors.ParseError:
        return False
    return True
