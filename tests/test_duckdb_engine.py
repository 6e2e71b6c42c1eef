"""The DuckDB engine (`stagelang check --engine duckdb`) against the Python engine.

Any difference between the two is a bug, so the main test is differential: Hypothesis writes
random policies (the ladders of test_sql_vs_python.py) and random exports whose cells are
spelt the ways CRM exports spell them, plain and not (spaces, full-width digits, Japanese dates,
円 amounts, unreadable values, repeated ids), in several encodings and line endings, with blank
lines and line breaks inside cells. Both engines check the same file; their findings, in order,
and their summaries must be equal.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import logging
import re
import sys
import tempfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from test_compiled_vs_interpreted import FIELDS, HEADER, TODAY, conditions
from test_compiled_vs_interpreted import records as typed_records
from test_sql_vs_python import LADDER, PARTS

import stagelang
from stagelang.checking import Checker
from stagelang.cli import main
from stagelang.policy import Policy

pytest.importorskip("duckdb", reason="the sql extra (duckdb) is not installed")
pytest.importorskip("sqlglot", reason="the sql extra (sqlglot) is not installed")

from stagelang.duckdb_engine import DuckdbChecker

ROOT = Path(__file__).resolve().parent.parent

# Cells as exports write them: plain forms DuckDB reads itself, and every other form the Python
# coercers read (or refuse), which must come back to Python.
SPELLINGS: dict[str, list[str]] = {
    "bool": ["true", "false", "TRUE", "Yes", "no", "1", "0", "はい", "いいえ", " true", "maybe"],
    "int": ["3", "-2", "0", "1", "007", " 4", "+1", "１２", "1,000", "2.0", "2.5", "x", "1e3"],
    "decimal": ["0.5", "1.0", "-1.5", "2.25", "3", "1,200.50", "¥1,000", "1000円", ".5", "abc"],
    "string": ["JP", "US", "J", "jp", " JP", "JP ", "\u3000JP", "ＪＰ", "  ", "J\tP"],
    "list<string>": ["JP;US", "JP ; US", "JP;;", ";", "J", "JP\u3000;US", " US"],
    "list<int>": ["1;2", "3", "x", "1; 2"],
    "date": [
        "2026-01-07",
        "2026-01-12",
        "2026/01/07",
        "2026年1月7日",
        "2026-1-7",
        "2026-02-30",
        "07/01/2026",
        "2026-01-07T10:00:00Z",
        "20260107",
        "0999-01-01",
    ],
    "datetime": [
        "2026-01-07T10:00:00Z",
        "2026-01-12T23:59:59.000Z",
        "2026-01-07 10:00:00",
        "2026-01-07T10:00:00+09:00",
        "2026-01-07T10:00:00+00:00",
        "2026/01/07 10:00",
        "2026-01-07",
        "1767780000000",
        "2026-01-07T24:00:00Z",
        "bad",
    ],
}
STAGES = ["a", "B", " c ", "C", "zz", "", "closed lost", "LOST", "Ｂ", "b\u3000"]
IDS = ["1", "2", "3", "4", "5", "6", " 1", "2 ", "", "\u30001"]
COLUMNS = ["record_id", "lifecycle_stage", *FIELDS, "notes"]


def cells_of(kind: str) -> st.SearchStrategy[str]:
    return st.one_of(st.just(""), st.sampled_from(SPELLINGS[kind]))


rows = st.lists(
    st.fixed_dictionaries(
        {
            "record_id": st.sampled_from(IDS),
            "lifecycle_stage": st.sampled_from(STAGES),
            **{name: cells_of(kind) for name, kind in FIELDS.items()},
            "notes": st.sampled_from(["", "call back", "line one\nline two", 'said "hi"']),
        }
    ),
    min_size=0,
    max_size=12,
)
layouts = st.fixed_dictionaries(
    {
        "encoding": st.sampled_from(["utf-8", "utf-8-sig", "cp932", "utf-16"]),
        "line_end": st.sampled_from(["\n", "\r\n"]),
        "blank_line_at": st.one_of(st.none(), st.integers(0, 12)),
        "tsv": st.booleans(),
    }
)


def write_export(folder: Path, records: list[dict[str, str]], layout: dict[str, Any]) -> Path:
    text = io.StringIO()
    writer = csv.writer(
        text, delimiter="\t" if layout["tsv"] else ",", lineterminator=layout["line_end"]
    )
    writer.writerow(COLUMNS)
    for index, record in enumerate(records):
        if layout["blank_line_at"] == index:
            text.write(layout["line_end"])
        writer.writerow([record[column] for column in COLUMNS])
    path = folder / ("export.tsv" if layout["tsv"] else "export.csv")
    path.write_bytes(text.getvalue().encode(layout["encoding"]))
    return path


def findings_and_summary(checker: Checker, path: Path) -> tuple[list[Any], dict[str, Any]]:
    found = [
        (f.file, f.line, f.record_id, f.code, f.message, dict(f.values), f.stage, f.column)
        for result in checker.check_files([str(path)])
        for f in result.findings
    ]
    found.extend((f.file, f.line, f.code, f.message) for f in checker.finish())
    summary = checker.summary.to_dict()
    summary.pop("engine")
    return found, summary


def both_engines(
    policy: Policy, path: Path, as_of: dt.date = TODAY, **options: Any
) -> tuple[Any, Any, str]:
    python = findings_and_summary(Checker(policy, as_of=as_of, **options), path)
    duckdb_checker = DuckdbChecker(policy, as_of=as_of, **options)
    on_duckdb = findings_and_summary(duckdb_checker, path)
    return python, on_duckdb, duckdb_checker.summary.engine


@settings(max_examples=150)
@given(st.fixed_dictionaries({key: conditions for key in PARTS}), rows, layouts)
def test_duckdb_engine_gives_the_findings_of_the_python_engine(
    parts: dict[str, str], records: list[dict[str, str]], layout: dict[str, Any]
) -> None:
    policy = stagelang.loads(LADDER.format(**parts), "ladder.stage")
    with tempfile.TemporaryDirectory() as folder:
        try:
            path = write_export(Path(folder), records, layout)
        except UnicodeEncodeError:
            return  # a cell cp932 cannot hold; the other encodings write it
        python, on_duckdb, engine = both_engines(policy, path)

    assert on_duckdb == python
    assert engine == "duckdb"


def test_the_blanks_sql_strips_are_those_python_strips() -> None:
    from stagelang.duckdb_engine.cells import SPACE_CHARACTERS

    every_blank = {chr(code) for code in range(0x110000) if chr(code).isspace()}
    assert set(SPACE_CHARACTERS) == every_blank


HISTORY = HEADER + (
    'segment jp: s1 == "JP"\n'
    "stage A\n"
    '  entered from "entered_a"\n'
    "  exit when {exit_a}\n"
    "stage B requires {entry_b}\n"
    '  entered from "entered_b"\n'
    "  allow skip\n"
    "  expect dwell <= 3d\n"
    "  in jp expect dwell <= 6d\n"
    "stage C requires {entry_c}\n"
    '  entered from "entered_c"\n'
    "  allow back to A\n"
    "  in jp expect dwell <= 2d\n"
    "stage D\n"
    '  entered from "entered_d"\n'
    "outcome lost\n"
    '  values "Closed Lost"\n'
    '  entered from "entered_lost"\n'
    "  requires {lost}\n"
)
ENTERED = ["entered_a", "entered_b", "entered_c", "entered_d", "entered_lost"]
# Entered dates around TODAY (2026-01-10): plain ones SQL reads, and others Python reads.
DATES = [
    "2026-01-01",
    "2026-01-04",
    "2026-01-06T12:00:00Z",
    "2026-01-07",
    "2026-01-08T00:00:00Z",
    "2026-01-09",
    "2026-01-10T09:00:00+00:00",
    "2026/01/05",
    "2026年1月3日",
    "2026-01-07T10:00:00+09:00",
    "not a date",
]


@settings(max_examples=120)
@given(
    st.fixed_dictionaries({key: conditions for key in ("exit_a", "entry_b", "entry_c", "lost")}),
    st.lists(
        st.fixed_dictionaries(
            {
                "record_id": st.sampled_from(IDS[:6]),
                "lifecycle_stage": st.sampled_from(["a", "B", "c", "d", "closed lost", "zz"]),
                **{name: cells_of(kind) for name, kind in FIELDS.items()},
                **{column: st.one_of(st.just(""), st.sampled_from(DATES)) for column in ENTERED},
            }
        ),
        max_size=12,
    ),
    st.booleans(),
)
def test_stage_history_gives_the_findings_of_the_python_engine(
    parts: dict[str, str], records: list[dict[str, str]], ordered: bool
) -> None:
    policy = stagelang.loads(HISTORY.format(**parts), "history.stage")
    columns = ["record_id", "lifecycle_stage", *FIELDS, *ENTERED]
    if ordered:
        # Mostly in order, as real exports are: each dated stage no earlier than the one below.
        for record in records:
            dated = [c for c in ENTERED[:4] if record[c] in DATES[:7]]
            for column, day in zip(dated, sorted(record[c] for c in dated), strict=True):
                record[column] = day
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "export.csv"
        with open(path, "w", encoding="utf-8", newline="") as file:
            writer = csv.writer(file)
            writer.writerow(columns)
            writer.writerows([record[column] for column in columns] for record in records)
        python, on_duckdb, engine = both_engines(policy, path)

    assert on_duckdb == python
    assert engine == "duckdb"


def test_stage_history_of_the_bundled_example_is_the_python_engines(tmp_path: Path) -> None:
    policy = stagelang.load(ROOT / "policies" / "japan.stage")
    # The bundled example without its unreadable rows, so that DuckDB reads it all.
    lines = (ROOT / "examples" / "contacts.csv").read_text(encoding="utf-8").splitlines()
    width = next(csv.reader([lines[0]])).__len__()
    readable = [line for line in lines if len(next(csv.reader([line]))) == width]
    export = tmp_path / "contacts.csv"
    export.write_text("\n".join(readable) + "\n", encoding="utf-8")

    python, on_duckdb, engine = both_engines(policy, export, as_of=dt.date(2026, 12, 31))

    assert on_duckdb == python
    assert engine == "duckdb"
    codes = {finding[3] for finding in python[0]}
    assert "SL517" in codes  # stalled records, found by the Python engine for DuckDB

    # With stage history, auto keeps the Python engine, whatever the size of the file.
    auto = DuckdbChecker(policy, engine="auto", threshold=0, as_of=dt.date(2026, 12, 31))
    assert findings_and_summary(auto, export) == python
    assert auto.summary.engine == "python"


def plain_export(folder: Path, records: list[dict[str, str]], name: str = "export.csv") -> Path:
    layout = {"encoding": "utf-8", "line_end": "\n", "blank_line_at": None, "tsv": False}
    path = write_export(folder, records, layout)
    return path.rename(folder / name)


def record(**cells: str) -> dict[str, str]:
    return {column: cells.get(column, "") for column in COLUMNS}


LADDER_POLICY = LADDER.format(
    exit_a="i1 >= 1",
    entry_b="b1",
    overlay_b="d1 > 1",
    instead_b="s2 is set",
    exit_b="day1 < today",
    entry_c="at1 is set",
    overlay_c="count(n1) >= 1",
    lost="s1 is set",
    overlay_lost="b2",
)


def test_plain_and_quirky_cells_give_the_same_findings(tmp_path: Path) -> None:
    policy = stagelang.loads(LADDER_POLICY, "ladder.stage")
    records = [
        record(record_id="1", lifecycle_stage="a", i1="0"),
        record(record_id="2", lifecycle_stage="B", b1="true", i1="2", day1="2026-01-07"),
        record(record_id="3", lifecycle_stage="B", b1="はい", i1="２", day1="2026年1月7日"),
        record(record_id="4", lifecycle_stage="C", b1="maybe", i1="1", s1="JP", d1="¥1,000"),
        record(record_id="3", lifecycle_stage="a", i1="1"),
        record(record_id="5", lifecycle_stage="Closed Lost"),
        record(record_id="6", lifecycle_stage="nowhere"),
    ]
    path = plain_export(tmp_path, records)

    python, on_duckdb, engine = both_engines(policy, path)

    assert on_duckdb == python
    assert engine == "duckdb"
    codes = {finding[3] for finding in python[0]}
    # The case exercises every kind of record the DuckDB engine hands back to Python.
    assert {"SL501", "SL502", "SL504", "SL505"} <= codes


def test_records_that_conform_are_counted_without_findings(tmp_path: Path) -> None:
    policy = stagelang.loads(LADDER_POLICY, "ladder.stage")
    records = [record(record_id=str(n), lifecycle_stage="a", i1="0") for n in range(50)]
    path = plain_export(tmp_path, records)

    python, on_duckdb, engine = both_engines(policy, path)

    assert engine == "duckdb"
    assert on_duckdb == python == ([], on_duckdb[1])
    assert on_duckdb[1]["by_stage"]["A"] == {"records": 50, "conforming": 50, "not_conforming": 0}
    # Nothing came back to Python: DuckDB read every cell and judged every record.
    assert list(DuckdbChecker(policy, as_of=TODAY).check_files([str(path)])) == []


def test_a_ragged_row_sends_the_file_to_the_python_engine(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    policy = stagelang.loads(LADDER_POLICY, "ladder.stage")
    path = plain_export(tmp_path, [record(record_id="1", lifecycle_stage="a")])
    with open(path, "a", encoding="utf-8") as file:
        file.write("2,a,too,few\n")

    with caplog.at_level(logging.WARNING, logger="stagelang"):
        python, on_duckdb, engine = both_engines(policy, path)

    assert on_duckdb == python
    assert engine == "python"
    assert any(f[3] == "SL506" for f in python[0])
    assert "checked with the Python engine" in caplog.text


def test_a_json_array_is_read_by_the_python_engine(tmp_path: Path) -> None:
    policy = stagelang.loads(LADDER_POLICY, "ladder.stage")
    path = tmp_path / "export.json"
    path.write_text(
        json.dumps([{"record_id": "1", "lifecycle_stage": "B", "b1": False}]),
        encoding="utf-8",
    )

    python, on_duckdb, engine = both_engines(policy, path)

    assert on_duckdb == python
    assert engine == "python"


def test_ids_repeated_across_files_keep_the_python_engine(tmp_path: Path) -> None:
    policy = stagelang.loads(LADDER_POLICY, "ladder.stage")
    first = plain_export(tmp_path, [record(record_id="1", lifecycle_stage="a")], "one.csv")
    second = plain_export(tmp_path, [record(record_id="1", lifecycle_stage="a")], "two.csv")

    def run(checker: Checker) -> list[str]:
        results = checker.check_files([str(first), str(second)])
        return [finding.message for result in results for finding in result.findings]

    on_duckdb = DuckdbChecker(policy, as_of=TODAY)
    assert run(on_duckdb) == run(Checker(policy, as_of=TODAY))
    assert on_duckdb.summary.engine == "python"

    each_file = DuckdbChecker(policy, as_of=TODAY, duplicate_ids=False)
    assert run(each_file) == []
    assert each_file.summary.engine == "duckdb"


def test_auto_takes_duckdb_from_the_threshold_on(tmp_path: Path) -> None:
    policy = stagelang.loads(LADDER_POLICY, "ladder.stage")
    path = plain_export(tmp_path, [record(record_id="1", lifecycle_stage="B")])
    size = path.stat().st_size

    small = DuckdbChecker(policy, engine="auto", threshold=size + 1, as_of=TODAY)
    large = DuckdbChecker(policy, engine="auto", threshold=size, as_of=TODAY)
    results = [list(checker.check_files([str(path)])) for checker in (small, large)]

    assert [small.summary.engine, large.summary.engine] == ["python", "duckdb"]
    assert results[0][0].findings == results[1][0].findings


def test_a_file_duckdb_cannot_split_goes_to_the_python_engine() -> None:
    # The bundled example holds a ragged row on purpose.
    policy = stagelang.load(ROOT / "policies" / "japan.stage")
    export = ROOT / "examples" / "contacts.csv"

    python, on_duckdb, engine = both_engines(policy, export)

    assert on_duckdb == python
    assert engine == "python"


def test_waivers_apply_alike(tmp_path: Path) -> None:
    from stagelang.waivers import load_waivers

    policy = stagelang.load(ROOT / "policies" / "japan.stage")
    # The bundled example without its entered dates: a snapshot DuckDB can check.
    with open(ROOT / "examples" / "contacts.csv", encoding="utf-8", newline="") as file:
        table = list(csv.reader(file))
    keep = [i for i, name in enumerate(table[0]) if not name.startswith("date_entered")]
    snapshot = tmp_path / "snapshot.csv"
    with open(snapshot, "w", encoding="utf-8", newline="") as file:
        csv.writer(file).writerows([[row[i] for i in keep] for row in table])
    waivers_file = ROOT / "examples" / "japan.waivers.toml"
    day = dt.date(2026, 6, 30)

    def run(checker_type: type[Checker]) -> tuple[list[Any], dict[str, Any]]:
        waivers = load_waivers(waivers_file, policy, day)
        checker = checker_type(policy, as_of=day, waivers=waivers)
        results = list(checker.check_files([str(snapshot)]))
        found = [(r.line, [f.message for f in r.findings], len(r.waived)) for r in results]
        closing = [f.message for f in checker.finish()]
        summary = checker.summary.to_dict()
        summary.pop("engine")
        return [item for item in found if item[1] or item[2]] + [closing], summary

    assert run(DuckdbChecker) == run(Checker)
    assert run(Checker)[1]["waived"] > 0


# The command line ----------------------------------------------------------------------------


@pytest.fixture
def export(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    policy = tmp_path / "ladder.stage"
    policy.write_text(LADDER_POLICY, encoding="utf-8")
    records = [record(record_id="1", lifecycle_stage="B", i1="1"), record(record_id="2")]
    yield policy, plain_export(tmp_path, records)


def test_check_says_which_engine_ran(export: tuple[Path, Path]) -> None:
    policy, path = export
    runner = CliRunner()
    texts = {}
    for engine in ("python", "duckdb"):
        result = runner.invoke(
            main, ["check", str(policy), str(path), "--engine", engine, "--as-of", "2026-01-10"]
        )
        assert result.exit_code == 1, result.output
        texts[engine] = result.stdout

    assert "with the DuckDB engine." in texts["duckdb"]
    assert "with the Python engine." in texts["python"]
    assert texts["duckdb"].replace("DuckDB", "Python") == texts["python"]


def test_check_json_is_the_same_on_both_engines(export: tuple[Path, Path]) -> None:
    policy, path = export
    runner = CliRunner()
    outputs = {}
    for engine in ("python", "duckdb"):
        arguments = ["check", str(policy), str(path), "--format", "json", "--engine", engine]
        result = runner.invoke(main, [*arguments, "--as-of", "2026-01-10"])
        outputs[engine] = json.loads(result.stdout)

    assert outputs["duckdb"]["summary"].pop("engine") == "duckdb"
    assert outputs["python"]["summary"].pop("engine") == "python"
    assert outputs["duckdb"] == outputs["python"]


def test_csv_output_with_the_duckdb_engine_is_refused(export: tuple[Path, Path]) -> None:
    policy, path = export
    result = CliRunner().invoke(
        main, ["check", str(policy), str(path), "--format", "csv", "--engine", "duckdb"]
    )

    assert result.exit_code == 2
    assert "--format csv writes every row of the export back" in result.stderr


# Parquet -------------------------------------------------------------------------------------


def csv_cell(value: Any) -> str:
    """A typed value as an export writes it in its plain form."""
    if value is None or value == "__absent__":
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ";".join(csv_cell(item) for item in value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def stored(value: Any, kind: str) -> Any:
    """A decimal as the Parquet file holds it, DECIMAL(38, 9), so that both say 0.500000000."""
    if kind == "decimal" and isinstance(value, int | float | Decimal) and value is not True:
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        return f"{number:.9f}"
    return value


def write_both(folder: Path, policy: Policy, records: list[dict[str, Any]]) -> tuple[Path, Path]:
    """The records as a CSV export and as a Parquet file with typed columns."""
    import duckdb
    from sql_backends import create_table, insert_rows

    fields = list(policy.checked.fields.values())
    export = folder / "export.csv"
    with open(export, "w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow([field.column for field in fields])
        for record in records:
            writer.writerow([csv_cell(stored(record.get(f.name), f.type.name)) for f in fields])
    parquet = folder / "export.parquet"
    with duckdb.connect() as connection:
        connection.execute("SET TimeZone = 'UTC'")
        connection.execute(create_table(policy.checked, "duckdb"))
        statement, values = insert_rows(policy.checked, records, mark="?")
        if values:
            connection.executemany(statement, values)
        connection.execute(f"COPY \"records\" TO '{parquet}' (FORMAT parquet)")
    return export, parquet


@settings(max_examples=60)
@given(
    st.fixed_dictionaries({key: conditions for key in PARTS}),
    st.lists(
        st.sampled_from(["a", "B", " c ", "zz", "", "closed lost"]).flatmap(
            lambda stage: typed_records(stage)
        ),
        max_size=8,
    ),
)
def test_a_parquet_file_gives_the_findings_of_the_same_records_as_csv(
    parts: dict[str, str], records: list[dict[str, Any]]
) -> None:
    policy = stagelang.loads(LADDER.format(**parts), "ladder.stage")
    for index, typed in enumerate(records):
        typed["record_id"] = str(index % 5)  # some ids repeat
    with tempfile.TemporaryDirectory() as folder:
        export, parquet = write_both(Path(folder), policy, records)
        from_csv = findings_and_summary(Checker(policy, as_of=TODAY), export)
        checker = DuckdbChecker(policy, as_of=TODAY)
        from_parquet = findings_and_summary(checker, parquet)

    # A Parquet record's place is its row number; the CSV's line counts the header too, also
    # where a repeated id names the line of the record that used it first.
    def row_of_line(match: re.Match[str]) -> str:
        return f"line {int(match[1]) - 1}"

    csv_findings = [
        (line - 1, record_id, code, re.sub(r"line (\d+)", row_of_line, message), *rest)
        for _, line, record_id, code, message, *rest in from_csv[0]
    ]
    assert [finding[1:] for finding in from_parquet[0]] == csv_findings
    from_csv[1].pop("files")
    from_parquet[1].pop("files")
    assert from_parquet[1] == from_csv[1]
    assert checker.summary.engine == "duckdb"


def test_a_parquet_column_of_the_wrong_type_is_named(tmp_path: Path) -> None:
    import duckdb

    policy = tmp_path / "ladder.stage"
    policy.write_text(LADDER_POLICY, encoding="utf-8")
    parquet = tmp_path / "export.parquet"
    with duckdb.connect() as connection:
        connection.execute(
            "COPY (SELECT '1' AS record_id, 'a' AS lifecycle_stage, DATE '2026-01-01' AS i1) "
            f"TO '{parquet}' (FORMAT parquet)"
        )
    result = CliRunner().invoke(main, ["check", str(policy), str(parquet)])

    assert result.exit_code == 2
    # Missing columns are said first, as for a CSV export.
    assert 'column "b1"' in result.stderr

    with duckdb.connect() as connection:
        columns = ", ".join(f"NULL::VARCHAR AS {name}" for name in FIELDS if name != "i1")
        connection.execute(
            f"COPY (SELECT '1' AS record_id, 'a' AS lifecycle_stage, DATE '2026-01-01' AS i1, "
            f"{columns}) TO '{parquet}' (FORMAT parquet)"
        )
    result = CliRunner().invoke(main, ["check", str(policy), str(parquet)])

    assert result.exit_code == 2
    assert 'column "i1" is DATE, which cannot hold field "i1" (int)' in result.stderr


def test_the_python_engine_sends_parquet_to_duckdb(tmp_path: Path) -> None:
    policy = tmp_path / "ladder.stage"
    policy.write_text(LADDER_POLICY, encoding="utf-8")
    parquet = tmp_path / "export.parquet"
    parquet.write_bytes(b"PAR1")

    result = CliRunner().invoke(main, ["check", str(policy), str(parquet), "--engine", "python"])

    assert result.exit_code == 2
    assert "only stagelang check's DuckDB engine reads" in result.stderr


# JSON Lines ----------------------------------------------------------------------------------

JSON_VALUES: dict[str, list[Any]] = {
    "bool": [True, False, "true", "はい", "maybe", 1, 0, 2],
    "int": [3, -2, 0, "4", " 4", "１２", 2.0, 2.5, 18446744073709551616, True],
    "decimal": [0.5, 1.0, -1.5, 2, "2.25", "1,200.50", 1e-12, 1e2, 12345678901234567890],
    "string": ["JP", "US", " JP", "J\tP", "", "  ", 7, 1.5, False],
    "list<string>": ["JP;US", ["JP", "US"], [], ["JP", None], " US"],
    "list<int>": ["1;2", [1, 2], [], "x"],
    "date": ["2026-01-07", "2026/01/07", "2026年1月7日", 1767780000000, "bad"],
    "datetime": ["2026-01-07T10:00:00Z", "2026-01-07 10:00:00", 1767780000000, "2026-01-07"],
}
JSON_SHAPES = [
    None,  # a plain object
    "blank",
    "not json",
    "a list",
    "repeated key",
    "bom",
]


@st.composite
def json_records(draw: st.DrawFn) -> str:
    record: dict[str, Any] = {
        "record_id": draw(st.sampled_from(["1", "2", "3", " 1", 4, ""])),
        "lifecycle_stage": draw(st.sampled_from(STAGES)),
    }
    for name, kind in FIELDS.items():
        choice = draw(st.sampled_from(["absent", "null", "value", "value"]))
        if choice == "null":
            record[name] = None
        elif choice == "value":
            record[name] = draw(st.sampled_from(JSON_VALUES[kind]))
    text = json.dumps(record, ensure_ascii=draw(st.booleans()))
    shape = draw(st.sampled_from(JSON_SHAPES + [None] * 6))
    if shape == "blank":
        return "  "
    if shape == "not json":
        return text[:-1]
    if shape == "a list":
        return json.dumps([record["record_id"]])
    if shape == "repeated key":
        return text[:-1] + ', "lifecycle_stage": "C"}'
    if shape == "bom":
        return "\ufeff" + text
    return text


@settings(max_examples=150)
@given(
    st.fixed_dictionaries({key: conditions for key in PARTS}),
    st.lists(json_records(), max_size=12),
    st.sampled_from(["\n", "\r\n"]),
    st.sampled_from(["utf-8", "cp932"]),
)
def test_json_lines_give_the_findings_of_the_python_engine(
    parts: dict[str, str], lines: list[str], line_end: str, encoding: str
) -> None:
    policy = stagelang.loads(LADDER.format(**parts), "ladder.stage")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "export.jsonl"
        try:
            path.write_bytes("".join(line + line_end for line in lines).encode(encoding))
        except UnicodeEncodeError:
            return  # a character cp932 cannot hold; UTF-8 writes it
        python, on_duckdb, engine = both_engines(policy, path)

    assert on_duckdb == python
    assert engine == "duckdb"


def test_plain_json_lines_that_conform_are_settled_in_duckdb(tmp_path: Path) -> None:
    policy = stagelang.loads(LADDER_POLICY, "ladder.stage")
    path = tmp_path / "export.jsonl"
    lines = [
        json.dumps({"record_id": str(n), "lifecycle_stage": "B", "b1": True, "i1": 1})
        for n in range(20)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    checker = DuckdbChecker(policy, as_of=TODAY)

    results = list(checker.check_files([str(path)]))

    # Nothing came back to Python: DuckDB read every value and judged every record.
    assert results == []
    assert checker.summary.conforming == 20
    assert checker.summary.engine == "duckdb"


def test_without_the_sql_extra_auto_uses_python_and_duckdb_says_what_to_install(
    export: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    policy, path = export
    monkeypatch.setitem(sys.modules, "duckdb", None)  # as if the sql extra were not installed
    runner = CliRunner()

    asked = runner.invoke(main, ["check", str(policy), str(path), "--engine", "duckdb"])
    auto = runner.invoke(main, ["check", str(policy), str(path), "--engine", "auto"])

    assert asked.exit_code == 2
    assert "pip install 'stagelang[sql]'" in asked.stderr
    assert auto.exit_code == 1
    assert "with the Python engine." in auto.stdout
