"""Reading raw export cells (CSV text, JSON values) as the typed values a field holds.

`coercer(field_type)` returns one function per field type, built once per column and called on
every cell. Each function tries the clean form an export usually writes with the cheapest call
(`int(cell)`, `date.fromisoformat(cell)`, a dictionary lookup) and only falls back to tidying
the text (full-width forms, thousands separators, currency signs, other date layouts) when that
fails. Nothing in a cell is ever evaluated: numbers, dates and times are read by their parsers.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import unicodedata
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from stagelang.analysis import types
from stagelang.analysis.types import Type

Coerce = Callable[[object], object]

# What each type accepts, in words for the analyst who has to fix the export.
BOOL_EXPECTED = "true/false (true, false, yes, no, 1, 0, はい, いいえ)"
INT_EXPECTED = "a whole number"
DECIMAL_EXPECTED = "a number"
STRING_EXPECTED = "text"
DATE_EXPECTED = "a date such as 2026-12-03"
DATETIME_EXPECTED = "a date and time such as 2026-12-03T14:05:00+09:00"

# Longer values are cut short in messages, so that one bad cell cannot flood a report.
_SHOWN_CHARS = 60


class CoercionError(ValueError):
    """A cell that cannot be read as its field's type."""

    def __init__(self, value: object, expected: str, *, cell: object = None) -> None:
        """`value` is the raw value; `cell` is the whole cell when `value` is one list item."""
        self.value = value
        self.expected = expected
        self.cell = cell
        super().__init__(_message(value, expected, cell))

    def __reduce__(self) -> tuple[Any, ...]:
        # The default would rebuild from the message alone; worker processes pickle errors.
        return (_rebuild_error, (self.value, self.expected, self.cell))


def _rebuild_error(value: object, expected: str, cell: object) -> CoercionError:
    return CoercionError(value, expected, cell=cell)


def _message(value: object, expected: str, cell: object) -> str:
    if cell is None:
        return f"{_shown(value)} cannot be read as {expected}"
    return f"the item {_shown(value)} in {_shown(cell)} cannot be read as {expected}"


def _shown(value: object) -> str:
    """A value as it looks in the export: text in double quotes, JSON values as JSON."""
    if isinstance(value, str) and len(value) > _SHOWN_CHARS:
        value = value[: _SHOWN_CHARS - 1] + "…"
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = str(value)
    return text if len(text) <= _SHOWN_CHARS + 2 else text[: _SHOWN_CHARS - 1] + "…"


def coercer(field_type: Type, *, separator: str = ";", timezone: dt.tzinfo = dt.UTC) -> Coerce:
    """A function turning one raw cell into the field's typed value, None when missing.

    It raises CoercionError for a value it cannot read. `separator` splits a text cell of a
    list field; `timezone` is where a date and time without an offset was written, and where
    an instant given for a date field is read as a calendar day.
    """
    if field_type.is_list:
        if not separator:
            raise ValueError("the list separator cannot be empty")
        assert field_type.item is not None
        item = coercer(field_type.item, separator=separator, timezone=timezone)
        return _list_coercer(field_type.item, item, separator)

    if field_type.name == "date":
        return _date_coercer(timezone)
    if field_type.name == "datetime":
        return _datetime_coercer(timezone)

    plain = _PLAIN_COERCERS.get(field_type.name)
    if plain is None:
        raise ValueError(f"a field of type {field_type} cannot be read from an export")
    return plain


# Missing values and tidy text


def _is_missing(cell: object) -> bool:
    """Missing, for a cell that is not text: JSON null or an empty list."""
    return cell is None or (isinstance(cell, list | tuple) and len(cell) == 0)


def _tidy(text: str) -> str:
    """The text without surrounding spaces, full-width forms made plain (１２３ to 123)."""
    text = text.strip()
    if text.isascii():
        return text

    # NFKC turns full-width digits, signs, ￥ and slashes into their plain forms; the minus
    # sign U+2212 of typeset figures has no plain form in NFKC.
    return unicodedata.normalize("NFKC", text).replace("\u2212", "-").strip()


