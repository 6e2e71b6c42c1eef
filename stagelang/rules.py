"""The catalogue of rule codes: stable names for every problem stagelang reports about a policy.

Codes never change meaning once published; a retired rule keeps its number. Families:
SL0xx syntax, SL1xx names and declarations, SL2xx types, SL3xx lint (style and likely mistakes),
SL6xx suppressions and waivers.
"""

from __future__ import annotations

from dataclasses import dataclass

from stagelang.diagnostics import Diagnostic, Severity, Span


@dataclass(frozen=True, slots=True)
class Rule:
    """A rule code: its stable name, severity, one-line summary and the page documenting it."""

    code: str
    name: str
    severity: Severity
    summary: str
    page: str = "docs/language.md"

    @property
    def help_url(self) -> str:
        return f"{self.page}#{self.code.lower()}"


_E, _W = Severity.ERROR, Severity.WARNING

RULES: dict[str, Rule] = {
    rule.code: rule
    for rule in (
        Rule("SL001", "syntax-error", _E, "The text does not follow the language's grammar."),
        Rule(
            "SL002",
            "bad-literal",
            _E,
            "A constant is malformed, such as a date not on the calendar.",
        ),
        Rule("SL101", "unknown-field", _E, "An expression names a field that is not declared."),
        Rule("SL102", "unknown-segment", _E, "An overlay names a segment that is not declared."),
        Rule(
            "SL103", "unknown-type", _E, "A field is declared with a type stagelang does not know."
        ),
        Rule("SL104", "duplicate-declaration", _E, "A name or setting is declared twice."),
        Rule("SL105", "stage-value-claimed-twice", _E, "Two stages claim the same CRM value."),
        Rule(
            "SL106",
            "missing-stage-field",
            _E,
            "The policy does not say which field holds the stage.",
        ),
        Rule(
            "SL107",
            "missing-id-field",
            _W,
            "The policy does not say which field holds the record id.",
        ),
        Rule("SL108", "no-stages", _E, "The policy declares no stages."),
        Rule("SL109", "reserved-name", _E, "A field has a name the language reserves."),
        Rule("SL110", "stage-field-not-text", _E, "The stage field is not declared as text."),
        Rule(
            "SL111",
            "unknown-stage",
            _E,
            "A history clause or an invariant names a stage that is not declared.",
        ),
        Rule(
            "SL112",
            "misplaced-clause",
            _E,
            "A clause is written where it has no meaning, such as `allow skip` on an outcome.",
        ),
        Rule(
            "SL120",
            "extends-unreadable",
            _E,
            "The policy named by `extends` cannot be found or read.",
        ),
        Rule(
            "SL121",
            "extends-outside-root",
            _E,
            "`extends` names a file outside the policy root.",
        ),
        Rule("SL122", "extends-cycle", _E, "Policies extend each other in a circle."),
        Rule(
            "SL123",
            "extends-unknown-stage",
            _E,
            "An extending policy declares a stage the policy it extends does not have.",
        ),
        Rule("SL124", "unknown-preset", _E, "`use` names a CRM preset stagelang does not have."),
        Rule(
            "SL125",
            "stage-not-in-preset",
            _W,
            "A stage without `values` is not one of the preset CRM's stages.",
        ),
        Rule(
            "SL201",
            "type-mismatch",
            _E,
            "Two sides of a comparison have types that cannot be compared.",
        ),
        Rule(
            "SL202", "not-a-condition", _E, "A value that is not true/false is used as a condition."
        ),
        Rule("SL203", "operator-type", _E, "An operator is applied to a type it does not work on."),
        Rule(
            "SL204", "bad-list", _E, "A list literal mixes types or holds something not constant."
        ),
        Rule("SL301", "stage-without-exit", _W, "A stage before the last has no exit criterion."),
        Rule("SL302", "unused-field", _W, "A declared field is never used."),
        Rule("SL303", "unused-segment", _W, "A declared segment is never used."),
        Rule("SL304", "exit-on-last-stage", _W, "The last stage has an exit criterion."),
        Rule(
            "SL305", "back-to-not-earlier", _W, "`allow back to` names a stage that is not earlier."
        ),
        Rule("SL306", "date-column-twice", _E, "One date column is bound to two stages."),
        Rule("SL307", "dwell-not-positive", _E, "An expected dwell is not a positive duration."),
        Rule(
            "SL308",
            "instead-replaces-nothing",
            _W,
            "An `instead requires` sits under a stage with no `requires` to replace.",
        ),
        Rule(
            "SL601",
            "bad-suppression",
            _W,
            "A suppression comment names no code, an unknown code, or an error.",
        ),
    )
}


def diagnose(
    code: str,
    message: str,
    span: Span,
    file: str,
    *,
    help: str | None = None,
    label: str | None = None,
) -> Diagnostic:
    """A diagnostic for `code`, at the severity the catalogue gives it.

    A span that names its own file (one from an extended policy) wins over `file`.
    """
    where = span.file or file
    return Diagnostic(code, RULES[code].severity, message, span, where, help=help, label=label)
