"""`stagelang fmt`: formatting keeps the meaning and every comment, and is stable.

The property tests write random policies the way people do: keywords in any case, `=` and
`<>`, redundant parentheses, conditions broken over lines inside brackets or with a
backslash, and comments in every place a comment may go. Formatting one must give a text
that parses to the same tree, keeps the same comments in the same order, and does not change
when formatted again.
"""

from __future__ import annotations

import datetime as dt
import functools
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from lark import Lark, Token
from test_cli import assert_golden
from test_docs import REFERENCE
from test_round_trip import expressions

from stagelang.cli import main
from stagelang.errors import PolicyError
from stagelang.syntax import nodes, parse
from stagelang.syntax.formatter import format_source
from stagelang.syntax.parser import _LineJoiner

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
POLICY_FILES = sorted((ROOT / "policies").glob("*.stage"))


# Reading comments with the language's own lexer, independently of the formatter -----------

_lexed_comments: list[Token] = []


@functools.cache
def _comment_lexer() -> Lark:
    grammar = (ROOT / "stagelang" / "grammar" / "stagelang.lark").read_text("utf-8")
    return Lark(
        grammar,
        parser="lalr",
        lexer="contextual",
        postlex=_LineJoiner(),
        lexer_callbacks={"COMMENT": _lexed_comments.append},
    )


def comments_of(text: str) -> list[str]:
    """The text of every comment, in order, without the spaces that end its line."""
    _lexed_comments.clear()
    _comment_lexer().parse(text if text.endswith("\n") else text + "\n")
    return [str(token).rstrip(" \t\f\r") for token in _lexed_comments]


def declarations_of(text: str) -> list[nodes.Declaration]:
    tree, diagnostics = parse(text, "formatted.stage")
    assert tree is not None, [d.short() for d in diagnostics]
    return tree.declarations


def assert_formats_well(text: str) -> str:
    """Format `text` and hold the result to the formatter's promises; return it."""
    formatted = format_source(text)

    assert declarations_of(formatted) == declarations_of(text), formatted
    assert comments_of(formatted) == comments_of(text), formatted
    assert format_source(formatted) == formatted, formatted
    return formatted


# Writing policies the way people do ---------------------------------------------------------

_OR, _AND, _NOT, _COMPARISON, _SUM, _UNARY, _ATOM = range(7)

comment_texts = st.text(
    st.characters(exclude_categories=("Cs",), exclude_characters="\n\r"), max_size=12
).map(lambda text: "#" + text)
stage_names = st.sampled_from(["MQL", "sql", "商談", "values", "label", "stage", "x_1"])
field_names = st.sampled_from(["a", "need", "予算", "values", "from", "field", "stage", "x_1"])
texts = st.text(max_size=6).map(lambda text: nodes.Literal(text))


