"""Checked policy to Python predicates, by generating the source of one function per question.

Why generated source rather than composed closures: a flat function with one `if` per criterion
runs at the speed of a handwritten checker, while closures pay a Python call per node.

Safety: the generated text is built only from the checked tree. Field names and text constants
are written with `repr`, which always yields a Python string literal; every other constant
(decimals, dates, durations, lists) is passed in as a named value, never spelled as source.
Nothing a policy author writes becomes code.

Three-valued logic without the cost: each condition compiles twice, to an expression that is
truthy exactly when the condition is True (`_true`), and one that is truthy exactly when it is
False (`_false`); `not` swaps them. A missing value makes both falsy, which is unknown. A value
of the wrong type makes the generated code raise, and the caller then falls back to the
interpreter, which reports it properly; so the fast path never needs to check types.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from stagelang.analysis import types
from stagelang.analysis.model import CheckedPolicy, Criterion, Stage
from stagelang.compiler import runtime
from stagelang.errors import StagelangError
from stagelang.syntax import nodes

_INVERSE = {"==": "!=", "!=": "==", "<": ">=", "<=": ">", ">": "<=", ">=": "<"}
_FUNCTIONS = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}

# Exceptions that mean "a value of an unexpected type reached the fast path".
FALLBACK_ERRORS = (TypeError, AttributeError, ValueError, ArithmeticError)


@dataclass
class _Source:
    """The function being generated: its lines and the constants it refers to by name."""

    dense: bool = False  # read fields as r[name] (every key present) or r.get(name)
    constants: dict[str, Any] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)
    counter: int = 0
    fields: dict[str, str] = field(default_factory=dict)
    unread: list[tuple[str, str]] = field(default_factory=list)

    def field(self, name: str) -> str:
        """The local variable holding field `name`; it is read before the line that needs it."""
        variable = self.fields.get(name)
        if variable is None:
            variable = f"_f{len(self.fields)}"
            self.fields[name] = variable
            self.unread.append((variable, name))
        return variable

    def read_fields(self, indent: int = 2) -> None:
        """Emit the reads of the fields the next line uses for the first time."""
        for variable, name in self.unread:
            self.emit(f"{variable} = {self.lookup(name)}", indent)
        self.unread.clear()

    def lookup(self, name: str) -> str:
        return f"r[{name!r}]" if self.dense else f"r.get({name!r})"

    def temp(self) -> str:
        self.counter += 1
        return f"_v{self.counter}"

    def constant(self, value: Any) -> str:
        name = f"_k{len(self.constants)}"
        self.constants[name] = value
        return name

    def emit(self, line: str, indent: int = 2) -> None:
        self.lines.append("    " * indent + line)


class _Expressions:
    """Writes conditions and values of one policy as Python expressions."""

    def __init__(self, policy: CheckedPolicy, source: _Source) -> None:
        self.policy = policy
        self.source = source

    def literal(self, value: Any) -> str:
        if isinstance(value, bool) or value is None:
            return repr(value)
        if isinstance(value, (int, str)):
            return repr(value)  # always a plain literal: digits, or a quoted and escaped string
        return self.source.constant(value)

    def read(self, name: str) -> str:
        return self.source.field(name)

    # Conditions

    def true(self, expr: nodes.Expr) -> str:
        """Python text that is truthy exactly when the condition is True."""
        return self._condition(expr, want=True)

    def false(self, expr: nodes.Expr) -> str:
        """Python text that is truthy exactly when the condition is False."""
        return self._condition(expr, want=False)

    def _condition(self, expr: nodes.Expr, want: bool) -> str:
        if isinstance(expr, nodes.Logical):
            joiner = " and " if (expr.operator == "and") == want else " or "
            parts = [self._condition(operand, want) for operand in expr.operands]
            return "(" + joiner.join(parts) + ")"
        if isinstance(expr, nodes.Not):
            return self._condition(expr.operand, not want)
        if isinstance(expr, nodes.IsSet):
            is_set = self._is_set(expr.operand)
            return is_set if want != expr.negated else f"(not {is_set})"
        if isinstance(expr, nodes.Compare):
            return self._compare(expr, want)
        if isinstance(expr, nodes.Name):
            if self.policy.type_of(expr) == types.BOOL:
                return f"({self.read(expr.name)} is {want})"
            return self._is_set(expr) if want else f"(not {self._is_set(expr)})"
        if isinstance(expr, nodes.Literal) and isinstance(expr.value, bool):
            return repr(expr.value == want)
        raise TypeError(f"not a condition: {expr!r}")

    def _is_set(self, expr: nodes.Expr) -> str:
        if isinstance(expr, nodes.Name):
            kind = self.policy.type_of(expr)
            if kind.is_list or kind == types.STRING:
                return f"{self.read(expr.name)}"  # empty text, empty lists and None are falsy
            variable = self.read(expr.name)
            return f"({variable} is not None and {variable} != '')"
        return f"({self.value(expr)} is not None)"

    def _compare(self, expr: nodes.Compare, want: bool) -> str:
        op = expr.operator
        if want and op == "==" and _is_present_literal(expr.right) and not self._mixed(expr):
            # Nothing missing equals a constant, so the missing checks can be left out.
            constant = self.literal(expr.right.value)  # type: ignore[union-attr]
            return f"({self._operand_text(expr.left)} == {constant})"

        # Ordering empty text against a constant number or date raises TypeError, which sends
        # the record to the interpreter, so that check can be left out there. Between two
        # fields it cannot: "" <= "" is simply True.
        ordering = op in ("<", "<=", ">", ">=")
        left, left_checks = self._operand(expr.left, ordering and _is_constant(expr.right))
        right, right_checks = self._operand(expr.right, ordering and _is_constant(expr.left))
        checks = left_checks + right_checks
        test = self._test(expr, left, right, want)
        return "(" + " and ".join([*checks, test]) + ")"

    def _test(self, expr: nodes.Compare, left: str, right: str, want: bool) -> str:
        op = expr.operator
        if op in ("in", "not in"):
            positive = (op == "in") == want
            return f"{left} {'in' if positive else 'not in'} {right}"
        if op == "contains":
            return f"{right} {'in' if want else 'not in'} {left}"
        written = op if want else _INVERSE[op]
        if self._mixed(expr):
            function = self.source.constant(_FUNCTIONS[written])
            align = self.source.constant(runtime.align_dates)
            return f"{function}(*{align}({left}, {right}))"
        return f"{left} {written} {right}"

    def _mixed(self, expr: nodes.Compare) -> bool:
        """Whether a comparison sets a date against a datetime."""
        sides = {self.policy.type_of(expr.left), self.policy.type_of(expr.right)}
        return sides == {types.DATE, types.DATETIME}

    def _operand(self, expr: nodes.Expr, against_constant: bool) -> tuple[str, list[str]]:
        """The text to use for an operand, and the checks that it is not missing."""
        if isinstance(expr, nodes.Literal):
            return self.literal(expr.value), []
        if isinstance(expr, nodes.ListLiteral):
            items = frozenset(item.value for item in expr.items)  # type: ignore[union-attr]
            return self.source.constant(items), []
        if isinstance(expr, nodes.Count):
            return self.value(expr), []  # a count is never missing
        if isinstance(expr, nodes.Name):
            kind = self.policy.type_of(expr)
            variable = self.read(expr.name)
            if kind.is_list or kind == types.STRING:
                return variable, [variable]  # empty text and empty lists are falsy: missing
            if against_constant:
                return variable, [f"{variable} is not None"]
            return variable, [f"{variable} is not None", f"{variable} != ''"]
        temp = self.source.temp()
        return temp, [f"({temp} := {self.value(expr)}) is not None"]

    def _operand_text(self, expr: nodes.Expr) -> str:
        if isinstance(expr, nodes.Name):
            return self.read(expr.name)
        return self.value(expr)

    # Values

    def value(self, expr: nodes.Expr) -> str:
        """Python text for a value, None when it is missing."""
        if isinstance(expr, nodes.Literal):
            return self.literal(expr.value)
        if isinstance(expr, nodes.Name):
            return f"{self.source.constant(runtime.known)}({self.read(expr.name)})"
        if isinstance(expr, nodes.Today):
            return "today"
        if isinstance(expr, nodes.Count):
            if isinstance(expr.argument, nodes.Name):
                variable = self.read(expr.argument.name)
                return f"(len({variable}) if {variable} else 0)"
            return f"{self.source.constant(runtime.count)}({self.value(expr.argument)})"
        if isinstance(expr, nodes.Negate):
            return f"{self.source.constant(runtime.negate)}({self.value(expr.operand)})"
        if isinstance(expr, nodes.Arithmetic):
            combine = runtime.add if expr.operator == "+" else runtime.subtract
            name = self.source.constant(combine)
            return f"{name}({self.value(expr.left)}, {self.value(expr.right)})"
        if isinstance(expr, nodes.ListLiteral):
            return self.source.constant([item.value for item in expr.items])  # type: ignore[union-attr]
        # A condition used as a value (`(a > 1) == true`): True, False or None for unknown.
        return f"(True if {self.true(expr)} else (False if {self.false(expr)} else None))"


def _is_constant(expr: nodes.Expr) -> bool:
    return isinstance(expr, nodes.Literal) and not isinstance(expr.value, str)


def _is_present_literal(expr: nodes.Expr) -> bool:
    return isinstance(expr, nodes.Literal) and not runtime.is_missing(expr.value)


# The generated functions ---------------------------------------------------------------------

Checker = Callable[..., Any]


def compile_checker(
    policy: CheckedPolicy,
    stage_ranks: dict[str, int],
    conforming: Sequence[Any],
    not_conforming: Callable[[str, tuple[Any, ...]], Any],
    explain: Callable[..., Any],
    fallback: Callable[[Any, dt.date | None], Any],
) -> Checker:
    """Compile `check(record, *, today=None)` for a policy.

    It returns `conforming[rank]` for a record that meets every criterion of its stage, and
    `not_conforming(stage_name, (explain, copy_of_record, rank, today))` for one that does not.
    It hands the record to `fallback(record, today)` when its stage value is not one of
    `stage_ranks` exactly, or when a value of an unexpected type is met.

    Two versions are generated: one reads fields as `r[name]`, which is what records read
    from an export look like and is the quickest; when a key is absent it hands the record to
    the other, which reads with `r.get(name)`.
    """
    namespace = {
        "_ranks": dict(stage_ranks),
        **{f"_conforming{rank}": verdict for rank, verdict in enumerate(conforming)},
        "_not_conforming": not_conforming,
        "_explain": explain,
        "_names": tuple(stage.name for stage in policy.stages),
        "_dict": dict,
        "_fallback": fallback,
        "_today": runtime.today_utc,
        **_fallback_namespace(),
    }
    sparse = _build(_checker_source(policy, dense=False), namespace, "check")
    return _build(_checker_source(policy, dense=True), {**namespace, "_sparse": sparse}, "check")


def _checker_source(policy: CheckedPolicy, dense: bool) -> _Source:
    source = _Source(dense=dense)
    write = _Expressions(policy, source)
    source.emit("def check(r, *, today=None):", 0)
    source.emit("try:", 1)
    if dense:
        # An unknown stage value raises KeyError here and goes to the other version.
        source.emit(f"rank = _ranks[{source.lookup(policy.stage_field)}]")
    else:
        source.emit(f"rank = _ranks.get({source.lookup(policy.stage_field)})")
        source.emit("if rank is None:")
        source.emit("return _fallback(r, today)", 3)
    if _uses_today(policy):
        source.emit("if today is None:")
        source.emit("today = _today()", 3)

    # Copying the record lets the caller reuse its mapping before reading the verdict;
    # dict.copy is the quickest copy, and anything without it takes the other path.
    copy = "r.copy()" if dense else "_dict(r)"
    fail = f"return _not_conforming(_names[rank], (_explain, {copy}, rank, today))"
    segments_done: set[str] = set()
    last = len(policy.stages) - 1
    for stage in policy.stages:
        if stage.rank > 0:
            previous = policy.stages[stage.rank - 1]
            for criterion in previous.exit:
                if _implied_by_entry(criterion, stage):
                    continue
                _emit_criterion(source, write, policy, criterion, fail, segments_done)
        for criterion in stage.entry:
            _emit_criterion(source, write, policy, criterion, fail, segments_done)
        if stage.rank < last:
            source.emit(f"if rank == {stage.rank}:")
            source.emit(f"return _conforming{stage.rank}", 3)
    source.emit(f"return _conforming{last}")
    if dense:
        source.emit("except _KeyError:", 1)
        source.emit("return _sparse(r, today=today)")
    _emit_fallback(source)
    return source


def compile_qualifier(
    policy: CheckedPolicy, fallback: Callable[[Any, dt.date | None], Any]
) -> Checker:
    """Compile `qualify(record, *, today=None)`: the highest stage whose criteria all hold.

    It returns the stage's name, or None when even the first stage's criteria do not hold.
    """
    source = _Source()
    write = _Expressions(policy, source)
    source.emit("def qualify(r, *, today=None):", 0)
    source.emit("try:", 1)
    if _uses_today(policy):
        source.emit("if today is None:")
        source.emit("today = _today()", 3)
    segments_done: set[str] = set()
    for stage in policy.stages:
        if stage.rank > 0:
            previous = policy.stages[stage.rank - 1]
            stay = f"return {previous.name!r}"
            for criterion in previous.exit:
                if _implied_by_entry(criterion, stage):
                    continue
                _emit_criterion(source, write, policy, criterion, stay, segments_done)
        else:
            stay = "return None"
        for criterion in stage.entry:
            _emit_criterion(source, write, policy, criterion, stay, segments_done)
    source.emit(f"return {policy.stages[-1].name!r}")
    _emit_fallback(source)
    namespace = {"_fallback": fallback, "_today": runtime.today_utc, **_fallback_namespace()}
    return _build(source, namespace, "qualify")


def compile_segments(
    policy: CheckedPolicy, fallback: Callable[[Any, dt.date | None], Any]
) -> Checker:
    """Compile `segments(record, *, today=None)`: the names of the segments a record is in."""
    source = _Source()
    write = _Expressions(policy, source)
    names = tuple(policy.segments)
    source.emit("def segments(r, *, today=None):", 0)
    source.emit("try:", 1)
    if _uses_today(policy):
        source.emit("if today is None:")
        source.emit("today = _today()", 3)
    source.emit("found = ()")
    for slot, segment in enumerate(policy.segments.values()):
        test = write.true(segment.condition)
        source.read_fields()
        source.emit(f"if {test}:")
        source.emit(f"found += (_names[{slot}],)", 3)
    source.emit("return found")
    _emit_fallback(source)
    namespace = {
        "_names": names,
        "_fallback": fallback,
        "_today": runtime.today_utc,
        **_fallback_namespace(),
    }
    return _build(source, namespace, "segments")


def compile_criteria(policy: CheckedPolicy, criteria: Sequence[Criterion]) -> list[Checker]:
    """One function per criterion, `test(record, today)`: True, False, or None for unknown.

    Verdicts use these to say which criteria a failing record does not meet, and whether
    because a value is false or because it is missing.
    """
    source = _Source()
    write = _Expressions(policy, source)
    for slot, criterion in enumerate(criteria):
        source.fields = {}  # each function reads its own fields
        source.emit(f"def criterion{slot}(r, today):", 0)
        true, false = write.true(criterion.condition), write.false(criterion.condition)
        source.read_fields(1)
        source.emit(f"if {true}:", 1)
        source.emit("return True")
        source.emit(f"if {false}:", 1)
        source.emit("return False")
        source.emit("return None", 1)
    scope = _namespace_of(source, {})
    tests = [scope[f"criterion{slot}"] for slot in range(len(criteria))]
    for test in tests:
        test.__stagelang_source__ = scope["__stagelang_source__"]
    return tests


def _emit_criterion(
    source: _Source,
    write: _Expressions,
    policy: CheckedPolicy,
    criterion: Criterion,
    fail: str,
    segments_done: set[str],
) -> None:
    test = f"not {write.true(criterion.condition)}"
    memberships: list[str] = []
    if criterion.segment is not None:
        flag = _segment_flag(write, policy, criterion.segment, segments_done, memberships)
        test = f"{flag} and {test}"
    if criterion.unless:
        # Replaced by an `instead requires` for records in any of these segments.
        flags = [
            _segment_flag(write, policy, s, segments_done, memberships) for s in criterion.unless
        ]
        test = f"not ({' or '.join(flags)}) and {test}"
    source.read_fields()
    for membership in memberships:
        source.emit(membership)
    source.emit(f"if {test}:")
    source.emit(fail, 3)


def _segment_flag(
    write: _Expressions,
    policy: CheckedPolicy,
    name: str,
    segments_done: set[str],
    memberships: list[str],
) -> str:
    """The local that says whether the record is in a segment; assigned on its first use."""
    flag = f"_in_{_segment_slot(policy, name)}"
    if name not in segments_done:
        segment = policy.segments[name]
        memberships.append(f"{flag} = {write.true(segment.condition)}")
        segments_done.add(name)
    return flag


def _segment_slot(policy: CheckedPolicy, segment: str) -> int:
    # Segment names may be any Unicode word; the generated code names them by position.
    return list(policy.segments).index(segment)


def _implied_by_entry(exit_criterion: Criterion, next_stage: Stage) -> bool:
    """Whether the next stage's base entry criteria already guarantee this exit criterion.

    Checking it again would only cost time: a record at the next stage or beyond must meet
    those entry criteria anyway, and one that fails them fails with or without this check.
    """
    condition = exit_criterion.condition
    base = [
        c.condition
        for c in next_stage.entry
        if c.segment is None and c.kind == "requires" and not c.unless
    ]
    if any(condition == entry for entry in base):
        return True
    if isinstance(condition, nodes.IsSet) and not condition.negated:
        operand = condition.operand
        if isinstance(operand, nodes.Name):
            return any(_requires_known(entry, operand.name) for entry in base)
    return False


def _requires_known(condition: nodes.Expr, name: str) -> bool:
    """Whether `condition` can only be True when field `name` is set."""
    if isinstance(condition, nodes.Name):
        return condition.name == name
    if isinstance(condition, nodes.IsSet):
        return not condition.negated and condition.operand == nodes.Name(name)
    if isinstance(condition, nodes.Compare):
        return nodes.Name(name) in (condition.left, condition.right)
    return False


def _uses_today(policy: CheckedPolicy) -> bool:
    expressions: list[nodes.Expr] = [s.condition for s in policy.segments.values()]
    for stage in policy.stages:
        expressions.extend(c.condition for c in (*stage.entry, *stage.exit))
    return any(_mentions_today(expr) for expr in expressions)


def _mentions_today(expr: nodes.Expr) -> bool:
    from stagelang.analysis import children

    if isinstance(expr, nodes.Today):
        return True
    return any(_mentions_today(child) for child in children(expr))


def _emit_fallback(source: _Source) -> None:
    # A StagelangError comes from the fallback itself (a record it rejects): let it through.
    source.emit("except _StagelangError:", 1)
    source.emit("raise")
    names = ", ".join(f"_error{i}" for i in range(len(FALLBACK_ERRORS)))
    source.emit(f"except ({names}):", 1)
    source.emit("return _fallback(r, today)")


def _fallback_namespace() -> dict[str, Any]:
    errors: dict[str, Any] = {f"_error{i}": error for i, error in enumerate(FALLBACK_ERRORS)}
    return {"_StagelangError": StagelangError, "_KeyError": KeyError, **errors}


def _build(source: _Source, namespace: dict[str, Any], name: str) -> Checker:
    scope = _namespace_of(source, namespace)
    function: Checker = scope[name]
    function.__stagelang_source__ = scope["__stagelang_source__"]  # type: ignore[attr-defined]
    return function


def _namespace_of(source: _Source, namespace: dict[str, Any]) -> dict[str, Any]:
    text = "\n".join(source.lines) + "\n"
    scope: dict[str, Any] = {
        "__builtins__": {"bool": bool, "len": len},
        **namespace,
        **source.constants,
    }
    code = compile(text, "<stagelang policy>", "exec")
    exec(code, scope)  # the text above comes from the checked tree only; see the module doc
    scope["__stagelang_source__"] = text
    return scope
