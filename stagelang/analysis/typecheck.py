"""Name resolution and type checking of expressions.

Every expression gets a type; a mistake is reported once, where it is made, and the expression
then takes the type `ERROR` so that the mistake does not echo through everything built on it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any, ClassVar

from stagelang.analysis import types
from stagelang.analysis.declarations import Declarations
from stagelang.analysis.types import Type
from stagelang.diagnostics import Span
from stagelang.suggestions import closest, did_you_mean
from stagelang.syntax import nodes


class TypeChecker:
    """Checks expressions against the declarations, remembering each one's type."""

    def __init__(self, declarations: Declarations) -> None:
        self.declarations = declarations
        self.types: dict[int, Type] = {}
        self.used_fields: set[str] = set()
        self.used_segments: set[str] = set()

    # Conditions: expressions that must be true/false

    def condition(self, expr: nodes.Expr) -> None:
        """Check an expression that must read as true or false."""
        found = self.expression(expr)
        if found in (types.BOOL, types.ERROR):
            return
        if isinstance(expr, nodes.Name) and (found.is_list or found == types.STRING):
            return  # a bare list or text field reads as "is set and not empty"
        what = f'"{expr.name}"' if isinstance(expr, nodes.Name) else "this expression"
        self._report(
            "SL202",
            f"{what} is {found.describe()}, not a condition",
            expr.span,
            help=_condition_help(expr, found),
        )

    # Expressions

    def expression(self, expr: nodes.Expr) -> Type:
        checker = self._checkers[type(expr)]
        found = checker(self, expr)
        self.types[id(expr)] = found
        return found

    def _literal(self, expr: nodes.Literal) -> Type:
        return literal_type(expr.value)

    def _name(self, expr: nodes.Name) -> Type:
        declared = self.declarations.fields.get(expr.name)
        if declared is None:
            suggestion = closest(expr.name, self.declarations.fields)
            if suggestion is not None:
                # The author meant that field: do not also call it unused.
                self.used_fields.add(suggestion)
            self._report(
                "SL101",
                f'unknown field "{expr.name}"',
                expr.span,
                label="not a declared field",
                help=f'did you mean "{suggestion}"?'
                if suggestion
                else f"declare it: field {expr.name}: <type>",
            )
            return types.ERROR
        self.used_fields.add(expr.name)
        return declared.type

    def _today(self, expr: nodes.Today) -> Type:
        return types.DATE

    def _count(self, expr: nodes.Count) -> Type:
        argument = self.expression(expr.argument)
        if argument != types.ERROR and not argument.is_list:
            self._report(
                "SL203",
                f"count() takes a list, but this is {argument.describe()}",
                expr.argument.span,
                help="count the items of a list field, such as count(decision_makers)",
            )
        return types.INT

    def _list(self, expr: nodes.ListLiteral) -> Type:
        item_types = [self.expression(item) for item in expr.items]
        for node in expr.items:
            if not isinstance(node, nodes.Literal):
                self._report(
                    "SL204",
                    "a list in a policy holds constants only",
                    node.span,
                    help='write the values themselves, such as ["JP", "KR"]; to compare with '
                    "a field, use == or contains",
                )
                return types.list_of(types.ERROR)
        known = [t for t in item_types if t != types.ERROR]
        if not known:
            return types.list_of(types.ERROR)
        item = known[0]
        for other, node in zip(item_types, expr.items, strict=True):
            if other == types.ERROR:
                continue
            if item.is_numeric and other.is_numeric:
                item = types.unify_numbers(item, other)
            elif other != item:
                self._report(
                    "SL204",
                    f"this list mixes {item.describe()} and {other.describe()}",
                    node.span,
                    help="write every item of a list as the same kind of value",
                )
                return types.list_of(types.ERROR)
        return types.list_of(item)

    def _negate(self, expr: nodes.Negate) -> Type:
        operand = self.expression(expr.operand)
        if operand.is_numeric or operand in (types.DURATION, types.ERROR):
            return operand
        self._report(
            "SL203",
            f"cannot negate {operand.describe()}",
            expr.span,
            help="only numbers and durations have a minus sign",
        )
        return types.ERROR

    def _arithmetic(self, expr: nodes.Arithmetic) -> Type:
        left = self.expression(expr.left)
        right = self.expression(expr.right)
        if types.ERROR in (left, right):
            return types.ERROR
        result = arithmetic_type(expr.operator, left, right)
        if result is None:
            self._report(
                "SL203",
                f"cannot {'add' if expr.operator == '+' else 'subtract'} "
                f"{right.describe()} {'to' if expr.operator == '+' else 'from'} {left.describe()}",
                expr.span,
                help="+ and - work on numbers, on dates and durations (meeting_at + 14d), "
                "and between two dates (today - contract_signed_at)",
            )
            return types.ERROR
        return result

    def _compare(self, expr: nodes.Compare) -> Type:
        left = self.expression(expr.left)
        right = self.expression(expr.right)
        if types.ERROR in (left, right):
            return types.BOOL
        operator = expr.operator
        if operator in ("==", "!="):
            ok = types.comparable(left, right)
        elif operator in ("<", "<=", ">", ">="):
            ok = types.orderable(left, right)
        elif operator in ("in", "not in"):
            ok = right.is_list and _item_fits(left, right)
        else:  # contains
            ok = (left.is_list and _item_fits(right, left)) or left == right == types.STRING
        if not ok:
            self._report(
                "SL201" if operator not in ("in", "not in", "contains") else "SL203",
                _mismatch_message(operator, left, right),
                expr.span,
                help=_mismatch_help(operator, left, right, expr),
            )
        return types.BOOL

    def _is_set(self, expr: nodes.IsSet) -> Type:
        self.expression(expr.operand)
        return types.BOOL

    def _not(self, expr: nodes.Not) -> Type:
        self.condition(expr.operand)
        return types.BOOL

    def _logical(self, expr: nodes.Logical) -> Type:
        for operand in expr.operands:
            self.condition(operand)
        return types.BOOL

    _checkers: ClassVar[dict[type, Callable[[TypeChecker, Any], Type]]] = {
        nodes.Literal: _literal,
        nodes.Name: _name,
        nodes.Today: _today,
        nodes.Count: _count,
        nodes.ListLiteral: _list,
        nodes.Negate: _negate,
        nodes.Arithmetic: _arithmetic,
        nodes.Compare: _compare,
        nodes.IsSet: _is_set,
        nodes.Not: _not,
        nodes.Logical: _logical,
    }

    def segment(self, name: str, span: Span) -> bool:
        """Resolve a segment used by an overlay; report it if it is not declared."""
        if name in self.declarations.segments:
            self.used_segments.add(name)
            return True
        self._report(
            "SL102",
            f'unknown segment "{name}"',
            span,
            label="not a declared segment",
            help=did_you_mean(name, self.declarations.segments)
            or f"declare it: segment {name}: <condition>",
        )
        return False

    def _report(self, code: str, message: str, span: Span, **extra: str | None) -> None:
        self.declarations.report(code, message, span, **extra)


