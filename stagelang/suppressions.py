"""Inline suppressions: `# stagelang: ignore[SL302]` keeps a warning off one line.

    field legacy_score: int  # stagelang: ignore[SL302]
    field old_flag: bool     # stagelang: ignore[SL302, SL303]

The comment silences the named warnings whose place starts on the line it ends. A comment that
names no code, a code stagelang does not have, or an error (errors cannot be silenced: a policy
with an error cannot be checked) is itself a warning, SL601, so a suppression never hides more
than its author meant and a misspelt one does not go unnoticed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from stagelang.diagnostics import Diagnostic, Severity, Span
from stagelang.rules import RULES, diagnose
from stagelang.suggestions import closest

BAD_SUPPRESSION = "SL601"

_MARK = re.compile(r"stagelang\s*:\s*ignore\b\s*(\[(?P<codes>[^\]]*)\])?", re.IGNORECASE)


@dataclass(frozen=True)
class Suppression:
    """The codes one comment silences, on its line."""

    line: int
    codes: frozenset[str]


def apply(source: str, file: str, diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """The diagnostics that no comment of `source` silences, and the comments' own warnings."""
    suppressions, problems = read(source, file)
    silenced = {(s.line, code) for s in suppressions for code in s.codes}
    # A comment silences only what is reported about its own file, not a policy it extends.
    kept = [
        d
        for d in diagnostics
        if d.severity is Severity.ERROR or d.file != file or (d.span.line, d.code) not in silenced
    ]
    return sorted([*kept, *problems], key=lambda d: (d.span.line, d.span.column, d.code))


def read(source: str, file: str) -> tuple[list[Suppression], list[Diagnostic]]:
    """Every suppression comment of a policy, and a warning for each code it cannot silence."""
    suppressions: list[Suppression] = []
    problems: list[Diagnostic] = []
    for number, line in enumerate(source.splitlines(), start=1):
        start = _comment_start(line)
        if start is None:
            continue
        mark = _MARK.search(line, start)
        if mark is None:
            continue
        codes, found = _codes(mark, number, file)
        problems.extend(found)
        if codes:
            suppressions.append(Suppression(number, frozenset(codes)))
    return suppressions, problems


def _codes(mark: re.Match[str], line: int, file: str) -> tuple[list[str], list[Diagnostic]]:
    span = Span(line, mark.start() + 1, line, mark.end() + 1)
    if mark["codes"] is None or not mark["codes"].strip():
        problem = diagnose(
            BAD_SUPPRESSION,
            "this suppression names no rule code, so it silences nothing",
            span,
            file,
            help="name the warnings to silence, e.g. # stagelang: ignore[SL302]",
        )
        return [], [problem]

    codes: list[str] = []
    problems: list[Diagnostic] = []
    for part, column in _parts(mark["codes"], mark.start("codes") + 1):
        code = part.upper()
        where = Span(line, column, line, column + len(part))
        rule = RULES.get(code)
        if rule is None:
            # Only a warning can be silenced, so only a warning is worth offering.
            warnings = [c for c, r in RULES.items() if r.severity is Severity.WARNING]
            guess = closest(code, warnings)
            problems.append(
                diagnose(
                    BAD_SUPPRESSION,
                    f'"{part}" is not a rule code of policies, so it silences nothing',
                    where,
                    file,
                    help=f'did you mean "{guess}"?' if guess else "see docs/language.md#rule-codes",
                )
            )
        elif rule.severity is Severity.ERROR:
            problems.append(
                diagnose(
                    BAD_SUPPRESSION,
                    f"{code} ({rule.name}) is an error, and errors cannot be silenced",
                    where,
                    file,
                    help="fix the error: a policy with errors cannot be checked",
                )
            )
        else:
            codes.append(code)
    return codes, problems


def _parts(text: str, column: int) -> Iterator[tuple[str, int]]:
    """The comma-separated codes of `text` and the column each starts at."""
    offset = 0
    for part in text.split(","):
        stripped = part.strip()
        if stripped:
            yield stripped, column + offset + part.index(stripped)
        offset += len(part) + 1


def _comment_start(line: str) -> int | None:
    """Where the line's comment starts: the first `#` outside a quoted text, if any."""
    quoted = escaped = False
    for index, char in enumerate(line):
        if escaped:
            escaped = False
        elif quoted and char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == "#" and not quoted:
            return index
    return None
