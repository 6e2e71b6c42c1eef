"""Stage history: how records moved between stages, and how long they stayed.

Two sources feed it, both read one row at a time: the date-entered columns of an export
(`entered from "Became a Customer Date"`), and an event log with one row per stage change.
`ladder` says which moves the policy allows; `dates` and `events` turn each source into
transition findings and stays; `survival` estimates time in stage with stays that have not
ended yet (right-censored) taken into account.
"""

from __future__ import annotations

from stagelang.history.dates import DateColumns
from stagelang.history.events import EventLog
from stagelang.history.ladder import Ladder, Move
from stagelang.history.stays import Stay

__all__ = ["DateColumns", "EventLog", "Ladder", "Move", "Stay"]
