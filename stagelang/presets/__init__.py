"""CRM presets: `use hubspot`, `use salesforce leads`, `use salesforce opportunities`.

A preset is data shipped with the package (one JSON file per CRM object, beside this module):
the CRM's default stage values in their order, the export columns of the record id and the
stage, and for each stage the columns that hold the date a record entered or left it. With
`use hubspot` a team writes criteria, not mappings. A preset fills in only what the policy
leaves out:

- without an `id field` / `stage field` line, the preset declares them; with one that has no
  `from`, it reads the CRM's export column (HubSpot: "Record ID" and "Lifecycle Stage");
- a stage without a `values` line whose name or label is one of the CRM's stages (compared
  ignoring case, spaces and punctuation, and with common short names such as MQL) claims that
  stage's values as the CRM writes them: the internal value and the label
  ("marketingqualifiedlead" and "Marketing Qualified Lead"), besides its own name.

A stage the preset does not know, such as a custom Meeting Booked stage, is left as it is, with
a warning saying how the CRM will write it. Everything the policy writes itself wins.

A preset does not add `entered from` lines, because which of the several HubSpot column names
an export carries is known only when the export is read: `PresetUse.date_entered` lists them,
and the history checks (stagelang.history.dates) read the first one an export has for each
stage that names no column of its own.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any

from stagelang.diagnostics import Diagnostic, Span
from stagelang.rules import diagnose
from stagelang.suggestions import closest
from stagelang.syntax import nodes


@dataclass(frozen=True)
class Column:
    """A field a preset declares, and the export column it reads."""

    name: str
    column: str


@dataclass(frozen=True)
class PresetStage:
    """One of the CRM's stages: how it is written, and the columns that date it."""

    value: str
    label: str
    names: tuple[str, ...]
    values: tuple[str, ...]
    date_entered: tuple[str, ...]
    date_exited: tuple[str, ...]


@dataclass(frozen=True)
class Preset:
    """A CRM object's stages and export columns, as shipped in stagelang/presets/*.json."""

    name: str
    crm: str
    stage_kind: str  # what the CRM calls its stages: "lifecycle stages", "lead statuses"
    id_field: Column
    stage_field: Column
    stages: tuple[PresetStage, ...]

    def stage_for(self, name: str, label: str | None = None) -> PresetStage | None:
        """The CRM stage a policy's stage means, by its name or its label, or None."""
        wanted = {_key(name)} | ({_key(label)} if label else set())
        for stage in self.stages:
            known = {_key(stage.value), _key(stage.label), *map(_key, stage.names)}
            known |= {_key(value) for value in stage.values}
            if wanted & known:
                return stage
        return None


@dataclass(frozen=True)
class PresetUse:
    """What a policy's `use` line gave it: the preset, and the CRM stage of each policy stage.

    `date_entered[stage]` lists the columns that may hold the date a record entered the
    stage, in the order to try them (for HubSpot: the older "Became a ... Date" export
    column, its internal name, and the newer hs_v2_date_entered_... property and its label);
    `date_exited` likewise. Stages the CRM does not know have no entry.
    """

    preset: Preset
    stages: MappingProxyType[str, PresetStage]

    @property
    def date_entered(self) -> dict[str, tuple[str, ...]]:
        return {name: stage.date_entered for name, stage in self.stages.items()}

    @property
    def date_exited(self) -> dict[str, tuple[str, ...]]:
        return {name: stage.date_exited for name, stage in self.stages.items()}


PRESET_FILES = {
    "hubspot": "hubspot.json",
    "salesforce leads": "salesforce-leads.json",
    "salesforce opportunities": "salesforce-opportunities.json",
}


def preset_names() -> list[str]:
    return list(PRESET_FILES)


@cache
def load_preset(name: str) -> Preset | None:
    """The preset called `name` (case and spacing ignored), or None if there is none."""
    file = PRESET_FILES.get(" ".join(name.lower().split()))
    if file is None:
        return None
    data = json.loads(resources.files(__name__).joinpath(file).read_text("utf-8"))
    return _preset(data)


