"""`--format junit`: JUnit XML, the test report CI systems show in their test views.

The documents follow the Apache Ant JUnit schema, the strictest of the common references, so
that any CI system reads them: a `<testsuites>` root holding `<testsuite>` elements with their
name, package, id, timestamp, hostname, counts and time, each holding `<properties>`, the test
cases, `<system-out>` and `<system-err>`, in that order.

lint: one test suite per policy file, one test case per rule code. A test case fails when the
file has diagnostics of its rule at a severity that fails the run (errors; warnings too with
`--fail-on warning`), and the failure lists them with file:line:column. In a file that does not
parse, the rules after the syntax rules were never checked, so their test cases are skipped. A
path that cannot be read is a suite whose one test case is an error.

check: one test suite for the run, with one test case per criterion of the policy (in the order
a record meets them) and one per data rule. A test case fails when records miss it; the failure
lists at most `--limit` of them and counts the rest, so the document's size depends on the
policy, never on the number of rows. Warnings (a stalled record) fail their test case only with
`--fail-on warning`, as they fail the run; otherwise the case passes and system-out lists them.
The suite's properties and system-out hold the counts of records: conforming, not conforming
and unreadable.

test: one test suite per test file, one test case per case; a case that gets another verdict
than it expects fails, with the expected and actual verdicts side by side.
"""

from __future__ import annotations

import datetime as dt
import re
import socket
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO

from stagelang import __version__
from stagelang.checking import Summary
from stagelang.diagnostics import Diagnostic, Severity
from stagelang.findings import DATA_RULES, Finding
from stagelang.linting import LintedFile, LintReport
from stagelang.outputs.grouping import Group, Groups
from stagelang.policy import Policy
from stagelang.policy_tests import FileResult
from stagelang.rules import RULES, Rule
from stagelang.waivers import EXPIRED, UNUSED, WaivedFinding, WaivedLog

# SL0xx is the syntax family (rules.py): the only rules checked in a file that does not parse.
_SYNTAX_FAMILY = "SL0"
# XML 1.0 cannot carry most control characters, even escaped; a cell of an export may hold one.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@dataclass
class Case:
    """One test case: passed (no outcome), or failed, errored or skipped, with why."""

    classname: str
    name: str
    outcome: str | None = None  # "failure", "error" or "skipped"
    kind: str = ""
    message: str = ""
    text: str = ""


@dataclass
class Suite:
    """One test suite and what the schema asks of it."""

    name: str
    package: str
    cases: list[Case]
    properties: dict[str, str]
    started: dt.datetime
    seconds: float = 0.0
    out: str = ""


def write_lint(report: LintReport, stream: IO[str], fail_on: Severity) -> None:
    """The test report of a lint run: one suite per policy file."""
    started = _now()
    suites = [_lint_suite(linted, fail_on, started) for linted in report.files]
    write(suites, stream)


def _lint_suite(linted: LintedFile, fail_on: Severity, started: dt.datetime) -> Suite:
    properties = {"stagelang.version": __version__}
    if linted.unreadable is not None:
        case = Case(linted.path, "read the policy file", "error", "unreadable", linted.unreadable)
        return Suite(linted.path, "stagelang.lint", [case], properties, started)

    parsed = not any(d.code.startswith(_SYNTAX_FAMILY) for d in linted.diagnostics)
    cases = [
        _rule_case(linted.path, rule, linted.diagnostics, fail_on, parsed)
        for rule in RULES.values()
    ]
    out = "\n".join(_diagnostic_text(d) for d in linted.diagnostics)
    return Suite(linted.path, "stagelang.lint", cases, properties, started, out=out)


def _rule_case(
    path: str, rule: Rule, diagnostics: list[Diagnostic], fail_on: Severity, parsed: bool
) -> Case:
    case = Case(path, f"{rule.code} {rule.name}")
    failing = [
        d
        for d in diagnostics
        if d.code == rule.code and (d.is_error or fail_on is Severity.WARNING)
    ]
    if failing:
        more = f" (and {len(failing) - 1} more)" if len(failing) > 1 else ""
        case.outcome, case.kind = "failure", rule.code
        case.message = failing[0].message + more
        case.text = "\n".join(_diagnostic_text(d) for d in failing)
    elif not parsed and not rule.code.startswith(_SYNTAX_FAMILY):
        case.outcome, case.message = "skipped", "not checked: the file does not parse"
    return case


