"""Transition walks: a record's history of field changes and stage moves, checked step by step.

The walk asks one thing of the transition rules: a record that reaches a stage has met, at the
moment it entered each stage on the way, that stage's entry criteria (with the overlays of the
segments it was in then) and the exit criteria of the stage it left. A rule set that lets a
record reach Customer without ever meeting SQL's criteria breaks it.

The rules are a plug-in (`TransitionRules`). `PolicyRules`, the default, are the policy's own:
a step up, a skip over stages marked `allow skip`, a return named by `allow back to` (the moves
`stagelang check` accepts in a stage history), each entered only by a record that conforms at
the stage it moves to. `LadderRules` allow only the step up. Because conforming at a stage means
meeting the criteria of every stage below it, the property holds under both by construction;
the walk guards the rules themselves, and any other rules plugged in here are held to the same
property. Outcomes (Closed Lost) are off the ladder and are not walked into.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from hypothesis import strategies as st

from stagelang.analysis.model import CheckedPolicy
from stagelang.fuzzing.values import field_values, strategy_for
from stagelang.history.ladder import Ladder
from stagelang.policy import Policy


class TransitionRules(Protocol):
    """Which stage moves a policy's rules allow a record to make."""

    def moves(self, policy: Policy, rank: int) -> Sequence[int]:
        """The ranks a record at `rank` may try to move to."""
        ...

    def admits(self, policy: Policy, record: dict[str, Any], rank: int, today: dt.date) -> bool:
        """Whether a record, with its current values, may enter the stage of `rank`."""
        ...


class LadderRules:
    """One stage up at a time, entered only by a record that conforms at the new stage."""

    def moves(self, policy: Policy, rank: int) -> Sequence[int]:
        return [rank + 1] if rank + 1 < len(policy.stages) else []

    def admits(self, policy: Policy, record: dict[str, Any], rank: int, today: dt.date) -> bool:
        moved = {**record, policy.checked.stage_field: policy.checked.stages[rank].values[0]}
        return policy.check(moved, today=today).conforms


class PolicyRules:
    """The moves the policy's ladder allows (`allow skip`, `allow back to`), nearest stage up
    first; entered only by a record that conforms at the new stage."""

    def moves(self, policy: Policy, rank: int) -> Sequence[int]:
        ladder = Ladder(policy.checked)
        names = [stage.name for stage in policy.checked.stages]
        up = range(rank + 1, len(names))
        down = range(rank - 1, -1, -1)
        return [r for r in (*up, *down) if ladder.judge(names[rank], names[r]) is None]

    def admits(self, policy: Policy, record: dict[str, Any], rank: int, today: dt.date) -> bool:
        return LadderRules().admits(policy, record, rank, today)


@dataclass(frozen=True)
class Change:
    """A step of a walk: set a field to a value (None clears it)."""

    field: str
    value: Any

    def describe(self) -> str:
        from stagelang.verdicts import format_value

        shown = "missing" if self.value is None else format_value(self.value)
        return f"set {self.field} = {shown}"


@dataclass(frozen=True)
class Move:
    """A step of a walk: try to move the record to the n-th stage the rules offer."""

    choice: int

    def describe(self) -> str:
        return "try to move"


Step = Change | Move


@dataclass
class Walk:
    """A record's walk: the steps taken, the stages entered, and the first broken promise."""

    start: dict[str, Any]
    steps: list[Step]
    entered: list[str] = field(default_factory=list)
    broken: str | None = None
    log: list[str] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)  # the record at each entry


def walk(
    policy: Policy,
    start: dict[str, Any],
    steps: Sequence[Step],
    today: dt.date,
    rules: TransitionRules | None = None,
) -> Walk:
    """Replay `steps` from `start` under `rules`, stopping at the first broken promise."""
    rules = rules or PolicyRules()
    checked = policy.checked
    record = dict(start)
    rank = 0
    record[checked.stage_field] = checked.stages[0].values[0]
    result = Walk(dict(start), list(steps), entered=[checked.stages[0].name])
    result.history.append(dict(record))
    for step in steps:
        if isinstance(step, Change):
            record[step.field] = step.value
            result.log.append(step.describe())
            continue
        options = rules.moves(policy, rank)
        if not options:
            continue
        target = options[step.choice % len(options)]
        if not rules.admits(policy, record, target, today):
            result.log.append(f"move to {checked.stages[target].name} refused")
            continue
        unmet = _unmet_on_entry(policy, record, rank, target, today)
        rank = target
        record[checked.stage_field] = checked.stages[rank].values[0]
        result.entered.append(checked.stages[rank].name)
        result.log.append(f"moved to {checked.stages[rank].name}")
        result.history.append(dict(record))
        if unmet:
            result.broken = f"entered {checked.stages[rank].name} without meeting: " + "; ".join(
                unmet
            )
            break
    return result


def _unmet_on_entry(
    policy: Policy, record: dict[str, Any], before: int, after: int, today: dt.date
) -> list[str]:
    """What the record had not met, when it entered `after` from `before`: the criteria of every
    stage it skipped or entered, and the exit criteria of the stages it left."""
    checked = policy.checked
    segments = policy.segments_of(record, today=today)
    unmet: list[str] = []
    for rank in range(before + 1, after + 1):
        stage = checked.stages[rank]
        left = checked.stages[rank - 1]
        for criterion in (*left.exit, *stage.entry):
            if not criterion.applies(segments):
                continue
            if policy.evaluate(criterion, record, today=today) is not True:
                unmet.append(criterion.describe())
    return unmet


def steps_strategy(checked: CheckedPolicy, today: dt.date) -> st.SearchStrategy[list[Step]]:
    """Walks of a few rounds, each some field changes and a move. The changes lean toward the
    values that meet the criteria of the ladder, so that walks climb rather than stall."""
    values = field_values(checked, today)
    helpful = _helpful_values(checked, today)
    changes = []
    for name, declared in checked.fields.items():
        if name in (checked.stage_field, checked.id_field):
            continue
        choices = [
            st.sampled_from(values[name].candidates(today)),
            strategy_for(declared.type, today),
        ]
        if helpful.get(name):
            choices[:0] = [st.sampled_from(helpful[name])] * 3
        changes.append(st.builds(Change, st.just(name), st.one_of(*choices)))
    moves = st.builds(Move, st.integers(0, 3))
    change = st.one_of(*changes) if changes else st.nothing()
    # Rounds of a few changes and a move: plain lists of steps are short on average, and a
    # record needs several fields set before most moves.
    rounds = st.tuples(st.lists(change, max_size=5), moves)
    stages = len(checked.stages)
    return st.lists(rounds, max_size=2 * stages + 2).map(
        lambda taken: [step for changed, move in taken for step in (*changed, move)]
    )


def _helpful_values(checked: CheckedPolicy, today: dt.date) -> dict[str, list[Any]]:
    """For each field, its candidate values that meet every one-field criterion of the ladder."""
    from stagelang.compiler.interpreter import Interpreter

    interpreter = Interpreter(checked)
    criteria = [c for stage in checked.stages for c in (*stage.entry, *stage.exit)]
    found: dict[str, list[Any]] = {}
    for name, values in field_values(checked, today).items():
        mine = [c for c in criteria if c.fields == (name,) and c.segment is None]
        if not mine:
            continue
        found[name] = [
            value
            for value in values.candidates(today)
            if all(interpreter.truth(c.condition, {name: value}, today) is True for c in mine)
        ]
    return found
