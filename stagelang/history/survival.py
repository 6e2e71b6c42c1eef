"""Time in stage with stays still running taken into account: the Kaplan-Meier estimate.

A record still in a stage at the as-of date has a stay whose length is only known to be at
least what is seen so far (right-censored). Averaging only the finished stays understates
exactly the slow stages (a Japanese Opportunity waiting on a ringi approval), because the
longest stays are the ones not finished yet. The Kaplan-Meier estimate uses every stay: a
censored one counts among those "at risk" of leaving until its last day seen.

Stays are kept in typed arrays (`array('f')`: four bytes a stay), so that a million records
with six stages each stay well inside memory. The estimate is written here rather than taken
from lifelines, which would bring pandas and SciPy into the core install for one loop; the
tests hold the two to the same answers.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass
class Durations:
    """Stay lengths in days: finished ones, and censored ones (still running)."""

    finished: array[float] = field(default_factory=lambda: array("f"))
    censored: array[float] = field(default_factory=lambda: array("f"))

    def add(self, days: float, finished: bool) -> None:
        (self.finished if finished else self.censored).append(days)

    def __len__(self) -> int:
        return len(self.finished) + len(self.censored)

    def naive_mean(self) -> float | None:
        """The mean of finished stays only: what a spreadsheet would show, biased low."""
        if not self.finished:
            return None
        return sum(self.finished) / len(self.finished)

    def curve(self) -> list[tuple[float, float]]:
        """The Kaplan-Meier curve: (day, share still in the stage after it), at each day a
        stay finished. At a day where stays both finish and are censored, the finished ones
        count first, as is usual."""
        return kaplan_meier(self.finished, self.censored)

    def percentiles(self, *shares: float) -> list[float | None]:
        """For each share q (0.5 for the median), the first day by which at least q of the
        stays had ended, by the estimate; None when the curve never falls that far (too many
        stays are still running to tell)."""
        steps = self.curve()
        found: list[float | None] = []
        for share in shares:
            day = next((t for t, surviving in steps if surviving <= 1 - share + 1e-12), None)
            found.append(day)
        return found


def kaplan_meier(finished: Iterable[float], censored: Iterable[float]) -> list[tuple[float, float]]:
    """(time, estimated share surviving past it) at each time a stay finished."""
    ends = sorted(finished)
    cuts = sorted(censored)
    at_risk = len(ends) + len(cuts)
    surviving = 1.0
    steps: list[tuple[float, float]] = []
    i = j = 0
    while i < len(ends):
        time = ends[i]
        # Censored stays shorter than this time have left the group at risk.
        while j < len(cuts) and cuts[j] < time:
            j += 1
            at_risk -= 1
        events = 0
        while i < len(ends) and ends[i] == time:
            events += 1
            i += 1
        surviving *= 1 - events / at_risk
        steps.append((time, surviving))
        at_risk -= events
    return steps
