"""The checked policy: names resolved, types known, criteria split out of their clauses.

This is what every backend consumes (the Python compiler, the reference interpreter, and later
the SQL compiler). It is built only by `stagelang.analysis.analyze`, and only from a policy
with no errors.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from stagelang.analysis.types import Type
from stagelang.diagnostics import Span
from stagelang.syntax import nodes

if TYPE_CHECKING:
    from stagelang.presets import PresetUse


@dataclass(frozen=True, slots=True)
class Field:
    """A declared field: its type, the export column it reads, and its role if any."""

    name: str
    type: Type
    column: str
    required: bool = False
    separator: str = ";"
    role: str | None = None  # "id", "stage" or None
    span: Span = Span(0, 0, 0, 0)


@dataclass(frozen=True, slots=True)
class Segment:
    """A named group of records, such as Japan: those for which `condition` is true."""

    name: str
    condition: nodes.Expr
    span: Span


@dataclass(frozen=True, slots=True)
class Criterion:
    """One condition a record must meet: a top-level `and` part of a requires or exit clause.

    Splitting clauses at their top-level `and` lets a verdict say which part failed:
    "decision_makers" rather than the whole "need AND process AND decision_makers".
    """

    stage: str
    kind: str  # "requires" or "exit"
    condition: nodes.Expr
    text: str
    span: Span
    segment: str | None = None
    fields: tuple[str, ...] = ()
    replaces: bool = False  # an `in SEGMENT instead requires` criterion
    unless: tuple[str, ...] = ()  # segments whose `instead requires` replace this criterion

    def describe(self) -> str:
        """How a person would say the criterion: `japan requires engaged_sessions >= 3`."""
        if self.kind == "exit":
            return f"{self.stage} exit when {self.text}"
        prefix = f"{self.stage} in {self.segment}" if self.segment else self.stage
        instead = "instead " if self.replaces else ""
        return f"{prefix} {instead}requires {self.text}"

    def applies(self, segments: Collection[str]) -> bool:
        """Whether the criterion applies to a record in these segments (and no others)."""
        if self.segment is not None and self.segment not in segments:
            return False
        return not any(segment in segments for segment in self.unless)


@dataclass(frozen=True, slots=True)
class Stage:
    """A stage on the ladder, with its entry and exit criteria and its history rules."""

    name: str
    rank: int
    label: str | None
    values: tuple[str, ...]
    entry: tuple[Criterion, ...]
    exit: tuple[Criterion, ...]
    span: Span
    skippable: bool = False  # `allow skip`
    back_to: tuple[str, ...] = ()  # `allow back to ...`: stages a record may return to
    entered_column: str | None = None  # `entered from "..."`
    dwell: dt.timedelta | None = None  # `expect dwell <= ...`
    segment_dwell: tuple[tuple[str, dt.timedelta], ...] = ()  # `in SEGMENT expect dwell <= ...`

    def expected_dwell(self, segments: tuple[str, ...] | frozenset[str]) -> dt.timedelta | None:
        """The longest stay expected of a record in these segments: an overlay replaces the
        global expectation (a Japanese Opportunity may sit for 90 days where 30 is the rule)."""
        overlays = [limit for name, limit in self.segment_dwell if name in segments]
        return max(overlays) if overlays else self.dwell


@dataclass(frozen=True, slots=True)
class Outcome:
    """An outcome off the ladder (Closed Lost, Disqualified): a record may enter it from any
    stage, or from `from_stages` when given; it ends a stay without counting as conversion."""

    name: str
    label: str | None
    values: tuple[str, ...]
    entry: tuple[Criterion, ...]
    from_stages: tuple[str, ...]
    entered_column: str | None
    span: Span


@dataclass(frozen=True, slots=True)
class Invariant:
    """A claim about the policy: every record that conforms at one of `stages` meets `condition`.

    Invariants are not criteria: `check` does not test records against them. `stagelang fuzz`
    searches for a conforming record that breaks one.
    """

    name: str
    condition: nodes.Expr
    text: str
    stages: tuple[str, ...]
    span: Span

    def describe(self) -> str:
        if self.name == self.text:
            return f"invariant: {self.text}"
        return f'invariant "{self.name}": {self.text}'


@dataclass(frozen=True)
class CheckedPolicy:
    """A policy whose names and types all check; the input of every backend."""

    name: str
    file: str
    source: str
    fields: dict[str, Field]
    stage_field: str
    id_field: str | None
    segments: dict[str, Segment]
    stages: tuple[Stage, ...]
    types: dict[int, Type] = field(repr=False)
    # The CRM preset of a `use` line: among others, the date-entered columns of each stage.
    preset: PresetUse | None = field(default=None, repr=False)
    outcomes: tuple[Outcome, ...] = ()
    invariants: tuple[Invariant, ...] = ()

    @property
    def has_history(self) -> bool:
        """Whether any stage or outcome binds a date column or expects a dwell."""
        return any(s.entered_column or s.dwell or s.segment_dwell for s in self.stages) or any(
            o.entered_column for o in self.outcomes
        )

    def type_of(self, expr: nodes.Expr) -> Type:
        """The type the analysis gave to an expression of this policy."""
        return self.types[id(expr)]

    def stage_named(self, name: str) -> Stage:
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise KeyError(name)
