"""Stage history: the clauses, the moves they allow, what dates and event logs say, stays."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

import stagelang
from stagelang.history.dates import DateColumns
from stagelang.history.events import EventLog
from stagelang.history.ladder import Ladder
from stagelang.history.stays import ENDED, MOVED_BACK, MOVED_ON, STILL_THERE, Stay
from stagelang.syntax.formatter import format_source
from stagelang.syntax.parser import parse

POLICY = """\
policy "pipeline"

id field record_id
stage field lifecycle_stage

field country: string
field icp_fit: bool
field need: bool
field budget: decimal
field loss_reason: string

segment japan: country == "JP"

stage Subscriber
  entered from "sub_date"
  exit when icp_fit is set

stage MQL requires icp_fit
  entered from "mql_date"
  expect dwell <= 30d
  in japan expect dwell <= 90d
  exit when need

stage SQL requires need
  entered from "sql_date"
  allow skip
  exit when budget > 0

stage Opportunity requires budget > 0
  entered from "opp_date"
  expect dwell <= 60d
  allow back to SQL
  exit when loss_reason is missing

stage Customer
  entered from "customer_date"

outcome closed_lost "Closed Lost"
  values "Closed Lost"
  allow from SQL, Opportunity
  requires loss_reason is set
  entered from "lost_date"
