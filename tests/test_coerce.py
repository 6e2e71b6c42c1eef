"""Reading raw export cells as typed field values: every quirk accepted or refused, by example
and by property."""

from __future__ import annotations

import datetime as dt
import pickle
import zoneinfo
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stagelang.analysis import types
from stagelang.analysis.types import Type
from stagelang.records.coerce import CoercionError, coercer

BOOL_WORDS = "true/false (true, false, yes, no, 1, 0, はい, いいえ)"
WHOLE = "a whole number"
NUMBER = "a number"
TEXT = "text"
DATE = "a date such as 2026-12-03"
DATETIME = "a date and time such as 2026-12-03T14:05:00+09:00"

UTC = dt.UTC
JST = dt.timezone(dt.timedelta(hours=9), "JST")
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)

# 2026-12-03T00:00:00Z in Unix milliseconds, as HubSpot's API writes it.
DEC_3_MS = 1796256000000

LIST_INT = types.list_of(types.INT)
LIST_STRING = types.list_of(types.STRING)
EVERY_TYPE = [
    types.BOOL,
    types.INT,
    types.DECIMAL,
    types.STRING,
    types.DATE,
    types.DATETIME,
    LIST_INT,
    LIST_STRING,
    types.list_of(types.DATE),
]

# Every character Python's str.strip() removes, which is what "surrounding spaces" means here.
WHITESPACE = [chr(c) for c in range(0x110000) if chr(c).isspace()]

HAS_ZONES = bool(zoneinfo.available_timezones())
needs_zones = pytest.mark.skipif(not HAS_ZONES, reason="no time zone database on this machine")


def coerce(field_type: Type, cell: object, **options: Any) -> object:
    return coercer(field_type, **options)(cell)


def refusal(field_type: Type, cell: object, **options: Any) -> CoercionError:
    with pytest.raises(CoercionError) as caught:
        coerce(field_type, cell, **options)
    return caught.value


def full_width(text: str) -> str:
    """The text as a Japanese keyboard in full-width mode types it: １，２００ for 1,200."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def python_class(field_type: Type) -> type:
    return {
        "bool": bool,
        "int": int,
        "decimal": Decimal,
        "string": str,
        "date": dt.date,
        "datetime": dt.datetime,
    }[field_type.name]


def has_type(value: object, field_type: Type) -> bool:
    """Whether a coerced value is exactly what the field's type promises."""
    if value is None:
        return True
    if field_type.is_list:
        assert field_type.item is not None
        item = field_type.item
        return isinstance(value, list) and bool(value) and all(has_type(v, item) for v in value)
    if field_type == types.DATETIME:
        return type(value) is dt.datetime and value.tzinfo is not None
    return type(value) is python_class(field_type)


# Missing values


MISSING_CELLS = [
    pytest.param(None, id="json-null"),
    pytest.param("", id="empty"),
    pytest.param("   ", id="spaces"),
    pytest.param("\t\r\n", id="tab-and-line-end"),
    pytest.param("\u3000", id="ideographic-space"),
    pytest.param("\u00a0", id="no-break-space"),
    pytest.param([], id="empty-json-list"),
]


@pytest.mark.parametrize("cell", MISSING_CELLS)
@pytest.mark.parametrize("field_type", EVERY_TYPE, ids=str)
def test_a_missing_cell_is_none_for_every_type(field_type: Type, cell: object) -> None:
    assert coerce(field_type, cell) is None


@given(st.text(st.sampled_from(WHITESPACE)))
def test_whitespace_alone_is_missing_for_every_type(cell: str) -> None:
    for field_type in EVERY_TYPE:
        assert coerce(field_type, cell) is None, field_type


# bool


@pytest.mark.parametrize(
    ("cell", "want"),
    [
        pytest.param("true", True, id="true"),
        pytest.param("false", False, id="false"),
        pytest.param("TRUE", True, id="TRUE"),
        pytest.param("False", False, id="False"),
        pytest.param("tRuE", True, id="mixed-case"),
        pytest.param(" yes ", True, id="yes-padded"),
        pytest.param("No", False, id="No"),
        pytest.param("Y", True, id="Y"),
        pytest.param("n", False, id="n"),
        pytest.param("1", True, id="one"),
        pytest.param("0", False, id="zero"),
        pytest.param(" 1\t", True, id="one-padded"),
        pytest.param("はい", True, id="hai"),
        pytest.param("いいえ", False, id="iie"),
        pytest.param("\u3000はい\u3000", True, id="hai-ideographic-spaces"),
        pytest.param("ＹＥＳ", True, id="full-width-YES"),
        pytest.param("１", True, id="full-width-one"),
        pytest.param(True, True, id="json-true"),
        pytest.param(False, False, id="json-false"),
        pytest.param(1, True, id="json-1"),
        pytest.param(0, False, id="json-0"),
    ],
)
def test_bool_reads(cell: object, want: bool) -> None:
    got = coerce(types.BOOL, cell)
    assert got is want


