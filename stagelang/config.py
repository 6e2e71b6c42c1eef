"""Project configuration: `[tool.stagelang]` in pyproject.toml, or a stagelang.toml.

    paths = ["policies"]                  # what `lint` and `fmt` look at when given no paths
    select = ["SL3"]                      # report only these warnings (codes, families, names)
    ignore = ["SL302"]                    # never these
    fail-on = "warning"                   # the default of `lint --fail-on`
    [per-file-ignores]                    # (in pyproject.toml: [tool.stagelang.per-file-ignores])
    "legacy/*.stage" = ["unused-field"]

The file is found as ruff finds its own: from a folder (the policy's, or the working
directory) upwards, the first folder holding a stagelang.toml, or a pyproject.toml with a
`[tool.stagelang]` table, wins; a stagelang.toml wins over a pyproject.toml in the same folder.
The settings are checked against a JSON Schema, so a misspelt key is an error naming the file
and the keys allowed, never silently ignored.

Errors cannot be ignored: a policy with an error cannot be checked, whatever the configuration
says. Selection and ignores apply to warnings.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from jsonschema import Draft202012Validator  # type: ignore[import-untyped, unused-ignore]
from jsonschema.exceptions import ValidationError  # type: ignore[import-untyped, unused-ignore]

from stagelang.diagnostics import Diagnostic, Severity
from stagelang.errors import StagelangError
from stagelang.rules import RULES, Rule
from stagelang.suggestions import closest

CONFIG_FILE = "stagelang.toml"
PYPROJECT = "pyproject.toml"

_CODES = {"type": "array", "items": {"type": "string", "minLength": 1}}

SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "stagelang configuration",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "paths": {"type": "array", "items": {"type": "string", "minLength": 1}},
        "select": _CODES,
        "ignore": _CODES,
        "per-file-ignores": {"type": "object", "additionalProperties": _CODES},
        "fail-on": {"enum": ["error", "warning"]},
    },
}


class ConfigError(StagelangError):
    """A configuration file that cannot be read or does not follow the schema."""


@dataclass(frozen=True)
class Config:
    """The settings in force, and the file they came from (None: the defaults)."""

    file: str | None = None
    root: Path = field(default_factory=Path.cwd)
    paths: tuple[str, ...] = ()
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    per_file_ignores: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    fail_on: str | None = None
    warnings: tuple[str, ...] = ()

    def policy_paths(self) -> list[str]:
        """`paths`, which are relative to the configuration file's folder, as the user would
        write them from the working directory."""
        return [_shown(self.root / path) for path in self.paths]

    def reports(self, diagnostic: Diagnostic) -> bool:
        """Whether the settings keep this diagnostic: errors always, warnings as selected."""
        if diagnostic.severity is Severity.ERROR:
            return True
        code = diagnostic.code
        if self.select and not _matches(code, self.select):
            return False
        if _matches(code, self.ignore):
            return False
        return not _matches(code, self._ignored_in(diagnostic.file))

    def _ignored_in(self, file: str) -> list[str]:
        if not self.per_file_ignores:
            return []
        path = Path(file).resolve()
        try:
            relative = PurePosixPath(path.relative_to(self.root.resolve()).as_posix())
        except ValueError:
            relative = PurePosixPath(path.as_posix())
        return [
            code
            for pattern, codes in self.per_file_ignores.items()
            if relative.match(pattern)
            for code in codes
        ]


def find_config(start: str | os.PathLike[str] | None = None) -> Path | None:
    """The configuration file that applies at `start` (a file or folder; default: the working
    directory): the nearest stagelang.toml, or pyproject.toml with [tool.stagelang], upwards."""
    folder = Path(start if start is not None else Path.cwd()).resolve()
    if not folder.is_dir():
        folder = folder.parent
    for candidate in (folder, *folder.parents):
        own = candidate / CONFIG_FILE
        if own.is_file():
            return own
        pyproject = candidate / PYPROJECT
        if pyproject.is_file() and _has_our_table(pyproject):
            return pyproject
    return None


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read and check one configuration file. Raises ConfigError with the file and the fix."""
    where = os.fspath(path)
    data = _read_toml(where)
    table_name = ""
    if Path(where).name == PYPROJECT:
        data = data.get("tool", {}).get("stagelang", {})
        table_name = "[tool.stagelang]"
    _validate(data, where, table_name)

    warnings: list[str] = []
    at = f"{where}: {table_name} ".replace(":  ", ": ")
    select = _codes(data.get("select", []), f"{at}select", warnings)
    ignore = _codes(data.get("ignore", []), f"{at}ignore", warnings)
    per_file = {
        pattern: _codes(codes, f"{at}per-file-ignores {pattern!r}", warnings)
        for pattern, codes in data.get("per-file-ignores", {}).items()
    }
    return Config(
        file=where,
        root=Path(where).resolve().parent,
        paths=tuple(data.get("paths", [])),
        select=select,
        ignore=ignore,
        per_file_ignores=per_file,
        fail_on=data.get("fail-on"),
        warnings=tuple(warnings),
    )


