"""Hypothesis strategies for records of one policy, steered toward the records a question needs.

A record for "MQL in japan conforms" needs `icp_fit` true, at least three sessions and country
"JP" at once. Drawing each field at random from its boundary values meets all of that about
once in a few thousand tries; so each field first offers the candidates that make every
condition on that field alone come out as wanted. Conditions that read several fields get no
such help, and the search has to find them the ordinary way.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from stagelang.analysis import types
from stagelang.analysis.model import CheckedPolicy, Outcome, Stage
from stagelang.compiler.interpreter import Interpreter
from stagelang.fuzzing.values import field_values, strategy_for
from stagelang.syntax import nodes

_PREFERRED_WEIGHT = 20


@dataclass(frozen=True)
class Want:
    """A condition and whether the record should make it true (or anything but true)."""

    condition: nodes.Expr
    fields: tuple[str, ...]
    true: bool = True


def record_strategy(
    policy: CheckedPolicy,
    stage: Stage | Outcome | None,
    wants: Sequence[Want],
    today: dt.date,
    *,
    strict: bool = False,
) -> st.SearchStrategy[dict[str, Any]]:
    """Records with every field of the policy (None for missing), at `stage` when one is given.

    Without a stage, the stage field is drawn from every stage's CRM values. With `strict`, a
    field that a want reads alone only ever holds values that give the want its answer, so
    that far fewer records are thrown away when every want must hold (users' own tests ask
    for conforming records, and Hypothesis gives up on a strategy that filters out most).
    """
    interpreter = Interpreter(policy)
    values = field_values(policy, today)
    parts: dict[str, st.SearchStrategy[Any]] = {}
    if policy.id_field is not None:
        parts[policy.id_field] = st.just("example-1")
    if stage is not None:
        parts[policy.stage_field] = st.just(stage.values[0])
    else:
        parts[policy.stage_field] = st.sampled_from([s.values[0] for s in policy.stages])
    for name, declared in policy.fields.items():
        if name in (policy.stage_field, policy.id_field):
            continue
        pool = values[name].candidates(today)
        mine = [w for w in wants if w.fields == (name,)]
        preferred = [v for v in pool if _wanted(interpreter, mine, name, v, today)]
        choices = [st.sampled_from(pool), strategy_for(declared.type, today)]
        if strict and mine:
            parts[name] = _only_wanted(interpreter, mine, name, preferred, declared.type, today)
            continue
        if preferred and mine:
            # Mostly the values that help: a record needs every field right at once.
            choices[:0] = [st.sampled_from(preferred)] * _PREFERRED_WEIGHT
        parts[name] = st.one_of(*choices)
    return st.fixed_dictionaries(parts)


def _only_wanted(
    interpreter: Interpreter,
    wants: list[Want],
    name: str,
    preferred: list[Any],
    kind: types.Type,
    today: dt.date,
) -> st.SearchStrategy[Any]:
    """The boundary values that meet the wants, and for numbers and dates any value that does.

    Text, truth values and lists keep to the boundary values: a random text almost never
    equals the one a segment names, and Hypothesis would give up filtering for it.
    """
    wanted = st.sampled_from(preferred) if preferred else st.nothing()
    if kind.is_numeric or kind.is_temporal:
        others = strategy_for(kind, today).filter(
            lambda value: _wanted(interpreter, wants, name, value, today)
        )
        return st.one_of(wanted, others)
    if not preferred:
        # No boundary value helps (a condition the values module cannot read); search widely.
        return strategy_for(kind, today)
    return wanted


def _wanted(
    interpreter: Interpreter, wants: list[Want], name: str, value: Any, today: dt.date
) -> bool:
    record = {name: value}
    return all((interpreter.truth(w.condition, record, today) is True) == w.true for w in wants)


def present(record: dict[str, Any]) -> dict[str, Any]:
    """The record without its missing fields, as a person would write it."""
    return {name: value for name, value in record.items() if value is not None and value != []}