class Messy:
    """Writes declarations and conditions with every liberty the language allows."""

    def __init__(self, draw: st.DrawFn) -> None:
        self.draw = draw

    def word(self, keyword: str) -> str:
        return self.draw(st.sampled_from([keyword, keyword.upper(), keyword.capitalize()]))

    def words(self, *keywords: str) -> str:
        return self.space().join(self.word(keyword) for keyword in keywords)

    def space(self) -> str:
        return self.draw(st.sampled_from([" ", "  ", "\t", " \\\n  ", " \\\n\t"]))

    def gap(self, bracketed: bool) -> str:
        """Between two parts of a condition: spaces, and inside brackets new lines and
        comments; a continuation line is indented, as a declaration word at its start would
        read as a new declaration."""
        if not bracketed or self.draw(st.integers(0, 3)):
            return self.space()
        comment = self.draw(st.one_of(st.just(""), comment_texts.map(lambda c: "  " + c)))
        blank = self.draw(st.sampled_from(["", "\n"]))
        return f"{comment}\n{blank}" + self.draw(st.sampled_from([" ", "    ", "\t"]))

    def literal(self, value: nodes.LiteralValue) -> str:
        if isinstance(value, bool):
            return self.word("true" if value else "false")
        if isinstance(value, dt.timedelta):
            days = abs(value.days)
            sign = "-" if value.days < 0 else ""
            if days % 7 == 0 and self.draw(st.booleans()):
                return f"{sign}{days // 7}{self.draw(st.sampled_from('wW'))}"
            return f"{sign}{days}{self.draw(st.sampled_from('dD'))}"
        if isinstance(value, (int, Decimal)) and not isinstance(value, bool) and value < 0:
            return "-" + self.literal(-value)
        if isinstance(value, Decimal):
            return format(value, "f")
        if isinstance(value, dt.date):
            return value.isoformat()
        if isinstance(value, int):
            return str(value)
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'

    def condition(self, expr: nodes.Expr, bracketed: bool = False) -> str:
        gap = self.gap(bracketed)
        if isinstance(expr, nodes.Logical):
            level = _OR if expr.operator == "or" else _AND
            parts = [self.part(operand, level + 1, bracketed) for operand in expr.operands]
            return (gap + self.word(expr.operator) + self.gap(bracketed)).join(parts)
        if isinstance(expr, nodes.Not):
            return self.word("not") + gap + self.part(expr.operand, _NOT, bracketed)
        if isinstance(expr, nodes.Compare):
            left = self.part(expr.left, _SUM, bracketed)
            right = self.part(expr.right, _SUM, bracketed)
            spellings = {"==": ["==", "="], "!=": ["!=", "<>"], "not in": ["not in"]}
            spelled = self.draw(st.sampled_from(spellings.get(expr.operator, [expr.operator])))
            operator = self.words(*spelled.split()) if spelled[0].isalpha() else spelled
            return left + gap + operator + self.gap(bracketed) + right
        if isinstance(expr, nodes.IsSet):
            spelled = ["is missing", "is not set"] if expr.negated else ["is set"]
            words = self.draw(st.sampled_from(spelled)).split()
            return self.part(expr.operand, _SUM, bracketed) + gap + self.words(*words)
        if isinstance(expr, nodes.Arithmetic):
            left = self.part(expr.left, _SUM, bracketed)
            right = self.part(expr.right, _UNARY, bracketed)
            return left + gap + expr.operator + self.gap(bracketed) + right
        if isinstance(expr, nodes.Negate):
            return "-" + gap + self.part(expr.operand, _UNARY, bracketed)
        if isinstance(expr, nodes.Count):
            inside = self.condition(expr.argument, bracketed=True)
            return self.word("count") + "(" + self.gap(True) + inside + self.gap(True) + ")"
        if isinstance(expr, nodes.ListLiteral):
            items = [self.condition(item, bracketed=True) for item in expr.items]
            comma = self.draw(st.sampled_from(["", ","])) if items else ""
            return "[" + self.gap(True) + ("," + self.gap(True)).join(items) + comma + "]"
        if isinstance(expr, nodes.Today):
            return self.word("today")
        if isinstance(expr, nodes.Name):
            return expr.name
        return self.literal(expr.value)

    def part(self, expr: nodes.Expr, level: int, bracketed: bool) -> str:
        """A part of a larger condition, in parentheses when it needs them, or sometimes."""
        if _precedence(expr) < level or self.draw(st.integers(0, 5)) == 0:
            inside = self.condition(expr, bracketed=True)
            return "(" + self.gap(True) + inside + self.gap(True) + ")"
        return self.condition(expr, bracketed)

    def options(self) -> str:
        chosen = self.draw(st.permutations(["from", "required", "separator"]))
        written = []
        for option in chosen[: self.draw(st.integers(0, 3))]:
            if option == "required":
                written.append(self.word("required"))
            else:
                value = self.draw(st.text(min_size=1, max_size=4))
                written.append(self.word(option) + self.space() + self.literal(value))
        return "".join(self.space() + option for option in written)

    def type_name(self, depth: int = 0) -> str:
        name = self.draw(st.sampled_from(["int", "String", "BOOL", "decimal", "date", "number"]))
        if depth > 1 or self.draw(st.integers(0, 2)):
            return name
        spaces = self.draw(st.sampled_from(["", " "]))
        inner = self.type_name(depth + 1)
        return f"{self.word('list')}{spaces}<{spaces}{inner}{spaces}>"

    def declaration(self) -> list[str]:
        """A declaration, or a stage and its clauses: one string for each."""
        kind = self.draw(
            st.sampled_from(
                ["policy", "extends", "id", "stage field", "field", "segment", "invariant"]
            )
        )
        kind = self.draw(st.sampled_from([kind, "stage", "stage"]))
        if kind in ("policy", "extends"):
            return [self.word(kind) + self.space() + self.literal(self.draw(st.text()))]
        if kind in ("id", "stage field"):
            name = self.draw(field_names)
            return [self.words(kind.split()[0], "field") + self.space() + name + self.options()]
        if kind == "field":
            name = self.draw(field_names)
            colon = self.draw(st.sampled_from([":", " :", ": ", " : "]))
            return [self.word("field") + " " + name + colon + self.type_name() + self.options()]
        if kind == "segment":
            name = self.draw(field_names)
            condition = self.condition(self.draw(expressions))
            return [self.word("segment") + " " + name + self.space() + ":" + " " + condition]
        if kind == "invariant":
            return [self.invariant()]
        return self.stage()

    def invariant(self) -> str:
        """`invariant "name": stage >= NAME implies condition`, name and scope optional."""
        line = self.word("invariant")
        if self.draw(st.booleans()):
            line += self.space() + self.literal(self.draw(st.text(max_size=8)))
        line += self.draw(st.sampled_from([":", " :", ": ", " : "]))
        if self.draw(st.booleans()):
            operator = self.draw(st.sampled_from(["==", "!=", "<", "<=", ">", ">="]))
            line += self.word("stage") + self.space() + operator + self.space()
            line += self.draw(stage_names) + " " + self.word("implies") + " "
        else:
            line += " "
        return line + self.condition_text()

    def stage(self) -> list[str]:
        opener = self.draw(st.sampled_from(["stage", "stage", "outcome"]))
        header = self.word(opener) + " " + self.draw(stage_names)
        if self.draw(st.booleans()):
            header += self.space() + self.literal(self.draw(st.text(max_size=8)))
        if self.draw(st.booleans()):
            header += self.space() + self.word("requires") + " " + self.condition_text()
        lines = [header]
        for _ in range(self.draw(st.integers(0, 4))):
            indent = self.draw(st.sampled_from(["  ", "", "    ", "\t"]))
            lines.append(indent + self.clause())
        return lines

    def clause(self) -> str:
        kind = self.draw(st.sampled_from(["requires", "in", "exit", "values", "history"]))
        if kind == "history":
            return self.history_clause()
        if kind == "requires":
            return self.word("requires") + " " + self.condition_text()
        if kind == "in":
            segment = self.draw(field_names)
            instead = self.word("instead") + " " if self.draw(st.booleans()) else ""
            return f"{self.word('in')} {segment}{self.space()}{instead}{self.word('requires')} " + (
                self.condition_text()
            )
        if kind == "exit":
            return self.words("exit", "when") + " " + self.condition_text()
        values = [self.literal(self.draw(st.text(max_size=5))) for _ in range(3)]
        count = self.draw(st.integers(1, 3))
        separators = [self.draw(st.sampled_from([",", " , ", ", ", ", \\\n  "])) for _ in values]
        joined = values[0] + "".join(
            s + v for s, v in zip(separators, values[1:count], strict=False)
        )
        return self.word("values") + self.space() + joined

    def history_clause(self) -> str:
        """`allow skip`, `allow back to`, `allow from`, `entered from`, `expect dwell`."""
        kind = self.draw(st.sampled_from(["skip", "back", "from", "entered", "dwell", "in"]))
        if kind == "skip":
            return self.words("allow", "skip")
        if kind in ("back", "from"):
            names = self.draw(st.lists(stage_names, min_size=1, max_size=3))
            comma = self.draw(st.sampled_from([",", " , ", ", ", ", \\\n  "]))
            words = ("allow", "back", "to") if kind == "back" else ("allow", "from")
            return self.words(*words) + " " + comma.join(names)
        if kind == "entered":
            column = self.literal(self.draw(st.text(min_size=1, max_size=8).filter(str.strip)))
            return self.words("entered", "from") + self.space() + column
        days = self.draw(st.integers(0, 400))
        dwell = self.words("expect", "dwell") + self.space() + "<=" + self.space()
        dwell += self.literal(dt.timedelta(days=days))
        if kind == "in":
            return f"{self.word('in')} {self.draw(field_names)}{self.space()}{dwell}"
        return dwell

    def condition_text(self) -> str:
        return self.condition(self.draw(expressions))

    def between(self) -> list[str]:
        """Blank lines and whole-line comments, at any indent, between two statements."""
        lines = []
        for _ in range(self.draw(st.integers(0, 3))):
            indent = self.draw(st.sampled_from(["", "  ", "\t "]))
            lines.append(indent + self.draw(st.one_of(st.just(""), comment_texts)))
        return lines

    def trailing(self) -> str:
        if self.draw(st.integers(0, 2)):
            return ""
        return self.draw(st.sampled_from(["", " ", "   "])) + self.draw(comment_texts)


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
    value = expr.value if isinstance(expr, nodes.Literal) else None
    if isinstance(value, (int, Decimal, dt.timedelta)) and not isinstance(value, bool):
        negative = value < dt.timedelta(0) if isinstance(value, dt.timedelta) else value < 0
        if negative:
            return _UNARY
    return _ATOM


