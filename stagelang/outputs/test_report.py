"""`stagelang test` results: text for people, JSON for tools, JUnit and GitHub annotations for CI.

The closing line of the text output is always `N passed, N failed`, which CI logs and people
scanning them look for.
"""

from __future__ import annotations

import json
from typing import IO, Any
from xml.etree import ElementTree

from stagelang.policy_tests import FileResult


def render_text(results: list[FileResult], *, coverage: bool) -> str:
    lines: list[str] = []
    for result in results:
        for case in result.failed:
            lines.append(f"FAIL {result.path}:{case.case.line} {case.case.name}")
            lines.extend(_diff(case.case.expect, case.actual))
            lines.append("")
        if coverage:
            lines.extend(_coverage_lines(result))
    lines.append(_closing(results))
    return "\n".join(lines) + "\n"


def _diff(expected: list[str], actual: list[str]) -> list[str]:
    lines = [f"  - expected: {e}" for e in expected if e not in actual]
    lines += [f"  + actual:   {a}" for a in actual if a not in expected]
    return lines or [f"  - expected: {'; '.join(expected)}", f"  + actual:   {'; '.join(actual)}"]


def _coverage_lines(result: FileResult) -> list[str]:
    cover = result.coverage
    total = len(cover.criteria)
    lines = [
        f"Coverage of {result.policy} by {result.path}: {cover.both_ways} of {total} criteria "
        "met and unmet by some case"
    ]
    for criterion, gap in cover.untested():
        place = f"{result.policy}:{criterion.span.line}"
        lines.append(f"  {place}  {criterion.describe()}  ({gap})")
    lines.append("")
    return lines


def _closing(results: list[FileResult]) -> str:
    passed = sum(len(r.results) - len(r.failed) for r in results)
    failed = sum(len(r.failed) for r in results)
    return f"{passed} passed, {failed} failed"


def render_json(results: list[FileResult]) -> str:
    document: dict[str, Any] = {
        "files": [
            {
                "path": r.path,
                "policy": r.policy,
                "cases": [
                    {
                        "name": c.case.name,
                        "line": c.case.line,
                        "passed": c.passed,
                        "expected": c.case.expect,
                        "actual": c.actual,
                    }
                    for c in r.results
                ],
                "coverage": {
                    "criteria": len(r.coverage.criteria),
                    "met_and_unmet": r.coverage.both_ways,
                    "untested": [
                        {"criterion": c.describe(), "line": c.span.line, "gap": gap}
                        for c, gap in r.coverage.untested()
                    ],
                },
            }
            for r in results
        ],
        "passed": sum(len(r.results) - len(r.failed) for r in results),
        "failed": sum(len(r.failed) for r in results),
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def write_junit(results: list[FileResult], stream: IO[str]) -> None:
    """One test suite per test file, one test case per case."""
    root = ElementTree.Element("testsuites", name="stagelang test")
    for result in results:
        suite = ElementTree.SubElement(
            root,
            "testsuite",
            name=result.path,
            tests=str(len(result.results)),
            failures=str(len(result.failed)),
        )
        for case in result.results:
            element = ElementTree.SubElement(
                suite,
                "testcase",
                classname=result.path,
                name=case.case.name,
                file=result.path,
                line=str(case.case.line),
            )
            if not case.passed:
                failure = ElementTree.SubElement(
                    element, "failure", message=f"expected {'; '.join(case.case.expect)}"
                )
                failure.text = "\n".join(_diff(case.case.expect, case.actual))
    ElementTree.indent(root)
    stream.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    stream.write(ElementTree.tostring(root, encoding="unicode") + "\n")


def write_github(results: list[FileResult], stream: IO[str]) -> None:
    """A workflow-command annotation per failing case, then the closing line."""
    for result in results:
        for case in result.failed:
            message = f"{case.case.name}: expected {'; '.join(case.case.expect)}, "
            message += f"got {'; '.join(case.actual)}"
            stream.write(
                f"::error file={_escape_property(result.path)},line={case.case.line},"
                f"title=policy test failed::{_escape(message)}\n"
            )
    stream.write(_closing(results) + "\n")


def _escape(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape(text).replace(":", "%3A").replace(",", "%2C")
