"""Checking large exports on embedded DuckDB: `stagelang check --engine duckdb`.

The Python engine turns every cell into a value and asks the compiled policy about every
record. In a large export most records conform and are written plainly, so this engine splits
the work:

1. DuckDB reads the file, every cell as text, numbers its rows and judges every record with the
   policy's SQL (`stagelang.compiler.sql`). It reads a cell itself only when the cell is
   written in a plain form that both engines read alike (`2026-12-03`, `12`, `true`, text
   without surrounding spaces); any other cell makes its record *unsettled*.
2. Records that conform, hold only plain cells and use an id no other record uses are counted
   in SQL, by stage and segment. They have no findings, so nothing else is asked of them.
3. Every other record comes back in file order with its cells and line. One that SQL could
   judge (plain cells, a stage, an id of its own) only has its unmet criteria worded, with the
   values the Python reader gives; any other (unsettled, an unknown stage, a repeated id) goes
   through the Python engine itself (`Checker.check_table`), which reads the export quirks
   (Japanese dates, full-width digits, 円) and repeated ids. Waivers apply to both alike.

So both engines give the same findings and summary by construction, wherever DuckDB splits
the file into the same rows and cells as Python's csv module; tests/test_duckdb_engine.py
checks that with generated exports. A file DuckDB cannot split (a ragged row, a stray quote,
a cell DuckDB cannot decode) is checked by the Python engine instead, which names the row.

Parquet files, which the Python engine does not read, are DuckDB's alone: their columns keep
their types (a text column is read as a CSV cell is), a record's place is its row number, and
stage history is not read from them.

Stage history: DuckDB reads the entered dates too, and a record is settled only when its dates
surely give no finding (`_FileRun._quiet_history`); the others go to the Python engine.

JSON Lines: DuckDB reads each line as text and takes the values out by key (`_JsonLinesRun`);
a record left to Python is its line, read by the Python reader's own function. `--engine auto`
keeps JSON Lines in Python, which is about as quick.

What this engine leaves to the Python engine, with a note on standard error: standard input,
JSON arrays, JSON Lines whose policy reads stage history, ids that are not text, and several
exports at once while repeated ids are checked (an id may repeat across files). Files in
encodings other than UTF-8 are decoded by Python into a temporary UTF-8 copy.

DuckDB works within MEMORY_LIMIT and spills to a temporary folder beyond it. Lines are taken
from DuckDB's row numbers when the file has one line per record; otherwise (blank lines, line
breaks inside cells) the Python reader reads the file again for them, and the records left to
Python are then held in memory until that pass ends.
"""

from __future__ import annotations

import codecs
import dataclasses
import datetime as dt
import itertools
import logging
import os
import shutil
import tempfile
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stagelang.analysis import types
from stagelang.analysis.model import Criterion, Field
from stagelang.checking import (
    Checker,
    RecordResult,
    Tally,
    column_positions,
    find_column,
    json_converter,
    unmet_finding,
)
from stagelang.compiler import runtime
from stagelang.errors import StagelangError
from stagelang.policy import Policy
from stagelang.records.convert import RowConverter, compile_row_converter
from stagelang.records.readers import (
    InputError,
    Row,
    Table,
    format_of,
    json_line,
    open_table,
)
from stagelang.verdicts import Unmet
from stagelang.warehouse import MissingExtraError

if TYPE_CHECKING:
    from sqlglot import exp

log = logging.getLogger("stagelang")

ENGINES = ("auto", "python", "duckdb")  # the choices of `stagelang check --engine`

# `--engine auto` hands a file to DuckDB from this size on: below it, importing DuckDB and
# sqlglot and planning the query cost more than the Python engine spends. The two crossed
# between 5 and 8.5 MiB of a HubSpot-like export (bench/bench_engine_threshold.py, see
# docs/performance.md).
AUTO_THRESHOLD_BYTES = 8 * 2**20

# DuckDB's memory for one export; beyond it, it spills to a temporary folder (and should it
# run out all the same, the Python engine checks the file). 256 MB kept the peak of a whole
# `check` near 280 MiB at 1,000,000 rows for a tenth more time than no limit.
MEMORY_LIMIT = "256MB"

# The characters Python's str.strip() removes (tests/test_duckdb_engine.py holds it to that).
_SPACE_CHARACTERS = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004"
    "\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)

# The spellings of true and false the Python engine reads without tidying them first.
_TRUE = ("true", "yes", "y", "1", "はい")
_FALSE = ("false", "no", "n", "0", "いいえ")

# Plain forms read in SQL. Anything else (signs, commas, 円, full-width digits, slashed and
# Japanese dates, offsets other than UTC) is left to the Python coercers.
_DECIMAL = r"-?[0-9]{1,27}(\.[0-9]{1,9})?"
_DATE = r"[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}"
_TIME = r"[T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{3}|\.[0-9]{6})?)?"
_UTC_SUFFIX = r"(Z|\+00:00)"

_CELL = "stagelang_cell_{}"
_ROW = "stagelang_row"
_CLEAN = "stagelang_clean"
_KEY = "stagelang_key"
_REPEATED = "stagelang_repeated"
_DATE_VALUE = "stagelang_date_{}"
_LINE = "stagelang_line"
_KIND = "stagelang_kind_{}"
_TEXT = "stagelang_text_{}"
_OBJECT = "stagelang_object"


class DuckdbUnavailable(StagelangError):
    """DuckDB cannot check this file; the Python engine will."""


@dataclass(frozen=True)
class _Binding:
    """A field and the position of its column in the export's header."""

    name: str
    field: Field
    position: int


