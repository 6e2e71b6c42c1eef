"""Parsing: the syntax tree, positions, and syntax errors said in plain words."""

from __future__ import annotations

import datetime as dt
import os
import stat
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import lark
import pytest

from stagelang.syntax import nodes, parse


def parse_ok(text: str) -> nodes.PolicyFile:
    tree, diagnostics = parse(text, "t.stage")
    assert diagnostics == []
    assert tree is not None
    return tree


def condition_of(text: str) -> nodes.Expr:
    tree = parse_ok(f"stage A requires {text}\n")
    stage = tree.of_kind(nodes.StageDecl)[0]
    return stage.clauses[0].condition


def test_one_line_stage_clause_from_the_issue_is_valid_as_written() -> None:
    tree = parse_ok("stage SQL requires need AND process AND decision_makers\n")
    (stage,) = tree.of_kind(nodes.StageDecl)
    assert stage.name == "SQL"
    assert stage.clauses[0].condition == nodes.Logical(
        "and", [nodes.Name("need"), nodes.Name("process"), nodes.Name("decision_makers")]
    )


def test_overlay_on_the_next_line_is_not_read_as_in_list() -> None:
    tree = parse_ok(
        "stage SQL requires need AND decision_makers\n"
        "  in japan requires count(decision_makers) >= 2\n"
    )
    (stage,) = tree.of_kind(nodes.StageDecl)
    assert [(c.kind, c.segment) for c in stage.clauses] == [
        ("requires", None),
        ("requires", "japan"),
    ]


@pytest.mark.parametrize("spelling", ["and", "AND", "And"])
def test_keywords_are_case_insensitive(spelling: str) -> None:
    assert condition_of(f"a {spelling} b") == nodes.Logical(
        "and", [nodes.Name("a"), nodes.Name("b")]
    )


def test_keywords_are_contextual_so_fields_may_be_called_values_or_label() -> None:
    tree = parse_ok("field values: int\nfield label: string\nstage A requires values >= 1\n")
    names = [d.name for d in tree.of_kind(nodes.FieldDecl)]
    assert names == ["values", "label"]


def test_unicode_names_and_labels() -> None:
    tree = parse_ok('stage 商談 "商談中" requires 予算 > 0\n')
    (stage,) = tree.of_kind(nodes.StageDecl)
    assert (stage.name, stage.label) == ("商談", "商談中")
    assert stage.clauses[0].condition == nodes.Compare(">", nodes.Name("予算"), nodes.Literal(0))


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('"JP"', "JP"),
        (r'"say \"hi\""', 'say "hi"'),
        ("42", 42),
        ("1.50", Decimal("1.50")),
        ("true", True),
        ("FALSE", False),
        ("2026-04-01", dt.date(2026, 4, 1)),
        ("30d", dt.timedelta(days=30)),
        ("6w", dt.timedelta(weeks=6)),
        ("-3", -3),
    ],
    ids=[
        "text",
        "escaped-quote",
        "int",
        "decimal",
        "true",
        "false",
        "date",
        "days",
        "weeks",
        "negative",
    ],
)
def test_literals(text: str, value: object) -> None:
    expr = condition_of(f"x == {text}")
    assert isinstance(expr, nodes.Compare)
    assert expr.right == nodes.Literal(value)  # type: ignore[arg-type]


def test_precedence_not_binds_looser_than_comparison_and_tighter_than_and() -> None:
    assert condition_of("not a >= 1 and b") == nodes.Logical(
        "and",
        [nodes.Not(nodes.Compare(">=", nodes.Name("a"), nodes.Literal(1))), nodes.Name("b")],
    )


def test_or_binds_looser_than_and() -> None:
    assert condition_of("a or b and c") == nodes.Logical(
        "or", [nodes.Name("a"), nodes.Logical("and", [nodes.Name("b"), nodes.Name("c")])]
    )


