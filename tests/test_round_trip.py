"""Property test: printing an expression and parsing it again gives back the same tree."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from stagelang.syntax import nodes, parse
from stagelang.syntax.printer import format_expression

# Field names include words that are keywords elsewhere in the language: keywords are
# contextual, so these still read as names inside an expression.
names = st.sampled_from(["a", "need", "商談", "予算", "values", "label", "stage", "field", "x_1"])

literals = st.one_of(
    st.text(max_size=8).filter(lambda t: "\r" not in t),
    st.integers(-1000, 1000),
    st.decimals(min_value=-1000, max_value=1000, places=2, allow_nan=False),
    st.booleans(),
    st.dates(dt.date(1990, 1, 1), dt.date(2100, 12, 31)),
    st.integers(-400, 400).map(lambda days: dt.timedelta(days=days)),
).map(nodes.Literal)

leaves = st.one_of(
    names.map(nodes.Name),
    literals,
    st.just(nodes.Today()),
    st.lists(literals, max_size=3).map(nodes.ListLiteral),
)


def _extend(inner: st.SearchStrategy[nodes.Expr]) -> st.SearchStrategy[nodes.Expr]:
    operators = ["==", "!=", "<", "<=", ">", ">=", "in", "not in", "contains"]
    return st.one_of(
        st.builds(
            nodes.Logical, st.sampled_from(["and", "or"]), st.lists(inner, min_size=2, max_size=3)
        ),
        st.builds(nodes.Not, inner),
        st.builds(nodes.Compare, st.sampled_from(operators), inner, inner),
        st.builds(nodes.IsSet, inner, st.booleans()),
        st.builds(nodes.Arithmetic, st.sampled_from(["+", "-"]), inner, inner),
        st.builds(nodes.Negate, inner.filter(lambda e: not isinstance(e, nodes.Literal))),
        st.builds(nodes.Count, inner),
    )


expressions = st.recursive(leaves, _extend, max_leaves=12)


@given(expressions)
def test_format_then_parse_gives_back_the_same_tree(expr: nodes.Expr) -> None:
    text = format_expression(expr)
    tree, diagnostics = parse(f"stage A requires {text}\n", "round-trip.stage")

    assert diagnostics == [], text
    assert tree is not None
    (stage,) = tree.of_kind(nodes.StageDecl)
    assert stage.clauses[0].condition == expr, text


@given(expressions)
def test_formatting_is_stable(expr: nodes.Expr) -> None:
    text = format_expression(expr)
    tree, _ = parse(f"stage A requires {text}\n", "round-trip.stage")
    assert tree is not None
    (stage,) = tree.of_kind(nodes.StageDecl)
    assert format_expression(stage.clauses[0].condition) == text


def test_decimals_print_as_written() -> None:
    assert format_expression(nodes.Literal(Decimal("1.50"))) == "1.50"
    assert format_expression(nodes.Literal(Decimal("100"))) == "100.0"
