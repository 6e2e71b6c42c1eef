"""Checking exports against a policy: rows in, one result per record and a summary out.

    >>> import stagelang
    >>> policy = stagelang.load("policies/japan.stage")
    >>> for result in policy.check_file("examples/contacts.csv"):   # doctest: +SKIP
    ...     if not result.conforms:
    ...         print(result.line, result.findings[0].message)

The engine reads one row at a time (`stagelang.records.readers`), turns each cell into its
field's type (`stagelang.records.coerce`), asks the compiled policy for a verdict, and turns
everything that is wrong into findings. Every row read is accounted for in the summary:
conforming, not conforming, or unreadable.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from stagelang.analysis.model import Criterion
from stagelang.compiler import runtime
from stagelang.diagnostics import Severity
from stagelang.errors import StagelangError
from stagelang.findings import Finding, json_value
from stagelang.history.dates import DateColumns
from stagelang.policy import Policy
from stagelang.records.coerce import CoercionError, coercer
from stagelang.records.convert import Column, Converted, RowConverter, compile_row_converter
from stagelang.records.readers import InputError, Row, Table, open_table
from stagelang.schema import RecordValidator, SchemaError
from stagelang.suggestions import closest
from stagelang.verdicts import Verdict, format_value

if TYPE_CHECKING:
    from stagelang.waivers import WaivedFinding, Waivers

NO_STAGE = "(no stage)"

log = logging.getLogger("stagelang")


class SchemaMismatch(CoercionError):
    """A JSON value the record schema rejects; it is read as missing, like a bad cell."""

    def __init__(self, problem: SchemaError) -> None:
        super().__init__(problem.value, problem.message)
        self.problem = problem

    def __reduce__(self) -> tuple[Any, ...]:
        return (SchemaMismatch, (self.problem,))


# A record's place is one int, the file's position and the line, so that a million ids fit.
_LINE_BITS = 40
_LINE_MASK = (1 << _LINE_BITS) - 1


class MissingColumnsError(InputError):
    """The export lacks columns the policy needs: said once, before any row is read."""


@dataclass(slots=True)
class RecordResult:
    """One row of an export, checked: its place, its id and stage, and what is wrong with it."""

    file: str
    line: int
    record_id: str | None
    stage: str | None
    segments: tuple[str, ...]
    findings: list[Finding]
    row: Row
    unreadable: bool = False
    # Findings a waiver exempts (stagelang.waivers): reported apart, never dropped.
    waived: list[WaivedFinding] = field(default_factory=list)
    # The typed values the record was checked with (None for a row that could not be read),
    # so that a caller can ask more of the policy, as `stagelang impact` asks `qualify`.
    record: dict[str, Any] | None = None

    @property
    def conforms(self) -> bool:
        """No finding that is an error: a warning (stalled) alone does not fail a record."""
        return not self.findings or all(f.severity is Severity.WARNING for f in self.findings)

    @property
    def conforms_by_waivers(self) -> bool:
        """Conforming only because waivers exempt its errors: warnings alone may be left."""
        return self.conforms and any(w.finding.severity is Severity.ERROR for w in self.waived)

    @property
    def first_unmet_stage(self) -> str | None:
        stages = [f.stage for f in self.findings if f.code == "SL501" and f.stage]
        return stages[0] if stages else None


@dataclass
class Tally:
    """Records, conforming and not conforming, for one stage or one segment."""

    records: int = 0
    conforming: int = 0
    not_conforming: int = 0
    waived: int = 0  # records whose every finding a waiver exempts

    def add(self, conforms: bool, waived: bool = False) -> None:
        self.records += 1
        if waived:
            self.waived += 1
        elif conforms:
            self.conforming += 1
        else:
            self.not_conforming += 1


@dataclass
class Summary:
    """Every record read, accounted for: the totals add up to the rows in the files."""

    files: list[str] = field(default_factory=list)
    conforming: int = 0
    not_conforming: int = 0
    unreadable: int = 0
    by_stage: dict[str, Tally] = field(default_factory=dict)
    by_segment: dict[str, Tally] = field(default_factory=dict)
    findings: Counter[str] = field(default_factory=Counter)
    # With a waivers file: records whose every finding is waived, and waived findings by code.
    waivers: bool = False
    waived: int = 0
    waived_findings: Counter[str] = field(default_factory=Counter)
    # Which engine judged the records: python, duckdb, or "duckdb and python" for several files.
    engine: str = "python"

    @property
    def records(self) -> int:
        return self.conforming + self.not_conforming + self.waived + self.unreadable

    def add(self, result: RecordResult) -> None:
        if result.findings:
            self.findings.update(finding.code for finding in result.findings)
        if result.waived:
            self.waived_findings.update(waived.finding.code for waived in result.waived)
        if result.unreadable:
            self.unreadable += 1
            return
        waived_only = result.conforms_by_waivers
        if waived_only:
            self.waived += 1
        elif result.conforms:
            self.conforming += 1
        else:
            self.not_conforming += 1
        tally = self.by_stage.setdefault(result.stage or NO_STAGE, Tally())
        tally.add(result.conforms, waived_only)
        for segment in result.segments:
            self.by_segment[segment].add(result.conforms, waived_only)

    def to_dict(self) -> dict[str, Any]:
        found = {
            "files": self.files,
            "records": self.records,
            "conforming": self.conforming,
            "not_conforming": self.not_conforming,
            "unreadable": self.unreadable,
            "by_stage": {name: self._tally(tally) for name, tally in self.by_stage.items()},
            "by_segment": {name: self._tally(tally) for name, tally in self.by_segment.items()},
            "findings_by_code": dict(sorted(self.findings.items())),
            "engine": self.engine,
        }
        if self.waivers:  # the keys appear only when waivers were in use
            found["waived"] = self.waived
            found["waived_findings_by_code"] = dict(sorted(self.waived_findings.items()))
        return found

    def _tally(self, tally: Tally) -> dict[str, int]:
        counts = vars(tally).copy()
        if not self.waivers:
            del counts["waived"]
        return counts


class Checker:
    """Checks the records of one or more exports against a policy, keeping a running summary."""

    def __init__(
        self,
        policy: Policy,
        *,
        timezone: dt.tzinfo = dt.UTC,
        as_of: dt.date | None = None,
        duplicate_ids: bool = True,
        waivers: Waivers | None = None,
    ) -> None:
        self.policy = policy
        self.duplicate_ids = duplicate_ids
        self.waivers = waivers
        self.timezone = timezone
        self.as_of = as_of
        self.summary = Summary(
            by_stage={
                stage: Tally()
                for stage in (*policy.stages, *(o.name for o in policy.checked.outcomes))
            },
            by_segment={segment: Tally() for segment in policy.segments},
            waivers=waivers is not None,
        )
        self._seen_ids: dict[str, int] = {}
        self._validator: RecordValidator | None = None
        self._files: list[str] = []
        self.id_field = policy.checked.id_field
        self._converters = {
            name: coercer(declared.type, separator=declared.separator, timezone=timezone)
            for name, declared in policy.fields.items()
        }
        # Date-entered columns (`entered from "..."`): transitions and stalls, record by record.
        self.dates = DateColumns(
            policy.checked, as_of=as_of or runtime.today_utc(), timezone=timezone
        )

    def check_files(
        self, names: Sequence[str], *, input_format: str | None = None, encoding: str | None = None
    ) -> Iterator[RecordResult]:
        """Check every record of every file in turn. Raises InputError for an unreadable file."""
        for name in names:
            with open_table(name, input_format=input_format, encoding=encoding) as table:
                yield from self.check_table(table)

    def check_table(self, table: Table) -> Iterator[RecordResult]:
        """Check every record of an open export."""
        file = table.name
        self.summary.files.append(file)
        columns = self._bind(table)
        if table.columns is None:
            convert = json_converter(columns)
            # Parquet values come typed from DuckDB, not as JSON: the JSON schema is not theirs.
            validate = None if table.format == "parquet" else self._record_validator().errors
        else:
            convert = compile_row_converter(columns)
            validate = None
        dates_of = None
        positions = column_positions(table.columns or [])
        # Stage history is not read from Parquet files (stagelang.duckdb_engine says so).
        if (
            self.dates
            and table.format != "parquet"
            and (
                table.columns is None
                or self.dates.found(lambda column: find_column(positions, column))
            )
        ):
            dates_of = self.dates.bind(table, lambda column: find_column(positions, column))
        self._files.append(file)
        place_of_file = (len(self._files) - 1) << _LINE_BITS

        # The loop below runs once per record of exports with millions of rows: what it uses
        # is held in locals, and a record that conforms takes the shortest way through.
        check, segments_of, as_of = self.policy.check, self.policy.segments_of, self.as_of
        id_field, seen = self.id_field, self._seen_ids
        # Finding repeated ids means remembering every id: about 110 bytes a record.
        remember = self.duplicate_ids
        summary = self.summary
        by_stage, by_segment = summary.by_stage, summary.by_segment
        for row in table.rows:
            cells = row.cells
            if cells is None or row.problem is not None:
                result = self._unreadable(file, row)
            else:
                record, bad = convert(cells)
                if validate is not None:
                    shape = list(validate(cells))  # type: ignore[arg-type]
                    if shape:
                        bad = self._schema_problems(shape, bad)
                        for name in bad:
                            record[name] = None
                record_id = record.get(id_field) if id_field else None
                if record_id is not None and record_id.__class__ is not str:
                    record_id = str(record_id)
                verdict = check(record, today=as_of)
                stage = verdict.stage
                segments = segments_of(record, today=as_of) if stage else ()
                place = place_of_file | row.line
                if record_id is None or not remember:
                    first = place
                else:
                    first = seen.setdefault(record_id, place)
                history = None
                if dates_of is not None and stage is not None:
                    history = self._history(file, row, record_id, stage, segments, dates_of)
                if (
                    verdict.conforms
                    and stage is not None
                    and bad is None
                    and first == place
                    and not history
                ):
                    summary.conforming += 1
                    tally = by_stage[stage]
                    tally.records += 1
                    tally.conforming += 1
                    for segment in segments:
                        tally = by_segment[segment]
                        tally.records += 1
                        tally.conforming += 1
                    yield RecordResult(
                        file, row.line, record_id, stage, segments, [], row, record=record
                    )
                    continue
                findings = self._findings(file, row.line, record, bad, verdict, record_id, first)
                if history:
                    findings.extend(history)
                result = RecordResult(
                    file, row.line, record_id, stage, segments, findings, row, record=record
                )
                if self.waivers is not None:
                    result.findings, result.waived = self.waivers.split(record_id, record, findings)
            summary.add(result)
            yield result

    def _record_validator(self) -> RecordValidator:
        if self._validator is None:
            self._validator = RecordValidator(self.policy)
        return self._validator

    def _schema_problems(
        self, errors: list[SchemaError], bad: dict[str, CoercionError] | None
    ) -> dict[str, CoercionError]:
        """The record schema's errors in place of the coercers' for the same fields: the
        schema's say where in the value the problem is."""
        by_column = {f.column: name for name, f in self.policy.fields.items()}
        problems = dict(bad or {})
        for error in errors:
            name = by_column.get(error.column)
            if name is not None:
                problems[name] = SchemaMismatch(error)
        return problems

    # Columns

    def _bind(self, table: Table, quiet: bool = False) -> list[Column]:
        fields = self.policy.fields
        if table.columns is None:  # JSON: each object names its own keys
            return [
                Column(name, f.type, f.column, self._converters[name]) for name, f in fields.items()
            ]

        positions = column_positions(table.columns)
        columns: list[Column] = []
        missing = self._missing_date_columns(table.name, table.columns, positions, quiet)
        for name, declared in fields.items():
            index = positions.get(declared.column)
            if index is None:
                index = positions.get(declared.column.strip().casefold())
            if index is None:
                missing.append(_missing_column(name, declared.column, table.columns))
                continue
            columns.append(Column(name, declared.type, index, self._converters[name]))
        if missing:
            raise MissingColumnsError(
                table.name,
                "the export lacks columns the policy needs:\n  "
                + "\n  ".join(missing)
                + '\nrename the columns, or map fields to them with from "Column name"',
                1,
            )
        return columns

    def _missing_date_columns(
        self, name: str, headers: list[str], positions: dict[str, int], quiet: bool = False
    ) -> list[str]:
        """Date columns the export lacks. An export with none of them is a snapshot without
        history: it is checked all the same, and a note says that history was not."""
        if not self.dates:
            return []
        if not self.dates.found(lambda column: find_column(positions, column)):
            if quiet:
                return []
            log.warning(
                "stagelang: %s has no date-entered columns (%s); stage history is not checked "
                "in it",
                name,
                ", ".join(f'"{candidates[0]}"' for candidates in self.dates.candidates.values()),
            )
            return []
        absent = self.dates.missing(lambda column: find_column(positions, column))
        return [_missing_column(f"entered {stage}", column, headers) for stage, column in absent]

    def finish(self) -> list[Finding]:
        """After the last file: the findings about the waivers themselves (expired, unused),
        counted in the summary."""
        if self.waivers is None:
            return []
        found = self.waivers.closing_findings()
        self.summary.findings.update(finding.code for finding in found)
        return found

    # Rows

    def _history(
        self,
        file: str,
        row: Row,
        record_id: str | None,
        stage: str,
        segments: tuple[str, ...],
        dates_of: RowConverter,
    ) -> list[Finding]:
        """What the record's entered dates say: unreadable dates, transitions, a stall."""
        cells = row.cells
        if isinstance(cells, dict) and not self.dates.carried_by(cells):
            return []  # a JSON object without history: a snapshot, checked as such
        dates, bad = dates_of(row.cells)
        findings = [
            Finding(
                "SL505",
                f'column "{self.dates.columns[name]}" holds {_shown(error.value)}, which is not '
                f"{error.expected}" + _hint(error.value),
                file,
                row.line,
                record_id,
                values={name: error.value},
                column=self.dates.columns[name],
            )
            for name, error in (bad or {}).items()
        ]
        for problem in self.dates.problems(stage, segments, dates):
            findings.append(
                Finding(
                    problem.code,
                    problem.message,
                    file,
                    row.line,
                    record_id,
                    stage=problem.stage,
                    values=problem.values,
                )
            )
        return findings

    def _unreadable(self, file: str, row: Row) -> RecordResult:
        finding = Finding("SL506", f"the row cannot be read: {row.problem}", file, row.line)
        return RecordResult(file, row.line, None, None, (), [finding], row, unreadable=True)

    def _findings(
        self,
        file: str,
        line: int,
        record: dict[str, Any],
        bad: dict[str, CoercionError] | None,
        verdict: Verdict,
        record_id: str | None,
        first: int,
    ) -> list[Finding]:
        """Everything wrong with a record that does not conform, in the order it is read."""
        findings = [
            self._bad_value(file, line, record_id, name, error)
            for name, error in (bad or {}).items()
        ]
        if verdict.problem:
            code = "SL503" if record.get(self.policy.checked.stage_field) is None else "SL502"
            findings.append(Finding(code, verdict.problem, file, line, record_id))
        if bad and verdict.stage:
            findings.extend(self._unreadable_criteria(file, line, record_id, record, bad))
        elif not verdict.conforms and verdict.stage:
            # The reader built the record with the declared types: no need to check them again.
            unmet = self.policy.unmet_criteria(record, today=self.as_of, check_types=False)
            findings.extend(
                unmet_finding(file, line, record_id, u.criterion, u.values, u.message())
                for u in unmet
            )
        if record_id is not None and first != ((len(self._files) - 1) << _LINE_BITS | line):
            findings.append(self._duplicate(file, line, record_id, first))
        return findings

    def _bad_value(
        self, file: str, line: int, record_id: str | None, name: str, error: CoercionError
    ) -> Finding:
        column = self.policy.fields[name].column
        if isinstance(error, SchemaMismatch):
            return Finding(
                "SL507",
                error.problem.message,
                file,
                line,
                record_id,
                values={error.problem.path: error.problem.value},
                column=column,
            )
        where = f'column "{column}"' if column != name else f'"{name}"'
        if error.cell is not None:  # one item of a list
            message = (
                f"{where} holds {_shown(error.cell)}, whose item {_shown(error.value)} is not "
                f"{error.expected}"
            )
        else:
            message = f"{where} holds {_shown(error.value)}, which is not {error.expected}"
            message += _hint(error.value)
        return Finding(
            "SL505",
            message,
            file,
            line,
            record_id,
            values={name: error.cell if error.cell is not None else error.value},
            column=column,
        )

    def _unreadable_criteria(
        self,
        file: str,
        line: int,
        record_id: str | None,
        record: dict[str, Any],
        bad: dict[str, CoercionError],
    ) -> Iterable[Finding]:
        """The unmet criteria of a record holding values that could not be read.

        A criterion that reads such a value is unmet because of it: the value was set to
        missing for evaluation, but `budget is missing` must not count as met, nor `budget > 0`
        be reported as "missing", just because the cell held "TBD".
        """
        found = self.policy.unmet_criteria(record, today=self.as_of, check_types=False)
        unmet = {id(u.criterion): u for u in found}
        for criterion in self.policy.criteria_for(record, today=self.as_of):
            unreadable = [name for name in criterion.fields if name in bad]
            if unreadable:
                values = {
                    name: bad[name].value if name in bad else record.get(name)
                    for name in criterion.fields
                }
                facts = ", ".join(f"{name} could not be read" for name in unreadable)
                message = f"{criterion.describe()}, but {facts}"
                yield unmet_finding(file, line, record_id, criterion, values, message)
            elif id(criterion) in unmet:
                failed = unmet[id(criterion)]
                yield unmet_finding(
                    file, line, record_id, criterion, failed.values, failed.message()
                )

    def _duplicate(self, file: str, line: int, record_id: str, first: int) -> Finding:
        first_file, first_line = self._files[first >> _LINE_BITS], first & _LINE_MASK
        where = f"line {first_line}" if first_file == file else f"{first_file} line {first_line}"
        return Finding(
            "SL504", f'record id "{record_id}" is also used on {where}', file, line, record_id
        )


