"""The terminal report of `stagelang check`: summary tables, then findings by criterion."""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, TYPE_CHECKING

from rich.console import Console
from rich.table import Table

from stagelang.checking import Summary, Tally
from stagelang.outputs.grouping import Group, Groups
from stagelang.verdicts import format_value

if TYPE_CHECKING:
    from stagelang.findings import Finding
    from stagelang.waivers import WaivedGroup, WaivedLog


def console_for(stream: IO[str], color: bool) -> Console:
    """A console that colours only when asked, and never wraps a finding's line mid-value."""
    return Console(
        file=stream,
        color_system="standard" if color else None,
        force_terminal=color,
        highlight=False,
        emoji=False,
        soft_wrap=True,
        width=100,
    )


def render_events(
    console: Console, policy_name: str, files: list[str], events: int, groups: Groups
) -> None:
    """Print what the event logs alone (no export) showed: the grouped findings."""
    console.print(f"Read {events:,} events in {', '.join(files)} against {policy_name}.")
    console.print()
    for group in groups.ordered():
        _print_group(console, group)
    found = sum(group.count for group in groups.groups.values())
    console.print(f"{found:,} findings." if found else "No findings: every transition is allowed.")


_ENGINES = {
    "python": "Python engine",
    "duckdb": "DuckDB engine",
    "duckdb and python": "DuckDB and Python engines",
    "postgresql": "PostgreSQL server",
}


def render(
    console: Console,
    policy_name: str,
    summary: Summary,
    groups: Groups,
    waived: WaivedLog | None = None,
) -> None:
    """Print the summary tables, the grouped findings, and the waived findings apart."""
    files = ", ".join(summary.files)
    engine = _ENGINES.get(summary.engine, summary.engine)
    console.print(
        f"Checked {summary.records:,} records in {files} against {policy_name} with the {engine}."
    )
    console.print()
    console.print(_tally_table("Stage", summary.by_stage, summary.waivers))
    console.print()
    if summary.by_segment:
        console.print(_tally_table("Segment", summary.by_segment, summary.waivers))
        console.print()
    if summary.unreadable:
        console.print(f"Rows that could not be read: {summary.unreadable:,}")
        console.print()

    for group in groups.ordered():
        _print_group(console, group)
    if waived is not None:
        for waived_group in waived.ordered():
            _print_waived(console, waived_group, waived.limit)

    console.print(_closing_line(summary))


def _print_waived(console: Console, group: WaivedGroup, limit: int) -> None:
    waiver = group.waiver
    records = f"{group.records:,} record{'s' if group.records != 1 else ''}"
    findings = f"{group.count:,} finding{'s' if group.count != 1 else ''}"
    console.print(f"[bold]Waived by {waiver.title}[/bold]  [dim]{findings} in {records}")
    console.print(f"  reason: {waiver.reason}", markup=False)
    for finding in group.examples:
        who = f"id {finding.record_id}" if finding.record_id else "no id"
        console.print(f"  {_where(finding)}  {who}  {finding.message}", markup=False)
    hidden = group.count - len(group.examples)
    if hidden:
        console.print(f"  [dim]and {hidden:,} more (--limit shows more)")
    console.print()


def _tally_table(title: str, tallies: Mapping[str, Tally], waivers: bool = False) -> Table:
    table = Table(box=None, pad_edge=False, header_style="bold")
    table.add_column(title)
    table.add_column("Records", justify="right")
    table.add_column("Conforming", justify="right")
    table.add_column("Not conforming", justify="right")
    if waivers:
        table.add_column("Waived", justify="right")
    for name, tally in tallies.items():
        cells = [name, f"{tally.records:,}", f"{tally.conforming:,}", f"{tally.not_conforming:,}"]
        if waivers:
            cells.append(f"{tally.waived:,}")
        table.add_row(*cells, style="red" if tally.not_conforming else None)
    return table


def _print_group(console: Console, group: Group) -> None:
    plural = "s" if group.count != 1 else ""
    # SL602 and SL603 are about the waivers in a waivers file, not about records.
    about_waivers = group.code in ("SL602", "SL603")
    unit = "waiver" if about_waivers else "record"
    console.print(f"[bold]{group.title}[/bold]  [dim]{group.code}, {group.count:,} {unit}{plural}")
    for finding in group.examples:
        where = _where(finding)
        who = "" if about_waivers else f"id {finding.record_id}" if finding.record_id else "no id"
        detail = _values(finding.values) if finding.code in ("SL501",) else finding.message
        console.print(f"  {where}  {who + '  ' if who else ''}{detail}", markup=False)
    hidden = group.count - len(group.examples)
    if hidden:
        console.print(f"  [dim]and {hidden:,} more (--limit shows more)")
    console.print()


def _where(finding: Finding) -> str:
    """file:line for an export; the table alone for a database table, whose rows have no line."""
    return f"{finding.file}:{finding.line}" if finding.line is not None else finding.file


def _values(values: dict[str, object] | object) -> str:
    if not isinstance(values, dict) or not values:
        return ""
    return ", ".join(
        f"{name} is missing" if value is None else f"{name} = {format_value(value)}"
        for name, value in values.items()
    )


def _closing_line(summary: Summary) -> str:
    failing = summary.not_conforming + summary.unreadable
    waived = ""
    if summary.waivers:
        count = sum(summary.waived_findings.values())
        verb = "conforms" if summary.waived == 1 else "conform"
        waived = (
            f" {summary.waived:,} more {verb} only by waivers "
            f"({count:,} waived finding{'s' if count != 1 else ''})."
        )
    # An expired waiver (SL602) fails the run even when every record conforms.
    if not failing and not summary.findings["SL602"]:
        if summary.waived:
            return f"{summary.conforming:,} of {summary.records:,} records conform.{waived}"
        return f"All {summary.records:,} records conform.{waived}"
    findings = sum(summary.findings.values())
    return (
        f"{summary.conforming:,} of {summary.records:,} records conform; "
        f"{summary.not_conforming:,} do not and {summary.unreadable:,} could not be read "
        f"({findings:,} findings).{waived}"
    )
