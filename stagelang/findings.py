"""Findings: what is wrong with a record of an export, where, and with which values.

A finding is to a record what a diagnostic is to a policy: a stable code, a severity, a place
(file and line), a message that says what is wrong in the analyst's words, and the values it
was judged on. Codes never change meaning once published.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from stagelang.diagnostics import Severity
from stagelang.rules import Rule

_E, _W = Severity.ERROR, Severity.WARNING
_PAGE = "docs/check.md"


# Data rules are documented in docs/check.md, next to the command that reports them.
DATA_RULES: dict[str, Rule] = {
    rule.code: rule
    for rule in (
        Rule("SL501", "unmet-criterion", _E, "A record misses a criterion of its stage.", _PAGE),
        Rule("SL502", "unknown-stage", _E, "A record's stage value names no stage.", _PAGE),
        Rule("SL503", "missing-stage", _E, "A record has no stage value.", _PAGE),
        Rule("SL504", "duplicate-id", _E, "Two records have the same id.", _PAGE),
        Rule("SL505", "bad-value", _E, "A cell cannot be read as its field's type.", _PAGE),
        Rule("SL506", "unreadable-row", _E, "A row cannot be read: ragged, or not JSON.", _PAGE),
        Rule(
            "SL507",
            "schema-mismatch",
            _E,
            "A value of a JSON record has a kind its field cannot hold (the record schema).",
            _PAGE,
        ),
        # Stage history: transitions, entered dates and dwell.
        Rule(
            "SL510", "skipped-stage", _E, "A record skipped a stage that may not be skipped.", _PAGE
        ),
        Rule(
            "SL511",
            "backward-move",
            _E,
            "A record moved back without the policy allowing it.",
            _PAGE,
        ),
        Rule(
            "SL512",
            "outcome-not-allowed",
            _E,
            "A record entered an outcome from a stage the outcome does not allow.",
            _PAGE,
        ),
        Rule(
            "SL513",
            "missing-entered-date",
            _E,
            "A record has no entered date for its stage.",
            _PAGE,
        ),
        Rule(
            "SL514", "dates-out-of-order", _E, "Entered dates go backward along the ladder.", _PAGE
        ),
        Rule(
            "SL515",
            "later-stage-dated",
            _E,
            "A record sits below a stage it has a date for.",
            _PAGE,
        ),
        Rule(
            "SL516",
            "transition-unmet",
            _E,
            "A transition happened while a criterion was unmet.",
            _PAGE,
        ),
        Rule(
            "SL517", "stalled", _W, "A record has stayed in its stage longer than expected.", _PAGE
        ),
        Rule(
            "SL518",
            "event-out-of-order",
            _E,
            "An event is older than the record's last one.",
            _PAGE,
        ),
        Rule("SL602", "expired-waiver", _E, "A waiver is past its expiry date.", _PAGE),
        Rule("SL603", "unused-waiver", _W, "A waiver exempted nothing.", _PAGE),
    )
}


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem with one record of an export."""

    code: str
    message: str
    file: str
    line: int | None
    record_id: str | None = None
    stage: str | None = None
    clause: str | None = None
    criterion: str | None = None
    values: Mapping[str, Any] = field(default_factory=dict)
    column: str | None = None

    @property
    def severity(self) -> Severity:
        return DATA_RULES[self.code].severity

    @property
    def name(self) -> str:
        return DATA_RULES[self.code].name

    def to_dict(self) -> dict[str, Any]:
        """The finding as JSON-ready data, as `stagelang check --format json` prints it."""
        return {
            "file": self.file,
            "line": self.line,
            "id": self.record_id,
            "stage": self.stage,
            "code": self.code,
            "rule": self.name,
            "severity": self.severity.value,
            "message": self.message,
            "clause": self.clause,
            "criterion": self.criterion,
            "column": self.column,
            "values": {name: json_value(value) for name, value in self.values.items()},
        }


def json_value(value: Any) -> Any:
    """A typed value as JSON: dates in ISO form, decimals as text (no rounding), lists kept."""
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.timedelta):
        return f"{value.days}d"
    if isinstance(value, (list, tuple)):
        return [json_value(item) for item in value]
    return value
