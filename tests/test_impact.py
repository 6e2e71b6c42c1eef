"""`stagelang impact OLD NEW DATA`: what a policy change does to the records of an export."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import stagelang
from stagelang.cli import main
from stagelang.impact import compare

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
GOLDEN = HERE / "golden"
POLICY = "tests/data/ci.stage"
EXPORT = "tests/data/ci_export.csv"
AS_OF = dt.date(2026, 12, 3)
JAPAN_RULE = "in japan requires engaged_sessions >= 3"


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner(env=env).invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def variant(tmp_path: Path, japan_sessions: int, name: str = "new.stage") -> str:
    """The test policy with another threshold for japan MQLs."""
    text = (ROOT / POLICY).read_text("utf-8")
    path = tmp_path / name
    path.write_text(
        text.replace(JAPAN_RULE, f"in japan requires engaged_sessions >= {japan_sessions}"),
        "utf-8",
    )
    return str(path)


@pytest.fixture(autouse=True)
def in_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)


def test_a_looser_rule_lets_a_record_pass_and_says_why_it_failed(tmp_path: Path) -> None:
    code, out, err = run(
        "impact", POLICY, variant(tmp_path, 2), EXPORT, "--as-of", "2026-12-03", "--format", "json"
    )

    assert code == 0, err
    found = json.loads(out)
    assert found["totals"] == {
        "records": 7,
        "newly_failing": 0,
        "newly_passing": 1,
        "qualifying_changed": 1,
    }
    (passing,) = found["examples"]["newly passing"]
    assert (passing["line"], passing["id"], passing["stage"]) == (3, "2", "MQL")
    assert passing["reasons"] == [
        "MQL in japan requires engaged_sessions >= 3, but engaged_sessions = 2"
    ]
    assert (passing["old_qualifying"], passing["new_qualifying"]) == ("Subscriber", "MQL")
    assert found["by_segment"]["japan"]["newly_passing"] == 1
    assert found["by_stage"]["MQL"]["newly_passing"] == 1
    assert found["unreadable"] == 1


def test_markdown_for_a_pull_request(tmp_path: Path) -> None:
    new = variant(tmp_path, 2)
    _, out, _ = run("impact", new, POLICY, EXPORT, "--as-of", "2026-12-03", "--format", "markdown")

    assert_golden("impact_small.md", out.replace(new, "new.stage"))


def test_github_appends_the_summary_and_writes_a_notice(tmp_path: Path) -> None:
    old = variant(tmp_path, 2, "old.stage")
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n", "utf-8")
    env = {"GITHUB_STEP_SUMMARY": str(summary)}

    code, out, _ = run("impact", old, POLICY, EXPORT, "--format", "github", env=env)

    assert code == 0
    assert out.splitlines() == [
        "::warning title=stagelang impact::Of 7 records, 1 newly fail, 0 newly pass, 1 change "
        "their qualifying stage; 1 row could not be read and was not compared."
    ]
    written = summary.read_text("utf-8")
    assert written.startswith("earlier step\n### Policy change:")
    assert "| 3 | tests/data/ci_export.csv:4 | MQL |" not in written, "line 4 failed before too"
    assert "| 2 | tests/data/ci_export.csv:3 | MQL | now fails: MQL in japan requires" in written


def test_without_a_job_summary_github_writes_the_markdown_to_standard_output(
    tmp_path: Path,
) -> None:
    code, out, _ = run("impact", variant(tmp_path, 2), POLICY, EXPORT, "--format", "github", env={})

    assert code == 0
    assert out.startswith("### Policy change:")
    assert out.rstrip().splitlines()[-1].startswith("::warning title=stagelang impact::")


def test_fail_on_new_failures(tmp_path: Path) -> None:
    looser = variant(tmp_path, 2)

    assert run("impact", looser, POLICY, EXPORT, "--fail-on-new-failures")[0] == 1
    assert run("impact", POLICY, looser, EXPORT, "--fail-on-new-failures")[0] == 0


def test_the_same_policy_changes_nothing() -> None:
    code, out, _ = run("impact", POLICY, POLICY, EXPORT, "--no-color")

    assert code == 0
    assert out.rstrip().endswith(
        "No change: all 7 records have the same verdicts; 1 row could not be read and was not "
        "compared."
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("-",), "cannot read standard input (-)"),
        (("tests/data/nowhere.csv",), "nowhere.csv"),
    ],
)
def test_inputs_it_cannot_compare_are_usage_errors(args: tuple[str, ...], expected: str) -> None:
    code, out, err = run("impact", POLICY, POLICY, *args)

    assert code == 2
    assert out == ""
    assert expected in err
    assert "Traceback" not in err


def test_a_column_only_the_new_policy_needs_is_named(tmp_path: Path) -> None:
    text = (ROOT / POLICY).read_text("utf-8") + "field owner_email: string\n"
    new = tmp_path / "new.stage"
    new.write_text(text, "utf-8")

    code, _, err = run("impact", POLICY, str(new), EXPORT)

    assert code == 2
    assert "owner_email" in err and "ci_export.csv" in err


def test_a_new_policy_with_errors_is_refused(tmp_path: Path) -> None:
    broken = tmp_path / "broken.stage"
    broken.write_text((ROOT / POLICY).read_text("utf-8").replace("budget > 0", "budgt > 0"))

    code, _, err = run("impact", POLICY, str(broken), EXPORT)

    assert code == 2
    assert "budgt" in err


def assert_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("STAGELANG_UPDATE_GOLDEN"):
        path.write_text(text, "utf-8")
    assert text == path.read_text("utf-8")


# Invariants, over thresholds on the bundled example

JAPAN = (ROOT / "policies" / "japan.stage").read_text("utf-8")
EXAMPLE = str(ROOT / "examples" / "contacts.csv")


def japan_with(sessions: int) -> stagelang.Policy:
    text = JAPAN.replace(
        "in japan requires engaged_sessions >= 3",
        f"in japan requires engaged_sessions >= {sessions}",
    )
    return stagelang.loads(text, str(ROOT / "policies" / "japan.stage"))


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 6), st.integers(0, 6))
def test_swapping_the_policies_swaps_newly_failing_and_newly_passing(a: int, b: int) -> None:
    forward = compare(japan_with(a), japan_with(b), [EXAMPLE], as_of=AS_OF)
    backward = compare(japan_with(b), japan_with(a), [EXAMPLE], as_of=AS_OF)

    assert forward.totals.newly_failing == backward.totals.newly_passing
    assert forward.totals.newly_passing == backward.totals.newly_failing
    assert forward.totals.qualifying_changed == backward.totals.qualifying_changed
    assert forward.records == backward.records == 299
    if a == b:
        assert not forward.changed
    if a < b:  # a stricter japan rule never lets a record pass, and only touches japan
        assert forward.totals.newly_passing == 0
        japan = forward.by_segment["japan"]
        assert japan.newly_failing == forward.totals.newly_failing
        assert japan.qualifying_changed == forward.totals.qualifying_changed


def test_counts_agree_with_checking_each_policy_on_its_own() -> None:
    old, new = japan_with(3), japan_with(5)
    found = compare(old, new, [EXAMPLE], as_of=AS_OF, limit=1000)

    before = {r.line: r.conforms for r in old.check_file(EXAMPLE, as_of=AS_OF) if r.record}
    after = {r.line: r.conforms for r in new.check_file(EXAMPLE, as_of=AS_OF) if r.record}
    newly_failing = {line for line in before if before[line] and not after[line]}
    assert {c.line for c in found.examples["newly failing"]} == newly_failing
    assert found.totals.newly_failing == len(newly_failing) > 0


def test_text_output(tmp_path: Path) -> None:
    old = variant(tmp_path, 2, "old.stage")
    _, out, _ = run("impact", old, POLICY, EXPORT, "--as-of", "2026-12-03", "--no-color")

    assert_golden("impact_small.txt", out.replace(old, "old.stage"))
