"""One CSV or TSV export on DuckDB (`ExportRun`): the query that numbers, reads and judges its
records, the settled records counted into the summary, and the records left to Python."""

from __future__ import annotations

import codecs
import datetime as dt
import itertools
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stagelang.analysis.model import CheckedPolicy, Criterion, Field
from stagelang.checking import (
    Checker,
    Tally,
    column_positions,
    find_column,
)
from stagelang.compiler import runtime
from stagelang.errors import StagelangError
from stagelang.records.readers import (
    Row,
    Table,
)

if TYPE_CHECKING:
    from sqlglot import exp

    from stagelang.duckdb_engine import DuckdbChecker
from stagelang.duckdb_engine.cells import (
    datetime_pattern,
    full_match,
    plain_test,
    python_strip,
    typed_value,
)

# DuckDB's memory for one export; beyond it, it spills to a temporary folder (and should it
# run out all the same, the Python engine checks the file). 256 MB kept the peak of a whole
# check near 380 MiB from 1,000,000 rows on (460 MiB without), for a tenth more time.
MEMORY_LIMIT = "256MB"

CELL = "stagelang_cell_{}"
ROW = "stagelang_row"
CLEAN = "stagelang_clean"
KEY = "stagelang_key"
REPEATED = "stagelang_repeated"
DATE_VALUE = "stagelang_date_{}"
LINE = "stagelang_line"
KIND = "stagelang_kind_{}"
TEXT = "stagelang_text_{}"
OBJECT = "stagelang_object"


class DuckdbUnavailable(StagelangError):
    """DuckDB cannot check this file; the Python engine will."""


@dataclass(frozen=True)
class Binding:
    """A field and the position of its column in the export's header."""

    name: str
    field: Field
    position: int


def criteria_of(policy: CheckedPolicy) -> list[Criterion]:
    """The policy's criteria in the order the SQL backend numbers them (it needs sqlglot)."""
    from stagelang.compiler.sql import criteria

    return criteria(policy)


# One export on DuckDB ---------------------------------------------------------------------------


@dataclass(slots=True)
class LeftRecord:
    """A record DuckDB leaves to Python: its row, and what SQL found when it could judge it.

    `judged` records hold only plain cells, name a stage and use an id no other record uses:
    SQL's unmet criteria (indexes into `compiler.sql.criteria`) stand, and Python only words
    them. The others go through the whole Python engine.
    """

    row: Row
    judged: bool
    rank: int | None
    segments: tuple[bool, ...]
    unmet: list[int]


