"""`stagelang fuzz`: planted mistakes are caught with minimal records, clean policies pass."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner
from conftest import POLICIES, ROOT

import stagelang
from stagelang.cli import main
from stagelang.fuzzing import Budget, FuzzReport, fuzz
from stagelang.fuzzing.report import render_json, render_text
from stagelang.fuzzing.search import Answer
from stagelang.fuzzing.walks import Change, LadderRules, Move, PolicyRules, walk
from stagelang.policy import Policy
from stagelang.policy_tests import outcome

DATA = ROOT / "tests" / "data" / "fuzz"
TODAY = dt.date(2026, 4, 1)
SMALL = Budget(max_examples=100)
SCHEMA = json.loads((ROOT / "docs" / "fuzz-output.schema.json").read_text("utf-8"))
VALIDATOR = jsonschema.Draft202012Validator(
    SCHEMA, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
)


@pytest.fixture(scope="module")
def planted() -> FuzzReport:
    return fuzz(stagelang.load(DATA / "planted.stage"), SMALL, today=TODAY)


def answers(report: FuzzReport, kind: str, subject: str) -> Answer:
    (found,) = [
        a for a in report.answers if a.question.property == kind and subject in a.question.subject
    ]
    return found


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_the_bundled_policies_pass() -> None:
    for name in ("japan.stage", "global.stage"):
        report = fuzz(stagelang.load(POLICIES / name), SMALL, today=TODAY)
        assert report.holds, render_text(report)
        assert {a.question.property for a in report.answers} == {"reachable", "exit"}
        assert report.walks is not None and report.walks.status == "holds"


def test_japan_stage_from_the_command_line_exits_0() -> None:
    code, out, _ = run("fuzz", str(POLICIES / "japan.stage"), "--max-examples", "50")
    assert code == 0
    assert "ok    Customer in japan" in out
    assert out.endswith("Every property holds (within the search budget; see docs/fuzz.md).\n")


def test_a_planted_unreachable_stage_is_reported_with_the_clauses_that_clash(
    planted: FuzzReport,
) -> None:
    for subject in ("Customer outside every segment", "Customer in japan"):
        answer = answers(planted, "reachable", subject)
        assert answer.status == "fails"
        assert answer.example is None
        assert answer.never_together == [
            "MQL requires engaged_sessions >= 3",
            "Customer requires engaged_sessions < 2",
        ]
    assert answers(planted, "reachable", "Opportunity in japan").status == "holds"


def test_a_broken_invariant_is_caught_with_a_minimal_conforming_record(
    planted: FuzzReport,
) -> None:
    answer = answers(planted, "invariant", "(Opportunity in japan)")
    assert answer.status == "fails"
    # The smallest record: every value either needed to conform at Opportunity in japan, or
    # the least such value; no budget at all, which is what breaks the invariant.
    assert answer.example == {
        "record_id": "example-1",
        "lifecycle_stage": "Opportunity",
        "country": "JP",
        "engaged_sessions": 3,
        "need": True,
        "ringi_route_mapped": True,
    }
    policy = planted.policy
    assert policy.check(answer.example, today=TODAY).conforms
    assert answers(planted, "invariant", "(Opportunity outside every segment)").holds


def test_a_replacing_overlay_is_shown_both_ways(planted: FuzzReport) -> None:
    policy = planted.policy
    japan_way = answers(planted, "replacement", "passes the japan criteria")
    global_way = answers(planted, "replacement", "passes the global criteria")

    assert japan_way.example is not None and global_way.example is not None
    assert japan_way.not_true == ["Opportunity requires budget > 0"]
    assert "budget" not in japan_way.example
    assert policy.segments_of(japan_way.example) == ("japan",)
    assert policy.check(japan_way.example, today=TODAY).conforms

    assert global_way.not_true == ["Opportunity in japan instead requires ringi_route_mapped"]
    assert global_way.example["budget"] == Decimal("0.01")
    assert "ringi_route_mapped" not in global_way.example
    # A Japanese record with all the global criteria fails, for exactly that reason; outside
    # Japan the same record conforms.
    assert policy.segments_of(global_way.example) == ("japan",)
    assert outcome(policy, global_way.example, TODAY) == ["fails Opportunity: ringi_route_mapped"]
    elsewhere = {**global_way.example, "country": "US"}
    assert outcome(policy, elsewhere, TODAY) == ["conforms at Opportunity"]


def test_a_sound_replacement_is_shown_but_does_not_fail_the_run() -> None:
    report = fuzz(stagelang.load(DATA / "ringi.stage"), SMALL, today=TODAY)
    assert report.holds, render_text(report)
    shown = [a for a in report.answers if a.question.property == "replacement"]
    assert [a.not_true for a in shown] == [
        ["Opportunity requires budget > 0"],
        ["Opportunity in japan instead requires ringi_route_mapped"],
    ]
    text = render_text(report)
    assert '          expect = "fails Opportunity: ringi_route_mapped"\n' in text
    assert text.endswith("Every property holds (within the search budget; see docs/fuzz.md).\n")


def test_the_text_report_prints_pasteable_cases_and_exits_1() -> None:
    code, out, _ = run(
        "fuzz", str(DATA / "planted.stage"), "--max-examples", "100", "--as-of", "2026-04-01"
    )
    assert code == 1
    assert "  FAIL  Customer in japan\n" in out
    assert "        does not meet: Opportunity requires budget > 0\n" in out
    assert "          [case.record]\n" in out
    assert "          ringi_route_mapped = true\n" in out
    assert "holds only because no record conforms there" in out
    assert out.endswith("3 properties failed.\n")


def test_runs_are_repeatable_and_the_seed_is_reported() -> None:
    args = ["fuzz", str(DATA / "planted.stage"), "--format", "json", "--max-examples", "60"]
    first = run(*args, "--seed", "7", "--as-of", "2026-04-01")
    second = run(*args, "--seed", "7", "--as-of", "2026-04-01")
    assert first == second
    document = json.loads(first[1])
    VALIDATOR.validate(document)
    assert document["seed"] == 7 and document["holds"] is False
    statuses = {(q["property"], q["subject"]): q["status"] for q in document["questions"]}
    assert statuses[("reachable", "Customer in japan")] == "fails"
    invariant = next(
        q for q in document["questions"] if q["status"] == "fails" and q["property"] == "invariant"
    )
    assert invariant["example"]["country"] == "JP"
    assert invariant["verdict"] == ["conforms at Opportunity"]


def test_a_policy_with_errors_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.stage"
    bad.write_text("stage field s\nstage MQL requires nope\n", "utf-8")
    code, out, err = run("fuzz", str(bad))
    assert code == 2
    assert out == ""
    assert 'unknown field "nope"' in err
    assert run("fuzz", str(tmp_path / "missing.stage"))[0] == 2
    assert run("fuzz", str(bad), "--max-examples", "0")[0] == 2


def test_an_exhausted_deadline_leaves_questions_unfinished_and_fails() -> None:
    report = fuzz(
        stagelang.load(POLICIES / "japan.stage"), Budget(100, 0, deadline=1e-9), today=TODAY
    )
    assert report.unfinished and not report.holds
    assert all(a.status == "unfinished" for a in report.answers)
    VALIDATOR.validate(json.loads(render_json(report)))
    assert render_text(report).endswith(
        "Unfinished: the deadline came first (0 properties failed so far).\n"
    )


class SkippingRules:
    """Looser rules than the ladder, of the kind `allow skip` brings: any stage up may be
    entered by a record that meets that stage's own entry criteria only."""

    def moves(self, policy: Policy, rank: int) -> Sequence[int]:
        return list(range(rank + 1, len(policy.stages)))

    def admits(self, policy: Policy, record: dict[str, Any], rank: int, today: dt.date) -> bool:
        stage = policy.checked.stages[rank]
        segments = policy.segments_of(record, today=today)
        return all(
            policy.evaluate(c, record, today=today) is True
            for c in stage.entry
            if c.applies(segments)
        )


