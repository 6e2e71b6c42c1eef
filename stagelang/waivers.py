"""Waivers: known exceptions in the data, written down with an owner, a reason and an end date.

A waivers file is TOML, kept in git next to the policy (`japan.waivers.toml` beside
`japan.stage` is found without being named):

    [[waiver]]
    ids = ["C-0042", "C-0107"]
    criteria = ["SQL in japan requires count(decision_makers) >= 2"]
    owner = "aiko.tanaka@example.com"
    reason = "Ringi approval recorded offline, see RevOps-123"
    expires = 2027-03-31

    [[waiver]]
    when = 'country == "JP" and engaged_sessions = 0'
    criteria = ["MQL"]
    ...

A waiver names records, by id or by a condition in the policy language, and the criteria it
exempts them from: a criterion as reports print it, a stage (all its criteria), or a data rule
code (SL502 to SL507 but SL506, and the stage-history rules of date columns). A condition is
parsed by the policy parser and checked and compiled with the policy, as a segment would be;
nothing in the file is evaluated as Python.

A waived finding is never dropped: it is counted and listed apart in every output. A waiver
past its date no longer applies and is itself a finding (SL602, an error); a waiver in force
that exempted nothing is a warning (SL603), so that stale waivers are noticed and removed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import tomllib
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from jsonschema import Draft202012Validator  # type: ignore[import-untyped, unused-ignore]

from stagelang.analysis import analyze
from stagelang.errors import StagelangError
from stagelang.findings import DATA_RULES, Finding
from stagelang.suggestions import closest
from stagelang.syntax import nodes, parse

if TYPE_CHECKING:
    from stagelang.policy import Policy

WAIVERS_SUFFIX = ".waivers.toml"
EXPIRED = "SL602"
UNUSED = "SL603"
# The data rules a waiver may name by code; unmet criteria are named by criterion or stage.
# Not SL506: a row that cannot be read has no id and no values for a waiver to match. The
# history rules of an export's date columns can be waived; SL516 and SL518 come only from
# --events logs, whose moves waivers do not match.
WAIVABLE_CODES = (
    *("SL502", "SL503", "SL504", "SL505", "SL507"),
    *("SL510", "SL511", "SL512", "SL513", "SL514", "SL515", "SL517"),
)

_TEXT = {"type": "string", "minLength": 1}
SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "stagelang waivers file",
    "type": "object",
    "additionalProperties": False,
    "required": ["waiver"],
    "properties": {
        "waiver": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["criteria", "owner", "reason", "expires"],
                "properties": {
                    "ids": {
                        "type": "array",
                        "minItems": 1,
                        "items": {"type": ["string", "integer"]},
                    },
                    "when": _TEXT,
                    "criteria": {"type": "array", "minItems": 1, "items": _TEXT},
                    "owner": _TEXT,
                    "reason": _TEXT,
                    "expires": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"},
                },
            },
        }
    },
}

_HEADER = re.compile(r"^\s*\[\[\s*waiver\s*\]\]")


class WaiverError(StagelangError):
    """A waivers file that cannot be read, or a waiver that cannot be used as written."""


@dataclass(frozen=True)
class Waiver:
    """One exception: which records, from which criteria, whose, why, and until when."""

    number: int
    line: int | None
    criteria: tuple[str, ...]
    owner: str
    reason: str
    expires: dt.date
    ids: frozenset[str] = frozenset()
    when: str | None = None

    @property
    def title(self) -> str:
        """How reports name it: `waiver 2 (aiko@example.com, until 2027-03-31)`."""
        return f"waiver {self.number} ({self.owner}, until {self.expires.isoformat()})"

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "line": self.line,
            "ids": sorted(self.ids) if self.ids else None,
            "when": self.when,
            "criteria": list(self.criteria),
            "owner": self.owner,
            "reason": self.reason,
            "expires": self.expires.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class WaivedFinding:
    """A finding a waiver exempts: still reported, apart from the others."""

    finding: Finding
    waiver: Waiver

    def to_dict(self) -> dict[str, Any]:
        return {**self.finding.to_dict(), "waiver": self.waiver.number}


@dataclass
class Waivers:
    """The waivers of one file, ready to split a record's findings into kept and waived."""

    file: str
    waivers: list[Waiver]
    today: dt.date
    matcher: Policy | None = None
    segment_names: dict[int, str] = field(default_factory=dict)
    used: Counter[int] = field(default_factory=Counter)

    @property
    def in_force(self) -> list[Waiver]:
        return [w for w in self.waivers if w.expires >= self.today]

    @property
    def expired(self) -> list[Waiver]:
        return [w for w in self.waivers if w.expires < self.today]

    def split(
        self, record_id: str | None, record: Mapping[str, Any], findings: list[Finding]
    ) -> tuple[list[Finding], list[WaivedFinding]]:
        """The findings no waiver covers, and those a waiver in force covers."""
        applying = self._applying(record_id, record)
        if not applying:
            return findings, []
        kept: list[Finding] = []
        waived: list[WaivedFinding] = []
        for finding in findings:
            waiver = next((w for w in applying if _covers(w, finding)), None)
            if waiver is None:
                kept.append(finding)
            else:
                self.used[waiver.number] += 1
                waived.append(WaivedFinding(finding, waiver))
        return kept, waived

    def closing_findings(self) -> list[Finding]:
        """After a run: a finding for each expired waiver and each that exempted nothing."""
        found = [
            Finding(
                EXPIRED,
                f"{waiver.title} expired on {waiver.expires.isoformat()}, so its records are "
                "checked again; renew it with a new date and reason, or remove it",
                self.file,
                waiver.line,
            )
            for waiver in self.expired
        ]
        found.extend(
            Finding(
                UNUSED,
                f"{waiver.title} exempted no finding: its records conform, or its ids, "
                "condition or criteria do not match any; remove it if it is no longer needed",
                self.file,
                waiver.line,
            )
            for waiver in self.in_force
            if not self.used[waiver.number]
        )
        return found

    def _applying(self, record_id: str | None, record: Mapping[str, Any]) -> list[Waiver]:
        segments: tuple[str, ...] | None = None
        applying: list[Waiver] = []
        for waiver in self.in_force:
            if waiver.when is None:
                if record_id is not None and record_id in waiver.ids:
                    applying.append(waiver)
                continue
            if segments is None:
                assert self.matcher is not None
                segments = self.matcher.segments_of(record, today=self.today)
            if self.segment_names[waiver.number] in segments:
                applying.append(waiver)
        return applying


