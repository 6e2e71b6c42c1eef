"""Parsing policy text into the syntax tree, with syntax errors said in plain words.

This is the only module that knows Lark. The grammar ships beside it as package data.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from typing import Any, ClassVar

from lark import Lark, Token, Transformer, UnexpectedCharacters, UnexpectedInput, v_args
from lark.exceptions import UnexpectedEOF, UnexpectedToken, VisitError

from stagelang.diagnostics import Diagnostic, Severity, Span
from stagelang.syntax import nodes

SYNTAX_ERROR = "SL001"
BAD_LITERAL = "SL002"

# After this many syntax errors in one file, the rest of the file is not worth guessing at.
_MAX_SYNTAX_ERRORS = 20


def parse(source: str, file: str = "<string>") -> tuple[nodes.PolicyFile | None, list[Diagnostic]]:
    """Parse policy text into a syntax tree, and every syntax error found on the way.

    The tree is None when there is any syntax error: analysing a half-read file would only
    bury the real problem under follow-on complaints.
    """
    diagnostics: list[Diagnostic] = []
    text = source if source.endswith("\n") else source + "\n"

    for _attempt in range(_MAX_SYNTAX_ERRORS):
        try:
            tree = _parser().parse(text)
        except UnexpectedInput as error:
            diagnostics.append(_syntax_diagnostic(error, text, file))
            remaining = _blank_statement_at(text, error.line)
            if remaining is None:
                break
            text = remaining
            continue

        builder = _TreeBuilder(file)
        try:
            declarations = builder.transform(tree)
        except VisitError as error:  # a bug in the builder, never the user's input
            raise error.orig_exc from None
        diagnostics.extend(builder.diagnostics)
        if diagnostics:
            return None, diagnostics
        return nodes.PolicyFile(declarations, file=file, source=source), []

    return None, diagnostics


@functools.cache
def _parser() -> Lark:
    grammar = resources.files("stagelang.syntax").joinpath("stagelang.lark").read_text("utf-8")
    return Lark(
        grammar,
        parser="lalr",
        lexer="contextual",
        postlex=_LineJoiner(),
        propagate_positions=True,
        maybe_placeholders=True,
    )


class _LineJoiner:
    """Drops line ends inside brackets and parentheses, and folds runs of them into one."""

    always_accept = ("_NL",)

    _OPENERS: ClassVar[frozenset[str]] = frozenset({"LPAR", "LSQB"})
    _CLOSERS: ClassVar[frozenset[str]] = frozenset({"RPAR", "RSQB"})

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        depth = 0
        previous_was_newline = True  # a file may start with blank lines
        for token in stream:
            if token.type == "_NL":
                if depth > 0 or previous_was_newline:
                    continue
                previous_was_newline = True
                yield token
                continue
            if token.type in self._OPENERS:
                depth += 1
            elif token.type in self._CLOSERS and depth > 0:
                depth -= 1
            previous_was_newline = False
            yield token


# Syntax errors -----------------------------------------------------------------------------

_TOKEN_WORDS = {
    "_NL": "the end of the line",
    "$END": "the end of the file",
    "NAME": "a name",
    "STRING": 'a quoted text such as "JP"',
    "INT": "a whole number",
    "DECIMAL": "a decimal number",
    "DATE": "a date such as 2026-04-01",
    "DURATION": "a duration such as 30d",
    "COMPARE_OP": "a comparison such as >=",
    "ADD_OP": "+ or -",
    "COLON": '":"',
    "COMMA": '","',
    "LPAR": '"("',
    "RPAR": '")"',
    "LSQB": '"["',
    "RSQB": '"]"',
    "LESSTHAN": '"<"',
    "MORETHAN": '">"',
    "MINUS": '"-"',
}

# What a person would call the start of each kind of line, for "expected" lists that would
# otherwise name every keyword the grammar allows there.
_STATEMENT_STARTS = {"POLICY", "ID", "STAGE", "FIELD", "SEGMENT"}
_CLAUSE_STARTS = {"REQUIRES", "IN", "EXIT", "VALUES"}


def _syntax_diagnostic(error: UnexpectedInput, text: str, file: str) -> Diagnostic:
    line, column = max(error.line, 1), max(error.column, 1)
    if isinstance(error, UnexpectedCharacters):
        position = error.pos_in_stream or 0
        char = text[position] if position < len(text) else ""
        return Diagnostic(
            SYNTAX_ERROR,
            Severity.ERROR,
            f"unexpected character {char!r}",
            Span.point(line, column),
            file,
            help=_character_help(char),
            label="not part of the language here",
        )

    expected = _describe_expected(_acceptable_tokens(error))
    if isinstance(error, UnexpectedToken):
        found, span = _describe_token(error.token, line, column)
    elif isinstance(error, UnexpectedEOF):
        found, span = "the end of the file", Span.point(line, column)
    else:
        found, span = "something unexpected", Span.point(line, column)
    return Diagnostic(
        SYNTAX_ERROR,
        Severity.ERROR,
        f"expected {expected}, found {found}",
        span,
        file,
        label=f"expected {expected}" if len(expected) <= 40 else None,
        help=_token_help(found, expected),
    )


def _acceptable_tokens(error: UnexpectedInput) -> set[str]:
    """What the parser could really have taken where it stopped.

    Lark's own `expected` list also holds what the lexer would always accept (line ends) and
    tokens of merged parser states, which would make the message longer and wrong.
    """
    interactive = getattr(error, "interactive_parser", None)
    if interactive is not None:
        try:
            return set(interactive.accepts())
        except UnexpectedInput:
            pass
    return set(getattr(error, "expected", set()) or set())


def _describe_token(token: Token, line: int, column: int) -> tuple[str, Span]:
    if token.type == "$END":
        return "the end of the file", Span.point(line, column)
    if token.type == "_NL":
        return "the end of the line", Span.point(token.line or line, token.column or column)
    text = str(token)
    span = Span(
        token.line or line,
        token.column or column,
        token.line or line,
        (token.column or column) + max(len(text), 1),
    )
    return f'"{text}"', span


def _describe_expected(expected: set[str]) -> str:
    names = set(expected)
    words: list[str] = []
    if names & _STATEMENT_STARTS and names & _CLAUSE_STARTS:
        words.append("a stage clause (requires, in SEGMENT requires, exit when, values)")
        words.append("a new declaration (policy, field, segment, stage)")
        names -= _STATEMENT_STARTS | _CLAUSE_STARTS
    elif names & _STATEMENT_STARTS == _STATEMENT_STARTS:
        words.append("a declaration (policy, id field, stage field, field, segment, stage)")
        names -= _STATEMENT_STARTS
    if {"AND", "OR"} <= names:
        # After a complete condition: list the families, not every operator.
        words.append("an operator such as and, or, >=, in, is set")
        names -= _OPERATORS
        if "_NL" in names:  # brackets never hold a line end, so they are not open here
            names -= {"RPAR", "RSQB", "COMMA"}
    if len(names & _EXPRESSION_STARTS) >= 4:
        words.append("a value or a field name")
        names -= _EXPRESSION_STARTS
    for name in sorted(names, key=_expected_order):
        words.append(_TOKEN_WORDS.get(name, f'"{name.lower()}"'))
    if not words:
        return "something else"
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " or " + words[-1]


_OPERATORS = {"AND", "OR", "ADD_OP", "COMPARE_OP", "CONTAINS", "IN", "IS", "NOT"}
_EXPRESSION_STARTS = {
    "NAME",
    "STRING",
    "INT",
    "DECIMAL",
    "DATE",
    "DURATION",
    "TODAY",
    "TRUE",
    "FALSE",
    "COUNT",
    "LPAR",
    "LSQB",
    "MINUS",
    "NOT",
}


def _expected_order(name: str) -> tuple[int, str]:
    return (1 if name in ("_NL", "$END") else 0, name)


def _character_help(char: str) -> str | None:
    if char == "'":
        return 'write text in double quotes: "JP"'
    if char in "&|":
        return "write `and` / `or` in words"
    if char == "!":
        return "write `not` in words, or != for not equal"
    return None


def _token_help(found: str, expected: str) -> str | None:
    if expected.startswith("an operator") and found != "the end of the file":
        return "each clause goes on a line of its own; join conditions with `and` or `or`"
    return None


def _blank_statement_at(text: str, line: int) -> str | None:
    """Blank out the statement holding `line`, so that parsing can resume after it."""
    lines = text.split("\n")
    index = max(min(line, len(lines)) - 1, 0)
    start = index
    while start > 0 and not _starts_statement(lines[start]):
        start -= 1
    end = index + 1
    while end < len(lines) and not _starts_statement(lines[end]) and not _starts_clause(lines[end]):
        end += 1
    if all(not lines[i].strip() for i in range(start, end)):
        return None
    for i in range(start, end):
        lines[i] = ""
    return "\n".join(lines)


_STATEMENT_LINE = re.compile(r"^(policy|id|stage|field|segment)\b", re.IGNORECASE)
_CLAUSE_LINE = re.compile(r"^\s+(requires|in|exit|values)\b", re.IGNORECASE)


def _starts_statement(line: str) -> bool:
    return bool(_STATEMENT_LINE.match(line))


def _starts_clause(line: str) -> bool:
    return bool(_CLAUSE_LINE.match(line))


# Building the tree -------------------------------------------------------------------------

_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t"}
_OPERATOR_SPELLINGS = {"=": "==", "<>": "!="}


def _span_of(item: Any) -> Span:
    if isinstance(item, Token):
        return Span(item.line or 0, item.column or 0, item.end_line or 0, item.end_column or 0)
    span = getattr(item, "span", None)
    if isinstance(span, Span):
        return span
    return Span(item.line, item.column, item.end_line, item.end_column)


@dataclass
class _Option:
    key: str
    value: Any
    span: Span


def _line_span(meta: Any, children: list[Any]) -> Span:
    """From the start of a line's statement to the end of its last part, not its line end."""
    last = [child for child in children if child is not None][-1]
    end = _span_of(last)
    return Span(meta.line, meta.column, end.end_line, end.end_column)


