"""The formats for CI: SARIF for code scanning, JUnit XML for test views, GitHub annotations.

SARIF is validated against the official OASIS schemas (copied, unmodified, into
tests/data/schemas); JUnit XML against the rules of the Ant JUnit schema that stagelang's
output depends on, read from the XSD itself; GitHub workflow commands for their escaping.
"""

from __future__ import annotations

import doctest
import hashlib
import io
import json
import os
import re
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner

import stagelang
from stagelang.checking import Summary
from stagelang.cli import main
from stagelang.findings import DATA_RULES, Finding
from stagelang.outputs import github, junit, sarif
from stagelang.rules import RULES

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
GOLDEN = HERE / "golden"
SCHEMAS = HERE / "data" / "schemas"
JAPAN = "policies/japan.stage"
# A policy and an export of the tests' own, so that the golden files change only with stagelang.
POLICY = "tests/data/ci.stage"
EXPORT = "tests/data/ci_export.csv"

HEADER = (
    "record_id,country,lifecycle_stage,icp_fit,engaged_sessions,need,process,"
    "decision_makers,meeting_at,budget,stakeholder,contract_signed_at"
)

# The published checksums (tests/data/schemas/PROVENANCE.md): the copies must be unmodified.
SCHEMA_SHA256 = {
    "sarif-schema-2.1.0.json": "c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e",
    "sarif-schema-2.1.0.draft07.json": (
        "6352a05f9d03f181b8d9c71a46bdacc4fcff9d8ade5364858b425ba0c0994ed7"
    ),
    "JUnit.xsd": "147ff89ef34a82f9a1b2951e7cad251b98c9a7a48a0e0c8e44937141791f57a8",
}


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def assert_golden(name: str, text: str) -> None:
    """Compare with tests/golden/NAME; STAGELANG_UPDATE_GOLDEN=1 rewrites the file instead."""
    path = GOLDEN / name
    if os.environ.get("STAGELANG_UPDATE_GOLDEN"):
        path.write_text(text, "utf-8")
    assert text == path.read_text("utf-8")


@pytest.fixture(autouse=True)
def in_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # so that the paths in the outputs are short and stable


def write_export(tmp_path: Path, rows: list[str], name: str = "export.csv") -> str:
    path = tmp_path / name
    path.write_text("\n".join([HEADER, *rows]) + "\n", "utf-8")
    return str(path)


# The schemas ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SCHEMA_SHA256))
def test_the_schema_copies_are_unmodified(name: str) -> None:
    digest = hashlib.sha256((SCHEMAS / name).read_bytes()).hexdigest()
    assert digest == SCHEMA_SHA256[name]


def sarif_validators() -> Iterator[jsonschema.protocols.Validator]:
    for name in ("sarif-schema-2.1.0.json", "sarif-schema-2.1.0.draft07.json"):
        schema = json.loads((SCHEMAS / name).read_text("utf-8"))
        cls = jsonschema.validators.validator_for(schema)
        cls.check_schema(schema)
        yield cls(schema, format_checker=cls.FORMAT_CHECKER)


SARIF_VALIDATORS = list(sarif_validators())


def validated_sarif(text: str) -> dict[str, Any]:
    log = json.loads(text)
    for validator in SARIF_VALIDATORS:
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(log)]
        assert not errors, errors
    return log


def test_the_sarif_validators_reject_what_the_standard_rejects() -> None:
    # Guards the guard: a log the schemas must refuse is refused by both.
    log = json.loads(sarif_of("lint", "tests/data/misspelled.stage"))
    log["version"] = "2.0"
    log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] = 0
    for validator in SARIF_VALIDATORS:
        assert len(list(validator.iter_errors(log))) >= 2


# SARIF ---------------------------------------------------------------------------------------


def sarif_of(*args: str) -> str:
    _, out, _ = run(*args, "--format", "sarif")
    return out


def fingerprints(log: dict[str, Any]) -> list[str]:
    return [result["partialFingerprints"]["stagelang/v1"] for result in log["runs"][0]["results"]]