# bool

_TRUE_WORDS = ("true", "yes", "y", "1", "はい")
_FALSE_WORDS = ("false", "no", "n", "0", "いいえ")
_BOOL_WORDS = {word: True for word in _TRUE_WORDS} | {word: False for word in _FALSE_WORDS}

# The spellings exports actually write, found by one lookup before any tidying; the empty
# cell is here too because sparse columns are mostly empty.
_BOOL_FAST: dict[str, bool | None] = {
    spelling: truth
    for word, truth in _BOOL_WORDS.items()
    for spelling in (word, word.upper(), word.capitalize())
}
_BOOL_FAST[""] = None


def _coerce_bool(cell: object) -> bool | None:
    if type(cell) is str:
        try:
            return _BOOL_FAST[cell]
        except KeyError:
            return _bool_from_text(cell)

    if type(cell) is bool:
        return cell
    return _bool_from_other(cell)


def _bool_from_text(cell: str) -> bool | None:
    text = _tidy(cell)
    if not text:
        return None

    truth = _BOOL_WORDS.get(text.lower())
    if truth is None:
        raise CoercionError(cell, BOOL_EXPECTED)
    return truth


def _bool_from_other(cell: object) -> bool | None:
    if isinstance(cell, str):
        return _bool_from_text(str(cell))

    if isinstance(cell, bool):
        return bool(cell)
    # JSON 1 and 0 are true and false; 1.0 or 2 are more likely a number in the wrong column.
    if type(cell) is int and cell in (0, 1):
        return cell == 1
    if _is_missing(cell):
        return None
    raise CoercionError(cell, BOOL_EXPECTED)


# int and decimal

# A number as spreadsheets and CRMs write it, once full-width forms are made plain: a sign
# before or after a currency sign, commas only between groups of three digits (so "1,2" and
# "1,2345" are refused as ambiguous), an optional fraction and exponent, and 円 after it.
_NUMBER = re.compile(
    r"""
    (?P<sign>[+-]?) \s*
    (?P<currency>[¥$€£\\]?) \s*
    (?P<sign_after>[+-]?)
    (?P<whole>\d{1,3}(?:,\d{3})+|\d*)
    (?:\.(?P<fraction>\d*))?
    (?P<exponent>[eE][+-]?\d+)?
    \s* (?P<yen>円?)
    """,
    re.VERBOSE,
)


def _number_parts(text: str) -> tuple[str, str, str, str] | None:
    """The sign, whole digits, fraction digits and exponent of a written number, if it is one."""
    match = _NUMBER.fullmatch(text)
    if match is None:
        return None

    sign, currency, sign_after, whole, fraction, exponent, yen = match.groups("")
    whole = whole.replace(",", "")
    if sign and sign_after:
        return None
    if not whole and not fraction:
        return None
    if currency and yen:
        return None
    return sign or sign_after, whole or "0", fraction, exponent


def _coerce_int(cell: object) -> int | None:
    if type(cell) is str:
        if not cell:
            return None
        try:
            number = int(cell)
        except ValueError:
            return _int_from_text(cell)
        # int() also reads Python's 1_000, which no export writes.
        return number if "_" not in cell else _int_from_text(cell)

    if type(cell) is int:
        return cell
    return _int_from_other(cell)


def _int_from_text(cell: str) -> int | None:
    text = _tidy(cell)
    if not text:
        return None

    parts = _number_parts(text)
    if parts is None:
        raise CoercionError(cell, INT_EXPECTED)
    sign, whole, fraction, exponent = parts

    # Excel writes 3 as 3.0; an exponent means the spreadsheet rounded a long number away.
    if exponent or fraction.strip("0"):
        raise CoercionError(cell, INT_EXPECTED)
    try:
        return int(sign + whole)
    except ValueError:  # more digits than Python reads from text
        raise CoercionError(cell, INT_EXPECTED) from None


