"""Command-line options that several commands share, spelt once so they cannot drift apart."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]

timezone_option: Decorator = click.option(
    "--timezone",
    "zone_name",
    default="UTC",
    show_default=True,
    help="Zone for datetimes written without an offset, e.g. Asia/Tokyo or +09:00.",
)

encoding_option: Decorator = click.option(
    "--encoding", help="The input's encoding (default: detected), e.g. cp932."
)


def as_of_option(meaning: str) -> Decorator:
    """`--as-of YYYY-MM-DD`; `meaning` says what the date stands for in this command."""
    return click.option("--as-of", type=click.DateTime(formats=["%Y-%m-%d"]), help=meaning)


def limit_option(what: str) -> Decorator:
    """`--limit N`, how many examples to show; `what` says of what."""
    return click.option(
        "--limit", type=click.IntRange(min=0), default=10, show_default=True, help=what
    )
