"""Small builders shared by the tests."""

from __future__ import annotations

import textwrap

import stagelang
from stagelang.diagnostics import Diagnostic

HEADER = """\
id field record_id
stage field lifecycle_stage
"""


def policy(body: str) -> stagelang.Policy:
    """A policy from the given declarations, with the id and stage fields already declared."""
    return stagelang.loads(HEADER + textwrap.dedent(body), "test.stage")


def diagnostics(text: str) -> list[Diagnostic]:
    """Every diagnostic for a policy text (no header added)."""
    _, found = stagelang.check_source(textwrap.dedent(text), "test.stage")
    return found


def codes(text: str) -> list[str]:
    return [d.code for d in diagnostics(text)]
