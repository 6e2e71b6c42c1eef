"""The time-in-stage report: per stage, and per segment against everyone else ("global").

    >>> import stagelang, datetime
    >>> from stagelang.reporting import TimeInStage
    >>> policy = stagelang.load("policies/japan.stage")
    >>> report = TimeInStage(policy, by="japan", as_of=datetime.date(2026, 6, 30))
    >>> report.read_exports(["examples/contacts.csv"])      # doctest: +SKIP
    >>> report.result().stages[0].groups["japan"].median_days  # doctest: +SKIP

Stays come from date-entered columns of exports (`stagelang.history.dates`) or from event
logs (`stagelang.history.events`), read one row at a time; only counts and stay lengths (in
typed arrays) are kept. Medians and percentiles are Kaplan-Meier estimates, so stays still
running at the as-of date count for what is known of them; the naive mean of finished stays
is given beside them, labelled as such.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from stagelang.analysis import fields_read, types
from stagelang.history.dates import DateColumns
from stagelang.history.events import EventLog
from stagelang.history.stays import ENDED, MOVED_BACK, MOVED_ON, STILL_THERE, Stay
from stagelang.history.survival import Durations
from stagelang.policy import Policy
from stagelang.records.coerce import CoercionError, coercer
from stagelang.records.convert import Column, compile_row_converter
from stagelang.records.readers import InputError, open_table

GLOBAL = "global"
ALL = "all records"


@dataclass
class StageGroup:
    """One stage, one group of records: counts and stay lengths."""

    entered: int = 0
    moved_on: int = 0
    ended: int = 0  # into an outcome
    moved_back: int = 0
    still_there: int = 0
    stalled: int = 0
    durations: Durations = field(default_factory=Durations)

    def add(self, stay: Stay) -> None:
        self.entered += 1
        if stay.ending == MOVED_ON:
            self.moved_on += 1
        elif stay.ending == ENDED:
            self.ended += 1
        elif stay.ending == MOVED_BACK:
            self.moved_back += 1
        elif stay.ending == STILL_THERE:
            self.still_there += 1
        if stay.stalled:
            self.stalled += 1
        if stay.days is not None:
            self.durations.add(stay.days, stay.ending != STILL_THERE)


@dataclass(frozen=True)
class GroupFigures:
    """What the report says about one stage for one group."""

    entered: int
    moved_on: int
    ended: int
    moved_back: int
    still_there: int
    stalled: int
    stays_measured: int
    conversion: float | None  # moved on / entered
    naive_mean_days: float | None  # finished stays only
    median_days: float | None  # Kaplan-Meier
    p75_days: float | None
    p90_days: float | None
    expected_dwell_days: int | None

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class StageFigures:
    stage: str
    groups: dict[str, GroupFigures]
    median_ratio: float | None  # segment / global, with --by


@dataclass(frozen=True)
class Report:
    """The figures of a time-in-stage report, ready for any renderer."""

    policy: str
    file: str
    sources: list[str]
    as_of: dt.date
    by: str | None
    groups: list[str]
    records: int
    events: int
    skipped: dict[str, int]
    stages: list[StageFigures]

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data, in the shape docs/report-output.schema.json gives."""
        return {
            "policy": {"name": self.policy, "file": self.file},
            "sources": self.sources,
            "as_of": self.as_of.isoformat(),
            "by": self.by,
            "groups": self.groups,
            "records": self.records,
            "events": self.events,
            "skipped": self.skipped,
            "stages": [
                {
                    "stage": s.stage,
                    "median_ratio": _rounded(s.median_ratio),
                    "groups": {
                        name: {k: _rounded(v) for k, v in g.to_dict().items()}
                        for name, g in s.groups.items()
                    },
                }
                for s in self.stages
            ],
        }


