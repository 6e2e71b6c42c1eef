"""Formatting policy files in one canonical style, keeping every comment where it was.

The layout comes from the syntax tree, so formatting never changes what a policy means: the
formatted text parses to an equal tree (a property test holds it to that). Comments are not
in the tree; they are read from the text and put back beside what they were written with:

- a comment on a line of its own goes above the declaration, clause or part of a condition
  that follows it;
- a comment at the end of a line stays at the end of that line;
- a condition with comments inside it keeps its `and` / `or` parts one to a line, each with
  its comments; a comment inside anything else that runs over several lines (a long list)
  moves above that line, since the line is joined into one.

The style itself is described in docs/language.md, section "Formatting".
"""

from __future__ import annotations

import bisect
import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from stagelang.diagnostics import Span
from stagelang.errors import PolicyError
from stagelang.syntax import nodes
from stagelang.syntax.parser import parse
from stagelang.syntax.printer import format_expression, format_literal

MAX_WIDTH = 100
INDENT = "  "

# Spaces, and what else may sit between two parts of a condition once comments are blanked.
_SPACE = " \t\f\r"
_GAP = " \t\f\n\\"

# A quoted text or a comment: a `#` inside quotes is text. Text cannot span lines.
_TEXT_OR_COMMENT = re.compile(r'"(?:[^"\\\n]|\\.)*"|#.*')

_DURATION = re.compile(r"(\d+)([dw])(?!\w)", re.IGNORECASE)


def format_source(text: str, file: str = "<string>") -> str:
    """The policy text in canonical style, with its comments; PolicyError on syntax errors.

    Line ends follow the text's own: Windows line ends stay Windows line ends.
    """
    tree, diagnostics = parse(text, file)
    if tree is None:
        raise PolicyError(diagnostics)

    source = _Source(text)
    statements = _statements(tree, source)
    after_the_last = _attach(source.comments, statements)
    lines = _Printer(source).policy(statements, after_the_last)

    return "".join(line + _line_end(text) for line in lines)


def _line_end(text: str) -> str:
    first = text.split("\n", 1)
    return "\r\n" if len(first) == 2 and first[0].endswith("\r") else "\n"


# Reading the text --------------------------------------------------------------------------


@dataclass
class _Comment:
    """A comment as written: its line, its text, and what surrounds it."""

    line: int
    text: str
    after_code: bool  # code comes before it on its line
    blank_before: bool  # the line above it is blank


class _Source:
    """The policy's lines; which of them hold code; the code with its comments blanked out."""

    def __init__(self, text: str) -> None:
        self.lines = [line.rstrip("\r") for line in text.split("\n")]
        self.comments: list[_Comment] = []
        self.has_code = [False]  # lines count from 1
        code_lines: list[str] = []
        for number, line in enumerate(self.lines, start=1):
            comment = _comment_in(line)
            code = line if comment is None else line[: comment[0]]
            code_lines.append(code.ljust(len(line)))
            self.has_code.append(bool(code.strip(_SPACE)))
            if comment is not None:
                self.comments.append(
                    _Comment(number, comment[1], self.has_code[number], self.blank_before(number))
                )
        self.code = "\n".join(code_lines)
        self.starts = [0]
        for line in self.lines[:-1]:
            self.starts.append(self.starts[-1] + len(line) + 1)

    def blank_before(self, line: int) -> bool:
        return line > 1 and not self.lines[line - 2].strip(_SPACE)

    def last_code_line(self, first: int, stop: int) -> int:
        """The last line from `first` up to (not including) `stop` that holds code."""
        return max(n for n in range(first, min(stop, len(self.has_code))) if self.has_code[n])

    def offset(self, line: int, column: int) -> int:
        return self.starts[line - 1] + column - 1

    def line_at(self, offset: int) -> int:
        return bisect.bisect_right(self.starts, offset)

    def text_of(self, span: Span) -> str:
        """The code a span covers, comments left out."""
        return self.code[self.offset(span.line, span.column) : self.offset(*_end(span))]

    def back(self, offset: int, skipping: str) -> int:
        """Where the last character before `offset` that is not in `skipping` is."""
        position = offset - 1
        while position >= 0 and self.code[position] in skipping:
            position -= 1
        return position

    def brackets(self, offset: int, bracket: str, step: int) -> list[int]:
        """Where the `bracket`s right before `offset` (step -1) or from it (step 1) are,
        nearest first."""
        found: list[int] = []
        position = offset - 1 if step < 0 else offset
        while 0 <= position < len(self.code):
            if self.code[position] == bracket:
                found.append(position)
            elif self.code[position] not in _GAP:
                break
            position += step
        return found


