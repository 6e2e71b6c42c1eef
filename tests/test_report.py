"""stagelang report: censored estimates, the figures on the bundled example, every output."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import os
import re
import shutil
import subprocess
import tempfile
import warnings
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from stagelang.cli import main
from stagelang.history.survival import Durations, kaplan_meier

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads((ROOT / "docs" / "report-output.schema.json").read_text("utf-8"))
GOLDEN = ROOT / "tests" / "golden"
EXAMPLE = ["policies/japan.stage", "examples/contacts.csv", "--as-of", "2026-11-30"]


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(autouse=True)
def _in_the_project(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


# Kaplan-Meier ------------------------------------------------------------------------------


def test_a_hand_computed_case() -> None:
    # Finished stays of 2, 3, 3 and 5 days; two still running, seen for 3 and 4 days.
    # Day 2: 6 at risk, 1 leaves: S = 5/6. Day 3: 5 at risk (the one censored at 3 still
    # counts), 2 leave: S = 5/6 * 3/5 = 1/2. Then the censored 3 and 4 drop out; day 5: 1 at
    # risk, 1 leaves: S = 0.
    durations = Durations()
    for days in (2, 3, 3, 5):
        durations.add(days, finished=True)
    for days in (3, 4):
        durations.add(days, finished=False)

    steps = durations.curve()
    assert [t for t, _ in steps] == [2, 3, 5]
    assert [round(s, 9) for _, s in steps] == [round(5 / 6, 9), 0.5, 0.0]
    assert durations.percentiles(0.5, 0.75, 0.9) == [3, 5, 5]
    assert durations.naive_mean() == 3.25  # the finished stays only


def test_censoring_raises_the_median_above_the_naive_figure() -> None:
    # Half the stays are still running at 100 days: the median cannot be below 100 ... but
    # the finished half alone would say 10.
    durations = Durations()
    for _ in range(5):
        durations.add(10, finished=True)
        durations.add(100, finished=False)
    assert durations.naive_mean() == 10
    assert durations.percentiles(0.5) == [10]  # S(10) = 0.5 exactly
    durations.add(100, finished=False)
    assert durations.percentiles(0.5) == [None]  # more than half still running: not reached


def test_no_stays_give_no_figures() -> None:
    assert kaplan_meier([], []) == []
    assert Durations().percentiles(0.5) == [None]
    assert Durations().naive_mean() is None


@given(
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=60), st.booleans()), min_size=1, max_size=60
    )
)
def test_the_estimate_agrees_with_lifelines(stays: list[tuple[int, bool]]) -> None:
    lifelines = pytest.importorskip("lifelines")
    durations = Durations()
    for days, finished in stays:
        durations.add(days, finished)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = lifelines.KaplanMeierFitter().fit(
            [float(d) for d, _ in stays], [f for _, f in stays]
        )
        survival = fitted.survival_function_["KM_estimate"]
    for time, share in durations.curve():
        assert math.isclose(share, float(survival.loc[time]), abs_tol=1e-9)
    for q, ours in zip((0.5, 0.75, 0.9), durations.percentiles(0.5, 0.75, 0.9), strict=True):
        below = survival[survival <= 1 - q + 1e-12]
        theirs = float(below.index[0]) if len(below) else None
        assert ours == theirs


# The bundled example ---------------------------------------------------------------------


def report_json(*args: str) -> dict[str, Any]:
    code, out, err = run("report", *args, "--format", "json")
    assert code == 0, err
    document: dict[str, Any] = json.loads(out)
    jsonschema.validate(document, SCHEMA)
    return document


def figures(document: dict[str, Any], stage: str, group: str) -> dict[str, Any]:
    (found,) = [s for s in document["stages"] if s["stage"] == stage]
    result: dict[str, Any] = found["groups"][group]
    return result


def ratio(document: dict[str, Any], stage: str) -> float:
    (found,) = [s for s in document["stages"] if s["stage"] == stage]
    return float(found["median_ratio"])


def test_the_example_tells_the_japan_story() -> None:
    document = report_json(*EXAMPLE, "--by", "japan")
    assert document["groups"] == ["japan", "global"]
    assert 2 <= ratio(document, "MQL") <= 4  # MQL to SQL two to four times global
    assert ratio(document, "Opportunity") >= 2.5  # long ringi stays
    mql = figures(document, "MQL", "japan")
    assert mql["expected_dwell_days"] == 90
    assert figures(document, "MQL", "global")["expected_dwell_days"] == 30


def test_every_record_of_the_example_is_accounted_for() -> None:
    document = report_json(*EXAMPLE, "--by", "japan")
    # 300 rows: one ragged, two without a known stage.
    assert document["records"] == 299
    assert document["skipped"] == {
        "no_stage": 2,
        "unreadable_rows": 1,
        "unreadable_dates": 0,
        "unusable_events": 0,
    }
    first = document["stages"][0]["groups"]
    assert sum(g["entered"] for g in first.values()) == 299 - 2
    for stage in document["stages"]:
        for group in stage["groups"].values():
            assert group["entered"] == (
                group["moved_on"] + group["ended"] + group["moved_back"] + group["still_there"]
            )
            assert group["stalled"] <= group["still_there"]


def test_the_event_log_gives_the_same_story() -> None:
    document = report_json(
        "policies/japan.stage", "--events", "examples/stage-changes.csv", "--as-of", "2026-11-30",
        "--by", "japan",
    )  # fmt: skip
    assert document["events"] == 356
    assert ratio(document, "MQL") >= 1.5
    assert ratio(document, "Opportunity") >= 2

    assert document["skipped"]["unusable_events"] == 1  # the event planted out of time order
    _, out, _ = run(
        "report", "policies/japan.stage", "--events", "examples/stage-changes.csv", "--as-of",
        "2026-11-30", "--no-color",
    )  # fmt: skip
    assert "Not counted: 1 event with no known stage" in out


def test_events_the_report_cannot_use_are_counted(tmp_path: Path) -> None:
    log = tmp_path / "events.csv"
    log.write_text(
        "record_id,lifecycle_stage,timestamp\n"
        "1,subscriber,2026-01-01\n"
        "1,mql,2026-01-11\n"
        "1,sql,2026-01-05\n"  # older than the record's last event
        "2,nostage,2026-01-01\n"  # no stage of the policy
        ",mql,2026-01-01\n"  # no record id
        "3,mql,yesterday\n",  # a time that cannot be read
        "utf-8",
    )
    document = report_json("policies/japan.stage", "--events", str(log), "--as-of", "2026-11-30")
    assert document["events"] == 6 and document["skipped"]["unusable_events"] == 4
    subscriber = figures(document, "Subscriber", "all records")
    assert (subscriber["entered"], subscriber["moved_on"]) == (1, 1)

    code, out, _ = run("report", "policies/japan.stage", "--events", str(log), "--no-color")
    assert code == 0
    assert "Not counted: 4 events with no known stage or record id" in out


def test_without_by_there_is_one_group() -> None:
    document = report_json(*EXAMPLE)
    assert document["groups"] == ["all records"]
    assert all(s["median_ratio"] is None for s in document["stages"])


def test_text_output() -> None:
    code, out, _ = run("report", *EXAMPLE, "--by", "japan", "--no-color")
    assert code == 0
    path = GOLDEN / "report_example.txt"
    if os.environ.get("STAGELANG_UPDATE_GOLDEN"):
        path.write_text(out, "utf-8")
    assert out == path.read_text("utf-8")


def test_markdown_and_csv_carry_the_same_rows() -> None:
    _, markdown, _ = run("report", *EXAMPLE, "--by", "japan", "--format", "markdown")
    _, text, _ = run("report", *EXAMPLE, "--by", "japan", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    table = [line for line in markdown.splitlines() if line.startswith("| ")][1:]
    assert len(rows) == len(table) == 12  # six stages, two groups
    mql_japan = next(r for r in rows if r["stage"] == "MQL" and r["group"] == "japan")
    document = report_json(*EXAMPLE, "--by", "japan")
    assert float(mql_japan["median_days"]) == figures(document, "MQL", "japan")["median_days"]
    assert "| MQL | japan |" in markdown


def test_a_segment_that_is_not_declared_is_a_usage_error() -> None:
    code, _, err = run("report", *EXAMPLE, "--by", "Japan")
    assert code == 2
    assert '"Japan" is not a segment of the policy (japan)' in err


def test_a_policy_without_date_columns_needs_an_event_log(tmp_path: Path) -> None:
    policy = tmp_path / "p.stage"
    policy.write_text(
        "id field record_id\nstage field lifecycle_stage\nstage MQL\n  exit when record_id\n"
        "stage SQL\n",
        "utf-8",
    )
    code, _, err = run("report", str(policy), "examples/contacts.csv")
    assert code == 2
    assert "binds no date columns" in err


# Chart and page ----------------------------------------------------------------------------


def test_the_chart_is_written_as_png_and_svg(tmp_path: Path) -> None:
    png, svg = tmp_path / "chart.png", tmp_path / "chart.svg"
    assert run("report", *EXAMPLE, "--by", "japan", "--chart", str(png))[0] == 0
    assert run("report", *EXAMPLE, "--by", "japan", "--chart", str(svg))[0] == 0
    assert png.read_bytes().startswith(b"\x89PNG")
    assert "<svg" in svg.read_text("utf-8")
    code, _, err = run("report", *EXAMPLE, "--chart", str(tmp_path / "chart.jpg"))
    assert code == 2 and ".png or an .svg" in err


def browser() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def test_the_page_renders_in_chromium(tmp_path: Path) -> None:
    binary = browser()
    if binary is None:
        if os.environ.get("STAGELANG_REQUIRE_BROWSER"):
            pytest.fail("chromium is not installed, and .ci/run requires it")
        pytest.skip("chromium is not installed (apt-get install chromium); .ci/run installs it")
    page = tmp_path / "report.html"
    assert run("report", *EXAMPLE, "--by", "japan", "--html", str(page))[0] == 0
    text = page.read_text("utf-8")
    # Nothing to fetch: no links, scripts or sources outside the page (namespaces are names).
    assert not re.search(r'(src|href)="(https?:|//)', text)
    assert "<script" not in text and "<link" not in text

    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files"]
    dom = subprocess.run(
        [binary, *flags, "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout  # fmt: skip
    assert '<figure id="chart">' in dom and "<svg" in dom
    assert dom.count("<tr") == 13  # the heading row and twelve of figures
    assert "Opportunity" in dom

    shot = tmp_path / "shot.png"
    subprocess.run(
        [binary, *flags, f"--screenshot={shot}", "--window-size=1300,1500", page.as_uri()],
        capture_output=True, timeout=120, check=True,
    )  # fmt: skip
    from matplotlib import image

    pixels = image.imread(str(shot))
    # The bars' two colours are on screen: the chart was drawn, not just its frame.
    red = (abs(pixels[..., 0] - 0xC8 / 255) < 0.02) & (abs(pixels[..., 1] - 0x55 / 255) < 0.02)
    blue = (abs(pixels[..., 0] - 0x4A / 255) < 0.02) & (abs(pixels[..., 2] - 0xA5 / 255) < 0.02)
    assert red.sum() > 2000 and blue.sum() > 2000


# The quick way for CSV rows and the general way give the same report ------------------------

STAGE_NAMES = ("subscriber", "mql", "sql", "meeting_booked", "opportunity", "customer")
DATE_COLUMNS = [f"date_entered_{stage}" for stage in STAGE_NAMES]


@st.composite
def history_rows(draw: st.DrawFn) -> list[dict[str, str]]:
    rows = []
    for index in range(draw(st.integers(1, 25))):
        rank = draw(st.integers(0, 5))
        row = {"record_id": str(index), "country": draw(st.sampled_from(["JP", "US", ""]))}
        row["lifecycle_stage"] = STAGE_NAMES[rank]
        for position, column in enumerate(DATE_COLUMNS):
            dated = position <= rank and draw(st.integers(0, 5)) > 0
            day = draw(st.dates(min_value=dt.date(2026, 1, 1), max_value=dt.date(2026, 12, 31)))
            row[column] = day.isoformat() if dated or draw(st.integers(0, 9)) == 0 else ""
        rows.append(row)
    return rows


@given(history_rows())
def test_csv_rows_and_json_lines_give_the_same_report(rows: list[dict[str, str]]) -> None:
    import stagelang
    from stagelang.reporting import TimeInStage

    policy = stagelang.load(ROOT / "policies" / "japan.stage")
    reports = []
    for suffix, text in (
        (".csv", _as_csv(rows)),
        (".jsonl", "".join(json.dumps(row) + "\n" for row in rows)),
    ):
        path = Path(tempfile.mkdtemp()) / f"export{suffix}"
        path.write_text(text, "utf-8")
        collector = TimeInStage(policy, by="japan", as_of=dt.date(2026, 11, 30))
        collector.read_exports([str(path)])
        document = collector.result().to_dict()
        document.pop("sources")
        reports.append(document)
    assert reports[0] == reports[1]


def _as_csv(rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
