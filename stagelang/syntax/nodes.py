"""The syntax tree of a policy file: declarations, stage clauses and expressions.

Every node keeps the span of the text it came from, so that every later step can point at the
line. Spans do not take part in equality: two trees are equal when they mean the same thing
wherever they were written, which is what the formatter's round trip and the analysis's
"is this clause implied by that one" questions need.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TypeVar

from stagelang.diagnostics import Span

_NOWHERE = Span(0, 0, 0, 0)


def _span() -> Span:
    return field(default=_NOWHERE, compare=False, repr=False)


# Expressions -------------------------------------------------------------------------------

LiteralValue = str | int | Decimal | bool | dt.date | dt.timedelta


@dataclass(eq=True)
class Literal:
    """A constant written in the policy: text, number, true/false, a date or a duration."""

    value: LiteralValue
    span: Span = _span()


@dataclass(eq=True)
class Name:
    """A field name used in an expression."""

    name: str
    span: Span = _span()


@dataclass(eq=True)
class Today:
    """`today`: the date a check is run as of."""

    span: Span = _span()


@dataclass(eq=True)
class Count:
    """`count(list)`: how many items a list holds (0 when it is missing)."""

    argument: Expr
    span: Span = _span()


@dataclass(eq=True)
class ListLiteral:
    """`[a, b, c]`: a list of constants, used with `in`."""

    items: list[Expr]
    span: Span = _span()


@dataclass(eq=True)
class Negate:
    """`-x` on a number or a duration."""

    operand: Expr
    span: Span = _span()


@dataclass(eq=True)
class Arithmetic:
    """`a + b` or `a - b`, on numbers, and on dates with durations."""

    operator: str
    left: Expr
    right: Expr
    span: Span = _span()


@dataclass(eq=True)
class Compare:
    """A comparison: `==`, `!=`, `<`, `<=`, `>`, `>=`, `in`, `not in` or `contains`."""

    operator: str
    left: Expr
    right: Expr
    span: Span = _span()


@dataclass(eq=True)
class IsSet:
    """`x is set` (or, with `negated`, `x is missing` / `x is not set`)."""

    operand: Expr
    negated: bool = False
    span: Span = _span()


@dataclass(eq=True)
class Not:
    """`not x`, three-valued: not unknown is unknown."""

    operand: Expr
    span: Span = _span()


@dataclass(eq=True)
class Logical:
    """`a and b and ...` or `a or b or ...`, three-valued as in SQL."""

    operator: str
    operands: list[Expr]
    span: Span = _span()


Expr = (
    Literal
    | Name
    | Today
    | Count
    | ListLiteral
    | Negate
    | Arithmetic
    | Compare
    | IsSet
    | Not
    | Logical
)


# Declarations ------------------------------------------------------------------------------


@dataclass(eq=True)
class TypeRef:
    """A type as written: `int`, `list<string>`."""

    name: str
    argument: TypeRef | None = None
    span: Span = _span()

    def __str__(self) -> str:
        return f"{self.name}<{self.argument}>" if self.argument else self.name


@dataclass(eq=True)
class FieldOptions:
    """What may follow a field declaration: its export column, `required`, a list separator."""

    column: str | None = None
    required: bool = False
    separator: str | None = None


@dataclass(eq=True)
class PolicyDecl:
    name: str
    span: Span = _span()


@dataclass(eq=True)
class ExtendsDecl:
    """`extends "global.stage"`: build on another policy file, named relative to this one."""

    path: str
    span: Span = _span()
    path_span: Span = _span()


@dataclass(eq=True)
class UseDecl:
    """`use hubspot`: take stage values and export columns from a CRM preset."""

    preset: str
    span: Span = _span()
    name_span: Span = _span()


@dataclass(eq=True)
class FieldDecl:
    """`field name: type ...`, or the record id / stage field (`role` "id" or "stage")."""

    name: str
    type: TypeRef | None
    options: FieldOptions
    role: str | None = None
    span: Span = _span()
    name_span: Span = _span()


@dataclass(eq=True)
class SegmentDecl:
    """`segment japan: country == "JP"`."""

    name: str
    condition: Expr
    span: Span = _span()
    name_span: Span = _span()


@dataclass(eq=True)
class Clause:
    """One line of a stage: `requires E`, `in SEGMENT requires E` or `exit when E`."""

    kind: str  # "requires" | "exit"
    condition: Expr
    segment: str | None = None
    replaces: bool = False  # `in SEGMENT instead requires`: the stage's base requires give way
    span: Span = _span()
    segment_span: Span = _span()


@dataclass(eq=True)
class AllowSkip:
    """`allow skip`: a record may move past this stage without entering it."""

    span: Span = _span()


@dataclass(eq=True)
class AllowStages:
    """`allow back to SQL, MQL` (kind "back") or, on an outcome, `allow from SQL` ("from")."""

    kind: str  # "back" | "from"
    stages: list[str]
    span: Span = _span()
    stage_spans: list[Span] = field(default_factory=list, compare=False, repr=False)


@dataclass(eq=True)
class EnteredFrom:
    """`entered from "Became an MQL Date"`: the export column with the date a stage was entered."""

    column: str
    span: Span = _span()
    column_span: Span = _span()


@dataclass(eq=True)
class ExpectDwell:
    """`expect dwell <= 30d`, or `in japan expect dwell <= 90d`: how long a stay should last.

    `written` keeps the duration as written (`6w`), so that formatting keeps its unit.
    """

    limit: dt.timedelta
    segment: str | None = None
    written: str = field(default="", compare=False, repr=False)
    span: Span = _span()
    segment_span: Span = _span()
    limit_span: Span = _span()


HistoryClause = AllowSkip | AllowStages | EnteredFrom | ExpectDwell


@dataclass(eq=True)
class StageDecl:
    """A stage, in ladder order, or an outcome (`outcome` is true): its name, label, CRM values
    and clauses. History clauses (`allow skip`, `entered from`, ...) are kept apart in
    `history`, in the order written."""

    name: str
    label: str | None
    values: list[str]
    clauses: list[Clause]
    span: Span = _span()
    name_span: Span = _span()
    value_spans: list[Span] = field(default_factory=list, compare=False, repr=False)
    history: list[HistoryClause] = field(default_factory=list)
    outcome: bool = False


@dataclass(eq=True)
class StageScope:
    """`stage >= Opportunity`: which stages an invariant speaks about, by ladder position."""

    operator: str  # "==", "!=", "<", "<=", ">", ">="
    stage: str
    span: Span = _span()
    stage_span: Span = _span()


@dataclass(eq=True)
class InvariantDecl:
    """`invariant "name": stage >= Opportunity implies budget > 0`: a claim about the policy."""

    name: str | None
    scope: StageScope | None
    condition: Expr
    span: Span = _span()


Declaration = (
    PolicyDecl | ExtendsDecl | UseDecl | FieldDecl | SegmentDecl | StageDecl | InvariantDecl
)


@dataclass(eq=True)
class PolicyFile:
    """A parsed policy file: its declarations in source order."""

    declarations: list[Declaration]
    file: str = "<string>"
    source: str = field(default="", compare=False, repr=False)
    # The text of every file an extended policy's declarations come from, by file name.
    sources: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def of_kind(self, kind: type[D]) -> list[D]:
        """The declarations of one kind, in source order."""
        return [d for d in self.declarations if isinstance(d, kind)]


D = TypeVar("D", PolicyDecl, ExtendsDecl, UseDecl, FieldDecl, SegmentDecl, StageDecl, InvariantDecl)