def _int_from_other(cell: object) -> int | None:
    if isinstance(cell, str):
        return _int_from_text(str(cell))

    if isinstance(cell, bool):
        raise CoercionError(cell, INT_EXPECTED)
    if isinstance(cell, int):
        return int(cell)
    if isinstance(cell, float | Decimal) and _is_whole(cell):
        return int(cell)
    if _is_missing(cell):
        return None
    raise CoercionError(cell, INT_EXPECTED)


def _is_whole(number: float | Decimal) -> bool:
    if isinstance(number, float):
        return number.is_integer()
    return number.is_finite() and number == number.to_integral_value()


def _coerce_decimal(cell: object) -> Decimal | None:
    if type(cell) is str:
        if not cell:
            return None
        try:
            number = Decimal(cell)
        except InvalidOperation:
            return _decimal_from_text(cell)
        # Decimal() also reads NaN, Infinity and 1_000; the slow path refuses them.
        if number.is_finite() and "_" not in cell and _in_range(number):
            return number
        return _decimal_from_text(cell)

    # A float from JSON is meant as the decimal it prints as: 0.1, not 0.1000000000000000055.
    if type(cell) is float and math.isfinite(cell):
        return Decimal(repr(cell))
    if type(cell) is int:
        return Decimal(cell)
    return _decimal_from_other(cell)


def _decimal_from_text(cell: str) -> Decimal | None:
    text = _tidy(cell)
    if not text:
        return None

    parts = _number_parts(text)
    if parts is None:
        raise CoercionError(cell, DECIMAL_EXPECTED)
    sign, whole, fraction, exponent = parts

    number = Decimal(
        f"{sign}{whole}.{fraction}{exponent}" if fraction else f"{sign}{whole}{exponent}"
    )
    if not _in_range(number):
        raise CoercionError(cell, DECIMAL_EXPECTED)
    return number


def _in_range(number: Decimal) -> bool:
    # 1e999999999 is a Decimal, but arithmetic on it overflows; no CRM amount is that large.
    return -_LARGEST_EXPONENT <= number.adjusted() <= _LARGEST_EXPONENT


_LARGEST_EXPONENT = 40


def _decimal_from_other(cell: object) -> Decimal | None:
    if isinstance(cell, str):
        return _decimal_from_text(str(cell))

    if isinstance(cell, bool):
        raise CoercionError(cell, DECIMAL_EXPECTED)
    if isinstance(cell, int):
        return Decimal(int(cell))
    if isinstance(cell, float) and math.isfinite(cell):
        return Decimal(repr(float(cell)))
    if isinstance(cell, Decimal) and cell.is_finite():
        return cell
    if _is_missing(cell):
        return None
    raise CoercionError(cell, DECIMAL_EXPECTED)


# string


def _coerce_string(cell: object) -> str | None:
    if type(cell) is str:
        return cell.strip() or None

    # Ids are often numbers in JSON.
    if type(cell) is int:
        return str(cell)
    return _string_from_other(cell)


def _string_from_other(cell: object) -> str | None:
    if isinstance(cell, str):
        return str(cell).strip() or None

    # A true/false is written the way JSON spells it, not as Python's True.
    if isinstance(cell, bool):
        return "true" if cell else "false"
    if isinstance(cell, int | float | Decimal):
        return str(cell)
    if _is_missing(cell):
        return None
    raise CoercionError(cell, STRING_EXPECTED)


# date and datetime

# HubSpot's API writes instants as 13-digit Unix milliseconds (2001 to 2286) since this.
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

# 2026/12/03, 2026/1/5 and 2026-1-5, with an optional time after a space or a T.
_SLASHED = re.compile(
    r"""
    (?P<year>\d{4}) (?P<gap>[/-]) (?P<month>\d{1,2}) (?P=gap) (?P<day>\d{1,2})
    (?: (?:\s+|T) (?P<hour>\d{1,2}) : (?P<minute>\d{2})
        (?: : (?P<second>\d{2}) (?: \. (?P<fraction>\d{1,6}) )? )? )?
    """,
    re.VERBOSE,
)