@pytest.mark.parametrize(
    "cell",
    [
        pytest.param("maybe", id="maybe"),
        pytest.param("2", id="two"),
        pytest.param("t", id="t"),
        pytest.param("on", id="on"),
        pytest.param("yes please", id="yes-please"),
        pytest.param("true;false", id="two-values"),
        pytest.param("ja", id="ja"),
        pytest.param(2, id="json-2"),
        pytest.param(-1, id="json-minus-1"),
        pytest.param(1.0, id="json-float-1"),
        pytest.param({"value": True}, id="json-object"),
        pytest.param([True], id="json-list"),
    ],
)
def test_bool_refuses(cell: object) -> None:
    error = refusal(types.BOOL, cell)
    assert error.value == cell
    assert error.expected == BOOL_WORDS


@given(
    st.sampled_from(["true", "yes", "y", "1", "false", "no", "n", "0"]),
    st.lists(st.booleans(), min_size=5, max_size=5),
    st.text(" \t", max_size=2),
    st.text(" \t", max_size=2),
)
def test_bool_ignores_case_and_surrounding_spaces(
    word: str, upper: list[bool], before: str, after: str
) -> None:
    spelled = "".join(c.upper() if up else c for c, up in zip(word, upper, strict=False))
    assert coerce(types.BOOL, before + spelled + after) is (word in ("true", "yes", "y", "1"))


# int


@pytest.mark.parametrize(
    ("cell", "want"),
    [
        pytest.param("42", 42, id="plain"),
        pytest.param("-7", -7, id="negative"),
        pytest.param("+5", 5, id="plus-sign"),
        pytest.param(" 42 ", 42, id="padded"),
        pytest.param("0", 0, id="zero"),
        pytest.param("1,200,000", 1200000, id="thousands"),
        pytest.param("-1,200", -1200, id="negative-thousands"),
        pytest.param("¥1,200,000", 1200000, id="yen-sign"),
        pytest.param("￥1,200,000", 1200000, id="full-width-yen-sign"),
        pytest.param("$950", 950, id="dollar"),
        pytest.param("€12", 12, id="euro"),
        pytest.param("£3", 3, id="pound"),
        pytest.param("-¥1,200", -1200, id="minus-before-yen"),
        pytest.param("¥-1,200", -1200, id="minus-after-yen"),
        pytest.param("1,200円", 1200, id="en-after"),
        pytest.param("１２３", 123, id="full-width-digits"),
        pytest.param("－５", -5, id="full-width-minus"),
        pytest.param("＋５", 5, id="full-width-plus"),
        pytest.param("１，２００", 1200, id="full-width-thousands"),
        pytest.param("￥１，２００，０００", 1200000, id="all-full-width"),
        pytest.param("\u22125", -5, id="minus-sign-u2212"),
        pytest.param("3.0", 3, id="excel-integral-decimal"),
        pytest.param("1,200.00", 1200, id="thousands-and-zero-fraction"),
        pytest.param(42, 42, id="json-int"),
        pytest.param(-3, -3, id="json-negative-int"),
        pytest.param(3.0, 3, id="json-integral-float"),
        pytest.param(Decimal("4"), 4, id="integral-decimal-object"),
    ],
)
def test_int_reads(cell: object, want: int) -> None:
    got = coerce(types.INT, cell)
    assert type(got) is int
    assert got == want


@pytest.mark.parametrize(
    "cell",
    [
        pytest.param("3.5", id="fraction"),
        pytest.param("1,2", id="short-group"),
        pytest.param("1,2345", id="long-group"),
        pytest.param("12,34,567", id="lakh-grouping"),
        pytest.param("1234,567", id="long-first-group"),
        pytest.param("1,200,", id="trailing-comma"),
        pytest.param("1 200", id="space-grouping"),
        pytest.param("1_000", id="python-underscores"),
        pytest.param("1.2E+06", id="excel-scientific"),
        pytest.param("1e3", id="exponent"),
        pytest.param("abc", id="word"),
        pytest.param("TBD", id="placeholder"),
        pytest.param("$", id="currency-alone"),
        pytest.param("¥1,200円", id="yen-sign-and-en"),
        pytest.param("--5", id="double-minus"),
        pytest.param("-$-5", id="two-signs"),
        pytest.param("1+1", id="arithmetic"),
        pytest.param("0x1F", id="hexadecimal"),
        pytest.param("NaN", id="nan-text"),
        pytest.param("Infinity", id="infinity-text"),
        pytest.param("9" * 5000, id="too-many-digits"),
        pytest.param(3.5, id="json-fraction"),
        pytest.param(True, id="json-true"),
        pytest.param(False, id="json-false"),
        pytest.param(float("nan"), id="json-nan"),
        pytest.param(float("inf"), id="json-infinity"),
        pytest.param({"amount": 1}, id="json-object"),
        pytest.param([1], id="json-list"),
    ],
)
def test_int_refuses(cell: object) -> None:
    error = refusal(types.INT, cell)
    assert error.value is cell
    assert error.expected == WHOLE


