"""Policy tests: records written next to a policy, each with the outcome its author expects.

The format is TOML (`NAME.test.toml` beside `NAME.stage`). TOML, because a RevOps analyst can
read and edit it without learning a second syntax of ours, it has dates and lists of its own
(a record's values need no quoting rules), Python reads it without a dependency (tomllib), and
it diffs line by line in a pull request. A stagelang-syntax test file would have needed a
second grammar for values the policy language deliberately cannot write (datetimes, records).

    policy = "japan.stage"      # optional: by default NAME.stage beside NAME.test.toml
    as_of = 2026-04-01          # optional: the date `today` means (default: today, UTC)

    [[case]]
    name = "Japanese MQL with three sessions"
    expect = "conforms at MQL"

    [case.record]
    lifecycle_stage = "MQL"     # optional when the expectation names the stage
    country = "JP"
    icp_fit = true
    engaged_sessions = 3

An expectation is one of `conforms at STAGE`, `fails STAGE`, `fails STAGE: FIELD, FIELD`
(the criteria the record misses at that stage read exactly those fields), or
`qualifies as STAGE`. A list of `fails` expectations names every stage the record misses.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from stagelang.analysis import types
from stagelang.analysis.model import Criterion
from stagelang.compiler import runtime
from stagelang.diagnostics import Severity
from stagelang.errors import StagelangError
from stagelang.policy import Policy, load
from stagelang.rules import Rule
from stagelang.verdicts import Verdict

SUFFIX = ".test.toml"

# The rules a test run reports by, for the CI formats (SARIF, JUnit, GitHub annotations).
_PAGE = "docs/fuzz.md"
TEST_RULES: dict[str, Rule] = {
    rule.code: rule
    for rule in (
        Rule(
            "SL701",
            "policy-test-failed",
            Severity.ERROR,
            "A case of a policy test file gets another verdict than the one it expects.",
            _PAGE,
        ),
        Rule(
            "SL702",
            "untested-criterion",
            Severity.WARNING,
            "No case of a policy test file both meets and misses a criterion (--coverage).",
            _PAGE,
        ),
    )
}


class PolicyTestError(StagelangError):
    """A test file that cannot be read or does not make sense: its place and what is wrong."""


@dataclass
class Case:
    """One test case: a record and the outcome expected for it."""

    name: str
    line: int
    record: dict[str, Any]
    expect: list[str]


@dataclass
class CaseResult:
    case: Case
    passed: bool
    actual: list[str]

    def diff(self) -> list[str]:
        """What was expected and not found (`-`), and what was found instead (`+`)."""
        expected, actual = self.case.expect, self.actual
        lines = [f"  - expected: {e}" for e in expected if e not in actual]
        lines += [f"  + actual:   {a}" for a in actual if a not in expected]
        if lines:
            return lines
        # The same words in another order or grouping: show both sides whole.
        return [f"  - expected: {'; '.join(expected)}", f"  + actual:   {'; '.join(actual)}"]

    def summary(self) -> str:
        """The failure in one sentence, for annotations and CI test views."""
        return (
            f"{self.case.name}: expected {'; '.join(self.case.expect)}, "
            f"got {'; '.join(self.actual)}"
        )


@dataclass
class Coverage:
    """Which criteria the cases met and which they missed, so untested clauses show."""

    met: dict[int, int] = field(default_factory=dict)
    unmet: dict[int, int] = field(default_factory=dict)
    criteria: list[Criterion] = field(default_factory=list)

    def untested(self) -> list[tuple[Criterion, str]]:
        """Criteria not exercised both ways, each with what is missing: "never met" ..."""
        found = []
        for criterion in self.criteria:
            met, unmet = self.met.get(id(criterion), 0), self.unmet.get(id(criterion), 0)
            if met and unmet:
                continue
            if not met and not unmet:
                found.append((criterion, "no case reaches it"))
            else:
                found.append((criterion, "never unmet" if met else "never met"))
        return found

    @property
    def both_ways(self) -> int:
        return len(self.criteria) - len(self.untested())


@dataclass
class FileResult:
    """The outcome of one test file."""

    path: str
    policy: str
    results: list[CaseResult]
    coverage: Coverage

    @property
    def failed(self) -> list[CaseResult]:
        return [r for r in self.results if not r.passed]


def find_test_files(paths: Iterable[str]) -> list[str]:
    """Every `*.test.toml` under the given folders, and the files given by name."""
    found: list[str] = []
    for path in paths:
        if os.path.isdir(path):
            found.extend(sorted(str(p) for p in Path(path).rglob("*" + SUFFIX)))
        elif os.path.exists(path):
            found.append(path)
        else:
            raise PolicyTestError(f"{path}: no such file or folder")
    return found


def run_file(path: str) -> FileResult:
    """Load a test file and its policy, run every case, and measure clause coverage."""
    text = _read(path)
    document = _parse(path, text)
    policy = load(_policy_path(path, document))
    today = _as_of(path, document)
    cases = list(_cases(path, text, document, policy))
    coverage = Coverage(criteria=_all_criteria(policy))
    results = [_run_case(policy, case, today, coverage) for case in cases]
    return FileResult(path, policy.file, results, coverage)


def outcome(policy: Policy, record: Mapping[str, Any], today: dt.date) -> list[str]:
    """A verdict in the words of an expectation: ["conforms at MQL"] or one `fails` per stage."""
    verdict = policy.check(record, today=today)
    return describe(verdict)


def describe(verdict: Verdict) -> list[str]:
    if verdict.conforms:
        return [f"conforms at {verdict.stage}"]
    if verdict.problem:
        return [f"no stage: {verdict.problem}"]
    by_stage: dict[str, dict[str, None]] = {}
    for unmet in verdict.unmet:
        fields = by_stage.setdefault(unmet.stage, {})
        fields.update(dict.fromkeys(unmet.criterion.fields))
    return [f"fails {stage}: {', '.join(fields)}" for stage, fields in by_stage.items()]


def toml_case(name: str, expect: list[str], record: Mapping[str, Any]) -> str:
    """A case as TOML text that can be pasted into a test file."""
    lines = ["[[case]]", f"name = {toml_value(name)}"]
    shown = expect[0] if len(expect) == 1 else expect
    lines.append(f"expect = {toml_value(shown)}")
    lines.append("")
    lines.append("[case.record]")
    lines.extend(f"{_key(key)} = {toml_value(value)}" for key, value in record.items())
    return "\n".join(lines)


# Running ---------------------------------------------------------------------------------


def _run_case(policy: Policy, case: Case, today: dt.date, coverage: Coverage) -> CaseResult:
    actual = outcome(policy, case.record, today)
    for criterion in policy.criteria_for(case.record, today=today):
        met = policy.evaluate(criterion, case.record, today=today) is True
        tally = coverage.met if met else coverage.unmet
        tally[id(criterion)] = tally.get(id(criterion), 0) + 1
    if case.expect[0].startswith("qualifies as "):
        reached = policy.qualify(case.record, today=today)
        actual = [f"qualifies as {reached or 'nothing'}"]
        return CaseResult(case, actual == case.expect, actual)
    if _loose(case.expect):
        stages_only = [a.split(":")[0] for a in actual]
        return CaseResult(case, _same(case.expect, stages_only), actual)
    return CaseResult(case, _same(case.expect, actual), actual)


def _loose(expect: list[str]) -> bool:
    """`fails MQL` without fields: only the stages are compared."""
    return all(e.startswith("fails ") and ":" not in e for e in expect)


def _same(expected: list[str], actual: list[str]) -> bool:
    """The same verdicts, whatever order the stages and their fields are listed in."""
    return sorted(_normal(e) for e in expected) == sorted(_normal(a) for a in actual)


def _normal(text: str) -> str:
    if ":" not in text:
        return " ".join(text.split())
    head, tail = text.split(":", 1)
    fields = sorted(part.strip() for part in tail.split(",") if part.strip())
    return " ".join(head.split()) + ": " + ", ".join(fields)


def _all_criteria(policy: Policy) -> list[Criterion]:
    checked = policy.checked
    ladder = [c for stage in checked.stages for c in (*stage.entry, *stage.exit)]
    return ladder + [c for outcome in checked.outcomes for c in outcome.entry]


# Reading ---------------------------------------------------------------------------------


def _read(path: str) -> str:
    try:
        return Path(path).read_text("utf-8-sig")
    except OSError as error:
        raise PolicyTestError(f"{path}: cannot read the file: {error.strerror}") from None
    except UnicodeDecodeError:
        raise PolicyTestError(f"{path}: the file is not UTF-8 text") from None


def _parse(path: str, text: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise PolicyTestError(f"{path}: not valid TOML: {error}") from None


def _policy_path(path: str, document: dict[str, Any]) -> str:
    folder = os.path.dirname(os.path.abspath(path))
    name = document.get("policy")
    if name is None:
        base = os.path.basename(path)
        return _shown(os.path.join(folder, base[: -len(SUFFIX)] + ".stage"))
    if not isinstance(name, str):
        raise PolicyTestError(f'{path}: `policy` must be text, such as policy = "japan.stage"')
    target = os.path.realpath(os.path.join(folder, name))
    if os.path.commonpath([target, os.path.realpath(folder)]) != os.path.realpath(folder):
        raise PolicyTestError(
            f'{path}: policy = "{name}" points outside the folder of the test file; '
            "keep tests next to their policy"
        )
    return _shown(target)


def _shown(path: str) -> str:
    """A path as the user would write it: relative to the working folder when inside it."""
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


def _as_of(path: str, document: dict[str, Any]) -> dt.date:
    value = document.get("as_of")
    if value is None:
        return runtime.today_utc()
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    raise PolicyTestError(
        f"{path}: as_of must be a date without quotes, such as as_of = 2026-04-01"
    )


_CASE_HEADER = re.compile(r"^[ \t]*\[\[[ \t]*case[ \t]*\]\]", re.MULTILINE)


def _cases(path: str, text: str, document: dict[str, Any], policy: Policy) -> Iterator[Case]:
    unknown = set(document) - {"policy", "as_of", "case"}
    if unknown:
        raise PolicyTestError(
            f"{path}: unknown key {', '.join(sorted(unknown))}; "
            "a test file holds policy, as_of and [[case]] tables"
        )
    lines = [text.count("\n", 0, m.start()) + 1 for m in _CASE_HEADER.finditer(text)]
    raw_cases = document.get("case", [])
    if not isinstance(raw_cases, list) or not raw_cases:
        raise PolicyTestError(f"{path}: no test cases; add a [[case]] table")
    for number, raw in enumerate(raw_cases):
        line = lines[number] if number < len(lines) else 1
        yield _case(f"{path}:{line}", raw, line, number + 1, policy)


def _case(where: str, raw: Any, line: int, number: int, policy: Policy) -> Case:
    if not isinstance(raw, dict):
        raise PolicyTestError(f"{where}: a case must be a table")
    unknown = set(raw) - {"name", "expect", "record"}
    if unknown:
        raise PolicyTestError(
            f"{where}: unknown key {', '.join(sorted(unknown))} in a case "
            "(a case has name, expect and record)"
        )
    expect = raw.get("expect")
    if isinstance(expect, str):
        expect = [expect]
    if not isinstance(expect, list) or not expect or not all(isinstance(e, str) for e in expect):
        raise PolicyTestError(
            f'{where}: the case needs expect = "conforms at STAGE" (or "fails STAGE: FIELD")'
        )
    expect = [_expectation(where, e, policy) for e in expect]
    record = _record(where, raw.get("record", {}), policy)
    stage_field = policy.checked.stage_field
    if stage_field not in record and not expect[0].startswith("qualifies"):
        match = _EXPECTATION.match(expect[0])
        assert match is not None  # checked by _expectation above
        record[stage_field] = _stage_value(policy, match.group(2) or match.group(4))
    return Case(str(raw.get("name", f"case {number}")), line, record, expect)


def _stage_value(policy: Policy, name: str) -> str:
    """The CRM value a record at stage (or outcome) `name` holds: its first `values` entry,
    which is the name itself unless the policy lists others (`values "Meeting Booked"`)."""
    values = {stage.name: stage.values for stage in policy.checked.stages}
    values.update((outcome.name, outcome.values) for outcome in policy.checked.outcomes)
    return values[name][0] if name in values else name


def _stage_names(policy: Policy) -> list[str]:
    """The stages of the ladder, then the outcomes off it (Closed Lost)."""
    return [*policy.stages, *(outcome.name for outcome in policy.checked.outcomes)]


_EXPECTATION = re.compile(
    r"^\s*(?:(conforms)\s+at\s+(\S+)|(fails)\s+([^:\s]+)\s*(?::(.*))?|(qualifies)\s+as\s+(\S+))\s*$"
)


def _expectation(where: str, text: str, policy: Policy) -> str:
    match = _EXPECTATION.match(text)
    if match is None:
        raise PolicyTestError(
            f'{where}: cannot read the expectation "{text}"; write "conforms at STAGE", '
            '"fails STAGE", "fails STAGE: FIELD, FIELD" or "qualifies as STAGE"'
        )
    stage = match.group(2) or match.group(4) or match.group(7)
    names = _stage_names(policy)
    if stage not in names and not (match.group(6) and stage == "nothing"):
        raise PolicyTestError(
            f'{where}: "{stage}" is not a stage of {policy.file} (stages: {", ".join(names)})'
        )
    for name in (match.group(5) or "").split(","):
        if name.strip() and name.strip() not in policy.fields:
            raise PolicyTestError(f'{where}: "{name.strip()}" is not a field of {policy.file}')
    return " ".join(text.split())


def _record(where: str, raw: Any, policy: Policy) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise PolicyTestError(f"{where}: record must be a table of field names and values")
    record: dict[str, Any] = {}
    for name, value in raw.items():
        declared = policy.fields.get(name)
        if declared is None:
            raise PolicyTestError(
                f'{where}: the record has "{name}", which is not a field of {policy.file}'
            )
        record[name] = _value(f'{where}: field "{name}"', value, declared.type)
    return record


def _value(where: str, value: Any, kind: types.Type) -> Any:
    """A TOML value as the Python value the policy expects for the field's type."""
    if kind.is_list:
        assert kind.item is not None
        if not isinstance(value, list):
            raise PolicyTestError(f"{where} is a list: write it as [..., ...]")
        return [_value(where, item, kind.item) for item in value]
    wanted = {
        types.BOOL: bool,
        types.INT: int,
        types.STRING: str,
    }.get(kind)
    if wanted is not None:
        if isinstance(value, wanted) and (wanted is bool or not isinstance(value, bool)):
            return value
        raise PolicyTestError(f"{where} must be {kind.describe()}, not {toml_value(value)}")
    if kind == types.DECIMAL:
        if isinstance(value, (int, float, str)) and not isinstance(value, bool):
            try:
                return Decimal(str(value))
            except InvalidOperation:
                pass
        raise PolicyTestError(f"{where} must be a number, not {toml_value(value)}")
    if kind == types.DATE and isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if kind == types.DATETIME and isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    raise PolicyTestError(
        f"{where} must be {kind.describe()} written without quotes, "
        f"such as 2026-04-01{'T09:30:00Z' if kind == types.DATETIME else ''}"
    )


# Writing TOML ----------------------------------------------------------------------------

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(name: str) -> str:
    return name if _BARE_KEY.match(name) else toml_value(name)


def toml_value(value: Any) -> str:
    """A value as TOML writes it: text quoted, dates bare, decimals exact."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Decimal):
        text = format(value, "f")
        return text if "." in text else text + ".0"
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    return str(value)
