"""`--format sarif`: SARIF 2.1.0, the format GitHub code scanning and other viewers read.

One log, one run. The tool's rules are the whole catalogue, policy rules (`RULES`) and data
rules (`DATA_RULES`), so that every result's `ruleId` has its description and help link. A
policy diagnostic points at its span in the policy file; a data finding at its line in the
export, and an unmet criterion also at the clause in the policy (a related location).

Each result carries a fingerprint that stays the same from run to run while the problem does,
so that code scanning does not open a new alert every time: a hash of the rule, the file and
what the problem is about (the record id, the criterion and the message for a finding; the
source line's text and the message for a diagnostic), never the line number, which shifts
when rows or lines are added above. Identical problems are told apart by a counter (`:2`).

`check` keeps at most `--limit` findings of each unmet criterion or kind of problem, with the
counts of all of them, so that a large export's log stays small; the counts are in the run's
properties and in one notification per group that was cut.

`test` writes a log of its own, whose catalogue is the two rules of policy tests (SL701 a case
that fails, at its line in the test file; SL702 a criterion no case both meets and misses, at
its clause in the policy, with `--coverage`).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from pathlib import PurePath, PurePosixPath, PureWindowsPath
from typing import IO, Any
from urllib.parse import quote, urljoin

from stagelang import __version__
from stagelang.analysis.model import Criterion
from stagelang.checking import Summary
from stagelang.diagnostics import Diagnostic, Severity, Span
from stagelang.findings import DATA_RULES, Finding, json_value
from stagelang.linting import LintReport
from stagelang.outputs.grouping import Groups
from stagelang.policy import Policy
from stagelang.policy_tests import TEST_RULES, FileResult
from stagelang.rules import RULES, Rule
from stagelang.waivers import WaivedFinding, WaivedLog, Waiver

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = (
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
)
# Where help links point. The project has no public home yet; this placeholder (the same host
# as the $id of docs/check-output.schema.json) keeps the links absolute, as SARIF requires.
HOME = "https://stagelang.example/"
FINGERPRINT = "stagelang/v1"

CATALOGUE: dict[str, Rule] = {**RULES, **DATA_RULES}
_INDEX = {code: index for index, code in enumerate(CATALOGUE)}
_LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning"}
# SL504 names the line of the first use: a line number that must not enter a fingerprint.
_LINE_REFERENCE = re.compile(r"\bline \d+")


def lint_log(report: LintReport) -> dict[str, Any]:
    """The SARIF log of a lint run: every diagnostic of every file."""
    fingerprints = _Fingerprints()
    results = []
    for linted in report.files:
        lines = (linted.source or "").splitlines()
        for diagnostic in linted.diagnostics:
            source_line = _line(lines, diagnostic.span.line)
            file = artifact_uri(diagnostic.file)
            identity = (diagnostic.code, file, source_line, diagnostic.message)
            results.append(_diagnostic_result(diagnostic, fingerprints.of(identity)))

    notifications = [
        {"level": "error", "message": {"text": linted.unreadable}} for linted in report.unreadable
    ]
    invocation = {
        "executionSuccessful": not notifications,
        "toolExecutionNotifications": notifications,
    }
    return _log(results, invocation, {})


def write_lint(report: LintReport, stream: IO[str]) -> None:
    _dump(lint_log(report), stream)


class SarifWriter:
    """Collects the findings of a check run, `limit` of each group, and writes the log."""

    def __init__(self, stream: IO[str], policy: Policy, limit: int) -> None:
        self.stream = stream
        self.limit = limit
        self.policy = policy
        self.groups = Groups(policy.criteria_in_order(), limit)
        self.waived = WaivedLog(limit)
        self.clauses = {
            criterion.describe(): criterion
            for stage in policy.checked.stages
            for criterion in (*stage.entry, *stage.exit)
        }

    def add(self, finding: Finding) -> None:
        self.groups.add(finding)

    def add_waived(self, waived: WaivedFinding) -> None:
        self.waived.add(waived)

    def log(self, summary: Summary) -> dict[str, Any]:
        fingerprints = _Fingerprints()
        results = [
            self._result(finding, fingerprints)
            for group in self.groups.ordered()
            for finding in group.examples
        ]
        # Waived findings are results too, marked suppressed: code scanning shows them as
        # dismissed, with the waiver's reason, instead of losing them.
        for waived_group in self.waived.ordered():
            for finding in waived_group.examples:
                result = self._result(finding, fingerprints)
                result["suppressions"] = [_suppression(waived_group.waiver)]
                results.append(result)
        notifications = [
            {"level": "note", "message": {"text": _left_out(group.title, hidden, self.limit)}}
            for group in self.groups.ordered()
            if (hidden := group.count - len(group.examples))
        ]
        notifications.extend(
            {"level": "note", "message": {"text": _left_out(g.waiver.title, hidden, self.limit)}}
            for g in self.waived.ordered()
            if (hidden := g.count - len(g.examples))
        )
        invocation = {"executionSuccessful": True, "toolExecutionNotifications": notifications}
        properties = {
            "policy": {"name": self.policy.name, "file": self.policy.file},
            "limit": self.limit,
            "summary": summary.to_dict(),
            "groups": [
                {"title": g.title, "code": g.code, "count": g.count, "listed": len(g.examples)}
                for g in self.groups.ordered()
            ],
        }
        if summary.waivers:
            properties["waived"] = [
                {**g.waiver.to_dict(), "count": g.count, "listed": len(g.examples)}
                for g in self.waived.ordered()
            ]
        return _log(results, invocation, properties)

    def close(self, summary: Summary) -> None:
        _dump(self.log(summary), self.stream)

    def _result(self, finding: Finding, fingerprints: _Fingerprints) -> dict[str, Any]:
        message = finding.message
        if finding.record_id is not None:
            message += f" (record {finding.record_id})"
        region = {"startLine": finding.line} if finding.line else None
        location = _location(finding.file, region)
        result = _result(finding.code, finding.severity, message, location)

        identity = (
            finding.code,
            artifact_uri(finding.file),
            finding.record_id or "",
            finding.criterion or finding.column or "",
            _LINE_REFERENCE.sub("line", finding.message),
        )
        result["partialFingerprints"] = {FINGERPRINT: fingerprints.of(identity)}

        criterion = self.clauses.get(finding.criterion or "")
        if criterion is not None:
            result["relatedLocations"] = [self._clause_location(criterion)]
        result["properties"] = _finding_properties(finding)
        return result

    def _clause_location(self, criterion: Criterion) -> dict[str, Any]:
        location = _location(criterion.span.file or self.policy.file, _region(criterion.span))
        location["id"] = 1
        location["message"] = {"text": f"the criterion: {criterion.describe()}"}
        return location


def _log(
    results: list[dict[str, Any]],
    invocation: dict[str, Any],
    properties: dict[str, Any],
    catalogue: dict[str, Rule] = CATALOGUE,
) -> dict[str, Any]:
    run: dict[str, Any] = {
        "tool": {"driver": _driver(catalogue)},
        "invocations": [invocation],
        # Columns count characters, as stagelang's diagnostics do, not UTF-16 code units.
        "columnKind": "unicodeCodePoints",
        "results": results,
    }
    if properties:
        run["properties"] = properties
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


def _driver(catalogue: dict[str, Rule]) -> dict[str, Any]:
    return {
        "name": "stagelang",
        "version": __version__,
        "semanticVersion": __version__,
        "informationUri": HOME,
        "rules": [_descriptor(rule) for rule in catalogue.values()],
    }


def _descriptor(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "helpUri": urljoin(HOME, rule.help_url),
        "defaultConfiguration": {"level": _LEVELS[rule.severity]},
    }


def _diagnostic_result(diagnostic: Diagnostic, fingerprint: str) -> dict[str, Any]:
    message = diagnostic.message
    if diagnostic.help:
        message += f"\nhelp: {diagnostic.help}"
    location = _location(diagnostic.file, _region(diagnostic.span))
    result = _result(diagnostic.code, diagnostic.severity, message, location)
    result["partialFingerprints"] = {FINGERPRINT: fingerprint}
    return result


def _result(
    code: str,
    severity: Severity,
    message: str,
    location: dict[str, Any],
    index: dict[str, int] = _INDEX,
) -> dict[str, Any]:
    return {
        "ruleId": code,
        "ruleIndex": index[code],
        "level": _LEVELS[severity],
        "message": {"text": message},
        "locations": [location],
    }


def _location(file: str, region: dict[str, int] | None) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": {"uri": artifact_uri(file)}}
    if region is not None:
        physical["region"] = region
    return {"physicalLocation": physical}


def _region(span: Span) -> dict[str, int]:
    # SARIF's endColumn is exclusive, as a Span's is; a region on one line is never empty.
    end_column = span.end_column
    if span.end_line == span.line:
        end_column = max(end_column, span.column + 1)
    return {
        "startLine": span.line,
        "startColumn": span.column,
        "endLine": span.end_line,
        "endColumn": end_column,
    }


def write_tests(results: list[FileResult], stream: IO[str], *, coverage: bool) -> None:
    """The SARIF log of a `stagelang test` run, with its own two rules: a failing case (SL701),
    at its line of the test file, and with `coverage`, each criterion no case both meets and
    misses (SL702), at its clause in the policy."""
    fingerprints = _Fingerprints()
    found = []
    for result in results:
        file = artifact_uri(result.path)
        for case in result.failed:
            location = _location(result.path, {"startLine": case.case.line})
            identity: tuple[str, ...] = ("SL701", file, case.case.name, *case.case.expect)
            found.append(_test_result(case.summary(), location, identity, fingerprints))
        if not coverage:
            continue
        for criterion, gap in result.coverage.untested():
            message = f"{criterion.describe()}: {gap} in {result.path}"
            location = _location(result.policy, _region(criterion.span))
            identity = ("SL702", artifact_uri(result.policy), file, criterion.describe(), gap)
            found.append(_test_result(message, location, identity, fingerprints))

    invocation = {"executionSuccessful": True, "toolExecutionNotifications": []}
    properties = {
        "passed": sum(len(r.results) - len(r.failed) for r in results),
        "failed": sum(len(r.failed) for r in results),
    }
    _dump(_log(found, invocation, properties, TEST_RULES), stream)


_TEST_INDEX = {code: index for index, code in enumerate(TEST_RULES)}


def _test_result(
    message: str,
    location: dict[str, Any],
    identity: tuple[str, ...],
    fingerprints: _Fingerprints,
) -> dict[str, Any]:
    code = identity[0]
    result = _result(code, TEST_RULES[code].severity, message, location, _TEST_INDEX)
    result["partialFingerprints"] = {FINGERPRINT: fingerprints.of(identity)}
    return result


def artifact_uri(path: str) -> str:
    """A file path as a URI reference: relative paths stay relative (code scanning resolves
    them against the checkout), absolute ones become file: URIs.

    >>> artifact_uri("policies/japan 2.stage")
    'policies/japan%202.stage'
    >>> artifact_uri("/data/export.csv")
    'file:///data/export.csv'
    """
    pure: PurePath = PureWindowsPath(path) if "\\" in path else PurePosixPath(path)
    if pure.is_absolute():
        return pure.as_uri()
    return quote(pure.as_posix(), safe="/")


def _finding_properties(finding: Finding) -> dict[str, Any]:
    properties = {
        "recordId": finding.record_id,
        "stage": finding.stage,
        "criterion": finding.criterion,
        "clause": finding.clause,
        "column": finding.column,
    }
    kept: dict[str, Any] = {name: value for name, value in properties.items() if value}
    if finding.values:
        kept["values"] = {name: json_value(value) for name, value in finding.values.items()}
    return kept


def _suppression(waiver: Waiver) -> dict[str, Any]:
    # No `status`: the older draft of the 2.1.0 schema, still used by some viewers, calls it
    # `state` and refuses `status`; a suppression without one counts as accepted.
    return {
        "kind": "external",
        "justification": waiver.reason,
        "properties": {
            "waiver": waiver.number,
            "owner": waiver.owner,
            "expires": waiver.expires.isoformat(),
        },
    }


def _left_out(title: str, hidden: int, limit: int) -> str:
    return f"{title}: {hidden:,} more not listed (--limit {limit} lists at most {limit} a group)"


def _line(lines: list[str], number: int) -> str:
    return lines[number - 1].strip() if 1 <= number <= len(lines) else ""


class _Fingerprints:
    """Hashes of what a problem is about; the second identical problem gets `:2`, and so on."""

    def __init__(self) -> None:
        self.seen: Counter[str] = Counter()

    def of(self, identity: tuple[str, ...]) -> str:
        digest = hashlib.sha256("\x1f".join(identity).encode("utf-8")).hexdigest()[:32]
        self.seen[digest] += 1
        return f"{digest}:{self.seen[digest]}"


def _dump(log: dict[str, Any], stream: IO[str]) -> None:
    stream.write(json.dumps(log, ensure_ascii=False, indent=2, default=str))
    stream.write("\n")