def test_lint_sarif_validates_and_points_at_each_span(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(HERE)
    code, out, _ = run("lint", "data/misspelled.stage", "data/syntax.stage", "--format", "sarif")
    log = validated_sarif(out)

    assert code == 1
    results = log["runs"][0]["results"]
    assert [
        (
            r["ruleId"],
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            r["locations"][0]["physicalLocation"]["region"]["startLine"],
            r["locations"][0]["physicalLocation"]["region"]["startColumn"],
        )
        for r in results
    ] == [
        ("SL101", "data/misspelled.stage", 11, 13),
        ("SL201", "data/misspelled.stage", 14, 12),
        ("SL001", "data/syntax.stage", 6, 28),
    ]
    assert results[0]["message"]["text"].startswith('unknown field "engaged_sesions"')
    assert log["runs"][0]["invocations"][0]["executionSuccessful"] is True
    assert_golden("lint_two_files.sarif", out)


def test_sarif_describes_every_rule_of_both_catalogues() -> None:
    log = validated_sarif(sarif_of("lint", "tests/data/misspelled.stage"))
    driver = log["runs"][0]["tool"]["driver"]

    assert (driver["name"], driver["version"]) == ("stagelang", stagelang.__version__)
    assert [rule["id"] for rule in driver["rules"]] == [*RULES, *DATA_RULES]
    for descriptor in driver["rules"]:
        rule = {**RULES, **DATA_RULES}[descriptor["id"]]
        assert descriptor["name"] == rule.name
        assert descriptor["shortDescription"]["text"] == rule.summary
        assert descriptor["helpUri"] == sarif.HOME + rule.help_url
        assert descriptor["defaultConfiguration"]["level"] == rule.severity.value
    for result in log["runs"][0]["results"]:
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]


def test_lint_sarif_reports_an_unreadable_path_as_a_failed_run() -> None:
    code, out, err = run("lint", "tests/data/nope.stage", "--format", "sarif")
    log = validated_sarif(out)
    invocation = log["runs"][0]["invocations"][0]

    assert code == 2
    assert "no such file or folder" in err
    assert invocation["executionSuccessful"] is False
    assert "tests/data/nope.stage" in invocation["toolExecutionNotifications"][0]["message"]["text"]


def test_check_sarif_validates_and_lists_each_finding_at_its_line() -> None:
    code, out, _ = run("check", POLICY, EXPORT, "--format", "sarif", "--limit", "1")
    log = validated_sarif(out)
    run_ = log["runs"][0]
    places = [
        (r["ruleId"], r["locations"][0]["physicalLocation"]["region"]["startLine"])
        for r in run_["results"]
    ]

    assert code == 1
    # One of each group (--limit 1), in the order the text report uses.
    assert places == [
        ("SL501", 3),
        ("SL501", 6),
        ("SL501", 6),
        ("SL502", 5),
        ("SL504", 7),
        ("SL505", 6),
        ("SL506", 8),
    ]
    assert run_["properties"]["summary"]["records"] == 8
    assert run_["properties"]["groups"][0] == {
        "title": "MQL in japan requires engaged_sessions >= 3",
        "code": "SL501",
        "count": 2,
        "listed": 1,
    }
    notes = run_["invocations"][0]["toolExecutionNotifications"]
    assert [note["message"]["text"] for note in notes] == [
        "MQL in japan requires engaged_sessions >= 3: 1 more not listed "
        "(--limit 1 lists at most 1 a group)"
    ]
    related = run_["results"][0]["relatedLocations"][0]["physicalLocation"]
    assert related["artifactLocation"]["uri"] == POLICY
    policy_lines = (ROOT / POLICY).read_text("utf-8").splitlines()
    clause = policy_lines[related["region"]["startLine"] - 1]
    start, end = related["region"]["startColumn"], related["region"]["endColumn"]
    assert clause.strip() == "in japan requires engaged_sessions >= 3"
    assert clause[start - 1 : end - 1] == "engaged_sessions >= 3"
    assert_golden("check_small.sarif", out)


def test_sarif_fingerprints_are_the_same_on_every_run() -> None:
    first = fingerprints(validated_sarif(sarif_of("check", POLICY, EXPORT)))
    second = fingerprints(validated_sarif(sarif_of("check", POLICY, EXPORT)))

    assert first == second
    assert len(set(first)) == len(first) == 8


