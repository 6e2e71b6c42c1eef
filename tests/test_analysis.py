"""Static checks: every rule code, with positions, "did you mean" and no echoing errors."""

from __future__ import annotations

import pytest
from helpers import HEADER, codes, diagnostics

import stagelang
from stagelang.diagnostics import Severity

FIELDS = """\
field country: string
field icp_fit: bool
field engaged_sessions: int
field budget: decimal
field decision_makers: list<string>
field meeting_at: datetime
field signed: date
"""


def only(text: str) -> list[str]:
    """The error codes for a policy with the usual fields (unused-field warnings left out)."""
    return [d.code for d in diagnostics(HEADER + FIELDS + text) if d.severity is Severity.ERROR]


def test_the_bundled_policies_have_no_diagnostics(japan_path: object) -> None:
    from conftest import POLICIES

    for path in sorted(POLICIES.glob("*.stage")):
        _, found = stagelang.check_source(path.read_text("utf-8"), str(path))
        assert found == [], path.name


def test_unknown_field_with_did_you_mean_and_position() -> None:
    found = diagnostics(HEADER + FIELDS + "stage A requires engaged_sesions >= 1\n")
    unknown = [d for d in found if d.code == "SL101"]
    assert len(unknown) == 1
    assert unknown[0].help == 'did you mean "engaged_sessions"?'
    assert (unknown[0].span.line, unknown[0].span.column) == (10, 18)
    assert unknown[0].span.end_column == 18 + len("engaged_sesions")


def test_unknown_field_does_not_echo_as_a_type_error() -> None:
    assert "SL201" not in only('stage A requires nosuch > "x"\n')


def test_unknown_segment() -> None:
    found = only(
        'segment japan: country == "JP"\nstage A requires icp_fit\n'
        "  in japn requires engaged_sessions >= 3\n"
    )
    assert "SL102" in found


@pytest.mark.parametrize(
    ("declaration", "help_text"),
    [
        ("field x: integer", 'did you mean "int"?'),
        ("field x: text", 'did you mean "string"?'),
        ("field x: strng", 'did you mean "string"?'),
    ],
    ids=["integer", "text", "typo"],
)
def test_unknown_type(declaration: str, help_text: str) -> None:
    found = [
        d
        for d in diagnostics(HEADER + declaration + "\nstage A requires x is set\n")
        if d.code == "SL103"
    ]
    assert [d.help for d in found] == [help_text]


@pytest.mark.parametrize(
    "text",
    [
        "field icp_fit: int\nstage A requires icp_fit\n",
        'segment japan: country == "JP"\nsegment japan: country == "JA"\n'
        "stage A requires icp_fit\n  in japan requires icp_fit\n",
        "stage A requires icp_fit\nstage A requires icp_fit\n",
        'policy "a"\npolicy "b"\nstage A requires icp_fit\n',
        "stage field other\nstage A requires icp_fit\n",
    ],
    ids=["field", "segment", "stage", "policy-name", "stage-field"],
)
def test_duplicate_declarations(text: str) -> None:
    assert "SL104" in only(text)


def test_a_stage_value_claimed_by_two_stages() -> None:
    found = only('stage A requires icp_fit\n  exit when icp_fit\nstage B\n  values "a"\n')
    assert "SL105" in found


def test_stage_values_are_claimed_ignoring_case() -> None:
    assert "SL105" in only("stage sql requires icp_fit\n  exit when icp_fit\nstage SQL\n")


def test_missing_stage_field_is_an_error_and_missing_id_field_a_warning() -> None:
    found = diagnostics("field a: bool\nstage A requires a\n")
    severities = {d.code: d.severity for d in found}
    assert severities == {"SL106": Severity.ERROR, "SL107": Severity.WARNING}


def test_no_stages() -> None:
    assert "SL108" in codes(HEADER)


@pytest.mark.parametrize(
    "condition",
    ['budget > "high"', "icp_fit >= 1", 'signed == "2026-01-01"', "country > 3"],
    ids=["number-vs-text", "bool-ordered", "date-vs-text", "text-vs-number"],
)
def test_type_mismatch(condition: str) -> None:
    assert only(f"stage A requires {condition}\n") == ["SL201"]


def test_type_mismatch_message_names_both_types() -> None:
    found = diagnostics(HEADER + FIELDS + 'stage A requires budget > "high"\n')
    mismatch = next(d for d in found if d.code == "SL201")
    assert mismatch.message == "cannot compare a number with text using >"


