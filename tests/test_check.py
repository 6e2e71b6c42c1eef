"""`stagelang check` and `Policy.check_file`: real exports, their quirks, and every outcome."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import stagelang
from stagelang.checking import Checker
from stagelang.cli import main
from stagelang.records.readers import InputError

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
JAPAN = str(ROOT / "policies" / "japan.stage")
SCHEMA = json.loads((ROOT / "docs" / "check-output.schema.json").read_text("utf-8"))
GOLDEN = Path(__file__).resolve().parent / "golden"

HEADER = (
    "record_id,country,lifecycle_stage,icp_fit,engaged_sessions,need,process,"
    "decision_makers,meeting_at,budget,stakeholder,contract_signed_at"
)


def run(*args: str, stdin: bytes | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), input=stdin, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def check_json(*args: str, stdin: bytes | None = None) -> tuple[int, dict[str, Any]]:
    code, out, err = run("check", JAPAN, *args, "--format", "json", stdin=stdin)
    assert code in (0, 1), err
    document = json.loads(out)
    jsonschema.validate(document, SCHEMA)
    return code, document


def findings_by_line(document: dict[str, Any]) -> set[tuple[int, str, str]]:
    return {(f["line"], f["code"], f["message"]) for f in document["findings"]}


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> str:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return str(path)


@pytest.fixture(autouse=True)
def in_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # the example paths in outputs are then short and stable


# The bundled example --------------------------------------------------------------------------


def test_the_bundled_example_is_accounted_for_row_by_row() -> None:
    code, document = check_json("examples/contacts.csv")
    summary = document["summary"]
    assert code == 1
    assert (
        summary["records"],
        summary["conforming"],
        summary["not_conforming"],
        summary["unreadable"],
    ) == (300, 250, 49, 1)
    assert (
        summary["records"]
        == summary["conforming"] + summary["not_conforming"] + summary["unreadable"]
    )
    by_line = {(f["line"], f["code"]) for f in document["findings"]}
    assert {
        (35, "SL502"),
        (106, "SL503"),
        (216, "SL504"),
        (217, "SL505"),
        (217, "SL501"),
        (263, "SL506"),
    } <= by_line


def test_the_cp932_copy_gives_the_same_verdicts() -> None:
    _, utf8 = check_json("examples/contacts.csv")
    _, cp932 = check_json("examples/contacts-cp932.csv")
    assert findings_by_line(cp932) == findings_by_line(utf8)
    assert cp932["summary"]["by_stage"] == utf8["summary"]["by_stage"]


def test_the_json_lines_copy_gives_the_same_verdicts_by_id() -> None:
    _, utf8 = check_json("examples/contacts.csv")
    _, lines = check_json("examples/contacts.jsonl")

    # Line numbers differ (the JSON Lines copy has no ragged row), so compare by record id.
    def by_id(document: dict[str, Any]) -> set[tuple[str, str, str]]:
        return {
            (f["id"], f["code"], f["message"].split(" on line")[0])
            for f in document["findings"]
            if f["code"] != "SL506"
        }

    assert by_id(lines) == by_id(utf8)


def test_text_output(monkeypatch: pytest.MonkeyPatch) -> None:
    # The example was exported on 2026-11-30: stalls are measured to that day.
    code, out, _ = run(
        "check",
        "policies/japan.stage",
        "examples/contacts.csv",
        "--limit",
        "2",
        "--no-color",
        "--as-of",
        "2026-11-30",
    )
    assert code == 1
    path = GOLDEN / "check_example.txt"
    if os.environ.get("STAGELANG_UPDATE_GOLDEN"):
        path.write_text(out, "utf-8")
    assert out == path.read_text("utf-8")


def test_a_clean_export_exits_zero(tmp_path: Path) -> None:
    data = write(
        tmp_path, "clean.csv", HEADER + "\n1,JP,subscriber,,,,,,,,,\n2,US,mql,yes,4,,,,,,,\n"
    )
    code, out, _ = run("check", JAPAN, data, "--no-color")
    assert code == 0
    assert out.splitlines()[-1] == "All 2 records conform."


# Encodings ------------------------------------------------------------------------------------

ROWS = HEADER + "\n1,JP,mql,はい,２,,,,,,,\n2,JP,mql,true,5,,,,,,,\n"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "cp932"])
def test_encodings_are_detected(tmp_path: Path, encoding: str) -> None:
    _, document = check_json(write(tmp_path, "e.csv", ROWS, encoding))
    assert [(f["line"], f["clause"]) for f in document["findings"]] == [
        (2, "engaged_sessions >= 3")
    ]


def test_an_encoding_can_be_forced(tmp_path: Path) -> None:
    data = write(tmp_path, "e.csv", ROWS, "cp932")
    _, document = check_json(data, "--encoding", "cp932")
    assert document["summary"]["records"] == 2


def test_an_undecodable_file_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.csv"
    path.write_bytes(ROWS.encode("utf-8") + b"3,JP,mql,true,5,,,,,,\xff\xfe,\n")
    code, _, err = run("check", JAPAN, str(path), "--encoding", "utf-8")
    assert code == 2
    assert f"{path}:4: cannot be decoded as utf-8" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("option", ["--encoding", "--output-encoding"])
def test_an_unknown_encoding_is_a_usage_error(tmp_path: Path, option: str) -> None:
    data = write(tmp_path, "e.csv", ROWS)
    code, _, err = run("check", JAPAN, data, option, "klingon", "--format", "csv")
    assert code == 2
    assert f'{option}: "klingon" is not an encoding' in err


# CSV realities --------------------------------------------------------------------------------


def test_crlf_quoted_newlines_and_commas_keep_line_numbers(tmp_path: Path) -> None:
    text = (
        HEADER + '\r\n1,JP,opportunity,true,5,true,true,"A;B",2026-01-01T00:00:00Z,0,'
        '"Sato, Taro\r\n(CFO)",\r\n2,US,mql,false,1,,,,,,,\r\n'
    )
    _, document = check_json(write(tmp_path, "q.csv", text))
    lines = sorted({(f["line"], f["clause"]) for f in document["findings"]})
    assert lines == [(2, "budget > 0"), (4, "icp_fit")]


def test_a_ragged_row_is_a_finding_not_a_shift(tmp_path: Path) -> None:
    text = HEADER + "\n1,JP,subscriber,,,,,,,,,\n2,US,mql,true,3,,,,,,Brown, Alice,\n"
    code, document = check_json(write(tmp_path, "r.csv", text))
    assert code == 1
    (finding,) = document["findings"]
    assert (finding["line"], finding["code"]) == (3, "SL506")
    assert "13 columns but the header has 12" in finding["message"]
    assert document["summary"]["unreadable"] == 1


def test_missing_columns_are_one_error_with_suggestions(tmp_path: Path) -> None:
    text = HEADER.replace("engaged_sessions", "Engaged Sesions").replace(",budget", ",Budget")
    code, out, err = run("check", JAPAN, write(tmp_path, "m.csv", text + "\n"))
    assert code == 2
    assert out == ""
    assert 'column "engaged_sessions"; closest header: "Engaged Sesions"' in err
    assert '"budget"' not in err  # matched ignoring case: not missing


def test_extra_columns_are_ignored(tmp_path: Path) -> None:
    text = HEADER + ",email\n1,JP,subscriber,,,,,,,,,,a@example.com\n"
    code, document = check_json(write(tmp_path, "x.csv", text))
    assert (code, document["findings"]) == (0, [])


def test_an_empty_file_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = run("check", JAPAN, write(tmp_path, "empty.csv", ""))
    assert code == 2
    assert "the file is empty" in err


def test_a_missing_file_is_a_usage_error() -> None:
    code, _, err = run("check", JAPAN, "nope.csv")
    assert (code, err.strip()) == (2, "stagelang: nope.csv: no such file")


def test_a_policy_with_errors_is_a_usage_error(tmp_path: Path) -> None:
    policy = write(tmp_path, "bad.stage", "stage field s\nstage A requires nope\n")
    code, _, err = run("check", policy, "examples/contacts.csv")
    assert code == 2
    assert 'unknown field "nope"' in err


# Values ---------------------------------------------------------------------------------------


def test_japanese_quirks_are_read_as_values(tmp_path: Path) -> None:
    text = (
        HEADER + '\n1,JP,customer,はい,５,yes,Y,佐藤;鈴木,2026/12/03 14:05,"￥1,200,000",'
        "佐藤 (部長),2026年12月3日\n"
    )
    code, document = check_json(write(tmp_path, "jp.csv", text, "cp932"))
    assert (code, document["findings"]) == (0, [])


def test_a_bad_value_is_a_finding_and_never_read_as_missing(tmp_path: Path) -> None:
    policy = write(
        tmp_path,
        "p.stage",
        "id field record_id\nstage field lifecycle_stage\n"
        "field budget: decimal\nstage Lead requires budget is missing\n",
    )
    data = write(tmp_path, "d.csv", "record_id,lifecycle_stage,budget\n1,lead,TBD\n2,lead,\n")
    code, out, _ = run("check", policy, data, "--format", "json")
    document = json.loads(out)
    assert code == 1
    assert [(f["line"], f["code"], f["message"]) for f in document["findings"]] == [
        (2, "SL505", '"budget" holds "TBD", which is not a number'),
        (2, "SL501", "Lead requires budget is missing, but budget could not be read"),
    ]


def test_datetimes_without_an_offset_are_read_in_the_given_zone(tmp_path: Path) -> None:
    policy = write(
        tmp_path,
        "p.stage",
        "id field record_id\nstage field lifecycle_stage\n"
        "field at: datetime\nfield ref: datetime\nstage Booked requires at >= ref\n",
    )
    data = write(
        tmp_path,
        "d.csv",
        "record_id,lifecycle_stage,at,ref\n1,booked,2026-03-01 05:00,2026-03-01T00:00:00Z\n",
    )
    assert run("check", policy, data)[0] == 0  # 05:00 UTC is after midnight UTC
    assert (
        run("check", policy, data, "--timezone", "Asia/Tokyo")[0] == 1
    )  # 20:00 UTC the day before
    assert run("check", policy, data, "--timezone", "+09:00")[0] == 1
    code, _, err = run("check", policy, data, "--timezone", "Mars/Olympus")
    assert (code, 'unknown time zone "Mars/Olympus"' in err) == (2, True)


def test_as_of_fixes_today(tmp_path: Path) -> None:
    policy = write(
        tmp_path,
        "p.stage",
        "id field record_id\nstage field lifecycle_stage\n"
        "field signed: date\nstage Customer requires today - signed <= 30d\n",
    )
    data = write(tmp_path, "d.csv", "record_id,lifecycle_stage,signed\n1,customer,2026-11-20\n")
    assert run("check", policy, data, "--as-of", "2026-12-03")[0] == 0
    assert run("check", policy, data, "--as-of", "2027-03-01")[0] == 1


def test_duplicate_ids_across_files(tmp_path: Path) -> None:
    first = write(tmp_path, "a.csv", HEADER + "\n7,JP,subscriber,,,,,,,,,\n")
    second = write(tmp_path, "b.csv", HEADER + "\n7,JP,subscriber,,,,,,,,,\n")
    _, document = check_json(first, second)
    (finding,) = document["findings"]
    assert finding["code"] == "SL504"
    assert finding["message"] == f'record id "7" is also used on {first} line 2'


# JSON inputs and standard input ----------------------------------------------------------------


def test_a_json_array_of_objects(tmp_path: Path) -> None:
    records = [
        {
            "record_id": 1,
            "lifecycle_stage": "mql",
            "country": "JP",
            "icp_fit": True,
            "engaged_sessions": 2,
        },
        {"record_id": 2, "lifecycle_stage": "subscriber"},
    ]
    data = write(tmp_path, "d.json", json.dumps(records, indent=2))
    _, document = check_json(data)
    assert [(f["id"], f["line"], f["clause"]) for f in document["findings"]] == [
        ("1", 2, "engaged_sessions >= 3")
    ]


def test_a_json_line_that_is_not_an_object_is_unreadable(tmp_path: Path) -> None:
    data = write(
        tmp_path, "d.jsonl", '{"record_id": "1", "lifecycle_stage": "subscriber"}\n[1, 2]\n{oops\n'
    )
    _, document = check_json(data)
    assert [(f["line"], f["code"]) for f in document["findings"]] == [(2, "SL506"), (3, "SL506")]
    assert document["summary"]["unreadable"] == 2


@pytest.mark.parametrize("input_format", [None, "jsonl"], ids=["sniffed", "named"])
def test_standard_input(input_format: str | None) -> None:
    data = b'{"record_id": "1", "lifecycle_stage": "mql", "icp_fit": "no", "engaged_sessions": 4}'
    extra = ["--input-format", input_format] if input_format else []
    _, document = check_json("-", *extra, stdin=data)
    assert [f["clause"] for f in document["findings"]] == ["icp_fit"]


# CSV output -----------------------------------------------------------------------------------


def test_csv_output_appends_the_verdict_in_the_input_encoding(tmp_path: Path) -> None:
    data = write(tmp_path, "jp.csv", ROWS, "cp932")
    result = CliRunner().invoke(main, ["check", JAPAN, data, "--format", "csv"])
    rows = list(csv.reader(io.StringIO(result.stdout_bytes.decode("cp932"))))
    assert rows[0][-3:] == [
        "stagelang_conforms",
        "stagelang_first_unmet_stage",
        "stagelang_reasons",
    ]
    assert rows[1][:5] == ["1", "JP", "mql", "はい", "２"]
    assert rows[1][-3:-1] == ["false", "MQL"]
    assert rows[2][-3:] == ["true", "", ""]


# The Python API and the totals ------------------------------------------------------------------


def test_check_file_yields_one_result_per_row() -> None:
    policy = stagelang.load(JAPAN)
    results = list(policy.check_file("examples/contacts.csv"))
    assert len(results) == 300
    assert [r.line for r in results if r.unreadable] == [263]
    evangelist = next(r for r in results if r.line == 35)
    assert (evangelist.stage, evangelist.findings[0].code) == (None, "SL502")


def test_check_file_raises_input_error_for_an_unreadable_file() -> None:
    policy = stagelang.load(JAPAN)
    with pytest.raises(InputError, match="no such file"):
        list(policy.check_file("nope.csv"))


_cells = st.sampled_from(
    ["", "JP", "mql", "customer", "yes", "no", "3", "x", "¥1,000", "2026/01/02", "a;b"]
)


@settings(max_examples=50)
@given(st.lists(st.lists(_cells, min_size=10, max_size=14), max_size=15))
def test_every_row_is_accounted_for(rows: list[list[str]]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER.split(","))
    writer.writerows(rows)
    policy = stagelang.load(JAPAN)
    checker = Checker(policy)
    with _table_from_text(buffer.getvalue()) as table:
        results = list(checker.check_table(table))
    summary = checker.summary
    assert len(results) == len(rows) == summary.records
    assert summary.unreadable == sum(1 for row in rows if len(row) != 12)
    assert sum(t.records for t in summary.by_stage.values()) == len(rows) - summary.unreadable


def _table_from_text(text: str) -> Any:
    import tempfile

    from stagelang.records.readers import open_table

    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False, encoding="utf-8") as handle:
        handle.write(text)
    return open_table(handle.name)


def test_duplicate_ids_can_be_left_unchecked(tmp_path: Path) -> None:
    data = write(
        tmp_path, "a.csv", HEADER + "\n7,JP,subscriber,,,,,,,,,\n7,JP,subscriber,,,,,,,,,\n"
    )
    assert run("check", JAPAN, data)[0] == 1
    assert run("check", JAPAN, data, "--no-duplicate-ids")[0] == 0


def test_an_ambiguous_date_gets_advice(tmp_path: Path) -> None:
    policy = write(
        tmp_path,
        "p.stage",
        "id field record_id\nstage field lifecycle_stage\n"
        "field signed: date required\nstage Customer\n",
    )
    data = write(tmp_path, "d.csv", "record_id,lifecycle_stage,signed\n1,customer,2/1/2018\n")
    code, out, _ = run("check", policy, data, "--format", "json")
    (bad, _unmet) = json.loads(out)["findings"]
    assert code == 1
    assert bad["message"].startswith('"signed" holds "2/1/2018", which is not a date')
    assert "export dates as YEAR-MONTH-DAY" in bad["message"]


def test_a_spreadsheet_workbook_is_refused_with_advice(tmp_path: Path) -> None:
    code, _, err = run("check", JAPAN, write(tmp_path, "export.xlsx", "PK"))
    assert code == 2
    assert "save the sheet as CSV" in err