def _comment_in(line: str) -> tuple[int, str] | None:
    """Where a line's comment starts, and its text without the spaces after it."""
    for match in _TEXT_OR_COMMENT.finditer(line):
        if match.group().startswith("#"):
            return match.start(), match.group().rstrip(_SPACE)
    return None


def _end(span: Span) -> tuple[int, int]:
    return span.end_line, span.end_column


# Places: the lines each statement, or each part of a condition, took ----------------------


@dataclass
class _Place:
    """The lines something took, from `start` to `end`, and the comments that go with it."""

    start: int
    end: int = 0
    leading: list[_Comment] = field(default_factory=list)
    inside: list[_Comment] = field(default_factory=list)
    trailing: _Comment | None = None


@dataclass
class _Values:
    """A `values` clause. The tree keeps only the stage's values, so the formatter reads
    where each clause was from the text, to keep them on the lines they were written on."""

    values: list[str]


Part = nodes.Declaration | nodes.Clause | _Values | nodes.HistoryClause


@dataclass(kw_only=True)
class _Statement(_Place):
    """A declaration or a stage clause, and the lines it took."""

    node: Part
    in_stage: bool = False
    header: nodes.Clause | None = None  # a stage's `requires` written on the stage line


def _attach(comments: list[_Comment], places: Sequence[_Place]) -> list[_Comment]:
    """Give each comment to the place it belongs to; return those after the last place.

    A comment within a place's lines is its trailing comment when it ends the place's last
    line, and inside it otherwise. A comment between places leads the next one.
    """
    starts = [place.start for place in places]
    after_the_last: list[_Comment] = []
    for comment in comments:
        owner = bisect.bisect_right(starts, comment.line) - 1
        if owner >= 0 and comment.line <= places[owner].end:
            if comment.line == places[owner].end and comment.after_code:
                places[owner].trailing = comment
            else:
                places[owner].inside.append(comment)
        elif owner + 1 < len(places):
            places[owner + 1].leading.append(comment)
        else:
            after_the_last.append(comment)
    return after_the_last


def _statements(tree: nodes.PolicyFile, source: _Source) -> list[_Statement]:
    """Every declaration and clause in the order written, each with the lines it took."""
    statements: list[_Statement] = []
    for declaration in tree.declarations:
        statement = _Statement(declaration.span.line, node=declaration)
        statements.append(statement)
        if isinstance(declaration, nodes.StageDecl):
            statements.extend(_stage_body(declaration, statement, source))

    # A statement ends where the next begins: what lies between is comments and blank lines.
    for position, statement in enumerate(statements):
        after = position + 1
        stop = statements[after].start if after < len(statements) else len(source.lines) + 1
        statement.end = source.last_code_line(statement.start, stop)
    return statements


def _stage_body(stage: nodes.StageDecl, header: _Statement, source: _Source) -> list[_Statement]:
    clauses = list(stage.clauses)
    if clauses and _on_stage_line(stage, clauses[0]):
        header.header = clauses.pop(0)

    body = [_Statement(clause.span.line, node=clause, in_stage=True) for clause in clauses]
    body.extend(_Statement(item.span.line, node=item, in_stage=True) for item in stage.history)
    body.extend(_values_clauses(stage, source))
    return sorted(body, key=lambda statement: statement.start)


def _on_stage_line(stage: nodes.StageDecl, clause: nodes.Clause) -> bool:
    # The stage's span runs to the end of a `requires` written on the stage line, no further.
    return (clause.span.line, clause.span.column) < _end(stage.span)


def _values_clauses(stage: nodes.StageDecl, source: _Source) -> list[_Statement]:
    """The stage's `values` lines: values joined by a comma belong to one clause."""
    clauses: list[_Statement] = []
    previous: Span | None = None
    for value, span in zip(stage.values, stage.value_spans, strict=True):
        if previous is not None and _between(source, previous, span).startswith(","):
            values = clauses[-1].node
            assert isinstance(values, _Values)
            values.values.append(value)
        else:
            # The `values` word may end the line before, continued with a backslash.
            keyword = source.line_at(source.back(source.offset(span.line, span.column), _GAP))
            clauses.append(_Statement(keyword, node=_Values([value]), in_stage=True))
        previous = span
    return clauses


def _between(source: _Source, before: Span, after: Span) -> str:
    """The code between two spans, without spaces and line continuations."""
    gap = Span(before.end_line, before.end_column, after.line, after.column)
    return re.sub(r"[\s\\]", "", source.text_of(gap))


