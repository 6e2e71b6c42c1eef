"""Checks of the history clauses: `allow skip`, `allow back to`, `allow from`, `entered from`
and `expect dwell`.

Each check is a function named for what it looks for; it yields diagnostics and changes
nothing. Segments named by `in SEGMENT expect dwell` are resolved by the type checker, like
those of overlays, so that an unknown one is reported the same way.
"""

from __future__ import annotations

from collections.abc import Iterator

from stagelang.analysis.declarations import Declarations
from stagelang.analysis.typecheck import TypeChecker
from stagelang.diagnostics import Diagnostic
from stagelang.rules import diagnose
from stagelang.suggestions import did_you_mean
from stagelang.syntax import nodes


def resolve_segments(declarations: Declarations, checker: TypeChecker) -> None:
    """Resolve the segments of `in SEGMENT expect dwell` lines (SL102 when unknown)."""
    for stage in (*declarations.stages, *declarations.outcomes):
        for clause in stage.history:
            if isinstance(clause, nodes.ExpectDwell) and clause.segment is not None:
                checker.segment(clause.segment, clause.segment_span)


def unknown_stages(declarations: Declarations) -> Iterator[Diagnostic]:
    """`allow back to X` and `allow from X` must name a stage of the ladder."""
    ladder = [stage.name for stage in declarations.stages]
    outcomes = {outcome.name for outcome in declarations.outcomes}
    for stage in (*declarations.stages, *declarations.outcomes):
        for clause in stage.history:
            if not isinstance(clause, nodes.AllowStages):
                continue
            for name, span in zip(clause.stages, clause.stage_spans, strict=True):
                if name in ladder:
                    continue
                if name in outcomes:
                    help = f'"{name}" is an outcome; name a stage of the ladder'
                else:
                    help = did_you_mean(name, ladder) or "the stages are: " + ", ".join(ladder)
                yield diagnose(
                    "SL111",
                    f'unknown stage "{name}"',
                    span,
                    declarations.file,
                    label="not a stage of the ladder",
                    help=help,
                )


def misplaced_clauses(declarations: Declarations) -> Iterator[Diagnostic]:
    """Clauses that mean nothing where they are written."""
    for stage in declarations.stages:
        for clause in stage.history:
            if isinstance(clause, nodes.AllowStages) and clause.kind == "from":
                yield _misplaced(
                    declarations,
                    clause,
                    "`allow from` belongs to an outcome, not to a stage of the ladder",
                    "stages of the ladder are entered from the stage below; to let a record "
                    "return to an earlier stage, write `allow back to STAGE` under the later one",
                )
    for outcome in declarations.outcomes:
        for item in [*outcome.history, *outcome.clauses]:
            problem = _misplaced_on_outcome(item)
            if problem is not None:
                yield _misplaced(declarations, item, problem, "remove the line from the outcome")


def _misplaced_on_outcome(item: nodes.HistoryClause | nodes.Clause) -> str | None:
    if isinstance(item, nodes.AllowSkip):
        return "an outcome is not on the ladder, so it cannot be skipped"
    if isinstance(item, nodes.AllowStages) and item.kind == "back":
        return "an outcome ends a stay, so `allow back to` has no meaning on it"
    if isinstance(item, nodes.ExpectDwell):
        return "an outcome ends a stay, so a record never dwells in it"
    if isinstance(item, nodes.Clause) and item.kind == "exit":
        return "an outcome ends a stay, so its `exit when` would never be checked"
    return None


def _misplaced(
    declarations: Declarations,
    item: nodes.HistoryClause | nodes.Clause,
    message: str,
    help: str,
) -> Diagnostic:
    return diagnose("SL112", message, item.span, declarations.file, help=help)


def duplicate_clauses(declarations: Declarations) -> Iterator[Diagnostic]:
    """One `entered from`, one `expect dwell` and one per segment, one `allow skip`."""
    for stage in (*declarations.stages, *declarations.outcomes):
        seen: set[tuple[str, str | None]] = set()
        for clause in stage.history:
            key = _key(clause)
            if key is None:
                continue
            if key in seen:
                yield diagnose(
                    "SL104",
                    f'stage "{stage.name}" has two `{key[0]}` lines'
                    + (f" for {key[1]}" if key[1] else ""),
                    clause.span,
                    declarations.file,
                    help="keep one of them",
                )
            seen.add(key)


def _key(clause: nodes.HistoryClause) -> tuple[str, str | None] | None:
    if isinstance(clause, nodes.AllowSkip):
        return ("allow skip", None)
    if isinstance(clause, nodes.EnteredFrom):
        return ("entered from", None)
    if isinstance(clause, nodes.ExpectDwell):
        return ("expect dwell", clause.segment)
    return None


def back_to_not_earlier(declarations: Declarations) -> Iterator[Diagnostic]:
    """`allow back to X` under a stage X is not below: a move there is not backward."""
    ranks = {stage.name: rank for rank, stage in enumerate(declarations.stages)}
    for rank, stage in enumerate(declarations.stages):
        for clause in stage.history:
            if not (isinstance(clause, nodes.AllowStages) and clause.kind == "back"):
                continue
            for name, span in zip(clause.stages, clause.stage_spans, strict=True):
                target = ranks.get(name)
                if target is None or target < rank:
                    continue
                where = "the stage itself" if target == rank else "a later stage"
                yield diagnose(
                    "SL305",
                    f'"{stage.name}" allows a move back to "{name}", which is {where}',
                    span,
                    declarations.file,
                    label="not earlier on the ladder",
                    help="`allow back to` names an earlier stage a record may return to; "
                    "moves forward follow the ladder (see `allow skip`)",
                )


def date_column_twice(declarations: Declarations) -> Iterator[Diagnostic]:
    """Two stages reading their entered date from one column would always tie.

    Except where a record reaches only one of them: the ends of a pipeline (the last stage
    and the outcomes) may share a column, as a close date serves both Won and Lost."""
    ends = {o.name for o in declarations.outcomes}
    if declarations.stages:
        ends.add(declarations.stages[-1].name)
    owners: dict[str, str] = {}
    for stage in (*declarations.stages, *declarations.outcomes):
        for clause in stage.history:
            if not isinstance(clause, nodes.EnteredFrom):
                continue
            key = clause.column.strip().casefold()
            owner = owners.setdefault(key, stage.name)
            if owner == stage.name or {owner, stage.name} <= ends:
                continue
            yield diagnose(
                "SL306",
                f'the date column "{clause.column}" is bound to both "{owner}" and "{stage.name}"',
                clause.column_span,
                declarations.file,
                help="each stage needs the column with the date it was entered; "
                'HubSpot exports one per stage, such as "Became a Customer Date" (only the '
                "last stage and the outcomes, which a record reaches one of, may share one)",
            )


def dwell_not_positive(declarations: Declarations) -> Iterator[Diagnostic]:
    """`expect dwell <= 0d` would call every record stalled on the day it arrives."""
    for stage in (*declarations.stages, *declarations.outcomes):
        for clause in stage.history:
            if isinstance(clause, nodes.ExpectDwell) and clause.limit.days <= 0:
                yield diagnose(
                    "SL307",
                    f"an expected dwell of {clause.written or clause.limit.days} is not a "
                    "positive duration",
                    clause.limit_span,
                    declarations.file,
                    help="give the longest normal stay, such as expect dwell <= 30d",
                )