@pytest.mark.parametrize(
    "condition",
    ["engaged_sessions", "budget", "signed", "3", "engaged_sessions + 1"],
    ids=["int-field", "decimal-field", "date-field", "number", "sum"],
)
def test_a_bare_value_is_not_a_condition(condition: str) -> None:
    assert "SL202" in only(f"stage A requires {condition}\n")


def test_a_bare_list_or_text_field_reads_as_is_set() -> None:
    assert only("stage A requires decision_makers and country\n") == []


@pytest.mark.parametrize(
    "condition",
    [
        "count(country) >= 1",
        "country + 1 == 2",
        '"JP" in country',
        "-country == 1",
        "engaged_sessions contains 1",
    ],
    ids=["count-text", "add-text", "in-text", "negate-text", "contains-number"],
)
def test_operators_on_the_wrong_type(condition: str) -> None:
    assert "SL203" in only(f"stage A requires {condition}\n")


def test_mixed_list_literal() -> None:
    assert "SL204" in only('stage A requires country in ["JP", 3]\n')


def test_stage_without_exit_is_a_warning_except_for_the_last() -> None:
    found = diagnostics(HEADER + FIELDS + "stage A requires icp_fit\nstage B requires icp_fit\n")
    no_exit = [d for d in found if d.code == "SL301"]
    assert [d.message for d in no_exit] == ['stage "A" has no exit criterion']
    assert no_exit[0].severity is Severity.WARNING


def test_unused_field_and_segment_are_warnings() -> None:
    found = diagnostics(
        HEADER + 'field spare: int\nfield c: string\nsegment jp: c == "JP"\nstage A requires c\n'
    )
    assert {(d.code, d.severity) for d in found} == {
        ("SL302", Severity.WARNING),
        ("SL303", Severity.WARNING),
    }


def test_every_problem_in_a_file_is_reported_in_one_run() -> None:
    text = (
        "stage A requires engaged_sesions >= 1\n"
        '  exit when budget > "high"\n'
        "stage B requires icp_fit >= 1\n"
    )
    assert only(text) == ["SL101", "SL201", "SL201"]


def test_date_and_datetime_compare_and_dates_take_durations() -> None:
    text = (
        "stage A requires (meeting_at >= 2026-01-01 and signed + 30d > today\n"
        "  and today - signed <= 6w)\n"
    )
    assert only(text) == []


def test_a_list_holds_constants_only() -> None:
    found = diagnostics(HEADER + FIELDS + 'stage A requires country in [country, "JP"]\n')
    assert [(d.code, d.message) for d in found if d.is_error] == [
        ("SL204", "a list in a policy holds constants only")
    ]


def test_an_option_given_twice_is_reported() -> None:
    found = diagnostics(HEADER + 'field won: date from "A" from "B"\nstage A requires won is set\n')
    assert [(d.code, d.message) for d in found] == [
        ("SL104", "`from` is given twice for one field")
    ]


def test_a_datetime_is_not_looked_for_in_a_list_of_dates() -> None:
    assert only("stage A requires meeting_at in [2026-01-01]\n") == ["SL203"]
    assert only("stage A requires signed in [2026-01-01]\n") == []


@pytest.mark.parametrize("name", ["today", "count", "not", "TRUE", "false"])
def test_reserved_field_names(name: str) -> None:
    found = diagnostics(
        HEADER + f"field {name}: bool required\nfield a: bool\nstage A requires a\n"
    )
    assert [d.code for d in found] == ["SL109"]


def test_the_stage_field_must_be_text() -> None:
    found = diagnostics(
        "id field record_id\nfield lifecycle_stage: int\n"
        "stage field lifecycle_stage\nfield a: bool\nstage A requires a\n"
    )
    assert [d.code for d in found] == ["SL110"]


def test_missing_declarations_point_at_the_first_statement_not_a_comment() -> None:
    found = diagnostics("# A comment first.\n\nfield a: bool\nstage A requires a\n")
    assert {(d.code, d.span.line) for d in found} == {("SL106", 3), ("SL107", 3)}


def test_a_stage_value_clash_points_at_the_value() -> None:
    found = diagnostics(
        HEADER + "field a: bool\nstage A requires a\n  exit when a\n"
        'stage B\n  values "b"\n  values "x", "A"\n'
    )
    clash = next(d for d in found if d.code == "SL105")
    assert (clash.span.line, clash.span.column) == (8, 15)
