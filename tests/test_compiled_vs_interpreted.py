"""Property tests: the compiled predicates agree with the reference interpreter.

Hypothesis writes random well-typed conditions as policy text over fields of every type, and
random records for them (missing values, empty text and empty lists included). The compiled
`check` and `qualify` must give exactly what the interpreter's three-valued evaluation gives.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

import stagelang
from stagelang.compiler.interpreter import Interpreter
from stagelang.syntax import nodes

FIELDS = {
    "b1": "bool",
    "b2": "bool",
    "i1": "int",
    "i2": "int",
    "d1": "decimal",
    "s1": "string",
    "s2": "string",
    "l1": "list<string>",
    "n1": "list<int>",
    "day1": "date",
    "day2": "date",
    "at1": "datetime",
}
HEADER = "id field record_id\nstage field lifecycle_stage\n" + "".join(
    f"field {name}: {kind}\n" for name, kind in FIELDS.items()
)
TODAY = dt.date(2026, 1, 10)
UTC = dt.UTC

# Expressions, as text, by type. Small ranges make equalities and boundaries likely.
ints = st.one_of(
    st.sampled_from(["i1", "i2", "count(l1)", "count(n1)"]),
    st.integers(-2, 5).map(str),
)
decimals = st.one_of(st.just("d1"), st.sampled_from(["0.5", "1.0", "2.25", "-1.5"]))
numbers = st.one_of(ints, decimals)
texts = st.one_of(st.sampled_from(["s1", "s2"]), st.sampled_from(['"JP"', '"US"', '"J"']))
dates = st.one_of(
    st.sampled_from(["day1", "day2", "today"]),
    st.sampled_from(["2026-01-08", "2026-01-10", "2026-01-12"]),
)
durations = st.sampled_from(["1d", "2d", "1w", "0d"])
datetimes = st.just("at1")


def _arith(values: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.builds(lambda a, op, b: f"({a} {op} {b})", values, st.sampled_from("+-"), values)


number_values = st.one_of(
    numbers, _arith(numbers), ints.map(lambda x: f"-{x}" if x[0] != "-" else x)
)
date_values = st.one_of(
    dates,
    st.builds(lambda d, op, n: f"({d} {op} {n})", dates, st.sampled_from("+-"), durations),
)
duration_values = st.one_of(
    durations,
    st.builds(lambda a, b: f"({a} - {b})", st.sampled_from(["day1", "day2", "today"]), dates),
)
_ORDER = st.sampled_from(["==", "!=", "<", "<=", ">", ">="])
_EQUALITY = st.sampled_from(["==", "!="])

comparisons = st.one_of(
    st.builds(lambda a, op, b: f"{a} {op} {b}", number_values, _ORDER, number_values),
    st.builds(lambda a, op, b: f"{a} {op} {b}", date_values, _ORDER, date_values),
    st.builds(lambda a, op, b: f"{a} {op} {b}", duration_values, _ORDER, duration_values),
    st.builds(
        lambda a, op, b: f"{a} {op} {b}", datetimes, _ORDER, st.one_of(datetimes, date_values)
    ),
    st.builds(lambda a, op, b: f"{a} {op} {b}", texts, _EQUALITY, texts),
    st.builds(
        lambda a, op, b: f"{a} {op} {b}",
        st.sampled_from(["b1", "b2"]),
        _EQUALITY,
        st.sampled_from(["b1", "b2", "true", "false"]),
    ),
    st.builds(lambda a, op: f'{a} {op} ["JP", "US"]', texts, st.sampled_from(["in", "not in"])),
    st.builds(lambda a, op: f"{a} {op} [0, 1, 2.5]", numbers, st.sampled_from(["in", "not in"])),
    st.builds(lambda a: f"{a} in n1", ints),
    st.builds(lambda a: f"l1 contains {a}", texts),
    st.builds(lambda a: f"s1 contains {a}", texts),
    st.builds(
        lambda a, op: f"{a} {op}",
        st.sampled_from([*FIELDS, "(i1 + 1)", "(day1 + 1d)"]),
        st.sampled_from(["is set", "is missing", "is not set"]),
    ),
    st.sampled_from(["b1", "b2", "l1", "s1", "true", "false"]),
)

conditions = st.recursive(
    comparisons,
    lambda inner: st.one_of(
        inner.map(lambda c: f"not ({c})"),
        st.builds(lambda a, b: f"({a}) and ({b})", inner, inner),
        st.builds(lambda a, b: f"({a}) or ({b})", inner, inner),
    ),
    max_leaves=6,
)

# Records: every value a field of that type may hold, missing ones included.
_MISSING = st.sampled_from([None, "__absent__"])
_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "bool": st.one_of(st.booleans(), _MISSING, st.just("")),
    "int": st.one_of(st.integers(-2, 5), _MISSING, st.just("")),
    "decimal": st.one_of(
        st.sampled_from([Decimal("0.5"), Decimal("1.0"), Decimal("-1.5"), Decimal("2.25")]),
        st.sampled_from([0.5, 1.0, 2.5, -1.5]),
        st.integers(-1, 3),
        _MISSING,
    ),
    "string": st.one_of(st.sampled_from(["JP", "US", "J", "jp", "PJ"]), _MISSING, st.just("")),
    "list<string>": st.one_of(st.lists(st.sampled_from(["JP", "US", "J"]), max_size=3), _MISSING),
    "list<int>": st.one_of(st.lists(st.integers(-1, 3), max_size=3), _MISSING),
    "date": st.one_of(st.dates(dt.date(2026, 1, 5), dt.date(2026, 1, 15)), _MISSING),
    "datetime": st.one_of(
        st.datetimes(dt.datetime(2026, 1, 5), dt.datetime(2026, 1, 15), timezones=st.just(UTC)),
        _MISSING,
    ),
}


@st.composite
def records(draw: st.DrawFn, stage: str = "a") -> dict[str, Any]:
    record: dict[str, Any] = {"record_id": "1", "lifecycle_stage": stage}
    for name, kind in FIELDS.items():
        value = draw(_VALUES[kind])
        if value != "__absent__":
            record[name] = value
    return record


def one_stage_policy(condition: str) -> stagelang.Policy:
    return stagelang.loads(HEADER + f"stage A requires {condition}\n", "generated.stage")


@given(conditions, records())
def test_check_agrees_with_the_interpreter(condition: str, record: dict[str, Any]) -> None:
    policy = one_stage_policy(condition)
    interpreter = Interpreter(policy.checked)
    expected = all(
        interpreter.truth(c.condition, record, TODAY) is True
        for c in policy.checked.stages[0].entry
    )

    verdict = policy.check(record, today=TODAY)

    assert verdict.conforms is expected
    assert (verdict.unmet == ()) is expected
    assert policy.qualify(record, today=TODAY) == ("A" if expected else None)


@given(conditions, records())
def test_negation_is_three_valued(condition: str, record: dict[str, Any]) -> None:
    # `not c` is met exactly when c is False; when c is unknown, neither c nor `not c` is met.
    plain = one_stage_policy(f"({condition})")
    negated = one_stage_policy(f"not ({condition})")
    whole = nodes.Logical("and", [c.condition for c in plain.checked.stages[0].entry])
    truth = Interpreter(plain.checked).truth(whole, record, TODAY)

    plain_met = plain.check(record, today=TODAY).conforms
    negated_met = negated.check(record, today=TODAY).conforms

    assert plain_met is (truth is True)
    assert negated_met is (truth is False)


LADDER = HEADER + (
    'segment jp: s1 == "JP"\n'
    "stage A\n"
    "  exit when {exit_a}\n"
    "stage B requires {entry_b}\n"
    "  in jp requires {overlay_b}\n"
    "  exit when {exit_b}\n"
    "stage C requires {entry_c}\n"
)


@given(
    st.fixed_dictionaries(
        {key: conditions for key in ["exit_a", "entry_b", "overlay_b", "exit_b", "entry_c"]}
    ),
    st.sampled_from(["a", "b", "c"]).flatmap(records),
)
def test_cumulative_conformance_agrees_with_the_interpreter(
    parts: dict[str, str], record: dict[str, Any]
) -> None:
    policy = stagelang.loads(LADDER.format(**parts), "ladder.stage")
    interpreter = Interpreter(policy.checked)
    stages = policy.checked.stages
    rank = "abc".index(record["lifecycle_stage"])
    in_jp = interpreter.truth(policy.checked.segments["jp"].condition, record, TODAY) is True

    def met(stage_index: int, with_exit: bool) -> bool:
        stage = stages[stage_index]
        criteria = list(stage.entry) + (list(stage.exit) if with_exit else [])
        return all(
            interpreter.truth(c.condition, record, TODAY) is True
            for c in criteria
            if c.segment is None or in_jp
        )

    assert policy.segments_of(record, today=TODAY) == (("jp",) if in_jp else ())
    expected = all(met(k, with_exit=k < rank) for k in range(rank + 1))
    verdict = policy.check(record, today=TODAY)

    assert verdict.conforms is expected
    assert bool(verdict.unmet) is not expected
    assert all(u.stage in {s.name for s in stages[: rank + 1]} for u in verdict.unmet)

    reached = None
    for k in range(3):
        if not met(k, with_exit=False):
            break
        reached = stages[k].name
        if not met(k, with_exit=True):
            break
    assert policy.qualify(record, today=TODAY) == reached


# An exhaustive grid of small cases beside the random search: every field type, every
# operator that applies to it, and every kind of missing value, each alone and negated.
_GRID_VALUES: dict[str, list[Any]] = {
    "i1": [None, "", 0, 1, 2, "__absent__"],
    "d1": [None, Decimal("1.0"), 0.5, 2, "__absent__"],
    "s1": [None, "", "JP", "US", "J"],
    "day1": [None, "", dt.date(2026, 1, 9), dt.date(2026, 1, 10)],
    "at1": [
        None,
        "",
        dt.datetime(2026, 1, 10, tzinfo=UTC),
        dt.datetime(2026, 1, 9, 23, tzinfo=UTC),
    ],
    "b1": [None, "", True, False],
    "l1": [None, "", [], ["JP"], ["US", "J"]],
}
_GRID_CONDITIONS = [
    *(f"i1 {op} 1" for op in ["==", "!=", "<", "<=", ">", ">="]),
    *(f"d1 {op} 1" for op in ["==", "!=", "<", ">="]),
    "i1 in [0, 2]",
    "i1 not in [0, 2]",
    "d1 in [0.5, 2]",
    's1 == "JP"',
    's1 != "JP"',
    's1 in ["JP", "US"]',
    's1 not in ["JP"]',
    's1 contains "J"',
    "s1",
    "s1 is set",
    "s1 is missing",
    *(f"day1 {op} 2026-01-10" for op in ["==", "!=", "<", ">="]),
    "day1 + 1d > today",
    "today - day1 >= 1d",
    *(f"at1 {op} 2026-01-10" for op in ["==", "!=", "<", ">="]),
    "at1 is set",
    "b1",
    "b1 == true",
    "b1 != false",
    "b1 is missing",
    "l1",
    'l1 contains "JP"',
    "count(l1) >= 1",
    "count(l1) == 0",
    '"J" in l1',
]


def _grid_cases() -> list[tuple[str, str, Any]]:
    cases = []
    for condition in _GRID_CONDITIONS:
        name = next(n for n in _GRID_VALUES if n in condition.replace("count(", " "))
        for value in _GRID_VALUES[name]:
            for form in (condition, f"not ({condition})"):
                cases.append((form, name, value))
    return cases


def test_the_grid_of_operators_and_missing_values() -> None:
    disagreements = []
    for condition, name, value in _grid_cases():
        policy = one_stage_policy(condition)
        record: dict[str, Any] = {"lifecycle_stage": "a"}
        if value != "__absent__":
            record[name] = value
        whole = nodes.Logical("and", [c.condition for c in policy.checked.stages[0].entry])
        truth = Interpreter(policy.checked).truth(whole, record, TODAY)
        if policy.check(record, today=TODAY).conforms is not (truth is True):
            disagreements.append((condition, name, value))
    assert disagreements == []


# Replacing overlays: for a record in jp, B's global `requires` give way to jp's `instead`
# line; for a record in both jp and big, to both replacements. The reference below is written
# from the language reference, not from the analysis's own `Criterion.applies`.
REPLACING = HEADER + (
    'segment jp: s1 == "JP"\n'
    "segment big: i1 >= 1\n"
    "stage A\n"
    "  exit when {exit_a}\n"
    "stage B requires {entry_b}\n"
    "  in jp instead requires {instead_b}\n"
    "  in big instead requires {instead_big}\n"
    "  in big requires {overlay_b}\n"
    "  exit when {exit_b}\n"
    "stage C requires {entry_c}\n"
    "  in jp instead requires {instead_c}\n"
)


@given(
    st.fixed_dictionaries(
        {
            key: conditions
            for key in [
                "exit_a",
                "entry_b",
                "instead_b",
                "instead_big",
                "overlay_b",
                "exit_b",
                "entry_c",
                "instead_c",
            ]
        }
    ),
    st.sampled_from(["a", "b", "c"]).flatmap(records),
)
def test_replacing_overlays_agree_with_the_interpreter(
    parts: dict[str, str], record: dict[str, Any]
) -> None:
    policy = stagelang.loads(REPLACING.format(**parts), "replacing.stage")
    checked = policy.checked
    interpreter = Interpreter(checked)
    rank = "abc".index(record["lifecycle_stage"])
    segments = {
        name
        for name, segment in checked.segments.items()
        if interpreter.truth(segment.condition, record, TODAY) is True
    }

    def holds(text: str) -> bool:
        # The condition alone, as the only criteria of a stage; a top-level `and` splits it
        # into several, and it holds when every part is true.
        alone = stagelang.loads(HEADER + f"stage X requires ({text})\n").checked
        parts = alone.stages[0].entry
        return all(Interpreter(alone).truth(c.condition, record, TODAY) is True for c in parts)

    def entry_met(stage: str) -> bool:
        if stage == "A":
            return True
        if stage == "B":
            replaced = bool(segments & {"jp", "big"})
            base = replaced or holds(parts["entry_b"])
            jp = "jp" not in segments or holds(parts["instead_b"])
            big = "big" not in segments or (
                holds(parts["instead_big"]) and holds(parts["overlay_b"])
            )
            return base and jp and big
        base = "jp" in segments or holds(parts["entry_c"])
        return base and ("jp" not in segments or holds(parts["instead_c"]))

    exits = {"A": parts["exit_a"], "B": parts["exit_b"]}
    expected = all(entry_met(s) for s in "ABC"[: rank + 1]) and all(
        holds(exits[s]) for s in "AB"[:rank]
    )

    assert policy.check(record, today=TODAY).conforms is expected
    assert bool(policy.check(record, today=TODAY).unmet) is not expected


# Whole policies of generated shape: one to four stages, zero to two segments, each stage with
# or without a global `requires`, with additive and replacing overlays and an exit. The
# reference follows the language reference: a record at stage k conforms when, for every stage
# up to k, the global `requires` holds unless one of its segments replaces it with `instead`,
# every overlay of its segments holds, and every stage below k has its exit met. A clause
# holds when the interpreter finds every criterion written on its line true.
SEGMENT_CONDITIONS = {"jp": 's1 == "JP"', "big": "i1 >= 1"}


@st.composite
def ladders(draw: st.DrawFn) -> tuple[list[str], list[dict[str, Any]]]:
    segments = draw(st.lists(st.sampled_from(list(SEGMENT_CONDITIONS)), unique=True, max_size=2))
    count = draw(st.integers(1, 4))
    stages = []
    for rank in range(count):
        overlays = []
        if segments:
            overlay = st.tuples(st.sampled_from(segments), st.booleans(), conditions)
            overlays = draw(st.lists(overlay, max_size=3))
        stages.append(
            {
                "requires": draw(st.one_of(st.none(), conditions)),
                "overlays": overlays,
                "exit": draw(st.one_of(st.none(), conditions)) if rank < count - 1 else None,
            }
        )
    return segments, stages


def ladder_text(segments: list[str], stages: list[dict[str, Any]]) -> tuple[str, dict[int, Any]]:
    """The policy, and for each clause line what it is: ("requires", k), ("overlay", k, i) ..."""
    lines = HEADER.splitlines()
    lines += [f"segment {name}: {SEGMENT_CONDITIONS[name]}" for name in segments]
    clauses: dict[int, Any] = {}
    for rank, stage in enumerate(stages):
        lines.append(f"stage {'ABCD'[rank]}")
        if stage["requires"] is not None:
            lines.append(f"  requires {stage['requires']}")
            clauses[len(lines)] = ("requires", rank)
        for number, (segment, instead, condition) in enumerate(stage["overlays"]):
            lines.append(f"  in {segment} {'instead ' if instead else ''}requires {condition}")
            clauses[len(lines)] = ("overlay", rank, number)
        if stage["exit"] is not None:
            lines.append(f"  exit when {stage['exit']}")
            clauses[len(lines)] = ("exit", rank)
    return "\n".join(lines) + "\n", clauses


@given(ladders(), st.data())
def test_generated_policies_agree_with_the_language_reference(
    ladder: tuple[list[str], list[dict[str, Any]]], data: st.DataObject
) -> None:
    segments, stages = ladder
    text, clauses = ladder_text(segments, stages)
    policy = stagelang.loads(text, "generated.stage")
    checked = policy.checked
    interpreter = Interpreter(checked)
    rank = data.draw(st.integers(0, len(stages) - 1))
    record = data.draw(records("abcd"[rank]))

    truth: dict[Any, bool] = {}
    failing: dict[Any, set[tuple[int, int]]] = {}  # each clause's criteria not met, by place
    for stage in checked.stages:
        for criterion in (*stage.entry, *stage.exit):
            met = interpreter.truth(criterion.condition, record, TODAY) is True
            clause = clauses[criterion.span.line]
            truth[clause] = truth.get(clause, True) and met
            if not met:
                failing.setdefault(clause, set()).add((criterion.span.line, criterion.span.column))
    inside = {
        name
        for name in segments
        if interpreter.truth(checked.segments[name].condition, record, TODAY) is True
    }

    def applying(k: int) -> list[Any]:
        """The entry clauses of stage k that apply to this record."""
        overlays = stages[k]["overlays"]
        replaced = any(segment in inside and instead for segment, instead, _ in overlays)
        found: list[Any] = []
        if stages[k]["requires"] is not None and not replaced:
            found.append(("requires", k))
        for number, (segment, _, _) in enumerate(overlays):
            if segment in inside:
                found.append(("overlay", k, number))
        return found

    def entry_met(k: int) -> bool:
        return all(truth[clause] for clause in applying(k))

    def exit_met(k: int) -> bool:
        return stages[k]["exit"] is None or truth[("exit", k)]

    expected = all(entry_met(k) for k in range(rank + 1)) and all(exit_met(k) for k in range(rank))
    verdict = policy.check(record, today=TODAY)
    assert verdict.conforms is expected

    # Every criterion that applies and is not met is listed, and nothing else.
    applied = [c for k in range(rank + 1) for c in applying(k)]
    applied += [("exit", k) for k in range(rank) if stages[k]["exit"] is not None]
    unmet = {place for clause in applied for place in failing.get(clause, set())}
    listed = {(u.criterion.span.line, u.criterion.span.column) for u in verdict.unmet}
    assert listed == unmet

    reached = None
    for k in range(len(stages)):
        if not entry_met(k):
            break
        reached = "ABCD"[k]
        if not exit_met(k):
            break
    assert policy.qualify(record, today=TODAY) == reached