def test_data_fingerprints_survive_a_row_inserted_above(tmp_path: Path) -> None:
    rows = ["10,JP,mql,true,2,,,,,,,", "11,GB,evangelist,,,,,,,,,"]
    before = validated_sarif(sarif_of("check", JAPAN, write_export(tmp_path, rows)))
    conforming = "9,GB,subscriber,,,,,,,,,"
    after = validated_sarif(sarif_of("check", JAPAN, write_export(tmp_path, [conforming, *rows])))

    def by_record(log: dict[str, Any]) -> dict[str, tuple[int, str]]:
        return {
            r["properties"]["recordId"]: (
                r["locations"][0]["physicalLocation"]["region"]["startLine"],
                r["partialFingerprints"]["stagelang/v1"],
            )
            for r in log["runs"][0]["results"]
        }

    old, new = by_record(before), by_record(after)
    assert set(old) == set(new) == {"10", "11"}
    for record in old:
        assert new[record][0] == old[record][0] + 1  # the line moved ...
        assert new[record][1] == old[record][1]  # ... and the fingerprint did not


def test_a_repeated_id_keeps_its_fingerprint_when_the_first_use_moves(tmp_path: Path) -> None:
    rows = ["10,GB,subscriber,,,,,,,,,", "10,GB,subscriber,,,,,,,,,"]
    before = validated_sarif(sarif_of("check", JAPAN, write_export(tmp_path, rows)))
    moved = ["9,GB,subscriber,,,,,,,,,", *rows]
    after = validated_sarif(sarif_of("check", JAPAN, write_export(tmp_path, moved)))

    assert "line 2" in before["runs"][0]["results"][0]["message"]["text"]
    assert "line 3" in after["runs"][0]["results"][0]["message"]["text"]
    assert fingerprints(before) == fingerprints(after)


def test_lint_fingerprints_survive_a_line_inserted_above(tmp_path: Path) -> None:
    text = (HERE / "data" / "misspelled.stage").read_text("utf-8")
    policy = tmp_path / "p.stage"
    policy.write_text(text, "utf-8")
    before = validated_sarif(sarif_of("lint", str(policy)))
    policy.write_text("# a comment added at the top\n" + text, "utf-8")
    after = validated_sarif(sarif_of("lint", str(policy)))

    lines = [
        r["locations"][0]["physicalLocation"]["region"]["startLine"]
        for log in (before, after)
        for r in log["runs"][0]["results"]
    ]
    assert lines == [11, 14, 12, 15]
    assert fingerprints(before) == fingerprints(after)


def test_identical_problems_get_different_fingerprints(tmp_path: Path) -> None:
    # Two ragged rows without ids say the same thing: a counter tells them apart.
    export = write_export(tmp_path, ["1,GB", "2,GB,subscriber,,,,,,,,,", "3,GB"])
    log = validated_sarif(sarif_of("check", JAPAN, export))
    found = fingerprints(log)

    assert len(found) == 2
    assert found[0].split(":")[0] == found[1].split(":")[0]
    assert [f.split(":")[1] for f in found] == ["1", "2"]


def test_absolute_and_unusual_paths_are_uri_references() -> None:
    assert sarif.artifact_uri("tests/data/a b#1.csv") == "tests/data/a%20b%231.csv"
    assert sarif.artifact_uri("/srv/exports/contacts.csv") == "file:///srv/exports/contacts.csv"
    assert sarif.artifact_uri("C:\\exports\\contacts.csv") == "file:///C:/exports/contacts.csv"
    assert sarif.artifact_uri("exports\\contacts.csv") == "exports/contacts.csv"


# Bounded memory --------------------------------------------------------------------------------


def many_findings(count: int) -> Iterator[Finding]:
    policy = stagelang.load(ROOT / JAPAN)
    criterion = policy.criteria_in_order()[0]
    for line in range(2, count + 2):
        message = f"{criterion}, but it is not met"
        yield Finding("SL501", message, "big.csv", line, str(line), criterion=criterion)