@v_args(meta=True)
class _TreeBuilder(Transformer[Token, Any]):
    """Turns Lark's parse tree into `nodes`, noting literals that are not what they look like."""

    def __init__(self, file: str) -> None:
        super().__init__()
        self.file = file
        self.diagnostics: list[Diagnostic] = []

    def _bad_literal(self, span: Span, message: str, help: str) -> None:
        self.diagnostics.append(
            Diagnostic(BAD_LITERAL, Severity.ERROR, message, span, self.file, help=help)
        )

    # Declarations

    def start(self, meta: Any, children: list[Any]) -> list[nodes.Declaration]:
        return [child for child in children if child is not None]

    def policy_decl(self, meta: Any, children: list[Token]) -> nodes.PolicyDecl:
        return nodes.PolicyDecl(self._text(children[0]), span=_line_span(meta, children))

    def id_decl(self, meta: Any, children: list[Any]) -> nodes.FieldDecl:
        return self._role_field("id", meta, children)

    def stage_field_decl(self, meta: Any, children: list[Any]) -> nodes.FieldDecl:
        return self._role_field("stage", meta, children)

    def _role_field(self, role: str, meta: Any, children: list[Any]) -> nodes.FieldDecl:
        name, *options = children
        return nodes.FieldDecl(
            str(name),
            None,
            self._options(options),
            role=role,
            span=_line_span(meta, children),
            name_span=_span_of(name),
        )

    def field_decl(self, meta: Any, children: list[Any]) -> nodes.FieldDecl:
        name, type_ref, *options = children
        return nodes.FieldDecl(
            str(name),
            type_ref,
            self._options(options),
            span=_line_span(meta, children),
            name_span=_span_of(name),
        )

    def _options(self, options: list[_Option]) -> nodes.FieldOptions:
        result = nodes.FieldOptions()
        for option in options:
            setattr(result, option.key, option.value)
        return result

    def simple_type(self, meta: Any, children: list[Token]) -> nodes.TypeRef:
        return nodes.TypeRef(str(children[0]), span=_span_of(meta))

    def generic_type(self, meta: Any, children: list[Any]) -> nodes.TypeRef:
        return nodes.TypeRef(str(children[0]), children[1], span=_span_of(meta))

    def column_option(self, meta: Any, children: list[Token]) -> _Option:
        return _Option("column", self._text(children[0]), _span_of(meta))

    def required_option(self, meta: Any, children: list[Token]) -> _Option:
        return _Option("required", True, _span_of(meta))

    def separator_option(self, meta: Any, children: list[Token]) -> _Option:
        separator = self._text(children[0])
        if not separator:
            self._bad_literal(
                _span_of(children[0]),
                "the list separator is empty",
                'name the character between items, for example separator ";"',
            )
        return _Option("separator", separator, _span_of(meta))

    def segment_decl(self, meta: Any, children: list[Any]) -> nodes.SegmentDecl:
        name, condition = children
        return nodes.SegmentDecl(
            str(name), condition, span=_line_span(meta, children), name_span=_span_of(name)
        )

    def stage_decl(self, meta: Any, children: list[Any]) -> nodes.StageDecl:
        name, label, header_clause, *rest = children
        clauses: list[nodes.Clause] = [header_clause] if header_clause is not None else []
        values: list[str] = []
        values_span = _span_of(name)
        for item in rest:
            if isinstance(item, nodes.Clause):
                clauses.append(item)
            else:  # a values clause
                values.extend(item[0])
                values_span = item[1]
        return nodes.StageDecl(
            str(name),
            self._text(label) if label is not None else None,
            values,
            clauses,
            span=_line_span(meta, [name, label, header_clause]),
            name_span=_span_of(name),
            values_span=values_span,
        )

    def header_requires(self, meta: Any, children: list[Any]) -> nodes.Clause:
        return nodes.Clause("requires", children[0], span=_line_span(meta, children))

    def requires_clause(self, meta: Any, children: list[Any]) -> nodes.Clause:
        return nodes.Clause("requires", children[0], span=_line_span(meta, children))

    def segment_requires_clause(self, meta: Any, children: list[Any]) -> nodes.Clause:
        segment, condition = children
        return nodes.Clause(
            "requires",
            condition,
            segment=str(segment),
            span=_line_span(meta, children),
            segment_span=_span_of(segment),
        )

    def exit_clause(self, meta: Any, children: list[Any]) -> nodes.Clause:
        return nodes.Clause("exit", children[0], span=_line_span(meta, children))

    def values_clause(self, meta: Any, children: list[Token]) -> tuple[list[str], Span]:
        return [self._text(child) for child in children], _line_span(meta, children)

    # Expressions

    def or_expr(self, meta: Any, children: list[Any]) -> nodes.Logical:
        return nodes.Logical("or", children, span=_span_of(meta))

    def and_expr(self, meta: Any, children: list[Any]) -> nodes.Logical:
        return nodes.Logical("and", children, span=_span_of(meta))

    def not_op(self, meta: Any, children: list[Any]) -> nodes.Not:
        return nodes.Not(children[0], span=_span_of(meta))

    def compare(self, meta: Any, children: list[Any]) -> nodes.Compare:
        left, operator, right = children
        spelled = _OPERATOR_SPELLINGS.get(str(operator), str(operator))
        return nodes.Compare(spelled, left, right, span=_span_of(meta))

    def in_op(self, meta: Any, children: list[Any]) -> nodes.Compare:
        return nodes.Compare("in", children[0], children[1], span=_span_of(meta))

    def not_in_op(self, meta: Any, children: list[Any]) -> nodes.Compare:
        return nodes.Compare("not in", children[0], children[1], span=_span_of(meta))

    def contains_op(self, meta: Any, children: list[Any]) -> nodes.Compare:
        return nodes.Compare("contains", children[0], children[1], span=_span_of(meta))

    def is_set(self, meta: Any, children: list[Any]) -> nodes.IsSet:
        return nodes.IsSet(children[0], False, span=_span_of(meta))

    def is_missing(self, meta: Any, children: list[Any]) -> nodes.IsSet:
        return nodes.IsSet(children[0], True, span=_span_of(meta))

    def arithmetic(self, meta: Any, children: list[Any]) -> nodes.Arithmetic:
        left, operator, right = children
        return nodes.Arithmetic(str(operator), left, right, span=_span_of(meta))

    def negate(self, meta: Any, children: list[Any]) -> nodes.Expr:
        operand = children[0]
        value = operand.value if isinstance(operand, nodes.Literal) else None
        if isinstance(value, (int, Decimal, dt.timedelta)) and not isinstance(value, bool):
            return nodes.Literal(-value, span=_span_of(meta))
        return nodes.Negate(operand, span=_span_of(meta))

    def name(self, meta: Any, children: list[Token]) -> nodes.Name:
        return nodes.Name(str(children[0]), span=_span_of(children[0]))

    def today(self, meta: Any, children: list[Any]) -> nodes.Today:
        return nodes.Today(span=_span_of(meta))

    def count(self, meta: Any, children: list[Any]) -> nodes.Count:
        return nodes.Count(children[0], span=_span_of(meta))

    def list_literal(self, meta: Any, children: list[Any]) -> nodes.ListLiteral:
        items = [child for child in children if child is not None]
        return nodes.ListLiteral(items, span=_span_of(meta))

    def string(self, meta: Any, children: list[Token]) -> nodes.Literal:
        return nodes.Literal(self._text(children[0]), span=_span_of(children[0]))

    def integer(self, meta: Any, children: list[Token]) -> nodes.Literal:
        return nodes.Literal(int(children[0]), span=_span_of(children[0]))

    def decimal(self, meta: Any, children: list[Token]) -> nodes.Literal:
        return nodes.Literal(Decimal(str(children[0])), span=_span_of(children[0]))

    def date(self, meta: Any, children: list[Token]) -> nodes.Literal:
        token = children[0]
        try:
            value = dt.date.fromisoformat(str(token))
        except ValueError:
            self._bad_literal(
                _span_of(token),
                f"{token} is not a date on the calendar",
                "write dates as YEAR-MONTH-DAY, for example 2026-04-01",
            )
            value = dt.date(1970, 1, 1)
        return nodes.Literal(value, span=_span_of(token))

    def duration(self, meta: Any, children: list[Token]) -> nodes.Literal:
        token = str(children[0])
        amount, unit = int(token[:-1]), token[-1].lower()
        days = amount * 7 if unit == "w" else amount
        return nodes.Literal(dt.timedelta(days=days), span=_span_of(children[0]))

    def true(self, meta: Any, children: list[Any]) -> nodes.Literal:
        return nodes.Literal(True, span=_span_of(meta))

    def false(self, meta: Any, children: list[Any]) -> nodes.Literal:
        return nodes.Literal(False, span=_span_of(meta))

    def _text(self, token: Token) -> str:
        """The text inside a quoted string, with its escapes read."""
        body = str(token)[1:-1]
        return re.sub(r"\\(.)", lambda match: _ESCAPES.get(match[1], match[0]), body)
