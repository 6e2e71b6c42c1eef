"""Deterministic typed contact records for `policies/japan.stage`, with an answer key.

    >>> sample = generate(1000, seed=7)
    >>> len(sample.records) == len(sample.expected) == 1000
    True

Every record is a dict of already-typed Python values, the way a caller hands records to
`Policy.check`: bools, ints, float budgets, timezone-aware `meeting_at` datetimes, `date`
contract dates, and a (possibly empty) list of decision-maker names. None means missing.

How a record is made:

1. A country (Japan about 40%) and a lifecycle stage (subscriber 25%, MQL 25%, SQL 15%,
   meeting booked 12%, opportunity 13%, customer 10%) are drawn.
2. Every field is first filled with noise, mostly missing: a stage's criteria never read the
   fields that belong to higher stages, so a checker that looked past the record's own stage
   would disagree with the answer key.
3. The fields that the record's stage and every stage below it read are then made valid,
   some exactly at a threshold (three sessions or two decision makers in Japan).
4. About 20% of the records past subscriber get exactly one step of the ladder broken, in one
   of several ways, some of them only possible in Japan (1-2 sessions, one decision maker).

The answer key names the stage whose criterion the break violates first, the way
japan.stage assigns it. That is not always the step that was broken: a criterion of an
`exit when` line belongs to the stage below. So a missing `need` is reported at MQL (its
exit says `need is set`), a missing meeting at SQL, a missing stakeholder at meeting_booked,
and a missing contract date at Opportunity, while `need = False` is an SQL failure.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Record = dict[str, Any]

STAGES = ("subscriber", "mql", "sql", "meeting_booked", "opportunity", "customer")
STAGE_WEIGHTS = (25, 25, 15, 12, 13, 10)
COUNTRIES = ("JP", "US", "DE", "GB", "SG", "AU", None)
COUNTRY_WEIGHTS = (40, 22, 12, 12, 7, 6, 1)

# Among the records past subscriber, the share that gets one step of the ladder broken.
BREAK_RATE = 0.20

# Valid values sit exactly at their threshold this often, where an off-by-one would show.
AT_THRESHOLD_RATE = 0.20

NAMES = (
    "Sato", "Suzuki", "Takahashi", "Tanaka", "Ito", "Watanabe", "Smith", "Jones",
    "Muller", "Schmidt", "Brown", "Taylor", "Lee", "Tan", "Wong", "Nguyen",
)  # fmt: skip
TITLES = ("CFO", "CTO", "VP Sales", "Head of IT", "部長")
UTC = dt.UTC
JST = dt.timezone(dt.timedelta(hours=9), "JST")
FIRST_MEETING = dt.datetime(2024, 1, 1, 9, 0)
FIRST_CONTRACT = dt.date(2024, 2, 1)


@dataclass(frozen=True)
class Sample:
    """Generated records and, for each, the first stage expected to fail (None: conforms)."""

    records: list[Record]
    expected: list[str | None]


@dataclass(frozen=True)
class Break:
    """One way to break a step of the ladder, and the stage japan.stage reports it at."""

    name: str
    reported: str
    apply: Callable[[Record, random.Random], None]
    japan_only: bool = False


def generate(n: int, seed: int = 42) -> Sample:
    """`n` records and their answer key; the same `n` and `seed` always give the same data."""
    rng = random.Random(seed)
    records: list[Record] = []
    expected: list[str | None] = []

    for index in range(n):
        record, first_failure = make_record(index, rng)
        records.append(record)
        expected.append(first_failure)

    return Sample(records, expected)


def make_record(index: int, rng: random.Random) -> tuple[Record, str | None]:
    """One record and the stage it is expected to fail first, or None if it conforms."""
    country = rng.choices(COUNTRIES, weights=COUNTRY_WEIGHTS)[0]
    rank = rng.choices(range(len(STAGES)), weights=STAGE_WEIGHTS)[0]
    record: Record = {
        "record_id": str(100000 + index),
        "country": country,
        "lifecycle_stage": STAGES[rank],
    }

    record.update(_noise(rng))
    _make_valid(record, rank, rng)

    if rank == 0 or rng.random() >= BREAK_RATE:
        return record, None

    step = rng.randint(1, rank)
    choices = [b for b in BREAKS[step] if country == "JP" or not b.japan_only]
    broken = rng.choice(choices)
    broken.apply(record, rng)
    return record, broken.reported


def _noise(rng: random.Random) -> Record:
    """Values for every field, mostly missing, some of them valid, some of them not."""
    return {
        "icp_fit": rng.choice((None, None, True, False)),
        "engaged_sessions": rng.choice((None, 0, 1, 2, 5)),
        "need": rng.choice((None, None, True, False)),
        "process": rng.choice((None, None, True, False)),
        "decision_makers": _pick_names(rng, rng.choice((0, 0, 0, 1, 2))),
        "meeting_at": _meeting(rng, None) if rng.random() < 0.15 else None,
        "budget": rng.choice((None, None, None, 0.0, 1200.0)),
        "stakeholder": rng.choice((None, None, None, "", _stakeholder(rng))),
        "contract_signed_at": _contract(rng) if rng.random() < 0.05 else None,
    }


def _make_valid(record: Record, rank: int, rng: random.Random) -> None:
    """Overwrite the fields read by the record's stage and the stages below with valid values."""
    japan = record["country"] == "JP"

    if rank >= 1:
        record["icp_fit"] = True
        record["engaged_sessions"] = _at_least(rng, 3 if japan else 1, 40)

    if rank >= 2:
        record["need"] = True
        record["process"] = True
        record["decision_makers"] = _pick_names(rng, _at_least(rng, 2 if japan else 1, 4))

    if rank >= 3:
        record["meeting_at"] = _meeting(rng, JST if japan else UTC)

    if rank >= 4:
        record["stakeholder"] = _stakeholder(rng)
        record["budget"] = round(rng.uniform(500, 250_000), 2)

    if rank >= 5:
        record["contract_signed_at"] = _contract(rng)