def _operand_places(logical: nodes.Logical, source: _Source) -> list[_Place]:
    """The lines each part of an `and` / `or` took, with its own parentheses.

    A part begins at the `and` / `or` before it. Its own parentheses are those that open
    right before it and close right after it; others belong to the condition around it.
    """
    places: list[_Place] = []
    for position, operand in enumerate(logical.operands):
        span = operand.span
        start = source.offset(span.line, span.column)
        opening = source.brackets(start, "(", -1)
        closing = source.brackets(source.offset(*_end(span)), ")", 1)
        own = min(len(opening), len(closing))

        if position > 0:
            first = source.line_at(source.back(start, _GAP + "("))  # the `and` or `or`
        else:
            first = source.line_at(opening[own - 1]) if own else span.line
        last = source.line_at(closing[own - 1]) if own else span.end_line
        places.append(_Place(first, last))
    return places


# Printing ----------------------------------------------------------------------------------


def _group(node: Part) -> str:
    """Declarations of one group sit together; a blank line separates groups."""
    if isinstance(node, nodes.FieldDecl):
        return "role field" if node.role else "field"
    if isinstance(node, (nodes.ExtendsDecl, nodes.UseDecl)):
        return "PolicyDecl"  # `extends` and `use` sit with the `policy` line, as its heading
    return type(node).__name__


class _Printer:
    def __init__(self, source: _Source) -> None:
        self.source = source

    def policy(self, statements: list[_Statement], after_the_last: list[_Comment]) -> list[str]:
        lines: list[str] = []
        previous: _Statement | None = None
        for statement in statements:
            lines.extend(self.statement_with_comments(statement, previous))
            if not statement.in_stage:
                previous = statement

        for comment in after_the_last:
            if comment.blank_before and lines:
                lines.append("")
            lines.append(comment.text)
        return lines

    def statement_with_comments(
        self, statement: _Statement, previous: _Statement | None
    ) -> list[str]:
        """A statement with its comments, and the blank lines the style puts around them."""
        indent = INDENT if statement.in_stage else ""
        above, code = self.statement(statement)
        if statement.trailing is not None:
            code[-1] += "  " + statement.trailing.text

        # (blank line before it, text): comments from inside the statement go just above it.
        items = [(c.blank_before, indent + c.text) for c in statement.leading]
        own_blank = self.source.blank_before(statement.start)
        for comment in above:
            items.append((own_blank, indent + comment.text))
            own_blank = False
        items.append((own_blank, code[0]))
        items.extend((False, line) for line in code[1:])

        if statement.in_stage:
            return [text for _, text in items]
        starts_group = previous is not None and (
            _group(previous.node) != _group(statement.node)
            or isinstance(statement.node, nodes.StageDecl)
        )
        lines: list[str] = []
        for position, (blank, text) in enumerate(items):
            if position == 0:
                blank = previous is not None and (starts_group or blank)
            if blank:
                lines.append("")
            lines.append(text)
        return lines

    def statement(self, statement: _Statement) -> tuple[list[_Comment], list[str]]:
        """The lines of one declaration or clause, and the comments inside it that must go
        above it."""
        node, inside = statement.node, statement.inside
        if isinstance(node, nodes.PolicyDecl):
            return inside, [f"policy {format_literal(node.name)}"]
        if isinstance(node, nodes.ExtendsDecl):
            return inside, [f"extends {format_literal(node.path)}"]
        if isinstance(node, nodes.UseDecl):
            return inside, [f"use {node.preset}"]
        if isinstance(node, nodes.FieldDecl):
            return inside, [_field(node)]
        if isinstance(node, nodes.SegmentDecl):
            return self.condition(f"segment {node.name}: ", node.condition, "", inside)
        if isinstance(node, nodes.StageDecl):
            return self.stage_header(node, statement.header, inside)
        if isinstance(node, nodes.InvariantDecl):
            return self.condition(_invariant_words(node), node.condition, "", inside)
        if isinstance(node, _Values):
            return inside, [INDENT + "values " + ", ".join(map(format_literal, node.values))]
        if isinstance(node, nodes.HistoryClause):
            return inside, [INDENT + _history_clause(node)]
        return self.condition(INDENT + _clause_words(node), node.condition, INDENT, inside)

    def stage_header(
        self, stage: nodes.StageDecl, header: nodes.Clause | None, inside: list[_Comment]
    ) -> tuple[list[_Comment], list[str]]:
        line = f"{'outcome' if stage.outcome else 'stage'} {stage.name}"
        if stage.label is not None:
            line += " " + format_literal(stage.label)
        if header is None:
            return inside, [line]

        one_line = f"{line} requires {self.expression(header.condition)}"
        above, below = self.condition(INDENT + "requires ", header.condition, INDENT, inside)
        if len(below) == 1 and len(one_line) <= MAX_WIDTH:
            return above, [one_line]
        # Too long for the stage line: the same first criterion, on a line of its own below.
        return above, [line, *below]

    def condition(
        self, prefix: str, condition: nodes.Expr, indent: str, inside: list[_Comment]
    ) -> tuple[list[_Comment], list[str]]:
        """`prefix` and the condition on one line, or its `and` / `or` parts one to a line
        when the line would be too long or the condition has comments inside it."""
        one_line = prefix + self.expression(condition)
        if isinstance(condition, nodes.Logical) and (len(one_line) > MAX_WIDTH or inside):
            parts = self.parts(condition, indent + INDENT, inside)
            return [], [prefix + "(", *parts, indent + ")"]
        return inside, [one_line]

    def parts(self, logical: nodes.Logical, indent: str, comments: list[_Comment]) -> list[str]:
        places = _operand_places(logical, self.source)
        after_the_last = _attach(comments, places)
        lines: list[str] = []
        for position, (operand, place) in enumerate(zip(logical.operands, places, strict=True)):
            lines.extend(indent + comment.text for comment in place.leading)
            lead = indent if position == 0 else f"{indent}{logical.operator} "
            text = self.expression(operand)
            if _needs_parentheses(logical, operand):
                text = f"({text})"

            if isinstance(operand, nodes.Logical) and (
                len(lead + text) > MAX_WIDTH or place.inside
            ):
                inner = self.parts(operand, indent + INDENT, place.inside)
                lines.extend([lead + "(", *inner, indent + ")"])
            else:
                lines.extend(indent + comment.text for comment in place.inside)
                lines.append(lead + text)
            if place.trailing is not None:
                lines[-1] += "  " + place.trailing.text
        lines.extend(indent + comment.text for comment in after_the_last)
        return lines

    def expression(self, expr: nodes.Expr) -> str:
        return format_expression(expr, self.literal)

    def literal(self, literal: nodes.Literal) -> str:
        """A constant in its one spelling, except that a duration keeps its unit: 6w."""
        value = literal.value
        if isinstance(value, dt.timedelta) and literal.span.line > 0:
            written = _DURATION.findall(self.source.text_of(literal.span))
            if written:
                amount, unit = int(written[-1][0]), written[-1][1].lower()
                if amount * (7 if unit == "w" else 1) == abs(value.days):
                    return f"{'-' if value.days < 0 else ''}{amount}{unit}"
        return format_literal(value)


