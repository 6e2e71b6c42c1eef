"""The time-in-stage chart and the self-contained HTML page (`--chart`, `--html`).

The chart is drawn with matplotlib, an optional dependency: `pip install 'stagelang[report]'`.
The page embeds the chart as SVG and the table as HTML, with no script and no link to fetch,
so that it opens anywhere without a network.
"""

from __future__ import annotations

import html
import io
from typing import Any

from stagelang.errors import StagelangError
from stagelang.reporting.render import COLUMNS, NOTE, heading, rows, shown, skipped_line
from stagelang.reporting.time_in_stage import Report

FORMATS = ("png", "svg")


class ChartUnavailable(StagelangError):
    """matplotlib is not installed."""


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")  # no display needed
        from matplotlib import pyplot
    except ImportError:
        raise ChartUnavailable("charts need matplotlib: pip install 'stagelang[report]'") from None
    return pyplot


def chart(report: Report, image_format: str) -> bytes:
    """The chart of median time in stage per stage, each group a bar, with the p75-p90 range
    as a whisker and the policy's expected dwell marked; PNG or SVG bytes."""
    if image_format not in FORMATS:
        raise ValueError(f"a chart is written as {' or '.join(FORMATS)}, not {image_format}")
    pyplot = _pyplot()
    stages = [s.stage for s in report.stages]
    groups = report.groups
    height = 0.8 / len(groups)
    figure, axes = pyplot.subplots(figsize=(9, 1.1 + 0.75 * len(stages)))
    colours = ["#c8553d", "#4a6fa5", "#7a9e7e"]
    for index, group in enumerate(groups):
        medians, lower, upper, expected = [], [], [], []
        for stage in report.stages:
            figures = stage.groups[group]
            median = figures.median_days or 0.0
            medians.append(median)
            lower.append(0.0)
            upper.append(max((figures.p90_days or median) - median, 0.0))
            expected.append(figures.expected_dwell_days)
        positions = [n + index * height for n in range(len(stages))]
        axes.barh(
            positions,
            medians,
            height=height * 0.9,
            xerr=[lower, upper],
            color=colours[index % len(colours)],
            ecolor="#555555",
            capsize=3,
            label=f"{group}: median (Kaplan-Meier), whisker to p90",
        )
        marks = [(p, e) for p, e in zip(positions, expected, strict=True) if e is not None]
        if marks:
            axes.scatter(
                [e for _, e in marks],
                [p for p, _ in marks],
                marker="|",
                s=400,
                linewidths=2.5,
                color="black" if index == 0 else "#777777",
                zorder=3,
                label=f"{group}: expected dwell",
            )
    axes.set_yticks([n + height * (len(groups) - 1) / 2 for n in range(len(stages))])
    axes.set_yticklabels(stages)
    axes.invert_yaxis()
    axes.set_xlabel("days in stage")
    axes.set_title(f"Time in stage: {report.policy}, as of {report.as_of.isoformat()}")
    axes.legend(loc="lower right", fontsize="small")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format=image_format, dpi=110, metadata=_reproducible(image_format))
    pyplot.close(figure)
    return buffer.getvalue()


def _reproducible(image_format: str) -> dict[str, Any]:
    # No creation date in the file, so that the same report gives the same bytes.
    return {"Date": None} if image_format == "svg" else {}


def page(report: Report) -> str:
    """One self-contained HTML page: the heading, the chart (inline SVG) and the table."""
    svg = chart(report, "svg").decode("utf-8")
    svg = svg[svg.index("<svg") :]  # drop the XML prolog and doctype
    head = "".join(f"<th>{html.escape(c)}</th>" for c in COLUMNS)
    body = []
    for row in rows(report):
        cells = "".join(
            f"<td>{html.escape(shown(v, c))}</td>" for v, c in zip(row, COLUMNS, strict=True)
        )
        stalled = row[COLUMNS.index("stalled")]
        body.append(f'<tr class="{"stalled" if stalled else ""}">{cells}</tr>')
    skipped = skipped_line(report)
    return _PAGE.format(
        title=html.escape(f"Time in stage: {report.policy}"),
        heading=html.escape(heading(report)),
        chart=svg,
        head=head,
        rows="\n".join(body),
        skipped=f"<p>{html.escape(skipped)}</p>" if skipped else "",
        note=html.escape(NOTE),
    )


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; font-size: 14px; }}
th, td {{ padding: 4px 8px; border-bottom: 1px solid #ddd; text-align: right; }}
th:nth-child(-n+2), td:nth-child(-n+2) {{ text-align: left; }}
tr.stalled td {{ background: #fff4d6; }}
figure {{ margin: 1em 0; max-width: 900px; }}
</style>
</head>
<body>
<h1>{title}</h1>
<p>{heading}</p>
<figure id="chart">
{chart}
</figure>
<table id="figures">
<thead><tr>{head}</tr></thead>
<tbody>
{rows}
</tbody>
</table>
{skipped}
<p>{note}</p>
</body>
</html>
"""