"""

AS_OF = dt.date(2026, 6, 30)


@pytest.fixture(scope="module")
def policy() -> stagelang.Policy:
    return stagelang.loads(POLICY, "pipeline.stage")


def day(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


# The clauses ---------------------------------------------------------------------------------


def test_the_clauses_reach_the_checked_policy(policy: stagelang.Policy) -> None:
    mql = policy.checked.stage_named("MQL")
    assert mql.entered_column == "mql_date"
    assert mql.dwell == dt.timedelta(days=30)
    assert mql.expected_dwell(("japan",)) == dt.timedelta(days=90)
    assert mql.expected_dwell(()) == dt.timedelta(days=30)
    assert policy.checked.stage_named("SQL").skippable
    assert policy.checked.stage_named("Opportunity").back_to == ("SQL",)
    (lost,) = policy.checked.outcomes
    assert (lost.name, lost.from_stages, lost.entered_column) == (
        "closed_lost",
        ("SQL", "Opportunity"),
        "lost_date",
    )
    assert policy.stages == ("Subscriber", "MQL", "SQL", "Opportunity", "Customer")


def test_the_policy_is_formatted_as_written() -> None:
    assert format_source(POLICY) == POLICY


def test_messy_history_clauses_format_to_one_spelling() -> None:
    messy = POLICY.replace("allow skip", "ALLOW   Skip").replace("<= 90d", "<=   13W")
    messy = messy.replace("allow back to SQL", "Allow Back To SQL ,MQL")
    formatted = format_source(messy)
    assert "  allow skip\n" in formatted
    assert "  in japan expect dwell <= 13w\n" in formatted
    assert "  allow back to SQL, MQL\n" in formatted
    assert format_source(formatted) == formatted
    assert parse(formatted)[0] == parse(messy)[0]


def lint_codes(text: str) -> list[str]:
    return [d.code for d in stagelang.check_source(text)[1]]


def test_a_dwell_must_be_an_upper_limit() -> None:
    text = POLICY.replace("expect dwell <= 60d", "expect dwell >= 60d")
    assert lint_codes(text) == ["SL002"]


def test_two_dwells_for_one_segment_are_a_duplicate() -> None:
    text = POLICY.replace(
        "  in japan expect dwell <= 90d\n",
        "  in japan expect dwell <= 90d\n  in japan expect dwell <= 60d\n",
    )
    assert lint_codes(text) == ["SL104"]


def test_a_dwell_overlay_names_a_declared_segment() -> None:
    text = POLICY.replace("in japan expect", "in Japan expect")
    # japan is then used by nothing: SL303 says so first, at its declaration.
    assert lint_codes(text) == ["SL303", "SL102"]


def test_allow_from_belongs_to_outcomes() -> None:
    text = POLICY.replace("  allow back to SQL\n", "  allow from SQL\n")
    assert lint_codes(text) == ["SL112"]


def test_an_outcome_cannot_be_named_as_a_stage_to_go_back_to() -> None:
    text = POLICY.replace("allow back to SQL", "allow back to closed_lost")
    _, diagnostics = stagelang.check_source(text)
    assert [d.code for d in diagnostics] == ["SL111"]
    assert "is an outcome" in (diagnostics[0].help or "")


def test_a_record_at_an_outcome_meets_the_outcome_criteria(policy: stagelang.Policy) -> None:
    assert policy.check({"lifecycle_stage": "closed lost", "loss_reason": "price"}).conforms
    verdict = policy.check({"lifecycle_stage": "Closed Lost"})
    assert verdict.stage == "closed_lost"
    assert [str(u) for u in verdict.unmet] == [
        "closed_lost requires loss_reason is set, but loss_reason is missing"
    ]


# Moves ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after", "code"),
    [
        ("Subscriber", "MQL", None),
        ("Subscriber", "SQL", "SL510"),  # MQL may not be skipped
        ("MQL", "Opportunity", None),  # SQL may
        ("Opportunity", "SQL", None),  # allowed back
        ("Opportunity", "MQL", "SL511"),
        ("SQL", "MQL", "SL511"),
        ("SQL", "closed_lost", None),
        ("MQL", "closed_lost", "SL512"),
        ("closed_lost", "MQL", None),  # a reopened record
    ],
)
def test_moves(policy: stagelang.Policy, before: str, after: str, code: str | None) -> None:
    move = Ladder(policy.checked).judge(before, after)
    assert (move.code if move else None) == code


# Date columns --------------------------------------------------------------------------------


def date_problems(
    policy: stagelang.Policy, stage: str, segments: tuple[str, ...] = (), **dates: str
) -> list[str]:
    columns = DateColumns(policy.checked, as_of=AS_OF)
    typed = {name: day(value) for name, value in dates.items()}
    return [p.code for p in columns.problems(stage, segments, typed)]


def test_dates_in_order_with_a_current_stay_within_expectation(policy: stagelang.Policy) -> None:
    found = date_problems(policy, "MQL", Subscriber="2026-05-01", MQL="2026-06-10")
    assert found == []


def test_entered_dates_must_not_go_backward(policy: stagelang.Policy) -> None:
    assert date_problems(policy, "MQL", Subscriber="2026-06-20", MQL="2026-06-10") == ["SL514"]


def test_the_current_stage_needs_its_date(policy: stagelang.Policy) -> None:
    assert date_problems(policy, "MQL", Subscriber="2026-06-20") == ["SL513"]


def test_a_later_stage_dated_is_a_regression_unless_allowed_back(
    policy: stagelang.Policy,
) -> None:
    dated = {"Subscriber": "2026-01-01", "MQL": "2026-06-01", "SQL": "2026-06-05"}
    assert date_problems(policy, "MQL", **dated) == ["SL515"]
    recycled = {**dated, "Opportunity": "2026-06-10"}
    assert date_problems(policy, "SQL", **recycled) == []


def test_a_stage_without_a_date_below_a_dated_one_was_skipped(policy: stagelang.Policy) -> None:
    assert date_problems(policy, "MQL", MQL="2026-06-10") == ["SL510"]
    # SQL allows skip: an Opportunity reached from MQL is fine.
    found = date_problems(
        policy, "Opportunity", Subscriber="2026-01-01", MQL="2026-02-01", Opportunity="2026-06-01"
    )
    assert found == []


def test_stalled_against_the_segment_expectation(policy: stagelang.Policy) -> None:
    dated = {"Subscriber": "2026-01-01", "MQL": "2026-04-01"}  # 90 days before AS_OF
    assert date_problems(policy, "MQL", **dated) == ["SL517"]
    assert date_problems(policy, "MQL", ("japan",), **dated) == []
    assert date_problems(policy, "MQL", ("japan",), Subscriber="2026-01-01", MQL="2026-03-31") == [
        "SL517"
    ]


def test_an_outcome_from_a_stage_it_does_not_allow(policy: stagelang.Policy) -> None:
    assert date_problems(
        policy, "closed_lost", Subscriber="2026-01-01", MQL="2026-02-01", closed_lost="2026-03-01"
    ) == ["SL512"]
    assert date_problems(policy, "closed_lost", SQL="2026-02-01") == ["SL513"]


def test_stays_from_dates(policy: stagelang.Policy) -> None:
    columns = DateColumns(policy.checked, as_of=AS_OF)
    dates = {"Subscriber": day("2026-01-01"), "MQL": day("2026-01-11"), "SQL": day("2026-03-01")}
    assert columns.stays("SQL", (), dates) == [
        Stay("Subscriber", 10.0, MOVED_ON),
        Stay("MQL", 49.0, MOVED_ON),
        Stay("SQL", 121.0, STILL_THERE),
    ]
    lost = {"SQL": day("2026-02-01"), "closed_lost": day("2026-02-21")}
    # Stages whose date column is empty were not entered (SQL may be reached past them).
    assert columns.stays("closed_lost", (), lost) == [Stay("SQL", 20.0, ENDED)]


# A close date serves the ends of the pipeline: Won, and the outcome Lost.
CLOSE_DATE = """\
policy "pipeline"
id field opportunity_id
stage field deal_stage
field close_value: decimal