@given(st.integers())
def test_every_way_of_writing_an_int_reads_back(n: int) -> None:
    grouped = f"{n:,}"
    sign, digits = ("-", grouped[1:]) if n < 0 else ("", grouped)
    spellings = [
        str(n),
        grouped,
        full_width(str(n)),
        full_width(grouped),
        f"¥{grouped}",
        f"{sign}¥{digits}",
        f"￥{grouped}",
        f"{sign}${digits}",
        f"{grouped}円",
        f"  {n}\u3000",
        f"{n}.0",
        f"+{n}" if n >= 0 else str(n),
    ]
    for cell in spellings:
        assert coerce(types.INT, cell) == n, cell
        assert coerce(types.DECIMAL, cell) == Decimal(n), cell


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_a_json_float_is_an_int_only_when_whole(x: float) -> None:
    if x.is_integer():
        assert coerce(types.INT, x) == int(x)
    else:
        assert refusal(types.INT, x).expected == WHOLE


# decimal


@pytest.mark.parametrize(
    ("cell", "want"),
    [
        pytest.param("1200.50", Decimal("1200.50"), id="plain"),
        pytest.param("-0.5", Decimal("-0.5"), id="negative"),
        pytest.param("+1.5", Decimal("1.5"), id="plus-sign"),
        pytest.param(" 2.5 ", Decimal("2.5"), id="padded"),
        pytest.param(".5", Decimal("0.5"), id="no-whole-part"),
        pytest.param("3", Decimal(3), id="whole"),
        pytest.param("1e3", Decimal("1E+3"), id="exponent"),
        pytest.param("1,200.50", Decimal("1200.50"), id="thousands"),
        pytest.param("¥1,200", Decimal(1200), id="yen-sign"),
        pytest.param("$950.25", Decimal("950.25"), id="dollar"),
        pytest.param("€3.20", Decimal("3.20"), id="euro"),
        pytest.param("£0.99", Decimal("0.99"), id="pound"),
        pytest.param("-$1,200.50", Decimal("-1200.50"), id="minus-before-dollar"),
        pytest.param("１２３．４５", Decimal("123.45"), id="full-width"),
        pytest.param("－５．５", Decimal("-5.5"), id="full-width-minus"),
        pytest.param("1,500円", Decimal(1500), id="en-after"),
        pytest.param(7, Decimal(7), id="json-int"),
        pytest.param(0.1, Decimal("0.1"), id="json-float-as-printed"),
        pytest.param(1e-7, Decimal("1E-7"), id="json-small-float"),
        pytest.param(Decimal("1.10"), Decimal("1.10"), id="decimal-object"),
    ],
)
def test_decimal_reads(cell: object, want: Decimal) -> None:
    got = coerce(types.DECIMAL, cell)
    assert type(got) is Decimal
    assert got == want
    assert str(got) == str(want)


@pytest.mark.parametrize(
    "cell",
    [
        pytest.param("NaN", id="nan"),
        pytest.param("-nan", id="negative-nan"),
        pytest.param("sNaN", id="signalling-nan"),
        pytest.param("Infinity", id="infinity"),
        pytest.param("-inf", id="negative-inf"),
        pytest.param("1,2", id="short-group"),
        pytest.param("1,2345.5", id="long-group"),
        pytest.param("1.200,50", id="european-decimal-comma"),
        pytest.param("1_000.5", id="python-underscores"),
        pytest.param("1.2.3", id="two-points"),
        pytest.param(".", id="point-alone"),
        pytest.param("$.", id="dollar-point"),
        pytest.param("1/2", id="fraction-slash"),
        pytest.param("12%", id="percent"),
        pytest.param("abc", id="word"),
        pytest.param(True, id="json-true"),
        pytest.param(float("nan"), id="json-nan"),
        pytest.param(float("-inf"), id="json-infinity"),
        pytest.param(Decimal("NaN"), id="nan-decimal-object"),
        pytest.param({"amount": "1.5"}, id="json-object"),
        pytest.param([1.5], id="json-list"),
    ],
)
def test_decimal_refuses(cell: object) -> None:
    error = refusal(types.DECIMAL, cell)
    assert error.value is cell
    assert error.expected == NUMBER


