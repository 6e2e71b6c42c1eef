"""The README's Python example runs and prints what the README says it prints."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_the_python_example_prints_what_its_comments_say(monkeypatch: pytest.MonkeyPatch) -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    block = re.search(r"```python\n(.*?)```", readme, re.DOTALL)
    assert block is not None
    code = block.group(1)
    printed = re.search(r"print\(unmet\)\s+# (.*)", code)
    assert printed is not None

    monkeypatch.chdir(ROOT)
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        exec(compile(code, "README.md", "exec"), {})  # our own documentation, not user input

    assert output.getvalue().splitlines() == [printed.group(1)]


def test_the_quick_start_has_exactly_two_commands() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    section = readme.split("## Quick start", 1)[1].split("##", 1)[0]
    commands = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert commands is not None
    lines = [line for line in commands.group(1).splitlines() if line.strip()]
    assert lines == [
        "python3 -m venv .venv && .venv/bin/pip install '.[test]' && "
        ".venv/bin/stagelang check policies/japan.stage examples/contacts.csv",
        ".venv/bin/python -m pytest",
    ]
