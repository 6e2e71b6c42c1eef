"""History from date-entered columns: one date per stage on each record of an export.

HubSpot exports, for each lifecycle stage, the date a contact entered it ("Became a Marketing
Qualified Lead Date", or the `hs_v2_date_entered_*` properties). The policy binds each stage
to its column with `entered from "..."`; under `use hubspot`, a stage without that line reads
the first of the preset's date columns for it that the export has (a preset stage whose columns
the export lacks is simply not dated there). From one record's dates and its current stage this
module finds what the dates contradict (out of order, missing, a later stage dated while the
record sits earlier, a stage skipped) and the stays they show.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from stagelang.analysis import types
from stagelang.analysis.model import CheckedPolicy, Outcome, Stage
from stagelang.history.ladder import Ladder
from stagelang.history.stays import ENDED, MOVED_ON, STILL_THERE, Stay
from stagelang.records.coerce import CoercionError, coercer
from stagelang.records.convert import Column, RowConverter, compile_row_converter
from stagelang.records.readers import Table

Dates = dict[str, dt.datetime | None]


@dataclass(frozen=True, slots=True)
class DateProblem:
    """Something a record's dates contradict: a finding code, a sentence, and the dates."""

    code: str
    message: str
    stage: str
    values: dict[str, Any]


class DateColumns:
    """The date columns a policy binds, and what one record's dates say."""

    def __init__(
        self, policy: CheckedPolicy, *, as_of: dt.date, timezone: dt.tzinfo = dt.UTC
    ) -> None:
        self.policy = policy
        self.ladder = Ladder(policy)
        self.as_of = as_of
        # A stay still running is measured up to the start of the as-of day.
        self.until = dt.datetime.combine(as_of, dt.time(), dt.UTC)
        self.candidates = _candidates(policy)
        dated: list[Stage | Outcome] = [*policy.stages, *policy.outcomes]
        self.written = {s.name for s in dated if s.entered_column}
        # The column each dated stage is read from: the first candidate until a table is bound,
        # then the one that table has. Stages missing here have no date in that table.
        self.columns: dict[str, str] = {s: c[0] for s, c in self.candidates.items()}
        self._sharing = _sharing(dated)
        self._convert = coercer(types.DATETIME, timezone=timezone)

    def __bool__(self) -> bool:
        return bool(self.candidates)

    # Reading

    def bind(self, table: Table, positions: Callable[[str], int | None]) -> RowConverter:
        """A converter from a row's cells to the record's entered dates, keyed by stage.

        `positions(column)` finds a column of the table, as the checker finds field columns;
        None when the export lacks it. JSON objects name their own keys.
        """
        if table.columns is None:
            self.columns = {s: c[0] for s, c in self.candidates.items()}
            return self._json_dates()
        self.columns = self.found(positions)
        columns: list[Column] = []
        for stage, column in self.columns.items():
            index = positions(column)
            assert index is not None  # found above
            columns.append(Column(stage, types.DATETIME, index, self._convert))
        return compile_row_converter(columns)

    def carried_by(self, cells: dict[str, Any]) -> bool:
        """Whether a JSON object has any of the date columns, the preset's included."""
        return any(c in cells for candidates in self.candidates.values() for c in candidates)

    def found(self, positions: Callable[[str], int | None]) -> dict[str, str]:
        """For each stage, the first of its date columns that the export has."""
        found: dict[str, str] = {}
        for stage, candidates in self.candidates.items():
            column = next((c for c in candidates if positions(c) is not None), None)
            if column is not None:
                found[stage] = column
        return found

    def missing(self, positions: Callable[[str], int | None]) -> list[tuple[str, str]]:
        """The (stage, column) pairs the export lacks, of columns the policy itself names.

        A preset's columns are alternatives for stages the policy leaves undated: an export
        without them is not missing anything."""
        found = self.found(positions)
        return [(s, self.candidates[s][0]) for s in self.written if s not in found]

    def _json_dates(self) -> RowConverter:
        """Dates from JSON objects, which name their own keys and have no header.

        The first object stands for the header: a stage the preset dates is read from the first
        of its keys that object has, and is undated in this export if it has none of them. (An
        export whose first object leaves out a key that later ones carry loses those dates.)
        """
        keys: dict[str, str] | None = None

        def convert(cells: Any) -> tuple[dict[str, Any], dict[str, CoercionError] | None]:
            nonlocal keys
            if keys is None:
                keys = self._keys_of(cells)
                self.columns = keys
            record: dict[str, Any] = {}
            bad: dict[str, CoercionError] | None = None
            for stage, key in keys.items():
                try:
                    record[stage] = self._convert(cells.get(key))
                except CoercionError as error:
                    record[stage] = None
                    bad = bad or {}
                    bad[stage] = error
            return record, bad

        return convert

    def _keys_of(self, first: Any) -> dict[str, str]:
        keys: dict[str, str] = {}
        for stage, candidates in self.candidates.items():
            present = next((k for k in candidates if k in first), None)
            if present is not None:
                keys[stage] = present
            elif stage in self.written:
                keys[stage] = candidates[0]  # the policy's own column: its absence is a finding
        return keys

    def _own(self, stage_name: str, dates: Dates) -> Dates:
        """A column the ends of the pipeline share (a close date for Won and Lost) dates the
        end the record is at, not the others."""
        others = self._sharing.get(stage_name)
        if not others:
            return dates
        return {name: None if name in others else when for name, when in dates.items()}

    # Judging one record

    def problems(
        self, stage_name: str, segments: tuple[str, ...], dates: Dates
    ) -> list[DateProblem]:
        """Everything a record's dates contradict, lowest stage first."""
        dates = self._own(stage_name, dates)
        stage = self.ladder.stage(stage_name)
        if stage is not None:
            return self._on_ladder(stage, segments, dates)
        outcome = self.ladder.outcome(stage_name)
        return [] if outcome is None else self._in_outcome(outcome, dates)

    def _on_ladder(
        self, stage: Stage, segments: tuple[str, ...], dates: Dates
    ) -> list[DateProblem]:
        found: list[DateProblem] = []
        stages = self.ladder.stages
        reached = stages[: stage.rank + 1]

        found.extend(self._skipped(reached, dates))
        found.extend(self._out_of_order([s.name for s in reached], dates))
        column = self.columns.get(stage.name)
        if column and dates.get(stage.name) is None:
            found.append(self._missing_date(stage.name, column))
        for later in stages[stage.rank + 1 :]:
            when = dates.get(later.name)
            if when is not None and stage.name not in later.back_to:
                found.append(
                    DateProblem(
                        "SL515",
                        f'the record is at "{stage.name}" but has a date for the later stage '
                        f'"{later.name}" ({_day(when)}): it went back without the policy '
                        "allowing it, or its stage is out of date",
                        stage.name,
                        {self.columns.get(later.name, later.name): when},
                    )
                )
        stalled = self._stalled(stage, segments, dates)
        if stalled is not None:
            found.append(stalled)
        return found

    def _in_outcome(self, outcome: Outcome, dates: Dates) -> list[DateProblem]:
        found: list[DateProblem] = []
        column = self.columns.get(outcome.name)
        if column and dates.get(outcome.name) is None:
            found.append(self._missing_date(outcome.name, column))
        left = self._last_dated(dates)
        if left is not None:
            move = self.ladder.judge(left.name, outcome.name)
            if move is not None:
                found.append(DateProblem(move.code, move.message, outcome.name, {}))
            names = [left.name, outcome.name]
            found.extend(self._out_of_order(names, dates))
        return found

    def _skipped(self, reached: tuple[Stage, ...], dates: Dates) -> list[DateProblem]:
        """A stage with a date column but no date, below a dated one, and not `allow skip`."""
        found: list[DateProblem] = []
        for position, stage in enumerate(reached[:-1]):
            column = self.columns.get(stage.name)
            if not column or stage.skippable or dates.get(stage.name) is not None:
                continue
            later = [s for s in reached[position + 1 :] if dates.get(s.name) is not None]
            if not later:
                continue
            found.append(
                DateProblem(
                    "SL510",
                    f'the record reached "{later[0].name}" without a date for "{stage.name}", '
                    "a stage the policy does not allow to be skipped",
                    stage.name,
                    {column: None},
                )
            )
        return found

    def _out_of_order(self, names: list[str], dates: Dates) -> list[DateProblem]:
        """Entered dates must not go backward in time along the ladder."""
        found: list[DateProblem] = []
        previous: tuple[str, dt.datetime] | None = None
        for name in names:
            when = dates.get(name)
            if when is None:
                continue
            if previous is not None and when < previous[1]:
                found.append(
                    DateProblem(
                        "SL514",
                        f'"{name}" was entered on {_day(when)}, before "{previous[0]}" '
                        f"({_day(previous[1])}), which comes earlier on the ladder",
                        name,
                        {previous[0]: previous[1], name: when},
                    )
                )
            previous = (name, when) if previous is None or when >= previous[1] else previous
        return found

    def _missing_date(self, stage: str, column: str) -> DateProblem:
        return DateProblem(
            "SL513",
            f'the record is at "{stage}" but has no date in column "{column}"',
            stage,
            {column: None},
        )

    def _stalled(self, stage: Stage, segments: tuple[str, ...], dates: Dates) -> DateProblem | None:
        limit = stage.expected_dwell(segments)
        entered = dates.get(stage.name)
        if limit is None or entered is None:
            return None
        days = (self.until - entered).days
        if days <= limit.days:
            return None
        return DateProblem(
            "SL517",
            f'stalled: in "{stage.name}" for {days} days since {_day(entered)}, longer than '
            f"the {limit.days} days expected (as of {self.as_of.isoformat()})",
            stage.name,
            {self.columns.get(stage.name, stage.name): entered},
        )

    def _last_dated(self, dates: Dates) -> Stage | None:
        dated = [s for s in self.ladder.stages if dates.get(s.name) is not None]
        return dated[-1] if dated else None

    # Stays

    def stays(self, stage_name: str, segments: tuple[str, ...], dates: Dates) -> list[Stay]:
        """The record's stay in each stage it entered, with lengths where its dates show them.

        A stage without a date column counts as entered when the record is at or above it.
        A stay in the current stage is still running (censored at the as-of date). A stay
        whose end is not dated, or whose dates are out of order, has an unknown length.
        """
        dates = self._own(stage_name, dates)
        stage = self.ladder.stage(stage_name)
        outcome = self.ladder.outcome(stage_name)
        if stage is None and outcome is None:
            return []
        end_of_last: dt.datetime | None
        if stage is not None:
            reached = self.ladder.stages[: stage.rank + 1]
            end_of_last = self.until
        else:
            last = self._last_dated(dates)
            reached = self.ladder.stages[: last.rank + 1] if last is not None else ()
            end_of_last = dates.get(stage_name)

        dated = self.columns
        entered = [s for s in reached if s.name not in dated or dates.get(s.name) is not None]
        stays: list[Stay] = []
        for position, current in enumerate(entered):
            start = dates.get(current.name)
            is_last = position == len(entered) - 1
            if is_last:
                ending = STILL_THERE if stage is not None else ENDED
                end = end_of_last
            else:
                ending = MOVED_ON
                later = (dates.get(s.name) for s in entered[position + 1 :])
                end = next((when for when in later if when is not None), None)
            days = None
            if start is not None and end is not None and end >= start:
                days = (end - start).total_seconds() / 86400
            stalled = False
            if ending == STILL_THERE and days is not None:
                limit = current.expected_dwell(segments)
                stalled = limit is not None and int(days) > limit.days
            stays.append(Stay(current.name, days, ending, stalled))
        return stays


def _candidates(policy: CheckedPolicy) -> dict[str, tuple[str, ...]]:
    """Each dated stage's columns, in the order to try them: the policy's own `entered from`,
    else the date columns of its CRM preset for that stage."""
    preset = policy.preset.date_entered if policy.preset is not None else {}
    candidates: dict[str, tuple[str, ...]] = {}
    dated: list[Stage | Outcome] = [*policy.stages, *policy.outcomes]
    for stage in dated:
        if stage.entered_column is not None:
            candidates[stage.name] = (stage.entered_column,)
        elif preset.get(stage.name):
            candidates[stage.name] = preset[stage.name]
    return candidates


def _sharing(dated: list[Stage | Outcome]) -> dict[str, frozenset[str]]:
    """For each stage whose column another stage shares, the others (lint allows that only
    between the ends of a pipeline, which a record reaches one of)."""
    by_column: dict[str, set[str]] = {}
    for stage in dated:
        if stage.entered_column:
            by_column.setdefault(stage.entered_column.strip().casefold(), set()).add(stage.name)
    return {
        name: frozenset(names - {name})
        for names in by_column.values()
        if len(names) > 1
        for name in names
    }


def _day(when: dt.datetime) -> str:
    return when.date().isoformat()
