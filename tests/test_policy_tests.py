"""`stagelang test`: policy authors' own cases, their verdicts, coverage and CI formats."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
from click.testing import CliRunner
from conftest import POLICIES, ROOT
from test_outputs_ci import assert_fits_ant_schema, assert_golden, validated_sarif

from stagelang.cli import main
from stagelang.policy_tests import PolicyTestError, run_file

CASES = "tests/data/policy_tests"
SCHEMA = json.loads((ROOT / "docs" / "test-output.schema.json").read_text("utf-8"))
LEADS = f"{CASES}/leads.test.toml"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(autouse=True)
def in_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # so that the paths in the outputs are short and stable


def write(folder: Path, name: str, text: str) -> str:
    path = folder / name
    path.write_text(text, "utf-8")
    return str(path)


def test_the_bundled_policies_pass_with_every_criterion_covered() -> None:
    code, out, err = run("test", "policies/", "--coverage")
    cases = sum(p.read_text("utf-8").count("[[case]]") for p in POLICIES.glob("*.test.toml"))
    assert (code, err) == (0, "")
    assert out.endswith(f"\n{cases} passed, 0 failed\n")
    assert "Coverage of policies/japan.stage by policies/japan.test.toml:" in out
    for line in out.splitlines():
        if line.startswith("Coverage of"):
            both, total = re.findall(r"(\d+) of (\d+) criteria", line)[0]
            assert both == total, line


def test_failures_show_expected_against_actual_and_coverage_gaps() -> None:
    code, out, _ = run("test", CASES, "--coverage")
    assert code == 1
    assert_golden("test_leads.txt", out)


def test_a_loose_expectation_compares_stages_and_a_precise_one_fields_too() -> None:
    results = {r.case.name: r for r in run_file(LEADS).results}
    assert results["an SQL without a budget fails SQL"].passed
    wrong_field = results["an SQL without a budget, blamed on the wrong field"]
    assert not wrong_field.passed
    assert wrong_field.actual == ["fails SQL: budget"]
    assert results["two sessions qualify as MQL whatever the stage field says"].passed


def test_stages_and_fields_may_be_listed_in_any_order(tmp_path: Path) -> None:
    policy = (ROOT / CASES / "leads.stage").read_text("utf-8")
    write(tmp_path, "leads.stage", policy)
    path = write(
        tmp_path,
        "leads.test.toml",
        'as_of = 2026-04-01\n[[case]]\nexpect = ["fails SQL: budget, need", "fails MQL: need"]\n'
        '[case.record]\nlifecycle_stage = "SQL"\nengaged_sessions = 1\n',
    )
    (result,) = run_file(path).results
    assert result.passed, result.actual
    assert result.case.name == "case 1"


def test_coverage_names_the_clauses_no_case_reaches(tmp_path: Path) -> None:
    write(tmp_path, "leads.stage", (ROOT / CASES / "leads.stage").read_text("utf-8"))
    path = write(
        tmp_path,
        "leads.test.toml",
        '[[case]]\nexpect = "conforms at Lead"\n[[case]]\nexpect = "fails MQL"\n',
    )
    untested = {c.describe(): gap for c, gap in run_file(path).coverage.untested()}
    assert untested == {
        "Lead exit when engaged_sessions >= 1": "never met",
        "MQL requires engaged_sessions >= 1": "never met",
        "MQL in japan requires engaged_sessions >= 3": "no case reaches it",
        "MQL exit when need": "no case reaches it",
        "SQL requires need": "no case reaches it",
        "SQL requires budget > 0": "no case reaches it",
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[case]\n", "not valid TOML"),
        ("as_of = 2026-04-01\n", "no test cases; add a [[case]] table"),
        ('as_of = "2026-04-01"\n[[case]]\nexpect = "fails MQL"\n', "as_of must be a date"),
        ('color = 1\n[[case]]\nexpect = "fails MQL"\n', "unknown key color"),
        ('[[case]]\nexpect = "passes MQL"\n', 'cannot read the expectation "passes MQL"'),
        ('[[case]]\nexpect = "conforms at MQX"\n', '"MQX" is not a stage of'),
        ('[[case]]\nexpect = "fails MQL: sessions"\n', '"sessions" is not a field of'),
        ('[[case]]\nexpect = "fails MQL"\n[case.record]\nsessions = 3\n', 'has "sessions"'),
        (
            '[[case]]\nexpect = "fails MQL"\n[case.record]\nengaged_sessions = "3"\n',
            'field "engaged_sessions" must be a whole number, not "3"',
        ),
        (
            '\n\n[[case]]\nexpect = "fails MQL"\n\n[[case]]\nname = "no expectation"\n',
            ":6: the case needs expect",
        ),
        ('policy = "../leads.stage"\n[[case]]\nexpect = "fails MQL"\n', "points outside"),
    ],
)
def test_a_bad_test_file_is_reported_with_its_place_and_exits_2(
    tmp_path: Path, text: str, message: str
) -> None:
    write(tmp_path, "leads.stage", (ROOT / CASES / "leads.stage").read_text("utf-8"))
    path = write(tmp_path, "leads.test.toml", text)
    code, out, err = run("test", path)
    assert (code, out) == (2, "")
    assert err.startswith(f"stagelang: {path}")
    assert message in err
    assert "Traceback" not in err
    with pytest.raises(PolicyTestError):
        run_file(path)


def test_missing_paths_folders_without_tests_and_broken_policies_exit_2(tmp_path: Path) -> None:
    code, _, err = run("test", str(tmp_path / "nowhere"))
    assert code == 2 and "no such file or folder" in err
    code, _, err = run("test", str(tmp_path))
    assert code == 2 and "no *.test.toml files under" in err

    write(tmp_path, "broken.stage", "id field record_id\nstage field s\nstage A requires nope\n")
    path = write(tmp_path, "broken.test.toml", '[[case]]\nexpect = "fails A"\n')
    code, out, err = run("test", path)
    assert (code, out) == (2, "")
    assert 'unknown field "nope"' in err
    assert "broken.stage:3:" in err
    assert "fix them first" in err


# The CI formats ---------------------------------------------------------------------------


def test_sarif_points_at_failing_cases_and_untested_clauses() -> None:
    code, out, _ = run("test", CASES, "--coverage", "--format", "sarif")
    assert code == 1
    log = validated_sarif(out)
    (sarif_run,) = log["runs"]
    rules = [rule["id"] for rule in sarif_run["tool"]["driver"]["rules"]]
    assert rules == ["SL701", "SL702"]
    failed = [r for r in sarif_run["results"] if r["ruleId"] == "SL701"]
    assert [r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in failed] == [
        11,
        28,
    ]
    assert failed[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == LEADS
    assert failed[0]["message"]["text"] == (
        "a Japanese MQL with one session: expected conforms at MQL, got fails MQL: engaged_sessions"
    )
    untested = [r for r in sarif_run["results"] if r["ruleId"] == "SL702"]
    assert len(untested) == 6
    region = untested[2]["locations"][0]["physicalLocation"]["region"]
    assert (region["startLine"], region["startColumn"]) == (18, 21)
    assert untested[2]["level"] == "warning"
    assert sarif_run["properties"] == {"passed": 3, "failed": 2}

    again = json.loads(run("test", CASES, "--coverage", "--format", "sarif")[1])
    prints = [r["partialFingerprints"] for r in sarif_run["results"]]
    assert prints == [r["partialFingerprints"] for r in again["runs"][0]["results"]]
    assert len({p["stagelang/v1"] for p in prints}) == len(prints)


def test_sarif_without_coverage_lists_only_the_failures() -> None:
    log = validated_sarif(run("test", CASES, "--format", "sarif")[1])
    assert {r["ruleId"] for r in log["runs"][0]["results"]} == {"SL701"}
    passing = validated_sarif(run("test", "policies/", "--format", "sarif")[1])
    assert passing["runs"][0]["results"] == []


def test_junit_has_a_suite_per_file_and_a_case_per_case() -> None:
    code, out, _ = run("test", CASES, "policies/", "--format", "junit")
    assert code == 1
    root = ET.fromstring(out)
    assert_fits_ant_schema(root)
    leads, *bundled = root
    assert [s.attrib["name"] for s in bundled] == [
        f"policies/{path.name}" for path in sorted(POLICIES.glob("*.test.toml"))
    ]
    assert (leads.attrib["tests"], leads.attrib["failures"]) == ("5", "2")
    failures = {c.attrib["name"]: c.find("failure") for c in leads.iter("testcase")}
    failure = failures["a Japanese MQL with one session"]
    assert failure is not None
    assert failure.attrib["type"] == "SL701"
    assert failure.text == (
        f"{LEADS}:11\n  - expected: conforms at MQL\n  + actual:   fails MQL: engaged_sessions"
    )
    assert failures["one session makes an MQL"] is None
    assert all(s.attrib["failures"] == "0" for s in bundled)


def test_github_annotates_failing_cases_and_closes_with_the_counts() -> None:
    code, out, _ = run("test", CASES, "--coverage", "--format", "github")
    assert code == 1
    lines = out.splitlines()
    assert lines[0] == (
        f"::error file={LEADS},line=11,title=SL701 policy-test-failed::a Japanese MQL with one "
        "session: expected conforms at MQL, got fails MQL: engaged_sessions"
    )
    assert lines[3] == (
        f"::warning file={CASES}/leads.stage,line=17,col=20,title=SL702 untested-criterion::"
        f"MQL requires engaged_sessions >= 1: never unmet in {LEADS}"
    )
    assert lines[-1] == "::notice title=stagelang test::3 passed, 2 failed"
    assert len(lines) == 2 + 6 + 1


def test_json_lists_every_case_with_both_verdicts() -> None:
    code, out, _ = run("test", CASES, "--format", "json")
    assert code == 1
    document = json.loads(out)
    validator = jsonschema.Draft202012Validator(SCHEMA)
    validator.check_schema(SCHEMA)
    validator.validate(document)
    validator.validate(json.loads(run("test", "policies/", "--format", "json")[1]))
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({**document, "passed": "3"})
    assert (document["passed"], document["failed"]) == (3, 2)
    (leads,) = document["files"]
    wrong = leads["cases"][3]
    assert wrong == {
        "name": "an SQL without a budget, blamed on the wrong field",
        "line": 28,
        "passed": False,
        "expected": ["fails SQL: need"],
        "actual": ["fails SQL: budget"],
    }
    assert leads["coverage"]["criteria"] == 6


OUTCOMES = """\
id field record_id
stage field lifecycle_stage
field need: bool
field loss_reason: string