def _diagnostic_text(diagnostic: Diagnostic) -> str:
    advice = f"\n  help: {diagnostic.help}" if diagnostic.help else ""
    return diagnostic.short() + advice


class JunitWriter:
    """Counts the findings of a check run, keeps `limit` of each group, writes the report."""

    def __init__(
        self,
        stream: IO[str],
        policy: Policy,
        limit: int,
        *,
        duplicate_ids: bool = True,
        fail_on: Severity = Severity.ERROR,
    ) -> None:
        self.stream = stream
        self.policy = policy
        self.limit = limit
        self.duplicate_ids = duplicate_ids
        self.fail_on = fail_on
        self._passed_warnings: list[str] = []
        self.groups = Groups(policy.criteria_in_order(), limit)
        self.waived = WaivedLog(limit)
        self.started = _now()
        self.clock = time.perf_counter()

    def add(self, finding: Finding) -> None:
        self.groups.add(finding)

    def add_waived(self, waived: WaivedFinding) -> None:
        self.waived.add(waived)

    def suite(self, summary: Summary) -> Suite:
        """The run's test suite: criteria first, then the data rules, then anything else."""
        unused = dict(self.groups.groups)
        self._passed_warnings = []
        cases = [*self._criterion_cases(unused), *self._data_rule_cases(unused)]
        cases.extend(self._waiver_cases())
        cases.extend(self._case(f"{self.policy.name}.other", g.title, g) for g in unused.values())

        properties = {
            "stagelang.version": __version__,
            "policy": self.policy.name,
            "policy.file": self.policy.file,
            "files": ", ".join(summary.files),
            "records": str(summary.records),
            "conforming": str(summary.conforming),
            "not_conforming": str(summary.not_conforming),
            "unreadable": str(summary.unreadable),
            "limit": str(self.limit),
        }
        seconds = time.perf_counter() - self.clock
        name = f"{self.policy.name} ({self.policy.file})"
        out = "\n".join([_out(summary), *self._passed_warnings])
        return Suite(name, "stagelang.check", cases, properties, self.started, seconds, out)

    def close(self, summary: Summary) -> None:
        write([self.suite(summary)], self.stream)

    def _criterion_cases(self, unused: dict[str, Group]) -> Iterable[Case]:
        for stage in self.policy.checked.stages:
            for criterion in (*stage.entry, *stage.exit):
                title = criterion.describe()
                yield self._case(f"{self.policy.name}.{stage.name}", title, unused.pop(title, None))

    def _data_rule_cases(self, unused: dict[str, Group]) -> Iterable[Case]:
        for code, rule in DATA_RULES.items():
            if code == "SL501":  # one test case per criterion instead
                continue
            if code in (EXPIRED, UNUSED) and code not in unused:
                continue  # about waivers: a test case only when there is something to say
            classname, name = f"{self.policy.name}.records", f"{code} {rule.name}"
            if code == "SL504" and not self.duplicate_ids:
                yield Case(classname, name, "skipped", message="not checked: --no-duplicate-ids")
                continue
            yield self._case(classname, name, unused.pop(code, None))

    def _waiver_cases(self) -> Iterable[Case]:
        """A skipped test case per waiver that exempted findings, listing them."""
        for group in self.waived.ordered():
            lines = [_finding_text(finding) for finding in group.examples]
            hidden = group.count - len(group.examples)
            if hidden:
                lines.append(f"and {hidden:,} more (--limit {self.limit})")
            message = (
                f"{group.count:,} findings in {group.records:,} records waived: "
                f"{group.waiver.reason}"
            )
            yield Case(
                f"{self.policy.name}.waivers",
                group.waiver.title,
                "skipped",
                message=message,
                text="\n".join(lines),
            )

    def _case(self, classname: str, name: str, group: Group | None) -> Case:
        case = Case(classname, name)
        if group is None:
            return case
        lines = [_finding_text(finding) for finding in group.examples]
        hidden = group.count - len(group.examples)
        if hidden:
            lines.append(f"and {hidden:,} more (--limit {self.limit} lists {self.limit} a group)")
        message = f"{group.title}: {_counted(group)}"
        if not self._fails(group.code):
            self._passed_warnings.extend([f"warning[{group.code}] {message}", *lines])
            return case
        case.outcome, case.kind = "failure", group.code
        case.message = message
        case.text = "\n".join(lines)
        return case

    def _fails(self, code: str) -> bool:
        rule = DATA_RULES.get(code)
        return rule is None or rule.severity is Severity.ERROR or self.fail_on is Severity.WARNING


