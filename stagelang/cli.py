"""The command line: a thin layer that parses options, calls the library and sets exit codes.

Exit codes: 0 clean, 1 findings (errors, or warnings with --fail-on warning), 2 usage errors
and unreadable input.
"""

from __future__ import annotations

import json
import os
import sys

import click

from stagelang import __version__
from stagelang.diagnostics import Severity, render
from stagelang.linting import LintReport, lint_paths

EXIT_CLEAN, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


@click.group(
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog="""\b
Examples:
  stagelang lint policies/                 lint every *.stage file under policies/
  stagelang lint japan.stage --format json diagnostics as JSON, for tools
  stagelang lint policies/ --fail-on warning   fail on warnings too (for CI)

Documentation: docs/language.md in the project, or `stagelang COMMAND --help`.""",
)
@click.version_option(__version__, "--version", prog_name="stagelang")
def main() -> None:
    """stagelang: executable definitions of lifecycle stages.

    Write what must be true for a contact to be in each stage (Subscriber, MQL, SQL, ...),
    with stricter rules for segments such as Japan, and check policies and CRM data against
    them.
    """


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text for people, json (an array of diagnostics) for tools.",
)
@click.option(
    "--fail-on",
    type=click.Choice(["error", "warning"]),
    default="error",
    show_default=True,
    help="The least severe diagnostic that makes the run fail (exit 1).",
)
@click.option(
    "--color/--no-color",
    default=None,
    help="Colour the text output (default: when writing to a terminal).",
)
def lint(paths: tuple[str, ...], output_format: str, fail_on: str, color: bool | None) -> None:
    """Check policy files for syntax errors, unknown names, type errors and likely mistakes.

    PATHS are policy files or folders; folders are searched for *.stage files. Every problem
    in every file is reported in one run.

    \b
    Examples:
      stagelang lint policies/
      stagelang lint policies/japan.stage --format json
    """
    report = lint_paths(paths)
    if output_format == "json":
        click.echo(
            json.dumps([d.to_dict() for d in report.diagnostics], ensure_ascii=False, indent=2)
        )
    else:
        use_color = _wants_color() if color is None else color
        _print_text_report(report, use_color)

    for linted in report.unreadable:
        click.echo(f"stagelang: {linted.unreadable}", err=True)
    if report.unreadable:
        sys.exit(EXIT_USAGE)
    failing = report.count(Severity.ERROR)
    if fail_on == "warning":
        failing += report.count(Severity.WARNING)
    sys.exit(EXIT_FINDINGS if failing else EXIT_CLEAN)


def _wants_color() -> bool:
    # NO_COLOR is the convention most terminal tools honour (no-color.org).
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def _print_text_report(report: LintReport, color: bool) -> None:
    for linted in report.files:
        for diagnostic in linted.diagnostics:
            click.echo(render(diagnostic, linted.source, color=color))
            click.echo()
    click.echo(_summary(report))


def _summary(report: LintReport) -> str:
    checked = len(report.files) - len(report.unreadable)
    files = f"{checked} policy file{'s' if checked != 1 else ''}"
    errors = report.count(Severity.ERROR)
    warnings = report.count(Severity.WARNING)
    if report.unreadable:
        unread = len(report.unreadable)
        return f"Checked {files}; {unread} path{'s' if unread != 1 else ''} could not be read."
    if not errors and not warnings:
        return f"All checks passed: {files}."
    parts = []
    if errors:
        parts.append(f"{errors} error{'s' if errors != 1 else ''}")
    if warnings:
        parts.append(f"{warnings} warning{'s' if warnings != 1 else ''}")
    return f"Found {' and '.join(parts)} in {files}."
