"""The examples in the public docstrings run and print what they say."""

from __future__ import annotations

import doctest
import os
from types import ModuleType

import pytest

import stagelang.diagnostics
import stagelang.policy

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.mark.parametrize(
    "module", [stagelang.policy, stagelang.diagnostics], ids=lambda m: m.__name__
)
def test_docstring_examples(module: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0
    assert result.failed == 0
