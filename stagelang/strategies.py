"""Hypothesis strategies for records and stage histories of a policy, for your own tests.

Property-test the code that feeds your CRM (an enrichment job, a sync, a lead-scoring rule)
with records that conform at a stage, or that do not, drawn from the policy's own field types
and biased toward the constants it compares against:

    from hypothesis import given
    import stagelang
    from stagelang.strategies import records

    policy = stagelang.load("policies/japan.stage")

    @given(records(policy, stage="SQL", segment="japan", conforming=True))
    def test_enrichment_keeps_sql_records_conforming(record):
        assert policy.check(enrich(record)).conforms

Records are dicts of field name to typed value (bool, int, Decimal, str, date, datetime,
list), with None for a missing value; the stage field holds the stage's first CRM value.
See docs/fuzz.md for the full guide and tests/test_strategies_example.py for a working test.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from stagelang.fuzzing.questions import applicable
from stagelang.fuzzing.records import Want, record_strategy
from stagelang.fuzzing.values import field_values, strategy_for
from stagelang.fuzzing.walks import Change, Move, PolicyRules, TransitionRules, walk
from stagelang.policy import Policy

__all__ = ["records", "transitions", "walk_machine"]

# `today` for generated records unless a test gives one: a fixed day keeps runs repeatable.
DEFAULT_TODAY = dt.date(2026, 4, 1)


def records(
    policy: Policy,
    stage: str | None = None,
    segment: str | None = None,
    conforming: bool | None = None,
    *,
    today: dt.date = DEFAULT_TODAY,
) -> st.SearchStrategy[dict[str, Any]]:
    """Records of `policy`: at `stage` (any stage when None), in `segment` (when given), and
    conforming or not (either when None). `today` is the date `today` means in the policy."""
    checked = policy.checked
    if segment is not None and segment not in checked.segments:
        raise ValueError(f"{segment!r} is not a segment of {policy.name} ({policy.segments})")
    if stage is None:
        stages = st.sampled_from(policy.stages)
        return stages.flatmap(lambda name: records(policy, name, segment, conforming, today=today))
    if stage not in policy.stages:
        raise ValueError(f"{stage!r} is not a stage of {policy.name} ({policy.stages})")

    target = checked.stage_named(stage)
    inside = (segment,) if segment else ()
    wants: list[Want] = []
    if conforming:
        wants = [Want(c.condition, c.fields) for c in applicable(checked, target, inside)]
    if segment:
        wants.append(Want(checked.segments[segment].condition, _fields(checked, segment)))
    strategy = record_strategy(checked, target, wants, today, strict=True)
    if segment:
        strategy = strategy.filter(lambda r: segment in policy.segments_of(r, today=today))
    if conforming is not None:
        strategy = strategy.filter(lambda r: policy.check(r, today=today).conforms == conforming)
    return strategy


def transitions(
    policy: Policy, *, today: dt.date = DEFAULT_TODAY
) -> st.SearchStrategy[list[dict[str, Any]]]:
    """Stage histories: the record as it was when it entered each stage, from the first stage
    up to a drawn one, one stage at a time.

    Each history is one record growing up the ladder: at each stage it holds the values the
    criteria up to that stage read (the others are still missing), so every entry conforms at
    its stage, as the ladder's transition rules require on entry. For random walks that break
    those rules, see `walk_machine`.
    """
    top = st.sampled_from(policy.stages)
    final = top.flatmap(lambda name: records(policy, name, conforming=True, today=today))
    return final.map(lambda record: _history(policy, record, today))


def _history(policy: Policy, record: dict[str, Any], today: dt.date) -> list[dict[str, Any]]:
    checked = policy.checked
    rank = policy.checked.stage_named(policy.stage_for(record[checked.stage_field]) or "").rank
    segments = policy.segments_of(record, today=today)
    kept = {checked.stage_field, checked.id_field}
    for name in segments:
        kept.update(_fields(checked, name))
    history = []
    for stage in checked.stages[: rank + 1]:
        reads = {f for c in applicable(checked, stage, tuple(segments)) for f in c.fields}
        entry = {
            name: value if name in kept or name in reads else None for name, value in record.items()
        }
        entry[checked.stage_field] = stage.values[0]
        if not policy.check(entry, today=today).conforms:
            # A criterion such as `not need` depends on a value arriving later: keep them all.
            entry = {**record, checked.stage_field: stage.values[0]}
        history.append(entry)
    return history


def walk_machine(
    policy: Policy, *, today: dt.date = DEFAULT_TODAY, rules: TransitionRules | None = None
) -> type[RuleBasedStateMachine]:
    """A Hypothesis state machine that changes a record's fields and moves it between stages
    as the policy's ladder allows (the next stage up, `allow skip`, `allow back to`; or
    `rules`), failing when the record enters a stage without meeting that stage's criteria.

    Run it in pytest with `TestWalks = walk_machine(policy).TestCase`, or from code with
    `hypothesis.stateful.run_state_machine_as_test(walk_machine(policy))`.
    """
    checked = policy.checked
    values = field_values(checked, today)
    names = [n for n in checked.fields if n not in (checked.stage_field, checked.id_field)]
    chosen_rules = rules or PolicyRules()

    def any_value(name: str) -> st.SearchStrategy[Any]:
        kind = checked.fields[name].type
        return st.one_of(st.sampled_from(values[name].candidates(today)), strategy_for(kind, today))

    change = st.sampled_from(names).flatmap(lambda n: st.tuples(st.just(n), any_value(n)))

    class WalkMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.steps: list[Change | Move] = []

        @rule(pair=change)
        def change_a_field(self, pair: tuple[str, Any]) -> None:
            self.steps.append(Change(*pair))

        @rule(choice=st.integers(0, 3))
        def try_to_move_up(self, choice: int) -> None:
            self.steps.append(Move(choice))

        @invariant()
        def entered_stages_were_met(self) -> None:
            replayed = walk(policy, {}, self.steps, today, chosen_rules)
            assert replayed.broken is None, replayed.broken

    WalkMachine.__name__ = f"WalkMachine_{policy.name}"
    return WalkMachine


def _fields(checked: Any, segment: str) -> tuple[str, ...]:
    from stagelang.analysis import fields_read

    return fields_read(checked.segments[segment].condition)
