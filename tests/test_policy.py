"""The Python API on the bundled Japan policy: verdicts, missing values, overlays, qualify."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from helpers import policy

import stagelang

TODAY = dt.date(2026, 12, 3)


@pytest.fixture(scope="module")
def japan() -> stagelang.Policy:
    from conftest import POLICIES

    return stagelang.load(POLICIES / "japan.stage")


def customer(**changes: Any) -> dict[str, Any]:
    """A Japanese customer that meets every criterion, with some fields changed."""
    record: dict[str, Any] = {
        "record_id": "100001",
        "lifecycle_stage": "customer",
        "country": "JP",
        "icp_fit": True,
        "engaged_sessions": 5,
        "need": True,
        "process": True,
        "decision_makers": ["Sato", "Suzuki"],
        "meeting_at": dt.datetime(2026, 3, 1, 10, tzinfo=dt.UTC),
        "budget": Decimal("1200000"),
        "stakeholder": "Tanaka (CFO)",
        "contract_signed_at": dt.date(2026, 9, 1),
    }
    record.update(changes)
    return record


def test_a_complete_record_conforms_at_every_stage(japan: stagelang.Policy) -> None:
    for value in ["subscriber", "mql", "sql", "meeting_booked", "opportunity", "customer"]:
        verdict = japan.check(customer(lifecycle_stage=value))
        assert verdict.conforms, value
        assert verdict.unmet == ()


def test_the_japan_overlay_names_the_value_and_the_threshold(japan: stagelang.Policy) -> None:
    verdict = japan.check(customer(lifecycle_stage="mql", engaged_sessions=2))
    assert not verdict.conforms
    assert verdict.stage == "MQL"
    (unmet,) = verdict.unmet
    assert (unmet.stage, unmet.segment, unmet.text) == ("MQL", "japan", "engaged_sessions >= 3")
    assert unmet.values == {"engaged_sessions": 2}
    assert unmet.outcome is False
    assert str(unmet) == "MQL in japan requires engaged_sessions >= 3, but engaged_sessions = 2"
    lines = japan.checked.source.splitlines()
    line = lines.index("  in japan requires engaged_sessions >= 3") + 1
    assert (unmet.span.line, unmet.span.column) == (line, 21)
    assert unmet.span.file is None  # written in japan.stage itself, not in global.stage


def test_the_overlay_does_not_apply_outside_the_segment(japan: stagelang.Policy) -> None:
    assert japan.check(customer(lifecycle_stage="mql", engaged_sessions=2, country="US")).conforms


def test_an_empty_country_is_not_japan(japan: stagelang.Policy) -> None:
    assert japan.check(customer(lifecycle_stage="mql", engaged_sessions=1, country="")).conforms


def test_criteria_are_cumulative_and_listed_lowest_stage_first(japan: stagelang.Policy) -> None:
    verdict = japan.check(customer(icp_fit=False, budget=Decimal(0)))
    assert [(u.stage, u.text) for u in verdict.unmet] == [
        ("MQL", "icp_fit"),
        ("Opportunity", "budget > 0"),
    ]
    assert verdict.first_unmet_stage == "MQL"


def test_only_stages_up_to_the_records_own_are_checked(japan: stagelang.Policy) -> None:
    # An SQL has no meeting yet and no budget: later stages' criteria do not apply to it.
    record = customer(lifecycle_stage="sql", meeting_at=None, budget=None, stakeholder=None)
    assert japan.check(record).conforms


def test_exit_criteria_of_lower_stages_apply(japan: stagelang.Policy) -> None:
    strict = policy("""
        field a: bool
        field b: bool
        stage First
          exit when b
        stage Second requires a
    """)
    verdict = strict.check({"lifecycle_stage": "second", "a": True, "b": False})
    assert [(u.kind, u.stage, u.text) for u in verdict.unmet] == [("exit", "First", "b")]
    assert strict.check({"lifecycle_stage": "first", "a": False, "b": False}).conforms


@pytest.mark.parametrize("empty", [None, "", []], ids=["none", "empty-text", "empty-list"])
def test_missing_values_make_criteria_unknown_not_met(
    japan: stagelang.Policy, empty: object
) -> None:
    verdict = japan.check(customer(lifecycle_stage="sql", decision_makers=empty))
    texts = [u.text for u in verdict.unmet]
    assert texts == ["decision_makers", "count(decision_makers) >= 2"]
    assert verdict.unmet[0].outcome is False  # a bare list reads "is set": never unknown
    assert verdict.unmet[0].values == {"decision_makers": None}


def test_an_absent_key_is_missing(japan: stagelang.Policy) -> None:
    record = customer(lifecycle_stage="opportunity")
    del record["budget"]
    (unmet,) = japan.check(record).unmet
    assert unmet.outcome is None
    assert str(unmet) == "Opportunity requires budget > 0, but budget is missing"


def test_a_float_budget_is_accepted(japan: stagelang.Policy) -> None:
    assert japan.check(customer(budget=950.5)).conforms
    assert not japan.check(customer(budget=0.0)).conforms


@pytest.mark.parametrize(
    "value", ["MQL", "mql", " Mql ", "MQL"], ids=["upper", "lower", "padded", "same"]
)
def test_stage_values_match_ignoring_case_and_spaces(japan: stagelang.Policy, value: str) -> None:
    assert japan.check(customer(lifecycle_stage=value)).stage == "MQL"


def test_an_unknown_stage_value_is_reported_not_raised(japan: stagelang.Policy) -> None:
    verdict = japan.check(customer(lifecycle_stage="evangelist"))
    assert (verdict.stage, verdict.conforms) == (None, False)
    assert verdict.problem is not None and '"evangelist" is not a stage' in verdict.problem


def test_a_missing_stage_value_is_reported(japan: stagelang.Policy) -> None:
    verdict = japan.check(customer(lifecycle_stage=""))
    assert verdict.problem == "lifecycle_stage is missing, so the record has no stage to check"


def test_a_value_of_the_wrong_type_raises_a_clear_error(japan: stagelang.Policy) -> None:
    with pytest.raises(stagelang.RecordError, match=r"field \"engaged_sessions\" holds '5'"):
        japan.check(customer(engaged_sessions="5"))


def test_validate_reports_wrong_types_the_fast_path_would_trust(
    japan: stagelang.Policy,
) -> None:
    with pytest.raises(stagelang.RecordError) as raised:
        japan.validate(customer(decision_makers="Sato;Suzuki"))
    assert raised.value.field == "decision_makers"


def test_the_verdict_does_not_change_when_the_caller_reuses_its_dict(
    japan: stagelang.Policy,
) -> None:
    record = customer(lifecycle_stage="mql", engaged_sessions=2)
    verdict = japan.check(record)
    record["engaged_sessions"] = 40
    assert verdict.unmet[0].values == {"engaged_sessions": 2}


def test_qualify_returns_the_highest_stage_met(japan: stagelang.Policy) -> None:
    assert japan.qualify(customer()) == "Customer"
    assert japan.qualify(customer(contract_signed_at=None)) == "Opportunity"
    assert japan.qualify(customer(engaged_sessions=2)) == "Subscriber"
    assert japan.qualify(customer(engaged_sessions=2, country="US")) == "Customer"


def test_qualify_is_none_when_the_first_stage_is_not_met() -> None:
    strict = policy("field a: bool\nstage Only requires a\n")
    assert strict.qualify({"a": False}) is None
    assert strict.qualify({"a": True}) == "Only"


def test_required_fields_are_checked_for_every_record() -> None:
    strict = policy("field email: string required\nfield a: bool\nstage Lead requires a\n")
    verdict = strict.check({"lifecycle_stage": "lead", "a": True})
    assert [str(u) for u in verdict.unmet] == ["email is required, but it is missing"]


def test_today_and_durations() -> None:
    recent = policy("field signed: date\nstage Customer requires today - signed <= 30d\n")
    record = {"lifecycle_stage": "customer", "signed": dt.date(2026, 11, 20)}
    assert recent.check(record, today=TODAY).conforms
    assert not recent.check(record, today=dt.date(2027, 1, 1)).conforms


def test_a_date_compared_with_a_datetime_reads_as_midnight() -> None:
    booked = policy("field at: datetime\nstage Booked requires at >= 2026-03-01\n")
    tokyo = dt.timezone(dt.timedelta(hours=9))
    assert booked.check(
        {"lifecycle_stage": "booked", "at": dt.datetime(2026, 3, 1, 0, 0, tzinfo=tokyo)}
    ).conforms
    assert not booked.check(
        {"lifecycle_stage": "booked", "at": dt.datetime(2026, 2, 28, 23, 59, tzinfo=tokyo)}
    ).conforms


def test_segments_of(japan: stagelang.Policy) -> None:
    assert japan.segments_of(customer()) == ("japan",)
    assert japan.segments_of(customer(country="DE")) == ()


def test_load_raises_policy_error_with_every_diagnostic(tmp_path: Path) -> None:
    path = tmp_path / "bad.stage"
    path.write_text(
        "stage field s\nfield a: int\nstage A requires b\n  exit when a\nstage B requires a\n",
        "utf-8",
    )
    with pytest.raises(stagelang.PolicyError) as raised:
        stagelang.load(path)
    assert [d.code for d in raised.value.errors] == ["SL101", "SL202", "SL202"]
    assert f"{path}:3:18: error[SL101]" in str(raised.value)


def test_load_of_a_missing_file_raises_policy_file_error(tmp_path: Path) -> None:
    with pytest.raises(stagelang.PolicyFileError, match="cannot read the file"):
        stagelang.load(tmp_path / "nope.stage")


def test_a_policy_file_that_is_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "sjis.stage"
    path.write_bytes("stage field s\n# 商談\n".encode("cp932"))
    with pytest.raises(stagelang.PolicyFileError, match=r"sjis.stage:2: the file is not UTF-8"):
        stagelang.load(path)