class ExportRun:
    """Judges one export on DuckDB: adds the settled records to the checker's summary and
    returns the records left for Python, in file order."""

    def __init__(self, checker: DuckdbChecker, table: Table) -> None:
        self.checker = checker
        self.table = table
        self.policy = checker.policy.checked
        self.bindings = bindings_of(checker, table)
        # The ladder stages the export dates (`entered from`, or a preset's columns), and the
        # position of each one's column.
        dated = dated_stages(checker, table)
        ladder = {stage.name for stage in self.policy.stages}
        self.dated = [(stage, position) for stage, position in dated if stage in ladder]
        # Every date cell goes back to Python with its record, the outcomes' included.
        bound = {b.position for b in self.bindings}
        self.positions = sorted(bound | {position for _, position in dated})
        self.total = 0

    def run(self) -> Iterator[LeftRecord]:
        """Raises DuckdbUnavailable (before any record is reported) when DuckDB cannot serve."""
        import duckdb

        workspace = tempfile.mkdtemp(prefix="stagelang-duckdb-")
        try:
            path = self._utf8_file(workspace)
            connection = duckdb.connect(
                config={"temp_directory": workspace, "memory_limit": MEMORY_LIMIT}
            )
            try:
                connection.execute("SET TimeZone = 'UTC'")
                connection.execute("SET enable_progress_bar = false")
                result = connection.execute(self._query(path).sql(dialect="duckdb"))
                first = self._settle(result)
                left = self._left(path, result, first)
            except duckdb.Error as error:
                raise DuckdbUnavailable(duckdb_reason(error)) from None
            except BaseException:
                connection.close()
                raise
        except BaseException:
            shutil.rmtree(workspace, ignore_errors=True)
            raise

        def closing() -> Iterator[LeftRecord]:
            try:
                yield from left
            finally:
                connection.close()
                shutil.rmtree(workspace, ignore_errors=True)

        return closing()

    # The file DuckDB reads

    def _utf8_file(self, workspace: str) -> str:
        """The export itself when it is UTF-8, else a UTF-8 copy decoded by Python."""
        name = self.table.name
        encoding = codecs.lookup(self.table.encoding).name
        if encoding in ("utf-8", "ascii"):
            return name
        copy = os.path.join(workspace, "export-utf8" + Path(name).suffix)
        try:
            with (
                open(name, encoding=self.table.encoding, newline="") as source,
                open(copy, "w", encoding="utf-8", newline="") as target,
            ):
                shutil.copyfileobj(source, target, 1 << 20)
        except (UnicodeDecodeError, OSError) as error:
            # The Python engine reads it again and names the line it cannot decode.
            raise DuckdbUnavailable(f"the file cannot be decoded as {encoding}: {error}") from None
        return copy

    # The query

    def _query(self, path: str) -> exp.Expr:
        """Settled records grouped by stage and segments (first), then each record left for
        Python with its row number, cells and SQL's judgement, in file order."""
        from sqlglot import exp

        from stagelang.compiler.sql import CONFORMS, Judgement, segment_alias

        today = self.checker.as_of or runtime.today_utc()
        judgement = Judgement(self.policy, "duckdb", today, "TIMESTAMPTZ")
        cells = [CELL.format(position) for position in self.positions]
        # What goes back to Python for a record left to it: its cells (its line, for JSON).
        passed = self._passed(cells)
        extra = [name for name in passed if name not in cells] + self._helpers()

        numbered = self._numbered(path, cells)
        typed = exp.select(
            *columns_named([ROW, *cells, *extra]),
            *self._typed_values(),
            *self._dates(),
            *([exp.alias_(self._key(), KEY, quoted=True)] if self._checks_ids() else []),
        ).from_(quoted_name("stagelang_cells"))
        key = exp.column(KEY, quoted=True)
        repeated = (
            exp.select(key.copy())
            .from_(quoted_name("stagelang_typed"))
            .where(exp.Not(this=exp.Is(this=key.copy(), expression=exp.null())))
            .group_by(key.copy())
            .having(exp.GT(this=exp.Count(this=exp.Star()), expression=exp.Literal.number(1)))
        )
        dates = [DATE_VALUE.format(index) for index in range(len(self.dated))]
        values = unique_names([b.field.column for b in self.bindings]) + dates
        checks_ids = self._checks_ids()
        is_repeated: exp.Expr = exp.false()
        if checks_ids:
            is_repeated = exp.Not(
                this=exp.Is(this=exp.column(KEY, table="r", quoted=True), expression=exp.null())
            )
        marked = exp.select(
            *(exp.column(name, table="t", quoted=True) for name in [ROW, *cells, *extra, *values]),
            exp.alias_(self._clean(), CLEAN, quoted=True),
            exp.alias_(is_repeated, REPEATED, quoted=True),
        ).from_(exp.alias_(quoted_name("stagelang_typed"), "t"))
        if checks_ids:
            marked = marked.join(
                exp.alias_(quoted_name("stagelang_repeated"), "r"),
                on=exp.EQ(
                    this=exp.column(KEY, table="t", quoted=True),
                    expression=exp.column(KEY, table="r", quoted=True),
                ),
                join_type="left",
            )
        judged = judgement.judged(
            exp.alias_(marked.subquery(), "stagelang_marked", quoted=True),
            carry=[ROW, *passed, CLEAN, REPEATED, *dates],
        )

        rank = exp.column("stagelang_rank", quoted=True)
        sound = exp.and_(
            exp.column(CLEAN, quoted=True),
            exp.Not(this=exp.column(REPEATED, quoted=True)),
            self._quiet_history(rank),
        )
        settled = exp.and_(exp.column(CONFORMS, quoted=True), sound.copy())

        def when_settled(expression: exp.Expr, otherwise: exp.Expr | None = None) -> exp.Expr:
            return exp.Case(ifs=[exp.If(this=settled.copy(), true=expression)], default=otherwise)

        def any_value(expression: exp.Expr, name: str) -> exp.Expr:
            value = exp.Anonymous(this="any_value", expressions=[expression])
            return exp.alias_(value, name, quoted=True)

        segments = range(len(self.policy.segments))
        keys = [
            exp.alias_(when_settled(exp.null(), exp.column(ROW, quoted=True)), "row", quoted=True),
            exp.alias_(rank.copy(), "rank", quoted=True),
            *(
                exp.alias_(exp.column(segment_alias(i), quoted=True), f"s{i}", quoted=True)
                for i in segments
            ),
        ]
        # The unmet criteria as bits of integers (62 a column), far cheaper than a list.
        count = len(criteria_of(self.policy))
        masks = [
            bits_of([f"stagelang_unmet_{i}" for i in range(start, min(start + 62, count))])
            for start in range(0, count, 62)
        ]
        judged_by_sql = exp.and_(
            sound.copy(), exp.Not(this=exp.Is(this=rank.copy(), expression=exp.null()))
        )
        outer = (
            exp.select(
                *keys,
                exp.alias_(exp.Count(this=exp.Star()), "records", quoted=True),
                # Every row carries the number of records, to compare with the file's lines.
                exp.alias_(
                    exp.Window(this=exp.Sum(this=exp.Count(this=exp.Star()))), "total", quoted=True
                ),
                # Worked out only for the records left to Python: CASE skips the others.
                any_value(when_settled(exp.false(), judged_by_sql), "judged"),
                *(
                    any_value(when_settled(exp.Literal.number(0), mask), f"unmet{i}")
                    for i, mask in enumerate(masks)
                ),
                *(any_value(self._returned(name), name) for name in passed),
            )
            .from_(exp.alias_(judged.subquery(), "stagelang_judged", quoted=True))
            .group_by(*(exp.Literal.number(i + 1) for i in range(len(keys))))
            .order_by(exp.Ordered(this=exp.column("row", quoted=True), nulls_first=True))
        )
        ctes = [
            # Read twice (for the records, and for their ids) rather than held: scanning the
            # file again costs less than materializing it.
            exp.CTE(this=numbered, alias=cte_alias("stagelang_cells"), materialized=False),
            exp.CTE(this=typed, alias=cte_alias("stagelang_typed")),
        ]
        if checks_ids:
            ctes.append(exp.CTE(this=repeated, alias=cte_alias("stagelang_repeated")))
        outer.set("with_", exp.With(expressions=ctes))
        return outer

    def _numbered(self, path: str, cells: list[str]) -> exp.Select:
        """The file's records: their row numbers and the cells the policy reads."""
        from sqlglot import exp

        width = len(self.table.columns or [])
        return exp.select(row_number_column(), *columns_named(cells)).from_(
            read_csv_call(path, width, self.table.format)
        )

    def _passed(self, cells: list[str]) -> list[str]:
        """The columns that go back to Python with a record left to it."""
        return cells

    def _helpers(self) -> list[str]:
        """Columns `_numbered` adds for `_value` and `_plain` to read, computed once a row."""
        return []

    def _returned(self, cell: str) -> exp.Expr:
        """A cell as it goes back to Python: as Python's csv module reads an empty cell, "",
        where DuckDB has NULL."""
        from sqlglot import exp

        column = exp.column(cell, quoted=True)
        return exp.Coalesce(this=column, expressions=[exp.Literal.string("")])

    def _typed_values(self) -> list[exp.Expr]:
        from sqlglot import exp

        values, seen = [], set()
        for binding in self.bindings:
            if binding.field.column not in seen:  # two fields may read one column
                seen.add(binding.field.column)
                typed = self._value(binding, cell_of(binding))
                values.append(exp.alias_(typed, binding.field.column, quoted=True))
        return values

    def _dates(self) -> list[exp.Expr]:
        """Each dated stage's entered date, as the Python engine reads a date-entered cell."""
        from sqlglot import exp

        return [
            exp.alias_(
                exp.TryCast(
                    this=exp.column(CELL.format(position), quoted=True),
                    to=exp.DataType.build("TIMESTAMPTZ"),
                ),
                DATE_VALUE.format(index),
                quoted=True,
            )
            for index, (_, position) in enumerate(self.dated)
        ]

    def _quiet_history(self, rank: exp.Expr) -> exp.Expr:
        """TRUE for a record whose entered dates surely give no finding (SL510 to SL517).

        The test is stricter than the Python engine's rules, never looser: a record on the
        ladder with a date for every dated stage it reached, in order, none for the stages
        above it, and a stay in its stage within the shortest stay the policy expects there
        in any segment. Any other record (an outcome's, one skipping a stage, a stay that may
        be too long) is judged by the Python engine.
        """
        from sqlglot import exp

        if not self.dated:
            return exp.true()
        checker = self.checker
        until = dt.datetime.combine(checker.as_of or runtime.today_utc(), dt.time(), dt.UTC)
        stages = self.policy.stages
        when = {
            name: exp.column(DATE_VALUE.format(index), quoted=True)
            for index, (name, _) in enumerate(self.dated)
        }
        ifs = []
        for stage in stages:
            reached = [s.name for s in stages[: stage.rank + 1] if s.name in when]
            above = [s.name for s in stages[stage.rank + 1 :] if s.name in when]
            tests: list[exp.Expr] = [is_known(when[name]) for name in reached]
            tests += [
                exp.LTE(this=when[first].copy(), expression=when[second].copy())
                for first, second in itertools.pairwise(reached)
            ]
            tests += [exp.Is(this=when[name].copy(), expression=exp.null()) for name in above]
            limits = (stage.dwell, *dict(stage.segment_dwell).values())
            shortest = min((limit.days for limit in limits if limit is not None), default=None)
            if shortest is not None and stage.name in when:
                # Stalled when (until - entered).days > the limit, that is when entered is
                # at or before until - (limit + 1) days.
                cutoff = until - dt.timedelta(days=shortest + 1)
                earliest = exp.cast(exp.Literal.string(cutoff.isoformat()), "TIMESTAMPTZ")
                tests.append(exp.GT(this=when[stage.name].copy(), expression=earliest))
            quiet = exp.and_(*tests) if tests else exp.true()
            ifs.append(
                exp.If(this=exp.EQ(this=rank.copy(), expression=exp.Literal.number(stage.rank)),
                       true=quiet)
            )  # fmt: skip
        return exp.Coalesce(this=exp.Case(ifs=ifs, default=exp.false()), expressions=[exp.false()])

    def _value(self, binding: Binding, cell: exp.Expr) -> exp.Expr:
        """The field's value from its cell (a cell of text, in a CSV file)."""
        return typed_value(binding.field, cell)

    def _plain(self, binding: Binding, cell: exp.Expr) -> exp.Expr | None:
        return plain_test(binding.field, cell, self.checker.timezone)

    def _text(self, binding: Binding) -> exp.Expr:
        """The cell as text, as the id's text is compared."""
        return cell_of(binding)

    def _clean(self) -> exp.Expr:
        """TRUE when every cell is missing or plain, so that SQL read it as Python does."""
        from sqlglot import exp

        tests = []
        for binding in self.bindings:
            test = self._plain(binding, cell_of(binding, "t"))
            if test is not None:
                tests.append(test)
        pattern = datetime_pattern(self.checker.timezone)
        for _, position in self.dated:
            cell = exp.column(CELL.format(position), table="t", quoted=True)
            missing = exp.Is(this=cell.copy(), expression=exp.null())
            tests.append(exp.or_(missing, full_match(cell, pattern)))
        if not tests:
            return exp.true()
        return exp.Coalesce(this=exp.paren(exp.and_(*tests)), expressions=[exp.false()])

    def _checks_ids(self) -> bool:
        """Whether repeated ids are looked for: the policy has an id field and they are asked."""
        return self.policy.id_field is not None and self.checker.duplicate_ids

    def _key(self) -> exp.Expr:
        """The record id as Python reads it (stripped, empty as missing), for repeated ids."""
        from sqlglot import exp

        binding = next(b for b in self.bindings if b.name == self.policy.id_field)
        key = exp.Nullif(this=python_strip(self._text(binding)), expression=exp.Literal.string(""))
        # Grouping 64-bit hashes is a third faster than grouping text. Two ids that share a
        # hash only send both records to the Python engine, which finds no repeat.
        hashed = exp.Anonymous(this="hash", expressions=[key.copy()])
        missing = exp.Is(this=key, expression=exp.null())
        return exp.Case(ifs=[exp.If(this=missing, true=exp.null())], default=hashed)

    # Reading the result

    def _settle(self, result: Any) -> tuple[Any, ...] | None:
        """Adds the settled groups (first in the result) to the summary; returns the first
        row of a record left for Python, if any."""
        summary = self.checker.summary
        places = [*self.checker.policy.stages, *(o.name for o in self.policy.outcomes)]
        segments = list(self.policy.segments)
        width = len(segments)
        self.rows = fetched_rows(result)
        for row in self.rows:
            self.total = row[3 + width]
            if row[0] is not None:
                return row
            rank, flags, records = row[1], row[2 : 2 + width], row[2 + width]
            summary.conforming += records
            add_settled(summary.by_stage.setdefault(places[rank], Tally()), records)
            for name, inside in zip(segments, flags, strict=True):
                if inside:
                    add_settled(summary.by_segment[name], records)
        return None

    def _left(self, path: str, result: Any, first: tuple[Any, ...] | None) -> Iterator[LeftRecord]:
        """The records left for Python, in file order, with the lines the Python reader gives."""
        width = len(self.table.columns or [])
        # Where each column of the export is among the cells the query returns (-1: not read).
        place = {position: index for index, position in enumerate(self.positions)}
        slots = [place.get(column, -1) for column in range(width)]
        every_column = slots == list(range(width))

        def row_of(number: int, values: tuple[Any, ...]) -> Row:
            if every_column:
                return Row(number, list(values))
            return Row(number, [values[slot] if slot >= 0 else "" for slot in slots])

        left = self._left_records(first, row_of)
        if lines_in(path) == self.total + 1:
            # The header is line 1 and record n is on line n + 1: no blank lines and no line
            # breaks inside cells. The cells DuckDB read are the ones Python would.
            return numbered_as_lines(left)
        return iter(self._read_by_python(list(left)))

    def _left_records(
        self,
        first: tuple[Any, ...] | None,
        row_of: Callable[[int, tuple[Any, ...]], Row | None],
    ) -> Iterator[LeftRecord]:
        """The result's rows of records left to Python (from `first` on), each made a Row by
        `row_of(row number, returned values)`; a None Row (a blank line) is skipped."""
        segments = len(self.policy.segments)
        masks = (len(criteria_of(self.policy)) + 61) // 62
        judged_at = 4 + segments
        skip = judged_at + 1 + masks
        unmet_of: dict[tuple[int, ...], list[int]] = {}
        if first is None:
            return
        for row in itertools.chain((first,), self.rows):
            record = row_of(row[0], row[skip:])
            if record is None:
                continue
            flags = tuple(bool(flag) for flag in row[2 : 2 + segments])
            bits = row[judged_at + 1 : skip]
            unmet = unmet_of.get(bits)
            if unmet is None:
                unmet = unmet_of[bits] = unmet_indexes(bits)
            yield LeftRecord(record, bool(row[judged_at]), row[1], flags, unmet)

    def _read_by_python(self, wanted: list[LeftRecord]) -> list[LeftRecord]:
        """The records with the lines and cells the Python reader gives them, checking that it
        reads as many records as DuckDB did."""
        by_number = {left.row.line: left for left in wanted}
        count = 0
        for row in self.table.rows:
            count += 1
            if row.problem is not None:
                raise DuckdbUnavailable(f"line {row.line}: {row.problem}")
            left = by_number.get(count)
            if left is not None:
                left.row = row
        if count != self.total:
            raise DuckdbUnavailable(
                f"DuckDB read {self.total:,} records where Python reads {count:,}"
            )
        return wanted