def _covers(waiver: Waiver, finding: Finding) -> bool:
    for name in waiver.criteria:
        if finding.code == "SL501" and name in (finding.criterion, finding.stage):
            return True
        if finding.code == name:
            return True
    return False


# Finding and reading the file


def waivers_beside(policy_path: str | os.PathLike[str]) -> str | None:
    """The waivers file kept next to a policy, `NAME.waivers.toml` for `NAME.stage`, if any."""
    path = Path(policy_path)
    candidate = path.with_name(path.stem + WAIVERS_SUFFIX)
    return os.fspath(candidate) if candidate.is_file() else None


def load_waivers(
    path: str | os.PathLike[str], policy: Policy, today: dt.date | None = None
) -> Waivers:
    """Read, check and compile a waivers file against a policy. Raises WaiverError."""
    file = os.fspath(path)
    text = _read(file)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise WaiverError(f"{file}: not valid TOML: {error}") from None
    _validate(_dates_as_text(data), file)

    lines = [number for number, line in enumerate(text.splitlines(), 1) if _HEADER.match(line)]
    raw = data["waiver"]
    waivers = [
        _waiver(item, index + 1, lines[index] if index < len(lines) else None, policy, file)
        for index, item in enumerate(raw)
    ]
    day = today or dt.datetime.now(dt.UTC).date()
    matcher, names = _compile_conditions(waivers, policy, file)
    return Waivers(file, waivers, day, matcher, names)


def _read(file: str) -> str:
    try:
        with open(file, "rb") as handle:
            return handle.read().decode("utf-8-sig")
    except OSError as error:
        raise WaiverError(f"{file}: cannot read the waivers file: {error.strerror}") from None
    except UnicodeDecodeError:
        raise WaiverError(f"{file}: the waivers file is not UTF-8 text") from None