# 2026年12月3日, with an optional time written 14:05, 14:05:30, 14時5分 or 14時5分30秒.
_JAPANESE = re.compile(
    r"""
    (?P<year>\d{4}) \s*年\s* (?P<month>\d{1,2}) \s*月\s* (?P<day>\d{1,2}) \s*日
    (?: \s* (?P<hour>\d{1,2}) (?::|\s*時\s*) (?P<minute>\d{1,2})
        (?: (?::|\s*分\s*) (?P<second>\d{1,2}) (?: \. (?P<fraction>\d{1,6}) )? \s*秒?
          | \s*分 )? )?
    """,
    re.VERBOSE,
)

# The groups both layouts name, in the order datetime() takes them.
_MOMENT_PARTS = ("year", "month", "day", "hour", "minute", "second", "fraction")


def _date_coercer(zone: dt.tzinfo) -> Coerce:
    def coerce_date(cell: object) -> dt.date | None:
        if type(cell) is str:
            if not cell:
                return None
            try:
                return dt.date.fromisoformat(cell)
            except ValueError:
                return _date_from_text(cell, zone)

        return _date_from_other(cell, zone)

    return coerce_date


def _date_from_text(cell: str, zone: dt.tzinfo) -> dt.date | None:
    text = _tidy(cell)
    if not text:
        return None

    # A date written with a time but no offset is in `zone` already: its day is as written.
    match = _SLASHED.fullmatch(text) or _JAPANESE.fullmatch(text)
    if match is not None:
        day = _local_day(match)
        # A time after the day must exist too: 2026/12/03 25:00 is a mistake in the export.
        if day is None or (match["hour"] is not None and _local_moment(match, zone) is None):
            raise CoercionError(cell, DATE_EXPECTED)
        return day

    # An instant given for a date field is read as the day it falls on in `zone`; an ISO date
    # that needed tidying is read here too, as midnight in `zone`.
    moment = _instant_from_text(text, zone)
    if moment is None:
        raise CoercionError(cell, DATE_EXPECTED)
    return moment.astimezone(zone).date()


def _date_from_other(cell: object, zone: dt.tzinfo) -> dt.date | None:
    if isinstance(cell, str):
        return _date_from_text(str(cell), zone)

    if isinstance(cell, dt.datetime):
        return _aware(cell, zone).astimezone(zone).date()
    if isinstance(cell, dt.date):
        return cell
    if isinstance(cell, int) and not isinstance(cell, bool):
        moment = _from_milliseconds(cell)
        if moment is None:
            raise CoercionError(cell, DATE_EXPECTED)
        return moment.astimezone(zone).date()
    if _is_missing(cell):
        return None
    raise CoercionError(cell, DATE_EXPECTED)


def _datetime_coercer(zone: dt.tzinfo) -> Coerce:
    def coerce_datetime(cell: object) -> dt.datetime | None:
        if type(cell) is str:
            if not cell:
                return None
            try:
                moment = dt.datetime.fromisoformat(cell)
            except ValueError:
                return _datetime_from_text(cell, zone)

            # Python also reads ISO's compact 20261203T1405, and so misreads 13-digit
            # milliseconds such as 1701011512000 as 1701-01-15 20:00; those take the slow path.
            if cell[4] != "-":
                return _datetime_from_text(cell, zone)
            if moment.tzinfo is not None:
                return moment
            return _combine(moment.date(), moment.time(), zone)

        return _datetime_from_other(cell, zone)

    return coerce_datetime


def _datetime_from_text(cell: str, zone: dt.tzinfo) -> dt.datetime | None:
    text = _tidy(cell)
    if not text:
        return None

    match = _SLASHED.fullmatch(text) or _JAPANESE.fullmatch(text)
    moment = _local_moment(match, zone) if match else _instant_from_text(text, zone)
    if moment is None:
        raise CoercionError(cell, DATETIME_EXPECTED)
    return moment