def fetched_rows(result: Any) -> Iterator[tuple[Any, ...]]:
    """The rows of a DuckDB result, fetched ten thousand at a time."""
    while batch := result.fetchmany(10_000):
        yield from batch


def unmet_indexes(masks: Sequence[int | None]) -> list[int]:
    """The criteria (indexes into `compiler.sql.criteria`) whose bits are set."""
    found = []
    for place, mask in enumerate(masks):
        bit = 0
        while mask:
            if mask & 1:
                found.append(place * 62 + bit)
            mask >>= 1
            bit += 1
    return found


def bits_of(names: Sequence[str]) -> exp.Expr:
    """The sum of 2**i over the flags (columns) that are TRUE."""
    from sqlglot import exp

    terms: list[exp.Expr] = [
        exp.Case(
            ifs=[exp.If(this=exp.column(name, quoted=True), true=exp.Literal.number(1 << i))],
            default=exp.Literal.number(0),
        )
        for i, name in enumerate(names)
    ]
    total = terms[0]
    for term in terms[1:]:
        total = exp.Add(this=total, expression=term)
    return exp.cast(total, "BIGINT")


def dated_stages(checker: Checker, table: Table) -> list[tuple[str, int]]:
    """The stages and outcomes whose entered dates the export has, with their columns'
    positions."""
    if not checker.dates or table.format == "parquet" or table.columns is None:
        return []
    positions = column_positions(table.columns)
    found = checker.dates.found(lambda column: find_column(positions, column))
    dated = []
    for stage, column in found.items():
        position = find_column(positions, column)
        if position is not None:
            dated.append((stage, position))
    return dated


