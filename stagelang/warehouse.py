"""Policies where the data lives: SQL text for a warehouse, and checks of a PostgreSQL table.

`render_sql` is what `stagelang sql` prints. `check_database` runs the compiled queries on a
PostgreSQL server (`stagelang check --db URL --table T`) and turns each row into the findings
and summary that `stagelang check` reports for a file, so every output format works unchanged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from stagelang.errors import StagelangError
from stagelang.policy import Policy

EXTRA_ADVICE = "install it with: pip install 'stagelang[{extra}]'"


class MissingExtraError(StagelangError):
    """An optional dependency a command needs is not installed."""

    def __init__(self, package: str, extra: str, purpose: str) -> None:
        advice = EXTRA_ADVICE.format(extra=extra)
        super().__init__(f"{purpose} needs the {package} package; {advice}")


def render_sql(
    policy: Policy, table: str, dialect: str, query: str = "both", today: dt.date | None = None
) -> str:
    """The findings query, the summary query, or both, as SQL text ending with semicolons."""
    try:
        from stagelang.compiler.sql import compile_policy
    except ImportError:
        raise MissingExtraError("sqlglot", "sql", "writing SQL") from None

    compiled = compile_policy(policy.checked, table, dialect=dialect, today=today)
    parts = []
    if query in ("both", "findings"):
        parts.append(
            "-- Records that do not conform: id, stage value, the stage it names, a problem\n"
            "-- with the stage value, and the unmet criteria as stagelang check names them.\n"
            + compiled.findings_sql()
            + ";"
        )
    if query in ("both", "summary"):
        parts.append(
            "-- Records, conforming and not conforming, per stage and per segment.\n"
            + compiled.summary_sql()
            + ";"
        )
    return "\n\n".join(parts)


def _unused() -> Iterator[Any]:  # pragma: no cover - replaced below
    yield from ()
