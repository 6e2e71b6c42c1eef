"""stagelang.strategies as a data team would use them, and the promises the strategies keep.

The first two tests are the example of docs/fuzz.md: a clean-up step that a CRM sync runs on
every contact must not turn a conforming Japanese SQL into one that no longer conforms. The
careless version, which removes repeated decision makers, is caught by the same property.
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest
from conftest import POLICIES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable

import stagelang
from stagelang.strategies import DEFAULT_TODAY, records, transitions, walk_machine

POLICY = stagelang.load(POLICIES / "japan.stage")


def tidy(record: dict[str, Any]) -> dict[str, Any]:
    """What a sync might do before writing to the CRM: trim names, upper-case the country."""
    tidied = dict(record)
    if isinstance(record.get("country"), str):
        tidied["country"] = record["country"].strip().upper()
    if isinstance(record.get("stakeholder"), str):
        tidied["stakeholder"] = record["stakeholder"].strip() or record["stakeholder"]
    return tidied


def careless_tidy(record: dict[str, Any]) -> dict[str, Any]:
    """The same, but it also drops repeated decision makers: "Tanaka" twice becomes once."""
    tidied = tidy(record)
    if record.get("decision_makers"):
        tidied["decision_makers"] = list(dict.fromkeys(record["decision_makers"]))
    return tidied


@given(records(POLICY, stage="SQL", segment="japan", conforming=True))
def test_tidying_keeps_japanese_sqls_conforming(record: dict[str, Any]) -> None:
    assert POLICY.check(tidy(record), today=DEFAULT_TODAY).conforms


def test_the_same_property_catches_the_careless_version() -> None:
    @settings(database=None, derandomize=True)
    @given(records(POLICY, stage="SQL", segment="japan", conforming=True))
    def careless(record: dict[str, Any]) -> None:
        assert POLICY.check(careless_tidy(record), today=DEFAULT_TODAY).conforms

    with pytest.raises(AssertionError):
        careless()


# What the strategies promise ----------------------------------------------------------------


@settings(suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(
    st.sampled_from(POLICY.stages).flatmap(
        lambda stage: st.tuples(
            st.just(stage),
            st.sampled_from([None, "japan"]),
            st.booleans(),
        )
    ),
    st.data(),
)
def test_records_are_at_the_stage_in_the_segment_and_conform_as_asked(
    wanted: tuple[str, str | None, bool], data: st.DataObject
) -> None:
    stage, segment, conforming = wanted
    record = data.draw(records(POLICY, stage, segment, conforming))
    verdict = POLICY.check(record, today=DEFAULT_TODAY)
    assert verdict.stage == stage
    assert verdict.conforms is conforming
    if segment is not None:
        assert segment in POLICY.segments_of(record, today=DEFAULT_TODAY)
    assert set(record) == set(POLICY.fields)


@given(transitions(POLICY))
def test_a_history_climbs_one_stage_at_a_time_and_conforms_at_each(
    history: list[dict[str, Any]],
) -> None:
    stages = [POLICY.check(entry, today=DEFAULT_TODAY).stage for entry in history]
    assert stages == list(POLICY.stages[: len(stages)])
    for entry in history:
        assert POLICY.check(entry, today=DEFAULT_TODAY).conforms
    # Values only arrive: what an earlier entry knew, a later one still holds.
    for earlier, later in itertools.pairwise(history):
        for name, value in earlier.items():
            if value is not None and name != POLICY.checked.stage_field:
                assert later[name] == value


def test_records_can_follow_another_today() -> None:
    policy = stagelang.loads(
        "id field record_id\nstage field s\nfield seen_at: date\n"
        "stage Active requires seen_at >= today - 30d\n"
    )
    today = dt.date(2030, 1, 1)

    @settings(database=None, max_examples=50)
    @given(records(policy, "Active", conforming=True, today=today))
    def recent(record: dict[str, Any]) -> None:
        assert record["seen_at"] >= today - dt.timedelta(days=30)

    recent()


def test_an_unreachable_stage_leaves_the_strategy_nothing_to_draw() -> None:
    policy = stagelang.load(POLICIES.parent / "tests" / "data" / "fuzz" / "planted.stage")

    # Hypothesis first says the strategy filters too much; past that check, that it found none.
    @settings(database=None, max_examples=20, suppress_health_check=[HealthCheck.filter_too_much])
    @given(records(policy, "Customer", conforming=True))
    def customer(record: dict[str, Any]) -> None:
        raise AssertionError(f"drew a conforming Customer: {record}")

    with pytest.raises(Unsatisfiable):
        customer()


def test_unknown_stages_and_segments_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match="'SQX' is not a stage of japan-b2b"):
        records(POLICY, stage="SQX")
    with pytest.raises(ValueError, match="'jp' is not a segment of japan-b2b"):
        records(POLICY, segment="jp")


# Walks up the ladder, as a Hypothesis state machine: under the ladder's own rules no walk
# enters a stage without meeting its criteria.
TestWalksUpTheJapanLadder = walk_machine(POLICY).TestCase
TestWalksUpTheJapanLadder.settings = settings(max_examples=30, stateful_step_count=15)