@pytest.mark.parametrize("kind", ["sarif", "junit", "github"])
def test_writers_keep_at_most_limit_findings_of_a_group(kind: str) -> None:
    policy = stagelang.load(ROOT / JAPAN)
    stream = io.StringIO()
    writers = {
        "sarif": lambda: sarif.SarifWriter(stream, policy, 3),
        "junit": lambda: junit.JunitWriter(stream, policy, 3),
        "github": lambda: github.GithubWriter(stream, policy, 3),
    }
    writer = writers[kind]()
    for finding in many_findings(5000):
        writer.add(finding)

    (group,) = writer.groups.ordered()
    assert (group.count, len(group.examples)) == (5000, 3)
    writer.close(Summary(not_conforming=5000))
    assert "4,997 more" in stream.getvalue()


def test_github_writes_each_annotation_as_soon_as_it_is_found() -> None:
    stream = io.StringIO()
    writer = github.GithubWriter(stream, stagelang.load(ROOT / JAPAN), 10)
    first = next(many_findings(1))
    writer.add(first)

    assert stream.getvalue() == github.finding_line(first) + "\n"


# JUnit XML -------------------------------------------------------------------------------------

XS = "{http://www.w3.org/2001/XMLSchema}"


@dataclass
class Declared:
    """What the Ant JUnit schema declares for one element."""

    required: set[str]
    attributes: dict[str, str]  # name: type (empty for a restricted simple type)


@dataclass
class AntSchema:
    suites_attributes: set[str]
    suite: Declared
    suite_children: list[str]
    case: Declared
    outcomes: dict[str, Declared]
    timestamp: re.Pattern[str]


def _declared(owner: ET.Element, extra: list[ET.Element] | None = None) -> Declared:
    attributes = [*owner.findall(f"{XS}attribute"), *(extra or [])]
    return Declared(
        {a.attrib["name"] for a in attributes if a.get("use") == "required"},
        {a.attrib["name"]: a.get("type", "") for a in attributes},
    )


def read_ant_schema() -> AntSchema:
    xsd = ET.parse(SCHEMAS / "JUnit.xsd").getroot()
    suites = xsd.find(f"{XS}element[@name='testsuites']")
    suite_type = xsd.find(f"{XS}complexType[@name='testsuite']")
    pattern = xsd.find(f"{XS}simpleType[@name='ISO8601_DATETIME_PATTERN']//{XS}pattern")
    assert suites is not None and suite_type is not None and pattern is not None

    in_testsuites = suites.findall(f".//{XS}extension/{XS}attribute")
    sequence = suite_type.find(f"{XS}sequence")
    assert sequence is not None
    case = sequence.find(f"{XS}element[@name='testcase']/{XS}complexType")
    choice = case.find(f"{XS}choice") if case is not None else None
    assert case is not None and choice is not None
    outcomes = {}
    for outcome in choice.findall(f"{XS}element"):
        content = outcome.find(f".//{XS}extension")
        outcomes[outcome.attrib["name"]] = _declared(outcome if content is None else content)
    return AntSchema(
        suites_attributes={
            a.attrib["name"] for a in suites.findall(f"{XS}complexType/{XS}attribute")
        },
        suite=_declared(suite_type, in_testsuites),
        suite_children=[e.attrib["name"] for e in sequence.findall(f"{XS}element")],
        case=_declared(case),
        outcomes=outcomes,
        timestamp=re.compile(pattern.attrib["value"]),
    )


ANT = read_ant_schema()


def test_the_schema_reading_finds_what_the_schema_says() -> None:
    assert ANT.suite.required >= {"name", "timestamp", "hostname", "tests", "package", "id"}
    assert ANT.suite_children == ["properties", "testcase", "system-out", "system-err"]
    assert ANT.case.required == {"name", "classname", "time"}
    assert set(ANT.outcomes) == {"skipped", "error", "failure"}
    assert ANT.outcomes["failure"].required == {"type"}


def assert_fits_ant_schema(root: ET.Element) -> None:
    assert root.tag == "testsuites"
    assert set(root.attrib) <= ANT.suites_attributes
    for index, suite in enumerate(root):
        _check_attributes(suite, ANT.suite)
        assert suite.get("id") == str(index)
        assert ANT.timestamp.fullmatch(suite.get("timestamp", ""))
        tags = [child.tag for child in suite]
        cases = tags.count("testcase")
        assert tags == ["properties", *["testcase"] * cases, "system-out", "system-err"]
        for case in suite.iter("testcase"):
            _check_attributes(case, ANT.case)
            assert len(case) <= 1
            for outcome in case:
                _check_attributes(outcome, ANT.outcomes[outcome.tag])
        outcomes = [outcome.tag for case in suite.iter("testcase") for outcome in case]
        assert int(suite.attrib["tests"]) == cases
        for kind, attribute in (
            ("failure", "failures"),
            ("error", "errors"),
            ("skipped", "skipped"),
        ):
            assert int(suite.attrib[attribute]) == outcomes.count(kind)