@st.composite
def messy_policies(draw: st.DrawFn) -> str:
    messy = Messy(draw)
    lines: list[str] = []
    for _ in range(draw(st.integers(0, 6))):
        for statement in messy.declaration():
            lines.extend(messy.between())
            lines.append(statement + messy.trailing())
    lines.extend(messy.between())
    return "\n".join(lines) + draw(st.sampled_from(["", "\n", "\n\n"]))


# Properties ---------------------------------------------------------------------------------


@given(messy_policies())
def test_formatting_keeps_meaning_and_comments_and_is_stable(text: str) -> None:
    declarations_of(text)  # the generator writes only policies that parse
    assert_formats_well(text)


@pytest.mark.parametrize("path", POLICY_FILES, ids=lambda path: path.name)
def test_bundled_policies_are_formatted(path: Path) -> None:
    text = path.read_text("utf-8")
    assert assert_formats_well(text) == text


def _parses(text: str) -> bool:
    return parse(text, "example.stage")[0] is not None


DOC_EXAMPLES = [
    block
    for block in REFERENCE.blocks
    if block.language in ("stage", "") and block.text.strip() and _parses(block.text)
]


@pytest.mark.parametrize("block", DOC_EXAMPLES, ids=lambda block: f"line{block.line}")
def test_documentation_examples_format_well(block: object) -> None:
    assert_formats_well(block.text)  # type: ignore[attr-defined]