@given(st.decimals(allow_nan=False, allow_infinity=False))
def test_a_decimal_reads_back_from_its_text(d: Decimal) -> None:
    got = coerce(types.DECIMAL, str(d))
    assert got == d
    assert isinstance(got, Decimal)
    assert got.as_tuple() == d.as_tuple()


@given(st.decimals(min_value=-(10**15), max_value=10**15, places=4))
def test_a_decimal_reads_back_with_thousands_and_currency(d: Decimal) -> None:
    grouped = f"{d:,f}"
    for cell in (grouped, f"${grouped}", f"€{grouped}", full_width(grouped), f" {grouped} "):
        assert coerce(types.DECIMAL, cell) == d, cell


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_a_json_float_is_the_decimal_it_prints_as(x: float) -> None:
    assert coerce(types.DECIMAL, x) == Decimal(repr(x))


# string


@pytest.mark.parametrize(
    ("cell", "want"),
    [
        pytest.param("Tanaka", "Tanaka", id="plain"),
        pytest.param("  Tanaka (CFO) \n", "Tanaka (CFO)", id="padded"),
        pytest.param("\u3000田中\u3000", "田中", id="ideographic-spaces"),
        pytest.param("a; b", "a; b", id="separator-kept"),
        pytest.param("１２３", "１２３", id="full-width-kept"),
        pytest.param(12345, "12345", id="json-int-id"),
        pytest.param(1.5, "1.5", id="json-float"),
        pytest.param(True, "true", id="json-true"),
        pytest.param(False, "false", id="json-false"),
    ],
)
def test_string_reads(cell: object, want: str) -> None:
    assert coerce(types.STRING, cell) == want


@pytest.mark.parametrize(
    "cell",
    [
        pytest.param({"name": "Tanaka"}, id="json-object"),
        pytest.param(["Tanaka"], id="json-list"),
    ],
)
def test_string_refuses(cell: object) -> None:
    error = refusal(types.STRING, cell)
    assert error.value is cell
    assert error.expected == TEXT


@given(st.text())
def test_text_is_kept_without_surrounding_whitespace(text: str) -> None:
    assert coerce(types.STRING, text) == (text.strip() or None)


# date


@pytest.mark.parametrize(
    ("cell", "want"),
    [
        pytest.param("2026-12-03", dt.date(2026, 12, 3), id="iso"),
        pytest.param(" 2026-12-03 ", dt.date(2026, 12, 3), id="iso-padded"),
        pytest.param("20261203", dt.date(2026, 12, 3), id="iso-compact"),
        pytest.param("2026/12/03", dt.date(2026, 12, 3), id="slashes"),
        pytest.param("2026/1/5", dt.date(2026, 1, 5), id="slashes-short"),
        pytest.param("2026-1-5", dt.date(2026, 1, 5), id="dashes-short"),
        pytest.param("2026年12月3日", dt.date(2026, 12, 3), id="japanese"),
        pytest.param("2026年 12月 3日", dt.date(2026, 12, 3), id="japanese-spaced"),
        pytest.param("２０２６年１２月３日", dt.date(2026, 12, 3), id="japanese-full-width"),
        pytest.param("２０２６／１２／０３", dt.date(2026, 12, 3), id="full-width-slashes"),
        pytest.param("２０２６-１２-０３", dt.date(2026, 12, 3), id="full-width-iso"),
        pytest.param(str(DEC_3_MS), dt.date(2026, 12, 3), id="milliseconds-text"),
        pytest.param(DEC_3_MS, dt.date(2026, 12, 3), id="milliseconds-json"),
        pytest.param("2026-12-03T14:05:00Z", dt.date(2026, 12, 3), id="iso-datetime"),
        pytest.param("2026-12-03T23:30:00-05:00", dt.date(2026, 12, 4), id="iso-datetime-offset"),
        pytest.param("2026/12/03 14:05", dt.date(2026, 12, 3), id="slashes-with-time"),
        pytest.param("2026年12月3日 14:05", dt.date(2026, 12, 3), id="japanese-with-time"),
        pytest.param(dt.date(2026, 12, 3), dt.date(2026, 12, 3), id="date-object"),
    ],
)
def test_date_reads(cell: object, want: dt.date) -> None:
    got = coerce(types.DATE, cell)
    assert type(got) is dt.date
    assert got == want


