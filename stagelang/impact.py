"""The impact of a policy change: both versions of a policy run over the same exports.

For a reviewer of a pull request that changes a policy, the question is not whether the new
policy is valid (lint says that) but what it does to the records the team already has: which
records newly fail, which newly pass, and which now qualify for a different stage.

    from stagelang.impact import compare
    impact = compare(load("old.stage"), load("new.stage"), ["export.csv"])
    impact.totals.newly_failing, impact.examples["newly failing"][0].reasons

Both policies read every file row by row, side by side, so memory stays bounded by `limit`
examples a kind, whatever the size of the export. A row is compared with itself: the same
file and line under both policies.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from stagelang.checking import Checker, RecordResult
from stagelang.errors import StagelangError
from stagelang.policy import Policy

NEWLY_FAILING = "newly failing"
NEWLY_PASSING = "newly passing"
QUALIFYING_CHANGED = "qualifying stage changed"
KINDS = (NEWLY_FAILING, NEWLY_PASSING, QUALIFYING_CHANGED)
NO_STAGE = "(no stage)"


class ImpactError(StagelangError):
    """Two policies or exports that cannot be compared as given."""


@dataclass
class Tally:
    """For one stage or segment: records compared, and how many changed in each way."""

    records: int = 0
    newly_failing: int = 0
    newly_passing: int = 0
    qualifying_changed: int = 0

    def add(self, change: Change | None) -> None:
        self.records += 1
        if change is None:
            return
        if change.newly_failing:
            self.newly_failing += 1
        if change.newly_passing:
            self.newly_passing += 1
        if change.qualifying_changed:
            self.qualifying_changed += 1

    @property
    def changed(self) -> bool:
        return bool(self.newly_failing or self.newly_passing or self.qualifying_changed)


@dataclass(frozen=True)
class Change:
    """One record whose verdict or qualifying stage differs between the two policies."""

    file: str
    line: int
    record_id: str | None
    stage: str | None
    segments: tuple[str, ...]
    old_conforms: bool
    new_conforms: bool
    old_qualifying: str | None
    new_qualifying: str | None
    # Why it fails under the policy it fails under: the findings the other policy does not
    # have (empty when only the qualifying stage changed).
    reasons: tuple[str, ...]

    @property
    def newly_failing(self) -> bool:
        return self.old_conforms and not self.new_conforms

    @property
    def newly_passing(self) -> bool:
        return self.new_conforms and not self.old_conforms

    @property
    def qualifying_changed(self) -> bool:
        return self.old_qualifying != self.new_qualifying

    @property
    def kinds(self) -> list[str]:
        flags = (self.newly_failing, self.newly_passing, self.qualifying_changed)
        return [kind for kind, flag in zip(KINDS, flags, strict=True) if flag]

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "id": self.record_id,
            "stage": self.stage,
            "segments": list(self.segments),
            "old_conforms": self.old_conforms,
            "new_conforms": self.new_conforms,
            "old_qualifying": self.old_qualifying,
            "new_qualifying": self.new_qualifying,
            "reasons": list(self.reasons),
        }


@dataclass
class Impact:
    """What changing `old` into `new` does to the records of some exports."""

    old: str
    new: str
    files: list[str]
    limit: int
    records: int = 0
    unreadable: int = 0
    totals: Tally = field(default_factory=Tally)
    by_stage: dict[str, Tally] = field(default_factory=dict)
    by_segment: dict[str, Tally] = field(default_factory=dict)
    examples: dict[str, list[Change]] = field(default_factory=lambda: {k: [] for k in KINDS})

    @property
    def changed(self) -> bool:
        return self.totals.changed

    def add(self, change: Change | None, stage: str | None, segments: tuple[str, ...]) -> None:
        self.records += 1
        self.totals.add(change)
        self.by_stage.setdefault(stage or NO_STAGE, Tally()).add(change)
        for segment in segments:
            self.by_segment.setdefault(segment, Tally()).add(change)
        if change is None:
            return
        for kind in change.kinds:
            if len(self.examples[kind]) < self.limit:
                self.examples[kind].append(change)

    def to_dict(self) -> dict[str, Any]:
        return {
            "old": self.old,
            "new": self.new,
            "files": self.files,
            "records": self.records,
            "unreadable": self.unreadable,
            "totals": vars(self.totals),
            "by_stage": {name: vars(tally) for name, tally in self.by_stage.items()},
            "by_segment": {name: vars(tally) for name, tally in self.by_segment.items()},
            "examples": {
                kind: [change.to_dict() for change in changes]
                for kind, changes in self.examples.items()
            },
            "limit": self.limit,
        }


def compare(
    old: Policy,
    new: Policy,
    files: Sequence[str],
    *,
    input_format: str | None = None,
    encoding: str | None = None,
    timezone: dt.tzinfo = dt.UTC,
    as_of: dt.date | None = None,
    limit: int = 10,
) -> Impact:
    """Run both policies over the same exports and count what changes, per stage and segment.

    Raises InputError when an export cannot be read by either policy (a column one of them
    needs is missing, for example), and ImpactError for standard input, which cannot be read
    twice.
    """
    if "-" in files:
        raise ImpactError(
            "impact reads each export twice, once per policy, so it cannot read standard "
            "input (-); save the export to a file first"
        )
    today = as_of or dt.datetime.now(dt.UTC).date()
    # Duplicate ids are the same finding under both policies: not remembering ids keeps memory
    # flat on large exports.
    checkers = [
        Checker(policy, timezone=timezone, as_of=today, duplicate_ids=False)
        for policy in (old, new)
    ]
    impact = Impact(old.file, new.file, list(files), limit)
    # Rows in the order of the new policy's ladder; stages only the old one has follow.
    impact.by_stage = {stage: Tally() for stage in (*new.stages, *old.stages)}
    impact.by_segment = {segment: Tally() for segment in (*new.segments, *old.segments)}
    before_all = checkers[0].check_files(files, input_format=input_format, encoding=encoding)
    after_all = checkers[1].check_files(files, input_format=input_format, encoding=encoding)
    for before, after in zip(before_all, after_all, strict=True):
        if before.unreadable or after.unreadable:
            impact.unreadable += 1
            continue
        stage = after.stage or before.stage
        segments = tuple(dict.fromkeys((*before.segments, *after.segments)))
        change = _change(old, new, before, after, stage, segments, today)
        impact.add(change, stage, segments)
    return impact


def _change(
    old: Policy,
    new: Policy,
    before: RecordResult,
    after: RecordResult,
    stage: str | None,
    segments: tuple[str, ...],
    today: dt.date,
) -> Change | None:
    assert before.record is not None and after.record is not None, "readable rows have records"
    old_qualifying = old.qualify(before.record, today=today)
    new_qualifying = new.qualify(after.record, today=today)
    if before.conforms == after.conforms and old_qualifying == new_qualifying:
        return None
    # The reasons are what differs: the findings of the failing side the other side lacks.
    failing, other = (after, before) if not after.conforms else (before, after)
    known = {finding.message for finding in other.findings}
    return Change(
        file=after.file,
        line=after.line,
        record_id=after.record_id,
        stage=stage,
        segments=segments,
        old_conforms=before.conforms,
        new_conforms=after.conforms,
        old_qualifying=old_qualifying,
        new_qualifying=new_qualifying,
        reasons=tuple(f.message for f in failing.findings if f.message not in known),
    )