def config_for(start: str | os.PathLike[str] | None = None, explicit: str | None = None) -> Config:
    """The configuration for a run: `explicit` (a --config path) or the one found from
    `start`, or the defaults when there is none."""
    if explicit is not None:
        return load_config(explicit)
    found = find_config(start)
    return load_config(_shown(found)) if found is not None else Config()


# Reading


def _read_toml(path: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as file:
            return tomllib.load(file)
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the configuration: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None


def _has_our_table(pyproject: Path) -> bool:
    try:
        with open(pyproject, "rb") as file:
            data = tomllib.load(file)
    except (OSError, tomllib.TOMLDecodeError):
        # Not ours to judge here; a broken pyproject.toml of another tool is skipped.
        return False
    tool = data.get("tool")
    return isinstance(tool, dict) and "stagelang" in tool


def _validate(data: object, where: str, table: str) -> None:
    errors = sorted(
        Draft202012Validator(SCHEMA).iter_errors(data), key=lambda e: list(map(str, e.path))
    )
    if errors:
        raise ConfigError("\n".join(_explain(error, where, table) for error in errors))


def _explain(error: ValidationError, where: str, table: str) -> str:
    place = " ".join(str(part) for part in error.absolute_path)
    prefix = f"{where}: {' '.join(filter(None, (table, place)))}".rstrip(": ").rstrip()
    if error.validator == "additionalProperties" and not error.absolute_path:
        allowed = sorted(SCHEMA["properties"])
        unknown = sorted(set(error.instance) - set(allowed))
        lines = []
        for key in unknown:
            guess = closest(key, allowed)
            hint = f' (did you mean "{guess}"?)' if guess else ""
            lines.append(
                f'{prefix}: unknown key "{key}"{hint}; the keys allowed are {", ".join(allowed)}'
            )
        return "\n".join(lines)
    if error.validator == "enum":
        choices = " or ".join(f'"{choice}"' for choice in error.validator_value)
        return f"{prefix}: {_shown_value(error.instance)} is not allowed; use {choices}"
    if error.validator == "type":
        return f"{prefix}: {_shown_value(error.instance)} should be {_kind(error.validator_value)}"
    if error.validator == "minLength":
        return f"{prefix}: an empty text is not allowed"
    return f"{prefix}: {error.message}"


def _kind(expected: object) -> str:
    return {
        "array": 'a list, such as ["SL302"]',
        "string": "text in quotes",
        "object": "a table",
    }.get(str(expected), str(expected))


def _shown_value(value: object) -> str:
    return f'"{value}"' if isinstance(value, str) else repr(value)


# Rule codes


def catalogue() -> dict[str, Rule]:
    """Every rule a setting may name: policy rules and data rules."""
    from stagelang.findings import DATA_RULES

    return {**RULES, **DATA_RULES}


def _codes(raw: Sequence[str], where: str, warnings: list[str]) -> tuple[str, ...]:
    """Codes, families (`SL3`) and rule names, as codes or families; warnings for the rest."""
    rules = catalogue()
    by_name = {rule.name: code for code, rule in rules.items()}
    found: list[str] = []
    for item in raw:
        written = item.strip()
        code = by_name.get(written.lower(), written.upper())
        if not any(known.startswith(code) for known in rules) or not code.startswith("SL"):
            guess = closest(written, [*rules, *by_name])
            hint = f' (did you mean "{guess}"?)' if guess else ""
            warnings.append(f'{where}: "{written}" is not a rule code{hint}; it was left out')
            continue
        warnings.extend(_unignorable(code, rules, where))
        found.append(code)
    return tuple(found)


def _unignorable(code: str, rules: Mapping[str, Rule], where: str) -> Iterable[str]:
    rule = rules.get(code)
    if rule is not None and code not in RULES:
        yield (
            f"{where}: {code} ({rule.name}) is about records of an export, and select and ignore "
            "apply to policies; exempt records with a waivers file (docs/check.md#waivers)"
        )
    elif rule is not None and rule.severity is Severity.ERROR:
        yield (
            f"{where}: {code} ({rule.name}) is an error, and errors are always reported: "
            "a policy with errors cannot be checked"
        )


def _matches(code: str, patterns: Iterable[str]) -> bool:
    return any(code.startswith(pattern) for pattern in patterns)


def _shown(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)
