"""The command line: a thin layer that parses options, calls the library and sets exit codes.

Exit codes: 0 clean, 1 findings (errors, or warnings with --fail-on warning), 2 usage errors
and unreadable input.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import difflib
import json
import os
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click

from stagelang import __version__
from stagelang.checking import Checker
from stagelang.cli_options import as_of_option, encoding_option, limit_option, timezone_option
from stagelang.compiler import runtime
from stagelang.config import Config, ConfigError, config_for
from stagelang.diagnostics import Severity, render
from stagelang.duckdb_engine import ENGINES
from stagelang.errors import PolicyError, PolicyFileError, StagelangError
from stagelang.findings import DATA_RULES, Finding
from stagelang.history.events import EventLog
from stagelang.impact import Impact, ImpactError
from stagelang.impact import compare as compare_policies
from stagelang.linting import LintReport, find_policy_files, lint_paths
from stagelang.outputs import ci, impact_report, text_report
from stagelang.outputs.csv_report import CsvWriter
from stagelang.outputs.grouping import Groups
from stagelang.outputs.json_report import JsonWriter
from stagelang.outputs.text_report import console_for
from stagelang.policy import Policy, load, read_policy_text, source_for
from stagelang.records.readers import FORMATS, InputError, open_table
from stagelang.reporting import Report, TimeInStage
from stagelang.reporting import render as render_report
from stagelang.reporting.chart import ChartUnavailable
from stagelang.schema import record_schema
from stagelang.syntax.formatter import format_source
from stagelang.waivers import WaivedLog, WaiverError, Waivers, load_waivers, waivers_beside

if TYPE_CHECKING:
    from stagelang.database import TableCheck  # imported where used: psycopg is an extra

EXIT_CLEAN, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2
EXPIRED_WAIVER = "SL602"


@click.group(
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog="""\b
Examples:
  stagelang lint policies/                 lint every *.stage file under policies/
  stagelang lint japan.stage --format json diagnostics as JSON, for tools
  stagelang lint policies/ --fail-on warning   fail on warnings too (for CI)
  stagelang check policies/japan.stage examples/contacts.csv
                                           check an export against a policy
  stagelang report policies/japan.stage examples/contacts.csv --by japan
                                           time in stage, Japan against global

