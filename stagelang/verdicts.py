"""Verdicts: whether a record conforms to the criteria of its stage, and if not, why."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from stagelang.analysis.model import Criterion
from stagelang.diagnostics import Span


@dataclass(frozen=True, slots=True)
class Unmet:
    """A criterion a record does not meet, with the values it was judged on.

    `outcome` is False when the criterion is false, and None when it cannot be known because a
    value it reads is missing (which, as in SQL, does not count as met either).
    """

    criterion: Criterion
    values: Mapping[str, Any]
    outcome: bool | None

    @property
    def stage(self) -> str:
        return self.criterion.stage

    @property
    def segment(self) -> str | None:
        return self.criterion.segment

    @property
    def kind(self) -> str:
        return self.criterion.kind

    @property
    def text(self) -> str:
        """The criterion as written in the policy: `engaged_sessions >= 3`."""
        return self.criterion.text

    @property
    def span(self) -> Span:
        return self.criterion.span

    @property
    def missing(self) -> tuple[str, ...]:
        """The fields the criterion reads that the record does not have."""
        return tuple(name for name, value in self.values.items() if value is None)

    def message(self) -> str:
        """In words: `MQL in japan requires engaged_sessions >= 3, but engaged_sessions = 2`."""
        if self.kind == "required":
            return f"{self.text.removesuffix(' is set')} is required, but it is missing"
        facts = [
            f"{name} is missing" if value is None else f"{name} = {format_value(value)}"
            for name, value in self.values.items()
        ]
        return f"{self.criterion.describe()}, but {', '.join(facts) or 'it is false'}"

    def __str__(self) -> str:
        return self.message()


class Verdict:
    """The outcome of checking one record against its stage.

    `stage` is the stage the record's stage value names (None when it names no stage, and then
    `problem` says so). `unmet` lists every criterion of that stage and the stages below it
    that the record does not meet, lowest stage first.
    """

    __slots__ = ("_unmet", "conforms", "problem", "stage")

    def __init__(
        self,
        stage: str | None,
        conforms: bool,
        *,
        unmet: tuple[Unmet, ...] = (),
        problem: str | None = None,
    ) -> None:
        self.stage = stage
        self.conforms = conforms
        self.problem = problem
        self._unmet: tuple[Unmet, ...] | None = unmet

    @property
    def unmet(self) -> tuple[Unmet, ...]:
        assert self._unmet is not None
        return self._unmet

    @property
    def first_unmet_stage(self) -> str | None:
        """The lowest stage with an unmet criterion, as a first-failure report names it."""
        return self.unmet[0].stage if self.unmet else None

    def messages(self) -> list[str]:
        """Every reason the record does not conform, one sentence each."""
        reasons = [self.problem] if self.problem else []
        return reasons + [unmet.message() for unmet in self.unmet]

    def __repr__(self) -> str:
        if self.conforms:
            return f"<Verdict {self.stage}: conforms>"
        reasons = "; ".join(self.messages())
        return f"<Verdict {self.stage}: does not conform: {reasons}>"


Explain = Callable[[dict[str, Any], int, "dt.date | None"], tuple[Unmet, ...]]


class PendingVerdict(Verdict):
    """A record that does not conform, whose reasons are worked out when first asked for.

    Most callers only count verdicts, so the explanation (which evaluates every criterion
    again) is put off. `why` holds what it needs: the function that explains, a copy of the
    record (so that the caller may reuse its mapping), the record's stage rank and `today`.
    Built by the compiled checker, for which every attribute stored here costs time.
    """

    __slots__ = ("_why",)
    conforms = False
    problem = None

    def __init__(
        self, stage: str, why: tuple[Explain, dict[str, Any], int, dt.date | None]
    ) -> None:
        self.stage = stage
        self._unmet = None
        self._why = why

    @property
    def unmet(self) -> tuple[Unmet, ...]:
        if self._unmet is None:
            explain, record, rank, today = self._why
            self._unmet = explain(record, rank, today)
        return self._unmet


def format_value(value: Any) -> str:
    """A value as a policy would write it: text quoted, dates in ISO form."""
    if isinstance(value, str):
        return '"' + value.replace('"', '\\"') + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return f"{value.days}d"
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(format_value(item) for item in value) + "]"
    return repr(value)