@pytest.mark.parametrize(
    "cell",
    [
        pytest.param("2026/2/30", id="no-such-day"),
        pytest.param("2026-13-01", id="no-such-month"),
        pytest.param("2026年2月30日", id="japanese-no-such-day"),
        pytest.param("2026/12/03 25:00", id="no-such-hour"),
        pytest.param("12/03/2026", id="month-first"),
        pytest.param("03.12.2026", id="dotted-day-first"),
        pytest.param("Dec 3, 2026", id="words"),
        pytest.param("tomorrow", id="relative"),
        pytest.param("2026/12-03", id="mixed-separators"),
        pytest.param("1796256000", id="unix-seconds"),
        pytest.param("17962560000000", id="fourteen-digits"),
        pytest.param(True, id="json-true"),
        pytest.param(3.5, id="json-float"),
        pytest.param(10**30, id="json-int-out-of-range"),
        pytest.param({"date": "2026-12-03"}, id="json-object"),
    ],
)
def test_date_refuses(cell: object) -> None:
    error = refusal(types.DATE, cell)
    assert error.value is cell
    assert error.expected == DATE


def test_milliseconds_for_a_date_are_read_in_the_time_zone() -> None:
    evening_utc = DEC_3_MS + 20 * 3_600_000  # 2026-12-03 20:00 UTC is 12-04 05:00 in Tokyo
    assert coerce(types.DATE, evening_utc) == dt.date(2026, 12, 3)
    assert coerce(types.DATE, evening_utc, timezone=JST) == dt.date(2026, 12, 4)
    assert coerce(types.DATE, str(evening_utc), timezone=JST) == dt.date(2026, 12, 4)


def test_an_instant_for_a_date_is_read_in_the_time_zone_and_a_local_time_as_written() -> None:
    assert coerce(types.DATE, "2026-12-03T20:00:00Z", timezone=JST) == dt.date(2026, 12, 4)
    assert coerce(types.DATE, "2026-12-03T20:00:00", timezone=JST) == dt.date(2026, 12, 3)
    assert coerce(types.DATE, "2026/12/03 23:30", timezone=UTC) == dt.date(2026, 12, 3)


@given(st.dates())
def test_every_way_of_writing_a_date_reads_back(day: dt.date) -> None:
    y, m, d = day.year, day.month, day.day
    spellings = [
        day.isoformat(),
        f"{y:04d}/{m:02d}/{d:02d}",
        f"{y:04d}/{m}/{d}",
        f"{y:04d}年{m}月{d}日",
        full_width(f"{y:04d}年{m}月{d}日"),
        f" {day.isoformat()}\u3000",
    ]
    for cell in spellings:
        assert coerce(types.DATE, cell) == day, cell


# datetime


