"""`--format github`: GitHub Actions workflow commands, one line per diagnostic or finding.

GitHub turns each `::error file=...,line=...::message` line a step prints into an annotation on
that file and line. Text is escaped as GitHub documents, so a newline or a `%` in a message
stays inside its annotation, and no cell of an export can start a command of its own.

`check` streams: each finding is printed as soon as it is found, at most `--limit` for each
unmet criterion or kind of problem (GitHub shows only the first few annotations of a step
anyway), and a `::notice::` line closes the output with the counts.
"""

from __future__ import annotations

from typing import IO

from stagelang.checking import Summary
from stagelang.diagnostics import Diagnostic, Severity
from stagelang.findings import Finding
from stagelang.linting import LintReport
from stagelang.outputs.grouping import Groups
from stagelang.outputs.test_report import closing_line
from stagelang.policy import Policy
from stagelang.policy_tests import FileResult
from stagelang.rules import RULES
from stagelang.waivers import WaivedFinding, WaivedLog

_LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning"}

Properties = dict[str, str | int | None]


def escape_data(text: str) -> str:
    """A message as a workflow command carries it.

    >>> escape_data("50% done\\nnext")
    '50%25 done%0Anext'
    """
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A property value (file, title): as a message, and `:` and `,`, which would end it.

    >>> escape_property("a,b: c")
    'a%2Cb%3A c'
    """
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(kind: str, message: str, properties: Properties) -> str:
    """One workflow command line; properties that are None are left out."""
    written = [
        f"{name}={escape_property(str(value))}"
        for name, value in properties.items()
        if value is not None
    ]
    head = f"::{kind} {','.join(written)}" if written else f"::{kind}"
    return f"{head}::{escape_data(message)}"


def write_lint(report: LintReport, stream: IO[str], summary: str) -> None:
    """Every diagnostic of a lint run as an annotation, then `summary` as a notice."""
    for linted in report.files:
        for diagnostic in linted.diagnostics:
            stream.write(diagnostic_line(diagnostic) + "\n")
        if linted.unreadable is not None:
            stream.write(command("error", linted.unreadable, {"title": "stagelang lint"}) + "\n")
    stream.write(command("notice", summary, {"title": "stagelang lint"}) + "\n")


def diagnostic_line(diagnostic: Diagnostic) -> str:
    """The annotation for a diagnostic: its span, its rule as the title, help on a new line."""
    span = diagnostic.span
    message = diagnostic.message
    if diagnostic.help:
        message += f"\nhelp: {diagnostic.help}"
    properties: Properties = {
        "file": diagnostic.file,
        "line": span.line,
        "col": span.column,
        "endLine": span.end_line,
        # Exclusive, as in the diagnostic (and as ruff writes it): the column after the mistake.
        "endColumn": span.end_column,
        "title": f"{diagnostic.code} {RULES[diagnostic.code].name}",
    }
    return command(_LEVELS[diagnostic.severity], message, properties)


def finding_line(finding: Finding) -> str:
    """The annotation for a finding: the export's file and line, the record id in the text."""
    message = finding.message
    if finding.record_id is not None:
        message += f" (record {finding.record_id})"
    properties: Properties = {
        "file": finding.file,
        "line": finding.line,
        "title": f"{finding.code} {finding.name}",
    }
    return command(_LEVELS[finding.severity], message, properties)


class GithubWriter:
    """Prints findings as annotations as they come, at most `limit` for each group."""

    def __init__(self, stream: IO[str], policy: Policy, limit: int) -> None:
        self.stream = stream
        self.limit = limit
        # Groups keeps at most `limit` findings of each group, so memory stays bounded.
        self.groups = Groups(policy.criteria_in_order(), limit)
        self.waived = WaivedLog(limit)

    def add(self, finding: Finding) -> None:
        if self.groups.add(finding):
            self.stream.write(finding_line(finding) + "\n")

    def add_waived(self, waived: WaivedFinding) -> None:
        # Plain log lines, not annotations: a waived finding is known and accepted.
        if self.waived.add(waived):
            finding = waived.finding
            record = f" (record {finding.record_id})" if finding.record_id is not None else ""
            self.stream.write(
                f"stagelang: waived by waiver {waived.waiver.number}: "
                f"{finding.file}:{finding.line}: {finding.message}{record}\n"
            )

    def close(self, summary: Summary) -> None:
        left_out = 0
        for group in self.groups.ordered():
            hidden = group.count - len(group.examples)
            left_out += hidden
            if hidden:
                # A plain log line, not a command: the notice below is the one annotation.
                self.stream.write(
                    f"stagelang: {group.title} ({group.code}): {hidden:,} more not annotated\n"
                )
        for waived in self.waived.ordered():
            self.stream.write(
                f"stagelang: {waived.waiver.title} waived {waived.count:,} findings in "
                f"{waived.records:,} records: {waived.waiver.reason}\n"
            )
        notice = closing_notice(summary, left_out, self.limit)
        if summary.waivers:
            count = sum(summary.waived_findings.values())
            notice += f" {count:,} findings waived, listed in the log."
        self.stream.write(command("notice", notice, {"title": "stagelang check"}) + "\n")


def closing_notice(summary: Summary, left_out: int, limit: int) -> str:
    """The counts of a check run in one sentence, and how many findings were not annotated."""
    if not summary.not_conforming and not summary.unreadable:
        return f"All {summary.records:,} records conform."
    findings = sum(summary.findings.values())
    sentence = (
        f"{summary.conforming:,} of {summary.records:,} records conform; "
        f"{summary.not_conforming:,} do not and {summary.unreadable:,} could not be read "
        f"({findings:,} findings"
    )
    if left_out:
        sentence += f"; {left_out:,} not annotated, as --limit {limit} allows {limit} a group"
    return sentence + ")."


def write_tests(results: list[FileResult], stream: IO[str], *, coverage: bool) -> None:
    """An error at each failing case's line in its test file; with `coverage`, a warning at
    each criterion no case both meets and misses; then the closing `N passed, N failed`."""
    for result in results:
        for case in result.failed:
            properties: Properties = {
                "file": result.path,
                "line": case.case.line,
                "title": "SL701 policy-test-failed",
            }
            stream.write(command("error", case.summary(), properties) + "\n")
        if not coverage:
            continue
        for criterion, gap in result.coverage.untested():
            properties = {
                "file": result.policy,
                "line": criterion.span.line,
                "col": criterion.span.column,
                "title": "SL702 untested-criterion",
            }
            message = f"{criterion.describe()}: {gap} in {result.path}"
            stream.write(command("warning", message, properties) + "\n")
    summary = closing_line(results)
    stream.write(command("notice", summary, {"title": "stagelang test"}) + "\n")
