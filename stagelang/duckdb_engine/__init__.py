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
surely give no finding (`ExportRun._quiet_history`); the others go to the Python engine.

JSON Lines: DuckDB reads each line as text and takes the values out by key (`JsonLinesRun`);
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

import logging
import os
from collections import deque
from collections.abc import Iterator, Sequence
from typing import Any

from stagelang.analysis import types
from stagelang.analysis.model import Criterion
from stagelang.checking import (
    Checker,
    RecordResult,
    json_converter,
    unmet_finding,
)
from stagelang.compiler import runtime
from stagelang.duckdb_engine.exports import (
    MEMORY_LIMIT,
    DuckdbUnavailable,
    ExportRun,
    LeftRecord,
    count_failing,
    criteria_of,
    dated_stages,
)
from stagelang.duckdb_engine.json_lines import JsonLinesRun
from stagelang.duckdb_engine.parquet import ParquetRun
from stagelang.policy import Policy
from stagelang.records.convert import RowConverter, compile_row_converter
from stagelang.records.readers import (
    InputError,
    Row,
    Table,
    format_of,
    open_table,
)
from stagelang.verdicts import Unmet
from stagelang.warehouse import MissingExtraError

log = logging.getLogger("stagelang")

ENGINES = ("auto", "python", "duckdb")  # the choices of `stagelang check --engine`

# `--engine auto` hands a file to DuckDB from this size on: below it, importing DuckDB and
# sqlglot and planning the query cost more than the Python engine spends. The two crossed
# between 5 and 8.5 MiB of a HubSpot-like export (bench/bench_engine_threshold.py, see
# docs/performance.md).
AUTO_THRESHOLD_BYTES = 8 * 2**20


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
            self._criteria = criteria_of(checked)
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
                        run = JsonLinesRun if table.format == "jsonl" else ExportRun
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
        run = ParquetRun(self, name)
        table = Table(name, "parquet", "utf-8", None, iter(()))
        if self.dates and self.dates.found(lambda column: 0 if column in run.types else None):
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

    def _check_left(self, table: Table, left: Iterator[LeftRecord]) -> Iterator[RecordResult]:
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
                count_failing(summary.by_stage[result.stage or ""])
                for segment in result.segments:
                    count_failing(summary.by_segment[segment])
            yield result
        # Ends check_table: with nothing pending, its loop over the rows stops.
        for result in by_python:
            yield result

    def _judged(self, file: str, left: LeftRecord, convert: RowConverter) -> RecordResult | None:
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
        if self.engine == "auto" and dated_stages(self, table):
            # Every record whose stay may be too long goes to Python as well: on 299,000
            # records of the bundled example's kind DuckDB took 4.3 to 8.0 s against Python's
            # 4.7 to 5.4 s, slower as more records had stalled (docs/performance.md).
            return "with stage history, Python is as quick or quicker"
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


def _duckdb_installed() -> bool:
    try:
        import duckdb  # noqa: F401
        import sqlglot  # noqa: F401
    except ImportError:
        return False
    return True


__all__ = ["AUTO_THRESHOLD_BYTES", "ENGINES", "MEMORY_LIMIT", "DuckdbChecker", "DuckdbUnavailable"]
