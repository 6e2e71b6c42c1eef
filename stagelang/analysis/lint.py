"""Lint rules: policies that check but are probably not what their author meant.

Each rule is a function named for what it looks for; it yields diagnostics and changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator

from stagelang.analysis.declarations import Declarations
from stagelang.analysis.typecheck import TypeChecker
from stagelang.diagnostics import Diagnostic
from stagelang.rules import diagnose


def stage_without_exit(declarations: Declarations) -> Iterator[Diagnostic]:
    """A stage before the last with no exit criterion is just a label."""
    for stage in declarations.stages[:-1]:
        if any(clause.kind == "exit" for clause in stage.clauses):
            continue
        yield diagnose(
            "SL301",
            f'stage "{stage.name}" has no exit criterion',
            stage.name_span,
            declarations.file,
            label="no `exit when` below this stage",
            help="add a line below it saying what must be true for a record to move on: "
            "exit when <condition>",
        )


def unused_field(declarations: Declarations, checker: TypeChecker) -> Iterator[Diagnostic]:
    """A declared field that no criterion reads, and that is not the id or the stage."""
    for field in declarations.fields.values():
        if field.name in checker.used_fields or field.role is not None or field.required:
            continue
        yield diagnose(
            "SL302",
            f'field "{field.name}" is declared but never used',
            field.span,
            declarations.file,
            help="use it in a criterion, mark it `required`, or remove the declaration",
        )


def unused_segment(declarations: Declarations, checker: TypeChecker) -> Iterator[Diagnostic]:
    """A segment that no overlay applies to."""
    for segment in declarations.segments.values():
        if segment.name in checker.used_segments:
            continue
        yield diagnose(
            "SL303",
            f'segment "{segment.name}" is declared but no stage uses it',
            segment.name_span,
            declarations.file,
            help=f"add an overlay such as: in {segment.name} requires ..., or remove it",
        )


def exit_on_last_stage(declarations: Declarations) -> Iterator[Diagnostic]:
    """The last stage's exit criterion is never checked: no stage comes after it."""
    if not declarations.stages:
        return
    last = declarations.stages[-1]
    for clause in last.clauses:
        if clause.kind != "exit":
            continue
        yield diagnose(
            "SL304",
            f'the exit criterion of "{last.name}", the last stage, is never checked',
            clause.span,
            declarations.file,
            help="a record is checked against the exit criteria of the stages below its own; "
            "nothing comes after the last stage, so remove the line or add the next stage",
        )


def instead_replaces_nothing(declarations: Declarations) -> Iterator[Diagnostic]:
    """An `instead requires` under a stage with no base `requires` replaces nothing."""
    for stage in declarations.stages:
        if any(c.kind == "requires" and c.segment is None for c in stage.clauses):
            continue
        for clause in stage.clauses:
            if not clause.replaces:
                continue
            yield diagnose(
                "SL308",
                f'stage "{stage.name}" has no `requires` for `instead` to replace',
                clause.span,
                declarations.file,
                help=f"drop `instead` (the line then adds to the stage's criteria for "
                f"{clause.segment}), or add the global `requires` it should replace",
            )
