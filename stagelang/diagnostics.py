"""Diagnostics: what is wrong with a policy, where, and how to fix it.

A diagnostic is plain data: a stable rule code, a severity, a span in a source file, a message
that names the thing first and then what is wrong with it, and optional help on its own line.
Finding a problem and rendering it are kept apart: the analysis yields diagnostics, and
`render` turns one into the compiler-style text a person reads in a terminal.
"""

from __future__ import annotations

import enum
import unicodedata
from dataclasses import dataclass, field


class Severity(enum.Enum):
    """How much a diagnostic matters: errors fail a lint run, warnings do not by default."""

    ERROR = "error"
    WARNING = "warning"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class Span:
    """A stretch of source text: 1-based lines and columns, the end column exclusive.

    `file` is set only on spans of a policy that another one extends (`extends "..."`), so
    that a diagnostic about it names the file it is written in; it takes no part in equality.
    """

    line: int
    column: int
    end_line: int
    end_column: int
    file: str | None = field(default=None, compare=False)

    @classmethod
    def point(cls, line: int, column: int) -> Span:
        return cls(line, column, line, column + 1)

    def to(self, other: Span) -> Span:
        """The span from the start of this one to the end of `other`."""
        return Span(self.line, self.column, other.end_line, other.end_column, self.file)


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One problem found in a policy file."""

    code: str
    severity: Severity
    message: str
    span: Span
    file: str = "<string>"
    help: str | None = None
    label: str | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def short(self) -> str:
        """One line: `file:line:column: severity[CODE] message`."""
        where = f"{self.file}:{self.span.line}:{self.span.column}"
        return f"{where}: {self.severity}[{self.code}] {self.message}"

    def to_dict(self) -> dict[str, object]:
        """The diagnostic as JSON-ready data, as `stagelang lint --format json` prints it."""
        return {
            "file": self.file,
            "line": self.span.line,
            "column": self.span.column,
            "end_line": self.span.end_line,
            "end_column": self.span.end_column,
            "severity": self.severity.value,
            "code": self.code,
            "message": self.message,
            "help": self.help,
        }


def display_width(text: str) -> int:
    """Terminal columns `text` takes: wide East Asian characters take two."""
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def render(diagnostic: Diagnostic, source: str | None, *, color: bool = False) -> str:
    """Render a diagnostic as a compiler does: heading, location, source line, underline, help.

    >>> d = Diagnostic("SL101", Severity.ERROR, 'unknown field "nead"', Span(1, 10, 1, 14),
    ...                file="p.stage", help='did you mean "need"?')
    >>> print(render(d, "stage SQL requires nead"))
    error[SL101]: unknown field "nead"
     --> p.stage:1:10
      |
    1 | stage SQL requires nead
      |                    ^^^^
      |
      = help: did you mean "need"?
    """
    paint = _painter(color)
    tone = "red" if diagnostic.is_error else "yellow"
    span = diagnostic.span
    heading = paint(f"{diagnostic.severity}[{diagnostic.code}]", tone, bold=True)
    lines = [f"{heading}: {paint(diagnostic.message, None, bold=True)}"]

    gutter = " " * len(str(span.line))
    lines.append(f"{gutter}{paint('-->', 'blue')} {diagnostic.file}:{span.line}:{span.column}")

    source_line = _line_of(source, span.line)
    if source_line is not None:
        bar = paint("|", "blue")
        lines.append(f"{gutter} {bar}")
        lines.append(f"{paint(str(span.line), 'blue')} {bar} {source_line}")
        lines.append(
            f"{gutter} {bar} {_underline(source_line, span, diagnostic.label, paint, tone)}"
        )

    extras = [f"= note: {note}" for note in diagnostic.notes]
    if diagnostic.help:
        extras.append(f"= help: {diagnostic.help}")
    if extras:
        lines.append(f"{gutter} {paint('|', 'blue')}")
        lines.extend(f"{gutter} {paint(extra, 'blue')}" for extra in extras)
    return "\n".join(line.rstrip() for line in lines)


def _line_of(source: str | None, line: int) -> str | None:
    if source is None:
        return None
    lines = source.splitlines()
    if not 1 <= line <= len(lines):
        return None
    # A tab becomes one space, so that columns still count characters under the underline.
    return lines[line - 1].replace("\t", " ").rstrip()


def _underline(source_line: str, span: Span, label: str | None, paint: _Paint, tone: str) -> str:
    start = min(span.column - 1, len(source_line))
    if span.end_line == span.line:
        end = max(span.end_column - 1, start + 1)
    else:
        end = max(len(source_line), start + 1)
    pad = " " * display_width(source_line[:start])
    carets = "^" * max(display_width(source_line[start:end]), 1)
    text = pad + carets + (f" {label}" if label else "")
    return paint(text, tone, bold=True)


class _Paint:
    def __init__(self, color: bool) -> None:
        self.color = color

    def __call__(self, text: str, fg: str | None, *, bold: bool = False) -> str:
        if not self.color:
            return text
        import click

        return click.style(text, fg=fg, bold=bold)


def _painter(color: bool) -> _Paint:
    return _Paint(color)