stage MQL
  exit when need
stage meeting requires need
  values "Meeting Booked"
outcome closed_lost "Closed Lost"
  requires loss_reason is set
"""


def test_outcomes_and_stages_known_by_other_values_can_be_expected(tmp_path: Path) -> None:
    write(tmp_path, "deals.stage", OUTCOMES)
    path = write(
        tmp_path,
        "deals.test.toml",
        '[[case]]\nexpect = "conforms at meeting"\n[case.record]\nneed = true\n'
        '[[case]]\nexpect = "conforms at closed_lost"\n[case.record]\nloss_reason = "price"\n'
        '[[case]]\nexpect = "fails closed_lost: loss_reason"\n',
    )
    result = run_file(path)
    assert [r.passed for r in result.results] == [True, True, True]
    # The stage field was filled with the CRM value each expectation's stage is known by.
    assert [r.case.record["lifecycle_stage"] for r in result.results] == [
        "Meeting Booked",
        "closed_lost",
        "closed_lost",
    ]
    untested = {c.describe(): gap for c, gap in result.coverage.untested()}
    assert "closed_lost requires loss_reason is set" not in untested
    assert len(result.coverage.criteria) == 3

    bad = write(tmp_path, "deals.test.toml", '[[case]]\nexpect = "conforms at won"\n')
    code, _, err = run("test", bad)
    assert code == 2
    assert '"won" is not a stage of' in err and "(stages: MQL, meeting, closed_lost)" in err