def test_the_documentation_has_examples_with_comments() -> None:
    assert len(DOC_EXAMPLES) > 20
    assert any("#" in block.text for block in DOC_EXAMPLES)


# Particular promises ------------------------------------------------------------------------


def test_messy_file_golden() -> None:
    text = (HERE / "data" / "unformatted.stage").read_text("utf-8")
    formatted = assert_formats_well(text)
    assert_golden("fmt_unformatted.stage", formatted)


def test_spellings_are_normalised_but_durations_keep_their_unit() -> None:
    text = 'SEGMENT s: a = "x" OR b <> 1.50 or c IS NOT SET or d > today - 6W or e < 14D\n'
    assert format_source(text) == (
        'segment s: a == "x" or b != 1.50 or c is missing or d > today - 6w or e < 14d\n'
    )


def test_comments_stay_with_the_parts_of_a_condition() -> None:
    text = """\
stage SQL requires (need   # from the discovery call
      AND process
  # the buying group
  and count(decision_makers) >= 2)   # nemawashi
  exit when meeting_at is set
"""
    assert (
        assert_formats_well(text)
        == """\
stage SQL
  requires (
    need  # from the discovery call
    and process
    # the buying group
    and count(decision_makers) >= 2
  )  # nemawashi
  exit when meeting_at is set
"""
    )


def test_comments_inside_a_joined_list_move_above_its_line() -> None:
    text = 'segment apac: country in [\n  "JP",  # Japan\n  "KR"\n]  # and Korea\n'
    assert assert_formats_well(text) == (
        '# Japan\nsegment apac: country in ["JP", "KR"]  # and Korea\n'
    )


def test_long_conditions_are_wrapped_inside_parentheses() -> None:
    parts = [f"engaged_sessions_{n} >= {n}" for n in range(6)]
    text = "stage MQL\n  requires " + " and ".join(parts[:3]) + " and (" + " or ".join(parts[3:])
    formatted = assert_formats_well(text + ")\n")
    assert formatted == (
        "stage MQL\n"
        "  requires (\n"
        "    engaged_sessions_0 >= 0\n"
        "    and engaged_sessions_1 >= 1\n"
        "    and engaged_sessions_2 >= 2\n"
        "    and (engaged_sessions_3 >= 3 or engaged_sessions_4 >= 4 or engaged_sessions_5 >= 5)\n"
        "  )\n"
    )