def _datetime_from_other(cell: object, zone: dt.tzinfo) -> dt.datetime | None:
    if isinstance(cell, str):
        return _datetime_from_text(str(cell), zone)

    if isinstance(cell, dt.datetime):
        return _aware(cell, zone)
    if isinstance(cell, dt.date):
        return _combine(cell, dt.time(), zone)
    if isinstance(cell, int) and not isinstance(cell, bool):
        moment = _from_milliseconds(cell)
        if moment is None:
            raise CoercionError(cell, DATETIME_EXPECTED)
        return moment
    if _is_missing(cell):
        return None
    raise CoercionError(cell, DATETIME_EXPECTED)


def _local_moment(match: re.Match[str], zone: dt.tzinfo) -> dt.datetime | None:
    """The date and time a _SLASHED or _JAPANESE match spells, in `zone`; None if no such."""
    year, month, day, hour, minute, second, fraction = match.group(*_MOMENT_PARTS)
    try:
        return dt.datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int(fraction.ljust(6, "0")) if fraction else 0,
            zone,
        )
    except ValueError:  # a day or an hour that does not exist, such as 2026/2/30
        return None


def _local_day(match: re.Match[str]) -> dt.date | None:
    """The date a _SLASHED or _JAPANESE match without a time spells, or None if no such."""
    year, month, day = match.group("year", "month", "day")
    try:
        return dt.date(int(year), int(month), int(day))
    except ValueError:
        return None


def _instant_from_text(text: str, zone: dt.tzinfo) -> dt.datetime | None:
    """Tidied ISO text or Unix milliseconds as an aware date and time; None if neither."""
    # Python's ISO reader takes runs of digits as compact dates and times, and would read the
    # milliseconds 1701011512000 as 1701-01-15 20:00. Only 20261203 is a date in digits alone.
    if text.isdigit():
        if len(text) == 13:
            return _from_milliseconds(int(text))
        if len(text) != 8:
            return None
    try:
        return _aware(dt.datetime.fromisoformat(text), zone)
    except ValueError:
        return None


def _aware(moment: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
    """A date and time without an offset is read as written in `zone`."""
    if moment.tzinfo is not None:
        return moment
    return _combine(moment.date(), moment.time(), zone)


def _combine(day: dt.date, time: dt.time, zone: dt.tzinfo) -> dt.datetime:
    # datetime.replace(tzinfo=...) takes about 1 µs on Python 3.11; combine takes a fifth.
    return dt.datetime.combine(day, time, zone)


def _from_milliseconds(milliseconds: int) -> dt.datetime | None:
    """The instant a Unix time in milliseconds names, or None when it is out of range."""
    try:
        return _EPOCH + dt.timedelta(milliseconds=milliseconds)
    except OverflowError:
        return None


# list<T>


def _list_coercer(item_type: Type, item: Coerce, separator: str) -> Coerce:
    expected = f"{types.list_of(item_type).describe()} separated by {json.dumps(separator)}"
    text_items = item_type == types.STRING

    def coerce_list(cell: object) -> list[object] | None:
        if isinstance(cell, str):
            pieces: list[object] = [p for p in map(str.strip, cell.split(separator)) if p]
            # Text items are already what the string coercer would return.
            return (pieces if text_items else _items(pieces, item, cell)) or None

        if isinstance(cell, list | tuple):
            return [value for value in _items(cell, item, cell) if value is not None] or None
        if isinstance(cell, dict):
            raise CoercionError(cell, expected)

        # A lone JSON value is a list of one, as a text cell without a separator is.
        value = item(cell)
        return None if value is None else [value]

    return coerce_list


def _items(values: list[Any] | tuple[Any, ...], item: Coerce, cell: object) -> list[object]:
    try:
        return [item(value) for value in values]
    except CoercionError as error:
        raise CoercionError(error.value, error.expected, cell=cell) from None


_PLAIN_COERCERS: dict[str, Coerce] = {
    "bool": _coerce_bool,
    "int": _coerce_int,
    "decimal": _coerce_decimal,
    "string": _coerce_string,
}
