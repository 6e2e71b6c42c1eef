"""The questions `stagelang fuzz` asks of a policy, each as "is there a record such that ...".

Every property is written in one shape: a record at a given stage, inside some segments and
outside others, for which a list of conditions are all true, and (optionally) at least one of a
second list is not true. That shape is a formula over the policy's conditions, so an exact
prover (an SMT solver, for linear arithmetic, booleans, string equality and dates) can later
answer the same question with a model or a proof of impossibility; the search here can only
ever find models. `expect_example` says which answer means the property holds.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from stagelang.analysis.model import CheckedPolicy, Criterion, Stage
from stagelang.syntax import nodes


@dataclass(frozen=True)
class Goal:
    """One condition of a question, and how a person would say it."""

    condition: nodes.Expr
    text: str
    fields: tuple[str, ...]


@dataclass(frozen=True)
class Question:
    """Is there a record at `stage`, in `inside` and in none of `outside`, that makes every
    condition of `all_true` true and, when `some_not_true` is not empty, one of those not true?
    """

    property: str  # "reachable", "exit", "replacement", "invariant"
    subject: str  # what the answer is about, in words: "MQL in japan"
    stage: str
    inside: tuple[str, ...]
    outside: tuple[str, ...]
    all_true: tuple[Goal, ...]
    some_not_true: tuple[Goal, ...] = ()
    expect_example: bool = True  # True: the property holds when a record is found


def questions(policy: CheckedPolicy) -> Iterator[Question]:
    """Every question, in the order a report lists them."""
    yield from reachability(policy)
    yield from exits(policy)
    yield from replacements(policy)
    yield from invariants(policy)


Context = tuple[str | None, tuple[str, ...], tuple[str, ...]]


def contexts(policy: CheckedPolicy) -> list[Context]:
    """The groups of records asked about: outside every segment, then in each segment alone.

    The first is named "" when the policy has no segments, and None otherwise."""
    names = tuple(policy.segments)
    found: list[Context] = [(None if names else "", (), names)]
    for name in names:
        found.append((name, (name,), tuple(n for n in names if n != name)))
    return found


def applicable(policy: CheckedPolicy, stage: Stage, segments: tuple[str, ...]) -> list[Criterion]:
    """The criteria a record in exactly these segments must meet to conform at `stage`."""
    found: list[Criterion] = []
    for lower in policy.stages[: stage.rank + 1]:
        criteria = lower.entry + (lower.exit if lower.rank < stage.rank else ())
        found.extend(c for c in criteria if c.applies(segments))
    return found


def reachability(policy: CheckedPolicy) -> Iterator[Question]:
    """For every stage and every group: a record that conforms there. Then the same for each
    outcome off the ladder (Closed Lost), whose own criteria are all a record there meets."""
    for stage in policy.stages:
        for segment, inside, outside in contexts(policy):
            yield Question(
                "reachable",
                _subject(stage.name, segment),
                stage.name,
                inside,
                outside,
                tuple(goal(c) for c in applicable(policy, stage, inside)),
            )
    for outcome in policy.outcomes:
        for segment, inside, outside in contexts(policy):
            yield Question(
                "reachable",
                _subject(outcome.name, segment),
                outcome.name,
                inside,
                outside,
                tuple(goal(c) for c in outcome.entry if c.applies(inside)),
            )


def exits(policy: CheckedPolicy) -> Iterator[Question]:
    """For each stage but the last: a record that meets its exit and the next stage's entry."""
    for stage, after in zip(policy.stages, policy.stages[1:], strict=False):
        for segment, inside, outside in contexts(policy):
            criteria = [
                c for c in (*stage.exit, *after.entry) if c.kind != "required" and c.applies(inside)
            ]
            yield Question(
                "exit",
                f"{_subject(stage.name, segment)} -> {after.name}",
                after.name,
                inside,
                outside,
                tuple(goal(c) for c in criteria),
            )


def replacements(policy: CheckedPolicy) -> Iterator[Question]:
    """For each `instead requires`, both ways: passes the segment's criteria but not the base
    ones, and passes the base ones but not the segment's."""
    for stage in policy.stages:
        replaced = {c.segment for c in stage.entry if c.replaces and c.segment is not None}
        for segment in policy.segments:
            if segment not in replaced:
                continue
            others = tuple(n for n in policy.segments if n != segment)
            base = tuple(goal(c) for c in stage.entry if segment in c.unless)
            instead = tuple(goal(c) for c in stage.entry if c.segment == segment and c.replaces)
            yield Question(
                "replacement",
                f"{stage.name} in {segment}: passes the {segment} criteria, fails the global ones",
                stage.name,
                (segment,),
                others,
                tuple(goal(c) for c in applicable(policy, stage, (segment,))),
                base,
            )
            # Both records are in the segment, so that each, pasted as a test case, shows
            # the segment's verdict: the second one is what the replacement turns away.
            as_if_global = [
                c
                for c in applicable(policy, stage, (segment,))
                if not (c.stage == stage.name and c.segment == segment and c.replaces)
            ]
            as_if_global += [c for c in stage.entry if segment in c.unless]
            yield Question(
                "replacement",
                f"{stage.name} in {segment}: passes the global criteria, fails the {segment} ones",
                stage.name,
                (segment,),
                others,
                tuple(goal(c) for c in as_if_global),
                instead,
            )


def invariants(policy: CheckedPolicy) -> Iterator[Question]:
    """For each invariant, each stage in its scope and each group: a conforming record that
    breaks it. Finding one means the invariant does not hold."""
    for invariant in policy.invariants:
        check = Goal(invariant.condition, invariant.text, _fields(invariant.condition))
        for name in invariant.stages:
            stage = policy.stage_named(name)
            for segment, inside, outside in contexts(policy):
                yield Question(
                    "invariant",
                    f"{invariant.describe()} ({_subject(name, segment)})",
                    name,
                    inside,
                    outside,
                    tuple(goal(c) for c in applicable(policy, stage, inside)),
                    (check,),
                    expect_example=False,
                )


def goal(criterion: Criterion) -> Goal:
    return Goal(criterion.condition, criterion.describe(), criterion.fields)


def _fields(expr: nodes.Expr) -> tuple[str, ...]:
    from stagelang.analysis import fields_read

    return fields_read(expr)


def _subject(stage: str, segment: str | None) -> str:
    if segment == "":
        return stage
    return f"{stage} in {segment}" if segment else f"{stage} outside every segment"
