"""Turning a row of cells into a typed record: one generated function per export's columns.

A loop over the fields, calling a converter per cell through a binding object, costs more than
the conversions themselves on a wide export. So, as the policy's checks are, the row converter
is generated as one flat function: for each field, read its cell by position and convert it,
inline for the commonest types (text, true/false, plain whole numbers) and through the field's
coercer otherwise. Only positions, field names (written with repr) and converters (passed in
by name) go into the generated text; no cell content ever does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from stagelang.analysis import types
from stagelang.analysis.types import Type
from stagelang.records.coerce import CoercionError

Converted = tuple[dict[str, Any], dict[str, CoercionError] | None]
RowConverter = Callable[[Any], Converted]

_BOOL_WORDS = {
    "": None,
    "true": True,
    "false": False,
    "TRUE": True,
    "FALSE": False,
    "True": True,
    "False": False,
}
_NOT_FOUND = object()


@dataclass(frozen=True, slots=True)
class Column:
    """One field's place in the row and how its cells become values."""

    field: str
    type: Type
    key: int | str
    convert: Callable[[object], object]


def compile_row_converter(columns: Sequence[Column]) -> RowConverter:
    """`convert(cells) -> (record, bad values or None)` for rows of a CSV with these columns."""
    lines = ["def convert(c):", "    r = {}", "    bad = None"]
    namespace: dict[str, Any] = {
        "_bool_words": _BOOL_WORDS,
        "_not_found": _NOT_FOUND,
        "_CoercionError": CoercionError,
        "int": int,
    }
    for slot, column in enumerate(columns):
        converter = f"_convert{slot}"
        namespace[converter] = column.convert
        lines.extend(_field_lines(column, converter))
    lines.append("    return r, bad")

    scope: dict[str, Any] = {"__builtins__": {}, **namespace}
    exec(compile("\n".join(lines) + "\n", "<stagelang row converter>", "exec"), scope)
    function: RowConverter = scope["convert"]
    return function


def _field_lines(column: Column, converter: str) -> list[str]:
    name = repr(column.field)
    read = f"    v = c[{column.key!r}]"
    if column.type == types.STRING:
        fast = [
            "    if v and not v[0].isspace() and not v[-1].isspace():",
            f"        r[{name}] = v",
            "    else:",
            "        try:",
            f"            r[{name}] = {converter}(v)",
        ]
    elif column.type == types.BOOL:
        fast = [
            "    x = _bool_words.get(v, _not_found)",
            "    if x is not _not_found:",
            f"        r[{name}] = x",
            "    else:",
            "        try:",
            f"            r[{name}] = {converter}(v)",
        ]
    elif column.type == types.INT:
        fast = [
            "    if v.isdecimal():",
            f"        r[{name}] = int(v)",
            "    else:",
            "        try:",
            f"            r[{name}] = {converter}(v)",
        ]
    else:
        fast = ["    if True:", "        try:", f"            r[{name}] = {converter}(v)"]
    failure = [
        "        except _CoercionError as error:",
        f"            r[{name}] = None",
        "            if bad is None:",
        "                bad = {}",
        f"            bad[{name}] = error",
    ]
    return [read, *fast, *failure]
