"""`extends "global.stage"`: a policy that builds on another one.

A regional policy names the policy it builds on; this module reads that file (and what it in
turn extends), and merges the two syntax trees into one before the analysis sees them:

- the extended policy's id field, stage field, fields, segments and stages come first, in its
  order; the ladder is its ladder;
- the extending policy adds fields and segments of its own, and under a `stage` line naming a
  stage of the extended policy it adds clauses (criteria, overlays, exits) and CRM values,
  and may give the stage a new label. Criteria only ever add up, so the regional policy is
  always at least as strict as the one it extends. History clauses (`entered from`,
  `expect dwell`, `allow ...`) add up the same way, so a region can expect a longer stay of
  its own segment (`in japan expect dwell <= 90d`); an `outcome` it declares is added;
- its own `policy` line names the result (without one, the result takes the name of the
  extending file, as any policy does).

Paths are read relative to the file that writes the `extends` line, and must stay inside the
policy root: by default the folder of the policy file being loaded (the one a user named),
or a folder given as `root`. Policy text is untrusted, so a policy cannot make stagelang read,
and show lines of, a file elsewhere on the machine. Every node that comes from an extended file
keeps that file's name in its spans, so diagnostics point into the file the text is in.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

from stagelang.diagnostics import Diagnostic, Span
from stagelang.errors import PolicyFileError
from stagelang.rules import diagnose
from stagelang.suggestions import did_you_mean
from stagelang.syntax import nodes, parse

POLICY_SUFFIX = ".stage"


def policy_root(file: str, root: str | os.PathLike[str] | None = None) -> str:
    """The folder extended policies must stay inside: `root`, else the policy file's folder.

    A policy given as text, not read from a file, has the current folder as its root.
    """
    if root is not None:
        return os.path.realpath(root)
    if file.startswith("<"):
        return os.path.realpath(os.curdir)
    return os.path.realpath(os.path.dirname(os.path.abspath(file)))


def compose(
    tree: nodes.PolicyFile, root: str | os.PathLike[str] | None = None
) -> tuple[nodes.PolicyFile | None, list[Diagnostic]]:
    """The policy with every `extends` resolved into one tree, or None and what went wrong."""
    if not tree.of_kind(nodes.ExtendsDecl):
        return tree, []
    return _compose(tree, policy_root(tree.file, root), [_real(tree.file)])


def _compose(
    tree: nodes.PolicyFile, root: str, chain: list[str]
) -> tuple[nodes.PolicyFile | None, list[Diagnostic]]:
    extends = tree.of_kind(nodes.ExtendsDecl)
    if not extends:
        return tree, []
    diagnostics = [
        diagnose(
            "SL104",
            "the policy extends more than one file",
            extra.span,
            tree.file,
            help="a policy builds on one other; make that one extend the next",
        )
        for extra in extends[1:]
    ]
    declaration = extends[0]

    found = _locate(declaration, tree.file, root, chain)
    if isinstance(found, Diagnostic):
        return None, [*diagnostics, found]
    shown, real = found

    base_tree, problems = _read_and_parse(declaration, tree.file, shown)
    if base_tree is None:
        return None, [*diagnostics, *problems]
    base, problems = _compose(base_tree, root, [*chain, real])
    if base is None:
        return None, [*diagnostics, *problems]
    _stamp(base, shown)

    merged, problems = _merge(base, tree)
    return merged, [*diagnostics, *problems]


def _locate(
    declaration: nodes.ExtendsDecl, including: str, root: str, chain: list[str]
) -> tuple[str, str] | Diagnostic:
    """The extended file as a person would write it, and its real path; or the problem."""
    written = declaration.path
    span = declaration.path_span
    if not written.endswith(POLICY_SUFFIX):
        return diagnose(
            "SL120",
            f'"{written}" is not a policy file',
            span,
            including,
            help=f"extend a policy file, whose name ends in {POLICY_SUFFIX}",
        )
    folder = os.curdir if including.startswith("<") else os.path.dirname(including)
    shown = os.path.normpath(os.path.join(folder, written))
    real = _real(shown)
    if os.path.isabs(written) or os.path.commonpath([root, real]) != root:
        return diagnose(
            "SL121",
            f'"{written}" is outside the policy root',
            span,
            including,
            help="extend a policy in this file's folder or below it; to reach further, name "
            "a wider policy root with --policy-root",
        )
    if real in chain:
        circle = [os.path.relpath(step, root) for step in [*chain, real]]
        return diagnose(
            "SL122",
            f'extending "{written}" goes round in a circle: ' + " -> ".join(circle),
            span,
            including,
            help="a policy may not build on itself; remove one of the `extends` lines",
        )
    return shown, real


def _read_and_parse(
    declaration: nodes.ExtendsDecl, including: str, shown: str
) -> tuple[nodes.PolicyFile | None, list[Diagnostic]]:
    from stagelang.policy import read_policy_text

    try:
        text = read_policy_text(shown)
    except PolicyFileError as error:
        reason = str(error).split(": ", 1)[-1]
        return None, [
            diagnose(
                "SL120",
                f'cannot extend "{declaration.path}": {reason}',
                declaration.path_span,
                including,
                help=f"the path is read relative to this file, so it names {shown}",
            )
        ]
    return parse(text, shown)


def _merge(
    base: nodes.PolicyFile, tree: nodes.PolicyFile
) -> tuple[nodes.PolicyFile, list[Diagnostic]]:
    """The extended policy's declarations, then the extending policy's additions."""
    diagnostics: list[Diagnostic] = []
    stages = {decl.name: decl for decl in base.of_kind(nodes.StageDecl)}
    merged: list[nodes.Declaration] = [
        decl for decl in base.declarations if not isinstance(decl, nodes.PolicyDecl)
    ]
    ladder = [decl.name for decl in base.of_kind(nodes.StageDecl) if not decl.outcome]

    for decl in tree.declarations:
        if isinstance(decl, nodes.ExtendsDecl):
            continue
        if not isinstance(decl, nodes.StageDecl):
            merged.append(decl)
            continue
        target = stages.get(decl.name)
        if target is None and decl.outcome:
            merged.append(decl)  # a way out of the ladder of the region's own
            continue
        if target is None:
            diagnostics.append(_unknown_stage(decl, tree.file, base.file, ladder))
            continue
        combined = _add_to_stage(target, decl)
        merged[next(i for i, d in enumerate(merged) if d is target)] = combined
        stages[decl.name] = combined

    sources = {**base.sources, base.file: base.source}
    return nodes.PolicyFile(merged, tree.file, tree.source, sources), diagnostics


def _add_to_stage(stage: nodes.StageDecl, addition: nodes.StageDecl) -> nodes.StageDecl:
    return nodes.StageDecl(
        stage.name,
        addition.label if addition.label is not None else stage.label,
        [*stage.values, *addition.values],
        [*stage.clauses, *addition.clauses],
        span=stage.span,
        name_span=stage.name_span,
        value_spans=[*stage.value_spans, *addition.value_spans],
        history=[*stage.history, *addition.history],
        outcome=stage.outcome,
    )


def _unknown_stage(
    decl: nodes.StageDecl, file: str, base_file: str, ladder: list[str]
) -> Diagnostic:
    guess = did_you_mean(decl.name, ladder)
    hint = f'did you mean "{guess}"? ' if guess else ""
    return diagnose(
        "SL123",
        f'stage "{decl.name}" is not a stage of {base_file}, which this policy extends',
        decl.name_span,
        file,
        help=f"{hint}an extending policy adds criteria to the stages it inherits "
        f"({', '.join(ladder)}); add a new stage to {base_file} itself",
    )


def _stamp(node: Any, file: str) -> None:
    """Write `file` into every span of a tree that does not name its file yet."""
    if isinstance(node, list):
        for item in node:
            _stamp(item, file)
        return
    if not dataclasses.is_dataclass(node) or isinstance(node, type):
        return
    for item in dataclasses.fields(node):
        value = getattr(node, item.name)
        if isinstance(value, Span):
            if value.file is None:
                setattr(node, item.name, dataclasses.replace(value, file=file))
        elif isinstance(value, list) and value and isinstance(value[0], Span):
            setattr(node, item.name, [_named(span, file) for span in value])
        elif item.name not in ("source", "sources", "file"):
            _stamp(value, file)


def _named(span: Span, file: str) -> Span:
    return span if span.file is not None else dataclasses.replace(span, file=file)


def _real(file: str) -> str:
    return os.path.realpath(file) if not file.startswith("<") else file
