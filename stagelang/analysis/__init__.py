"""Syntax tree to checked policy: declarations, names, types and lint rules.

`analyze` reports every problem it can find in one pass, and builds the checked policy only when
none of them is an error.
"""

from __future__ import annotations

import dataclasses
import operator

from stagelang.analysis import history_clauses, lint, types
from stagelang.analysis.declarations import Declarations, collect
from stagelang.analysis.model import (
    CheckedPolicy,
    Criterion,
    Field,
    Invariant,
    Outcome,
    Segment,
    Stage,
)
from stagelang.analysis.typecheck import TypeChecker
from stagelang.diagnostics import Diagnostic, Span
from stagelang.suggestions import did_you_mean
from stagelang.syntax import nodes

__all__ = [
    "CheckedPolicy",
    "Criterion",
    "Field",
    "Invariant",
    "Outcome",
    "Segment",
    "Stage",
    "analyze",
    "fields_read",
]


def analyze(tree: nodes.PolicyFile) -> tuple[CheckedPolicy | None, list[Diagnostic]]:
    """Check a parsed policy: the checked policy (None if there are errors) and diagnostics."""
    declarations = collect(tree)
    checker = TypeChecker(declarations)

    for segment in declarations.segments.values():
        checker.condition(segment.condition)
    for stage in (*declarations.stages, *declarations.outcomes):
        for clause in stage.clauses:
            if clause.segment is not None:
                checker.segment(clause.segment, clause.segment_span)
            checker.condition(clause.condition)
    history_clauses.resolve_segments(declarations, checker)
    for invariant in tree.of_kind(nodes.InvariantDecl):
        checker.condition(invariant.condition)
        _check_scope(invariant, declarations)

    declarations.diagnostics.extend(lint.stage_without_exit(declarations))
    declarations.diagnostics.extend(lint.unused_field(declarations, checker))
    declarations.diagnostics.extend(lint.unused_segment(declarations, checker))
    declarations.diagnostics.extend(lint.exit_on_last_stage(declarations))
    for check in HISTORY_CHECKS:
        declarations.diagnostics.extend(check(declarations))
    declarations.diagnostics.extend(lint.instead_replaces_nothing(declarations))

    diagnostics = sorted(declarations.diagnostics, key=_position)
    if any(d.is_error for d in diagnostics):
        return None, diagnostics
    return _build(tree, declarations, checker), diagnostics


HISTORY_CHECKS = (
    history_clauses.unknown_stages,
    history_clauses.misplaced_clauses,
    history_clauses.duplicate_clauses,
    history_clauses.back_to_not_earlier,
    history_clauses.date_column_twice,
    history_clauses.dwell_not_positive,
)


def _position(diagnostic: Diagnostic) -> tuple[int, int, str]:
    return (diagnostic.span.line, diagnostic.span.column, diagnostic.code)


def _build(
    tree: nodes.PolicyFile, declarations: Declarations, checker: TypeChecker
) -> CheckedPolicy:
    assert declarations.stage_field is not None
    stages = tuple(_stage(decl, rank, tree) for rank, decl in enumerate(declarations.stages))
    required = tuple(
        _required(field, stages[0].name, checker)
        for field in declarations.fields.values()
        if field.required
    )
    first = stages[0]
    stages = (dataclasses.replace(first, entry=required + first.entry), *stages[1:])
    return CheckedPolicy(
        name=declarations.name or _stem(tree.file),
        file=tree.file,
        source=tree.source,
        fields=dict(declarations.fields),
        stage_field=declarations.stage_field,
        id_field=declarations.id_field,
        segments={
            name: Segment(name, decl.condition, decl.span)
            for name, decl in declarations.segments.items()
        },
        stages=stages,
        types=checker.types,
        outcomes=tuple(_outcome(decl, tree) for decl in declarations.outcomes),
        invariants=tuple(
            _invariant(decl, [stage.name for stage in stages], tree)
            for decl in tree.of_kind(nodes.InvariantDecl)
        ),
    )


def _check_scope(invariant: nodes.InvariantDecl, declarations: Declarations) -> None:
    scope = invariant.scope
    if scope is None:
        return
    names = [stage.name for stage in declarations.stages]
    if scope.stage in names:
        return
    declarations.report(
        "SL111",
        f'unknown stage "{scope.stage}"',
        scope.stage_span,
        label="not a stage of this policy",
        help=did_you_mean(scope.stage, names) or f"stages: {', '.join(names)}",
    )


def _invariant(decl: nodes.InvariantDecl, ladder: list[str], tree: nodes.PolicyFile) -> Invariant:
    """An invariant with its scope turned into the stages it speaks about."""
    stages = tuple(ladder)
    start = decl.condition.span
    if decl.scope is not None:
        rank = ladder.index(decl.scope.stage)
        compare = _RANK_ORDER[decl.scope.operator]
        stages = tuple(name for index, name in enumerate(ladder) if compare(index, rank))
        start = decl.scope.span
    end = decl.condition.span
    whole = dataclasses.replace(start, end_line=end.end_line, end_column=end.end_column)
    text = source_text(_source_of(tree, whole), whole)
    return Invariant(decl.name or text, decl.condition, text, stages, decl.span)


