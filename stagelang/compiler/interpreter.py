"""The reference interpreter: the language's meaning, written as plainly as possible.

It walks the checked tree for every record, so it is slow; it exists to be obviously right.
The compiled predicates must agree with it on every record (a property test holds them to
that), and verdicts use it to explain which criterion failed and why.

Conditions are three-valued as in SQL: True, False, or None for unknown. A comparison with a
missing value is unknown; `and`, `or` and `not` follow Kleene's rules; a criterion is met only
when it is True.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable, Mapping
from typing import Any

from stagelang.analysis import types
from stagelang.analysis.model import CheckedPolicy
from stagelang.compiler import runtime
from stagelang.syntax import nodes

Truth = bool | None

_ORDERING: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


class Interpreter:
    """Evaluates expressions of one checked policy against records."""

    def __init__(self, policy: CheckedPolicy) -> None:
        self.policy = policy

    def truth(self, expr: nodes.Expr, record: Mapping[str, Any], today: dt.date) -> Truth:
        """Whether a condition holds: True, False, or None when it cannot be known."""
        if isinstance(expr, nodes.Logical):
            return self._logical(expr, record, today)
        if isinstance(expr, nodes.Not):
            inner = self.truth(expr.operand, record, today)
            return None if inner is None else not inner
        if isinstance(expr, nodes.IsSet):
            is_set = self.value(expr.operand, record, today) is not None
            return not is_set if expr.negated else is_set
        if isinstance(expr, nodes.Compare):
            return self._compare(expr, record, today)
        if isinstance(expr, nodes.Name):
            value = runtime.known(record.get(expr.name))
            if self.policy.type_of(expr) == types.BOOL:
                return value  # type: ignore[no-any-return]
            return value is not None  # a bare list or text field: "is set and not empty"
        if isinstance(expr, nodes.Literal) and isinstance(expr.value, bool):
            return expr.value
        raise TypeError(f"not a condition: {expr!r}")

    def value(self, expr: nodes.Expr, record: Mapping[str, Any], today: dt.date) -> Any:
        """The value of an expression, or None when it is missing."""
        if isinstance(expr, nodes.Literal):
            return expr.value
        if isinstance(expr, nodes.Name):
            return runtime.known(record.get(expr.name))
        if isinstance(expr, nodes.Today):
            return today
        if isinstance(expr, nodes.Count):
            return runtime.count(self.value(expr.argument, record, today))
        if isinstance(expr, nodes.ListLiteral):
            return [self.value(item, record, today) for item in expr.items]
        if isinstance(expr, nodes.Negate):
            return runtime.negate(self.value(expr.operand, record, today))
        if isinstance(expr, nodes.Arithmetic):
            left = self.value(expr.left, record, today)
            right = self.value(expr.right, record, today)
            combine = runtime.add if expr.operator == "+" else runtime.subtract
            return combine(left, right)
        return self.truth(expr, record, today)

    def _logical(self, expr: nodes.Logical, record: Mapping[str, Any], today: dt.date) -> Truth:
        results = [self.truth(operand, record, today) for operand in expr.operands]
        decisive = expr.operator == "or"  # True decides an `or`, False decides an `and`
        if decisive in results:
            return decisive
        if None in results:
            return None
        return not decisive

    def _compare(self, expr: nodes.Compare, record: Mapping[str, Any], today: dt.date) -> Truth:
        left = self.value(expr.left, record, today)
        right = self.value(expr.right, record, today)
        if left is None or right is None:
            return None
        if expr.operator == "in":
            return left in right
        if expr.operator == "not in":
            return left not in right
        if expr.operator == "contains":
            return right in left
        left, right = runtime.align_dates(left, right)
        return _ORDERING[expr.operator](left, right)