def test_lines_join_inside_brackets_and_parentheses() -> None:
    expr = condition_of('(a and\n    b) and country in ["JP",\n  "KR"]')
    assert isinstance(expr, nodes.Logical)
    assert expr.operands[1] == nodes.Compare(
        "in",
        nodes.Name("country"),
        nodes.ListLiteral([nodes.Literal("JP"), nodes.Literal("KR")]),
    )


def test_comments_and_blank_lines_between_clauses() -> None:
    tree = parse_ok("stage A requires a\n\n  # why\n\n  exit when b  # trailing\n")
    (stage,) = tree.of_kind(nodes.StageDecl)
    assert [c.kind for c in stage.clauses] == ["requires", "exit"]


def test_spans_point_at_the_source() -> None:
    tree = parse_ok("field x: int\nstage A\n  requires x >= 10\n")
    (stage,) = tree.of_kind(nodes.StageDecl)
    clause = stage.clauses[0]
    assert (clause.span.line, clause.span.column) == (3, 3)
    assert (clause.condition.span.line, clause.condition.span.column) == (3, 12)
    assert clause.condition.span.end_column == 19


def test_field_options() -> None:
    tree = parse_ok(
        'field won: date from "Became a Customer Date" required\n'
        'field tags: list<string> separator ","\n'
    )
    won, tags = tree.of_kind(nodes.FieldDecl)
    assert won.options == nodes.FieldOptions(column="Became a Customer Date", required=True)
    assert tags.options.separator == ","
    assert str(tags.type) == "list<string>"


@pytest.mark.parametrize(
    ("text", "line", "column", "message"),
    [
        (
            "stage SQL requires need AND\n",
            1,
            28,
            "expected a value or a field name, found the end of the line",
        ),
        ("field x int\n", 1, 9, 'expected ":", found "int"'),
        ("policy x\n", 1, 8, 'expected a quoted text such as "JP", found "x"'),
        ("stage A\n  exit need\n", 2, 8, 'expected "when", found "need"'),
        ("stage A requires x == 'JP'\n", 1, 23, 'unexpected character "\'"'),
        ("stage A requires (a and b\n", 1, 18, 'this "(" is never closed'),
    ],
    ids=[
        "dangling-and",
        "missing-colon",
        "unquoted-name",
        "exit-without-when",
        "single-quotes",
        "unclosed-parenthesis",
    ],
)
def test_syntax_errors_are_plain_words_with_positions(
    text: str, line: int, column: int, message: str
) -> None:
    tree, diagnostics = parse(text, "t.stage")
    assert tree is None
    first = diagnostics[0]
    assert first.code == "SL001"
    assert (first.span.line, first.span.column) == (line, column)
    assert message in first.message
    assert "Token" not in first.message and "Lark" not in first.message


def test_several_syntax_errors_in_one_file_are_all_reported() -> None:
    text = "field a: int\nstage A requires a >=\nstage B requires a b\nfield c int\n"
    _, diagnostics = parse(text, "t.stage")
    assert [d.span.line for d in diagnostics] == [2, 3, 4]


def test_a_date_not_on_the_calendar_is_reported() -> None:
    _, diagnostics = parse("stage A requires d > 2026-02-30\n", "t.stage")
    assert [d.code for d in diagnostics] == ["SL002"]
    assert "2026-02-30" in diagnostics[0].message


def test_a_file_without_a_final_newline_parses() -> None:
    tree = parse_ok("stage A requires a")
    assert len(tree.declarations) == 1


def test_an_empty_file_parses_to_no_declarations() -> None:
    assert parse_ok("").declarations == []
    assert parse_ok("# only a comment\n").declarations == []


def test_the_built_parser_is_cached_in_a_private_folder(tmp_path: Path) -> None:
    script = "import stagelang; print(stagelang.loads('stage field s\\nstage A\\n').stages)"
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    env.pop("STAGELANG_NO_CACHE", None)
    for _ in range(2):  # the first run writes the cache, the second reads it
        result = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=False
        )
        assert result.stdout.strip() == "('A',)", result.stderr
        assert result.stderr == ""
    folder = tmp_path / "stagelang"
    assert [p.name for p in folder.iterdir()] == [f"parser-lark-{lark.__version__}.cache"]
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
