"""The Python API: load a policy, then check records against it.

>>> import stagelang
>>> policy = stagelang.loads('''
... id field record_id
... stage field lifecycle_stage
... field engaged_sessions: int
... stage Subscriber
...   exit when engaged_sessions >= 1
... stage MQL requires engaged_sessions >= 3
... ''')
>>> policy.check({"lifecycle_stage": "mql", "engaged_sessions": 5}).conforms
True
>>> print(policy.check({"lifecycle_stage": "mql", "engaged_sessions": 2}).unmet[0])
MQL requires engaged_sessions >= 3, but engaged_sessions = 2
>>> policy.qualify({"engaged_sessions": 2})
'Subscriber'
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from stagelang import presets, suppressions
from stagelang.analysis import analyze
from stagelang.analysis.model import CheckedPolicy, Criterion, Field, Outcome, Stage
from stagelang.compiler import runtime
from stagelang.compiler.interpreter import Interpreter
from stagelang.compiler.python import (
    FALLBACK_ERRORS,
    compile_checker,
    compile_criteria,
    compile_qualifier,
    compile_segments,
)
from stagelang.composition import compose
from stagelang.diagnostics import Diagnostic
from stagelang.errors import PolicyError, PolicyFileError, RecordError
from stagelang.records.typed import value_fits, wrong_type_message
from stagelang.syntax import nodes, parse
from stagelang.verdicts import PendingVerdict, Unmet, Verdict

if TYPE_CHECKING:
    from stagelang.checking import RecordResult
    from stagelang.presets import PresetUse
    from stagelang.waivers import Waivers

Record = Mapping[str, Any]


def loads(
    text: str, file: str = "<string>", *, root: str | os.PathLike[str] | None = None
) -> Policy:
    """Parse, check and compile policy text. Raises PolicyError listing every problem.

    `root` is the folder a policy named by `extends` must be inside (see
    `stagelang.composition`); by default the folder of `file`.
    """
    policy, diagnostics = check_source(text, file, root=root)
    if policy is None:
        raise PolicyError(diagnostics)
    return Policy(policy, [d for d in diagnostics if not d.is_error], root=root)


def load(path: str | os.PathLike[str], *, root: str | os.PathLike[str] | None = None) -> Policy:
    """Read, check and compile a policy file. Raises PolicyFileError if it cannot be read."""
    return loads(read_policy_text(path), os.fspath(path), root=root)


def check_source(
    text: str, file: str = "<string>", *, root: str | os.PathLike[str] | None = None
) -> tuple[CheckedPolicy | None, list[Diagnostic]]:
    """Parse and analyse policy text without raising: the checked policy and every diagnostic.

    A policy that extends another is merged with it first; diagnostics about the other file
    name that file. Warnings silenced by `# stagelang: ignore[CODE]` comments are left out.
    """
    tree, diagnostics = parse(text, file)
    if tree is None:
        return None, suppressions.apply(text, file, diagnostics)
    filled, preset, problems = prepare(tree, root)
    if filled is None:
        return None, suppressions.apply(text, file, problems)
    policy, found = analyze(filled)
    if any(problem.code == "SL124" for problem in problems):
        # Without its preset the policy lacks the id and stage fields the preset would give:
        # saying so as well would send the reader after the wrong fix.
        found = [d for d in found if d.code not in ("SL106", "SL107")]
    if any(problem.is_error for problem in problems):
        policy = None
    elif policy is not None and preset is not None:
        policy = dataclasses.replace(policy, preset=preset)
    kept = suppressions.apply(text, file, [*problems, *found])
    return policy, sorted(kept, key=_position)


def prepare(
    tree: nodes.PolicyFile, root: str | os.PathLike[str] | None = None
) -> tuple[nodes.PolicyFile | None, PresetUse | None, list[Diagnostic]]:
    """A parsed policy made whole for analysis: `extends` resolved into one tree and the `use`
    preset filled in; None for the tree if an extended file cannot be used."""
    composed, problems = compose(tree, root)
    if composed is None:
        return None, None, problems
    filled, preset, found_in_use = presets.apply(composed)
    return filled, preset, [*problems, *found_in_use]


def _position(diagnostic: Diagnostic) -> tuple[bool, int, int, str]:
    # The file's own problems first, then those of the policies it extends.
    span = diagnostic.span
    return (span.file is not None, span.line, span.column, diagnostic.code)


def source_for(diagnostic: Diagnostic, file: str, source: str | None) -> str | None:
    """The text a diagnostic points into, to show its line: `source` when it is about `file`,
    otherwise the extended policy file it names (already read once, so inside the root)."""
    if diagnostic.file == file:
        return source
    try:
        return read_policy_text(diagnostic.file)
    except PolicyFileError:
        return None


def read_policy_text(path: str | os.PathLike[str]) -> str:
    """A policy file's text: UTF-8, with or without a byte order mark."""
    try:
        with open(path, "rb") as file:
            data = file.read()
    except OSError as error:
        raise PolicyFileError(
            f"{os.fspath(path)}: cannot read the file: {error.strerror}"
        ) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise PolicyFileError(
            f"{os.fspath(path)}:{line}: the file is not UTF-8 text (byte {error.start + 1}); "
            "save policy files as UTF-8"
        ) from None