@pytest.mark.parametrize(
    ("cell", "want"),
    [
        pytest.param("2026-12-03T14:05:00Z", dt.datetime(2026, 12, 3, 14, 5, tzinfo=UTC), id="z"),
        pytest.param(
            "2026-12-03T14:05:00+09:00", dt.datetime(2026, 12, 3, 14, 5, tzinfo=JST), id="offset"
        ),
        pytest.param(
            "2026-12-03T14:05:00.000+0000",
            dt.datetime(2026, 12, 3, 14, 5, tzinfo=UTC),
            id="salesforce-offset",
        ),
        pytest.param(
            "2026-12-03T14:05:00.123Z",
            dt.datetime(2026, 12, 3, 14, 5, 0, 123000, tzinfo=UTC),
            id="milliseconds-fraction",
        ),
        pytest.param(
            "2026-12-03 14:05", dt.datetime(2026, 12, 3, 14, 5, tzinfo=UTC), id="iso-space"
        ),
        pytest.param(
            "20261203T1405Z", dt.datetime(2026, 12, 3, 14, 5, tzinfo=UTC), id="iso-compact"
        ),
        pytest.param("2026/12/03 14:05", dt.datetime(2026, 12, 3, 14, 5, tzinfo=UTC), id="slashes"),
        pytest.param(
            "2026/12/03 14:05:30",
            dt.datetime(2026, 12, 3, 14, 5, 30, tzinfo=UTC),
            id="slashes-seconds",
        ),
        pytest.param(
            "2026/1/5 9:05", dt.datetime(2026, 1, 5, 9, 5, tzinfo=UTC), id="slashes-short"
        ),
        pytest.param(
            "2026/12/03 14:05:30.25",
            dt.datetime(2026, 12, 3, 14, 5, 30, 250000, tzinfo=UTC),
            id="slashes-fraction-of-second",
        ),
        pytest.param(
            "2026年12月3日 14:05", dt.datetime(2026, 12, 3, 14, 5, tzinfo=UTC), id="japanese"
        ),
        pytest.param(
            "2026年12月3日14時5分",
            dt.datetime(2026, 12, 3, 14, 5, tzinfo=UTC),
            id="japanese-ji-fun",
        ),
        pytest.param(
            "2026年12月3日 14時5分30秒",
            dt.datetime(2026, 12, 3, 14, 5, 30, tzinfo=UTC),
            id="japanese-ji-fun-byo",
        ),
        pytest.param(
            "２０２６年１２月３日 １４：０５",
            dt.datetime(2026, 12, 3, 14, 5, tzinfo=UTC),
            id="japanese-full-width",
        ),
        pytest.param("2026-12-03", dt.datetime(2026, 12, 3, tzinfo=UTC), id="date-alone"),
        pytest.param("2026/12/03", dt.datetime(2026, 12, 3, tzinfo=UTC), id="slashed-date-alone"),
        pytest.param(str(DEC_3_MS), dt.datetime(2026, 12, 3, tzinfo=UTC), id="milliseconds"),
        pytest.param(DEC_3_MS, dt.datetime(2026, 12, 3, tzinfo=UTC), id="milliseconds-json"),
        # Python's own ISO reader takes these digits for 1701-01-15 20:00.
        pytest.param(
            "1701011512000",
            dt.datetime(2023, 11, 26, 15, 11, 52, tzinfo=UTC),
            id="milliseconds-that-look-like-compact-iso",
        ),
        pytest.param(
            dt.datetime(2026, 12, 3, 14, 5), dt.datetime(2026, 12, 3, 14, 5, tzinfo=UTC), id="naive"
        ),
    ],
)
def test_datetime_reads(cell: object, want: dt.datetime) -> None:
    got = coerce(types.DATETIME, cell)
    assert isinstance(got, dt.datetime)
    assert got.tzinfo is not None
    assert got == want


@pytest.mark.parametrize(
    "cell",
    [
        pytest.param("2026/12/03 24:00", id="hour-24"),
        pytest.param("2026/12/03 14:5", id="one-digit-minute"),
        pytest.param("2026-02-30T10:00:00Z", id="no-such-day"),
        pytest.param("12/3/2026 2:05 PM", id="us-layout"),
        pytest.param("yesterday", id="relative"),
        pytest.param("1796256000", id="unix-seconds"),
        pytest.param("170101151200000", id="fifteen-digits"),
        pytest.param("2026-12-03T14:05:00+25:00", id="offset-out-of-range"),
        pytest.param(True, id="json-true"),
        pytest.param(1.5e12, id="json-float"),
        pytest.param(-(10**20), id="json-int-out-of-range"),
        pytest.param({"at": "2026-12-03"}, id="json-object"),
    ],
)
def test_datetime_refuses(cell: object) -> None:
    error = refusal(types.DATETIME, cell)
    assert error.value is cell
    assert error.expected == DATETIME


def test_a_datetime_without_an_offset_is_read_in_the_time_zone() -> None:
    for cell in ("2026-12-03 14:05", "2026/12/03 14:05", "2026年12月3日 14:05", "2026-12-03T14:05"):
        got = coerce(types.DATETIME, cell, timezone=JST)
        assert got == dt.datetime(2026, 12, 3, 5, 5, tzinfo=UTC), cell


def test_an_offset_or_milliseconds_name_an_instant_whatever_the_time_zone() -> None:
    instant = dt.datetime(2026, 12, 3, 5, 5, tzinfo=UTC)
    assert coerce(types.DATETIME, "2026-12-03T14:05:00+09:00", timezone=UTC) == instant
    assert coerce(types.DATETIME, "2026-12-03T05:05:00Z", timezone=JST) == instant
    millis = DEC_3_MS + (5 * 60 + 5) * 60_000
    assert coerce(types.DATETIME, millis, timezone=JST) == instant
    assert coerce(types.DATETIME, str(millis), timezone=JST) == instant


@needs_zones
def test_a_local_time_is_read_with_daylight_saving_in_a_named_zone() -> None:
    new_york = zoneinfo.ZoneInfo("America/New_York")
    summer = coerce(types.DATETIME, "2026-07-01 09:00", timezone=new_york)
    winter = coerce(types.DATETIME, "2026-12-01 09:00", timezone=new_york)
    assert summer == dt.datetime(2026, 7, 1, 13, tzinfo=UTC)
    assert winter == dt.datetime(2026, 12, 1, 14, tzinfo=UTC)


