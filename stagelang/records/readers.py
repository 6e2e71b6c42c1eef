"""Reading exports row by row: CSV, TSV, JSON Lines and JSON arrays, from files or stdin.

Every reader streams: one row is in memory at a time, whatever the file's size. Every row keeps
the line it starts on, so that a finding can point at it. A row that cannot be read (a ragged
CSV row, a JSON line that is not an object) is still yielded, with the problem named, so that
it is counted and reported instead of silently dropped. A file that cannot be read at all
raises InputError, which names the file, the line and what to do.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from stagelang.errors import StagelangError
from stagelang.records.encoding import SAMPLE_BYTES, detect_encoding, find_decode_error

FORMATS = ("csv", "tsv", "jsonl", "json", "parquet")

_BY_SUFFIX = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".parquet": "parquet",
}

_SPREADSHEETS = {".xlsx", ".xlsm", ".xls", ".ods", ".numbers"}

# CRM exports hold long notes; the csv module's default field limit (128 KiB) is too small.
csv.field_size_limit(1 << 28)


class InputError(StagelangError):
    """An export that cannot be read at all: missing, undecodable, or not the format named."""

    def __init__(self, file: str, message: str, line: int | None = None) -> None:
        where = f"{file}:{line}" if line is not None else file
        super().__init__(f"{where}: {message}")
        self.file = file
        self.line = line


@dataclass(slots=True)
class Row:
    """One record as read: its cells (a list for CSV, a dict for JSON), or why it is unreadable."""

    line: int
    cells: list[str] | dict[str, Any] | None
    problem: str | None = None


@dataclass
class Table:
    """An open export: its format, encoding, header (CSV) and an iterator over its rows."""

    name: str
    format: str
    encoding: str
    columns: list[str] | None
    rows: Iterator[Row]
    _closers: list[Any] = field(default_factory=list, repr=False)

    def close(self) -> None:
        for closer in self._closers:
            closer.close()

    def __enter__(self) -> Table:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def format_of(name: str, given: str | None) -> str | None:
    """The format named by `--input-format`, else by the file's extension; None if unknown."""
    if given:
        return given
    return _BY_SUFFIX.get(Path(name).suffix.lower())


def open_table(name: str, *, input_format: str | None = None, encoding: str | None = None) -> Table:
    """Open an export for reading row by row. `name` is a path, or `-` for standard input."""
    if input_format is None and Path(name).suffix.lower() in _SPREADSHEETS:
        raise InputError(
            name,
            "is a spreadsheet workbook, which stagelang does not read; save the sheet as CSV "
            "(UTF-8) and check that file",
        )
    if format_of(name, input_format) == "parquet":
        raise InputError(
            name,
            "is a Parquet file, which only stagelang check's DuckDB engine reads: install it "
            "with pip install 'stagelang[sql]' and check with --engine duckdb (or auto)",
        )
    binary = _open_binary(name)
    try:
        sample = binary.peek(SAMPLE_BYTES)[:SAMPLE_BYTES]
        chosen = encoding or detect_encoding(sample)
        kind = format_of(name, input_format) or _sniff_format(sample)
        text = io.TextIOWrapper(binary, encoding=chosen, newline="", errors="strict")
    except (LookupError, OSError) as error:
        binary.close()
        raise InputError(name, _open_problem(error, encoding)) from None

    table = Table(name, kind, chosen, None, iter(()), [text])
    try:
        if kind in ("csv", "tsv"):
            table.columns, table.rows = _csv_rows(name, text, binary, chosen, kind)
        elif kind == "jsonl":
            table.rows = _json_lines(name, text, binary, chosen)
        else:
            table.rows = _json_array(name, text, binary, chosen)
    except BaseException:
        table.close()
        raise
    return table


def _open_binary(name: str) -> io.BufferedReader:
    if name == "-":
        stream: Any = sys.stdin.buffer
        return stream if isinstance(stream, io.BufferedReader) else io.BufferedReader(stream)
    try:
        return io.BufferedReader(io.FileIO(name, "r"), buffer_size=SAMPLE_BYTES)
    except IsADirectoryError:
        raise InputError(name, "is a folder, not an export file") from None
    except FileNotFoundError:
        raise InputError(name, "no such file") from None
    except OSError as error:
        raise InputError(name, f"cannot read the file: {error.strerror}") from None


def _open_problem(error: Exception, encoding: str | None) -> str:
    if isinstance(error, LookupError):
        return f'"{encoding}" is not an encoding Python knows; try utf-8, cp932 or utf-16'
    return f"cannot read the file: {error}"


def _sniff_format(sample: bytes) -> str:
    """For standard input without --input-format: JSON if it starts like JSON, else CSV."""
    start = sample.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if start == b"[":
        return "json"
    if start == b"{":
        return "jsonl"
    return "csv"


# CSV and TSV ---------------------------------------------------------------------------------


