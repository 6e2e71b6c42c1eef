"""How `stagelang impact` shows a policy change: text for a terminal, Markdown for a pull-request
comment, a GitHub job summary, and JSON for tools."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import IO

from rich.console import Console
from rich.table import Table

from stagelang.impact import KINDS, NEWLY_FAILING, Change, Impact, Tally
from stagelang.outputs.github import command

_COLUMNS = ("Records", "Newly fail", "Newly pass", "Qualifying stage changed")


def headline(impact: Impact) -> str:
    """One sentence: what the change does, in counts."""
    totals = impact.totals
    counts = (
        f"{totals.newly_failing:,} newly fail, {totals.newly_passing:,} newly pass, "
        f"{totals.qualifying_changed:,} change their qualifying stage"
    )
    unreadable = (
        f"; {impact.unreadable:,} row{'s' if impact.unreadable != 1 else ''} could not be "
        f"read and {'were' if impact.unreadable != 1 else 'was'} not compared"
        if impact.unreadable
        else ""
    )
    if not totals.changed:
        return f"No change: all {impact.records:,} records have the same verdicts{unreadable}."
    return f"Of {impact.records:,} records, {counts}{unreadable}."


# Text


def render_text(console: Console, impact: Impact) -> None:
    console.print(f"Impact of {impact.old} -> {impact.new} on {', '.join(impact.files)}.")
    console.print()
    console.print(_table("Stage", impact.by_stage))
    if impact.by_segment:
        console.print()
        console.print(_table("Segment", impact.by_segment))
    console.print()
    for kind, changes in impact.examples.items():
        if not changes:
            continue
        console.print(f"[bold]{kind.capitalize()}[/bold]  [dim]{_records(_count(impact, kind))}")
        for change in changes:
            console.print(f"  {_where(change)}  {_detail(change, kind)}", markup=False)
        _more(console, impact, kind, len(changes))
        console.print()
    console.print(headline(impact))


def _table(title: str, tallies: Mapping[str, Tally]) -> Table:
    table = Table(box=None, pad_edge=False, header_style="bold")
    table.add_column(title)
    for column in _COLUMNS:
        table.add_column(column, justify="right")
    for name, tally in tallies.items():
        table.add_row(name, *_cells(tally), style="red" if tally.newly_failing else None)
    return table


def _more(console: Console, impact: Impact, kind: str, shown: int) -> None:
    hidden = _count(impact, kind) - shown
    if hidden:
        console.print(f"  [dim]and {hidden:,} more (--limit shows more)")


# Markdown, for a pull-request comment or a job summary


def render_markdown(impact: Impact) -> str:
    return "\n".join(_markdown_lines(impact)) + "\n"


def _markdown_lines(impact: Impact) -> Iterator[str]:
    files = ", ".join(f"`{_code(name)}`" for name in impact.files)
    yield f"### Policy change: `{_code(impact.old)}` → `{_code(impact.new)}`"
    yield ""
    yield f"On {files}. {_bold_failures(impact)}"
    yield ""
    for title, tallies in (("Stage", impact.by_stage), ("Segment", impact.by_segment)):
        if not tallies:
            continue
        yield f"| {title} | " + " | ".join(_COLUMNS) + " |"
        yield "|---|" + "---:|" * len(_COLUMNS)
        for name, tally in tallies.items():
            yield f"| {_cell(name)} | " + " | ".join(_cells(tally)) + " |"
        yield ""
    for kind, changes in impact.examples.items():
        if not changes:
            continue
        count = _count(impact, kind)
        opened = " open" if kind == NEWLY_FAILING else ""
        yield f"<details{opened}><summary>{kind.capitalize()}: {_records(count)}</summary>"
        yield ""
        yield "| Record | Where | Stage | What changed |"
        yield "|---|---|---|---|"
        for change in changes:
            record = _cell(change.record_id) if change.record_id else "(no id)"
            where = _cell(f"{change.file}:{change.line}")
            stage = _cell(change.stage or "")
            yield f"| {record} | {where} | {stage} | {_cell(_detail(change, kind))} |"
        hidden = count - len(changes)
        if hidden:
            yield ""
            yield f"and {hidden:,} more (`--limit` shows more)."
        yield ""
        yield "</details>"
        yield ""


def _bold_failures(impact: Impact) -> str:
    line = headline(impact)
    failing = f"{impact.totals.newly_failing:,} newly fail"
    if impact.totals.newly_failing:
        line = line.replace(failing, f"**{failing}**", 1)
    return line


def _cell(text: str) -> str:
    # A cell is one line; a pipe would end it and angle brackets would be read as HTML.
    text = " ".join(text.split())
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def _code(text: str) -> str:
    return text.replace("`", "'")


# GitHub: a job summary, and a notice with the headline


def write_github(impact: Impact, stream: IO[str], summary: IO[str] | None) -> None:
    """Append the Markdown report to the job summary (GITHUB_STEP_SUMMARY), or to the stream
    when there is none, and write the headline as a notice for the run's annotations."""
    (summary or stream).write(render_markdown(impact))
    level = "warning" if impact.totals.newly_failing else "notice"
    stream.write(command(level, headline(impact), {"title": "stagelang impact"}) + "\n")


# JSON


def write_json(impact: Impact, stream: IO[str]) -> None:
    stream.write(json.dumps(impact.to_dict(), ensure_ascii=False, indent=2) + "\n")


# Shared


def _cells(tally: Tally) -> list[str]:
    counts = (tally.records, tally.newly_failing, tally.newly_passing, tally.qualifying_changed)
    return [f"{count:,}" for count in counts]


def _count(impact: Impact, kind: str) -> int:
    totals = impact.totals
    return dict(
        zip(
            KINDS,
            (totals.newly_failing, totals.newly_passing, totals.qualifying_changed),
            strict=True,
        )
    )[kind]


def _records(count: int) -> str:
    return f"{count:,} record{'s' if count != 1 else ''}"


def _where(change: Change) -> str:
    who = f"id {change.record_id}" if change.record_id else "no id"
    return f"{change.file}:{change.line}  {who}"


def _detail(change: Change, kind: str) -> str:
    if kind == NEWLY_FAILING:
        return "now fails: " + "; ".join(change.reasons)
    if kind == "newly passing":
        return "now passes; failed: " + "; ".join(change.reasons)
    old = change.old_qualifying or "no stage"
    new = change.new_qualifying or "no stage"
    return f"qualifies for {new}, was {old}"
