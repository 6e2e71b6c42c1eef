"""The exceptions stagelang raises: one root, with families for policies and for records."""

from __future__ import annotations

from collections.abc import Sequence

from stagelang.diagnostics import Diagnostic

# How many diagnostics an exception's message lists before it says "and N more".
_SHOWN = 10


class StagelangError(Exception):
    """The root of every error stagelang raises on purpose."""


class PolicyError(StagelangError):
    """A policy that does not check. `diagnostics` holds every problem found, warnings too."""

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics = list(diagnostics)
        errors = [d for d in self.diagnostics if d.is_error]
        lines = [d.short() for d in errors[:_SHOWN]]
        if len(errors) > _SHOWN:
            lines.append(f"and {len(errors) - _SHOWN} more")
        count = f"{len(errors)} error{'s' if len(errors) != 1 else ''}"
        super().__init__(f"the policy has {count}:\n" + "\n".join(lines))

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.is_error]


class PolicyFileError(StagelangError):
    """A policy file that cannot be read at all: missing, unreadable, or not text."""


class RecordError(StagelangError, ValueError):
    """A record handed to the Python API holds a value of the wrong type for its field."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field
