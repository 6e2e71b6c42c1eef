"""Stays: one record's time in one stage, finished or still running (right-censored)."""

from __future__ import annotations

from dataclasses import dataclass

# How a stay ended. A stay still running at the as-of date is censored: its true length is
# at least what is seen so far.
MOVED_ON = "moved on"  # up the ladder
ENDED = "ended"  # into an outcome (Closed Lost): over, but not a conversion
MOVED_BACK = "moved back"
STILL_THERE = "still there"


@dataclass(frozen=True, slots=True)
class Stay:
    """A record's stay in a stage: its length in days (None when unknown) and how it ended."""

    stage: str
    days: float | None
    ending: str
    stalled: bool = False

    @property
    def censored(self) -> bool:
        return self.ending == STILL_THERE
