"""CRM presets: `use hubspot`, `use salesforce leads`, `use salesforce opportunities`."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

import stagelang
from stagelang.cli import main
from stagelang.presets import load_preset, preset_names
from stagelang.syntax.formatter import format_source

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).parent / "data"
HUBSPOT_POLICY = ROOT / "policies" / "hubspot.stage"
SALESFORCE_POLICY = DATA / "salesforce_opportunities.stage"


def codes(text: str) -> list[str]:
    _, found = stagelang.check_source(textwrap.dedent(text), "test.stage")
    return [d.code for d in found]


def outcomes(policy: stagelang.Policy, export: Path) -> dict[str, tuple[str | None, bool]]:
    """Record id -> (stage, conforms) for each row of an export."""
    return {
        str(result.record_id): (result.stage, result.conforms)
        for result in policy.check_file(str(export))
    }


# The presets hold the vendors' names --------------------------------------------------------


def test_hubspot_preset_has_the_default_lifecycle_stages_in_order() -> None:
    preset = load_preset("hubspot")
    assert preset is not None
    assert [stage.value for stage in preset.stages] == [
        "subscriber",
        "lead",
        "marketingqualifiedlead",
        "salesqualifiedlead",
        "opportunity",
        "customer",
        "evangelist",
        "other",
    ]
    assert (preset.id_field.column, preset.stage_field.column) == ("Record ID", "Lifecycle Stage")


def test_hubspot_preset_knows_the_old_and_new_date_entered_columns() -> None:
    preset = load_preset("hubspot")
    assert preset is not None
    mql = preset.stages[2]
    assert mql.date_entered == (
        "Became a Marketing Qualified Lead Date",
        "hs_lifecyclestage_marketingqualifiedlead_date",
        "hs_v2_date_entered_marketingqualifiedlead",
        'Date entered "Marketing Qualified Lead (Lifecycle Stage Pipeline)"',
        # Some exports quote the stage label with single quotes.
        "Date entered 'Marketing Qualified Lead (Lifecycle Stage Pipeline)'",
    )
    assert mql.date_exited[0] == "hs_v2_date_exited_marketingqualifiedlead"
    for stage in preset.stages:
        assert f"hs_lifecyclestage_{stage.value}_date" in stage.date_entered
        assert f"hs_v2_date_entered_{stage.value}" in stage.date_entered
        assert f"hs_v2_date_exited_{stage.value}" in stage.date_exited


def test_salesforce_opportunity_preset_has_the_default_stages_in_order() -> None:
    preset = load_preset("salesforce opportunities")
    assert preset is not None
    assert [stage.value for stage in preset.stages] == [
        "Prospecting",
        "Qualification",
        "Needs Analysis",
        "Value Proposition",
        "Id. Decision Makers",
        "Perception Analysis",
        "Proposal/Price Quote",
        "Negotiation/Review",
        "Closed Won",
        "Closed Lost",
    ]


def test_salesforce_lead_preset_takes_the_older_and_the_newer_statuses() -> None:
    preset = load_preset("salesforce leads")
    assert preset is not None
    assert [stage.values for stage in preset.stages] == [
        ("Open - Not Contacted", "Open"),
        ("Working - Contacted", "Contacted"),
        ("Closed - Converted", "Qualified"),
        ("Closed - Not Converted", "Unqualified"),
    ]


def test_preset_names_ignore_case_and_spacing() -> None:
    assert load_preset("Salesforce   Opportunities") == load_preset("salesforce opportunities")
    assert load_preset("pipedrive") is None
    assert preset_names() == ["hubspot", "salesforce leads", "salesforce opportunities"]


# What `use` fills in --------------------------------------------------------------------------


def test_use_hubspot_supplies_id_and_stage_columns_and_stage_values() -> None:
    policy = stagelang.loads(
        textwrap.dedent(
            """\
            use hubspot
            field icp_fit: bool
            stage Lead
              exit when icp_fit
            stage MQL requires icp_fit
            """
        )
    )
    assert policy.fields["record_id"].column == "Record ID"
    assert policy.fields["lifecycle_stage"].column == "Lifecycle Stage"
    for written in ("Marketing Qualified Lead", "marketingqualifiedlead", "MQL", " mql "):
        assert policy.stage_for(written) == "MQL"
    assert policy.stage_for("Sales Qualified Lead") is None
    assert policy.preset is not None
    assert policy.preset.date_entered["MQL"][0] == "Became a Marketing Qualified Lead Date"


def test_what_the_policy_writes_wins_over_the_preset() -> None:
    policy = stagelang.loads(
        textwrap.dedent(
            """\
            use hubspot
            id field contact_id from "Contact ID"
            stage field stage
            stage MQL
              values "Marketing Qualified"
            """
        )
    )
    assert policy.fields["contact_id"].column == "Contact ID"
    # A stage field without `from` reads the CRM's export column.
    assert policy.fields["stage"].column == "Lifecycle Stage"
    assert policy.stage_for("Marketing Qualified") == "MQL"
    assert policy.stage_for("marketingqualifiedlead") is None


def test_a_stage_the_crm_does_not_have_is_a_warning_unless_it_has_values() -> None:
    base = """\
        use hubspot
        stage Lead
          exit when lifecycle_stage is set
        stage meeting_booked "Meeting Booked"
        """
    assert codes(base) == ["SL125"]
    assert codes(base + '  values "Meeting Booked", "1234567"\n') == []


def test_an_unknown_preset_is_an_error_with_a_suggestion() -> None:
    _, found = stagelang.check_source("use hubspt\nstage Lead\n", "test.stage")
    # Not also "no stage field" (SL106) and "no id field" (SL107): the preset would give them.
    assert [d.code for d in found] == ["SL124"]
    assert found[0].span.line == 1 and found[0].span.column == 5
    assert 'did you mean "use hubspot"?' in (found[0].help or "")


def test_use_salesforce_alone_asks_which_object() -> None:
    _, found = stagelang.check_source("use Salesforce\nstage Open\n", "test.stage")
    assert [d.code for d in found] == ["SL124"]
    assert (found[0].help or "").startswith(
        'say which object: "use salesforce leads" or "use salesforce opportunities"'
    )


def test_two_different_presets_are_an_error_but_a_repeated_one_is_not(tmp_path: Path) -> None:
    assert codes("use hubspot\nuse salesforce leads\nstage Lead\n") == ["SL104"]

    (tmp_path / "base.stage").write_text("use hubspot\nstage Lead\nstage MQL\n", "utf-8")
    regional = tmp_path / "regional.stage"
    regional.write_text('extends "base.stage"\nuse HubSpot\nstage MQL\n', "utf-8")
    _, found = stagelang.check_source(regional.read_text("utf-8"), str(regional))
    assert [d.code for d in found if d.is_error] == []


@given(
    index=st.integers(0, 7),
    casing=st.sampled_from([str.lower, str.upper, str.title, str.casefold]),
    padding=st.sampled_from(["", " ", "  "]),
)
def test_every_way_hubspot_writes_a_stage_finds_it(index: int, casing, padding: str) -> None:
    preset = load_preset("hubspot")
    assert preset is not None
    crm_stage = preset.stages[index]
    policy = _all_hubspot_stages()
    expected = policy.stages[index]
    for written in (crm_stage.value, crm_stage.label):
        assert policy.stage_for(padding + casing(written) + padding) == expected


def _all_hubspot_stages() -> stagelang.Policy:
    names = ["Subscriber", "Lead", "MQL", "SQL", "Opportunity", "Customer", "Evangelist", "Other"]
    lines = ["use hubspot"]
    for name in names[:-1]:
        lines += [f"stage {name}", "  exit when lifecycle_stage is set"]
    lines.append(f"stage {names[-1]}")
    return stagelang.loads("\n".join(lines) + "\n")


def test_the_formatter_keeps_a_use_line_with_the_heading() -> None:
    text = 'use   hubspot\npolicy "p"\n\nstage Lead\n'
    formatted = format_source(text, "test.stage")
    assert formatted.splitlines()[:2] == ["use hubspot", 'policy "p"']
    assert format_source(formatted, "test.stage") == formatted


# End to end, on exports -----------------------------------------------------------------------


def test_bundled_hubspot_policy_reads_a_hubspot_export() -> None:
    policy = stagelang.load(HUBSPOT_POLICY)
    found = outcomes(policy, DATA / "hubspot_contacts.csv")
    assert found == {
        "101": ("Subscriber", True),
        "102": ("MQL", True),
        "103": ("MQL", False),  # icp_fit is false
        "104": ("SQL", True),
        "105": ("meeting_booked", True),
        "106": ("Opportunity", True),
        "107": ("Customer", True),
        "108": (None, False),  # Evangelist: a HubSpot stage the global ladder does not have
    }


def test_salesforce_preset_reads_a_report_export() -> None:
    policy = stagelang.load(SALESFORCE_POLICY)
    found = outcomes(policy, DATA / "salesforce_opportunities.csv")
    assert found == {
        "006A0001": ("Prospecting", True),
        "006A0002": ("Qualification", True),
        "006A0003": ("Qualification", False),  # no amount
        "006A0004": ("decision_makers", True),
        "006A0005": ("decision_makers", False),  # one decision maker
        "006A0006": ("proposal", True),
        "006A0007": ("won", True),
        "006A0008": ("won", False),  # no close date
        "006A0009": (None, False),  # "Engaging" is not a Salesforce default stage
    }


def test_cli_lints_and_checks_with_a_preset() -> None:
    runner = CliRunner()
    lint = runner.invoke(main, ["lint", "--no-color", str(HUBSPOT_POLICY)])
    assert (lint.exit_code, lint.stdout) == (0, "All checks passed: 1 policy file.\n")
    check = runner.invoke(main, ["check", str(HUBSPOT_POLICY), str(DATA / "hubspot_contacts.csv")])
    assert check.exit_code == 1
    assert '"Evangelist" is not a stage of this policy' in check.stdout


@pytest.mark.parametrize("name", ["hubspot", "salesforce leads", "salesforce opportunities"])
def test_every_preset_stage_value_is_claimed_once(name: str) -> None:
    preset = load_preset(name)
    assert preset is not None
    claims = [{value.casefold() for value in stage.values} for stage in preset.stages]
    values = [value for claim in claims for value in claim]
    assert len(values) == len(set(values))