def zones() -> st.SearchStrategy[dt.tzinfo]:
    fixed = st.integers(-23 * 60 - 59, 23 * 60 + 59).map(
        lambda minutes: dt.timezone(dt.timedelta(minutes=minutes))
    )
    return st.one_of(fixed, st.timezones()) if HAS_ZONES else fixed


moments = st.datetimes(dt.datetime(1900, 1, 1), dt.datetime(2200, 1, 1))


@given(moments, zones(), zones())
def test_an_aware_datetime_reads_back_from_isoformat_as_the_same_instant(
    moment: dt.datetime, zone: dt.tzinfo, reading_zone: dt.tzinfo
) -> None:
    aware = moment.replace(tzinfo=zone)
    got = coerce(types.DATETIME, aware.isoformat(), timezone=reading_zone)
    assert isinstance(got, dt.datetime)
    assert got.astimezone(UTC) == aware.astimezone(UTC)
    assert got.utcoffset() == aware.utcoffset()


@given(moments, zones())
def test_a_local_datetime_reads_back_in_the_time_zone(moment: dt.datetime, zone: dt.tzinfo) -> None:
    y, mo, d, h, mi, s = moment.timetuple()[:6]
    whole_seconds = moment.replace(microsecond=0)
    spellings = {
        moment.isoformat(): moment,
        moment.isoformat(sep=" "): moment,
        f"{y:04d}/{mo:02d}/{d:02d} {h:02d}:{mi:02d}:{s:02d}": whole_seconds,
        f"{y:04d}/{mo}/{d} {h}:{mi:02d}:{s:02d}": whole_seconds,
        f"{y:04d}年{mo}月{d}日 {h}:{mi:02d}:{s:02d}": whole_seconds,
        f"{y:04d}年{mo}月{d}日{h}時{mi}分{s}秒": whole_seconds,
    }
    for cell, local in spellings.items():
        got = coerce(types.DATETIME, cell, timezone=zone)
        assert isinstance(got, dt.datetime)
        assert got.tzinfo is zone, cell
        assert got.replace(tzinfo=None) == local, cell


@given(st.integers(10**12, 10**13 - 1))
def test_thirteen_digit_milliseconds_read_as_the_utc_instant(millis: int) -> None:
    instant = EPOCH + dt.timedelta(milliseconds=millis)
    assert coerce(types.DATETIME, str(millis), timezone=JST) == instant
    assert coerce(types.DATETIME, millis, timezone=JST) == instant
    assert coerce(types.DATE, str(millis), timezone=JST) == instant.astimezone(JST).date()


# list<T>


@pytest.mark.parametrize(
    ("field_type", "cell", "want"),
    [
        pytest.param(LIST_INT, "1;2;3", [1, 2, 3], id="ints"),
        pytest.param(LIST_INT, " 1 ; 2 ", [1, 2], id="padded-items"),
        pytest.param(LIST_INT, "1;;3;", [1, 3], id="empty-items-dropped"),
        pytest.param(LIST_INT, "7", [7], id="one-item"),
        pytest.param(LIST_INT, "¥1,200;１２", [1200, 12], id="items-read-as-their-type"),
        pytest.param(LIST_INT, [1, "2", None, " "], [1, 2], id="json-list"),
        pytest.param(LIST_INT, 5, [5], id="json-lone-value"),
        pytest.param(LIST_STRING, "Sato; Suzuki", ["Sato", "Suzuki"], id="strings"),
        pytest.param(LIST_STRING, ["Sato", 1001], ["Sato", "1001"], id="json-strings"),
        pytest.param(types.list_of(types.BOOL), "yes;いいえ", [True, False], id="bools"),
        pytest.param(
            types.list_of(types.DECIMAL),
            "$1,200.50;0.5",
            [Decimal("1200.50"), Decimal("0.5")],
            id="decimals",
        ),
        pytest.param(
            types.list_of(types.DATE),
            "2026/12/03;2026-12-04",
            [dt.date(2026, 12, 3), dt.date(2026, 12, 4)],
            id="dates",
        ),
    ],
)
def test_list_reads(field_type: Type, cell: object, want: list[object]) -> None:
    assert coerce(field_type, cell) == want


@pytest.mark.parametrize(
    "cell",
    [
        pytest.param(" ; ; ", id="only-separators"),
        pytest.param(";", id="one-separator"),
        pytest.param([None, "", "  "], id="json-list-of-missing"),
        pytest.param([], id="empty-json-list"),
    ],
)
def test_a_list_whose_items_are_all_empty_is_missing(cell: object) -> None:
    assert coerce(LIST_INT, cell) is None
    assert coerce(LIST_STRING, cell) is None