class TimeInStage:
    """Collects stays from exports and event logs, then works out the report's figures."""

    def __init__(
        self,
        policy: Policy,
        *,
        by: str | None = None,
        as_of: dt.date,
        timezone: dt.tzinfo = dt.UTC,
    ) -> None:
        if by is not None and by not in policy.segments:
            known = ", ".join(policy.segments) or "none"
            raise ValueError(f'"{by}" is not a segment of the policy (segments: {known})')
        self.policy = policy
        self.by = by
        self.as_of = as_of
        self.timezone = timezone
        self.groups = [by, GLOBAL] if by else [ALL]
        self.figures = {
            stage: {group: StageGroup() for group in self.groups} for stage in policy.stages
        }
        self.sources: list[str] = []
        self.records = 0
        self.events = 0
        self.skipped: dict[str, int] = {
            "no_stage": 0,
            "unreadable_rows": 0,
            "unreadable_dates": 0,
            "unusable_events": 0,
        }
        self.dates = DateColumns(policy.checked, as_of=as_of, timezone=timezone)

    # Collecting

    def add(self, stay: Stay, segments: tuple[str, ...]) -> None:
        """Count one stay of a record in these segments."""
        by_group = self.figures.get(stay.stage)
        if by_group is None:
            return  # an outcome: it ends stays, it is not one
        group = ALL
        if self.by is not None:
            group = self.by if self.by in segments else GLOBAL
        by_group[group].add(stay)

    def read_exports(
        self, names: list[str], *, input_format: str | None = None, encoding: str | None = None
    ) -> None:
        """Stays from the date-entered columns of exports, one row at a time."""
        if not self.dates:
            raise InputError(
                names[0] if names else "-",
                'the policy binds no date columns (`entered from "..."` under its stages, or '
                "a CRM preset's with `use hubspot`), so an export says nothing about time in "
                "stage; give an event log with --events",
            )
        for name in names:
            with open_table(name, input_format=input_format, encoding=encoding) as table:
                self._read_table(table)

    def _read_table(self, table: Any) -> None:
        self.sources.append(table.name)
        policy = self.policy
        stage_field = policy.checked.stage_field
        wanted = {stage_field}
        if self.by is not None:
            wanted.update(fields_read(policy.checked.segments[self.by].condition))

        positions = _positions(table.columns)
        columns: list[Column] = []
        for name in wanted:
            declared = policy.fields[name]
            key: int | str | None = declared.column
            if table.columns is not None:
                key = positions.get(declared.column.strip().casefold())
                if key is None:
                    raise InputError(
                        table.name, f'the export lacks the column "{declared.column}"', 1
                    )
            convert = coercer(declared.type, separator=declared.separator, timezone=self.timezone)
            assert key is not None
            columns.append(Column(name, declared.type, key, convert))

        def position(column: str) -> int | None:
            return positions.get(column.strip().casefold())

        missing = self.dates.missing(position)
        if not self.dates.found(position):  # none of them: say which were looked for
            missing = [(stage, c[0]) for stage, c in self.dates.candidates.items()]
        if missing and table.columns is not None:
            raise InputError(
                table.name,
                "the export lacks the date columns "
                + ", ".join(f'"{column}" (stage {stage})' for stage, column in missing),
                1,
            )
        if table.columns is None:
            convert_row = _json_converter(columns)
        else:
            convert_row = compile_row_converter(columns)
        dates_of = self.dates.bind(table, position)
        ladder = _LadderStays(self, positions) if table.columns is not None else None

        # The loop runs once per record of exports with millions of rows: locals only.
        # Records on the ladder take `ladder.add_row`, which reads each date cell once through
        # a cache of day numbers; outcomes, and JSON, take the general way through `stays`.
        stage_for, outcome_for = policy.stage_for, policy.outcome_for
        segments_of, stays_of, add = policy.segments_of, self.dates.stays, self.add
        ranks = {stage.name: stage.rank for stage in policy.checked.stages}
        by, skipped, as_of = self.by, self.skipped, self.as_of
        for row in table.rows:
            cells = row.cells
            if cells is None or row.problem is not None:
                skipped["unreadable_rows"] += 1
                continue
            self.records += 1
            record, _bad = convert_row(cells)
            value = record.get(stage_field)
            stage = stage_for(value)
            in_segment = by is not None and by in segments_of(record, today=as_of)
            if stage is not None and ladder is not None:
                ladder.add_row(ranks[stage], cells, in_segment)
                continue
            if stage is None:
                outcome = outcome_for(value)
                if outcome is None:
                    skipped["no_stage"] += 1
                    continue
                stage = outcome.name
            dates, bad_dates = dates_of(cells)
            if bad_dates:
                skipped["unreadable_dates"] += len(bad_dates)
            segments = (by,) if in_segment and by is not None else ()
            for stay in stays_of(stage, segments, dates):
                add(stay, segments)

    def read_events(
        self,
        names: list[str],
        *,
        time_column: str = "timestamp",
        input_format: str | None = None,
        encoding: str | None = None,
    ) -> None:
        """Stays from event logs: each stage change ends the stay before it."""
        log = EventLog(
            self.policy,
            as_of=self.as_of,
            timezone=self.timezone,
            time_column=time_column,
            on_stay=self.add,
        )
        for finding in log.check_files(names, input_format=input_format, encoding=encoding):
            # Transition findings are `stagelang check --events`'s business; an event the
            # report could not use is counted, so that nothing is left out unsaid.
            if finding.code in UNUSABLE_EVENTS:
                self.skipped["unusable_events"] += 1
        self.sources.extend(names)
        self.events += log.events
        self.records += log.records

    # Figures

    def result(self) -> Report:
        stages: list[StageFigures] = []
        for stage in self.policy.checked.stages:
            groups = {
                name: self._figures(collected, stage.expected_dwell(self._segments(name)))
                for name, collected in self.figures[stage.name].items()
            }
            ratio = None
            if self.by is not None:
                mine, rest = groups[self.by].median_days, groups[GLOBAL].median_days
                if mine is not None and rest:
                    ratio = mine / rest
            stages.append(StageFigures(stage.name, groups, ratio))
        return Report(
            policy=self.policy.name,
            file=self.policy.file,
            sources=self.sources,
            as_of=self.as_of,
            by=self.by,
            groups=self.groups,
            records=self.records,
            events=self.events,
            skipped=dict(self.skipped),
            stages=stages,
        )

    def _segments(self, group: str) -> tuple[str, ...]:
        return (group,) if group == self.by else ()

    def _figures(self, collected: StageGroup, expected: dt.timedelta | None) -> GroupFigures:
        median, p75, p90 = collected.durations.percentiles(0.5, 0.75, 0.9)
        entered = collected.entered
        return GroupFigures(
            entered=entered,
            moved_on=collected.moved_on,
            ended=collected.ended,
            moved_back=collected.moved_back,
            still_there=collected.still_there,
            stalled=collected.stalled,
            stays_measured=len(collected.durations),
            conversion=collected.moved_on / entered if entered else None,
            naive_mean_days=collected.durations.naive_mean(),
            median_days=median,
            p75_days=p75,
            p90_days=p90,
            expected_dwell_days=expected.days if expected is not None else None,
        )


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

