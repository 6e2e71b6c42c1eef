"""`stagelang schema`: the JSON Schema of a record, and JSON records validated with it."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

import stagelang
from stagelang.cli import main
from stagelang.records.coerce import CoercionError, coercer
from stagelang.schema import RecordValidator, record_schema

ROOT = Path(__file__).resolve().parent.parent
JAPAN = ROOT / "policies" / "japan.stage"
HUBSPOT = ROOT / "policies" / "hubspot.stage"
GOLDEN = Path(__file__).parent / "golden"

POLICY = stagelang.load(JAPAN)
SCHEMA = record_schema(POLICY)
VALIDATOR = RecordValidator(POLICY)


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(SCHEMA)


def test_the_schema_has_a_property_per_field_keyed_by_export_column() -> None:
    hubspot = record_schema(stagelang.load(HUBSPOT))
    assert "Record ID" in hubspot["properties"]
    assert "Lifecycle Stage" in hubspot["properties"]
    assert hubspot["properties"]["Lifecycle Stage"]["title"] == "lifecycle_stage"
    assert set(SCHEMA["properties"]) == {f.column for f in POLICY.fields.values()}
    assert SCHEMA["required"] == ["lifecycle_stage"]


def test_the_stage_field_lists_the_stage_values() -> None:
    hubspot = record_schema(stagelang.load(HUBSPOT))
    stage = hubspot["properties"]["Lifecycle Stage"]
    assert stage["type"] == "string"
    assert "marketingqualifiedlead" in stage["enum"]
    assert "Marketing Qualified Lead" in stage["enum"]
    assert "Meeting Booked" in stage["enum"]


def test_formats_and_required_fields() -> None:
    policy = stagelang.loads(
        "id field record_id\nstage field stage\n"
        "field signed: date required\nfield seen: datetime\n"
        "stage Lead requires signed is set and seen is set\n"
    )
    schema = record_schema(policy)
    assert sorted(schema["required"]) == ["signed", "stage"]
    signed, seen = schema["properties"]["signed"], schema["properties"]["seen"]
    assert {"type": "string", "format": "date"} in signed["anyOf"]
    assert {"type": "null"} not in signed["anyOf"]
    assert {"type": "string", "format": "date-time"} in seen["anyOf"]
    assert {"type": "null"} in seen["anyOf"]
    validator = Draft202012Validator(schema)
    assert not validator.is_valid({"stage": "Lead"})  # signed is required
    assert validator.is_valid({"stage": "Lead", "signed": "2026-03-01", "seen": None})
    assert not validator.is_valid({"stage": "Customer", "signed": "2026-03-01"})


def test_schema_command_prints_the_schema_as_the_golden_file() -> None:
    result = CliRunner().invoke(main, ["schema", str(JAPAN.relative_to(ROOT))])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == record_schema(stagelang.load("policies/japan.stage"))
    golden = GOLDEN / "japan.schema.json"
    if os.environ.get("STAGELANG_UPDATE_GOLDEN"):
        golden.write_text(result.stdout, "utf-8")
    assert result.stdout == golden.read_text("utf-8")


def test_schema_command_writes_a_file_and_refuses_a_broken_policy(tmp_path: Path) -> None:
    out = tmp_path / "record.schema.json"
    result = CliRunner().invoke(main, ["schema", str(JAPAN), "-o", str(out)])
    assert (result.exit_code, result.stdout) == (0, "")
    assert json.loads(out.read_text("utf-8"))["title"] == "A record checked with policy japan-b2b"

    broken = tmp_path / "broken.stage"
    broken.write_text("stage field s\nstage A requires nope\n", "utf-8")
    result = CliRunner().invoke(main, ["schema", str(broken)])
    assert result.exit_code == 2
    assert "SL101" in result.stderr and "broken.stage has errors" in result.stderr


# Validation in `check` ----------------------------------------------------------------------


def test_check_reports_each_schema_error_with_line_and_path(tmp_path: Path) -> None:
    export = tmp_path / "contacts.jsonl"
    records = [
        {"record_id": 1, "lifecycle_stage": "Subscriber", "engaged_sessions": 0},
        {"record_id": 2, "lifecycle_stage": "MQL", "icp_fit": True, "engaged_sessions": [3]},
        {"record_id": 3, "lifecycle_stage": "mql", "icp_fit": {"yes": 1}, "engaged_sessions": 4},
        {
            "record_id": 4,
            "lifecycle_stage": "SQL",
            "icp_fit": True,
            "engaged_sessions": 5,
            "need": True,
            "process": True,
            "decision_makers": ["Sato", {"name": "Ito"}],
        },
    ]
    export.write_text("".join(json.dumps(r) + "\n" for r in records), "utf-8")
    found = [
        (f.line, f.column, f.message)
        for result in POLICY.check_file(str(export))
        for f in result.findings
        if f.code == "SL507"
    ]
    assert found == [
        (2, "engaged_sessions", "$.engaged_sessions holds a list [...], expected a whole number"),
        (3, "icp_fit", "$.icp_fit holds an object {...}, expected true or false"),
        (4, "decision_makers", "$.decision_makers[1] holds an object {...}, expected text"),
    ]


def test_a_schema_error_takes_the_place_of_the_bad_value_finding(tmp_path: Path) -> None:
    export = tmp_path / "contacts.json"
    export.write_text(
        '[\n  {"record_id": 1, "lifecycle_stage": "MQL", "icp_fit": true,\n'
        '   "engaged_sessions": [3]},\n'
        '  {"record_id": 2, "lifecycle_stage": "MQL", "icp_fit": true,\n'
        '   "engaged_sessions": "many"}\n]\n',
        "utf-8",
    )
    results = list(POLICY.check_file(str(export)))
    first = [(f.code, f.line) for f in results[0].findings if f.code.startswith("SL50")]
    second = [(f.code, f.line) for f in results[1].findings if f.code.startswith("SL50")]
    # The list is the wrong kind of JSON value (SL507, at its record's first line); the
    # text is the right kind but not a number (SL505). Neither is reported twice.
    assert ("SL507", 2) in first and "SL505" not in {code for code, _ in first}
    assert ("SL505", 4) in second and "SL507" not in {code for code, _ in second}


def test_csv_exports_are_not_validated_against_the_schema() -> None:
    codes = {
        f.code
        for r in POLICY.check_file(str(ROOT / "examples" / "contacts.csv"))
        for f in r.findings
    }
    assert "SL507" not in codes


# The schema agrees with the readers ----------------------------------------------------------

_JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**15), 10**15)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=2)
    ),
    max_leaves=6,
)


@given(field=st.sampled_from(sorted(POLICY.fields)), value=_JSON_VALUES)
def test_a_value_the_schema_rejects_is_one_stagelang_cannot_read(field: str, value: Any) -> None:
    declared = POLICY.fields[field]
    errors = list(VALIDATOR.errors({declared.column: value}))
    if errors:
        read = coercer(declared.type, separator=declared.separator)
        try:
            read(value)
        except CoercionError:
            return
        raise AssertionError(f"{field}: the schema rejects {value!r}, which the reader reads")


_CANONICAL = {
    "bool": st.booleans(),
    "int": st.integers(-(10**9), 10**9),
    "decimal": st.decimals(-(10**6), 10**6, places=2).map(str),
    "string": st.text(min_size=1, max_size=10),
    "date": st.dates().map(lambda d: d.isoformat()),
    "datetime": st.datetimes(timezones=st.just(__import__("datetime").UTC)).map(
        lambda d: d.isoformat()
    ),
}


@st.composite
def _records(draw: st.DrawFn) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for declared in POLICY.fields.values():
        if declared.role == "stage":
            record[declared.column] = draw(
                st.sampled_from(SCHEMA["properties"]["lifecycle_stage"]["enum"])
            )
        elif draw(st.booleans()):
            kind = declared.type.item or declared.type
            value = _CANONICAL[kind.name]
            record[declared.column] = draw(
                st.lists(value, max_size=3) if declared.type.item else value
            )
    return record


@given(record=_records())
def test_records_in_the_canonical_form_are_valid(record: dict[str, Any]) -> None:
    assert Draft202012Validator(SCHEMA).is_valid(record)
    assert list(VALIDATOR.errors(record)) == []


_ALL_TYPES = stagelang.loads(
    "id field record_id\nstage field stage\n"
    + "".join(
        f"field f_{name}: {name}\nfield l_{name}: list<{name}>\n"
        for name in ("bool", "int", "decimal", "string", "date", "datetime")
    )
    + "stage Lead\n"
)


@given(
    record=st.dictionaries(
        st.sampled_from(sorted(f.column for f in _ALL_TYPES.fields.values())),
        _JSON_VALUES,
        max_size=4,
    )
)
def test_the_quick_test_agrees_with_jsonschema(record: dict[str, Any]) -> None:
    validator = RecordValidator(_ALL_TYPES)
    assert validator.fits(record) == (list(validator._validator.iter_errors(record)) == [])