def _counted(group: Group) -> str:
    # A record can hold several cells that cannot be read; other groups count records.
    noun = "cell" if group.code in ("SL505", "SL507") else "record"
    return f"{group.count:,} {noun}{'s' if group.count != 1 else ''}"


def _finding_text(finding: Finding) -> str:
    where = f"{finding.file}:{finding.line}" if finding.line else finding.file
    record = f" (record {finding.record_id})" if finding.record_id is not None else ""
    return f"{where}: {finding.message}{record}"


def _out(summary: Summary) -> str:
    return (
        f"Checked {summary.records:,} records in {', '.join(summary.files)}: "
        f"{summary.conforming:,} conform, {summary.not_conforming:,} do not, "
        f"{summary.unreadable:,} could not be read."
    )


def write_tests(results: list[FileResult], stream: IO[str]) -> None:
    """The report of a `stagelang test` run: one suite per test file, one case per case."""
    started = _now()
    suites = [_test_suite(result, started) for result in results]
    write(suites, stream)


def _test_suite(result: FileResult, started: dt.datetime) -> Suite:
    cases = []
    for outcome in result.results:
        case = Case(result.path, outcome.case.name)
        if not outcome.passed:
            case.outcome, case.kind = "failure", "SL701"
            case.message = outcome.summary()
            where = f"{result.path}:{outcome.case.line}"
            case.text = "\n".join([where, *outcome.diff()])
        cases.append(case)
    cover = result.coverage
    properties = {
        "stagelang.version": __version__,
        "policy.file": result.policy,
        "criteria": str(len(cover.criteria)),
        "criteria.met_and_unmet": str(cover.both_ways),
    }
    return Suite(result.path, "stagelang.test", cases, properties, started)


# Writing XML


def write(suites: list[Suite], stream: IO[str]) -> None:
    """The suites as one UTF-8 JUnit XML document."""
    root = ET.Element("testsuites")
    hostname = socket.gethostname() or "localhost"
    for index, suite in enumerate(suites):
        root.append(_suite_element(suite, index, hostname))
    ET.indent(root)
    stream.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    stream.write(ET.tostring(root, encoding="unicode"))
    stream.write("\n")


def _suite_element(suite: Suite, index: int, hostname: str) -> ET.Element:
    outcomes = [case.outcome for case in suite.cases]
    element = _element(
        "testsuite",
        name=suite.name,
        package=suite.package,
        id=str(index),
        timestamp=suite.started.strftime("%Y-%m-%dT%H:%M:%S"),
        hostname=hostname,
        tests=str(len(suite.cases)),
        failures=str(outcomes.count("failure")),
        errors=str(outcomes.count("error")),
        skipped=str(outcomes.count("skipped")),
        time=f"{suite.seconds:.3f}",
    )

    properties = ET.SubElement(element, "properties")
    for name, value in suite.properties.items():
        properties.append(_element("property", name=name, value=value))

    for case in suite.cases:
        element.append(_case_element(case))

    _text(ET.SubElement(element, "system-out"), suite.out)
    ET.SubElement(element, "system-err")
    return element


def _case_element(case: Case) -> ET.Element:
    element = _element("testcase", classname=case.classname, name=case.name, time="0")
    if case.outcome is None:
        return element
    attributes = {"message": case.message}
    if case.outcome != "skipped":  # the schema gives skipped no type
        attributes["type"] = case.kind
    outcome = _element(case.outcome, **attributes)
    _text(outcome, case.text)
    element.append(outcome)
    return element


def _element(tag: str, **attributes: str) -> ET.Element:
    return ET.Element(tag, {name: _clean(value) for name, value in attributes.items()})


def _text(element: ET.Element, text: str) -> None:
    if text:
        element.text = _clean(text)


def _clean(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def _now() -> dt.datetime:
    # The schema's timestamp has no zone: it is written in UTC.
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
