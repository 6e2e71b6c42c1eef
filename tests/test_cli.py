"""The command line: output people read (golden files), JSON for tools, and exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from stagelang import __version__
from stagelang.cli import main

HERE = Path(__file__).resolve().parent
GOLDEN = HERE / "golden"
ROOT = HERE.parent


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def assert_golden(name: str, text: str) -> None:
    """Compare with tests/golden/NAME; STAGELANG_UPDATE_GOLDEN=1 rewrites the file instead."""
    path = GOLDEN / name
    if os.environ.get("STAGELANG_UPDATE_GOLDEN"):
        path.write_text(text, "utf-8")
    assert text == path.read_text("utf-8")


@pytest.fixture(autouse=True)
def in_tests_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(HERE)  # so that the paths in the output are short and stable


def test_the_bundled_policies_lint_clean() -> None:
    code, out, _ = run("lint", str(ROOT / "policies"))
    assert code == 0
    assert out == "All checks passed: 3 policy files.\n"


def test_errors_in_two_files_are_all_reported_in_one_run() -> None:
    code, out, _ = run("lint", "data/misspelled.stage", "data/syntax.stage", "--no-color")
    assert code == 1
    assert_golden("lint_two_files.txt", out)


def test_json_output_has_one_object_per_diagnostic() -> None:
    code, out, _ = run("lint", "data/misspelled.stage", "data/syntax.stage", "--format", "json")
    assert code == 1
    diagnostics = json.loads(out)
    assert [(d["file"], d["line"], d["column"], d["code"]) for d in diagnostics] == [
        ("data/misspelled.stage", 11, 13, "SL101"),
        ("data/misspelled.stage", 14, 12, "SL201"),
        ("data/syntax.stage", 6, 28, "SL001"),
    ]
    assert set(diagnostics[0]) == {
        "file",
        "line",
        "column",
        "end_line",
        "end_column",
        "severity",
        "code",
        "message",
        "help",
    }
    assert_golden("lint_two_files.json", out)


def test_warnings_pass_unless_fail_on_warning() -> None:
    code, out, _ = run("lint", "data/warnings.stage", "--no-color")
    assert code == 0
    assert_golden("lint_warnings.txt", out)
    code, _, _ = run("lint", "data/warnings.stage", "--fail-on", "warning")
    assert code == 1


def test_a_missing_path_is_a_usage_error() -> None:
    code, _, err = run("lint", "data/nope.stage")
    assert code == 2
    assert "data/nope.stage: no such file or folder" in err


def test_a_folder_without_policies_is_not_a_pass(tmp_path: Path) -> None:
    code, _, err = run("lint", str(tmp_path))
    assert code == 2
    assert "no .stage files in this folder" in err


def test_no_paths_is_a_usage_error() -> None:
    code, _, err = run("lint")
    assert code == 2
    assert "name the policy files or folders, or set paths" in err


def test_version() -> None:
    code, out, _ = run("--version")
    assert (code, out) == (0, f"stagelang, version {__version__}\n")


def test_help_shows_examples() -> None:
    code, out, _ = run("--help")
    assert code == 0
    assert "stagelang lint policies/" in out


def test_the_installed_command_works_outside_the_checkout(tmp_path: Path) -> None:
    # Run from an empty folder, so the grammar must come from the installed package.
    target = tmp_path / "p.stage"
    target.write_text((ROOT / "policies" / "japan.stage").read_text("utf-8"), "utf-8")
    shared = (ROOT / "policies" / "global.stage").read_text("utf-8")
    (tmp_path / "global.stage").write_text(shared, "utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "stagelang", "lint", "p.stage"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONPATH": ""},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "All checks passed: 1 policy file.\n"