stage Prospecting
stage Engaging
  entered from "engage_date"
stage Won requires close_value > 0
  entered from "close_date"

outcome Lost
  entered from "close_date"
"""


def test_only_the_ends_of_the_pipeline_may_share_a_date_column() -> None:
    assert "SL306" not in lint_codes(CLOSE_DATE)
    shared_on_the_ladder = CLOSE_DATE.replace('"engage_date"', '"close_date"')
    # Won and Lost each tie with Engaging, which a record passes through on its way to them.
    found = stagelang.check_source(shared_on_the_ladder)[1]
    assert [d.message for d in found if d.code == "SL306"] == [
        'the date column "close_date" is bound to both "Engaging" and "Won"',
        'the date column "close_date" is bound to both "Engaging" and "Lost"',
    ]


def test_a_shared_close_date_dates_the_end_the_record_is_at() -> None:
    columns = DateColumns(stagelang.loads(CLOSE_DATE).checked, as_of=AS_OF)
    engaged, closed = day("2026-01-01"), day("2026-03-02")
    dates = {"Engaging": engaged, "Won": closed, "Lost": closed}

    # Lost: the stay in Engaging ended with the loss; Won is not taken as reached.
    assert columns.problems("Lost", (), dates) == []
    assert columns.stays("Lost", (), dates) == [
        Stay("Prospecting", None, MOVED_ON),
        Stay("Engaging", 60.0, ENDED),
    ]
    # Won: the same date is Won's.
    assert columns.problems("Won", (), dates) == []
    assert [(s.stage, s.days, s.ending) for s in columns.stays("Won", (), dates)][1:] == [
        ("Engaging", 60.0, MOVED_ON),
        ("Won", 120.0, STILL_THERE),
    ]


# Event logs ----------------------------------------------------------------------------------


def test_an_event_log(policy: stagelang.Policy, tmp_path: Path) -> None:
    log = tmp_path / "events.csv"
    log.write_text(
        "record_id,lifecycle_stage,timestamp,icp_fit,country\n"
        "1,Subscriber,2026-01-01,true,JP\n"
        "1,MQL,2026-01-05T10:00:00+09:00,false,JP\n"  # entered MQL without icp_fit
        "2,Subscriber,2026-01-01,,US\n"
        "2,SQL,2026-02-01,,US\n"  # skipped MQL
        "2,MQL,2026-03-01,,US\n"  # back, not allowed
        "3,MQL,2026-05-01,,US\n"
        "3,MQL,2026-04-01,,US\n"  # out of order
        "4,Opportunity,2026-01-01,,US\n"
        "4,Closed Lost,2026-02-01,,US\n",
        "utf-8",
    )
    stays: list[tuple[Stay, tuple[str, ...]]] = []
    reader = EventLog(policy, as_of=AS_OF, on_stay=lambda s, g: stays.append((s, g)))
    findings = list(reader.check_files([str(log)]))

    assert [(f.code, f.line, f.record_id) for f in findings] == [
        ("SL516", 3, "1"),
        ("SL510", 5, "2"),
        ("SL516", 5, "2"),  # left Subscriber without icp_fit set
        ("SL511", 6, "2"),
        ("SL516", 6, "2"),  # entered MQL without icp_fit
        ("SL518", 8, "3"),
        ("SL517", 3, "1"),  # in MQL since 5 January, as a Japanese record: over 90 days
        ("SL517", 6, "2"),
        ("SL517", 7, "3"),
    ]
    assert findings[0].message.startswith('"Subscriber" -> "MQL" at 2026-01-05T10:00:00+09:00')
    assert "MQL requires icp_fit, but at that moment icp_fit = false" in findings[0].message
    assert (Stay("Subscriber", 31.0, MOVED_ON), ()) in stays
    assert (Stay("SQL", 28.0, MOVED_BACK), ()) in stays
    assert (Stay("Opportunity", 31.0, ENDED), ()) in stays
    assert reader.events == 9 and reader.records == 4


def test_an_event_log_without_the_time_column_is_refused(
    policy: stagelang.Policy, tmp_path: Path
) -> None:
    log = tmp_path / "events.csv"
    log.write_text("record_id,lifecycle_stage,changed\n1,MQL,2026-01-01\n", "utf-8")
    with pytest.raises(stagelang.StagelangError, match='"timestamp"'):
        list(EventLog(policy, as_of=AS_OF).check_files([str(log)]))
    found = list(EventLog(policy, as_of=AS_OF, time_column="changed").check_files([str(log)]))
    assert [f.code for f in found] == ["SL517"]


def test_a_json_event_checks_only_the_values_it_carries(
    policy: stagelang.Policy, tmp_path: Path
) -> None:
    log = tmp_path / "events.jsonl"
    log.write_text(
        '{"record_id": "1", "lifecycle_stage": "Subscriber", "timestamp": "2026-06-01"}\n'
        '{"record_id": "1", "lifecycle_stage": "MQL", "timestamp": "2026-06-02"}\n'
        '{"record_id": "2", "lifecycle_stage": "Subscriber", "timestamp": "2026-06-01"}\n'
        '{"record_id": "2", "lifecycle_stage": "MQL", "timestamp": "2026-06-02", '
        '"icp_fit": null}\n',
        "utf-8",
    )
    findings = list(EventLog(policy, as_of=AS_OF).check_files([str(log)]))

    # Record 1's move says nothing about icp_fit; record 2's says it was empty.
    assert [(f.code, f.line, f.record_id) for f in findings] == [
        ("SL516", 4, "2"),  # left Subscriber without icp_fit set
        ("SL516", 4, "2"),  # entered MQL without icp_fit
    ]
    assert "icp_fit is missing" in findings[0].message


# The command line --------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str) -> tuple[int, str, str]:
    from click.testing import CliRunner

    from stagelang.cli import main

    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def in_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


@pytest.mark.usefixtures("in_root")
def test_check_reads_the_example_event_log() -> None:
    code, out, _ = run(
        "check", "policies/japan.stage", "--events", "examples/stage-changes.csv",
        "--as-of", "2026-11-30", "--format", "json",
    )  # fmt: skip
    assert code == 1
    import json

    findings = json.loads(out)["findings"]
    planted = {(f["code"], f["id"]) for f in findings if f["code"] in ("SL510", "SL511", "SL518")}
    assert planted == {
        ("SL510", "51204027"),
        ("SL511", "51204107"),
        ("SL518", "51204157"),
        ("SL510", "51204157"),
    }
    assert not [f for f in findings if f["id"] == "51204115" and f["code"] != "SL517"]


@pytest.mark.usefixtures("in_root")
def test_stalled_records_fail_the_run_only_with_fail_on_warning(tmp_path: Path) -> None:
    export = tmp_path / "export.csv"
    export.write_text(
        "record_id,lifecycle_stage,country,icp_fit,need,budget,loss_reason,sub_date,mql_date,"
        "sql_date,opp_date,customer_date,lost_date\n"
        "1,MQL,US,true,,,,2026-01-01,2026-01-10,,,,\n",
        "utf-8",
    )
    policy = tmp_path / "pipeline.stage"
    policy.write_text(POLICY, "utf-8")
    code, out, _ = run("check", str(policy), str(export), "--as-of", "2026-06-30", "--no-color")
    assert code == 0
    assert 'stalled: in "MQL" for 171 days since 2026-01-10' in out
    assert "All 1 records conform." in out
    failing = run(
        "check", str(policy), str(export), "--as-of", "2026-06-30", "--fail-on", "warning"
    )
    assert failing[0] == 1

    # JUnit agrees with the exit status: the stalled case fails only when warnings fail the run.
    import xml.etree.ElementTree as ET

    for fail_on, code, failures in (("error", 0, "0"), ("warning", 1, "1")):
        exit_code, out, _ = run(
            "check", str(policy), str(export), "--as-of", "2026-06-30", "--format", "junit",
            "--fail-on", fail_on,
        )  # fmt: skip
        suite = ET.fromstring(out)[0]
        stalled = suite.find("testcase[@name='SL517 stalled']")
        assert stalled is not None
        assert (exit_code, suite.get("failures")) == (code, failures)
        assert (stalled.find("failure") is not None) is (fail_on == "warning")
        listed = suite.findtext("system-out") or ""
        assert ("warning[SL517] Stalled" in listed) is (fail_on == "error")
        assert ('stalled: in "MQL" for 171 days' in listed) is (fail_on == "error")


@pytest.mark.usefixtures("in_root")
def test_an_export_without_date_columns_is_a_snapshot(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    export = tmp_path / "export.csv"
    header = "record_id,lifecycle_stage,country,icp_fit,need,budget,loss_reason"
    export.write_text(f"{header}\n1,MQL,US,true,,,\n", "utf-8")
    policy = tmp_path / "pipeline.stage"
    policy.write_text(POLICY, "utf-8")
    code, _, _ = run("check", str(policy), str(export), "--as-of", "2026-06-30")
    assert code == 0
    assert "has no date-entered columns" in caplog.text  # a note on standard error
    # Some of them but not all: a mistake worth stopping for.
    export.write_text(
        f"{header},mql_date\n1,MQL,US,true,,,,2026-06-01\n",
        "utf-8",
    )
    code, _, err = run("check", str(policy), str(export), "--as-of", "2026-06-30")
    assert code == 2
    assert 'column "sub_date" (field "entered Subscriber")' in err


def test_check_needs_data_or_events() -> None:
    code, _, err = run("check", "policies/japan.stage")
    assert code == 2
    assert "give an export (DATA) to check, or an event log with --events" in err


@pytest.mark.usefixtures("in_root")
def test_a_json_lines_event_log_gives_the_same_findings(tmp_path: Path) -> None:
    import csv
    import json

    with open("examples/stage-changes.csv", encoding="utf-8", newline="") as file:
        rows = list(csv.DictReader(file))
    log = tmp_path / "stage-changes.jsonl"
    log.write_text("".join(json.dumps(row) + "\n" for row in rows), "utf-8")

    def findings(name: str) -> list[tuple[str, int, str]]:
        _, out, _ = run(
            "check", "policies/japan.stage", "--events", name, "--as-of", "2026-11-30",
            "--format", "json",
        )  # fmt: skip
        found = json.loads(out)["findings"]
        # Messages may name another event's line; lines are compared apart.
        return [(f["code"], f["line"], re.sub(r"line \d+", "line", f["message"])) for f in found]

    # The same events, one line higher: JSON Lines has no header.
    from_csv = findings("examples/stage-changes.csv")
    assert findings(str(log)) == [(code, line - 1, message) for code, line, message in from_csv]


# Date columns from a CRM preset ------------------------------------------------------------

PRESET_POLICY = """\
policy "hubspot-dated"
use hubspot