def _dates_as_text(value: Any) -> Any:
    """TOML dates as ISO text, so that the schema can check them; date-times stay as they are
    and are refused: an expiry is a day."""
    if isinstance(value, dict):
        return {key: _dates_as_text(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_dates_as_text(item) for item in value]
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value.isoformat()
    return value


def _validate(data: Any, file: str) -> None:
    errors = list(Draft202012Validator(SCHEMA).iter_errors(data))
    if errors:
        errors.sort(key=lambda e: [str(part) for part in e.absolute_path])
        raise WaiverError("\n".join(_explain(error, file) for error in errors))


def _explain(error: Any, file: str) -> str:
    path = list(error.absolute_path)
    where = file
    if len(path) >= 2 and path[0] == "waiver":
        where += f": waiver {path[1] + 1}"
        path = path[2:]
    key = " ".join(str(part) for part in path)
    prefix = f"{where}: {key}" if key else where
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema["properties"])
        unknown = sorted(set(error.instance) - set(allowed))
        return "\n".join(
            f'{prefix}: unknown key "{name}"'
            + (f' (did you mean "{guess}"?)' if (guess := closest(name, allowed)) else "")
            + f"; the keys allowed are {', '.join(allowed)}"
            for name in unknown
        )
    if error.validator == "required":
        missing = error.message.split("'")[1]
        if not error.absolute_path:
            return f"{prefix}: no [[waiver]] tables; each waiver starts with a line [[waiver]]"
        return (
            f"{prefix}: {missing} is missing; every waiver needs criteria, owner, reason, expires"
        )
    if error.validator == "type" and list(error.absolute_path) == ["waiver"]:
        return f"{file}: waiver: each waiver is a table of its own: write [[waiver]] above it"
    if error.validator == "pattern" or (error.validator == "type" and key == "expires"):
        return f"{prefix}: {error.instance!r} is not a date; write it as 2027-03-31, unquoted"
    return f"{prefix}: {error.message}"


def _waiver(
    item: dict[str, Any], number: int, line: int | None, policy: Policy, file: str
) -> Waiver:
    where = f"{file}:{line}" if line else file
    where += f": waiver {number}"
    if ("ids" in item) == ("when" in item):
        raise WaiverError(
            f"{where}: name its records with either ids = [...] or when = '<condition>', "
            "one of the two"
        )
    expires = item["expires"]
    if isinstance(expires, str):
        try:
            expires = dt.date.fromisoformat(expires)
        except ValueError:
            raise WaiverError(
                f"{where}: expires: {expires!r} is not a date on the calendar"
            ) from None
    criteria = tuple(item["criteria"])
    for name in criteria:
        _check_criterion(name, policy, where)
    return Waiver(
        number=number,
        line=line,
        criteria=criteria,
        owner=item["owner"],
        reason=item["reason"],
        expires=expires,
        ids=frozenset(str(value) for value in item.get("ids", ())),
        when=item.get("when"),
    )


def _check_criterion(name: str, policy: Policy, where: str) -> None:
    known = [*policy.criteria_in_order(), *policy.stages, *WAIVABLE_CODES]
    if name in known:
        return
    guess = closest(name, known)
    hint = f'; did you mean "{guess}"?' if guess else ""
    if name == "SL501":
        hint = "; name the criterion itself, as reports print it"
    elif name in DATA_RULES:
        hint = "; it cannot be waived: the findings it reports are not about one record's values"
        if name == "SL506":
            hint = "; it cannot be waived: a row that cannot be read has no id or values to match"
    raise WaiverError(
        f'{where}: criteria: "{name}" is not a criterion, stage or data rule of policy '
        f'"{policy.name}"{hint} (criteria are written as reports print them, e.g. '
        f'"{policy.criteria_in_order()[0] if policy.criteria_in_order() else "MQL"}")'
    )


# Conditions: each `when` becomes a segment of a copy of the policy, checked and compiled