def _needs_parentheses(parent: nodes.Logical, operand: nodes.Expr) -> bool:
    # As in the printer: `and` binds tighter than `or`, and a nested group of the same
    # operator is a node of its own, kept apart by its parentheses.
    if not isinstance(operand, nodes.Logical):
        return False
    return not (parent.operator == "or" and operand.operator == "and")


def _field(node: nodes.FieldDecl) -> str:
    if node.role is not None:
        line = f"{node.role} field {node.name}"
    else:
        line = f"field {node.name}: {node.type}"
    options = node.options
    if options.column is not None:
        line += f" from {format_literal(options.column)}"
    if options.separator is not None:
        line += f" separator {format_literal(options.separator)}"
    if options.required:
        line += " required"
    return line


def _history_clause(node: nodes.HistoryClause) -> str:
    if isinstance(node, nodes.AllowSkip):
        return "allow skip"
    if isinstance(node, nodes.AllowStages):
        words = "allow back to" if node.kind == "back" else "allow from"
        return f"{words} {', '.join(node.stages)}"
    if isinstance(node, nodes.EnteredFrom):
        return f"entered from {format_literal(node.column)}"
    limit = node.written or f"{node.limit.days}d"
    prefix = f"in {node.segment} " if node.segment is not None else ""
    return f"{prefix}expect dwell <= {limit}"


def _clause_words(clause: nodes.Clause) -> str:
    if clause.kind == "exit":
        return "exit when "
    if clause.segment is not None:
        instead = "instead " if clause.replaces else ""
        return f"in {clause.segment} {instead}requires "
    return "requires "


def _invariant_words(invariant: nodes.InvariantDecl) -> str:
    words = "invariant"
    if invariant.name is not None:
        words += " " + format_literal(invariant.name)
    words += ": "
    if invariant.scope is not None:
        words += f"stage {invariant.scope.operator} {invariant.scope.stage} implies "
    return words