def test_a_long_first_criterion_moves_off_the_stage_line() -> None:
    condition = " and ".join(f"criterion_number_{n}" for n in range(5))
    formatted = assert_formats_well(f'stage SQL "Sales Qualified Lead" requires {condition}\n')
    assert formatted.splitlines()[:2] == ['stage SQL "Sales Qualified Lead"', "  requires ("]


def test_blank_lines_separate_groups_and_stages_only() -> None:
    text = """\
policy "p"
id field record_id
stage field lifecycle_stage
field a: int


field b: int
field c: int
segment s: a > 1
stage A

  requires a > 1
stage B
# the end
"""
    assert (
        assert_formats_well(text)
        == """\
policy "p"

id field record_id
stage field lifecycle_stage

field a: int

field b: int
field c: int

segment s: a > 1

stage A
  requires a > 1

stage B
# the end
"""
    )


def test_windows_line_ends_stay_windows_line_ends() -> None:
    assert format_source("stage A\r\n  requires   a # why\r\n") == (
        "stage A\r\n  requires a  # why\r\n"
    )


def test_an_empty_file_stays_empty_and_comments_alone_stay() -> None:
    assert format_source("") == ""
    assert format_source("\n\n# only a comment   \n\n\n#  another\n") == (
        "# only a comment\n\n#  another\n"
    )


def test_syntax_errors_raise_policy_error_with_the_diagnostics() -> None:
    with pytest.raises(PolicyError) as raised:
        format_source("stage A requires a ==\n", "broken.stage")
    assert [d.code for d in raised.value.errors] == ["SL001"]
    assert raised.value.errors[0].file == "broken.stage"


# The command --------------------------------------------------------------------------------


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_fmt_check_passes_on_the_bundled_policies() -> None:
    code, out, _ = run("fmt", "--check", str(ROOT / "policies"))
    assert code == 0
    assert out == "3 policy files already formatted.\n"


def test_fmt_rewrites_files_in_place(tmp_path: Path) -> None:
    messy = tmp_path / "messy.stage"
    messy.write_text("STAGE A REQUIRES a = 1\n", "utf-8")
    tidy = tmp_path / "tidy.stage"
    tidy.write_text("stage A requires a == 1\n", "utf-8")

    code, out, _ = run("fmt", str(tmp_path))

    assert code == 0
    assert (
        out == f"reformatted {messy}\n1 policy file reformatted, 1 policy file already formatted.\n"
    )
    assert messy.read_text("utf-8") == "stage A requires a == 1\n"
    assert run("fmt", "--check", str(tmp_path))[0] == 0


def test_fmt_check_lists_files_that_would_change_and_changes_nothing(tmp_path: Path) -> None:
    messy = tmp_path / "messy.stage"
    messy.write_text("STAGE A REQUIRES a = 1\n", "utf-8")

    code, out, _ = run("fmt", "--check", str(messy))

    assert code == 1
    assert out == f"would reformat {messy}\n1 policy file would be reformatted.\n"
    assert messy.read_text("utf-8") == "STAGE A REQUIRES a = 1\n"


def test_fmt_diff_prints_a_unified_diff_and_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("messy.stage").write_text("# why\nSTAGE A REQUIRES a = 1\n", "utf-8")

    code, out, err = run("fmt", "--diff", "messy.stage")

    assert code == 1
    assert out == (
        "--- messy.stage\n+++ messy.stage\n@@ -1,2 +1,2 @@\n # why\n"
        "-STAGE A REQUIRES a = 1\n+stage A requires a == 1\n"
    )
    assert err == "1 policy file would be reformatted.\n"
    assert Path("messy.stage").read_text("utf-8") == "# why\nSTAGE A REQUIRES a = 1\n"


def test_fmt_reports_syntax_errors_and_unreadable_paths_with_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("broken.stage").write_text("stage A requires a ==\n", "utf-8")
    Path("fine.stage").write_text("stage A requires a = 1\n", "utf-8")

    code, out, err = run("fmt", "broken.stage", "fine.stage", "missing.stage")

    assert code == 2
    assert "error[SL001]: expected a value or a field name, found the end of the line" in err
    assert " --> broken.stage:1:22" in err
    assert "stagelang: broken.stage has syntax errors, so it was not formatted" in err
    assert "stagelang: missing.stage: no such file or folder" in err
    summary = "1 policy file reformatted, 2 could not be formatted."
    assert out == f"reformatted fine.stage\n{summary}\n"
    assert Path("broken.stage").read_text("utf-8") == "stage A requires a ==\n"
