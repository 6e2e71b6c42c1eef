"""Declarations: the policy's fields, segments and stages, each declared once and well typed."""

from __future__ import annotations

from dataclasses import dataclass, field

from stagelang.analysis import types
from stagelang.analysis.model import Field
from stagelang.diagnostics import Diagnostic, Span
from stagelang.rules import diagnose
from stagelang.suggestions import did_you_mean
from stagelang.syntax import nodes


@dataclass
class Declarations:
    """What a policy file declares, before any expression is checked."""

    file: str
    top: Span = Span(1, 1, 1, 2)  # where to point when something is missing from the file
    name: str | None = None
    fields: dict[str, Field] = field(default_factory=dict)
    stage_field: str | None = None
    id_field: str | None = None
    segments: dict[str, nodes.SegmentDecl] = field(default_factory=dict)
    stages: list[nodes.StageDecl] = field(default_factory=list)
    outcomes: list[nodes.StageDecl] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def report(self, code: str, message: str, span: Span, **extra: str | None) -> None:
        self.diagnostics.append(diagnose(code, message, span, self.file, **extra))


def collect(tree: nodes.PolicyFile) -> Declarations:
    """Gather every declaration, reporting duplicates, unknown types and missing settings."""
    found = Declarations(tree.file, top=_first_statement_span(tree.source))
    _collect_policy_name(tree, found)
    _collect_fields(tree, found)
    _collect_roles(tree, found)
    _collect_segments(tree, found)
    _collect_stages(tree, found)
    return found


def _collect_policy_name(tree: nodes.PolicyFile, found: Declarations) -> None:
    for decl in tree.of_kind(nodes.PolicyDecl):
        if found.name is not None:
            found.report(
                "SL104", "the policy is named twice", decl.span, help="keep one `policy` line"
            )
            continue
        found.name = decl.name


def _collect_fields(tree: nodes.PolicyFile, found: Declarations) -> None:
    for decl in tree.of_kind(nodes.FieldDecl):
        if decl.role is not None:
            continue
        reserved = RESERVED_NAMES.get(decl.name.lower())
        if reserved is not None:
            found.report(
                "SL109",
                f'field "{decl.name}" has a name the language reserves',
                decl.name_span,
                help=f"in a condition `{decl.name.lower()}` means {reserved}; rename the field, "
                f'for example "{decl.name}_value", and keep its column with from "{decl.name}"',
            )
        if decl.name in found.fields:
            found.report(
                "SL104",
                f'field "{decl.name}" is declared twice',
                decl.name_span,
                help="keep one declaration of each field",
            )
            continue
        assert decl.type is not None  # only role declarations leave the type out
        field_type = _resolve_type(decl.type, found)
        found.fields[decl.name] = _field(decl, field_type)


def _collect_roles(tree: nodes.PolicyFile, found: Declarations) -> None:
    """`id field X` and `stage field X`: point at a declared field, or declare a text one."""
    for decl in tree.of_kind(nodes.FieldDecl):
        if decl.role is None:
            continue
        current = found.stage_field if decl.role == "stage" else found.id_field
        if current is not None:
            found.report(
                "SL104",
                f"the {decl.role} field is declared twice",
                decl.span,
                help=f"keep one `{decl.role} field` line",
            )
            continue
        declared = found.fields.get(decl.name)
        if declared is None:
            found.fields[decl.name] = _field(decl, types.STRING)
        else:
            found.fields[decl.name] = _with_role(declared, decl)
        if decl.role == "stage":
            found.stage_field = decl.name
            _check_stage_field_type(found.fields[decl.name], decl, found)
        else:
            found.id_field = decl.name

    span = found.top
    if found.stage_field is None:
        found.report(
            "SL106",
            "the policy does not say which field holds the stage",
            span,
            help="add a line such as: stage field lifecycle_stage",
        )
    if found.id_field is None:
        found.report(
            "SL107",
            "the policy does not say which field holds the record id",
            span,
            help="add a line such as: id field record_id (findings then name records, not rows)",
        )