def _check_attributes(element: ET.Element, declared: Declared) -> None:
    assert declared.required <= set(element.attrib), (element.tag, element.attrib)
    assert set(element.attrib) <= set(declared.attributes), (element.tag, element.attrib)
    for name, value in element.attrib.items():
        if declared.attributes[name] == "xs:int":
            int(value)
        elif declared.attributes[name] == "xs:decimal":
            float(value)


def junit_of(*args: str) -> tuple[int, ET.Element, str]:
    code, out, _ = run(*args, "--format", "junit")
    assert out.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    root = ET.fromstring(out)
    assert_fits_ant_schema(root)
    return code, root, out


def cases_of(suite: ET.Element) -> dict[str, ET.Element]:
    return {case.attrib["name"]: case for case in suite.iter("testcase")}


def normalised(xml: str) -> str:
    """The report without what differs from run to run: when, where, and how long."""
    xml = re.sub(r'timestamp="[^"]*"', 'timestamp="(when)"', xml)
    xml = re.sub(r'hostname="[^"]*"', 'hostname="(host)"', xml)
    return re.sub(r'(<testsuite [^>]*)time="[^"]*"', r'\1time="(seconds)"', xml)


def test_lint_junit_has_a_suite_per_file_and_a_case_per_rule(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(HERE)
    code, root, out = junit_of("lint", "data/misspelled.stage", "data/syntax.stage")
    misspelled, syntax = root

    assert code == 1
    assert [suite.get("name") for suite in root] == ["data/misspelled.stage", "data/syntax.stage"]
    assert list(cases_of(misspelled)) == [f"{rule.code} {rule.name}" for rule in RULES.values()]
    failed = {
        name for name, case in cases_of(misspelled).items() if case.find("failure") is not None
    }
    assert failed == {"SL101 unknown-field", "SL201 type-mismatch"}
    failure = cases_of(misspelled)["SL101 unknown-field"].find("failure")
    assert failure is not None and failure.text is not None
    assert failure.text.startswith("data/misspelled.stage:11:13: error[SL101] unknown field")
    # A file that does not parse was checked for syntax only.
    skipped = [name for name, case in cases_of(syntax).items() if case.find("skipped") is not None]
    assert len(skipped) == len(RULES) - 2
    assert syntax.get("failures") == "1"
    assert_golden("lint_two_files.junit.xml", normalised(out))


def test_lint_junit_fails_warnings_only_with_fail_on_warning() -> None:
    code, root, _ = junit_of("lint", "tests/data/warnings.stage")
    assert code == 0
    assert root[0].get("failures") == "0"
    system_out = root[0].find("system-out")
    assert system_out is not None and "warning[SL302]" in (system_out.text or "")

    code, root, _ = junit_of("lint", "tests/data/warnings.stage", "--fail-on", "warning")
    assert code == 1
    assert root[0].get("failures") == "2"


def test_lint_junit_reports_an_unreadable_path_as_an_error() -> None:
    code, root, _ = junit_of("lint", "tests/data/nope.stage")
    (case,) = root[0].iter("testcase")
    error = case.find("error")

    assert code == 2
    assert root[0].get("errors") == "1"
    assert error is not None and "no such file or folder" in error.attrib["message"]


def test_check_junit_has_a_case_per_criterion_and_per_data_rule() -> None:
    code, root, out = junit_of("check", POLICY, EXPORT, "--limit", "1")
    (suite,) = root
    cases = cases_of(suite)
    policy = stagelang.load(ROOT / POLICY)
    # SL501 has a case per criterion instead; the waiver rules have one only with waivers.
    unlisted = ("SL501", "SL602", "SL603")
    data_cases = [f"{c} {r.name}" for c, r in DATA_RULES.items() if c not in unlisted]

    assert code == 1
    assert list(cases) == [*policy.criteria_in_order(), *data_cases]
    failing = {name: case.find("failure") for name, case in cases.items()}
    failing = {name: f for name, f in failing.items() if f is not None}
    assert set(failing) == {
        "MQL in japan requires engaged_sessions >= 3",
        "MQL exit when budget is set",
        "Opportunity requires budget > 0",
        "SL502 unknown-stage",
        "SL504 duplicate-id",
        "SL505 bad-value",
        "SL506 unreadable-row",
    }
    japan = failing["MQL in japan requires engaged_sessions >= 3"]
    assert japan.attrib["message"] == "MQL in japan requires engaged_sessions >= 3: 2 records"
    assert (japan.text or "").splitlines() == [
        "tests/data/ci_export.csv:3: MQL in japan requires engaged_sessions >= 3, but "
        "engaged_sessions = 2 (record 2)",
        "and 1 more (--limit 1 lists 1 a group)",
    ]
    properties = {p.attrib["name"]: p.attrib["value"] for p in suite.iter("property")}
    assert (properties["records"], properties["conforming"], properties["unreadable"]) == (
        "8",
        "2",
        "1",
    )
    assert_golden("check_small.junit.xml", normalised(out))


def test_check_junit_counts_match_the_json_output() -> None:
    # Warnings (stalled records) are failures here only because warnings fail the run.
    _, root, _ = junit_of(
        "check", "policies/japan.stage", "examples/contacts.csv", "--limit", "0",
        "--fail-on", "warning",
    )  # fmt: skip
    _, out, _ = run("check", "policies/japan.stage", "examples/contacts.csv", "--format", "json")
    findings = json.loads(out)["findings"]
    failures = [failure for failure in root.iter("failure")]

    by_criterion: dict[str, int] = {}
    for finding in findings:
        key = finding["criterion"] if finding["code"] == "SL501" else finding["code"]
        by_criterion[key] = by_criterion.get(key, 0) + 1
    counted = [int(failure.attrib["message"].rsplit(": ", 1)[1].split()[0]) for failure in failures]
    assert sum(counted) == len(findings)
    assert len(failures) == len(by_criterion)


def test_check_junit_skips_duplicate_ids_when_they_are_not_checked() -> None:
    _, root, _ = junit_of("check", POLICY, EXPORT, "--no-duplicate-ids")
    case = cases_of(root[0])["SL504 duplicate-id"]
    skipped = case.find("skipped")

    assert skipped is not None and "--no-duplicate-ids" in skipped.attrib["message"]


def test_junit_carries_cells_xml_cannot_hold(tmp_path: Path) -> None:
    export = write_export(
        tmp_path, ["1,GB,opportunity,true,5,true,true,Lee,2026-01-05,T\x01BD,Tan,"]
    )
    code, root, _ = junit_of("check", JAPAN, export)

    failure = cases_of(root[0])["SL505 bad-value"].find("failure")
    assert code == 1
    assert failure is not None and "T\ufffdBD" in (failure.text or "")


# GitHub workflow commands ---------------------------------------------------------------------


def test_messages_and_properties_are_escaped_as_github_documents() -> None:
    line = github.command(
        "error",
        "100% sure\r\nsecond line, with: punctuation",
        {"file": "exports/a,b:c.csv", "line": 3, "col": None, "title": "SL505 bad-value"},
    )
    assert line == (
        "::error file=exports/a%2Cb%3Ac.csv,line=3,title=SL505 bad-value"
        "::100%25 sure%0D%0Asecond line, with: punctuation"
    )


def test_a_cell_cannot_start_a_workflow_command(tmp_path: Path) -> None:
    stage = '"lead\n::error::forged, with: a colon"'
    export = write_export(tmp_path, [f"1,GB,{stage},,,,,,,,,"], name="odd, name: here.csv")
    code, out, _ = run("check", JAPAN, export, "--format", "github")
    lines = out.splitlines()

    assert code == 1
    assert len(lines) == 2
    assert lines[0].startswith("::error file=")
    assert "odd%2C name%3A here.csv,line=2,title=SL502 unknown-stage::" in lines[0]
    assert 'lifecycle_stage = "lead%0A::error::forged, with: a colon"' in lines[0]
    assert lines[1].startswith("::notice title=stagelang check::")


def test_lint_github_annotates_each_diagnostic(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(HERE)
    code, out, _ = run("lint", "data/misspelled.stage", "data/warnings.stage", "--format", "github")
    lines = out.splitlines()

    assert code == 1
    assert [line.split(" ", 1)[0] for line in lines] == [
        "::error",
        "::error",
        "::warning",
        "::warning",
        "::notice",
    ]
    assert lines[0].startswith(
        "::error file=data/misspelled.stage,line=11,col=13,endLine=11,endColumn=28,"
        "title=SL101 unknown-field::"
    )
    assert (
        lines[-1]
        == "::notice title=stagelang lint::Found 2 errors and 2 warnings in 2 policy files."
    )
    assert_golden("lint_two_files.github.txt", out)


def test_lint_github_keeps_the_exit_codes() -> None:
    assert run("lint", "tests/data/warnings.stage", "--format", "github")[0] == 0
    code = run("lint", "tests/data/warnings.stage", "--format", "github", "--fail-on", "warning")[0]
    assert code == 1
    assert run("lint", "policies", "--format", "github")[0] == 0


def test_check_github_caps_annotations_per_group_and_ends_with_the_counts() -> None:
    code, out, _ = run("check", POLICY, EXPORT, "--format", "github", "--limit", "1")
    lines = out.splitlines()
    annotations = [line for line in lines if line.startswith("::error ")]

    assert code == 1
    assert len(annotations) == 7  # one for each of the seven groups
    assert lines[-2] == (
        "stagelang: MQL in japan requires engaged_sessions >= 3 (SL501): 1 more not annotated"
    )
    assert lines[-1] == (
        "::notice title=stagelang check::2 of 8 records conform; 5 do not and 1 could not be "
        "read (8 findings; 1 not annotated, as --limit 1 allows 1 a group)."
    )
    assert_golden("check_small.github.txt", out)


@pytest.mark.parametrize("output_format", ["sarif", "junit", "github"])
def test_check_keeps_its_exit_codes(tmp_path: Path, output_format: str) -> None:
    clean = write_export(tmp_path, ["1,GB,subscriber,,,,,,,,,"])
    assert run("check", JAPAN, clean, "--format", output_format)[0] == 0
    assert run("check", POLICY, EXPORT, "--format", output_format)[0] == 1
    code, _, err = run("check", JAPAN, "tests/data/none.csv", "--format", output_format)
    assert code == 2
    assert "none.csv" in err


# Every rule code, and the docstrings ---------------------------------------------------------


def rule_examples(tmp_path: Path) -> list[str]:
    """Every ```stage block of the language reference, as files: together they give every code.

    Each goes in a folder of its own as example.stage, with the files it extends beside it.
    """
    from test_docs import REFERENCE, write_side_files

    paths = []
    for index, block in enumerate(REFERENCE.blocks):
        if block.language != "stage" or block.text.startswith("# file: "):
            continue
        folder = tmp_path / f"block{index}"
        folder.mkdir()
        if block.code is not None:
            write_side_files(block.code, folder)
        else:  # the tour's japan.stage extends the bundled global.stage
            shutil.copy(ROOT / "policies" / "global.stage", folder)
        path = folder / "example.stage"
        path.write_text(block.text, "utf-8")
        paths.append(str(path))
    return paths


def test_every_rule_code_gives_valid_outputs(tmp_path: Path) -> None:
    paths = rule_examples(tmp_path)
    log = validated_sarif(sarif_of("lint", *paths))
    _, root, _ = junit_of("lint", *paths)
    _, out, _ = run("lint", *paths, "--format", "github")

    assert {result["ruleId"] for result in log["runs"][0]["results"]} == set(RULES)
    assert {failure.attrib["type"] for failure in root.iter("failure")} == {
        code for code, rule in RULES.items() if rule.severity.value == "error"
    }
    annotations = out.splitlines()[:-1]
    assert len(annotations) == len(log["runs"][0]["results"])
    assert all(
        re.fullmatch(r"::(error|warning) file=[^:]+,line=\d+,.*::.+", a) for a in annotations
    )


@pytest.mark.parametrize("module", [sarif, github], ids=lambda m: m.__name__)
def test_docstring_examples(module: Any) -> None:
    result = doctest.testmod(module)
    assert result.attempted > 0
    assert result.failed == 0
