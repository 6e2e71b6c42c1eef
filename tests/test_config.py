"""Configuration (stagelang.toml, [tool.stagelang]) and `# stagelang: ignore[CODE]` comments."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from stagelang import check_source
from stagelang.cli import main
from stagelang.config import Config, ConfigError, config_for, find_config, load_config
from stagelang.rules import RULES

DATA = Path(__file__).resolve().parent / "data"

# warnings.stage has two warnings: SL301 on line 6 and SL302 on line 4.
WARNINGS = (DATA / "warnings.stage").read_text(encoding="utf-8")


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder with policies/main.stage and policies/legacy/old.stage."""
    (tmp_path / "policies" / "legacy").mkdir(parents=True)
    shutil.copy(DATA / "warnings.stage", tmp_path / "policies" / "main.stage")
    shutil.copy(DATA / "warnings.stage", tmp_path / "policies" / "legacy" / "old.stage")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def codes_in(out: str) -> list[str]:
    return [line.split("]")[0].split("[")[1] for line in out.splitlines() if "warning[" in line]


# Finding the file


def test_the_nearest_file_upwards_wins(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.stagelang]\nfail-on = "warning"\n')
    assert find_config(project / "policies" / "legacy") == project / "pyproject.toml"
    (project / "policies" / "stagelang.toml").write_text("")
    assert find_config(project / "policies" / "legacy") == project / "policies" / "stagelang.toml"
    assert find_config(project / "policies" / "main.stage") == (
        project / "policies" / "stagelang.toml"
    )


def test_stagelang_toml_wins_over_pyproject_in_the_same_folder(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.stagelang]\nfail-on = "warning"\n')
    (project / "stagelang.toml").write_text('fail-on = "error"\n')
    assert config_for(project).fail_on == "error"


