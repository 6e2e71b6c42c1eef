"""Policy text is untrusted: nothing an author writes may run as Python."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import stagelang

HOSTILE_TEXTS = [
    "'); __import__('os').system('touch {marker}'); ('",
    '\\"); __import__("os").system("touch {marker}"); ("',
    "\\n__import__('os').system('touch {marker}')\\n",
    "{{__import__('os').system('touch {marker}')}}",
    "' + str(__import__('os').system('touch {marker}')) + '",
]

# What generated code may name: its own parameters and temporaries, and what it is given.
_ALLOWED_NAMES = re.compile(
    r"^(r|today|rank|bool|len|_v\d+|_f\d+|_k\d+|_in_\d+|_ranks|_conforming\d+|_not_conforming"
    r"|_fallback|_today|_sparse|_explain|_names|_dict|_StagelangError|_KeyError|_error\d+)$"
)


def hostile_policy(text: str) -> stagelang.Policy:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return stagelang.loads(
        "id field record_id\n"
        "stage field lifecycle_stage\n"
        "field country: string\n"
        f'segment odd: country == "{escaped}"\n'
        f'stage Lead "{escaped}"\n'
        f'  values "{escaped}", "lead"\n'
        f'  requires country in ["{escaped}", "JP"]\n'
        f'  in odd requires country contains "{escaped}"\n',
        "hostile.stage",
    )


@pytest.mark.parametrize("template", HOSTILE_TEXTS, ids=range(len(HOSTILE_TEXTS)))
def test_text_that_looks_like_code_stays_text(template: str, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    text = template.format(marker=marker)
    policy = hostile_policy(text)

    assert policy.check({"lifecycle_stage": "lead", "country": "JP"}).conforms
    assert policy.check({"lifecycle_stage": text, "country": text}).conforms
    assert not policy.check({"lifecycle_stage": "lead", "country": "US"}).conforms
    assert policy.qualify({"country": text}) == "Lead"
    assert not marker.exists()


def _names_in_generated_code(policy: stagelang.Policy) -> set[str]:
    names: set[str] = set()
    functions = [policy._check, policy._qualify, policy._segments, *policy._tests.values()]
    for function in functions:
        tree = ast.parse(function.__stagelang_source__)  # type: ignore[attr-defined]
        for node in ast.walk(tree):
            if isinstance(node, ast.Name):
                names.add(node.id)
            elif isinstance(node, ast.Attribute):
                names.add("." + node.attr)
            elif isinstance(node, ast.FunctionDef):
                names.add(node.name)
    return names


@pytest.mark.parametrize("template", HOSTILE_TEXTS, ids=range(len(HOSTILE_TEXTS)))
def test_generated_code_names_only_its_own_machinery(template: str) -> None:
    names = _names_in_generated_code(hostile_policy(template.format(marker="/x")))
    unexpected = {
        n
        for n in names
        if not _ALLOWED_NAMES.match(n)
        and n not in {".get", ".copy", "check", "qualify", "segments", "found"}
        and not n.startswith("criterion")
    }
    assert unexpected == set()


@given(st.text(max_size=40))
def test_any_text_constant_round_trips_through_the_generated_code(text: str) -> None:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    policy = stagelang.loads(
        "id field record_id\nstage field lifecycle_stage\nfield note: string\n"
        f'stage Lead requires note == "{escaped}"\n',
        "t.stage",
    )
    assert policy.check({"lifecycle_stage": "lead", "note": text}).conforms is (text != "")
    assert not policy.check({"lifecycle_stage": "lead", "note": text + "x"}).conforms


def test_field_names_are_never_python_names() -> None:
    # A field may be called like a Python builtin; it is still only read from the record.
    policy = stagelang.loads(
        "id field record_id\nstage field lifecycle_stage\nfield exec: bool\nfield __import__: int\n"
        "stage Lead requires exec and __import__ >= 1\n",
        "t.stage",
    )
    assert policy.check({"lifecycle_stage": "lead", "exec": True, "__import__": 2}).conforms
    assert "exec" not in _names_in_generated_code(policy)
