"""Value semantics shared by the compiled predicates and the reference interpreter.

Both backends call these helpers for everything that is not a plain Python operator, so that
they cannot drift apart on what missing means, how a date meets a datetime, or how a decimal
meets a float.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any


def is_missing(value: Any) -> bool:
    """Missing: None, empty text, or an empty list."""
    if value is None:
        return True
    if isinstance(value, (str, list, tuple)):
        return len(value) == 0
    return False


def known(value: Any) -> Any:
    """The value, or None when it is missing."""
    return None if is_missing(value) else value


def count(value: Any) -> int:
    """How many items a list holds; a missing list holds none."""
    return 0 if is_missing(value) else len(value)


def add(left: Any, right: Any) -> Any:
    if left is None or right is None:
        return None
    left, right = _same_number_kind(left, right)
    return left + right


def subtract(left: Any, right: Any) -> Any:
    if left is None or right is None:
        return None
    left, right = _same_number_kind(left, right)
    return left - right


def negate(value: Any) -> Any:
    return None if value is None else -value


def as_datetime(day: dt.date, like: Any) -> dt.datetime:
    """A date read as midnight, in the time zone of the datetime it is compared with (as SQL)."""
    zone = like.tzinfo if isinstance(like, dt.datetime) else None
    return dt.datetime.combine(day, dt.time(), tzinfo=zone)


def align_dates(left: Any, right: Any) -> tuple[Any, Any]:
    """Make a date and a datetime comparable by reading the date as midnight."""
    left_is_datetime = isinstance(left, dt.datetime)
    right_is_datetime = isinstance(right, dt.datetime)
    if left_is_datetime and not right_is_datetime and isinstance(right, dt.date):
        return left, as_datetime(right, left)
    if right_is_datetime and not left_is_datetime and isinstance(left, dt.date):
        return as_datetime(left, right), right
    return left, right


def _same_number_kind(left: Any, right: Any) -> tuple[Any, Any]:
    # Decimal and float do not mix in Python arithmetic; a float read from a spreadsheet is
    # meant as the decimal it prints as.
    if isinstance(left, Decimal) and isinstance(right, float):
        return left, Decimal(repr(right))
    if isinstance(right, Decimal) and isinstance(left, float):
        return Decimal(repr(left)), right
    return left, right


def today_utc() -> dt.date:
    """The default `today`: the current date in UTC, so that a run does not depend on the host."""
    return dt.datetime.now(dt.UTC).date()
