"""`stagelang test` results: text for people and JSON for tools.

The closing line of the text output is always `N passed, N failed`, which CI logs and people
scanning them look for. The CI formats of a test run (SARIF, JUnit, GitHub annotations) are
written by the modules of those formats, beside lint's and check's (`write_tests`).
"""

from __future__ import annotations

import json
from typing import Any

from stagelang.policy_tests import FileResult


def render_text(results: list[FileResult], *, coverage: bool) -> str:
    lines: list[str] = []
    for result in results:
        for case in result.failed:
            lines.append(f"FAIL {result.path}:{case.case.line} {case.case.name}")
            lines.extend(case.diff())
            lines.append("")
        if coverage:
            lines.extend(_coverage_lines(result))
    lines.append(closing_line(results))
    return "\n".join(lines) + "\n"


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


def closing_line(results: list[FileResult]) -> str:
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