def _compile_conditions(
    waivers: Iterable[Waiver], policy: Policy, file: str
) -> tuple[Policy | None, dict[int, str]]:
    with_condition = [w for w in waivers if w.when is not None]
    if not with_condition:
        return None, {}
    from stagelang.policy import Policy, prepare

    # The whole policy, with what it extends and its preset, as it was when it was loaded.
    parsed, _ = parse(policy.checked.source, policy.file)
    assert parsed is not None, "the policy was loaded, so it parses"
    tree, preset, _ = prepare(parsed, policy.root)
    assert tree is not None, "the policy was loaded, so what it extends can be read"
    names: dict[int, str] = {}
    segments: list[nodes.SegmentDecl] = []
    for waiver in with_condition:
        name = _free_name(f"waiver_{waiver.number}", policy)
        names[waiver.number] = name
        segments.append(_condition_segment(waiver, name, tree, file))

    combined = nodes.PolicyFile([*tree.declarations, *segments], tree.file, tree.source)
    checked, diagnostics = analyze(combined)
    assert checked is not None, [d.short() for d in diagnostics if d.is_error]
    if preset is not None:
        checked = dataclasses.replace(checked, preset=preset)
    return Policy(checked, root=policy.root), names


def _condition_segment(
    waiver: Waiver, name: str, tree: nodes.PolicyFile, file: str
) -> nodes.SegmentDecl:
    """The waiver's condition as a segment declaration, refused with the reason if it does not
    parse or check against the policy's fields."""
    assert waiver.when is not None
    where = f"{file}:{waiver.line}" if waiver.line else file
    where += f": waiver {waiver.number}: when"
    prefix = f"segment {name}: "
    fragment, diagnostics = parse(prefix + waiver.when + "\n", file)
    shown = " ".join(waiver.when.split())
    if fragment is None or diagnostics:
        raise WaiverError(_condition_errors(where, shown, diagnostics, len(prefix)))
    declared = fragment.declarations
    if len(declared) != 1 or not isinstance(declared[0], nodes.SegmentDecl):
        raise WaiverError(f"{where}: {shown!r} is not one condition")
    segment = declared[0]

    alone = nodes.PolicyFile([*tree.declarations, segment], tree.file, tree.source)
    _, found = analyze(alone)
    errors = [d for d in found if d.is_error]
    if errors:
        raise WaiverError(_condition_errors(where, shown, errors, len(prefix)))
    return segment


def _condition_errors(where: str, shown: str, diagnostics: list[Any], offset: int) -> str:
    lines = [f"{where}: the condition {shown!r} cannot be used:"]
    for diagnostic in diagnostics:
        column = max(diagnostic.span.column - offset, 1)
        advice = f" ({diagnostic.help})" if diagnostic.help else ""
        lines.append(f"  [{diagnostic.code}] at column {column}: {diagnostic.message}{advice}")
    return "\n".join(lines)


def _free_name(name: str, policy: Policy) -> str:
    while name in policy.segments or name in policy.fields:
        name = "_" + name
    return name


@dataclass
class WaivedGroup:
    """The findings one waiver exempted: how many, and the first few."""

    waiver: Waiver
    count: int = 0
    records: int = 0
    examples: list[Finding] = field(default_factory=list)


class WaivedLog:
    """Waived findings by waiver, at most `limit` examples each, for the reports that list them
    apart (text, SARIF, JUnit, GitHub)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.groups: dict[int, WaivedGroup] = {}
        self._last: tuple[int, str, int | None] | None = None

    def add(self, waived: WaivedFinding) -> bool:
        """Count a waived finding; True if it is one of the examples kept."""
        waiver, finding = waived.waiver, waived.finding
        group = self.groups.get(waiver.number)
        if group is None:
            group = self.groups[waiver.number] = WaivedGroup(waiver)
        group.count += 1
        record = (waiver.number, finding.file, finding.line)
        if record != self._last:  # a record's findings arrive together
            group.records += 1
            self._last = record
        if len(group.examples) >= self.limit:
            return False
        group.examples.append(finding)
        return True

    def ordered(self) -> list[WaivedGroup]:
        return [self.groups[number] for number in sorted(self.groups)]

    @property
    def count(self) -> int:
        return sum(group.count for group in self.groups.values())
