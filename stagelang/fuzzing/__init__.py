"""`stagelang fuzz`: search a policy for the records and stage histories that break it.

>>> import datetime as dt
>>> import stagelang
>>> from stagelang.fuzzing import Budget, fuzz
>>> policy = stagelang.loads('''
... id field record_id
... stage field lifecycle_stage
... field engaged_sessions: int
... stage Subscriber
...   exit when engaged_sessions >= 1
... stage MQL requires engaged_sessions >= 3 and engaged_sessions < 2
... ''')
>>> report = fuzz(policy, Budget(max_examples=50), today=dt.date(2026, 4, 1))
>>> [a.question.subject for a in report.failures]
['MQL', 'Subscriber -> MQL']
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any

from hypothesis import find
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample, Unsatisfiable

from stagelang.compiler import runtime
from stagelang.fuzzing.questions import Question, questions
from stagelang.fuzzing.records import present, record_strategy
from stagelang.fuzzing.search import Answer, Budget, Clock, _settings, answer
from stagelang.fuzzing.walks import (
    LadderRules,
    PolicyRules,
    TransitionRules,
    Walk,
    steps_strategy,
    walk,
)
from stagelang.policy import Policy

__all__ = [
    "Answer",
    "Budget",
    "FuzzReport",
    "LadderRules",
    "PolicyRules",
    "Question",
    "TransitionRules",
    "fuzz",
]

PROPERTIES = {
    "reachable": "Every stage can be reached",
    "exit": "Exits lead somewhere",
    "replacement": "What each `instead requires` changes",
    "invariant": "Invariants",
    "walk": "Transition walks",
}


@dataclass
class WalkAnswer:
    """The outcome of the transition walks: the smallest walk that broke a promise, if any."""

    status: str  # "holds", "fails" or "unfinished"
    walk: Walk | None = None


@dataclass
class FuzzReport:
    """Every answer of one run, and the settings that make it repeatable."""

    policy: Policy
    budget: Budget
    today: dt.date
    answers: list[Answer] = field(default_factory=list)
    walks: WalkAnswer | None = None

    @property
    def failures(self) -> list[Answer]:
        return [a for a in self.answers if a.status == "fails" and _counts(a.question)]

    @property
    def unfinished(self) -> bool:
        walks_unfinished = self.walks is not None and self.walks.status == "unfinished"
        return walks_unfinished or any(a.status == "unfinished" for a in self.answers)

    @property
    def holds(self) -> bool:
        walks_hold = self.walks is None or self.walks.status == "holds"
        return not self.failures and not self.unfinished and walks_hold


def fuzz(
    policy: Policy,
    budget: Budget | None = None,
    *,
    today: dt.date | None = None,
    rules: TransitionRules | None = None,
    walks: bool = True,
) -> FuzzReport:
    """Ask every question of the policy, then walk records up the ladder under `rules`."""
    budget = budget or Budget()
    day = today or runtime.today_utc()
    clock = Clock(budget.deadline)
    report = FuzzReport(policy, budget, day)
    for question in questions(policy.checked):
        report.answers.append(answer(policy.checked, question, budget, clock, day))
    if walks:
        report.walks = walk_search(policy, budget, clock, day, rules or PolicyRules())
    return report


def walk_search(
    policy: Policy, budget: Budget, clock: Clock, today: dt.date, rules: TransitionRules
) -> WalkAnswer:
    """Search for a walk up the ladder that enters a stage without meeting its criteria."""
    checked = policy.checked
    start = record_strategy(checked, checked.stages[0], [], today)
    walks = st.tuples(start, steps_strategy(checked, today))

    def broken(candidate: tuple[dict[str, Any], list[Any]]) -> bool:
        if clock.expired():
            return False
        return walk(policy, candidate[0], candidate[1], today, rules).broken is not None

    try:
        found = find(
            walks,
            broken,
            settings=_settings(budget),
            random=random.Random(f"{budget.seed}:walk"),
        )
    except (NoSuchExample, Unsatisfiable):
        return WalkAnswer("unfinished" if clock.ran_out else "holds")
    smallest = walk(policy, present(found[0]), found[1], today, rules)
    return WalkAnswer("fails", smallest)


def _counts(question: Question) -> bool:
    """Replacements are shown, not judged: a segment may need different criteria either way."""
    return question.property != "replacement"