def _csv_rows(
    name: str, text: io.TextIOWrapper, binary: BinaryIO, encoding: str, kind: str
) -> tuple[list[str], Iterator[Row]]:
    reader = csv.reader(text, delimiter="\t" if kind == "tsv" else ",")
    with _decoding(name, binary, encoding, reader):
        header = next(reader, None)
    if header is None:
        raise InputError(name, "the file is empty: expected a header row naming the columns")
    columns = [cell.strip().lstrip("\ufeff") for cell in header]
    return columns, _csv_records(name, reader, binary, encoding, len(columns))


def _csv_records(
    name: str, reader: Any, binary: BinaryIO, encoding: str, width: int
) -> Iterator[Row]:
    previous_end = reader.line_num
    with _decoding(name, binary, encoding, reader):
        for cells in reader:
            line = previous_end + 1
            previous_end = reader.line_num
            if not cells:
                continue  # a blank line is not a record
            if len(cells) != width:
                yield Row(line, cells, _ragged(len(cells), width))
                continue
            yield Row(line, cells)


def _ragged(found: int, width: int) -> str:
    more_or_fewer = "more" if found > width else "fewer"
    return (
        f"the row has {found} columns but the header has {width} ({more_or_fewer}); "
        "an unquoted comma or a missing quote usually causes this"
    )


class _decoding:
    """Turns decoding and CSV errors met while reading into InputError with the exact line."""

    def __init__(self, name: str, binary: BinaryIO, encoding: str, reader: Any) -> None:
        self.name, self.binary, self.encoding, self.reader = name, binary, encoding, reader

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type | None, error: BaseException | None, trace: object) -> None:
        if isinstance(error, UnicodeDecodeError):
            raise _undecodable(self.name, self.binary, self.encoding) from None
        if isinstance(error, csv.Error):
            line = getattr(self.reader, "line_num", None)
            raise InputError(self.name, f"not readable as CSV: {error}", line) from None


def _undecodable(name: str, binary: BinaryIO, encoding: str) -> InputError:
    where = None
    if name != "-":
        with open(name, "rb") as again:
            where = find_decode_error(again, encoding)
    if where is None:
        return InputError(
            name,
            f"cannot be decoded as {encoding}; name the encoding with "
            "--encoding (for example cp932 or utf-16)",
        )
    line, offset, bad = where
    shown = " ".join(f"{byte:02x}" for byte in bad[:4]) or "the last bytes"
    return InputError(
        name,
        f"cannot be decoded as {encoding}: bytes {shown} (byte {offset + 1} of the file) are "
        "not valid there; name the encoding with --encoding (for example cp932 or utf-16)",
        line,
    )


# JSON Lines and JSON arrays -------------------------------------------------------------------


def _json_lines(
    name: str, text: io.TextIOWrapper, binary: BinaryIO, encoding: str
) -> Iterator[Row]:
    with _decoding(name, binary, encoding, None):
        for line, content in enumerate(text, start=1):
            row = json_line(line, content)
            if row is not None:
                yield row


def json_line(line: int, content: str) -> Row | None:
    """One line of a JSON Lines file as a record, or None for a blank line."""
    stripped = content.strip().lstrip("\ufeff")
    if not stripped:
        return None
    try:
        value = json.loads(stripped)
    except json.JSONDecodeError as error:
        return Row(line, None, f"not valid JSON: {error.msg} (column {error.colno})")
    if not isinstance(value, dict):
        return Row(line, None, f"expected a JSON object {{...}}, found {_json_kind(value)}")
    return Row(line, value)


def _json_array(
    name: str, text: io.TextIOWrapper, binary: BinaryIO, encoding: str
) -> Iterator[Row]:
    """Objects of a top-level JSON array, decoded one at a time from a growing buffer."""
    decoder = json.JSONDecoder()
    buffer, position, line = "", 0, 1
    started = False
    with _decoding(name, binary, encoding, None):
        while True:
            position, line = _skip_space(buffer, position, line)
            if position >= len(buffer) - 1:
                more = text.read(1 << 20)
                if more:
                    buffer = buffer[position:] + more
                    position = 0
                    continue
                if position >= len(buffer):
                    raise InputError(name, "the JSON array is not closed with ]", line)
            char = buffer[position]
            if not started:
                if char == "\ufeff":
                    position += 1
                    continue
                if char != "[":
                    raise InputError(name, "expected a JSON array of objects starting with [", line)
                started = True
                position += 1
                continue
            if char == "]":
                return
            if char == ",":
                position += 1
                continue
            try:
                value, end = decoder.raw_decode(buffer, position)
            except json.JSONDecodeError as error:
                more = text.read(1 << 20)
                if more:
                    buffer = buffer[position:] + more
                    position = 0
                    continue
                raise InputError(
                    name,
                    f"not valid JSON: {error.msg}",
                    line + buffer.count("\n", position, error.pos),
                ) from None
            if isinstance(value, dict):
                yield Row(line, value)
            else:
                yield Row(line, None, f"expected a JSON object {{...}}, found {_json_kind(value)}")
            line += buffer.count("\n", position, end)
            position = end


def _skip_space(buffer: str, position: int, line: int) -> tuple[int, int]:
    length = len(buffer)
    while position < length and buffer[position] in " \t\r\n":
        if buffer[position] == "\n":
            line += 1
        position += 1
    return position, line


def _json_kind(value: object) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "text"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    return "a number"