def test_the_separator_can_be_chosen() -> None:
    assert coerce(LIST_STRING, "Sato|Suzuki; Jr.", separator="|") == ["Sato", "Suzuki; Jr."]
    with pytest.raises(ValueError, match="separator"):
        coercer(LIST_STRING, separator="")


def test_a_bad_item_is_named_with_its_cell() -> None:
    error = refusal(LIST_INT, "1; x ;3")
    assert error.value == "x"
    assert error.cell == "1; x ;3"
    assert error.expected == WHOLE
    assert str(error) == 'the item "x" in "1; x ;3" cannot be read as a whole number'


def test_a_bad_item_of_a_json_list_is_named_with_its_list() -> None:
    error = refusal(types.list_of(types.DATE), ["2026-12-03", "soon"])
    assert error.value == "soon"
    assert error.cell == ["2026-12-03", "soon"]
    assert error.expected == DATE


def test_a_json_object_is_not_a_list() -> None:
    error = refusal(LIST_INT, {"a": 1})
    assert error.expected == 'a list of whole numbers separated by ";"'


@given(st.lists(st.integers()))
def test_a_list_of_ints_reads_back_joined_or_as_json(numbers: list[int]) -> None:
    want = numbers or None
    assert coerce(LIST_INT, ";".join(map(str, numbers))) == want
    assert coerce(LIST_INT, " ; ".join(map(str, numbers))) == want
    assert coerce(LIST_INT, numbers) == want


# The error itself


def test_the_error_is_a_value_error_with_plain_words() -> None:
    error = refusal(types.INT, "TBD")
    assert isinstance(error, ValueError)
    assert (error.value, error.expected, error.cell) == ("TBD", WHOLE, None)
    assert str(error) == '"TBD" cannot be read as a whole number'


def test_a_json_value_is_shown_as_json_not_as_python() -> None:
    assert str(refusal(types.INT, True)) == "true cannot be read as a whole number"
    assert str(refusal(types.STRING, {"a": None})) == '{"a": null} cannot be read as text'
    assert "True" not in str(refusal(types.DATE, True))


def test_a_long_value_is_cut_short_in_the_message() -> None:
    error = refusal(types.INT, "x" * 10_000)
    assert len(str(error)) < 120
    assert "…" in str(error)
    assert error.value == "x" * 10_000


def test_the_error_survives_pickling() -> None:
    error = refusal(LIST_INT, "1;x")
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.value, copy.expected, copy.cell, str(copy)) == (
        error.value,
        error.expected,
        error.cell,
        str(error),
    )


def test_a_type_without_a_reading_is_refused_when_the_coercer_is_built() -> None:
    with pytest.raises(ValueError, match="duration"):
        coercer(types.DURATION)


# Robustness: whatever a cell holds, the answer is a value of the field's type, missing, or a
# CoercionError; never another exception.

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20) | st.decimals(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=6,
)

near_misses = st.one_of(
    st.text(),
    st.text("0123456789,.+-¥$円年月日/: T\u3000１２３－，", max_size=16),
    st.from_regex(r"[+-]?[¥$]?\d{1,4}(,\d{1,4})*(\.\d*)?", fullmatch=True),
    st.from_regex(r"\d{4}[/-]\d{1,2}[/-]\d{1,2}( \d{1,2}:\d{2}(:\d{2})?)?", fullmatch=True),
    st.from_regex(r"\d{4}年\d{1,2}月\d{1,2}日( ?\d{1,2}[:時]\d{1,2}分?)?", fullmatch=True),
    st.from_regex(r"\d{8,15}", fullmatch=True),
)


@pytest.mark.parametrize("field_type", EVERY_TYPE, ids=str)
@given(cell=st.one_of(near_misses, json_values))
def test_a_cell_gives_a_typed_value_or_a_coercion_error(field_type: Type, cell: object) -> None:
    try:
        got = coerce(field_type, cell, timezone=JST)
    except CoercionError as error:
        assert error.expected
        assert error.value is cell or error.cell is cell
        return
    assert has_type(got, field_type), repr(got)


@given(near_misses)
def test_spaces_around_a_cell_do_not_change_its_reading(cell: str) -> None:
    for field_type in EVERY_TYPE:
        try:
            plain = coerce(field_type, cell)
        except CoercionError:
            continue
        assert coerce(field_type, f" {cell}\u3000") == plain, field_type