Documentation: docs/language.md in the project, or `stagelang COMMAND --help`.""",
)
@click.version_option(__version__, "--version", prog_name="stagelang")
def main() -> None:
    """stagelang: executable definitions of lifecycle stages.

    Write what must be true for a contact to be in each stage (Subscriber, MQL, SQL, ...),
    with stricter rules for segments such as Japan, and check policies and CRM data against
    them.
    """


_CONFIG_HELP = (
    "A stagelang.toml or pyproject.toml to use (default: the nearest one above the first path, "
    "or the working directory), see docs/configuration.md."
)


def _remember_policy_root(ctx: click.Context, _: click.Parameter, value: str | None) -> None:
    ctx.meta["stagelang.policy_root"] = value


def _policy_root() -> str | None:
    root: str | None = click.get_current_context().meta.get("stagelang.policy_root")
    return root


# A decorator, so that commands gain the option without a parameter of their own.
_policy_root_option = click.option(
    "--policy-root",
    type=click.Path(file_okay=False),
    expose_value=False,
    callback=_remember_policy_root,
    help="The folder a policy named by `extends` must be inside (default: the folder of the "
    "policy file).",
)


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@_policy_root_option
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json", *ci.CI_FORMATS]),
    default="text",
    show_default=True,
    help="text for people, json (an array of diagnostics) for tools; sarif, junit or github "
    "(workflow annotations) for CI, see docs/ci.md.",
)
@click.option(
    "--fail-on",
    type=click.Choice(["error", "warning"]),
    default=None,
    help="The least severe diagnostic that makes the run fail (exit 1). Default: fail-on of "
    "the configuration, else error.",
)
@click.option(
    "--color/--no-color",
    default=None,
    help="Colour the text output (default: when writing to a terminal).",
)
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help=_CONFIG_HELP)
def lint(
    paths: tuple[str, ...],
    output_format: str,
    fail_on: str | None,
    color: bool | None,
    config_path: str | None,
) -> None:
    """Check policy files for syntax errors, unknown names, type errors and likely mistakes.

    PATHS are policy files or folders; folders are searched for *.stage files (default: the
    paths of the configuration). Every problem in every file is reported in one run.

    \b
    Examples:
      stagelang lint policies/
      stagelang lint policies/japan.stage --format json
    """
    config = _config_or_exit(paths, config_path)
    paths = _paths_or_exit(paths, config)
    fail_on = fail_on or config.fail_on or "error"
    report = lint_paths(paths, config, root=_policy_root())
    if output_format == "json":
        click.echo(
            json.dumps([d.to_dict() for d in report.diagnostics], ensure_ascii=False, indent=2)
        )
    elif output_format in ci.CI_FORMATS:
        with ci.utf8_stdout() as stream:
            summary = _summary(report)
            ci.write_lint(output_format, report, stream, fail_on=Severity(fail_on), summary=summary)
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


def _config_or_exit(paths: tuple[str, ...], explicit: str | None) -> Config:
    """The configuration for a run, its warnings printed; exit 2 if it cannot be used."""
    try:
        config = config_for(paths[0] if paths else None, explicit)
    except ConfigError as error:
        click.echo(f"stagelang: {error}", err=True)
        sys.exit(EXIT_USAGE)
    for warning in config.warnings:
        click.echo(f"stagelang: warning: {warning}", err=True)
    return config


def _paths_or_exit(paths: tuple[str, ...], config: Config) -> tuple[str, ...]:
    if paths:
        return paths
    if config.paths:
        return tuple(config.policy_paths())
    click.echo(
        "stagelang: name the policy files or folders, or set paths in a stagelang.toml or in "
        "[tool.stagelang] of pyproject.toml (docs/configuration.md)",
        err=True,
    )
    sys.exit(EXIT_USAGE)


def _wants_color() -> bool:
    # NO_COLOR is the convention most terminal tools honour (no-color.org).
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def _print_text_report(report: LintReport, color: bool) -> None:
    for linted in report.files:
        for diagnostic in linted.diagnostics:
            source = source_for(diagnostic, linted.path, linted.source)
            click.echo(render(diagnostic, source, color=color))
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


@main.command()
@click.argument("policy_path", metavar="POLICY", type=click.Path())
@click.argument("data", nargs=-1, type=click.Path(allow_dash=True))
@_policy_root_option
@click.option(
    "--events",
    multiple=True,
    type=click.Path(),
    help="An event log (CSV or JSON Lines, one row per stage change) whose transitions to "
    "check; may be given more than once. See docs/check.md, Stage history.",
)
@click.option(
    "--event-time",
    default="timestamp",
    show_default=True,
    help="The event log's column with the time of each stage change.",
)
@click.option(
    "--fail-on",
    type=click.Choice(["error", "warning"]),
    default="error",
    show_default=True,
    help="The least severe finding that makes the run fail: warning includes stalled records.",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json", "csv", *ci.CI_FORMATS]),
    default="text",
    show_default=True,
    help="text: summary tables and findings; json: one object for tools; csv: the input rows "
    "with verdict columns appended; sarif, junit or github (workflow annotations) for CI, "
    "see docs/ci.md.",
)
@click.option(
    "--input-format",
    type=click.Choice(list(FORMATS)),
    help="Read DATA as this format (default: by file extension; standard input is sniffed).",
)
@encoding_option
@click.option(
    "--output-encoding",
    help="Encoding of --format csv output (default: the input's encoding).",
)
@timezone_option
@as_of_option("The date `today` means in the policy (default: the current date in UTC).")
@limit_option(
    "How many records to show for each unmet criterion or problem (text, sarif, junit "
    "and github output)."
)
@click.option(
    "--duplicate-ids/--no-duplicate-ids",
    default=True,
    show_default=True,
    help="Report record ids used more than once. Remembering ids takes about 110 bytes a "
    "record; turn it off for exports of many millions of rows.",
)
@click.option(
    "--engine",
    type=click.Choice(list(ENGINES)),
    default="auto",
    show_default=True,
    help="python reads records one by one; duckdb judges a CSV, TSV, JSON Lines or Parquet "
    "export in embedded DuckDB and words the findings in Python (same findings; needs the sql "
    "extra); auto takes duckdb for CSV and TSV files of 8 MiB or more without stage-history "
    "columns, and for Parquet, when it is installed. The summary says which ran. See "
    "docs/scale.md.",
)
@click.option(
    "--waivers",
    "waivers_path",
    type=click.Path(dir_okay=False),
    help="A waivers file (TOML) exempting records from criteria (default: NAME.waivers.toml "
    "beside NAME.stage, if there is one), see docs/check.md#waivers.",
)
@click.option("--no-waivers", is_flag=True, help="Apply no waivers file, not even the one found.")
@click.option(
    "--db",
    "db_url",
    metavar="URL",
    help="Check a table in a running PostgreSQL server instead of exports, e.g. "
    "postgresql://analyst@db.example.com:5432/crm (with --table; needs the postgres extra). "
    "See docs/scale.md.",
)
@click.option(
    "--table",
    help="With --db: the table holding the records, e.g. crm.contacts.",
)
@click.option("--color/--no-color", default=None, help="Colour the text output.")
def check(
    policy_path: str,
    data: tuple[str, ...],
    events: tuple[str, ...],
    event_time: str,
    fail_on: str,
    output_format: str,
    input_format: str | None,
    encoding: str | None,
    output_encoding: str | None,
    zone_name: str,
    as_of: dt.datetime | None,
    limit: int,
    duplicate_ids: bool,
    engine: str,
    waivers_path: str | None,
    no_waivers: bool,
    db_url: str | None,
    table: str | None,
    color: bool | None,
) -> None:
    """Check the records of CRM exports, or of a PostgreSQL table, against a policy.

    DATA are CSV, TSV, JSON Lines or JSON files (by extension, or --input-format), or - for
    standard input; Parquet files are read by the DuckDB engine (the sql extra). Encodings
    are detected (UTF-8, UTF-16, CP932/Shift_JIS); Japanese number and date formats are read
    as they are written.

    \b
    Exit codes: 0 every record conforms (or conforms only by waivers); 1 at least one error
    finding, an expired waiver among them (or a warning, such as a stalled record or an
    unused waiver, with --fail-on warning); 2 usage errors, a policy or waivers file with
    errors, an export that cannot be read, or with --db a server that cannot be reached or a
    table that lacks a column the policy reads.

    \b
    Examples:
      stagelang check policies/japan.stage examples/contacts.csv
      stagelang check policies/japan.stage export.csv --format json > findings.json
      stagelang check policies/japan.stage export.csv --format csv > checked.csv
      cat export.jsonl | stagelang check policies/japan.stage - --input-format jsonl
      stagelang check policies/japan.stage --events stage-changes.csv --as-of 2026-06-30
      stagelang check policies/japan.stage export.csv --waivers japan.waivers.toml
      stagelang check policies/japan.stage big-export.csv --engine duckdb
      stagelang check policies/japan.stage --db postgresql://analyst@localhost/crm \\
          --table crm.contacts

    \b
    With --db URL --table T the policy runs as SQL in the server; findings name the table and
    the record id instead of file and line. Unreadable cells and stage history are not
    checked there; --format csv, --events and waivers do not apply.
    """
    if db_url is not None or table is not None:
        given = {
            "DATA": bool(data),
            "--events": bool(events),
            "--input-format": input_format is not None,
            "--encoding": encoding is not None,
            "--output-encoding": output_encoding is not None,
            "--waivers": waivers_path is not None,
            "--engine": engine != "auto",
            # The queries read timestamps in UTC; another zone would be silently ignored.
            "--timezone": zone_name.upper() not in ("UTC", "Z"),
        }
        _check_database(
            policy_path,
            db_url,
            table,
            given,
            output_format,
            as_of,
            limit,
            fail_on,
            color,
            duplicate_ids,
        )
    if not data and not events:
        raise click.UsageError("give an export (DATA) to check, or an event log with --events")
    if events and output_format == "csv":
        raise click.UsageError(
            "--format csv adds columns to the export's rows; event log findings have no row "
            "there: use text, json or a CI format with --events"
        )
    policy = _load_policy_or_exit(policy_path)
    timezone = _timezone_or_exit(zone_name)
    for option, name in (("--encoding", encoding), ("--output-encoding", output_encoding)):
        if name is not None and not _is_encoding(name):
            click.echo(
                f'stagelang: {option}: "{name}" is not an encoding Python knows; '
                "try utf-8, cp932 or utf-16",
                err=True,
            )
            sys.exit(EXIT_USAGE)
    day = as_of.date() if as_of else None
    waivers = None
    if data and not no_waivers:
        waivers = _waivers_or_exit(waivers_path, policy_path, policy, day)
    elif waivers_path and not no_waivers:
        # A waiver names records of an export; the moves of an event log are not matched.
        click.echo("stagelang: --waivers applies to exports (DATA), not to --events logs", err=True)
    checker = _checker_or_exit(
        engine,
        output_format,
        policy,
        timezone=timezone,
        as_of=day,
        duplicate_ids=duplicate_ids,
        waivers=waivers,
    )
    logs = _EventLogs(checker, events, event_time, timezone)
    try:
        if output_format == "json":
            _check_to_json(checker, logs, data, input_format, encoding)
        elif output_format == "csv":
            _check_to_csv(checker, data, input_format, encoding, output_encoding)
        elif output_format in ci.CI_FORMATS:
            _check_for_ci(
                checker, logs, data, input_format, encoding, output_format, limit, fail_on
            )
        else:
            use_color = _wants_color() if color is None else color
            _check_to_text(checker, logs, data, input_format, encoding, limit, use_color)
    except InputError as error:
        click.echo(f"stagelang: {error}", err=True)
        sys.exit(EXIT_USAGE)
    summary = checker.summary
    failing = summary.not_conforming + summary.unreadable
    failing += sum(n for code, n in logs.counts.items() if _is_error(code))
    failing += summary.findings[EXPIRED_WAIVER]
    if fail_on == "warning":
        failing += sum(n for code, n in summary.findings.items() if not _is_error(code))
    sys.exit(EXIT_FINDINGS if failing else EXIT_CLEAN)


def _checker_or_exit(engine: str, output_format: str, policy: Policy, **options: Any) -> Checker:
    """The Python engine's Checker, or the DuckDB engine's for --engine duckdb and auto."""
    if output_format == "csv":
        if engine == "duckdb":
            raise click.UsageError(
                "--format csv writes every row of the export back, which the Python engine "
                "does: use --engine python (or auto), or another --format"
            )
        engine = "python"
    if engine == "python":
        return Checker(policy, **options)
    from stagelang.duckdb_engine import DuckdbChecker

    try:
        return DuckdbChecker(policy, engine=engine, **options)
    except StagelangError as error:
        click.echo(f"stagelang: {error}", err=True)
        sys.exit(EXIT_USAGE)


def _check_database(
    policy_path: str,
    url: str | None,
    table: str | None,
    given: dict[str, bool],
    output_format: str,
    as_of: dt.datetime | None,
    limit: int,
    fail_on: str,
    color: bool | None,
    duplicate_ids: bool,
) -> None:
    """`check --db URL --table T`: the policy runs as SQL in the server; exits."""
    if url is None or table is None:
        missing = "--table" if url is not None else "--db"
        raise click.UsageError(f"--db and --table go together: give {missing} too")
    clashing = [name for name, present in given.items() if present]
    if clashing:
        raise click.UsageError(
            f"{', '.join(clashing)} cannot be used with --db: the records come from the table"
        )
    if output_format == "csv":
        raise click.UsageError(
            "--format csv adds columns to an export's rows; with --db use text, json or a CI format"
        )
    policy = _load_policy_or_exit(policy_path)
    if waivers_beside(policy_path):
        click.echo("stagelang: waivers are not applied with --db", err=True)
    from stagelang.database import check_postgres_table

    try:
        checked = check_postgres_table(
            policy,
            url,
            table,
            today=as_of.date() if as_of else None,
            repeated_ids=duplicate_ids,
        )
        # The findings stream from the server: the summary is complete once they are written.
        with checked:
            _write_table_check(checked, policy, output_format, limit, fail_on, color, duplicate_ids)
    except StagelangError as error:
        click.echo(f"stagelang: {error}", err=True)
        sys.exit(EXIT_USAGE)
    sys.exit(EXIT_FINDINGS if checked.summary.not_conforming else EXIT_CLEAN)


def _write_table_check(
    checked: TableCheck,
    policy: Policy,
    output_format: str,
    limit: int,
    fail_on: str,
    color: bool | None,
    duplicate_ids: bool,
) -> None:
    policy_facts = {"name": policy.name, "file": policy.file, "stages": list(policy.stages)}
    if output_format == "json":
        writer = JsonWriter(sys.stdout)
        for finding in checked.findings:
            writer.add(finding)
        writer.close(checked.summary, policy_facts, None)
    elif output_format in ci.CI_FORMATS:
        with ci.utf8_stdout() as stream:
            ci_writer = ci.check_writer(
                output_format,
                stream,
                policy,
                limit=limit,
                duplicate_ids=duplicate_ids,
                fail_on=Severity(fail_on),
            )
            for finding in checked.findings:
                ci_writer.add(finding)
            ci_writer.close(checked.summary)
    else:
        groups = Groups(policy.criteria_in_order(), limit)
        for finding in checked.findings:
            groups.add(finding)
        use_color = _wants_color() if color is None else color
        name = f"{policy.name} ({policy.file})"
        text_report.render(console_for(sys.stdout, use_color), name, checked.summary, groups)


def _is_error(code: str) -> bool:
    return DATA_RULES[code].severity is Severity.ERROR


class _EventLogs:
    """The findings of `--events` logs, read after the exports and counted in the summary."""

    def __init__(
        self, checker: Checker, names: tuple[str, ...], time_column: str, zone: dt.tzinfo
    ) -> None:
        self.checker = checker
        self.names = list(names)
        self.time_column = time_column
        self.zone = zone
        self.counts: Counter[str] = Counter()
        self.events = 0

    def findings(self, input_format: str | None, encoding: str | None) -> Iterator[Finding]:
        if not self.names:
            return
        log = EventLog(
            self.checker.policy,
            as_of=self.checker.as_of or runtime.today_utc(),
            timezone=self.zone,
            time_column=self.time_column,
        )
        summary = self.checker.summary
        for finding in log.check_files(self.names, input_format=input_format, encoding=encoding):
            self.counts[finding.code] += 1
            summary.findings[finding.code] += 1
            yield finding
        self.events = log.events
        if self.checker.summary.files:
            summary.files.extend(self.names)


def _waivers_or_exit(
    explicit: str | None, policy_path: str, policy: Policy, day: dt.date | None
) -> Waivers | None:
    path = explicit or waivers_beside(policy_path)
    if path is None:
        return None
    try:
        return load_waivers(path, policy, day)
    except WaiverError as error:
        click.echo(f"stagelang: {error}", err=True)
        sys.exit(EXIT_USAGE)


def _load_policy_or_exit(path: str) -> Policy:
    try:
        return load(path, root=_policy_root())
    except PolicyFileError as error:
        click.echo(f"stagelang: {error}", err=True)
    except PolicyError as error:
        source = read_policy_text(path)
        for diagnostic in error.errors:
            click.echo(render(diagnostic, source_for(diagnostic, path, source)), err=True)
            click.echo(err=True)
        click.echo(
            f"stagelang: {path} has errors; fix them before checking data (stagelang lint {path})",
            err=True,
        )
    sys.exit(EXIT_USAGE)


def _is_encoding(name: str) -> bool:
    try:
        codecs.lookup(name)
    except LookupError:
        return False
    return True


def _timezone_or_exit(name: str) -> dt.tzinfo:
    offset = re.fullmatch(r"([+-])(\d{2}):?(\d{2})", name)
    if offset:
        sign = 1 if offset[1] == "+" else -1
        minutes = int(offset[2]) * 60 + int(offset[3])
        return dt.timezone(sign * dt.timedelta(minutes=minutes))
    if name.upper() in ("UTC", "Z"):
        return dt.UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        click.echo(
            f'stagelang: unknown time zone "{name}"; use a name such as Asia/Tokyo '
            "or an offset such as +09:00",
            err=True,
        )
        sys.exit(EXIT_USAGE)


def _check_to_text(
    checker: Checker,
    logs: _EventLogs,
    data: tuple[str, ...],
    input_format: str | None,
    encoding: str | None,
    limit: int,
    color: bool,
) -> None:
    groups = Groups(checker.policy.criteria_in_order(), limit)
    waived = WaivedLog(limit)
    with _progress() as advance:
        for result in checker.check_files(list(data), input_format=input_format, encoding=encoding):
            for finding in result.findings:
                groups.add(finding)
            for exempted in result.waived:
                waived.add(exempted)
            advance()
        for finding in logs.findings(input_format, encoding):
            groups.add(finding)
        for finding in checker.finish():
            groups.add(finding)
    policy = checker.policy
    if not data:
        console = console_for(sys.stdout, color)
        name = f"{policy.name} ({policy.file})"
        text_report.render_events(console, name, logs.names, logs.events, groups)
        return
    text_report.render(
        console_for(sys.stdout, color),
        f"{policy.name} ({policy.file})",
        checker.summary,
        groups,
        waived if checker.waivers else None,
    )


def _check_to_json(
    checker: Checker,
    logs: _EventLogs,
    data: tuple[str, ...],
    input_format: str | None,
    encoding: str | None,
) -> None:
    writer = JsonWriter(sys.stdout)
    for result in checker.check_files(list(data), input_format=input_format, encoding=encoding):
        for finding in result.findings:
            writer.add(finding)
        for exempted in result.waived:
            writer.add_waived(exempted)
    for finding in logs.findings(input_format, encoding):
        writer.add(finding)
    for finding in checker.finish():
        writer.add(finding)
    policy = checker.policy
    writer.close(
        checker.summary,
        {"name": policy.name, "file": policy.file, "stages": list(policy.stages)},
        checker.waivers,
    )


def _check_to_csv(
    checker: Checker,
    data: tuple[str, ...],
    input_format: str | None,
    encoding: str | None,
    output_encoding: str | None,
) -> None:
    writer: CsvWriter | None = None
    sys.stdout.flush()
    for name in data:
        with open_table(name, input_format=input_format, encoding=encoding) as table:
            if writer is None:
                columns = table.columns or [f.column for f in checker.policy.fields.values()]
                chosen = output_encoding or table.encoding
                writer = CsvWriter(
                    sys.stdout.buffer,
                    chosen,
                    columns,
                    table.format == "tsv",
                    waivers=checker.waivers is not None,
                )
            for result in checker.check_table(table):
                writer.add(result)
    if writer is not None:
        writer.close()
    for finding in checker.finish():
        # The CSV holds the export's rows; findings about the waivers file go to the log.
        click.echo(f"stagelang: {finding.file}:{finding.line}: {finding.message}", err=True)


def _check_for_ci(
    checker: Checker,
    logs: _EventLogs,
    data: tuple[str, ...],
    input_format: str | None,
    encoding: str | None,
    output_format: str,
    limit: int,
    fail_on: str,
) -> None:
    with ci.utf8_stdout() as stream:
        writer = ci.check_writer(
            output_format,
            stream,
            checker.policy,
            limit=limit,
            duplicate_ids=checker.duplicate_ids,
            fail_on=Severity(fail_on),
        )
        with _progress() as advance:
            for result in checker.check_files(
                list(data), input_format=input_format, encoding=encoding
            ):
                for finding in result.findings:
                    writer.add(finding)
                for exempted in result.waived:
                    writer.add_waived(exempted)
                advance()
            for finding in logs.findings(input_format, encoding):
                writer.add(finding)
            for finding in checker.finish():
                writer.add(finding)
        writer.close(checker.summary)


@contextlib.contextmanager
def _progress() -> Iterator[Callable[[], None]]:
    """A record counter on standard error, only when it is a terminal."""
    if not sys.stderr.isatty():
        yield lambda: None
        return
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn

    columns = (SpinnerColumn(), TextColumn("checked {task.completed:,} records"))
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("check", total=None)
        counter = 0

        def advance() -> None:
            nonlocal counter
            counter += 1
            if counter % 1000 == 0:
                progress.update(task, completed=counter)

        yield advance


@main.command()
@click.argument("policy_path", metavar="POLICY", type=click.Path())
@click.argument("data", nargs=-1, type=click.Path(allow_dash=True))
@_policy_root_option
@click.option(
    "--events",
    multiple=True,
    type=click.Path(),
    help="An event log (one row per stage change) to take stays from; may be repeated.",
)
@click.option(
    "--event-time",
    default="timestamp",
    show_default=True,
    help="The event log's column with the time of each stage change.",
)
@click.option("--by", "segment", help="A segment to set against everyone else (global).")
@as_of_option("The date stays still running are measured to (default: today in UTC).")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "markdown", "json", "csv"]),
    default="text",
    show_default=True,
    help="text: a table for the terminal; markdown; json (docs/report-output.schema.json); "
    "csv: one row per stage and group.",
)
@click.option(
    "--html",
    "html_path",
    type=click.Path(dir_okay=False),
    help="Also write one self-contained HTML page with the table and the chart.",
)
@click.option(
    "--chart",
    "chart_path",
    type=click.Path(dir_okay=False),
    help="Also write the chart alone, as .png or .svg (by the file's ending).",
)
@click.option(
    "--input-format",
    type=click.Choice(list(FORMATS)),
    help="Read DATA and event logs as this format (default: by file extension).",
)
@encoding_option
@timezone_option
@click.option("--color/--no-color", default=None, help="Colour the text output.")
def report(
    policy_path: str,
    data: tuple[str, ...],
    events: tuple[str, ...],
    event_time: str,
    segment: str | None,
    as_of: dt.datetime | None,
    output_format: str,
    html_path: str | None,
    chart_path: str | None,
    input_format: str | None,
    encoding: str | None,
    zone_name: str,
    color: bool | None,
) -> None:
    """Report time in stage, conversion and stalled records, per stage and segment.

    DATA are exports whose stages bind date-entered columns (`entered from "..."`, or a
    preset's with `use hubspot`); --events adds event logs. Each source is counted as it is:
    a record in both an export and a log counts twice, so give each record's history once.
    Medians and percentiles are Kaplan-Meier estimates, so records still in a stage count for
    what is known of their stay; the naive mean of finished stays is shown beside them.

    \b
    Examples:
      stagelang report policies/japan.stage examples/contacts.csv --by japan
      stagelang report policies/japan.stage --events examples/stage-changes.csv --by japan
      stagelang report policies/japan.stage examples/contacts.csv --by japan --html report.html
    """
    if not data and not events:
        raise click.UsageError("give exports (DATA) with date columns, or event logs with --events")
    if chart_path is not None and not chart_path.lower().endswith((".png", ".svg")):
        raise click.UsageError("--chart writes a .png or an .svg file: end the name with one")
    policy = _load_policy_or_exit(policy_path)
    if segment is not None and segment not in policy.segments:
        known = ", ".join(policy.segments) or "the policy declares none"
        raise click.UsageError(f'--by: "{segment}" is not a segment of the policy ({known})')
    collector = TimeInStage(
        policy,
        by=segment,
        as_of=as_of.date() if as_of else runtime.today_utc(),
        timezone=_timezone_or_exit(zone_name),
    )
    try:
        if data:
            collector.read_exports(list(data), input_format=input_format, encoding=encoding)
        if events:
            collector.read_events(
                list(events), time_column=event_time, input_format=input_format, encoding=encoding
            )
        figures = collector.result()
        _write_report_files(figures, html_path, chart_path)
    except (InputError, ChartUnavailable) as error:
        click.echo(f"stagelang: {error}", err=True)
        sys.exit(EXIT_USAGE)
    if output_format == "json":
        render_report.write_json(figures, sys.stdout)
    elif output_format == "csv":
        render_report.write_csv(figures, sys.stdout)
    elif output_format == "markdown":
        render_report.write_markdown(figures, sys.stdout)
    else:
        use_color = _wants_color() if color is None else color
        render_report.write_text(figures, console_for(sys.stdout, use_color))


def _write_report_files(figures: Report, html_path: str | None, chart_path: str | None) -> None:
    from stagelang.reporting import chart

    try:
        if html_path is not None:
            with open(html_path, "w", encoding="utf-8") as out:
                out.write(chart.page(figures))
        if chart_path is not None:
            image = chart.chart(figures, chart_path.rsplit(".", 1)[-1].lower())
            with open(chart_path, "wb") as binary:
                binary.write(image)
    except OSError as error:
        raise InputError(error.filename or "", f"cannot write the file: {error.strerror}") from None


@main.command()
@click.argument("policy_path", metavar="POLICY", type=click.Path())
@_policy_root_option
@click.option(
    "--dialect",
    type=click.Choice(["duckdb", "postgres", "snowflake", "bigquery", "spark"]),
    default="duckdb",
    show_default=True,
    help="The SQL dialect to write.",
)
@click.option("--table", help="The table holding the records, e.g. crm.contacts.")
@click.option(
    "--run",
    "run_path",
    type=click.Path(exists=True, dir_okay=False),
    help="Run the findings query on embedded DuckDB over this CSV or Parquet export and print "
    "its rows as CSV, instead of printing SQL.",
)
@click.option(
    "--query",
    type=click.Choice(["both", "findings", "summary"]),
    default="both",
    show_default=True,
    help="findings: one row per record that does not conform; summary: counts per stage and "
    "segment.",
)
@as_of_option("The date `today` means (default: the warehouse's CURRENT_DATE when the query runs).")
def sql(
    policy_path: str,
    dialect: str,
    table: str | None,
    run_path: str | None,
    query: str,
    as_of: dt.datetime | None,
) -> None:
    """Print SQL that checks a table of records against a policy, for a warehouse.

    The findings query returns one row per record that does not conform: its id, stage value,
    the stage it names, a problem (missing-stage, unknown-stage) and the unmet criteria, named
    as `stagelang check` names them. See docs/scale.md.

    \b
    Examples:
      stagelang sql policies/japan.stage --dialect postgres --table crm.contacts
      stagelang sql policies/japan.stage --dialect bigquery --table crm.contacts --query summary
      stagelang sql policies/japan.stage --run export.parquet --as-of 2026-06-30

    \b
    Exit codes with --run: 0 every record conforms; 1 some do not; 2 usage errors, a policy
    with errors, or a file DuckDB cannot read.
    """
    from stagelang.warehouse import check_on_duckdb, render_sql

    if (table is None) == (run_path is None):
        raise click.UsageError("give --table to print SQL, or --run FILE to run it on DuckDB")
    policy = _load_policy_or_exit(policy_path)
    today = as_of.date() if as_of else None
    try:
        if table is not None:
            click.echo(render_sql(policy, table, dialect, query, today))
            return
        assert run_path is not None
        result = check_on_duckdb(policy, run_path, today=today)
    except StagelangError as error:
        click.echo(f"stagelang: {error}", err=True)
        sys.exit(EXIT_USAGE)
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(["id", "stage", "stage_name", "problem", "unmet"])
    for record_id, stage, stage_name, problem, unmet in result.findings:
        writer.writerow([record_id, stage, stage_name, problem, "; ".join(unmet)])
    records = sum(row[2] for row in result.summary if row[0] == "stage")
    click.echo(
        f"{records} records, {len(result.findings)} not conforming (DuckDB engine)", err=True
    )
    sys.exit(EXIT_FINDINGS if result.findings else EXIT_CLEAN)


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option(
    "--check", is_flag=True, help="Change no file; list those that would change and exit 1."
)
@click.option(
    "--diff",
    "show_diff",
    is_flag=True,
    help="Change no file; print what would change as a unified diff and exit 1.",
)
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help=_CONFIG_HELP)
def fmt(paths: tuple[str, ...], check: bool, show_diff: bool, config_path: str | None) -> None:
    """Rewrite policy files in the one canonical style, keeping every comment.

    PATHS are policy files or folders; folders are searched for *.stage files (default: the
    paths of the configuration). Formatting
    never changes what a policy means. The style is described in docs/language.md,
    "Formatting".

    \b
    Exit codes: 0 done, or nothing to change; 1 with --check or --diff, a file would
    change; 2 a file cannot be read or has syntax errors (nothing is written to it).

    \b
    Examples:
      stagelang fmt policies/
      stagelang fmt --check policies/
      stagelang fmt --diff policies/japan.stage
    """
    if not paths:
        paths = _paths_or_exit(paths, _config_or_exit(paths, config_path))
    files, missing = find_policy_files(paths)
    for path in missing:
        click.echo(f"stagelang: {_missing_path(path)}", err=True)

    dry_run = check or show_diff
    changed, failed = 0, len(missing)
    for path in files:
        texts = _formatted_or_none(path)
        if texts is None or not _report_change(path, texts, check, show_diff):
            failed += 1
        elif texts[0] != texts[1]:
            changed += 1

    unchanged = len(files) + len(missing) - changed - failed
    click.echo(_fmt_summary(changed, unchanged, failed, dry_run), err=show_diff)
    if failed:
        sys.exit(EXIT_USAGE)
    sys.exit(EXIT_FINDINGS if changed and dry_run else EXIT_CLEAN)


def _missing_path(path: str) -> str:
    return path if ": " in path else f"{path}: no such file or folder"


def _formatted_or_none(path: str) -> tuple[str, str] | None:
    """The file's text and its formatted text; None, once the reason is printed, if neither."""
    try:
        source = read_policy_text(path)
    except PolicyFileError as error:
        click.echo(f"stagelang: {error}", err=True)
        return None

    try:
        return source, format_source(source, path)
    except PolicyError as error:
        color = sys.stderr.isatty() and not os.environ.get("NO_COLOR")
        for diagnostic in error.errors:
            click.echo(render(diagnostic, source, color=color), err=True)
            click.echo(err=True)
        click.echo(f"stagelang: {path} has syntax errors, so it was not formatted", err=True)
        return None


def _report_change(path: str, texts: tuple[str, str], check: bool, show_diff: bool) -> bool:
    """Print the diff, list the file or rewrite it, as the options ask; False if it cannot be
    written."""
    source, formatted = texts
    if source == formatted:
        return True
    if show_diff:
        lines = difflib.unified_diff(
            source.splitlines(keepends=True), formatted.splitlines(keepends=True), path, path
        )
        click.echo("".join(lines), nl=False)
    elif check:
        click.echo(f"would reformat {path}")
    else:
        try:
            with open(path, "w", encoding="utf-8", newline="") as file:
                file.write(formatted)
        except OSError as error:
            click.echo(f"stagelang: {path}: cannot write the file: {error.strerror}", err=True)
            return False
        click.echo(f"reformatted {path}")
    return True


def _fmt_summary(changed: int, unchanged: int, failed: int, dry_run: bool) -> str:
    def files(number: int) -> str:
        return f"{number} policy file{'s' if number != 1 else ''}"

    parts = []
    if changed:
        parts.append(f"{files(changed)} {'would be reformatted' if dry_run else 'reformatted'}")
    if unchanged or not (changed or failed):
        parts.append(f"{files(unchanged)} already formatted")
    if failed:
        parts.append(f"{failed} could not be formatted")
    return ", ".join(parts) + "."


@main.command()
@click.argument("old_path", metavar="OLD", type=click.Path())
@click.argument("new_path", metavar="NEW", type=click.Path())
@click.argument("data", nargs=-1, required=True, type=click.Path())
@_policy_root_option
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "markdown", "github", "json"]),
    default="text",
    show_default=True,
    help="text for a terminal; markdown for a pull-request comment; github appends the "
    "Markdown to the job summary ($GITHUB_STEP_SUMMARY) and writes a notice; json for tools.",
)
@click.option(
    "--input-format",
    type=click.Choice(list(FORMATS)),
    help="Read DATA as this format (default: by file extension).",
)
@encoding_option
@timezone_option
@as_of_option("The date `today` means in both policies (default: the current date in UTC).")
@limit_option("How many example records to show for each kind of change.")
@click.option(
    "--fail-on-new-failures",
    is_flag=True,
    help="Exit 1 when a record that conforms under OLD does not under NEW.",
)
@click.option("--color/--no-color", default=None, help="Colour the text output.")
def impact(
    old_path: str,
    new_path: str,
    data: tuple[str, ...],
    output_format: str,
    input_format: str | None,
    encoding: str | None,
    zone_name: str,
    as_of: dt.datetime | None,
    limit: int,
    fail_on_new_failures: bool,
    color: bool | None,
) -> None:
    """Show what changing policy OLD into NEW does to the records of exports.

    Both versions check every record of DATA; the report counts, per stage and per segment,
    the records that newly fail, newly pass, or qualify for a different stage, with examples
    and the reasons. Exit 0 (or 1 with --fail-on-new-failures when a record newly fails);
    2 for a policy with errors or an export either policy cannot read.

    \b
    Examples:
      git worktree add ../base main     # the policies as they are on main
      stagelang impact ../base/policies/japan.stage policies/japan.stage export.csv
      stagelang impact old.stage new.stage export.csv --format markdown > comment.md
      stagelang impact old.stage new.stage export.csv --format github
    """
    old = _load_policy_or_exit(old_path)
    new = _load_policy_or_exit(new_path)
    timezone = _timezone_or_exit(zone_name)
    try:
        found = compare_policies(
            old,
            new,
            list(data),
            input_format=input_format,
            encoding=encoding,
            timezone=timezone,
            as_of=as_of.date() if as_of else None,
            limit=limit,
        )
    except (InputError, ImpactError) as error:
        click.echo(f"stagelang: {error}", err=True)
        sys.exit(EXIT_USAGE)

    if output_format == "markdown":
        click.echo(impact_report.render_markdown(found), nl=False)
    elif output_format == "json":
        impact_report.write_json(found, sys.stdout)
    elif output_format == "github":
        _impact_to_github(found)
    else:
        use_color = _wants_color() if color is None else color
        impact_report.render_text(console_for(sys.stdout, use_color), found)
    failing = fail_on_new_failures and found.totals.newly_failing
    sys.exit(EXIT_FINDINGS if failing else EXIT_CLEAN)


