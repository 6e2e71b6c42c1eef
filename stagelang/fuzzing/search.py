"""Answering questions by search: Hypothesis looks for a record, then shrinks it to a minimum.

Hypothesis is driven from code here (`hypothesis.find`), not through pytest. Each question gets
its own random generator seeded from the run's seed and the question's subject, so a run is
the same every time with the same seed, and adding a question does not change the others.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
import time
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, Phase, Verbosity, find, settings
from hypothesis.errors import NoSuchExample, Unsatisfiable

from stagelang.analysis import fields_read
from stagelang.analysis.model import CheckedPolicy, Outcome, Stage
from stagelang.compiler.interpreter import Interpreter
from stagelang.fuzzing.questions import Question
from stagelang.fuzzing.records import Want, present, record_strategy


@dataclass(frozen=True)
class Budget:
    """How hard to look: examples per question, a seed, and an overall time limit in seconds."""

    max_examples: int = 300
    seed: int = 0
    deadline: float | None = None


class Clock:
    """The time left of a run's deadline, shared by every question of the run."""

    def __init__(self, seconds: float | None) -> None:
        self.stop = None if seconds is None else time.monotonic() + seconds
        self.ran_out = False

    def expired(self) -> bool:
        if self.stop is not None and time.monotonic() > self.stop:
            self.ran_out = True
        return self.ran_out


@dataclass
class Answer:
    """What the search found for one question.

    `status` is "holds", "fails" or "unfinished" (the deadline came first). `example` is the
    smallest record found, if any; `never_together` names the conditions the search never
    managed to make true at once, when it found no record.
    """

    question: Question
    status: str
    example: dict[str, Any] | None = None
    never_together: list[str] = field(default_factory=list)
    not_true: list[str] = field(default_factory=list)
    tried: int = 0

    @property
    def holds(self) -> bool:
        return self.status == "holds"


def answer(
    policy: CheckedPolicy, question: Question, budget: Budget, clock: Clock, today: dt.date
) -> Answer:
    """Search for a record that answers `question`; shrink it when one is found."""
    interpreter = Interpreter(policy)
    goals = question.all_true
    seen: set[frozenset[int]] = set()
    tried = 0

    def fits(record: dict[str, Any]) -> bool:
        nonlocal tried
        if clock.expired():
            return False
        tried += 1
        for name in question.inside:
            if interpreter.truth(policy.segments[name].condition, record, today) is not True:
                return False
        for name in question.outside:
            if interpreter.truth(policy.segments[name].condition, record, today) is True:
                return False
        met = frozenset(
            i for i, g in enumerate(goals) if interpreter.truth(g.condition, record, today) is True
        )
        if len(seen) < 5000:
            seen.add(met)
        if len(met) < len(goals):
            return False
        if not question.some_not_true:
            return True
        return any(
            interpreter.truth(g.condition, record, today) is not True
            for g in question.some_not_true
        )

    wants = _wants(policy, question)
    strategy = record_strategy(policy, _stage_or_outcome(policy, question.stage), wants, today)
    try:
        example = find(
            strategy,
            fits,
            settings=_settings(budget),
            random=random.Random(f"{budget.seed}:{question.property}:{question.subject}"),
        )
    except (NoSuchExample, Unsatisfiable):
        example = None

    found = example is not None
    if clock.ran_out and not found:
        return Answer(question, "unfinished", tried=tried)
    holds = found == question.expect_example
    answer = Answer(question, "holds" if holds else "fails", tried=tried)
    if example is not None:
        answer.example = present(example)
        answer.not_true = [
            g.text
            for g in question.some_not_true
            if interpreter.truth(g.condition, example, today) is not True
        ]
    elif question.expect_example:
        answer.never_together = _never_together(question, seen)
    return answer


def _stage_or_outcome(policy: CheckedPolicy, name: str) -> Stage | Outcome:
    outcomes = {outcome.name: outcome for outcome in policy.outcomes}
    return outcomes[name] if name in outcomes else policy.stage_named(name)


def _settings(budget: Budget) -> settings:
    return settings(
        max_examples=budget.max_examples,
        database=None,
        deadline=None,
        derandomize=False,
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
        phases=(Phase.generate, Phase.shrink),
    )


def _wants(policy: CheckedPolicy, question: Question) -> list[Want]:
    wants = [Want(g.condition, g.fields) for g in question.all_true]
    for name in (*question.inside, *question.outside):
        condition = policy.segments[name].condition
        wants.append(Want(condition, fields_read(condition), true=name in question.inside))
    if len(question.some_not_true) == 1:
        # One condition to break: steer its fields toward breaking it, which may conflict
        # with the goals above; the general values still cover the rest.
        only = question.some_not_true[0]
        wants = [w for w in wants if w.fields != only.fields or len(only.fields) != 1]
        wants.append(Want(only.condition, only.fields, true=False))
    return wants


def _never_together(question: Question, seen: set[frozenset[int]]) -> list[str]:
    """The smallest group of goals no tried record made true together: single goals first,
    then pairs, else all of them."""
    goals = question.all_true
    for size in (1, 2):
        for group in itertools.combinations(range(len(goals)), size):
            if not any(set(group) <= met for met in seen):
                return [goals[i].text for i in group]
    return [goal.text for goal in goals]