def unmet_finding(
    file: str,
    line: int,
    record_id: str | None,
    criterion: Criterion,
    values: dict[str, Any] | Any,
    message: str,
) -> Finding:
    return Finding(
        "SL501",
        message,
        file,
        line,
        record_id,
        stage=criterion.stage,
        clause=criterion.text,
        criterion=criterion.describe(),
        values=dict(values),
    )


def column_positions(columns: list[str]) -> dict[str, int]:
    """Header positions by exact name, and by folded name where that is unambiguous."""
    positions: dict[str, int] = {}
    folded: dict[str, list[int]] = {}
    for index, column in enumerate(columns):
        positions.setdefault(column, index)
        folded.setdefault(column.strip().casefold(), []).append(index)
    for key, indexes in folded.items():
        if len(indexes) == 1:
            positions.setdefault(key, indexes[0])
    return positions


def find_column(positions: dict[str, int], column: str) -> int | None:
    index = positions.get(column)
    return positions.get(column.strip().casefold()) if index is None else index


def _missing_column(field: str, column: str, headers: list[str]) -> str:
    looked_for = f'column "{column}"' + (f' (field "{field}")' if column != field else "")
    suggestion = closest(column, headers)
    return looked_for + (f'; closest header: "{suggestion}"' if suggestion else "")