def _collect_segments(tree: nodes.PolicyFile, found: Declarations) -> None:
    for decl in tree.of_kind(nodes.SegmentDecl):
        if decl.name in found.segments:
            found.report(
                "SL104",
                f'segment "{decl.name}" is declared twice',
                decl.name_span,
                help="keep one declaration of each segment",
            )
            continue
        found.segments[decl.name] = decl


def _collect_stages(tree: nodes.PolicyFile, found: Declarations) -> None:
    names: set[str] = set()
    claimed: dict[str, str] = {}
    for decl in tree.of_kind(nodes.StageDecl):
        if decl.name in names:
            found.report(
                "SL104",
                f'stage "{decl.name}" is declared twice',
                decl.name_span,
                help="keep one declaration of each stage; clauses may follow it",
            )
            continue
        names.add(decl.name)
        (found.outcomes if decl.outcome else found.stages).append(decl)
        spans = decl.value_spans if decl.values else [decl.name_span]
        for value, span in zip(decl.values or [decl.name], spans, strict=True):
            key = value.strip().casefold()
            owner = claimed.setdefault(key, decl.name)
            if owner != decl.name:
                found.report(
                    "SL105",
                    f'stage value "{value}" is claimed by both "{owner}" and "{decl.name}"',
                    span,
                    help="each CRM value must mean one stage; give one of them other `values`",
                )

    if not found.stages:
        found.report(
            "SL108",
            "the policy declares no stages",
            found.top,
            help="add stages in ladder order, such as: stage MQL requires icp_fit",
        )


def _resolve_type(ref: nodes.TypeRef, found: Declarations) -> types.Type:
    name = ref.name.lower()
    if name == "list":
        if ref.argument is None:
            found.report(
                "SL103",
                "a list needs the type of its items",
                ref.span,
                help="write list<string>, list<int>, ...",
            )
            return types.ERROR
        item = _resolve_type(ref.argument, found)
        if item.is_list:
            found.report(
                "SL103",
                "a list of lists is not supported",
                ref.span,
                help="declare list<string> and split the values yourself",
            )
            return types.ERROR
        return types.list_of(item)

    if ref.argument is not None:
        found.report(
            "SL103",
            f'type "{ref.name}" takes no <...>',
            ref.span,
            help="only list takes the type of its items: list<string>",
        )
        return types.ERROR
    known = types.SCALARS.get(name)
    if known is not None:
        return known
    suggestion = types.SYNONYMS.get(name)
    help_text = (
        f'did you mean "{suggestion}"?'
        if suggestion
        else did_you_mean(name, [*types.SCALARS, "list"])
    )
    found.report(
        "SL103",
        f'unknown type "{ref.name}"',
        ref.span,
        help=help_text or "the types are bool, int, decimal, string, date, datetime and list<...>",
    )
    return types.ERROR


def _field(decl: nodes.FieldDecl, field_type: types.Type) -> Field:
    return Field(
        name=decl.name,
        type=field_type,
        column=decl.options.column or decl.name,
        required=decl.options.required,
        separator=decl.options.separator or ";",
        role=decl.role,
        span=decl.name_span,
    )


def _with_role(declared: Field, decl: nodes.FieldDecl) -> Field:
    options = decl.options
    return Field(
        name=declared.name,
        type=declared.type,
        column=options.column or declared.column,
        required=options.required or declared.required,
        separator=declared.separator,
        role=decl.role,
        span=declared.span,
    )


# Words that start an expression, so a field of that name could never be read.
RESERVED_NAMES = {
    "today": "the current date",
    "count": "counting the items of a list",
    "not": "negation",
    "true": "the value true",
    "false": "the value false",
}


def _check_stage_field_type(field: Field, decl: nodes.FieldDecl, found: Declarations) -> None:
    if field.type in (types.STRING, types.ERROR):
        return
    found.report(
        "SL110",
        f'the stage field "{field.name}" is declared as {field.type}, but stage values are text',
        decl.span,
        help=f"declare it as text (field {field.name}: string), or leave the `field` line out",
    )


def _first_statement_span(source: str) -> Span:
    """The first line that is not blank or a comment: where a missing declaration belongs."""
    for number, line in enumerate(source.splitlines(), start=1):
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            return Span(number, 1, number, len(line.rstrip()) + 1)
    return Span(1, 1, 1, 2)
