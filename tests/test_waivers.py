"""Waivers: exempted findings are counted and listed apart, never dropped; expired and unused
waivers are findings; a waivers file with a mistake is refused with its file and line."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import tempfile
import textwrap
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from test_outputs_ci import validated_sarif

import stagelang
from stagelang.checking import Checker
from stagelang.cli import main
from stagelang.waivers import WaiverError, load_waivers, waivers_beside

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
GOLDEN = HERE / "golden"
POLICY = "tests/data/ci.stage"
EXPORT = "tests/data/ci_export.csv"
AS_OF = "2026-12-03"
OUTPUT_SCHEMA = json.loads((ROOT / "docs" / "check-output.schema.json").read_text("utf-8"))

# Line 3 and 4 are ids 2 and 3, japan MQLs with too few sessions; line 6 is id 5, an
# Opportunity whose budget is "TBD" (SL505 and two unmet criteria).
BY_ID = """\
[[waiver]]
ids = ["2", 3]
criteria = ["MQL in japan requires engaged_sessions >= 3"]
owner = "aiko.tanaka@example.com"
reason = "Sessions were logged in the old portal, see RevOps-123"
expires = 2027-03-31
"""


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def check(waivers: str, *args: str) -> tuple[int, str, str]:
    return run("check", POLICY, EXPORT, "--waivers", waivers, "--as-of", AS_OF, *args)


def check_json(waivers: str) -> tuple[int, dict[str, Any]]:
    code, out, err = check(waivers, "--format", "json")
    assert code in (0, 1), err
    document = json.loads(out)
    jsonschema.validate(document, OUTPUT_SCHEMA)
    return code, document


def write(tmp_path: Path, text: str, name: str = "ci.waivers.toml") -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), "utf-8")
    return str(path)


@pytest.fixture(autouse=True)
def in_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # the paths in the outputs are then short and stable


# What a waiver exempts


def test_a_waiver_by_id_moves_its_findings_apart_and_keeps_the_rest(tmp_path: Path) -> None:
    code, document = check_json(write(tmp_path, BY_ID))

    waived = [(f["line"], f["id"], f["criterion"], f["waiver"]) for f in document["waived"]]
    assert waived == [
        (3, "2", "MQL in japan requires engaged_sessions >= 3", 1),
        (4, "3", "MQL in japan requires engaged_sessions >= 3", 1),
    ]
    kept = {(f["line"], f["code"]) for f in document["findings"]}
    assert (3, "SL501") not in kept and (4, "SL501") not in kept
    assert (7, "SL504") in kept, "id 2's duplicate is not one of the waived criteria"
    summary = document["summary"]
    assert (summary["conforming"], summary["not_conforming"], summary["waived"]) == (2, 3, 2)
    assert summary["records"] == 8
    assert summary["by_stage"]["MQL"] == {
        "records": 2,
        "conforming": 0,
        "not_conforming": 0,
        "waived": 2,
    }
    assert summary["waived_findings_by_code"] == {"SL501": 2}
    assert code == 1, "other records still fail"
    assert document["waivers"]["waivers"][0]["owner"] == "aiko.tanaka@example.com"


def test_a_condition_picks_the_records_and_a_stage_names_all_its_criteria(
    tmp_path: Path,
) -> None:
    waivers = write(
        tmp_path,
        """\
        [[waiver]]
        when = 'country == "GB" and engaged_sessions >= 5'
        criteria = ["Opportunity", "MQL", "SL505"]
        owner = "ops@example.com"
        reason = "UK budgets are re-entered after the migration"
        expires = 2027-01-31
        """,
    )
    _, document = check_json(waivers)

    waived = sorted((f["line"], f["code"], f["criterion"]) for f in document["waived"])
    assert waived == [
        (6, "SL501", "MQL exit when budget is set"),
        (6, "SL501", "Opportunity requires budget > 0"),
        (6, "SL505", None),
    ]
    assert document["summary"]["by_stage"]["Opportunity"]["waived"] == 1


def test_a_record_with_one_finding_left_does_not_conform(tmp_path: Path) -> None:
    waivers = write(
        tmp_path,
        """\
        [[waiver]]
        ids = ["5"]
        criteria = ["SL505"]
        owner = "ops@example.com"
        reason = "budget is typed in later"
        expires = 2027-01-31
        """,
    )
    _, document = check_json(waivers)

    assert [(f["line"], f["code"]) for f in document["waived"]] == [(6, "SL505")]
    assert {f["code"] for f in document["findings"] if f["line"] == 6} == {"SL501"}
    assert document["summary"]["waived"] == 0
    assert document["summary"]["by_stage"]["Opportunity"]["not_conforming"] == 1


def test_when_every_failing_record_is_waived_the_run_passes(tmp_path: Path) -> None:
    export = tmp_path / "mql.csv"
    export.write_text("record_id,country,lifecycle_stage,engaged_sessions,budget\n2,JP,MQL,2,\n")
    code, out, err = run(
        "check", POLICY, str(export), "--waivers", write(tmp_path, BY_ID), "--as-of", AS_OF
    )

    assert code == 0, out + err
    assert "0 of 1 records conform. 1 more conforms only by waivers (1 waived finding)." in out


# Expired and unused waivers


def test_an_expired_waiver_exempts_nothing_and_fails_the_run(tmp_path: Path) -> None:
    export = tmp_path / "mql.csv"
    export.write_text("record_id,country,lifecycle_stage,engaged_sessions,budget\n2,JP,MQL,2,\n")
    waivers = write(tmp_path, BY_ID)

    on_the_day = run("check", POLICY, str(export), "--waivers", waivers, "--as-of", "2027-03-31")
    day_after = run("check", POLICY, str(export), "--waivers", waivers, "--as-of", "2027-04-01")

    assert on_the_day[0] == 0, "a waiver is in force on its expiry date"
    code, out, _ = day_after
    assert code == 1
    assert "MQL in japan requires engaged_sessions >= 3  SL501, 1 record" in out
    assert "A waiver is past its expiry date.  SL602, 1 waiver" in out
    assert f"{waivers}:1  waiver 1 (aiko.tanaka@example.com, until 2027-03-31) expired" in out


def test_an_unused_waiver_is_a_warning_that_does_not_fail(tmp_path: Path) -> None:
    export = tmp_path / "fine.csv"
    export.write_text("record_id,country,lifecycle_stage,engaged_sessions,budget\n9,GB,MQL,2,\n")
    code, out, err = run(
        "check",
        POLICY,
        str(export),
        "--waivers",
        write(tmp_path, BY_ID),
        "--as-of",
        AS_OF,
        "--format",
        "json",
    )

    assert code == 0, err
    document = json.loads(out)
    jsonschema.validate(document, OUTPUT_SCHEMA)
    (finding,) = document["findings"]
    assert (finding["code"], finding["severity"], finding["line"]) == ("SL603", "warning", 1)
    assert "exempted no finding" in finding["message"]
    assert document["waived"] == []


def test_expired_and_unused_findings_point_at_their_waiver(tmp_path: Path) -> None:
    waivers = write(
        tmp_path,
        BY_ID
        + textwrap.dedent(
            """
            # a second waiver, long gone
            [[waiver]]
            ids = ["5"]
            criteria = ["Opportunity"]
            owner = "ops@example.com"
            reason = "old"
            expires = 2020-01-01

            [[waiver]]
            ids = ["404"]
            criteria = ["MQL"]
            owner = "ops@example.com"
            reason = "no such record"
            expires = 2027-01-01
            """
        ),
    )
    _, document = check_json(waivers)

    about_waivers = [(f["code"], f["file"], f["line"]) for f in document["findings"]]
    about_waivers = [item for item in about_waivers if item[0] in ("SL602", "SL603")]
    assert about_waivers == [("SL602", waivers, 9), ("SL603", waivers, 16)]


# Where the waivers come from


def test_a_waivers_file_beside_the_policy_is_used_unless_turned_off(tmp_path: Path) -> None:
    policy = tmp_path / "ci.stage"
    policy.write_text((ROOT / POLICY).read_text("utf-8"), "utf-8")
    write(tmp_path, BY_ID)

    assert waivers_beside(policy) == str(tmp_path / "ci.waivers.toml")
    found = run("check", str(policy), EXPORT, "--as-of", AS_OF, "--format", "json")
    off = run("check", str(policy), EXPORT, "--as-of", AS_OF, "--format", "json", "--no-waivers")

    assert len(json.loads(found[1])["waived"]) == 2
    assert "waived" not in json.loads(off[1])
    assert "waived" not in json.loads(off[1])["summary"]


# Refusing a waivers file with a mistake


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            BY_ID.replace("owner", "ownr"),
            'waiver 1: unknown key "ownr" (did you mean "owner"?); the keys allowed are',
        ),
        (BY_ID.replace('reason = "Sessions', 'x = "'), "waiver 1: reason is missing"),
        (BY_ID.replace("2027-03-31", '"31/03/2027"'), "is not a date; write it as 2027-03-31"),
        (BY_ID.replace("2027-03-31", '"2027-02-30"'), "'2027-02-30' is not a date on the"),
        (BY_ID.replace("[[waiver]]", "[waiver]"), "a table of its own: write [[waiver]] above it"),
        ("owner = 1\n", "no [[waiver]] tables"),
        (
            BY_ID.replace('ids = ["2", 3]', 'when = \'country == "JP"\'\nids = ["2"]'),
            ":1: waiver 1: name its records with either ids = [...] or when",
        ),
        (
            BY_ID.replace("MQL in japan requires", "MQL in japan require"),
            '"MQL in japan require engaged_sessions >= 3" is not a criterion, stage or data rule'
            ' of policy "ci-example"; did you mean "MQL in japan requires engaged_sessions >= 3"?',
        ),
        (BY_ID.replace("[[waiver]]", "[[waiver]"), "not valid TOML"),
        (
            BY_ID.replace('criteria = ["MQL in', 'criteria = ["SL506", "MQL in'),
            '"SL506" is not a criterion, stage or data rule of policy "ci-example"; it cannot be'
            " waived: a row that cannot be read has no id or values to match",
        ),
    ],
)
def test_a_bad_waivers_file_is_refused_with_its_place(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = write(tmp_path, text)
    code, out, err = check(path)

    assert code == 2
    assert out == ""
    assert err.startswith(f"stagelang: {path}")
    assert expected in err
    assert "Traceback" not in err


def test_a_bad_condition_is_refused_with_its_column(tmp_path: Path) -> None:
    text = BY_ID.replace('ids = ["2", 3]', "when = 'contry == \"JP\"'")
    code, _, err = check(write(tmp_path, text))

    assert code == 2
    assert ":1: waiver 1: when: the condition 'contry == \"JP\"' cannot be used:" in err
    assert "at column 1:" in err and "contry" in err


def test_a_condition_cannot_smuggle_in_a_declaration(tmp_path: Path) -> None:
    # A TOML basic string turns \n into a line break: the condition then holds a stage.
    text = BY_ID.replace('ids = ["2", 3]', 'when = "true\\nstage Evil"')
    code, _, err = check(write(tmp_path, text))

    assert code == 2
    assert "waiver 1: when: 'true stage Evil' is not one condition" in err


def test_a_missing_waivers_file_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = check(str(tmp_path / "nowhere.toml"))

    assert code == 2
    assert "cannot read the waivers file" in err


# Every output lists waived findings apart


def test_text_output(tmp_path: Path) -> None:
    waivers = write(tmp_path, BY_ID)
    _, out, _ = check(waivers)
    out = out.replace(waivers, "ci.waivers.toml")

    assert_golden("check_waivers.txt", out)


def test_csv_output_says_which_waiver_exempted_what(tmp_path: Path) -> None:
    code, out, _ = check(write(tmp_path, BY_ID), "--format", "csv")

    rows = list(csv.DictReader(io.StringIO(out)))
    assert code == 1
    assert len(rows) == 8
    assert rows[1]["stagelang_conforms"] == "waived"
    assert rows[1]["stagelang_waived"] == (
        "MQL in japan requires engaged_sessions >= 3, but engaged_sessions = 2 (waiver 1)"
    )
    assert rows[4]["stagelang_conforms"] == "false" and rows[4]["stagelang_waived"] == ""


def test_sarif_marks_waived_findings_as_suppressed(tmp_path: Path) -> None:
    _, out, _ = check(write(tmp_path, BY_ID), "--format", "sarif")
    log = validated_sarif(out)

    results = log["runs"][0]["results"]
    suppressed = [r for r in results if "suppressions" in r]
    assert [r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in suppressed] == [
        3,
        4,
    ]
    assert suppressed[0]["suppressions"][0]["justification"].startswith("Sessions were logged")
    assert len(results) - len(suppressed) == 6


def test_junit_has_a_skipped_case_per_waiver_in_use(tmp_path: Path) -> None:
    _, out, _ = check(write(tmp_path, BY_ID), "--format", "junit")
    (suite,) = ET.fromstring(out)

    cases = {case.attrib["name"]: case for case in suite.iter("testcase")}
    waiver = cases["waiver 1 (aiko.tanaka@example.com, until 2027-03-31)"]
    skipped = waiver.find("skipped")
    assert skipped is not None
    assert skipped.attrib["message"].startswith("2 findings in 2 records waived")
    japan = cases["MQL in japan requires engaged_sessions >= 3"]
    assert japan.find("failure") is None


def test_github_lists_waivers_in_the_log_not_as_annotations(tmp_path: Path) -> None:
    _, out, _ = check(write(tmp_path, BY_ID), "--format", "github")

    annotations = [line for line in out.splitlines() if line.startswith("::error")]
    assert not any("engaged_sessions >= 3" in line for line in annotations)
    assert "stagelang: waiver 1 (aiko.tanaka@example.com, until 2027-03-31) waived 2 " in out
    assert "2 findings waived, listed in the log." in out


def assert_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("STAGELANG_UPDATE_GOLDEN"):
        path.write_text(text, "utf-8")
    assert text == path.read_text("utf-8")


# The invariant: a waiver moves findings, it never loses or invents one

EXAMPLE_POLICY = stagelang.load(ROOT / "policies" / "japan.stage")
EXAMPLE = str(ROOT / "examples" / "contacts.csv")
EXAMPLE_IDS = [
    r.record_id
    for r in EXAMPLE_POLICY.check_file(EXAMPLE, as_of=dt.date(2026, 12, 3))
    if r.record_id and r.findings
]
NAMES = [*EXAMPLE_POLICY.criteria_in_order(), *EXAMPLE_POLICY.stages, "SL502", "SL504", "SL505"]


def findings_of(checker: Checker) -> tuple[Counter[Any], Counter[Any]]:
    kept: Counter[Any] = Counter()
    waived: Counter[Any] = Counter()
    for result in checker.check_files([EXAMPLE]):
        kept.update((f.line, f.code, f.message) for f in result.findings)
        waived.update((w.finding.line, w.finding.code, w.finding.message) for w in result.waived)
    return kept, waived


@settings(max_examples=25, deadline=None)
@given(
    ids=st.lists(st.sampled_from(EXAMPLE_IDS), min_size=1, max_size=8, unique=True),
    criteria=st.lists(st.sampled_from(NAMES), min_size=1, max_size=4, unique=True),
)
def test_waivers_move_findings_and_records_without_losing_any(
    ids: list[str], criteria: list[str]
) -> None:
    day = dt.date(2026, 12, 3)
    text = (
        f"[[waiver]]\nids = {json.dumps(ids)}\ncriteria = {json.dumps(criteria)}\n"
        'owner = "o"\nreason = "r"\nexpires = 2027-01-01\n'
    )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "japan.waivers.toml"
        path.write_text(text, "utf-8")
        waivers = load_waivers(path, EXAMPLE_POLICY, day)

    plain = Checker(EXAMPLE_POLICY, as_of=day)
    with_waivers = Checker(EXAMPLE_POLICY, as_of=day, waivers=waivers)
    everything, nothing = findings_of(plain)
    kept, waived = findings_of(with_waivers)

    assert not nothing
    assert kept + waived == everything
    assert {line for line, _, _ in waived} <= {line for line, _, _ in everything}, (
        "only records that had findings are waived"
    )
    before, after = plain.summary, with_waivers.summary
    assert after.records == before.records
    assert after.conforming == before.conforming
    assert after.not_conforming + after.waived == before.not_conforming
    assert sum(after.waived_findings.values()) == sum(waived.values())


def test_load_waivers_refuses_a_criterion_of_another_policy(tmp_path: Path) -> None:
    path = write(tmp_path, BY_ID.replace("MQL in japan requires", "MQL in japon requires"))
    with pytest.raises(WaiverError, match="is not a criterion, stage or data rule"):
        load_waivers(path, EXAMPLE_POLICY)


def test_the_documented_waivers_are_the_bundled_example_and_each_exempts_something() -> None:
    text = (ROOT / "docs" / "check.md").read_text("utf-8")
    block = text.split("```toml\n# policies/japan.waivers.toml", 1)[1].split("```", 1)[0]
    bundled = (ROOT / "examples" / "japan.waivers.toml").read_text("utf-8")
    assert block.split("\n", 1)[1] == bundled.split("\n", 1)[1]

    _, out, _ = run(
        "check",
        "policies/japan.stage",
        "examples/contacts.csv",
        "--waivers",
        "examples/japan.waivers.toml",
        "--as-of",
        AS_OF,
        "--format",
        "json",
    )
    document = json.loads(out)
    assert Counter(f["waiver"] for f in document["waived"]) == {1: 2, 2: 2}
    assert not [f for f in document["findings"] if f["code"] in ("SL602", "SL603")]


def test_a_condition_sees_the_fields_of_an_extended_policy_under_its_root(tmp_path: Path) -> None:
    (tmp_path / "global.stage").write_text(
        'policy "global"\nid field record_id\nstage field lifecycle_stage\n'
        "field engaged_sessions: int\nstage Lead\nstage MQL requires engaged_sessions >= 3\n",
        "utf-8",
    )
    (tmp_path / "jp").mkdir()
    (tmp_path / "jp" / "japan.stage").write_text(
        'policy "japan"\nextends "../global.stage"\nfield country: string\n', "utf-8"
    )
    export = tmp_path / "export.csv"
    export.write_text("record_id,lifecycle_stage,engaged_sessions,country\n1,MQL,1,JP\n")
    waivers = write(
        tmp_path,
        """\
        [[waiver]]
        when = 'country == "JP" and engaged_sessions < 3'
        criteria = ["MQL"]
        owner = "o"
        reason = "r"
        expires = 2027-01-01
        """,
    )
    policy = stagelang.load(tmp_path / "jp" / "japan.stage", root=tmp_path)

    loaded = load_waivers(waivers, policy, dt.date(2026, 12, 3))
    (result,) = policy.check_file(str(export), waivers=loaded)

    assert result.findings == []
    assert [w.finding.criterion for w in result.waived] == ["MQL requires engaged_sessions >= 3"]


# With stage history: date-column findings can be waived; event logs are not matched

HISTORY_POLICY = """\
policy "pipeline"
id field record_id
stage field lifecycle_stage
field icp_fit: bool
field need: bool
stage Subscriber
  entered from "sub_date"
