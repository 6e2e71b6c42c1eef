"""`policies/japan.stage` written by hand as one Python function: the speed to measure against.

It is what a careful engineer would write without stagelang, for records of already-typed
values (see bench/records.py) that carry every field as a key. It answers the question a
first-failure report asks: the lowest stage, up to the record's own, with a criterion the
record does not meet, or None when the record conforms.

The stage that owns a criterion follows the policy text: an `exit when` line belongs to the
stage it leaves. So a record that lacks a meeting fails at SQL (`exit when meeting_at is
set`), before meeting_booked's own `requires meeting_at is set` is reached.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

RANKS = {
    "subscriber": 0,
    "mql": 1,
    "sql": 2,
    "meeting_booked": 3,
    "opportunity": 4,
    "customer": 5,
}


def first_failure(record: Mapping[str, Any]) -> str | None:
    """The first stage whose criteria `record` does not meet, or None if it meets them all."""
    rank = RANKS[record["lifecycle_stage"]]
    if rank == 0:
        return None  # a subscriber promises nothing

    # Subscriber exit, then MQL: one session anywhere, three in Japan, and an ICP fit.
    sessions = record["engaged_sessions"]
    if sessions is None or sessions < 1:
        return "subscriber"
    japan = record["country"] == "JP"
    if not record["icp_fit"] or (japan and sessions < 3):
        return "mql"
    if rank == 1:
        return None

    # MQL exit needs `need` known at all; SQL then needs it true, with one or (Japan) two
    # named decision makers.
    need = record["need"]
    if need is None:
        return "mql"
    if not need or not record["process"]:
        return "sql"
    if len(record["decision_makers"]) < (2 if japan else 1):
        return "sql"
    if rank == 2:
        return None

    if record["meeting_at"] is None:
        return "sql"  # SQL's exit; meeting_booked requires the same
    if rank == 3:
        return None

    # Empty text counts as missing in stagelang, so a blank stakeholder is no stakeholder.
    if not record["stakeholder"]:
        return "meeting_booked"
    budget = record["budget"]
    if budget is None or budget <= 0:
        return "opportunity"
    if rank == 4:
        return None

    if record["contract_signed_at"] is None:
        return "opportunity"  # Opportunity's exit; Customer requires the same
    return None
