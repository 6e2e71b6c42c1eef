"""What Python values a field of each type accepts from a caller of the Python API."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from stagelang.analysis import types
from stagelang.analysis.types import Type
from stagelang.compiler.runtime import is_missing

_EXPECTED = {
    "bool": "True or False",
    "int": "an int",
    "decimal": "a Decimal, int or float",
    "string": "a str",
    "date": "a datetime.date",
    "datetime": "a datetime.datetime",
}


def value_fits(value: Any, field_type: Type) -> bool:
    """Whether `value` is a valid value (or a missing one) for a field of `field_type`."""
    if is_missing(value):
        return True
    if field_type.is_list:
        assert field_type.item is not None
        item_type = field_type.item
        return isinstance(value, (list, tuple)) and all(
            value_fits(item, item_type) for item in value
        )
    return _scalar_fits(value, field_type)


def _scalar_fits(value: Any, field_type: Type) -> bool:
    if field_type == types.BOOL:
        return isinstance(value, bool)
    if field_type == types.INT:
        return isinstance(value, int) and not isinstance(value, bool)
    if field_type == types.DECIMAL:
        return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)
    if field_type == types.STRING:
        return isinstance(value, str)
    if field_type == types.DATETIME:
        return isinstance(value, dt.datetime)
    if field_type == types.DATE:
        return isinstance(value, dt.date) and not isinstance(value, dt.datetime)
    return True


def wrong_type_message(name: str, value: Any, field_type: Type) -> str:
    """Why a value does not fit its field, said for the person who passed it."""
    if field_type.is_list:
        assert field_type.item is not None
        expected = f"a list of {_EXPECTED.get(field_type.item.name, str(field_type.item))}"
    else:
        expected = _EXPECTED.get(field_type.name, str(field_type))
    return (
        f'field "{name}" holds {value!r} ({type(value).__name__}), but it is declared '
        f"{field_type}: expected {expected}"
    )