class DuckdbChecker(Checker):
    """A `Checker` that judges what it can of each export on DuckDB (see the module's text).

    `engine="auto"` uses DuckDB only for files of at least `threshold` bytes, and only when
    the duckdb and sqlglot packages are installed; `engine="duckdb"` uses it whenever it can
    serve a file and raises MissingExtraError when the packages are missing.
    """

    def __init__(
        self,
        policy: Policy,
        *,
        engine: str = "duckdb",
        threshold: int = AUTO_THRESHOLD_BYTES,
        **options: Any,
    ) -> None:
        super().__init__(policy, **options)
        if engine not in ("auto", "duckdb"):
            raise ValueError(f"engine must be auto or duckdb, not {engine!r}")
        self.engine = engine
        self.threshold = threshold
        self.available = _duckdb_installed()
        self._engines: set[str] = set()
        checked = self.policy.checked
        self._places = [*self.policy.stages, *(outcome.name for outcome in checked.outcomes)]
        self._criteria: list[Criterion] = []
        if self.available:
            from stagelang.compiler.sql import criteria

            self._criteria = criteria(checked)
        if engine == "duckdb" and not self.available:
            raise MissingExtraError("duckdb and sqlglot", "sql", "--engine duckdb")

    def check_files(
        self, names: Sequence[str], *, input_format: str | None = None, encoding: str | None = None
    ) -> Iterator[RecordResult]:
        for name in names:
            if format_of(name, input_format) == "parquet" and self.available:
                yield from self._check_parquet(name, several=len(names) > 1)
                continue
            with open_table(name, input_format=input_format, encoding=encoding) as table:
                reason = self._unsuitable(table, several=len(names) > 1)
                if reason is None:
                    try:
                        run = _JsonLinesRun if table.format == "jsonl" else _FileRun
                        left = run(self, table).run()
                    except DuckdbUnavailable as error:
                        reason = str(error)
                    else:
                        self._used("duckdb")
                        yield from self._check_left(table, left)
                        continue
                    # DuckDB may have read the table already: the Python engine opens it anew
                    # (a file, never standard input, which DuckDB does not take).
                    table.close()
                    table = open_table(name, input_format=input_format, encoding=encoding)
                self._note(name, reason)
                self._used("python")
                with table:
                    yield from self.check_table(table)

    def _check_parquet(self, name: str, several: bool) -> Iterator[RecordResult]:
        """A Parquet file, which only DuckDB reads: its records in row order."""
        if several and self.duplicate_ids:
            raise InputError(
                name,
                "repeated ids across several files are found by the Python engine, which does "
                "not read Parquet: check the Parquet file alone, or add --no-duplicate-ids",
            )
        run = _ParquetRun(self, name)
        table = Table(name, "parquet", "utf-8", None, iter(()))
        if self.dates and self.dates.found(lambda column: column in run.types or None):
            log.warning(
                "stagelang: %s: stage history (entered dates) is not checked in Parquet files",
                name,
            )
        try:
            left = run.run()
        except DuckdbUnavailable as error:
            raise InputError(name, str(error)) from None
        self._used("duckdb")
        yield from self._check_left(table, left)

    def _note(self, name: str, reason: str) -> None:
        # Asked for DuckDB, a user is told why it did not run; with auto the summary names
        # the engine, and the reason goes to programs that log at INFO level.
        report = log.warning if self.engine == "duckdb" else log.info
        report("stagelang: %s: checked with the Python engine: %s", name, reason)

    def _check_left(self, table: Table, left: Iterator[_Left]) -> Iterator[RecordResult]:
        """The results of the records DuckDB left, in file order.

        A record SQL judged is worded here from SQL's unmet criteria; any other goes through
        `check_table` one row at a time, so that the Python engine's state (ids seen, the
        summary) is the one it keeps for a whole export.
        """
        pending: deque[Row] = deque()

        def feed() -> Iterator[Row]:
            while pending:
                yield pending.popleft()

        by_python = self.check_table(
            Table(table.name, table.format, table.encoding, table.columns, feed())
        )
        columns = self._bind(table, quiet=True)
        convert = compile_row_converter(columns) if table.columns else json_converter(columns)
        summary = self.summary
        for record in left:
            result = self._judged(table.name, record, convert) if record.judged else None
            if result is None:
                pending.append(record.row)
                result = next(by_python)
            elif result.waived:
                summary.add(result)
            else:
                # Summary.add, for a record whose findings are all unmet criteria (errors).
                summary.findings["SL501"] += len(result.findings)
                summary.not_conforming += 1
                _count_failing(summary.by_stage[result.stage or ""])
                for segment in result.segments:
                    _count_failing(summary.by_segment[segment])
            yield result
        # Ends check_table: with nothing pending, its loop over the rows stops.
        for result in by_python:
            yield result

    def _judged(self, file: str, left: _Left, convert: RowConverter) -> RecordResult | None:
        """The result of a record SQL judged, its findings worded as the Python engine words
        them; None if Python reads a cell otherwise than SQL did (then Python judges it)."""
        row = left.row
        record, bad = convert(row.cells)
        if bad is not None or left.rank is None:
            return None
        policy = self.policy.checked
        id_field = policy.id_field
        record_id = record.get(id_field) if id_field else None
        findings = []
        for index in left.unmet:
            criterion = self._criteria[index]
            values = {name: runtime.known(record.get(name)) for name in criterion.fields}
            message = Unmet(criterion, values, None).message()
            findings.append(unmet_finding(file, row.line, record_id, criterion, values, message))
        segments = tuple(
            name for name, inside in zip(policy.segments, left.segments, strict=True) if inside
        )
        result = RecordResult(
            file, row.line, record_id, self._places[left.rank], segments, findings, row,
            record=record,
        )  # fmt: skip
        if self.waivers is not None:
            result.findings, result.waived = self.waivers.split(record_id, record, findings)
        return result

    def _used(self, engine: str) -> None:
        self._engines.add(engine)
        self.summary.engine = " and ".join(sorted(self._engines))

    def _unsuitable(self, table: Table, several: bool) -> str | None:
        """Why DuckDB should not check this export, or None when it should."""
        if not self.available:
            return "the duckdb and sqlglot packages are not installed (the sql extra)"
        if table.name == "-":
            return "standard input is read by the Python engine"
        if table.format == "json":
            return (
                "DuckDB checks CSV, TSV and JSON Lines; a JSON array is read by the Python engine"
            )
        if table.format == "jsonl" and self.dates:
            return "the stage history of JSON records is read by the Python engine"
        if table.format == "jsonl" and self.engine == "auto":
            # Measured on 300,000 records: 4.4 s on DuckDB against 4.9 s in Python, too close
            # to be worth a second engine by default.
            return "JSON Lines are about as quick in Python"
        if self.engine == "auto" and os.path.getsize(table.name) < self.threshold:
            return f"the file is under {self.threshold:,} bytes, where Python is as quick"
        if several and self.duplicate_ids:
            return (
                "an id may repeat across several exports, which the Python engine checks "
                "(--no-duplicate-ids lets DuckDB check each file)"
            )
        policy = self.policy.checked
        if policy.id_field is not None and policy.fields[policy.id_field].type != types.STRING:
            return "the id field is not text, and repeated ids are found by the Python engine"
        kinds: dict[str, types.Type] = {}
        for declared in policy.fields.values():
            if kinds.setdefault(declared.column, declared.type) != declared.type:
                return f'two fields of different types read column "{declared.column}"'
        if any(f.column.startswith("stagelang_") for f in policy.fields.values()):
            return 'a column name starts with "stagelang_", which the SQL engine keeps for itself'
        return None