def _impact_to_github(found: Impact) -> None:
    path = os.environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        impact_report.write_github(found, sys.stdout, None)
        return
    try:
        with open(path, "a", encoding="utf-8") as summary:
            impact_report.write_github(found, sys.stdout, summary)
    except OSError as error:
        click.echo(f"stagelang: {path}: cannot write the job summary: {error.strerror}", err=True)
        sys.exit(EXIT_USAGE)


@main.command()
@click.argument("policy_path", metavar="POLICY", type=click.Path())
@_policy_root_option
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True),
    help="Write the schema to this file instead of standard output.",
)
def schema(policy_path: str, output: str | None) -> None:
    """Print the JSON Schema (draft 2020-12) of one record of an export under POLICY.

    One property per field, keyed by its export column: the JSON types stagelang reads for
    it, the formats of dates and times, the required fields and the stage values. Data teams
    can validate their JSON or JSON Lines exports with it before checking them; `stagelang
    check` validates JSON records with it too (SL507).

    \b
    Examples:
      stagelang schema policies/japan.stage
      stagelang schema policies/japan.stage -o record.schema.json
    """
    policy = _load_policy_or_exit(policy_path)
    text = json.dumps(record_schema(policy), ensure_ascii=False, indent=2) + "\n"
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        with open(output, "w", encoding="utf-8") as file:
            file.write(text)
    except OSError as error:
        click.echo(f"stagelang: {output}: cannot write the file: {error.strerror}", err=True)
        sys.exit(EXIT_USAGE)


# The commands for policy authors live in their own module; registered here so `stagelang`
# lists them with the others.
from stagelang.authoring_cli import fuzz_command, test_command  # noqa: E402

main.add_command(fuzz_command)
main.add_command(test_command)