def literal_type(value: object) -> Type:
    """The type of a constant written in a policy."""
    if isinstance(value, bool):
        return types.BOOL
    if isinstance(value, int):
        return types.INT
    if isinstance(value, Decimal):
        return types.DECIMAL
    if isinstance(value, str):
        return types.STRING
    if isinstance(value, dt.date):
        return types.DATE
    if isinstance(value, dt.timedelta):
        return types.DURATION
    raise TypeError(f"not a literal: {value!r}")


def arithmetic_type(operator: str, left: Type, right: Type) -> Type | None:
    """The type of `left OP right`, or None when the operation means nothing."""
    if left.is_numeric and right.is_numeric:
        return types.unify_numbers(left, right)
    if left.is_temporal and right == types.DURATION:
        return left
    if left == right == types.DURATION:
        return types.DURATION
    if operator == "+" and left == types.DURATION and right.is_temporal:
        return right
    if operator == "-" and left == right and left.is_temporal:
        return types.DURATION
    return None


def _item_fits(item: Type, container: Type) -> bool:
    assert container.item is not None
    if item.is_temporal and container.item.is_temporal:
        # A datetime is never equal to a date on a list; say so rather than never match.
        return item == container.item
    return types.comparable(item, container.item)


def _mismatch_message(operator: str, left: Type, right: Type) -> str:
    if operator in ("in", "not in"):
        if not right.is_list:
            return f'"{operator}" needs a list on its right, but this is {right.describe()}'
        return f"cannot look for {left.describe()} in {right.describe()}"
    if operator == "contains":
        return f"cannot look for {right.describe()} in {left.describe()}"
    return f"cannot compare {left.describe()} with {right.describe()} using {operator}"


def _mismatch_help(operator: str, left: Type, right: Type, expr: nodes.Compare) -> str:
    if operator in ("in", "not in") and right == types.STRING:
        return 'to look for text inside text, write: FIELD contains "..."'
    if left.is_numeric and right == types.STRING and isinstance(expr.right, nodes.Literal):
        return "compare a number with a number: remove the quotes, or compare with a threshold"
    if operator not in ("==", "!=", "in", "not in", "contains") and types.STRING in (left, right):
        return "text can only be compared with == and != (or in [...])"
    if types.BOOL in (left, right) and operator not in ("==", "!="):
        return "true/false values are used as conditions directly: `icp_fit`, `not icp_fit`"
    return "both sides must be the same kind of value"


def _condition_help(expr: nodes.Expr, found: Type) -> str:
    name = expr.name if isinstance(expr, nodes.Name) else None
    if found.is_numeric and name:
        return f"compare it with a number, for example: {name} >= 1"
    if found.is_temporal and name:
        return f"write `{name} is set`, or compare it with a date"
    if found.is_numeric:
        return "compare the number with a threshold, for example: ... >= 1"
    return "write a comparison, or `FIELD is set`"