stage MQL requires icp_fit
  entered from "mql_date"
  expect dwell <= 30d
stage SQL requires need
  entered from "sql_date"
"""


def test_a_stalled_record_and_a_skipped_stage_can_be_waived(tmp_path: Path) -> None:
    policy = tmp_path / "pipeline.stage"
    policy.write_text(HISTORY_POLICY, "utf-8")
    export = tmp_path / "export.csv"
    export.write_text(
        "record_id,lifecycle_stage,icp_fit,need,sub_date,mql_date,sql_date\n"
        "1,MQL,true,,2026-01-01,2026-01-10,\n"
        "2,SQL,true,true,2026-01-01,,2026-06-01\n",
        "utf-8",
    )
    waivers = write(
        tmp_path,
        """\
        [[waiver]]
        ids = ["1", "2"]
        criteria = ["SL517", "SL510"]
        owner = "o"
        reason = "board-level deals move slowly"
        expires = 2027-01-01
        """,
        "pipeline.waivers.toml",
    )
    args = ("check", str(policy), str(export), "--as-of", "2026-06-30")

    plain = run(*args, "--no-waivers", "--format", "json", "--fail-on", "warning")
    waived = run(*args, "--format", "json", "--fail-on", "warning")

    assert {f["code"] for f in json.loads(plain[1])["findings"]} == {"SL510", "SL517"}
    assert plain[0] == 1
    document = json.loads(waived[1])
    assert document["findings"] == []
    assert sorted((f["id"], f["code"]) for f in document["waived"]) == [
        ("1", "SL517"),
        ("2", "SL510"),
    ]
    assert (document["summary"]["conforming"], document["summary"]["waived"]) == (1, 1)
    assert waived[0] == 0, "the stalled warning is waived, so --fail-on warning passes"
    assert waivers_beside(policy) == waivers


def test_waivers_are_set_aside_with_only_an_event_log(tmp_path: Path) -> None:
    policy = tmp_path / "pipeline.stage"
    policy.write_text(HISTORY_POLICY, "utf-8")
    events = tmp_path / "events.csv"
    events.write_text("record_id,lifecycle_stage,timestamp\n1,Subscriber,2026-01-01\n")
    waivers = write(tmp_path, BY_ID.replace("MQL in japan requires engaged_sessions >= 3", "MQL"))

    code, out, err = run(
        "check", str(policy), "--events", str(events), "--waivers", waivers, "--as-of", AS_OF
    )

    assert code == 0, out + err
    assert "--waivers applies to exports (DATA), not to --events logs" in err
    assert "SL603" not in out