field icp_fit: bool

stage Subscriber
  exit when icp_fit is set

stage MQL requires icp_fit
  expect dwell <= 30d

stage SQL
  entered from "sql_entered"

stage Customer
"""

# The old "Became a ... Date" column for Subscriber, the newer hs_v2 property for MQL, the
# policy's own column for SQL (HubSpot's "Became a Sales Qualified Lead Date" is ignored: what
# the policy writes wins), and no date column for Customer.
PRESET_EXPORT = (
    "Record ID,Lifecycle Stage,icp_fit,Became a Subscriber Date,"
    "hs_v2_date_entered_marketingqualifiedlead,sql_entered,Became a Sales Qualified Lead Date\n"
    "1,marketingqualifiedlead,true,2026-01-01,2026-01-11,,2026-01-05\n"
    "2,salesqualifiedlead,true,2026-02-01,2026-01-15,2026-03-01,\n"
    "3,customer,true,2026-01-01,2026-01-21,2026-02-20,\n"
)


@pytest.fixture
def preset_files(tmp_path: Path) -> tuple[str, Path]:
    policy = tmp_path / "hubspot-dated.stage"
    policy.write_text(PRESET_POLICY, "utf-8")
    export = tmp_path / "contacts.csv"
    export.write_text(PRESET_EXPORT, "utf-8")
    return str(policy), export


@pytest.mark.parametrize("as_json", [False, True])
def test_a_preset_dates_the_stages_the_policy_leaves_undated(
    preset_files: tuple[str, Path], tmp_path: Path, as_json: bool
) -> None:
    import csv
    import json

    policy, export = preset_files
    if as_json:
        with export.open(encoding="utf-8", newline="") as file:
            rows = list(csv.DictReader(file))
        export = tmp_path / "contacts.jsonl"
        export.write_text("".join(json.dumps(row) + "\n" for row in rows), "utf-8")
    code, out, err = run("check", policy, str(export), "--as-of", "2026-06-30", "--format", "json")
    found = [(f["code"], f["id"], f.get("values")) for f in json.loads(out)["findings"]]

    assert code == 1
    assert "no date-entered columns" not in err
    assert [(c, i) for c, i, _ in found] == [("SL517", "1"), ("SL514", "2")]
    assert "hs_v2_date_entered_marketingqualifiedlead" in found[0][2]
    assert "Became a Sales Qualified Lead Date" not in json.dumps(found)


@pytest.mark.parametrize("as_json", [False, True])
def test_the_report_reads_the_preset_date_columns(
    preset_files: tuple[str, Path], tmp_path: Path, as_json: bool
) -> None:
    import csv
    import json

    policy, export = preset_files
    if as_json:  # the general way, key by key, instead of the quicker way over CSV cells
        with export.open(encoding="utf-8", newline="") as file:
            rows = list(csv.DictReader(file))
        export = tmp_path / "contacts.jsonl"
        export.write_text("".join(json.dumps(row) + "\n" for row in rows), "utf-8")
    code, out, _ = run("report", policy, str(export), "--as-of", "2026-06-30", "--format", "json")
    assert code == 0
    groups = {s["stage"]: s["groups"]["all records"] for s in json.loads(out)["stages"]}

    # Subscriber: 10, 20 days, and record 2's stay of unknown length (MQL dated before it).
    assert groups["Subscriber"]["entered"] == 3
    assert groups["Subscriber"]["naive_mean_days"] == 15.0
    # SQL: record 3 stayed until Customer, which has no date: entered, not measured.
    assert (groups["SQL"]["entered"], groups["SQL"]["still_there"]) == (2, 1)
    assert groups["Customer"]["entered"] == 1
    # MQL: record 1 still there since 11 January, stalled against 30 days.
    assert (groups["MQL"]["still_there"], groups["MQL"]["stalled"]) == (1, 1)


@pytest.mark.usefixtures("in_root")
def test_a_json_export_dated_only_by_hubspot_properties(tmp_path: Path) -> None:
    import json

    # The newer hs_v2 properties, none of them the first column the preset lists for a stage.
    export = tmp_path / "contacts.jsonl"
    export.write_text(
        json.dumps(
            {
                "Record ID": "1",
                "Lifecycle Stage": "marketingqualifiedlead",
                "icp_fit": True,
                "engaged_sessions": 2,
                "hs_v2_date_entered_subscriber": "1767225600000",  # 2026-01-01, in milliseconds
                "hs_v2_date_entered_marketingqualifiedlead": "2026-01-11T10:00:00.000Z",
            }
        )
        + "\n",
        "utf-8",
    )
    code, out, _ = run(
        "check", "policies/hubspot.stage", str(export), "--as-of", "2026-03-01", "--format", "json"
    )
    assert code == 0
    found = json.loads(out)["findings"]
    assert [(f["code"], f["stage"]) for f in found] == [("SL517", "MQL")]
    assert "for 48 days since 2026-01-11" in found[0]["message"]