_RANK_ORDER = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _stage(decl: nodes.StageDecl, rank: int, tree: nodes.PolicyFile) -> Stage:
    entry: list[Criterion] = []
    exits: list[Criterion] = []
    # A base `requires` gives way, for records in these segments, to their `instead requires`.
    replaced_in = tuple(dict.fromkeys(c.segment for c in decl.clauses if c.replaces and c.segment))
    for clause in decl.clauses:
        base = clause.kind == "requires" and clause.segment is None
        target = exits if clause.kind == "exit" else entry
        for part in conjuncts(clause.condition):
            target.append(
                Criterion(
                    stage=decl.name,
                    kind=clause.kind,
                    condition=part,
                    text=source_text(_source_of(tree, part.span), part.span),
                    span=part.span,
                    segment=clause.segment,
                    fields=fields_read(part),
                    replaces=clause.replaces,
                    unless=replaced_in if base else (),
                )
            )
    history = decl.history
    return Stage(
        name=decl.name,
        rank=rank,
        label=decl.label,
        values=tuple(decl.values) or (decl.name,),
        entry=tuple(entry),
        exit=tuple(exits),
        span=decl.span,
        skippable=any(isinstance(h, nodes.AllowSkip) for h in history),
        back_to=_allowed(history, "back"),
        entered_column=_entered_column(history),
        dwell=next(
            (h.limit for h in history if isinstance(h, nodes.ExpectDwell) and not h.segment),
            None,
        ),
        segment_dwell=tuple(
            (h.segment, h.limit)
            for h in history
            if isinstance(h, nodes.ExpectDwell) and h.segment is not None
        ),
    )


def _source_of(tree: nodes.PolicyFile, span: Span) -> str:
    """The text a span points into: the policy's own, or that of a policy it extends."""
    if span.file is None:
        return tree.source
    return tree.sources.get(span.file, tree.source)


def _outcome(decl: nodes.StageDecl, tree: nodes.PolicyFile) -> Outcome:
    stage = _stage(decl, -1, tree)
    return Outcome(
        name=decl.name,
        label=decl.label,
        values=stage.values,
        entry=stage.entry,
        from_stages=_allowed(decl.history, "from"),
        entered_column=stage.entered_column,
        span=decl.span,
    )


def _allowed(history: list[nodes.HistoryClause], kind: str) -> tuple[str, ...]:
    names = [
        name
        for clause in history
        if isinstance(clause, nodes.AllowStages) and clause.kind == kind
        for name in clause.stages
    ]
    return tuple(dict.fromkeys(names))


def _entered_column(history: list[nodes.HistoryClause]) -> str | None:
    return next((h.column for h in history if isinstance(h, nodes.EnteredFrom)), None)


def _required(field: Field, stage: str, checker: TypeChecker) -> Criterion:
    """`required` on a field is a criterion every record meets, whatever its stage."""
    operand = nodes.Name(field.name, span=field.span)
    condition = nodes.IsSet(operand, span=field.span)
    checker.types[id(operand)] = field.type
    checker.types[id(condition)] = types.BOOL
    return Criterion(
        stage=stage,
        kind="required",
        condition=condition,
        text=f"{field.name} is set",
        span=field.span,
        fields=(field.name,),
    )


def conjuncts(expr: nodes.Expr) -> list[nodes.Expr]:
    """The top-level `and` parts of a condition, each a criterion of its own."""
    if isinstance(expr, nodes.Logical) and expr.operator == "and":
        return [part for operand in expr.operands for part in conjuncts(operand)]
    return [expr]


def fields_read(expr: nodes.Expr) -> tuple[str, ...]:
    """The fields an expression reads, in the order they are written, each once."""
    seen: dict[str, None] = {}
    _walk_names(expr, seen)
    return tuple(seen)


def _walk_names(expr: nodes.Expr, seen: dict[str, None]) -> None:
    if isinstance(expr, nodes.Name):
        seen.setdefault(expr.name)
        return
    for child in children(expr):
        _walk_names(child, seen)


def children(expr: nodes.Expr) -> list[nodes.Expr]:
    """The sub-expressions of an expression."""
    if isinstance(expr, (nodes.Count,)):
        return [expr.argument]
    if isinstance(expr, nodes.ListLiteral):
        return list(expr.items)
    if isinstance(expr, (nodes.Negate, nodes.Not, nodes.IsSet)):
        return [expr.operand]
    if isinstance(expr, (nodes.Arithmetic, nodes.Compare)):
        return [expr.left, expr.right]
    if isinstance(expr, nodes.Logical):
        return list(expr.operands)
    return []


def source_text(source: str, span: Span) -> str:
    """The source text under a span, on one line with its inner line breaks folded."""
    lines = source.splitlines()
    if not 1 <= span.line <= len(lines):
        return ""
    if span.line == span.end_line:
        return lines[span.line - 1][span.column - 1 : span.end_column - 1]
    parts = [lines[span.line - 1][span.column - 1 :]]
    parts.extend(lines[span.line : span.end_line - 1])
    parts.append(lines[span.end_line - 1][: span.end_column - 1])
    return " ".join(part.strip() for part in parts if part.strip())


def _stem(file: str) -> str:
    name = file.replace("\\", "/").rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[0] if "." in name else name
