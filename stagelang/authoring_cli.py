"""The commands for policy authors: `stagelang fuzz` and `stagelang test`.

Kept apart from cli.py so that each command stays a thin layer over its library module.
Exit codes as everywhere: 0 everything holds, 1 counterexamples or failed cases, 2 usage errors,
unreadable files and policies with errors.
"""

from __future__ import annotations

import sys

import click

from stagelang.cli_options import as_of_option
from stagelang.diagnostics import render
from stagelang.errors import PolicyError, PolicyFileError, StagelangError
from stagelang.fuzzing import Budget, fuzz
from stagelang.fuzzing import report as fuzz_report
from stagelang.outputs import ci, test_report
from stagelang.policy import Policy, load, read_policy_text
from stagelang.policy_tests import find_test_files, run_file

EXIT_CLEAN, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


@click.command("fuzz")
@click.argument("policy_path", metavar="POLICY", type=click.Path())
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the search.")
@click.option(
    "--max-examples",
    type=click.IntRange(min=1),
    default=300,
    show_default=True,
    help="Records tried per question before giving up on finding one.",
)
@click.option(
    "--deadline",
    type=click.FloatRange(min=0, min_open=True),
    help="Stop searching after this many seconds; unfinished questions make the run fail.",
)
@as_of_option("The date `today` means in the policy (default: the current date in UTC).")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
)
@click.option(
    "--show-examples", is_flag=True, help="Print an example record for every property that holds."
)
def fuzz_command(
    policy_path: str,
    seed: int,
    max_examples: int,
    deadline: float | None,
    as_of: object,
    output_format: str,
    show_examples: bool,
) -> None:
    """Search POLICY for records that break it, and print the smallest ones found.

    Checks that every stage can be reached (outside every segment and in each segment), that
    each stage's exit leads into the next, what each `instead requires` changes, that the
    policy's invariants hold, and that walks up the ladder meet every stage's criteria.
    Deterministic for a given --seed and --as-of.
    """
    policy = _load_or_exit(policy_path)
    today = as_of.date() if as_of is not None else None  # type: ignore[attr-defined]
    report = fuzz(policy, Budget(max_examples, seed, deadline), today=today)
    if output_format == "json":
        click.echo(fuzz_report.render_json(report), nl=False)
    else:
        click.echo(fuzz_report.render_text(report, show_examples=show_examples), nl=False)
    sys.exit(EXIT_CLEAN if report.holds else EXIT_FAILED)


@click.command("test")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--coverage", is_flag=True, help="List the criteria no case both meets and misses.")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json", *ci.CI_FORMATS]),
    default="text",
    show_default=True,
    help="text for people, json for tools; sarif (code scanning), junit (test views) or "
    "github (annotations) for CI.",
)
def test_command(paths: tuple[str, ...], coverage: bool, output_format: str) -> None:
    """Run the policy tests (*.test.toml) under PATHS and report the cases that fail.

    Each case is a record and the verdict its author expects ("conforms at SQL", "fails MQL:
    engaged_sessions"); the last line counts the cases that passed and failed. With --coverage,
    lists the criteria that no case both meets and misses. Exit status 0 when every case
    passes, 1 when some fail, 2 when a test file or its policy cannot be read.
    """
    try:
        files = find_test_files(paths)
        if not files:
            raise StagelangError(f"no *.test.toml files under {', '.join(paths)}")
        results = [run_file(path) for path in files]
    except PolicyError as error:
        for diagnostic in error.errors:
            click.echo(render(diagnostic, _source_of(diagnostic.file)), err=True)
        click.echo("stagelang: the policy has errors; fix them first (stagelang lint)", err=True)
        sys.exit(EXIT_USAGE)
    except StagelangError as error:
        click.echo(f"stagelang: {error}", err=True)
        sys.exit(EXIT_USAGE)

    if output_format == "json":
        click.echo(test_report.render_json(results), nl=False)
    elif output_format in ci.CI_FORMATS:
        with ci.utf8_stdout() as stream:
            ci.write_tests(output_format, results, stream, coverage=coverage)
    else:
        click.echo(test_report.render_text(results, coverage=coverage), nl=False)
    failed = any(result.failed for result in results)
    sys.exit(EXIT_FAILED if failed else EXIT_CLEAN)


def _load_or_exit(path: str) -> Policy:
    try:
        return load(path)
    except PolicyFileError as error:
        click.echo(f"stagelang: {error}", err=True)
    except PolicyError as error:
        source = read_policy_text(path)
        for diagnostic in error.errors:
            click.echo(render(diagnostic, source), err=True)
            click.echo(err=True)
        click.echo(
            f"stagelang: {path} has errors; fix them first (stagelang lint {path})", err=True
        )
    sys.exit(EXIT_USAGE)


def _source_of(path: str) -> str:
    try:
        return read_policy_text(path)
    except PolicyFileError:
        return ""