def json_converter(columns: list[Column]) -> RowConverter:
    """Converts a JSON object's values; the keys it lacks are missing values."""

    def convert(cells: Any) -> Converted:
        record: dict[str, Any] = {}
        bad: dict[str, CoercionError] | None = None
        for column in columns:
            try:
                record[column.field] = column.convert(cells.get(column.key))
            except CoercionError as error:
                record[column.field] = None
                bad = bad or {}
                bad[column.field] = error
        return record, bad

    return convert


def _hint(value: object) -> str:
    """Advice for the bad values exports produce most often."""
    if isinstance(value, str) and _SLASHED_DAY_FIRST_OR_MONTH_FIRST.fullmatch(value.strip()):
        return (
            " (a date written day-first or month-first is ambiguous: 2/1/2018 could be 1"
            " February or 2 January; export dates as YEAR-MONTH-DAY)"
        )
    return ""


_SLASHED_DAY_FIRST_OR_MONTH_FIRST = re.compile(r"\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}")


def _shown(value: object) -> str:
    if isinstance(value, str):
        return format_value(value)
    return json.dumps(json_value(value), ensure_ascii=False, default=str)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


__all__ = [
    "NO_STAGE",
    "Checker",
    "InputError",
    "MissingColumnsError",
    "RecordResult",
    "StagelangError",
    "Summary",
    "Tally",
]
