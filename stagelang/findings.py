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

_E = Severity.ERROR
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