class Policy:
    """A checked, compiled policy: ask it whether records conform to their stage."""

    def __init__(
        self,
        checked: CheckedPolicy,
        warnings: list[Diagnostic] | None = None,
        *,
        root: str | os.PathLike[str] | None = None,
    ) -> None:
        self.checked = checked
        self.warnings = list(warnings or [])
        # The folder `extends` was confined to, so that the policy can be composed again
        # (waiver conditions are checked against the whole policy).
        self.root = root
        self._interpreter = Interpreter(checked)
        self._ranks = {name: stage.rank for stage in checked.stages for name in _spellings(stage)}
        self._conforming = tuple(Verdict(stage.name, True) for stage in checked.stages)
        self._check = compile_checker(
            checked, self._ranks, self._conforming, PendingVerdict, self._explain, self._fallback
        )
        self._qualify = compile_qualifier(checked, self._qualify_slowly)
        self._segments = compile_segments(checked, self._segments_slowly)
        criteria = [c for stage in checked.stages for c in (*stage.entry, *stage.exit)]
        # Outcomes (Closed Lost) are off the ladder: their records leave the compiled fast path
        # by their unknown stage value, and are checked against the outcome's own criteria.
        self._outcomes = {
            name: outcome for outcome in checked.outcomes for name in _spellings(outcome)
        }
        criteria += [c for outcome in checked.outcomes for c in outcome.entry]
        tests = compile_criteria(checked, criteria)
        self._tests = {id(c): test for c, test in zip(criteria, tests, strict=True)}
        # The compiled functions take the place of the methods below on this instance: one
        # Python call less per record is a fifth of the cost of checking it.
        self.check = self._check  # type: ignore[method-assign]
        self.qualify = self._qualify  # type: ignore[method-assign]
        self.segments_of = self._segments  # type: ignore[method-assign]

    # What the policy declares

    @property
    def name(self) -> str:
        return self.checked.name

    @property
    def file(self) -> str:
        return self.checked.file

    @property
    def stages(self) -> tuple[str, ...]:
        """The stage names, in ladder order."""
        return tuple(stage.name for stage in self.checked.stages)

    @property
    def fields(self) -> Mapping[str, Field]:
        return self.checked.fields

    @property
    def segments(self) -> tuple[str, ...]:
        return tuple(self.checked.segments)

    @property
    def preset(self) -> PresetUse | None:
        """What the policy's `use` line supplies (stage values, date columns), or None."""
        return self.checked.preset

    def criteria_in_order(self) -> list[str]:
        """Every criterion, described in words, in the order a record meets them."""
        found: list[str] = []
        for stage in self.checked.stages:
            found.extend(c.describe() for c in stage.entry + stage.exit)
        return found

    def stage_for(self, value: Any) -> str | None:
        """The stage a CRM stage value means (matched ignoring case and spaces), or None."""
        rank = self._rank_of(value)
        return None if rank is None else self.checked.stages[rank].name

    # Checking records

    def check(self, record: Record, *, today: dt.date | None = None) -> Verdict:
        """Whether a record meets every criterion of its stage and the stages below it.

        `record` maps field names to typed values (bool, int, Decimal or float, str, date,
        datetime, list); None, empty text and empty lists are missing. `today` is the date
        `today` means in the policy (default: the current date in UTC). A value of the wrong
        type for its field raises RecordError.
        """
        return self._check(record, today=today)  # type: ignore[no-any-return]

    def qualify(self, record: Record, *, today: dt.date | None = None) -> str | None:
        """The highest stage whose criteria, and those of every stage below, the record meets.

        None when it does not meet even the first stage's criteria. The record's own stage
        value is not consulted.
        """
        return self._qualify(record, today=today)  # type: ignore[no-any-return]

    def segments_of(self, record: Record, *, today: dt.date | None = None) -> tuple[str, ...]:
        """The segments a record belongs to (those whose condition is true for it)."""
        return self._segments(record, today=today)  # type: ignore[no-any-return]

    def criteria_for(
        self, record: Record, *, today: dt.date | None = None
    ) -> tuple[Criterion, ...]:
        """Every criterion that applies to a record at its stage, lowest stage first.

        That is the entry criteria of its stage and every stage below (with the overlays of
        the segments it is in), and the exit criteria of the stages below it. Empty when its
        stage value names no stage.
        """
        value = record.get(self.checked.stage_field)
        rank = self._rank_of(value)
        outcome = self.outcome_for(value) if rank is None else None
        if rank is None and outcome is None:
            return ()
        segments = set(self.segments_of(record, today=today))
        if outcome is not None:
            return tuple(c for c in outcome.entry if c.segment is None or c.segment in segments)
        assert rank is not None
        found: list[Criterion] = []
        for stage in self.checked.stages[: rank + 1]:
            criteria = stage.entry + (stage.exit if stage.rank < rank else ())
            found.extend(c for c in criteria if c.applies(segments))
        return tuple(found)

    def check_file(
        self,
        path: str,
        *,
        input_format: str | None = None,
        encoding: str | None = None,
        timezone: dt.tzinfo = dt.UTC,
        as_of: dt.date | None = None,
        waivers: Waivers | None = None,
    ) -> Iterator[RecordResult]:
        """Check each record of an export (CSV, TSV, JSON Lines or JSON), one result per row.

        Reads the file one row at a time; raises InputError if it cannot be read at all.
        With `waivers` (stagelang.waivers.load_waivers), the findings they exempt are in each
        result's `waived` instead of its `findings`.
        """
        from stagelang.checking import Checker

        checker = Checker(self, timezone=timezone, as_of=as_of, waivers=waivers)
        return checker.check_files([path], input_format=input_format, encoding=encoding)

    def explain(self, record: Record, *, today: dt.date | None = None) -> tuple[Unmet, ...]:
        """Every criterion the record does not meet at its stage, lowest stage first."""
        return self.check(record, today=today).unmet

    def validate(self, record: Record) -> None:
        """Raise RecordError if a field of the record holds a value of the wrong Python type.

        `check` does not do this for every record, because it would cost more than the check
        itself: the compiled checker trusts the types, and only a record that fails, or that
        makes it stumble, is looked at closely. Call this on records you did not build with
        the declared types.
        """
        if not isinstance(record, Mapping):
            raise RecordError(
                f"a record must be a mapping of field names to values, not {type(record).__name__}"
            )
        for name, field in self.checked.fields.items():
            value = record.get(name)
            if not value_fits(value, field.type):
                raise RecordError(wrong_type_message(name, value, field.type), name)

    # The slow path: everything the compiled checker hands back

    def unmet_criteria(
        self, record: Record, *, today: dt.date | None = None, check_types: bool = True
    ) -> tuple[Unmet, ...]:
        """Every criterion the record does not meet at its stage, lowest stage first.

        Empty when it meets them all, or when its stage value names no stage. With
        `check_types=False` the record's value types are trusted, as they may be for records
        that stagelang's own readers built.
        """
        if check_types:
            self.validate(record)
        value = record.get(self.checked.stage_field)
        rank = self._rank_of(value)
        if rank is None:
            outcome = self.outcome_for(value)
            if outcome is None:
                return ()
            return self._check_outcome(record, outcome, today or runtime.today_utc()).unmet
        return self._unmet(record, rank, today or runtime.today_utc())

    def evaluate(
        self, criterion: Criterion, record: Record, *, today: dt.date | None = None
    ) -> bool | None:
        """Whether a record meets one criterion of this policy: True, False, or None (unknown).

        The criterion's stage and segment are not consulted: this is the condition alone.
        """
        return self._outcome(criterion, record, today or runtime.today_utc())

    def _explain(
        self, record: dict[str, Any], rank: int, today: dt.date | None
    ) -> tuple[Unmet, ...]:
        self.validate(record)
        return self._unmet(record, rank, today or runtime.today_utc())

    def _fallback(self, record: Record, today: dt.date | None) -> Verdict:
        self.validate(record)
        value = record.get(self.checked.stage_field)
        rank = self._rank_of(value)
        if rank is None:
            outcome = self.outcome_for(value)
            if outcome is not None:
                return self._check_outcome(record, outcome, today or runtime.today_utc())
            return self._unknown_stage(value)
        day = today or runtime.today_utc()
        unmet = self._unmet(record, rank, day)
        if not unmet:
            return self._conforming[rank]
        return Verdict(self.checked.stages[rank].name, False, unmet=unmet)

    def outcome_for(self, value: Any) -> Outcome | None:
        """The outcome a CRM stage value means (Closed Lost), matched like stage values."""
        if not isinstance(value, str):
            return None
        return self._outcomes.get(value) or self._outcomes.get(value.strip().casefold())

    def meets(self, criterion: Criterion, record: Record, today: dt.date) -> bool | None:
        """Whether a record meets one criterion: true, false, or None for unknown."""
        return self._outcome(criterion, record, today)

    def _check_outcome(self, record: Record, outcome: Outcome, today: dt.date) -> Verdict:
        segments = self._segments(record, today=today)
        unmet: list[Unmet] = []
        for criterion in outcome.entry:
            if criterion.segment is not None and criterion.segment not in segments:
                continue
            result = self._outcome(criterion, record, today)
            if result is not True:
                values = {name: runtime.known(record.get(name)) for name in criterion.fields}
                unmet.append(Unmet(criterion, values, result))
        return Verdict(outcome.name, not unmet, unmet=tuple(unmet))

    def _qualify_slowly(self, record: Record, today: dt.date | None) -> str | None:
        self.validate(record)
        day = today or runtime.today_utc()
        reached: str | None = None
        for stage in self.checked.stages:
            if any(self._fails(c, record, day) for c in stage.entry):
                return reached
            reached = stage.name
            if any(self._fails(c, record, day) for c in stage.exit):
                return reached
        return reached

    def _segments_slowly(self, record: Record, today: dt.date | None) -> tuple[str, ...]:
        self.validate(record)
        day = today or runtime.today_utc()
        return tuple(
            name
            for name, segment in self.checked.segments.items()
            if self._interpreter.truth(segment.condition, record, day) is True
        )

    def _unknown_stage(self, value: Any) -> Verdict:
        field = self.checked.stage_field
        if runtime.is_missing(value):
            problem = f"{field} is missing, so the record has no stage to check"
        else:
            known = ", ".join((*self.stages, *(o.name for o in self.checked.outcomes)))
            problem = f'{field} = "{value}" is not a stage of this policy (stages: {known})'
        return Verdict(None, False, problem=problem)

    def _unmet(self, record: Record, rank: int, today: dt.date) -> tuple[Unmet, ...]:
        segments = self._segments(record, today=today)
        found: list[Unmet] = []
        for stage in self.checked.stages[: rank + 1]:
            criteria = stage.entry + (stage.exit if stage.rank < rank else ())
            for criterion in criteria:
                if not criterion.applies(segments):
                    continue
                outcome = self._outcome(criterion, record, today)
                if outcome is not True:
                    values = {name: runtime.known(record.get(name)) for name in criterion.fields}
                    found.append(Unmet(criterion, values, outcome))
        return tuple(found)

    def _outcome(self, criterion: Criterion, record: Record, today: dt.date) -> bool | None:
        try:
            return self._tests[id(criterion)](record, today)  # type: ignore[no-any-return]
        except FALLBACK_ERRORS:
            # Values the compiled test cannot take (empty text in a number field, say): the
            # interpreter gives the same answer the slow, general way.
            return self._interpreter.truth(criterion.condition, record, today)

    def _fails(self, criterion: Criterion, record: Record, today: dt.date) -> bool:
        if (criterion.segment or criterion.unless) and not criterion.applies(
            self._segments(record, today=today)
        ):
            return False
        return self._outcome(criterion, record, today) is not True

    def _rank_of(self, value: Any) -> int | None:
        if not isinstance(value, str):
            return None
        rank = self._ranks.get(value)
        if rank is None:
            rank = self._ranks.get(value.strip().casefold())
        return rank

    def __repr__(self) -> str:
        return f"<Policy {self.name!r}: {' > '.join(self.stages)}>"


def _spellings(stage: Stage | Outcome) -> set[str]:
    """The stage values matched without any normalising: as written, and common casings."""
    spellings: set[str] = set()
    for value in stage.values:
        spellings.update({value, value.casefold(), value.upper(), value.title(), value.strip()})
    spellings.update(value.strip().casefold() for value in stage.values)
    return spellings