def criteria_of(policy: Any) -> list[Criterion]:
    from stagelang.compiler.sql import criteria

    return criteria(policy)


def _duckdb_installed() -> bool:
    try:
        import duckdb  # noqa: F401
        import sqlglot  # noqa: F401
    except ImportError:
        return False
    return True


# One export on DuckDB ---------------------------------------------------------------------------


@dataclass(slots=True)
class _Left:
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


class _FileRun:
    """Judges one export on DuckDB: adds the settled records to the checker's summary and
    returns the records left for Python, in file order."""

    def __init__(self, checker: DuckdbChecker, table: Table) -> None:
        self.checker = checker
        self.table = table
        self.policy = checker.policy.checked
        self.bindings = _bindings(checker, table)
        # The ladder stages the export dates (`entered from`, or a preset's columns), and the
        # position of each one's column.
        dated = _dated_stages(checker, table)
        ladder = {stage.name for stage in self.policy.stages}
        self.dated = [(stage, position) for stage, position in dated if stage in ladder]
        # Every date cell goes back to Python with its record, the outcomes' included.
        bound = {b.position for b in self.bindings}
        self.positions = sorted(bound | {position for _, position in dated})
        self.total = 0

    def run(self) -> Iterator[_Left]:
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
                raise DuckdbUnavailable(_duckdb_reason(error)) from None
            except BaseException:
                connection.close()
                raise
        except BaseException:
            shutil.rmtree(workspace, ignore_errors=True)
            raise

        def closing() -> Iterator[_Left]:
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
        cells = [_CELL.format(position) for position in self.positions]
        # What goes back to Python for a record left to it: its cells (its line, for JSON).
        passed = self._passed(cells)
        extra = [name for name in passed if name not in cells] + self._helpers()

        numbered = self._numbered(path, cells)
        typed = exp.select(
            *_columns([_ROW, *cells, *extra]),
            *self._typed_values(),
            *self._dates(),
            exp.alias_(self._key(), _KEY, quoted=True),
        ).from_(_name("stagelang_cells"))
        key = exp.column(_KEY, quoted=True)
        repeated = (
            exp.select(key.copy())
            .from_(_name("stagelang_typed"))
            .where(exp.Not(this=exp.Is(this=key.copy(), expression=exp.null())))
            .group_by(key.copy())
            .having(exp.GT(this=exp.Count(this=exp.Star()), expression=exp.Literal.number(1)))
        )
        dates = [_DATE_VALUE.format(index) for index in range(len(self.dated))]
        values = _unique_names([b.field.column for b in self.bindings]) + dates
        is_repeated = exp.Not(
            this=exp.Is(this=exp.column(_KEY, table="r", quoted=True), expression=exp.null())
        )
        marked = (
            exp.select(
                *(
                    exp.column(name, table="t", quoted=True)
                    for name in [_ROW, *cells, *extra, *values]
                ),
                exp.alias_(self._clean(), _CLEAN, quoted=True),
                exp.alias_(is_repeated, _REPEATED, quoted=True),
            )
            .from_(exp.alias_(_name("stagelang_typed"), "t"))
            .join(
                exp.alias_(_name("stagelang_repeated"), "r"),
                on=exp.EQ(
                    this=exp.column(_KEY, table="t", quoted=True),
                    expression=exp.column(_KEY, table="r", quoted=True),
                ),
                join_type="left",
            )
        )
        judged = judgement.judged(
            exp.alias_(marked.subquery(), "stagelang_marked", quoted=True),
            carry=[_ROW, *passed, _CLEAN, _REPEATED, *dates],
        )

        rank = exp.column("stagelang_rank", quoted=True)
        sound = exp.and_(
            exp.column(_CLEAN, quoted=True),
            exp.Not(this=exp.column(_REPEATED, quoted=True)),
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
            exp.alias_(when_settled(exp.null(), exp.column(_ROW, quoted=True)), "row", quoted=True),
            exp.alias_(rank.copy(), "rank", quoted=True),
            *(
                exp.alias_(exp.column(segment_alias(i), quoted=True), f"s{i}", quoted=True)
                for i in segments
            ),
        ]
        # The unmet criteria as bits of integers (62 a column), far cheaper than a list.
        count = len(criteria_of(self.policy))
        masks = [
            _bits([f"stagelang_unmet_{i}" for i in range(start, min(start + 62, count))])
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
            exp.CTE(this=numbered, alias=_alias("stagelang_cells"), materialized=False),
            exp.CTE(this=typed, alias=_alias("stagelang_typed")),
            exp.CTE(this=repeated, alias=_alias("stagelang_repeated")),
        ]
        outer.set("with_", exp.With(expressions=ctes))
        return outer

    def _numbered(self, path: str, cells: list[str]) -> exp.Select:
        """The file's records: their row numbers and the cells the policy reads."""
        from sqlglot import exp

        width = len(self.table.columns or [])
        return exp.select(_row_number(), *_columns(cells)).from_(
            _read_csv(path, width, self.table.format)
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
                typed = self._value(binding, _cell(binding))
                values.append(exp.alias_(typed, binding.field.column, quoted=True))
        return values

    def _dates(self) -> list[exp.Expr]:
        """Each dated stage's entered date, as the Python engine reads a date-entered cell."""
        from sqlglot import exp

        return [
            exp.alias_(
                exp.TryCast(
                    this=exp.column(_CELL.format(position), quoted=True),
                    to=exp.DataType.build("TIMESTAMPTZ"),
                ),
                _DATE_VALUE.format(index),
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
            name: exp.column(_DATE_VALUE.format(index), quoted=True)
            for index, (name, _) in enumerate(self.dated)
        }
        ifs = []
        for stage in stages:
            reached = [s.name for s in stages[: stage.rank + 1] if s.name in when]
            above = [s.name for s in stages[stage.rank + 1 :] if s.name in when]
            tests: list[exp.Expr] = [_known(when[name]) for name in reached]
            tests += [
                exp.LTE(this=when[first].copy(), expression=when[second].copy())
                for first, second in itertools.pairwise(reached)
            ]
            tests += [exp.Is(this=when[name].copy(), expression=exp.null()) for name in above]
            limits = [limit for limit in (stage.dwell, *dict(stage.segment_dwell).values())]
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

    def _value(self, binding: _Binding, cell: exp.Expr) -> exp.Expr:
        """The field's value from its cell (a cell of text, in a CSV file)."""
        return _typed(binding.field, cell)

    def _plain(self, binding: _Binding, cell: exp.Expr) -> exp.Expr | None:
        return _plain(binding.field, cell, self.checker.timezone)

    def _text(self, binding: _Binding) -> exp.Expr:
        """The cell as text, as the id's text is compared."""
        return _cell(binding)

    def _clean(self) -> exp.Expr:
        """TRUE when every cell is missing or plain, so that SQL read it as Python does."""
        from sqlglot import exp

        tests = []
        for binding in self.bindings:
            test = self._plain(binding, _cell(binding, "t"))
            if test is not None:
                tests.append(test)
        pattern = _datetime_pattern(self.checker.timezone)
        for _, position in self.dated:
            cell = exp.column(_CELL.format(position), table="t", quoted=True)
            missing = exp.Is(this=cell.copy(), expression=exp.null())
            tests.append(exp.or_(missing, _matches(cell, pattern)))
        if not tests:
            return exp.true()
        return exp.Coalesce(this=exp.paren(exp.and_(*tests)), expressions=[exp.false()])

    def _key(self) -> exp.Expr:
        """The record id as Python reads it (stripped, empty as missing), for repeated ids."""
        from sqlglot import exp

        id_field = self.policy.id_field
        if id_field is None or not self.checker.duplicate_ids:
            return exp.cast(exp.null(), exp.DataType.build("UBIGINT", dialect="duckdb"))
        binding = next(b for b in self.bindings if b.name == id_field)
        key = exp.Nullif(this=_stripped(self._text(binding)), expression=exp.Literal.string(""))
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
        self.rows = _fetched(result)
        for row in self.rows:
            self.total = row[3 + width]
            if row[0] is not None:
                return row
            rank, flags, records = row[1], row[2 : 2 + width], row[2 + width]
            summary.conforming += records
            _add(summary.by_stage.setdefault(places[rank], Tally()), records)
            for name, inside in zip(segments, flags, strict=True):
                if inside:
                    _add(summary.by_segment[name], records)
        return None

    def _left(self, path: str, result: Any, first: tuple[Any, ...] | None) -> Iterator[_Left]:
        """The records left for Python, in file order, with the lines the Python reader gives."""
        width = len(self.table.columns or [])
        segments = len(self.policy.segments)
        masks = (len(criteria_of(self.policy)) + 61) // 62
        judged_at = 4 + segments
        skip = judged_at + 1 + masks
        positions = self.positions
        rows = self.rows

        # Where each column of the export is among the cells the query returns (-1: not read).
        place = {position: index for index, position in enumerate(positions)}
        slots = [place.get(column, -1) for column in range(width)]
        every_column = slots == list(range(width))
        unmet_of: dict[tuple[int, ...], list[int]] = {}

        def left_records() -> Iterator[_Left]:
            if first is None:
                return
            for row in itertools.chain((first,), rows):
                values = row[skip:]
                if every_column:
                    cells = list(values)
                else:
                    cells = [values[slot] if slot >= 0 else "" for slot in slots]
                flags = tuple(bool(flag) for flag in row[2 : 2 + segments])
                masks = row[judged_at + 1 : skip]
                unmet = unmet_of.get(masks)
                if unmet is None:
                    unmet = unmet_of[masks] = _unmet_indexes(masks)
                yield _Left(Row(row[0], cells), bool(row[judged_at]), row[1], flags, unmet)

        left = left_records()
        if _lines_in(path) == self.total + 1:
            # The header is line 1 and record n is on line n + 1: no blank lines and no line
            # breaks inside cells. The cells DuckDB read are the ones Python would.
            return _numbered_as_lines(left)
        return iter(self._read_by_python(list(left)))

    def _read_by_python(self, wanted: list[_Left]) -> list[_Left]:
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


def _fetched(result: Any) -> Iterator[tuple[Any, ...]]:
    """The rows of a DuckDB result, fetched ten thousand at a time."""
    while batch := result.fetchmany(10_000):
        yield from batch


def _unmet_indexes(masks: Sequence[int | None]) -> list[int]:
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


def _bits(names: Sequence[str]) -> exp.Expr:
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


class _JsonLinesRun(_FileRun):
    """Judges one JSON Lines export on DuckDB. DuckDB reads each line as text and takes each
    field's value out of it by its key; a value is read in SQL only when its JSON kind is one
    the Python engine reads alike (text for text; true/false; whole numbers; decimals with at
    most nine places; text in the plain forms of a CSV cell), and the line is an object without
    a repeated key. A record left to Python is its line, read as the Python reader reads it."""

    def __init__(self, checker: DuckdbChecker, table: Table) -> None:
        self.checker = checker
        self.table = table
        self.policy = checker.policy.checked
        self.keys = _unique_names([f.column for f in self.policy.fields.values()])
        self.bindings = [
            _Binding(name, declared, self.keys.index(declared.column))
            for name, declared in self.policy.fields.items()
        ]
        self.dated = []
        self.positions = list(range(len(self.keys)))
        self.total = 0

    def _numbered(self, path: str, cells: list[str]) -> exp.Select:
        from sqlglot import exp

        line = exp.column(_LINE, quoted=True)
        valid = exp.Anonymous(this="json_valid", expressions=[line.copy()])
        # One parse of the line for every value: json_extract with a list of paths.
        pointers = exp.Array(
            expressions=[
                exp.Literal.string("/" + key.replace("~", "~0").replace("/", "~1"))
                for key in self.keys
            ]
        )
        extracted = exp.Anonymous(this="json_extract", expressions=[line.copy(), pointers])
        keys = exp.Anonymous(this="json_keys", expressions=[line.copy()])
        guarded_values = exp.Case(ifs=[exp.If(this=valid.copy(), true=extracted)])
        guarded_keys = exp.Case(ifs=[exp.If(this=valid, true=keys)])
        parsed = exp.select(
            _row_number(),
            line.copy(),
            exp.alias_(guarded_values, "stagelang_values", quoted=True),
            exp.alias_(guarded_keys, "stagelang_keys", quoted=True),
        ).from_(_read_lines(path))

        values = exp.column("stagelang_values", quoted=True)
        columns: list[exp.Expr] = [exp.column(_ROW, quoted=True), exp.column(_LINE, quoted=True)]
        for index, cell in enumerate(cells):
            # list_extract counts from 1 (sqlglot would shift a bracket's index itself).
            value = exp.Anonymous(
                this="list_extract", expressions=[values.copy(), exp.Literal.number(index + 1)]
            )
            columns.append(exp.alias_(value, cell, quoted=True))
            columns.append(exp.alias_(_json_type(value), _KIND.format(index), quoted=True))
            columns.append(exp.alias_(_json_text(value), _TEXT.format(index), quoted=True))
        # A JSON object (its text starts with "{") with no key twice: DuckDB reads the first
        # value of a repeated key where Python keeps the last.
        listed = exp.column("stagelang_keys", quoted=True)
        distinct = exp.Anonymous(this="list_distinct", expressions=[listed.copy()])
        starts = exp.Anonymous(
            this="starts_with",
            expressions=[exp.Trim(this=exp.column(_LINE, quoted=True)), exp.Literal.string("{")],
        )
        one_object = exp.and_(
            starts,
            exp.EQ(
                this=exp.Anonymous(this="len", expressions=[listed]),
                expression=exp.Anonymous(this="len", expressions=[distinct]),
            ),
        )
        known = exp.Coalesce(this=one_object, expressions=[exp.false()])
        columns.append(exp.alias_(known, _OBJECT, quoted=True))
        return exp.select(*columns).from_(parsed.subquery("stagelang_parsed"))

    def _helpers(self) -> list[str]:
        names = [_OBJECT]
        for index in range(len(self.keys)):
            names += [_KIND.format(index), _TEXT.format(index)]
        return names

    def _passed(self, cells: list[str]) -> list[str]:
        return [_LINE]

    def _returned(self, cell: str) -> exp.Expr:
        from sqlglot import exp

        return exp.column(cell, quoted=True)

    def _value(self, binding: _Binding, cell: exp.Expr) -> exp.Expr:
        from sqlglot import exp

        kind = exp.column(_KIND.format(binding.position), quoted=True)
        text = exp.column(_TEXT.format(binding.position), quoted=True)
        declared = binding.field
        name = declared.type.name
        ifs = [exp.If(this=_is_kind(kind, "VARCHAR"), true=_typed(declared, text))]
        if declared.type == types.BOOL:
            ifs.append(exp.If(this=_is_kind(kind, "BOOLEAN"), true=exp.cast(cell, "BOOLEAN")))
        elif name in ("int", "decimal") and not declared.type.is_list:
            whole = exp.cast(exp.TryCast(this=text.copy(), to=exp.DataType.build("BIGINT")),
                             _sql_type(declared.type))  # fmt: skip
            ifs.append(exp.If(this=_is_kind(kind, "BIGINT", "UBIGINT"), true=whole))
            if name == "decimal":
                number = exp.TryCast(
                    this=exp.cast(cell.copy(), "VARCHAR"), to=exp.DataType.build("DECIMAL(38, 9)")
                )
                ifs.append(exp.If(this=_is_kind(kind, "DOUBLE"), true=number))
        return exp.Case(ifs=ifs)

    def _plain(self, binding: _Binding, cell: exp.Expr) -> exp.Expr | None:
        from sqlglot import exp

        kind = exp.column(_KIND.format(binding.position), table="t", quoted=True)
        text = exp.column(_TEXT.format(binding.position), table="t", quoted=True)
        declared = binding.field
        name = declared.type.name
        missing = exp.or_(exp.Is(this=cell.copy(), expression=exp.null()), _is_kind(kind, "NULL"))
        text_test = _plain(declared, text, self.checker.timezone)
        as_text = _is_kind(kind, "VARCHAR")
        if text_test is not None:
            as_text = exp.and_(as_text, exp.paren(text_test))
        tests = [missing, as_text]
        if declared.type.is_list and declared.type.item != types.STRING:
            tests = [missing]
        elif declared.type == types.BOOL:
            tests.append(_is_kind(kind, "BOOLEAN"))
        elif name == "int" and not declared.type.is_list:
            whole = exp.Not(this=exp.Is(
                this=exp.TryCast(this=_json_text(cell), to=exp.DataType.build("BIGINT")),
                expression=exp.null()))  # fmt: skip
            tests.append(exp.and_(_is_kind(kind, "BIGINT", "UBIGINT"), whole))
        elif name == "decimal" and not declared.type.is_list:
            whole = exp.Not(this=exp.Is(
                this=exp.TryCast(this=_json_text(cell), to=exp.DataType.build("BIGINT")),
                expression=exp.null()))  # fmt: skip
            tests.append(exp.and_(_is_kind(kind, "BIGINT", "UBIGINT"), whole))
            written = exp.cast(cell.copy(), "VARCHAR")
            tests.append(exp.and_(_is_kind(kind, "DOUBLE"), _matches(written, _DECIMAL)))
        return exp.or_(*tests)

    def _text(self, binding: _Binding) -> exp.Expr:
        from sqlglot import exp

        return exp.column(_TEXT.format(binding.position), quoted=True)

    def _clean(self) -> exp.Expr:
        """Also: the line is one JSON object, with no key twice."""
        from sqlglot import exp

        one_object = exp.column(_OBJECT, table="t", quoted=True)
        return exp.and_(one_object, super()._clean())

    def _left(self, path: str, result: Any, first: tuple[Any, ...] | None) -> Iterator[_Left]:
        """The records left for Python, each its line read as the Python reader reads it."""
        segments = len(self.policy.segments)
        masks = (len(criteria_of(self.policy)) + 61) // 62
        judged_at = 4 + segments
        skip = judged_at + 1 + masks
        rows = self.rows

        def left_records() -> Iterator[_Left]:
            if first is None:
                return
            for row in itertools.chain((first,), rows):
                record = json_line(row[0], row[skip] or "")
                if record is None:
                    continue  # a blank line, which is no record
                flags = tuple(bool(flag) for flag in row[2 : 2 + segments])
                unmet = _unmet_indexes(row[judged_at + 1 : skip])
                yield _Left(record, bool(row[judged_at]), row[1], flags, unmet)

        left = left_records()
        if _lines_in(path) == self.total:
            return left
        return iter(self._read_by_python(list(left)))


def _read_lines(path: str) -> exp.Expr:
    """Each line of the file as one text value (JSON text never holds a raw control
    character, so the separator U+0001 does not split it)."""
    from sqlglot import exp

    def option(name: str, value: exp.Expr) -> exp.Expr:
        return exp.EQ(this=exp.column(name), expression=value)

    columns = exp.Struct(
        expressions=[
            exp.PropertyEQ(this=exp.Literal.string(_LINE), expression=exp.Literal.string("VARCHAR"))
        ]
    )
    return exp.Anonymous(
        this="read_csv",
        expressions=[
            exp.Literal.string(path),
            option("columns", columns),
            option("header", exp.false()),
            option("delim", exp.Literal.string("\x01")),
            option("quote", exp.Literal.string("")),
            option("escape", exp.Literal.string("")),
            option("auto_detect", exp.false()),
            option("strict_mode", exp.true()),
        ],
    )


def _json_type(value: exp.Expr) -> exp.Expr:
    from sqlglot import exp

    return exp.Anonymous(this="json_type", expressions=[value.copy()])


def _json_text(value: exp.Expr) -> exp.Expr:
    """A JSON string's text (a number's or a flag's written form for other kinds); empty text
    is NULL, as an empty CSV cell is, and as the Python coercers read it."""
    from sqlglot import exp

    text = exp.Anonymous(
        this="json_extract_string", expressions=[value.copy(), exp.Literal.string("$")]
    )
    return exp.Nullif(this=text, expression=exp.Literal.string(""))


def _is_kind(kind: exp.Expr, *names: str) -> exp.Expr:
    from sqlglot import exp

    return exp.In(this=kind.copy(), expressions=[exp.Literal.string(n) for n in names])


class _ParquetRun(_FileRun):
    """Judges one Parquet file on DuckDB. Its columns keep their own types: a text column is
    read as a CSV cell is, a typed one (BIGINT, DECIMAL, DATE, TIMESTAMP, lists) as its value.
    A record's place is its row number, counted from 1, where a CSV record has its line."""

    def __init__(self, checker: DuckdbChecker, name: str) -> None:
        self.types = _parquet_columns(name)
        names = list(self.types)
        super().__init__(checker, Table(name, "parquet", "utf-8", names, iter(())))
        self.kinds = {b.position: self.types[names[b.position]] for b in self.bindings}
        found = (
            _unsuitable_column(b.name, b.field, names[b.position], self.kinds[b.position])
            for b in self.bindings
        )
        problems = [problem for problem in found if problem]
        if problems:
            raise InputError(
                name,
                "the Parquet file holds columns whose types cannot hold the policy's fields:\n  "
                + "\n  ".join(problems)
                + "\nwrite the columns as text (VARCHAR) or with the types docs/scale.md lists",
            )

    def _utf8_file(self, workspace: str) -> str:
        return self.table.name

    def _numbered(self, path: str, cells: list[str]) -> exp.Select:
        from sqlglot import exp

        names = self.table.columns or []
        row = exp.Add(this=exp.column("file_row_number"), expression=exp.Literal.number(1))
        read = exp.Anonymous(
            this="read_parquet",
            expressions=[
                exp.Literal.string(path),
                exp.EQ(this=exp.column("file_row_number"), expression=exp.true()),
            ],
        )
        return exp.select(
            exp.alias_(row, _ROW, quoted=True),
            *(
                exp.alias_(exp.column(names[position], quoted=True), cell, quoted=True)
                for position, cell in zip(self.positions, cells, strict=True)
            ),
        ).from_(read)

    def _returned(self, cell: str) -> exp.Expr:
        from sqlglot import exp

        return exp.column(cell, quoted=True)

    def _value(self, binding: _Binding, cell: exp.Expr) -> exp.Expr:
        kind = self.kinds[binding.position]
        if kind == "VARCHAR":
            return _typed(binding.field, cell)
        return _native(binding.field, cell, kind)

    def _plain(self, binding: _Binding, cell: exp.Expr) -> exp.Expr | None:
        kind = self.kinds[binding.position]
        if kind == "VARCHAR":
            return _plain(binding.field, cell, self.checker.timezone)
        return _native_plain(binding.field, cell, kind, self.checker.timezone)

    def _text(self, binding: _Binding) -> exp.Expr:
        from sqlglot import exp

        return exp.cast(_cell(binding), "VARCHAR")

    def _left(self, path: str, result: Any, first: tuple[Any, ...] | None) -> Iterator[_Left]:
        """The records left for Python, as JSON records are read: values by column name."""
        names = [(self.table.columns or [])[position] for position in self.positions]
        segments = len(self.policy.segments)
        masks = (len(criteria_of(self.policy)) + 61) // 62
        judged_at = 4 + segments
        skip = judged_at + 1 + masks
        rows = self.rows

        def left_records() -> Iterator[_Left]:
            if first is None:
                return
            for row in itertools.chain((first,), rows):
                cells = dict(zip(names, row[skip:], strict=True))
                flags = tuple(bool(flag) for flag in row[2 : 2 + segments])
                unmet = _unmet_indexes(row[judged_at + 1 : skip])
                yield _Left(Row(row[0], cells), bool(row[judged_at]), row[1], flags, unmet)

        return left_records()


# Parquet column types, as DuckDB names them, that hold each field type as its Python value.
_INTEGERS = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER"}
_TIMESTAMPS = {"TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS"}
_HOLDS = {
    "bool": {"BOOLEAN"},
    "int": _INTEGERS,
    "decimal": _INTEGERS | {"DOUBLE", "FLOAT"},
    "string": _INTEGERS | {"BOOLEAN"},
    "date": {"DATE"} | _TIMESTAMPS | {"TIMESTAMP WITH TIME ZONE"},
    "datetime": {"DATE", "TIMESTAMP WITH TIME ZONE"} | _TIMESTAMPS,
}


def _parquet_columns(name: str) -> dict[str, str]:
    """The Parquet file's columns and their DuckDB types, in order."""
    import duckdb
    from sqlglot import exp

    if name == "-":
        raise InputError(name, "a Parquet file is read from disk, not standard input")
    if not os.path.isfile(name):
        raise InputError(name, "no such file")
    read = exp.Anonymous(this="read_parquet", expressions=[exp.Literal.string(name)])
    probe = exp.select(exp.Star()).from_(read).limit(0).sql(dialect="duckdb")
    try:
        with duckdb.connect() as connection:
            described = connection.execute("DESCRIBE " + probe).fetchall()
    except duckdb.Error as error:
        reason = (str(error).strip().splitlines() or ["unknown error"])[0]
        raise InputError(name, f"cannot be read as Parquet: {reason}") from None
    return {row[0]: str(row[1]) for row in described}


def _holds(declared: Field, kind: str) -> bool:
    if kind == "VARCHAR":
        return True
    if declared.type.is_list:
        item = declared.type.item
        return (
            kind.endswith("[]")
            and item is not None
            and _holds(dataclasses.replace(declared, type=item), kind[:-2])
        )
    if declared.type.name == "decimal" and kind.startswith("DECIMAL("):
        scale = int(kind.rstrip(")").split(",")[-1])
        return scale <= 9
    return kind in _HOLDS.get(declared.type.name, set())


def _unsuitable_column(name: str, declared: Field, column: str, kind: str) -> str | None:
    if _holds(declared, kind):
        return None
    return f'column "{column}" is {kind}, which cannot hold field "{name}" ({declared.type})'


def _native(declared: Field, cell: exp.Expr, kind: str) -> exp.Expr:
    """The field's value from a typed Parquet column (see `_holds`)."""
    from sqlglot import exp

    field_type = declared.type
    if field_type.is_list:
        item = exp.to_identifier("stagelang_item")
        known = exp.Not(this=exp.Is(this=exp.column(item.copy()), expression=exp.null()))
        items = exp.Anonymous(
            this="list_filter",
            expressions=[cell.copy(), exp.Lambda(this=known, expressions=[item.copy()])],
        )
        if field_type.item == types.STRING:
            strip = exp.Lambda(this=_stripped(exp.column(item.copy())), expressions=[item.copy()])
            stripped = exp.Anonymous(this="list_transform", expressions=[items, strip])
            nonempty = exp.Lambda(
                this=exp.NEQ(this=exp.column(item.copy()), expression=exp.Literal.string("")),
                expressions=[item.copy()],
            )
            return exp.Anonymous(this="list_filter", expressions=[stripped, nonempty])
        return exp.cast(items, _sql_type(field_type))
    if field_type == types.STRING:
        return exp.cast(cell.copy(), "VARCHAR")
    return exp.cast(cell.copy(), _sql_type(field_type))


def _native_plain(declared: Field, cell: exp.Expr, kind: str, zone: dt.tzinfo) -> exp.Expr | None:
    """TRUE when `_native` gives the value Python's coercer gives, None when it always does."""
    from sqlglot import exp

    utc = zone is dt.UTC or getattr(zone, "key", None) in ("UTC", "Etc/UTC")
    missing = exp.Is(this=cell.copy(), expression=exp.null())
    name = declared.type.name
    if kind in ("DOUBLE", "FLOAT"):
        # Python reads a float as the decimal it prints as; nine places are kept here.
        back = exp.cast(_native(declared, cell, kind), "DOUBLE")
        return exp.or_(missing, exp.EQ(this=back, expression=cell.copy()))
    if kind == "BOOLEAN" and name == "string":
        return None
    naive = kind in _TIMESTAMPS or (kind == "DATE" and name == "datetime")
    zoned = kind == "TIMESTAMP WITH TIME ZONE" and name == "date"
    if (naive or zoned) and not utc:
        # Read in --timezone by Python; DuckDB here reads them in UTC.
        return missing
    return None


def _dated_stages(checker: Checker, table: Table) -> list[tuple[str, int]]:
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


def _known(value: exp.Expr) -> exp.Expr:
    from sqlglot import exp

    return exp.Not(this=exp.Is(this=value.copy(), expression=exp.null()))


def _numbered_as_lines(left: Iterator[_Left]) -> Iterator[_Left]:
    for record in left:
        record.row.line += 1
        yield record


def _count_failing(tally: Tally) -> None:
    tally.records += 1
    tally.not_conforming += 1


def _add(tally: Tally, records: int) -> None:
    tally.records += records
    tally.conforming += records


def _lines_in(path: str) -> int:
    """The number of lines of a file, the last one counted even without a line end."""
    lines = 0
    last = b""
    with open(path, "rb") as file:
        while chunk := file.read(1 << 22):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return lines + 1 if last and last != b"\n" else lines


def _row_number() -> exp.Expr:
    from sqlglot import exp

    return exp.alias_(
        exp.Window(this=exp.Anonymous(this="row_number", expressions=[])), _ROW, quoted=True
    )


def _read_csv(path: str, width: int, kind: str) -> exp.Expr:
    """DuckDB's CSV reader over the file: every column as text, named by position, split as
    Python's csv module splits it (double quotes, a doubled quote inside them)."""
    from sqlglot import exp

    columns = exp.Struct(
        expressions=[
            exp.PropertyEQ(
                this=exp.Literal.string(_CELL.format(i)), expression=exp.Literal.string("VARCHAR")
            )
            for i in range(width)
        ]
    )

    def option(name: str, value: exp.Expr) -> exp.Expr:
        return exp.EQ(this=exp.column(name), expression=value)

    return exp.Anonymous(
        this="read_csv",
        expressions=[
            exp.Literal.string(path),
            option("columns", columns),
            option("header", exp.true()),
            option("delim", exp.Literal.string("\t" if kind == "tsv" else ",")),
            option("quote", exp.Literal.string('"')),
            option("escape", exp.Literal.string('"')),
            option("auto_detect", exp.false()),
            # A ragged row stops the query, and the Python engine reads the file instead. So
            # does a line over DuckDB's limit of 2 MB (raising the limit slows every read).
            option("strict_mode", exp.true()),
        ],
    )


def _bindings(checker: Checker, table: Table) -> list[_Binding]:
    """Each field's column position, found as the Python engine finds it (raising its error
    for missing columns)."""
    columns = checker._bind(table, quiet=True)
    fields = checker.policy.fields
    return [_Binding(c.field, fields[c.field], int(c.key)) for c in columns]


def _cell(binding: _Binding, table: str | None = None) -> exp.Expr:
    from sqlglot import exp

    return exp.column(_CELL.format(binding.position), table=table, quoted=True)


def _columns(names: Sequence[str]) -> list[exp.Expr]:
    from sqlglot import exp

    return [exp.column(name, quoted=True) for name in names]


def _name(name: str) -> exp.Expr:
    from sqlglot import exp

    return exp.to_identifier(name, quoted=True)


def _alias(name: str) -> exp.Expr:
    from sqlglot import exp

    return exp.TableAlias(this=exp.to_identifier(name, quoted=True))


def _unique_names(names: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(names))


def _duckdb_reason(error: Exception) -> str:
    reason = (str(error).strip().splitlines() or ["unknown error"])[0]
    return f"DuckDB cannot read it as Python does ({reason})"


# Cells in SQL -----------------------------------------------------------------------------------
#
# `_typed` gives a field's value from its cell, and `_plain` says whether that value is the one
# Python's coercer gives: a round trip (the value written back is the cell) for whole numbers
# and dates, a pattern for decimals and date-times, the known spellings for true and false.
# Text and lists of text need no test: TRIM with Python's own blank characters strips as
# str.strip() does.


def _stripped(cell: exp.Expr) -> exp.Expr:
    """The text as str.strip() leaves it. TRIM with a set of characters is ten times slower
    than a test of the first and last characters, which settles most cells."""
    from sqlglot import exp

    def printable(character: exp.Expr) -> exp.Expr:
        code = exp.Anonymous(this="ascii", expressions=[character])
        return exp.Between(this=code, low=exp.Literal.number(33), high=exp.Literal.number(126))

    last = exp.Anonymous(this="right", expressions=[cell.copy(), exp.Literal.number(1)])
    plain = exp.and_(printable(cell.copy()), printable(last))
    trimmed = exp.Anonymous(
        this="trim", expressions=[cell.copy(), exp.Literal.string(_SPACE_CHARACTERS)]
    )
    return exp.Case(ifs=[exp.If(this=plain, true=cell.copy())], default=trimmed)


def _has_blanks_other_than_spaces(cell: exp.Expr) -> exp.Expr:
    from sqlglot import exp

    others = "".join(f"\\x{{{ord(c):x}}}" for c in _SPACE_CHARACTERS if c != " ")
    return exp.Anonymous(
        this="regexp_matches", expressions=[cell.copy(), exp.Literal.string(f"[{others}]")]
    )


def _matches(cell: exp.Expr, pattern: str) -> exp.Expr:
    from sqlglot import exp

    return exp.Anonymous(
        this="regexp_full_match", expressions=[cell.copy(), exp.Literal.string(pattern)]
    )


def _datetime_pattern(zone: dt.tzinfo) -> str:
    """Plain date-times read in SQL: UTC ones, and ones without an offset when the zone is
    UTC. Others are left to Python, whose dates meet them as midnight in their own zone."""
    utc = zone is dt.UTC or getattr(zone, "key", None) in ("UTC", "Etc/UTC")
    suffix = f"{_UTC_SUFFIX}?" if utc else _UTC_SUFFIX
    time = f"{_TIME}{suffix}"
    return f"{_DATE}({time})?" if utc else f"{_DATE}{time}"


def _typed(declared: Field, cell: exp.Expr) -> exp.Expr:
    """The field's value in SQL; right whenever `_plain` holds for the cell."""
    from sqlglot import exp

    kind = declared.type
    if kind.is_list:
        if kind.item != types.STRING:
            return exp.cast(exp.null(), _sql_type(kind))
        split = exp.Anonymous(
            this="string_split", expressions=[cell, exp.Literal.string(declared.separator)]
        )
        item = exp.to_identifier("stagelang_item")
        nonempty = exp.Lambda(
            this=exp.NEQ(this=exp.column(item.copy()), expression=exp.Literal.string("")),
            expressions=[item.copy()],
        )

        def items(strip: exp.Expr) -> exp.Expr:
            stripping = exp.Lambda(this=strip, expressions=[item.copy()])
            stripped = exp.Anonymous(this="list_transform", expressions=[split.copy(), stripping])
            return exp.Anonymous(this="list_filter", expressions=[stripped, nonempty.copy()])

        # Items are stripped of spaces by DuckDB's TRIM, of other blanks the slow way.
        spaces = exp.Anonymous(this="trim", expressions=[exp.column(item.copy())])
        blanks = exp.Anonymous(
            this="trim",
            expressions=[exp.column(item.copy()), exp.Literal.string(_SPACE_CHARACTERS)],
        )
        return exp.Case(
            ifs=[exp.If(this=_has_blanks_other_than_spaces(cell), true=items(blanks))],
            default=items(spaces),
        )
    if kind == types.STRING:
        return _stripped(cell)
    if kind == types.BOOL:
        # The spellings exports write most come first, so that most cells meet one test.
        return exp.Case(
            ifs=[
                exp.If(this=exp.EQ(this=cell.copy(), expression=exp.Literal.string("true")),
                       true=exp.true()),
                exp.If(this=exp.EQ(this=cell.copy(), expression=exp.Literal.string("false")),
                       true=exp.false()),
                exp.If(this=_one_of(cell, _spellings(_TRUE)), true=exp.true()),
                exp.If(this=_one_of(cell, _spellings(_FALSE)), true=exp.false()),
            ]
        )  # fmt: skip
    return exp.TryCast(this=cell.copy(), to=exp.DataType.build(_sql_type(kind)))


def _plain(declared: Field, cell: exp.Expr, zone: dt.tzinfo) -> exp.Expr | None:
    """TRUE when the cell is missing or `_typed` reads it as Python does; None when every
    cell of the field is read alike."""
    from sqlglot import exp

    kind = declared.type
    if kind == types.STRING or kind == types.list_of(types.STRING):
        return None
    missing = exp.Is(this=cell.copy(), expression=exp.null())
    if kind.is_list:
        return missing
    value = exp.column(declared.column, table="t", quoted=True)
    if kind.name in ("int", "date"):
        written_back = exp.cast(value, "VARCHAR")
        return exp.or_(missing, exp.EQ(this=written_back, expression=cell.copy()))
    if kind.name == "decimal":
        return exp.or_(missing, _matches(cell, _DECIMAL))
    if kind.name == "datetime":
        return exp.or_(missing, _matches(cell, _datetime_pattern(zone)))
    return exp.or_(missing, exp.Not(this=exp.Is(this=value, expression=exp.null())))


def _sql_type(kind: types.Type) -> str:
    if kind.is_list:
        assert kind.item is not None
        return _sql_type(kind.item) + "[]"
    return {
        "bool": "BOOLEAN",
        "int": "BIGINT",
        "decimal": "DECIMAL(38, 9)",
        "string": "VARCHAR",
        "date": "DATE",
        "datetime": "TIMESTAMPTZ",
    }[kind.name]


def _spellings(words: tuple[str, ...]) -> list[str]:
    return sorted({form for word in words for form in (word, word.upper(), word.capitalize())})


def _one_of(cell: exp.Expr, values: list[str]) -> exp.Expr:
    from sqlglot import exp

    return exp.In(this=cell.copy(), expressions=[exp.Literal.string(v) for v in values])


__all__ = ["AUTO_THRESHOLD_BYTES", "ENGINES", "DuckdbChecker", "DuckdbUnavailable"]