def _at_least(rng: random.Random, minimum: int, maximum: int) -> int:
    if rng.random() < AT_THRESHOLD_RATE:
        return minimum
    return rng.randint(minimum, maximum)


def _pick_names(rng: random.Random, count: int) -> list[str]:
    return rng.sample(NAMES, count)


def _meeting(rng: random.Random, zone: dt.tzinfo | None) -> dt.datetime:
    # Noise meetings are in either zone; both are aware, as the policy's datetime field expects.
    zone = zone or rng.choice((UTC, JST))
    start = FIRST_MEETING + dt.timedelta(minutes=30 * rng.randint(0, 20_000))
    return start.replace(tzinfo=zone)


def _stakeholder(rng: random.Random) -> str:
    return f"{rng.choice(NAMES)} ({rng.choice(TITLES)})"


def _contract(rng: random.Random) -> dt.date:
    return FIRST_CONTRACT + dt.timedelta(days=rng.randint(0, 700))


# The breaks, by the step of the ladder they break: step k is what a record needs to be at
# stage k rather than k - 1, that is the exit criteria of stage k - 1 and the entry criteria of
# stage k. Each sets one field; the record is otherwise valid for its stage.


def _setter(field: str, value: Any) -> Callable[[Record, random.Random], None]:
    def apply(record: Record, rng: random.Random) -> None:
        record[field] = value

    return apply


def _japan_short_of_sessions(record: Record, rng: random.Random) -> None:
    # Enough anywhere else; Japan's overlay asks for three.
    record["engaged_sessions"] = rng.randint(1, 2)


def _japan_one_decision_maker(record: Record, rng: random.Random) -> None:
    # Enough anywhere else; Japan's overlay asks for two.
    record["decision_makers"] = _pick_names(rng, 1)


def _no_decision_makers(record: Record, rng: random.Random) -> None:
    record["decision_makers"] = []  # a fresh list: records never share a mutable value


def _negative_budget(record: Record, rng: random.Random) -> None:
    record["budget"] = -round(rng.uniform(1, 5000), 2)


BREAKS: dict[int, tuple[Break, ...]] = {
    1: (
        Break("no sessions", "subscriber", _setter("engaged_sessions", 0)),
        Break("sessions missing", "subscriber", _setter("engaged_sessions", None)),
        Break("not an ICP fit", "mql", _setter("icp_fit", False)),
        Break("ICP fit missing", "mql", _setter("icp_fit", None)),
        Break("1-2 sessions in Japan", "mql", _japan_short_of_sessions, japan_only=True),
    ),
    2: (
        Break("need missing", "mql", _setter("need", None)),
        Break("no need", "sql", _setter("need", False)),
        Break("no process", "sql", _setter("process", False)),
        Break("process missing", "sql", _setter("process", None)),
        Break("no decision makers", "sql", _no_decision_makers),
        Break("one decision maker in Japan", "sql", _japan_one_decision_maker, japan_only=True),
    ),
    3: (Break("no meeting", "sql", _setter("meeting_at", None)),),
    4: (
        Break("stakeholder missing", "meeting_booked", _setter("stakeholder", None)),
        Break("stakeholder blank", "meeting_booked", _setter("stakeholder", "")),
        Break("budget missing", "opportunity", _setter("budget", None)),
        Break("zero budget", "opportunity", _setter("budget", 0.0)),
        Break("negative budget", "opportunity", _negative_budget),
    ),
    5: (Break("no contract date", "opportunity", _setter("contract_signed_at", None)),),
}