def test_a_pyproject_without_our_table_is_passed_over(project: Path) -> None:
    (project / "pyproject.toml").write_text("[tool.ruff]\nline-length = 100\n")
    (project / "policies" / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    found = find_config(project / "policies")
    assert found is None or project not in found.parents


# Checking the file


def test_an_unknown_key_names_the_file_and_the_allowed_keys(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.stagelang]\nignor = ["SL302"]\n')
    code, _, err = run("lint", "policies")
    assert code == 2
    assert 'pyproject.toml: [tool.stagelang]: unknown key "ignor" (did you mean "ignore"?)' in err
    assert "the keys allowed are fail-on, ignore, paths, per-file-ignores, select" in err


def test_wrong_types_and_values_are_each_reported(project: Path) -> None:
    (project / "stagelang.toml").write_text('select = "SL3"\nfail-on = "fatal"\n')
    with pytest.raises(ConfigError) as raised:
        load_config(project / "stagelang.toml")
    message = str(raised.value)
    assert 'select: "SL3" should be a list' in message
    assert 'fail-on: "fatal" is not allowed; use "error" or "warning"' in message


def test_broken_toml_is_an_error_with_the_file(project: Path) -> None:
    (project / "stagelang.toml").write_text("select = [\n")
    code, _, err = run("lint", "policies")
    assert code == 2
    assert "stagelang.toml: not valid TOML" in err


def test_unknown_and_unignorable_codes_are_warnings(project: Path) -> None:
    (project / "stagelang.toml").write_text('ignore = ["SL999", "SL101", "SL501", "SL302"]\n')
    config = load_config(project / "stagelang.toml")
    assert config.ignore == ("SL101", "SL501", "SL302")
    assert len(config.warnings) == 3
    assert '"SL999" is not a rule code' in config.warnings[0]
    assert "SL101 (unknown-field) is an error, and errors are always reported" in config.warnings[1]
    assert "SL501 (unmet-criterion) is about records" in config.warnings[2]
    code, _, err = run("lint", "policies")
    assert 'stagelang: warning: stagelang.toml: ignore: "SL999" is not a rule code' in err
    assert code == 0


# What the settings do


def test_paths_are_the_default_of_lint_and_fmt(project: Path) -> None:
    code, _, err = run("lint")
    assert code == 2 and "name the policy files or folders, or set paths" in err
    (project / "stagelang.toml").write_text('paths = ["policies/legacy"]\n')
    code, out, _ = run("lint")
    assert out.endswith("Found 2 warnings in 1 policy file.\n")
    assert "policies/legacy/old.stage" in out and "main.stage" not in out
    code, out, _ = run("fmt", "--check")
    assert code == 1 and out.startswith("would reformat policies/legacy/old.stage\n")
    assert "main.stage" not in out


def test_paths_are_relative_to_the_configuration_file(project: Path) -> None:
    (project / "stagelang.toml").write_text('paths = ["policies/legacy"]\n')
    config = load_config(project / "stagelang.toml")
    (project / "elsewhere").mkdir()
    assert Path(config.policy_paths()[0]).resolve() == project / "policies" / "legacy"


def test_select_ignore_and_per_file_ignores(project: Path) -> None:
    _, out, _ = run("lint", "policies")
    assert sorted(codes_in(out)) == ["SL301", "SL301", "SL302", "SL302"]

    (project / "stagelang.toml").write_text('select = ["SL30"]\nignore = ["unused-field"]\n')
    _, out, _ = run("lint", "policies")
    assert codes_in(out) == ["SL301", "SL301"]

    (project / "stagelang.toml").write_text('[per-file-ignores]\n"legacy/*.stage" = ["SL3"]\n')
    _, out, _ = run("lint", "policies")
    assert codes_in(out) == ["SL302", "SL301"]
    assert "legacy" not in out


def test_fail_on_from_the_configuration_and_the_option_wins(project: Path) -> None:
    assert run("lint", "policies")[0] == 0
    (project / "pyproject.toml").write_text('[tool.stagelang]\nfail-on = "warning"\n')
    assert run("lint", "policies")[0] == 1
    assert run("lint", "policies", "--fail-on", "error")[0] == 0


def test_errors_cannot_be_ignored(project: Path) -> None:
    shutil.copy(DATA / "misspelled.stage", project / "policies" / "broken.stage")
    (project / "stagelang.toml").write_text('ignore = ["SL"]\n')
    code, out, _ = run("lint", "policies")
    assert code == 1
    assert "error[SL101]" in out and "warning[" not in out


def test_an_explicit_config_is_used_and_a_missing_one_is_an_error(project: Path) -> None:
    (project / "other.toml").write_text('ignore = ["SL3"]\n')
    code, out, _ = run("lint", "policies", "--config", "other.toml")
    assert code == 0 and out == "All checks passed: 2 policy files.\n"
    code, _, err = run("lint", "policies", "--config", "nowhere.toml")
    assert code == 2 and "nowhere.toml: cannot read the configuration" in err


@given(st.sampled_from(sorted(RULES)), st.sampled_from(sorted(RULES)))
def test_a_code_is_reported_unless_selected_away_or_ignored(code: str, other: str) -> None:
    from stagelang.diagnostics import Diagnostic, Span

    diagnostic = Diagnostic(code, RULES[code].severity, "m", Span.point(1, 1), "p.stage")
    error = diagnostic.is_error
    assert Config().reports(diagnostic)
    assert Config(ignore=(code,)).reports(diagnostic) is error
    assert Config(select=(other,)).reports(diagnostic) is (error or code == other)
    assert Config(select=(code,), ignore=(code[:3],)).reports(diagnostic) is error


# Inline suppressions


def _codes(source: str) -> list[tuple[str, int]]:
    _, diagnostics = check_source(source, "p.stage")
    return [(d.code, d.span.line) for d in diagnostics]


def test_a_comment_silences_its_line_only() -> None:
    assert _codes(WARNINGS) == [("SL302", 4), ("SL301", 6)]
    lines = WARNINGS.splitlines()
    lines[3] += "  # stagelang: ignore[SL302]"
    assert _codes("\n".join(lines) + "\n") == [("SL301", 6)]
    lines[3] = lines[3].replace("[SL302]", "[sl301, SL302]")
    assert _codes("\n".join(lines) + "\n") == [("SL301", 6)]


def test_a_comment_on_another_line_silences_nothing() -> None:
    lines = WARNINGS.splitlines()
    lines.insert(3, "# stagelang: ignore[SL302]")
    assert _codes("\n".join(lines) + "\n") == [("SL302", 5), ("SL301", 7)]


def test_bad_suppressions_are_warnings_at_the_code() -> None:
    lines = WARNINGS.splitlines()
    lines[3] += " # stagelang: ignore[SL302, SL3O2, SL101]"
    _, diagnostics = check_source("\n".join(lines) + "\n", "p.stage")
    found = [(d.code, d.span.line, d.span.column, d.message) for d in diagnostics]
    column = lines[3].index("SL3O2") + 1
    assert found == [
        ("SL601", 4, column, '"SL3O2" is not a rule code of policies, so it silences nothing'),
        (
            "SL601",
            4,
            lines[3].index("SL101") + 1,
            "SL101 (unknown-field) is an error, and errors cannot be silenced",
        ),
        ("SL301", 6, 7, 'stage "見込み客" has no exit criterion'),
    ]


def test_a_misspelt_code_is_offered_only_warnings() -> None:
    lines = WARNINGS.splitlines()
    lines[3] += " # stagelang: ignore[SL3O7]"  # nearest code SL307 is an error
    _, diagnostics = check_source("\n".join(lines) + "\n", "p.stage")
    helps = [d.help for d in diagnostics if d.code == "SL601"]
    assert helps == ['did you mean "SL308"?']  # the nearest warning, not SL307


def test_a_suppression_naming_nothing_is_a_warning() -> None:
    lines = WARNINGS.splitlines()
    lines[3] += " # stagelang: ignore"
    assert ("SL601", 4) in _codes("\n".join(lines) + "\n")
    assert ("SL302", 4) in _codes("\n".join(lines) + "\n")


def test_a_marker_inside_quoted_text_is_not_a_comment() -> None:
    source = WARNINGS.replace(
        "field spare: int", 'field spare: int from "x # stagelang: ignore[SL302]"'
    )
    assert ("SL302", 4) in _codes(source)


def test_errors_cannot_be_silenced_inline() -> None:
    source = (DATA / "misspelled.stage").read_text(encoding="utf-8")
    lines = source.splitlines()
    lines[10] += "  # stagelang: ignore[SL101]"
    assert ("SL101", 11) in _codes("\n".join(lines) + "\n")
