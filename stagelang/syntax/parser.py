"""Parsing policy text into the syntax tree, with syntax errors said in plain words.

This is the only module that knows Lark. The grammar ships beside it as package data.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from typing import Any, ClassVar

from lark import Lark, Token, Transformer, UnexpectedCharacters, UnexpectedInput, v_args
from lark import __version__ as lark_version
from lark.exceptions import UnexpectedEOF, UnexpectedToken, VisitError

from stagelang.diagnostics import Diagnostic, Severity, Span
from stagelang.rules import diagnose
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
            unclosed = _unclosed_before(error, text)
            if unclosed is not None:
                diagnostics.append(_unclosed_diagnostic(unclosed, file))
                remaining = _recover(text, unclosed.opener.line or 1, unclosed.stopped_at - 1)
            else:
                diagnostics.append(_syntax_diagnostic(error, text, file))
                remaining = _recover(text, error.line, error.line)
        except _UnclosedBracket as error:
            diagnostics.append(_unclosed_diagnostic(error, file))
            remaining = _recover(text, error.opener.line or 1, error.stopped_at - 1)
        else:
            break
        if remaining is None:
            return None, diagnostics
        text = remaining
    else:
        return None, diagnostics

    if diagnostics:
        return None, diagnostics

    builder = _TreeBuilder(file)
    try:
        declarations = builder.transform(tree)
    except VisitError as error:  # a bug in the builder, never the user's input
        raise error.orig_exc from None
    if builder.diagnostics:
        return None, builder.diagnostics
    return nodes.PolicyFile(declarations, file=file, source=source), []


@functools.cache
def _parser() -> Lark:
    grammar = resources.files("stagelang").joinpath("grammar", "stagelang.lark").read_text("utf-8")
    options: dict[str, Any] = {
        "parser": "lalr",
        "lexer": "contextual",
        "postlex": _LineJoiner(),
        "propagate_positions": True,
        "maybe_placeholders": True,
    }
    cache = _cache_file()
    if cache is not None:
        try:
            return Lark(grammar, cache=cache, **options)
        except OSError:
            pass  # a cache we cannot write is no reason to fail
    return Lark(grammar, **options)


def _cache_file() -> str | None:
    """Where Lark may keep the built parser, so that later runs start quicker.

    Building the parse tables takes most of a first load (about 40 ms). Lark's own default
    cache lives in the shared temporary folder, where another user could plant a file that
    Lark would unpickle; a folder in the user's own cache, readable only by them, cannot be.
    Lark checks a hash of the grammar and options inside the file, so a stale one is rebuilt.
    Set STAGELANG_NO_CACHE=1 to turn the cache off.
    """
    if os.environ.get("STAGELANG_NO_CACHE"):
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = os.path.join(base, "stagelang")
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        owner = getattr(os, "getuid", None)  # POSIX only; elsewhere the folder is the user's
        if owner is not None and os.stat(folder).st_uid != owner():
            return None
    except OSError:
        return None
    return os.path.join(folder, f"parser-lark-{lark_version}.cache")


class _UnclosedBracket(Exception):
    """A bracket still open when a new declaration begins, or when the file ends."""

    def __init__(self, opener: Token, stopped_at: int) -> None:
        super().__init__(str(opener))
        self.opener = opener
        self.stopped_at = stopped_at


class _LineJoiner:
    """Drops line ends inside brackets and parentheses, and folds runs of them into one."""

    always_accept = ("_NL",)

    _OPENERS: ClassVar[frozenset[str]] = frozenset({"LPAR", "LSQB"})
    _CLOSERS: ClassVar[frozenset[str]] = frozenset({"RPAR", "RSQB"})
    _STATEMENT_WORDS: ClassVar[frozenset[str]] = frozenset(
        {"policy", "extends", "use", "id", "stage", "field", "segment", "outcome", "invariant"}
    )

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        openers: list[Token] = []
        previous_was_newline = True  # a file may start with blank lines
        for token in stream:
            if token.type == "_NL":
                if openers or previous_was_newline:
                    continue
                previous_was_newline = True
                yield token
                continue
            if openers and self._starts_declaration(token):
                # Inside brackets every line end is dropped, so an unclosed bracket would
                # swallow the rest of the file; a declaration word at the start of a line is
                # the sign that the author forgot to close it.
                raise _UnclosedBracket(openers[-1], token.line or 1)
            if token.type in self._OPENERS:
                openers.append(token)
            elif token.type in self._CLOSERS and openers:
                openers.pop()
            previous_was_newline = False
            yield token
        if openers:
            raise _UnclosedBracket(openers[-1], 1 << 30)

    def _starts_declaration(self, token: Token) -> bool:
        return token.column == 1 and str(token).lower() in self._STATEMENT_WORDS


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
_STATEMENT_STARTS = {
    "POLICY",
    "EXTENDS",
    "USE",
    "ID",
    "STAGE",
    "FIELD",
    "SEGMENT",
    "OUTCOME",
    "INVARIANT",
}
_CLAUSE_STARTS = {"REQUIRES", "IN", "EXIT", "VALUES", "ALLOW", "ENTERED", "EXPECT"}


def _unclosed_before(error: UnexpectedInput, text: str) -> _UnclosedBracket | None:
    """An unclosed bracket explains an error met at the start of a line: find it."""
    if error.column != 1 and not isinstance(error, UnexpectedEOF):
        return None
    line = error.line if error.line > 0 else text.count("\n") + 1
    openers: list[Token] = []
    for number, content in enumerate(text.split("\n")[: line - 1], start=1):
        for match in _BRACKETS.finditer(content):
            char = match.group()
            if len(char) != 1:
                continue  # a string or a comment
            if char in "([":
                openers.append(
                    Token(
                        "LPAR" if char == "(" else "LSQB",
                        char,
                        line=number,
                        column=match.start() + 1,
                    )
                )
            elif char in ")]" and openers:
                openers.pop()
    return _UnclosedBracket(openers[-1], line) if openers else None


# Brackets outside strings and comments.
_BRACKETS = re.compile(r'"(?:[^"\\\n]|\\.)*"|#.*|[()\[\]]')


def _unclosed_diagnostic(error: _UnclosedBracket, file: str) -> Diagnostic:
    opener = error.opener
    closer = ")" if str(opener) == "(" else "]"
    line, column = opener.line or 1, opener.column or 1
    return Diagnostic(
        SYNTAX_ERROR,
        Severity.ERROR,
        f'this "{opener}" is never closed',
        Span(line, column, line, column + 1),
        file,
        label=f'no matching "{closer}"',
        help=f'add "{closer}" where the condition ends; inside brackets a condition may '
        "run over several lines, so everything after this was read as part of it",
    )


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
            help=_character_help(text, position),
            label="not part of the language here",
        )

    acceptable = _acceptable_tokens(error)
    expected = _describe_expected(acceptable)
    if isinstance(error, UnexpectedToken) and _chains_comparisons(error.token, acceptable):
        found, span = _describe_token(error.token, line, column)
        return Diagnostic(
            SYNTAX_ERROR,
            Severity.ERROR,
            f"comparisons cannot be chained, found {found} after a comparison",
            span,
            file,
            help="compare twice and join with and: 1 <= engaged_sessions and engaged_sessions <= 5",
        )
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


def _chains_comparisons(token: Token, acceptable: set[str]) -> bool:
    comparing = {"COMPARE_OP", "IN", "CONTAINS", "IS"}
    return token.type in comparing and not (acceptable & comparing) and "AND" in acceptable


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
        words.append("a stage clause (requires, in SEGMENT requires, exit when, values, ...)")
        words.append("a new declaration (policy, field, segment, stage, outcome)")
        names -= _STATEMENT_STARTS | _CLAUSE_STARTS
    elif names & _STATEMENT_STARTS == _STATEMENT_STARTS:
        words.append(
            "a declaration (policy, id field, stage field, field, segment, stage, outcome)"
        )
        names -= _STATEMENT_STARTS
    if {"AND", "OR"} <= names:
        # After a complete condition: list the families, not every operator.
        comparisons = ", >=, in, is set" if "COMPARE_OP" in names else ""
        words.append(f"an operator such as and, or{comparisons}")
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


def _character_help(text: str, position: int) -> str | None:
    char = text[position : position + 1]
    rest = text[position : position + 20]
    if char == "'":
        return 'write text in double quotes: "JP"'
    if char in ("&", "|"):
        return "write `and` / `or` in words"
    if char == "!":
        return "write `not` in words, or != for not equal"
    if re.match(r"\d+_\d", rest):
        return "write numbers without separators: 1000000"
    if re.match(r"\d+[^\W\d_]", rest):
        return "durations are written in days or weeks, such as 30d or 6w"
    if re.match(r"\.\d", rest):
        return "write a decimal with a digit before the point: 0.5"
    return None


def _token_help(found: str, expected: str) -> str | None:
    if expected.startswith("an operator") and found != "the end of the file":
        return "each clause goes on a line of its own; join conditions with `and` or `or`"
    return None


def _recover(text: str, first_line: int, last_line: int) -> str | None:
    """The text with the broken lines blanked out, so that parsing can go on after them.

    A broken stage header becomes a placeholder stage, so that the clauses below it still
    belong to a stage and their own mistakes are found. None when nothing is left to skip.
    """
    lines = text.split("\n")
    start = max(min(first_line, len(lines)) - 1, 0)
    while start > 0 and not _starts_statement(lines[start]) and not _starts_clause(lines[start]):
        start -= 1
    end = max(min(last_line, len(lines)), start + 1)
    while end < len(lines) and not _starts_statement(lines[end]) and not _starts_clause(lines[end]):
        end += 1

    replacement = ["" for _ in range(start, end)]
    if _STAGE_LINE.match(lines[start]):
        replacement[0] = "stage _"
    if lines[start:end] == replacement:
        return None
    lines[start:end] = replacement
    return "\n".join(lines)


_STAGE_LINE = re.compile(r"^(stage\b(?!\s+field\b)|outcome\b)", re.IGNORECASE)
_STATEMENT_LINE = re.compile(
    r"^(policy|extends|use|id|stage|field|segment|outcome|invariant)\b", re.IGNORECASE
)
_CLAUSE_LINE = re.compile(r"^\s+(requires|in|exit|values|allow|entered|expect)\b", re.IGNORECASE)


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

    def extends_decl(self, meta: Any, children: list[Token]) -> nodes.ExtendsDecl:
        return nodes.ExtendsDecl(
            self._text(children[0]),
            span=_line_span(meta, children),
            path_span=_span_of(children[0]),
        )

    def use_decl(self, meta: Any, children: list[Token]) -> nodes.UseDecl:
        return nodes.UseDecl(
            " ".join(str(word) for word in children),
            span=_line_span(meta, children),
            name_span=_span_of(children[0]).to(_span_of(children[-1])),
        )

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
        seen: set[str] = set()
        for option in options:
            if option.key in seen:
                word = "from" if option.key == "column" else option.key
                self.diagnostics.append(
                    diagnose(
                        "SL104",
                        f"`{word}` is given twice for one field",
                        option.span,
                        self.file,
                        help=f"keep one `{word}`",
                    )
                )
            seen.add(option.key)
            setattr(result, option.key, option.value)
        return result

    # Type names are case-insensitive like keywords, so the tree holds them in lower case.
    def simple_type(self, meta: Any, children: list[Token]) -> nodes.TypeRef:
        return nodes.TypeRef(str(children[0]).lower(), span=_span_of(meta))

    def generic_type(self, meta: Any, children: list[Any]) -> nodes.TypeRef:
        return nodes.TypeRef(str(children[0]).lower(), children[1], span=_span_of(meta))

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

    def outcome_decl(self, meta: Any, children: list[Any]) -> nodes.StageDecl:
        stage = self.stage_decl(meta, children)
        stage.outcome = True
        return stage

    def stage_decl(self, meta: Any, children: list[Any]) -> nodes.StageDecl:
        name, label, header_clause, *rest = children
        clauses: list[nodes.Clause] = [header_clause] if header_clause is not None else []
        values: list[str] = []
        value_spans: list[Span] = []
        history: list[nodes.HistoryClause] = []
        for item in rest:
            if isinstance(item, nodes.Clause):
                clauses.append(item)
            elif isinstance(item, nodes.HistoryClause):
                history.append(item)
            else:  # a values clause
                values.extend(text for text, _ in item)
                value_spans.extend(span for _, span in item)
        return nodes.StageDecl(
            str(name),
            self._text(label) if label is not None else None,
            values,
            clauses,
            span=_line_span(meta, [name, label, header_clause]),
            name_span=_span_of(name),
            value_spans=value_spans,
            history=history,
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

    def segment_instead_clause(self, meta: Any, children: list[Any]) -> nodes.Clause:
        clause = self.segment_requires_clause(meta, children)
        clause.replaces = True
        return clause

    def invariant_decl(self, meta: Any, children: list[Any]) -> nodes.InvariantDecl:
        name, scope, condition = children
        return nodes.InvariantDecl(
            self._text(name) if name is not None else None,
            scope,
            condition,
            span=_line_span(meta, children),
        )

    def stage_scope(self, meta: Any, children: list[Token]) -> nodes.StageScope:
        operator, stage = children
        spelled = {"=": "==", "<>": "!="}.get(str(operator), str(operator))
        return nodes.StageScope(
            spelled, str(stage), span=_span_of(meta), stage_span=_span_of(stage)
        )

    def exit_clause(self, meta: Any, children: list[Any]) -> nodes.Clause:
        return nodes.Clause("exit", children[0], span=_line_span(meta, children))

    def values_clause(self, meta: Any, children: list[Token]) -> list[tuple[str, Span]]:
        return [(self._text(child), _span_of(child)) for child in children]

    # History clauses

    def skip_clause(self, meta: Any, children: list[Any]) -> nodes.AllowSkip:
        return nodes.AllowSkip(span=_span_of(meta))

    def back_clause(self, meta: Any, children: list[Token]) -> nodes.AllowStages:
        return self._allow("back", meta, children)

    def from_stages_clause(self, meta: Any, children: list[Token]) -> nodes.AllowStages:
        return self._allow("from", meta, children)

    def _allow(self, kind: str, meta: Any, children: list[Token]) -> nodes.AllowStages:
        return nodes.AllowStages(
            kind,
            [str(child) for child in children],
            span=_line_span(meta, children),
            stage_spans=[_span_of(child) for child in children],
        )

    def entered_clause(self, meta: Any, children: list[Token]) -> nodes.EnteredFrom:
        column = children[0]
        text = self._text(column)
        if not text.strip():
            self._bad_literal(
                _span_of(column),
                "the date column is empty",
                'name the export column, for example entered from "Became a Customer Date"',
            )
        return nodes.EnteredFrom(
            text, span=_line_span(meta, children), column_span=_span_of(column)
        )

    def dwell_clause(self, meta: Any, children: list[Token]) -> nodes.ExpectDwell:
        return self._dwell(None, meta, children)

    def segment_dwell_clause(self, meta: Any, children: list[Token]) -> nodes.ExpectDwell:
        segment, *rest = children
        dwell = self._dwell(segment, meta, rest)
        dwell.span = _line_span(meta, children)
        return dwell

    def _dwell(self, segment: Token | None, meta: Any, children: list[Token]) -> nodes.ExpectDwell:
        operator, duration = children
        if str(operator) != "<=":
            self._bad_literal(
                _span_of(operator),
                f"an expected dwell is an upper limit, written with <=, not {operator}",
                "write for example: expect dwell <= 30d",
            )
        limit = self.duration(meta, [duration]).value
        assert isinstance(limit, dt.timedelta)
        return nodes.ExpectDwell(
            limit,
            str(segment) if segment is not None else None,
            written=str(duration).lower(),
            span=_line_span(meta, children),
            segment_span=_span_of(segment) if segment is not None else Span(0, 0, 0, 0),
            limit_span=_span_of(duration),
        )

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
