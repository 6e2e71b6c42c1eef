"""History from an event log: one row per stage change (CSV, TSV, JSON Lines or JSON).

Each row names a record (the policy's id column), the stage it entered (the stage column) and
when (a time column, `timestamp` unless told otherwise). It may also carry the record's field
values at that moment, under the policy's column names; then each transition is checked
against the exit criteria of the stage the record left and the entry criteria of the stage it
entered, on those values: "stages only advance when criteria are met", checked after the fact.

The log is read one row at a time. What is kept is one small entry per record (its last
stage, time and segments), not the rows: a record's events must come in time order, as CRMs
export them; an event older than the record's last one is reported (SL518) and skipped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from stagelang.analysis import types
from stagelang.analysis.model import Criterion
from stagelang.findings import Finding
from stagelang.history.ladder import Ladder
from stagelang.history.stays import ENDED, MOVED_BACK, MOVED_ON, STILL_THERE, Stay
from stagelang.policy import Policy
from stagelang.records.coerce import CoercionError, coercer
from stagelang.records.readers import InputError, Table, open_table
from stagelang.verdicts import format_value

DEFAULT_TIME_COLUMN = "timestamp"

StayListener = Callable[[Stay, tuple[str, ...]], None]


@dataclass(slots=True)
class _Last:
    """What is remembered of a record between its events."""

    stage: str
    at: dt.datetime
    segments: tuple[str, ...]
    file: str
    line: int


class EventLog:
    """Reads event logs against a policy: transition findings, and each stay as it ends."""

    def __init__(
        self,
        policy: Policy,
        *,
        as_of: dt.date,
        timezone: dt.tzinfo = dt.UTC,
        time_column: str = DEFAULT_TIME_COLUMN,
        on_stay: StayListener | None = None,
    ) -> None:
        self.policy = policy
        self.ladder = Ladder(policy.checked)
        self.as_of = as_of
        self.until = dt.datetime.combine(as_of, dt.time(), dt.UTC)
        self.timezone = timezone
        self.time_column = time_column
        self.on_stay = on_stay
        self.events = 0
        self._last: dict[str, _Last] = {}
        self._time = coercer(types.DATETIME, timezone=timezone)
        self._converters = {
            name: coercer(f.type, separator=f.separator, timezone=timezone)
            for name, f in policy.fields.items()
        }

    @property
    def records(self) -> int:
        """How many records the logs have named so far."""
        return len(self._last)

    def check_files(
        self, names: list[str], *, input_format: str | None = None, encoding: str | None = None
    ) -> Iterator[Finding]:
        """Findings about every event of every log, then about where each record ended up."""
        for name in names:
            with open_table(name, input_format=input_format, encoding=encoding) as table:
                yield from self.check_table(table)
        yield from self.finish()

    def check_table(self, table: Table) -> Iterator[Finding]:
        id_key, stage_key, time_key, fields = self._bind(table)
        for row in table.rows:
            cells = row.cells
            if cells is None or row.problem is not None:
                yield Finding(
                    "SL506", f"the row cannot be read: {row.problem}", table.name, row.line
                )
                continue
            self.events += 1
            yield from self._event(table.name, row.line, cells, id_key, stage_key, time_key, fields)

    def finish(self) -> Iterator[Finding]:
        """Stays still running at the as-of date, and the records stalled in them."""
        for record_id, last in self._last.items():
            stage = self.ladder.stage(last.stage)
            if stage is None:
                continue  # an outcome ends the stay
            days = max((self.until - last.at).total_seconds() / 86400, 0.0)
            limit = stage.expected_dwell(last.segments)
            stalled = limit is not None and int(days) > limit.days
            self._stay(Stay(stage.name, days, STILL_THERE, stalled), last.segments)
            if stalled:
                assert limit is not None
                yield Finding(
                    "SL517",
                    f'stalled: in "{stage.name}" for {int(days)} days since '
                    f"{last.at.date().isoformat()}, longer than the {limit.days} days expected "
                    f"(as of {self.as_of.isoformat()})",
                    last.file,
                    last.line,
                    record_id,
                    stage=stage.name,
                )

    # Columns

    def _bind(self, table: Table) -> tuple[Any, Any, Any, dict[str, Any]]:
        policy = self.policy.checked
        if policy.id_field is None:
            raise InputError(
                table.name, "an event log needs the policy's `id field` to tell records apart", 1
            )
        wanted = {
            "id": policy.fields[policy.id_field].column,
            "stage": policy.fields[policy.stage_field].column,
            "time": self.time_column,
        }
        if table.columns is None:  # JSON objects name their own keys
            keys = {name: f.column for name, f in policy.fields.items()}
            return wanted["id"], wanted["stage"], wanted["time"], keys

        positions = {column.strip().casefold(): i for i, column in enumerate(table.columns)}
        missing = [c for c in wanted.values() if c.strip().casefold() not in positions]
        if missing:
            raise InputError(
                table.name,
                "the event log lacks the columns "
                + ", ".join(f'"{c}"' for c in missing)
                + f" (it needs the record id, the stage and the time; the time column is "
                f'"{self.time_column}" unless --event-time names another)',
                1,
            )
        fields = {
            name: positions[f.column.strip().casefold()]
            for name, f in policy.fields.items()
            if f.column.strip().casefold() in positions
        }
        position = {key: positions[column.strip().casefold()] for key, column in wanted.items()}
        return position["id"], position["stage"], position["time"], fields

    # One event

    def _event(
        self,
        file: str,
        line: int,
        cells: Any,
        id_key: Any,
        stage_key: Any,
        time_key: Any,
        fields: dict[str, Any],
    ) -> Iterator[Finding]:
        record_id = _text(_cell(cells, id_key))
        value = _cell(cells, stage_key)
        stage = self.policy.stage_for(value)
        if stage is None:
            outcome = self.policy.outcome_for(value)
            stage = outcome.name if outcome is not None else None
        if stage is None or record_id is None:
            what = "record id" if record_id is None else f'stage "{value}"'
            yield Finding("SL502", f"the event names no known {what}", file, line, record_id)
            return
        try:
            at = self._time(_cell(cells, time_key))
        except CoercionError as error:
            at, problem = None, f"which is not {error.expected}"
        else:
            problem = "which is empty"
        if not isinstance(at, dt.datetime):
            yield Finding(
                "SL505",
                f'the event\'s time "{_cell(cells, time_key)}" cannot be read, {problem}',
                file,
                line,
                record_id,
                column=self.time_column,
            )
            return

        record, bad = self._record(cells, fields)
        segments = self.policy.segments_of(record, today=at.date()) if record else ()
        last = self._last.get(record_id)
        if last is not None and at < last.at:
            yield Finding(
                "SL518",
                f"the event at {at.isoformat()} is older than the record's event on line "
                f"{last.line} ({last.at.isoformat()}); a record's events must be in time order",
                file,
                line,
                record_id,
                stage=stage,
            )
            return
        if last is not None and last.stage == stage:
            return  # the same stage again: no move
        if last is not None:
            yield from self._transition(file, line, record_id, last, stage, at, record, bad)
        self._last[record_id] = _Last(
            stage, at, segments or (last.segments if last else ()), file, line
        )

    def _record(self, cells: Any, fields: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
        record: dict[str, Any] = {}
        bad: set[str] = set()
        for name, key in fields.items():
            if isinstance(cells, dict) and key not in cells:
                continue  # a JSON event carries only the values it names
            try:
                record[name] = self._converters[name](_cell(cells, key))
            except CoercionError:
                record[name] = None
                bad.add(name)
        return record, bad

    def _transition(
        self,
        file: str,
        line: int,
        record_id: str,
        last: _Last,
        stage: str,
        at: dt.datetime,
        record: dict[str, Any],
        bad: set[str],
    ) -> Iterator[Finding]:
        move = f'"{last.stage}" -> "{stage}" at {at.isoformat()}'
        problem = self.ladder.judge(last.stage, stage)
        if problem is not None:
            message = f"{problem.message} (at {at.isoformat()})"
            yield Finding(problem.code, message, file, line, record_id, stage)
        self._stay(self._ended_stay(last, stage, at), last.segments)

        for criterion in self._criteria(last.stage, stage, record, bad):
            result = self.policy.meets(criterion, record, at.date())
            if result is True:
                continue
            values = {name: record.get(name) for name in criterion.fields}
            facts = ", ".join(
                f"{name} is missing"
                if values[name] is None
                else f"{name} = {format_value(values[name])}"
                for name in criterion.fields
            )
            yield Finding(
                "SL516",
                f"{move}: {criterion.describe()}, but at that moment {facts or 'it was false'}",
                file,
                line,
                record_id,
                stage=criterion.stage,
                clause=criterion.text,
                criterion=criterion.describe(),
                values=values,
            )

    def _ended_stay(self, last: _Last, stage: str, at: dt.datetime) -> Stay:
        days = (at - last.at).total_seconds() / 86400
        if stage in self.ladder.outcomes:
            ending = ENDED
        elif last.stage in self.ladder.outcomes:
            ending = MOVED_ON
        else:
            ending = (
                MOVED_ON if self.ladder.ranks[stage] > self.ladder.ranks[last.stage] else MOVED_BACK
            )
        return Stay(last.stage, days, ending)

    def _criteria(
        self, left: str, entered: str, record: dict[str, Any], bad: set[str]
    ) -> list[Criterion]:
        """The exit criteria of the stage left and the entry criteria of the stage entered,
        those whose fields the event carries (a log of bare moves checks only the moves)."""
        leaving = self.ladder.stage(left)
        arriving = self.ladder.stage(entered) or self.ladder.outcome(entered)
        criteria: list[Criterion] = []
        if leaving is not None and stage_is_forward(self.ladder, left, entered):
            criteria.extend(leaving.exit)
        if arriving is not None:
            criteria.extend(c for c in arriving.entry if c.kind != "required")
        segments = set(self.policy.segments_of(record)) if record else set()
        return [
            c
            for c in criteria
            if all(name in record and name not in bad for name in c.fields)
            and (c.segment is None or c.segment in segments)
        ]

    def _stay(self, stay: Stay, segments: tuple[str, ...]) -> None:
        if self.on_stay is not None:
            self.on_stay(stay, segments)


def stage_is_forward(ladder: Ladder, left: str, entered: str) -> bool:
    """Whether a move leaves a ladder stage upward (an exit criterion then applies)."""
    if left not in ladder.ranks or entered not in ladder.ranks:
        return False
    return ladder.ranks[entered] > ladder.ranks[left]


def _cell(cells: Any, key: Any) -> Any:
    if isinstance(cells, dict):
        return cells.get(key)
    return cells[key] if key < len(cells) else None


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, str) else str(value)
