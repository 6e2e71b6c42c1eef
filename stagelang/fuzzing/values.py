"""Values worth trying for each field: the policy's own constants and the values either side.

A criterion such as `engaged_sessions >= 3` changes its answer between 2 and 3, so those are the
values a search should try first; random integers almost never land there. This module reads
every condition of a checked policy, collects the constants each field is compared against,
and widens each into its boundary: one step below, the value, one step above. Missing values
(None) are always a candidate, because CRM data has gaps and three-valued logic treats them
differently from any value.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from stagelang.analysis import children, types
from stagelang.analysis.model import CheckedPolicy
from stagelang.compiler.interpreter import Interpreter
from stagelang.syntax import nodes

# How far the generated dates and numbers stray from the policy's constants.
_DAYS_AROUND = 3650
_LARGEST_LIST = 4


@dataclass
class FieldValues:
    """The candidate values of one field, simplest first, and the list sizes worth trying."""

    type: types.Type
    constants: list[Any] = field(default_factory=list)
    counts: list[int] = field(default_factory=list)

    def candidates(self, today: dt.date) -> list[Any]:
        """None, then the boundary values around each constant, without repeats."""
        found: list[Any] = [None]
        if self.type.is_list:
            assert self.type.item is not None
            items = [v for v in _boundaries(self.type.item, self.constants, today) if v is not None]
            for size in sorted({1, 2, *self.counts}):
                if 0 < size <= _LARGEST_LIST + 1:
                    found.append([items[i % len(items)] for i in range(size)] if items else None)
            found.extend([item] for item in items[:6])
        else:
            found.extend(_boundaries(self.type, self.constants, today))
        return _unique(found)


def field_values(policy: CheckedPolicy, today: dt.date) -> dict[str, FieldValues]:
    """For every field of the policy, the constants its conditions compare it with."""
    found = {name: FieldValues(declared.type) for name, declared in policy.fields.items()}
    interpreter = Interpreter(policy)
    for condition in _conditions(policy):
        for expr in _walk(condition):
            if isinstance(expr, nodes.Compare):
                _collect(expr, found, interpreter, today)
    return found


def strategy_for(kind: types.Type, today: dt.date) -> st.SearchStrategy[Any]:
    """Any value of a field's type, or None; what the search falls back on beyond constants."""
    return st.one_of(st.none(), _present(kind, today))


def _present(kind: types.Type, today: dt.date) -> st.SearchStrategy[Any]:
    if kind.is_list:
        assert kind.item is not None
        return st.lists(_present(kind.item, today), min_size=1, max_size=_LARGEST_LIST)
    low, high = today - dt.timedelta(days=_DAYS_AROUND), today + dt.timedelta(days=_DAYS_AROUND)
    if kind == types.BOOL:
        return st.booleans()
    if kind == types.INT:
        return st.integers(min_value=-1000, max_value=1_000_000)
    if kind == types.DECIMAL:
        return st.decimals(
            min_value=-1000, max_value=10_000_000, places=2, allow_nan=False, allow_infinity=False
        )
    if kind == types.DATE:
        return st.dates(min_value=low, max_value=high)
    if kind == types.DATETIME:
        return st.datetimes(
            min_value=dt.datetime.combine(low, dt.time()),
            max_value=dt.datetime.combine(high, dt.time()),
            timezones=st.just(dt.UTC),
        )
    return st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=8)


def _conditions(policy: CheckedPolicy) -> Iterator[nodes.Expr]:
    for segment in policy.segments.values():
        yield segment.condition
    for stage in policy.stages:
        for criterion in (*stage.entry, *stage.exit):
            yield criterion.condition
    for invariant in policy.invariants:
        yield invariant.condition


def _walk(expr: nodes.Expr) -> Iterator[nodes.Expr]:
    yield expr
    for child in children(expr):
        yield from _walk(child)


def _collect(
    expr: nodes.Compare,
    found: dict[str, FieldValues],
    interpreter: Interpreter,
    today: dt.date,
) -> None:
    """Note the constant on one side of a comparison against the field on the other."""
    for mine, other in ((expr.left, expr.right), (expr.right, expr.left)):
        constant = _constant(other, interpreter, today)
        if constant is None:
            continue
        if isinstance(mine, nodes.Name) and mine.name in found:
            values = found[mine.name]
            if isinstance(constant, list):
                values.constants.extend(constant)
            else:
                values.constants.append(constant)
        elif isinstance(mine, nodes.Count) and isinstance(mine.argument, nodes.Name):
            target = found.get(mine.argument.name)
            if target is not None and isinstance(constant, int):
                target.counts.extend((constant - 1, constant, constant + 1))


def _constant(expr: nodes.Expr, interpreter: Interpreter, today: dt.date) -> Any:
    """The value of an expression that reads no field, or None."""
    if any(isinstance(part, nodes.Name) for part in _walk(expr)):
        return None
    try:
        return interpreter.value(expr, {}, today)
    except (TypeError, ValueError, ArithmeticError, KeyError):
        return None


def _boundaries(kind: types.Type, constants: list[Any], today: dt.date) -> list[Any]:
    if kind == types.BOOL:
        return [True, False]
    if kind == types.STRING:
        texts = [c for c in constants if isinstance(c, str) and c]
        return [*texts, *(t + "x" for t in texts[:1]), "other"]
    if kind.is_numeric:
        step = 1 if kind == types.INT else Decimal("0.01")
        numbers = [
            c for c in constants if isinstance(c, (int, Decimal)) and not isinstance(c, bool)
        ]
        found: list[Any] = [0]
        for number in numbers:
            found.extend((number, number - step, number + step))
        if kind == types.INT:
            return [int(n) for n in found if n == int(n)]
        return [Decimal(n).quantize(Decimal("0.01")) for n in found]
    if kind.is_temporal:
        days = [c for c in constants if isinstance(c, dt.date)]
        found = [today]
        for day in days:
            plain = day.date() if isinstance(day, dt.datetime) else day
            found.extend((plain, plain - dt.timedelta(days=1), plain + dt.timedelta(days=1)))
        if kind == types.DATETIME:
            return [dt.datetime.combine(day, dt.time(), dt.UTC) for day in found]
        return found
    return []


def _unique(values: list[Any]) -> list[Any]:
    seen: list[Any] = []
    for value in values:
        if not any(value == other and type(value) is type(other) for other in seen):
            seen.append(value)
    return seen
