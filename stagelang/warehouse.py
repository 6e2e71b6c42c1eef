"""Policies where the data lives: SQL text for a warehouse.

`render_sql` is what `stagelang sql` prints: the findings query and the summary query of
`stagelang.compiler.sql`, with a comment saying what each returns. It needs the `sql` extra.
"""

from __future__ import annotations

import datetime as dt

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
