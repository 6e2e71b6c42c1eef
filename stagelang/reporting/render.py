"""Renderers of the time-in-stage report: a terminal table, Markdown, CSV and JSON.

All four show the same rows: one per stage and group (the segment, then everyone else as
"global"), with the same column names, so that a figure read in one can be found in another.
"""

from __future__ import annotations

import csv
import json
from typing import IO, Any

from rich.console import Console
from rich.table import Table

from stagelang.reporting.time_in_stage import GroupFigures, Report

# (heading, how to read it from a row) in the order the columns are shown.
COLUMNS = [
    "stage",
    "group",
    "entered",
    "moved on",
    "ended (outcome)",
    "still there",
    "stalled",
    "conversion",
    "naive mean days (finished stays)",
    "median days",
    "p75 days",
    "p90 days",
    "expected dwell days",
    "median ratio to global",
]

# Shorter headings for the terminal, in the same order, so that the table fits 100 columns.
SHORT = [
    "stage",
    "group",
    "entered",
    "moved on",
    "outcome",
    "still in",
    "stalled",
    "conv.",
    "naive mean",
    "median",
    "p75",
    "p90",
    "expected",
    "ratio",
]

NOTE = (
    "Median, p75 and p90 are Kaplan-Meier estimates: stays still running at the as-of date "
    "count for what is known of them. The naive mean averages finished stays only, so it "
    "understates slow stages. A dash: no figure (no stays, or too many still running to tell). "
    "Conversion: moved on / entered."
)


def rows(report: Report) -> list[list[Any]]:
    """The report's rows, as plain values (None where there is no figure)."""
    found: list[list[Any]] = []
    for stage in report.stages:
        for name, figures in stage.groups.items():
            ratio = stage.median_ratio if name == report.by else None
            found.append([stage.stage, name, *_values(figures), ratio])
    return found


def _values(figures: GroupFigures) -> list[Any]:
    return [
        figures.entered,
        figures.moved_on,
        figures.ended,
        figures.still_there,
        figures.stalled,
        figures.conversion,
        figures.naive_mean_days,
        figures.median_days,
        figures.p75_days,
        figures.p90_days,
        figures.expected_dwell_days,
    ]


def shown(value: Any, column: str) -> str:
    """A figure as people read it: days to one decimal, shares as percentages."""
    if value is None:
        return "-"
    if column == "conversion":
        return f"{value:.0%}"
    if column == "median ratio to global":
        return f"{value:.2f}x"
    if isinstance(value, float):
        return f"{value:.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def heading(report: Report) -> str:
    grouped = f", {report.by} against everyone else (global)" if report.by else ""
    counted = f"{report.records:,} records"
    if report.events:
        counted += f" ({report.events:,} events)"
    return (
        f"Time in stage for {report.policy} ({report.file}), as of {report.as_of.isoformat()}"
        f"{grouped}: {counted} from {', '.join(report.sources)}."
    )


def skipped_line(report: Report) -> str | None:
    # What was not counted, in the singular and the plural.
    words = {
        "no_stage": ("record", "records", " with no stage of the policy"),
        "unreadable_rows": ("unreadable row", "unreadable rows", ""),
        "unreadable_dates": ("date", "dates", " that could not be read (taken as missing)"),
        "unusable_events": (
            "event",
            "events",
            " with no known stage or record id, an unreadable time or row, or out of time "
            "order (stagelang check --events lists them)",
        ),
    }
    parts = []
    for what, count in report.skipped.items():
        if count:
            one, many, rest = words.get(what, (what, what, ""))
            parts.append(f"{count:,} {one if count == 1 else many}{rest}")
    return "Not counted: " + ", ".join(parts) + "." if parts else None


def write_text(report: Report, console: Console) -> None:
    # Fourteen columns of figures need more than the 80 columns assumed for a pipe; a row
    # cut into ellipses would hide the figures themselves.
    console.width = max(console.width, 132)
    console.print(heading(report), markup=False)
    console.print()
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in SHORT:
        left = column in ("stage", "group")
        table.add_column(
            column, justify="left" if left else "right", no_wrap=True, min_width=len(column)
        )
    for row in rows(report):
        stalled = row[COLUMNS.index("stalled")]
        table.add_row(
            *(shown(v, c) for v, c in zip(row, COLUMNS, strict=True)),
            style="yellow" if stalled else None,
        )
    console.print(table)
    console.print()
    skipped = skipped_line(report)
    if skipped:
        console.print(skipped, markup=False)
    console.print(
        "Days in stage. median, p75, p90: Kaplan-Meier estimates, which count stays still "
        "running at the as-of date; naive mean: finished stays only, biased low; expected: the "
        "policy's expected dwell; ratio: median against global; conv.: moved on / entered; "
        "a dash: no figure.",
        markup=False,
    )


def write_markdown(report: Report, out: IO[str]) -> None:
    out.write(f"{heading(report)}\n\n")
    out.write("| " + " | ".join(COLUMNS) + " |\n")
    out.write("|" + "|".join("---" if c in ("stage", "group") else "---:" for c in COLUMNS) + "|\n")
    for row in rows(report):
        cells = [shown(v, c).replace("|", "\\|") for v, c in zip(row, COLUMNS, strict=True)]
        out.write("| " + " | ".join(cells) + " |\n")
    out.write("\n")
    skipped = skipped_line(report)
    if skipped:
        out.write(f"{skipped}\n\n")
    out.write(f"{NOTE}\n")


def write_csv(report: Report, out: IO[str]) -> None:
    """One row per stage and group; numbers unformatted (days to two decimals)."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([c.replace(" ", "_").replace("(", "").replace(")", "") for c in COLUMNS])
    for row in rows(report):
        writer.writerow(
            ["" if v is None else round(v, 4) if isinstance(v, float) else v for v in row]
        )


def write_json(report: Report, out: IO[str]) -> None:
    json.dump(report.to_dict(), out, ensure_ascii=False, indent=2)
    out.write("\n")