def is_known(value: exp.Expr) -> exp.Expr:
    from sqlglot import exp

    return exp.Not(this=exp.Is(this=value.copy(), expression=exp.null()))


def numbered_as_lines(left: Iterator[LeftRecord]) -> Iterator[LeftRecord]:
    for record in left:
        record.row.line += 1
        yield record


def count_failing(tally: Tally) -> None:
    tally.records += 1
    tally.not_conforming += 1


def add_settled(tally: Tally, records: int) -> None:
    tally.records += records
    tally.conforming += records


def lines_in(path: str) -> int:
    """The number of lines of a file, the last one counted even without a line end."""
    lines = 0
    last = b""
    with open(path, "rb") as file:
        while chunk := file.read(1 << 22):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return lines + 1 if last and last != b"\n" else lines


def row_number_column() -> exp.Expr:
    from sqlglot import exp

    return exp.alias_(
        exp.Window(this=exp.Anonymous(this="row_number", expressions=[])), ROW, quoted=True
    )


def read_csv_call(path: str, width: int, kind: str) -> exp.Expr:
    """DuckDB's CSV reader over the file: every column as text, named by position, split as
    Python's csv module splits it (double quotes, a doubled quote inside them)."""
    names = [CELL.format(i) for i in range(width)]
    delimiter = "\t" if kind == "tsv" else ","
    return read_as_text(path, names, header=True, delimiter=delimiter, quote='"')


