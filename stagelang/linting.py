"""Linting policy files: find them, check each one, and collect what was found.

This is the library behind `stagelang lint`; notebooks and other tools can call it directly.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from stagelang.config import Config
from stagelang.diagnostics import Diagnostic, Severity
from stagelang.errors import PolicyFileError
from stagelang.policy import check_source, read_policy_text

POLICY_SUFFIX = ".stage"


@dataclass
class LintedFile:
    """One policy file's outcome: its diagnostics, or why it could not be read."""

    path: str
    source: str | None = None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    unreadable: str | None = None


@dataclass
class LintReport:
    """Every file linted in one run."""

    files: list[LintedFile]

    @property
    def diagnostics(self) -> list[Diagnostic]:
        return [d for linted in self.files for d in linted.diagnostics]

    def count(self, severity: Severity) -> int:
        return sum(1 for d in self.diagnostics if d.severity is severity)

    @property
    def unreadable(self) -> list[LintedFile]:
        return [linted for linted in self.files if linted.unreadable is not None]


def find_policy_files(paths: Iterable[str | os.PathLike[str]]) -> tuple[list[str], list[str]]:
    """The policy files named by `paths`: files as given, folders searched for `*.stage`.

    Returns the files found, and a complaint for each path that does not exist or is a folder
    holding no policy files (checking nothing is never a pass).
    """
    found: list[str] = []
    missing: list[str] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            inside = [str(p) for p in sorted(path.rglob(f"*{POLICY_SUFFIX}")) if p.is_file()]
            if not inside:
                missing.append(f"{os.fspath(raw)}: no {POLICY_SUFFIX} files in this folder")
            found.extend(inside)
        elif path.exists():
            found.append(os.fspath(raw))
        else:
            missing.append(os.fspath(raw))
    return found, missing


def lint_file(
    path: str, config: Config | None = None, root: str | os.PathLike[str] | None = None
) -> LintedFile:
    """Check one policy file, collecting every diagnostic instead of stopping at the first.

    Warnings silenced by `# stagelang: ignore[CODE]` comments, or left out by the
    configuration's rule selection, are not reported; errors always are. `root`: the folder
    a policy it extends must be inside (default: the file's folder).
    """
    try:
        source = read_policy_text(path)
    except PolicyFileError as error:
        return LintedFile(path, unreadable=str(error))
    _, diagnostics = check_source(source, path, root=root)
    if config is not None:
        diagnostics = [d for d in diagnostics if config.reports(d)]
    return LintedFile(path, source, diagnostics)


def lint_paths(
    paths: Sequence[str | os.PathLike[str]],
    config: Config | None = None,
    root: str | os.PathLike[str] | None = None,
) -> LintReport:
    """Lint every policy file under `paths`; a path that does not exist is reported unreadable."""
    files, missing = find_policy_files(paths)
    report = LintReport([lint_file(path, config, root) for path in files])
    report.files.extend(LintedFile(path, unreadable=_complaint(path)) for path in missing)
    return report


def _complaint(path: str) -> str:
    return path if ": " in path else f"{path}: no such file or folder"