def apply(tree: nodes.PolicyFile) -> tuple[nodes.PolicyFile, PresetUse | None, list[Diagnostic]]:
    """The policy with what its `use` line supplies filled in, and what was used."""
    uses = tree.of_kind(nodes.UseDecl)
    if not uses:
        return tree, None, []
    use = uses[0]
    # A policy may repeat the `use` line of the policy it extends; two different presets
    # cannot both describe one CRM object.
    diagnostics = [
        diagnose(
            "SL104",
            f'the policy uses preset "{extra.preset}" and also "{use.preset}"',
            extra.span,
            tree.file,
            help="a policy describes one CRM object; keep one `use` line",
        )
        for extra in uses[1:]
        if _key(extra.preset) != _key(use.preset)
    ]
    preset = load_preset(use.preset)
    if preset is None:
        return tree, None, [*diagnostics, _unknown_preset(use, tree.file)]

    declarations = [_with_crm_column(decl, preset) for decl in tree.declarations]
    at = declarations.index(use) + 1
    declarations[at:at] = _role_fields(tree, preset, use.span)
    matched: dict[str, PresetStage] = {}
    for position, decl in enumerate(declarations):
        if not isinstance(decl, nodes.StageDecl):
            continue
        crm_stage = preset.stage_for(decl.name, decl.label)
        if crm_stage is None:
            if not decl.values:
                diagnostics.append(_not_a_crm_stage(decl, preset, tree.file))
            continue
        matched[decl.name] = crm_stage
        if not decl.values:
            declarations[position] = _with_values(decl, crm_stage)

    filled = dataclasses.replace(tree, declarations=declarations)
    return filled, PresetUse(preset, MappingProxyType(matched)), diagnostics


def _role_fields(tree: nodes.PolicyFile, preset: Preset, span: Span) -> list[nodes.FieldDecl]:
    """`id field` and `stage field` declarations for those the policy does not write."""
    roles = {decl.role for decl in tree.of_kind(nodes.FieldDecl) if decl.role}
    added = []
    for role, column in (("id", preset.id_field), ("stage", preset.stage_field)):
        if role not in roles:
            options = nodes.FieldOptions(column=column.column)
            added.append(
                nodes.FieldDecl(column.name, None, options, role=role, span=span, name_span=span)
            )
    return added


def _with_crm_column(decl: nodes.Declaration, preset: Preset) -> nodes.Declaration:
    """An `id field` or `stage field` line without `from` reads the CRM's export column."""
    if not isinstance(decl, nodes.FieldDecl) or decl.role is None or decl.options.column:
        return decl
    column = preset.id_field if decl.role == "id" else preset.stage_field
    options = dataclasses.replace(decl.options, column=column.column)
    return dataclasses.replace(decl, options=options)


def _with_values(decl: nodes.StageDecl, crm_stage: PresetStage) -> nodes.StageDecl:
    values = list(dict.fromkeys([*crm_stage.values, decl.name]))
    spans = [decl.name_span] * len(values)
    return dataclasses.replace(decl, values=values, value_spans=spans)


def _unknown_preset(use: nodes.UseDecl, file: str) -> Diagnostic:
    wanted = " ".join(use.preset.lower().split())
    starting = [name for name in preset_names() if name.startswith(wanted + " ")]
    guess = closest(use.preset, preset_names())
    if len(starting) > 1:  # `use salesforce`: leads or opportunities?
        hint = "say which object: " + " or ".join(f'"use {name}"' for name in starting) + "; "
    else:
        hint = f'did you mean "use {guess}"? ' if guess else ""
    return diagnose(
        "SL124",
        f'there is no preset called "{use.preset}"',
        use.name_span,
        file,
        help=f"{hint}the presets are: " + ", ".join(f"use {name}" for name in preset_names()),
    )


def _not_a_crm_stage(decl: nodes.StageDecl, preset: Preset, file: str) -> Diagnostic:
    label = decl.label or decl.name
    return diagnose(
        "SL125",
        f'stage "{decl.name}" is not one of {preset.crm}\'s default {preset.stage_kind}',
        decl.name_span,
        file,
        help=f"{preset.crm} exports a stage of your own under its label, and its API gives "
        "an internal name (for a custom HubSpot lifecycle stage, a number): list both, "
        f'with a line such as values "{label}", "<internal name>"',
    )


def _preset(data: dict[str, Any]) -> Preset:
    return Preset(
        name=data["name"],
        crm=data["crm"],
        stage_kind=data["stage_kind"],
        id_field=Column(**data["id_field"]),
        stage_field=Column(**data["stage_field"]),
        stages=tuple(
            PresetStage(
                value=stage["value"],
                label=stage["label"],
                names=tuple(stage["names"]),
                values=tuple(dict.fromkeys(stage.get("values", [stage["value"], stage["label"]]))),
                date_entered=tuple(stage["date_entered"]),
                date_exited=tuple(stage["date_exited"]),
            )
            for stage in data["stages"]
        ),
    )


def _key(text: str) -> str:
    """A stage name for comparing: lower case, letters and digits only."""
    return re.sub(r"[\W_]+", "", text.casefold())