def read_as_text(
    path: str, names: list[str], *, header: bool, delimiter: str, quote: str
) -> exp.Expr:
    """`read_csv` with these column names, every one text, nothing guessed. A ragged row
    stops the query, and the Python engine reads the file instead. So does a line over
    DuckDB's limit of 2 MB (raising the limit slows every read)."""
    from sqlglot import exp

    columns = exp.Struct(
        expressions=[
            exp.PropertyEQ(this=exp.Literal.string(name), expression=exp.Literal.string("VARCHAR"))
            for name in names
        ]
    )

    def option(name: str, value: exp.Expr) -> exp.Expr:
        return exp.EQ(this=exp.column(name), expression=value)

    return exp.Anonymous(
        this="read_csv",
        expressions=[
            exp.Literal.string(path),
            option("columns", columns),
            option("header", exp.Boolean(this=header)),
            option("delim", exp.Literal.string(delimiter)),
            option("quote", exp.Literal.string(quote)),
            option("escape", exp.Literal.string(quote)),
            option("auto_detect", exp.false()),
            option("strict_mode", exp.true()),
        ],
    )


def bindings_of(checker: Checker, table: Table) -> list[Binding]:
    """Each field's column position, found as the Python engine finds it (raising its error
    for missing columns)."""
    columns = checker._bind(table, quiet=True)
    fields = checker.policy.fields
    return [Binding(c.field, fields[c.field], int(c.key)) for c in columns]


def cell_of(binding: Binding, table: str | None = None) -> exp.Expr:
    from sqlglot import exp

    return exp.column(CELL.format(binding.position), table=table, quoted=True)


def columns_named(names: Sequence[str]) -> list[exp.Expr]:
    from sqlglot import exp

    return [exp.column(name, quoted=True) for name in names]


def quoted_name(name: str) -> exp.Expr:
    from sqlglot import exp

    return exp.to_identifier(name, quoted=True)


def cte_alias(name: str) -> exp.Expr:
    from sqlglot import exp

    return exp.TableAlias(this=exp.to_identifier(name, quoted=True))


def unique_names(names: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(names))


def duckdb_reason(error: Exception) -> str:
    reason = (str(error).strip().splitlines() or ["unknown error"])[0]
    return f"DuckDB cannot read it as Python does ({reason})"
