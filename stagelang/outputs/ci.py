"""The formats for CI (`sarif`, `junit`, `github`): one place for the command line to pick one.

Each check writer takes findings one at a time (`add`) and writes its document at the end
(`close`). All three write UTF-8 whatever the terminal's encoding: SARIF requires it, the JUnit
documents declare it, and GitHub reads its runners' output as UTF-8.
"""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Iterator
from typing import IO, Protocol

from stagelang.checking import Summary
from stagelang.diagnostics import Severity
from stagelang.findings import Finding
from stagelang.linting import LintReport
from stagelang.outputs import github, junit, sarif
from stagelang.policy import Policy
from stagelang.policy_tests import FileResult
from stagelang.waivers import WaivedFinding

CI_FORMATS = ("sarif", "junit", "github")


class FindingWriter(Protocol):
    def add(self, finding: Finding) -> None: ...

    def add_waived(self, waived: WaivedFinding) -> None: ...

    def close(self, summary: Summary) -> None: ...


def write_lint(
    output_format: str, report: LintReport, stream: IO[str], *, fail_on: Severity, summary: str
) -> None:
    """A lint report in one of the CI formats; `summary` is the sentence people read last."""
    if output_format == "sarif":
        sarif.write_lint(report, stream)
    elif output_format == "junit":
        junit.write_lint(report, stream, fail_on)
    else:
        github.write_lint(report, stream, summary)


def write_tests(
    output_format: str, results: list[FileResult], stream: IO[str], *, coverage: bool
) -> None:
    """The results of `stagelang test` in one of the CI formats."""
    if output_format == "sarif":
        sarif.write_tests(results, stream, coverage=coverage)
    elif output_format == "junit":
        junit.write_tests(results, stream)
    else:
        github.write_tests(results, stream, coverage=coverage)


def check_writer(
    output_format: str,
    stream: IO[str],
    policy: Policy,
    *,
    limit: int,
    duplicate_ids: bool,
    fail_on: Severity = Severity.ERROR,
) -> FindingWriter:
    """The writer for check findings in one of the CI formats."""
    if output_format == "sarif":
        return sarif.SarifWriter(stream, policy, limit)
    if output_format == "junit":
        return junit.JunitWriter(
            stream, policy, limit, duplicate_ids=duplicate_ids, fail_on=fail_on
        )
    return github.GithubWriter(stream, policy, limit)


@contextlib.contextmanager
def utf8_stdout() -> Iterator[IO[str]]:
    """Standard output as UTF-8 text with `\\n` line ends, on every platform."""
    sys.stdout.flush()
    stream = io.TextIOWrapper(
        sys.stdout.buffer, encoding="utf-8", errors="replace", newline="\n", write_through=True
    )
    try:
        yield stream
    finally:
        stream.flush()
        stream.detach()