def test_walks_catch_rules_that_let_a_record_skip_a_stage_s_criteria() -> None:
    policy = stagelang.load(POLICIES / "japan.stage")
    report = fuzz(policy, SMALL, today=TODAY, rules=SkippingRules())
    assert report.walks is not None and report.walks.status == "fails"
    smallest = report.walks.walk
    assert smallest is not None and smallest.broken is not None
    assert smallest.broken.startswith("entered ")
    assert " without meeting: " in smallest.broken
    assert not report.holds
    document = json.loads(render_json(report))
    VALIDATOR.validate(document)
    assert document["walks"]["broken"] == smallest.broken
    assert document["walks"]["steps"] == smallest.log


def test_a_walk_under_the_ladder_rules_only_enters_stages_it_meets() -> None:
    policy = stagelang.load(POLICIES / "global.stage")
    steps = [
        Move(0),  # refused: no engaged session yet
        Change("engaged_sessions", 2),
        Change("icp_fit", True),
        Move(0),
        Move(0),  # refused: SQL needs need, process and decision makers
    ]
    result = walk(policy, {}, steps, TODAY)
    assert result.entered == ["Subscriber", "MQL"]
    assert result.broken is None
    assert result.log == [
        "move to MQL refused",
        "set engaged_sessions = 2",
        "set icp_fit = true",
        "moved to MQL",
        "move to SQL refused",
    ]