# The event log's findings about an event it then skips: no known stage or record id, a time or
# a row that cannot be read, an event older than the record's last one.
UNUSABLE_EVENTS = frozenset({"SL502", "SL505", "SL506", "SL518"})

# Date cells repeat (a million records enter stages on a few thousand days): each distinct
# text is parsed once. Datetimes with times repeat less; the cache is emptied when it grows.
_CACHE_LIMIT = 200_000


class _LadderStays:
    """The stays of records on the ladder, straight from the date cells of a CSV row.

    It does what `DateColumns.stays` does for a record at a stage of the ladder (the tests
    hold the two to the same stays), with day numbers instead of datetimes and without
    building a Stay per stay.
    """

    def __init__(self, report: TimeInStage, positions: dict[str, int]) -> None:
        stages = report.policy.checked.stages
        self.report = report
        # The date column of each stage in this export (bound just before), None if undated.
        dated = report.dates.columns
        self.columns = [
            positions.get(dated[s.name].strip().casefold()) if s.name in dated else None
            for s in stages
        ]
        self.names = [s.name for s in stages]
        self.convert = coercer(types.DATETIME, timezone=report.timezone)
        self.until = (dt.datetime.combine(report.as_of, dt.time(), dt.UTC) - _EPOCH).days
        self.cache: dict[str, float | None] = {"": None}
        by = report.by
        groups = report.groups
        self.targets = [
            [report.figures[s.name][g] for s in stages] for g in groups
        ]  # [group][rank]
        self.limits = [
            [_days(s.expected_dwell((g,) if g == by else ())) for s in stages] for g in groups
        ]

    def day(self, text: str) -> float | None:
        cache = self.cache
        if text in cache:
            return cache[text]
        try:
            when = self.convert(text)
        except CoercionError:
            self.report.skipped["unreadable_dates"] += 1
            return None
        day = (when - _EPOCH).total_seconds() / 86400 if isinstance(when, dt.datetime) else None
        if len(cache) > _CACHE_LIMIT:
            cache.clear()
            cache[""] = None
        cache[text] = day
        return day

    def add_row(self, rank: int, cells: list[str], in_segment: bool) -> None:
        group = 0 if in_segment or len(self.targets) == 1 else 1
        targets, limits = self.targets[group], self.limits[group]
        cache, columns = self.cache, self.columns

        # The stages entered, lowest first, with their day (None: no date column).
        entered: list[tuple[int, float | None]] = []
        for position in range(rank + 1):
            column = columns[position]
            if column is None:
                entered.append((position, None))
                continue
            text = cells[column]
            when = cache[text] if text in cache else self.day(text)
            if when is not None:
                entered.append((position, when))
        if not entered:
            return

        # From the last stay back: each ends on the next dated entry after it.
        end: float | None = None
        position, start = entered[-1]
        target = targets[position]
        target.entered += 1
        target.still_there += 1
        until = self.until
        if start is not None and start <= until:
            days = until - start
            target.durations.censored.append(days)
            limit = limits[position]
            if limit is not None and int(days) > limit:
                target.stalled += 1
        end = start
        for position, start in reversed(entered[:-1]):
            target = targets[position]
            target.entered += 1
            target.moved_on += 1
            if start is not None and end is not None and start <= end:
                target.durations.finished.append(end - start)
            if start is not None:
                end = start


def _days(limit: dt.timedelta | None) -> int | None:
    return None if limit is None else limit.days


def _positions(columns: list[str] | None) -> dict[str, int]:
    positions: dict[str, int] = {}
    for index, column in enumerate(columns or []):
        positions.setdefault(column.strip().casefold(), index)
    return positions


def _json_converter(columns: list[Column]) -> Any:
    def convert(cells: Any) -> tuple[dict[str, Any], None]:
        record: dict[str, Any] = {}
        for column in columns:
            try:
                record[column.field] = column.convert(cells.get(column.key))
            except CoercionError:
                record[column.field] = None
        return record, None

    return convert


def _rounded(value: Any) -> Any:
    return round(value, 2) if isinstance(value, float) else value


__all__ = ["ALL", "GLOBAL", "GroupFigures", "Report", "StageFigures", "TimeInStage"]
