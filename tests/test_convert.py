"""Property test: the generated row converter reads cells exactly as the coercers do."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from stagelang.analysis import types
from stagelang.records.coerce import CoercionError, coercer
from stagelang.records.convert import Column, compile_row_converter

TYPES = [
    types.STRING,
    types.BOOL,
    types.INT,
    types.DECIMAL,
    types.DATE,
    types.DATETIME,
    types.list_of(types.STRING),
    types.list_of(types.INT),
]
COLUMNS = [Column(f"f{index}", kind, index, coercer(kind)) for index, kind in enumerate(TYPES)]
CONVERT = compile_row_converter(COLUMNS)

# Cells near every fast path and every way out of it.
cells = st.one_of(
    st.sampled_from(
        [
            "",
            " ",
            "true",
            "FALSE",
            "yes",
            "はい",
            "1",
            "０",
            "12",
            " 12 ",
            "-3",
            "1,200",
            "¥1,200",
            "\\1,200",
            "3.0",
            "1.5",
            "1_000",
            "²",
            "٣",
            "abc",
            "2026-12-03",
            "2026/12/03",
            "2026-12-03T10:00:00Z",
            "a;b",
            " a ; ;b ",
        ]
    ),
    st.text(max_size=6),
)


def expected(cells_in_row: list[str]) -> tuple[dict[str, object], set[str]]:
    record: dict[str, object] = {}
    bad: set[str] = set()
    for column, cell in zip(COLUMNS, cells_in_row, strict=True):
        try:
            record[column.field] = column.convert(cell)
        except CoercionError:
            record[column.field] = None
            bad.add(column.field)
    return record, bad


@given(st.lists(cells, min_size=len(COLUMNS), max_size=len(COLUMNS)))
def test_generated_converter_matches_the_coercers(row: list[str]) -> None:
    record, bad = CONVERT(row)
    want_record, want_bad = expected(row)
    assert record == want_record
    assert set(bad or ()) == want_bad
