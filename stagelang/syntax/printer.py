"""Printing expressions back as policy text, with only the parentheses the meaning needs.

`parse` after `format_expression` gives back an equal tree (a property test holds it to that);
the formatter and messages that quote a rewritten condition build on it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

from stagelang.syntax import nodes

# Binding strength, loosest first, as in the grammar.
_OR, _AND, _NOT, _COMPARISON, _SUM, _UNARY, _ATOM = range(7)

_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t"}


def format_expression(
    expr: nodes.Expr, literal: Callable[[nodes.Literal], str] | None = None
) -> str:
    """The expression as a policy author would write it.

    `literal` may spell constants another way that means the same, such as the formatter
    keeping `6w` as written where `format_literal` would say `42d`.
    """
    spell = literal or _spell_literal
    if isinstance(expr, nodes.Logical):
        level = _OR if expr.operator == "or" else _AND
        # A nested `and` inside an `and` keeps its parentheses: it is a separate node.
        parts = [_wrap(operand, level + 1, spell) for operand in expr.operands]
        return f" {expr.operator} ".join(parts)
    if isinstance(expr, nodes.Not):
        return f"not {_wrap(expr.operand, _NOT, spell)}"
    if isinstance(expr, nodes.Compare):
        left, right = _wrap(expr.left, _SUM, spell), _wrap(expr.right, _SUM, spell)
        return f"{left} {expr.operator} {right}"
    if isinstance(expr, nodes.IsSet):
        return f"{_wrap(expr.operand, _SUM, spell)} {'is missing' if expr.negated else 'is set'}"
    if isinstance(expr, nodes.Arithmetic):
        left, right = _wrap(expr.left, _SUM, spell), _wrap(expr.right, _UNARY, spell)
        return f"{left} {expr.operator} {right}"
    if isinstance(expr, nodes.Negate):
        return f"-{_wrap(expr.operand, _UNARY, spell)}"
    if isinstance(expr, nodes.Count):
        return f"count({format_expression(expr.argument, spell)})"
    if isinstance(expr, nodes.ListLiteral):
        return "[" + ", ".join(format_expression(item, spell) for item in expr.items) + "]"
    if isinstance(expr, nodes.Today):
        return "today"
    if isinstance(expr, nodes.Name):
        return expr.name
    return spell(expr)


def format_literal(value: nodes.LiteralValue) -> str:
    """A constant as policy text: `"JP"`, `3`, `1.50`, `true`, `2026-04-01`, `30d`."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + "".join(_ESCAPES.get(char, char) for char in value) + '"'
    if isinstance(value, Decimal):
        text = format(value, "f")
        return text if "." in text else text + ".0"
    if isinstance(value, dt.timedelta):
        return f"{value.days}d"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _precedence(expr: nodes.Expr) -> int:
    if isinstance(expr, nodes.Logical):
        return _OR if expr.operator == "or" else _AND
    if isinstance(expr, nodes.Not):
        return _NOT
    if isinstance(expr, (nodes.Compare, nodes.IsSet)):
        return _COMPARISON
    if isinstance(expr, nodes.Arithmetic):
        return _SUM
    if isinstance(expr, nodes.Negate):
        return _UNARY
    if isinstance(expr, nodes.Literal) and _is_negative(expr.value):
        return _UNARY  # written with a leading minus
    return _ATOM


def _spell_literal(literal: nodes.Literal) -> str:
    return format_literal(literal.value)


def _wrap(expr: nodes.Expr, level: int, spell: Callable[[nodes.Literal], str]) -> str:
    text = format_expression(expr, spell)
    return f"({text})" if _precedence(expr) < level else text


def _is_negative(value: nodes.LiteralValue) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, Decimal)):
        return value < 0
    if isinstance(value, dt.timedelta):
        return value < dt.timedelta(0)
    return False