SKIPPING = """\
id field record_id
stage field lifecycle_stage
field engaged_sessions: int
field need: bool
field budget: decimal

stage Lead
  exit when engaged_sessions >= 1
stage MQL requires engaged_sessions >= 1
  exit when need
stage SQL requires need
  allow skip
  exit when budget > 0
stage Opportunity requires budget > 0
  allow back to MQL
"""


def test_walks_follow_the_policy_s_skips_and_returns() -> None:
    policy = stagelang.loads(SKIPPING, "skipping.stage")
    rules = PolicyRules()
    assert list(rules.moves(policy, 1)) == [2, 3]  # MQL: to SQL, or past it to Opportunity
    assert list(rules.moves(policy, 3)) == [1]  # Opportunity: back to MQL only
    assert list(LadderRules().moves(policy, 1)) == [2]

    steps = [
        Change("engaged_sessions", 1),
        Move(0),  # to MQL
        Change("budget", Decimal("10")),
        Move(1),  # past SQL: refused, SQL's `need` is not met yet
        Change("need", True),
        Move(1),  # past SQL to Opportunity
        Move(0),  # back to MQL
    ]
    result = walk(policy, {}, steps, TODAY)
    assert result.broken is None
    assert result.entered == ["Lead", "MQL", "Opportunity", "MQL"]
    assert result.log[3] == "move to Opportunity refused"


def test_the_fuzzer_walks_a_policy_with_skips_and_returns_and_finds_nothing() -> None:
    report = fuzz(stagelang.loads(SKIPPING, "skipping.stage"), SMALL, today=TODAY)
    assert report.walks is not None and report.walks.status == "holds"
    assert report.holds, render_text(report)


def test_an_outcome_no_record_can_meet_is_reported_like_a_stage() -> None:
    policy = stagelang.loads(
        SKIPPING
        + "field loss_reason: string\n"
        + "outcome closed_lost\n  requires loss_reason is set\n"
        + "outcome disqualified\n  requires budget > 0 and budget < 0\n",
        "outcomes.stage",
    )
    report = fuzz(policy, SMALL, today=TODAY)
    lost = answers(report, "reachable", "closed_lost")
    assert lost.status == "holds"
    assert lost.example is not None and lost.example["lifecycle_stage"] == "closed_lost"
    assert outcome(policy, lost.example, TODAY) == ["conforms at closed_lost"]
    disqualified = answers(report, "reachable", "disqualified")
    assert disqualified.status == "fails"
    assert disqualified.never_together == [
        "disqualified requires budget > 0",
        "disqualified requires budget < 0",
    ]
    assert not report.holds
