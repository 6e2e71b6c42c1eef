"""`extends "global.stage"`: a policy built on another, with diagnostics in the right file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

import stagelang
from stagelang.cli import main
from stagelang.errors import PolicyError

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"
# policies/japan.stage as it was written before it extended global.stage: one file holding
# the whole ladder and the Japan overlays (copied from the repository at commit 0d98488).
FLAT_JAPAN = Path(__file__).parent / "data" / "japan_single_file.stage"

BASE = """\
policy "base"
id field record_id
stage field lifecycle_stage
field need: bool
field engaged_sessions: int

stage MQL "Marketing Qualified Lead" requires engaged_sessions >= 1
  exit when need
stage SQL requires need
"""


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, "utf-8")
    return path


def codes(path: Path, root: Path | None = None) -> list[tuple[str, str]]:
    """(code, file name) of every diagnostic for a policy file."""
    text = path.read_text("utf-8")
    _, found = stagelang.check_source(text, str(path), root=root)
    return [(d.code, Path(d.file).name) for d in found]


def lint(*args: str, cwd: Path) -> tuple[int, str]:
    old = os.getcwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(main, ["lint", "--no-color", *args])
    finally:
        os.chdir(old)
    return result.exit_code, result.stdout


# The bundled policies -------------------------------------------------------------------------


def test_japan_inherits_the_global_ladder_and_adds_its_overlays() -> None:
    japan = stagelang.load(POLICIES / "japan.stage")
    shared = stagelang.load(POLICIES / "global.stage")

    assert japan.name == "japan-b2b"
    assert japan.stages == shared.stages
    assert set(shared.fields) < set(japan.fields)
    assert japan.segments == ("japan",)
    added = set(japan.criteria_in_order()) - set(shared.criteria_in_order())
    assert added == {
        "MQL in japan requires engaged_sessions >= 3",
        "SQL in japan requires count(decision_makers) >= 2",
    }


def test_japan_gives_the_verdicts_of_the_single_file_policy_on_every_example_record() -> None:
    composed = stagelang.load(POLICIES / "japan.stage")
    flat = stagelang.load(FLAT_JAPAN)
    assert composed.criteria_in_order() == flat.criteria_in_order()
    for export in ("contacts.csv", "contacts-cp932.csv", "contacts.jsonl"):
        path = str(ROOT / "examples" / export)
        pairs = zip(composed.check_file(path), flat.check_file(path), strict=True)
        compared = 0
        for left, right in pairs:
            assert [f.message for f in left.findings] == [f.message for f in right.findings]
            assert left.segments == right.segments
            compared += 1
        assert compared >= 299


def test_a_criterion_from_the_extended_file_points_into_that_file() -> None:
    japan = stagelang.load(POLICIES / "japan.stage")
    verdict = japan.check({"lifecycle_stage": "mql", "icp_fit": False, "engaged_sessions": 5})
    (unmet,) = verdict.unmet
    assert unmet.text == "icp_fit"
    assert Path(unmet.span.file or "").name == "global.stage"
    shared = (POLICIES / "global.stage").read_text("utf-8").splitlines()
    line = shared[unmet.span.line - 1]
    assert line[unmet.span.column - 1 : unmet.span.end_column - 1] == "icp_fit"


# Merging -------------------------------------------------------------------------------------


def test_an_extending_policy_adds_clauses_values_and_a_label(tmp_path: Path) -> None:
    write(tmp_path, "base.stage", BASE)
    region = write(
        tmp_path,
        "region.stage",
        'extends "base.stage"\nfield budget: decimal\n\nstage MQL "MQL (region)"\n'
        '  values "mql"\n  requires engaged_sessions >= 2\nstage SQL\n  exit when budget > 0\n',
    )
    policy = stagelang.load(region)

    assert policy.name == "region"  # its file's name: its own `policy` line is missing
    assert policy.checked.stages[0].label == "MQL (region)"
    assert policy.checked.stages[0].values == ("mql",)
    assert policy.criteria_in_order() == [
        "MQL requires engaged_sessions >= 1",
        "MQL requires engaged_sessions >= 2",
        "MQL exit when need",
        "SQL requires need",
        "SQL exit when budget > 0",
    ]
    record = {"lifecycle_stage": "mql", "engaged_sessions": 1}
    assert stagelang.load(tmp_path / "base.stage").check(record).conforms
    assert not policy.check(record).conforms


def test_a_chain_of_three_resolves_each_path_from_its_own_file(tmp_path: Path) -> None:
    write(tmp_path, "shared/base.stage", BASE)
    write(tmp_path, "shared/apac.stage", 'extends "base.stage"\nfield country: string\n')
    leaf = write(
        tmp_path,
        "regions/japan.stage",
        'extends "../shared/apac.stage"\nsegment jp: country == "JP"\n'
        "stage SQL\n  in jp requires engaged_sessions >= 3\n",
    )
    policy = stagelang.load(leaf, root=tmp_path)
    assert policy.criteria_in_order()[-1] == "SQL in jp requires engaged_sessions >= 3"


# Problems ------------------------------------------------------------------------------------


def test_a_mistake_in_the_extended_file_is_reported_there(tmp_path: Path) -> None:
    write(tmp_path, "base.stage", BASE.replace("requires need\n", "requires nede\n"))
    region = write(tmp_path, "region.stage", 'extends "base.stage"\nfield x: int required\n')
    assert codes(region) == [("SL101", "base.stage")]

    code, out = lint("region.stage", cwd=tmp_path)
    assert code == 1
    assert " --> base.stage:9:20" in out
    assert "9 | stage SQL requires nede" in out  # the line shown is the base file's


def test_paths_outside_the_policy_root_are_refused(tmp_path: Path) -> None:
    write(tmp_path, "base.stage", BASE)
    region = write(tmp_path, "sub/region.stage", 'extends "../base.stage"\n')
    assert codes(region) == [("SL121", "region.stage")]
    assert codes(region, root=tmp_path) == []

    absolute = write(tmp_path, "abs.stage", f'extends "{tmp_path / "base.stage"}"\n')
    assert codes(absolute) == [("SL121", "abs.stage")]

    code, out = lint("--policy-root", ".", "sub/region.stage", cwd=tmp_path)
    assert (code, out) == (0, "All checks passed: 1 policy file.\n")


def test_a_symbolic_link_cannot_lead_out_of_the_root(tmp_path: Path) -> None:
    outside = write(tmp_path, "outside/base.stage", BASE)
    inside = tmp_path / "inside"
    inside.mkdir()
    (inside / "base.stage").symlink_to(outside)
    region = write(inside, "region.stage", 'extends "base.stage"\n')
    assert codes(region) == [("SL121", "region.stage")]


def test_cycles_are_an_error_naming_the_chain(tmp_path: Path) -> None:
    write(tmp_path, "a.stage", 'extends "b.stage"\n')
    write(tmp_path, "b.stage", 'extends "c.stage"\n')
    write(tmp_path, "c.stage", 'extends "a.stage"\n')
    _, found = stagelang.check_source((tmp_path / "a.stage").read_text(), str(tmp_path / "a.stage"))
    (cycle,) = found
    assert cycle.code == "SL122"
    assert Path(cycle.file).name == "c.stage"
    assert "a.stage -> b.stage -> c.stage -> a.stage" in cycle.message

    itself = write(tmp_path, "self.stage", 'extends "self.stage"\n')
    assert codes(itself) == [("SL122", "self.stage")]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('extends "missing.stage"', "SL120"),
        ('extends "notes.txt"', "SL120"),
        ('extends "base.stage"\nextends "base.stage"', "SL104"),
        ('extends "base.stage"\nstage Opportunity requires need', "SL123"),
        ('extends "base.stage"\nfield need: bool', "SL104"),
    ],
)
def test_each_problem_has_its_code(tmp_path: Path, line: str, expected: str) -> None:
    write(tmp_path, "base.stage", BASE)
    write(tmp_path, "notes.txt", BASE)
    region = write(tmp_path, "region.stage", line + "\n")
    assert [code for code, _ in codes(region)] == [expected]


def test_an_unknown_stage_suggests_the_inherited_one(tmp_path: Path) -> None:
    write(tmp_path, "base.stage", BASE)
    region = write(tmp_path, "region.stage", 'extends "base.stage"\nstage SQLL\n')
    with pytest.raises(PolicyError) as raised:
        stagelang.load(region)
    (error,) = raised.value.errors
    assert error.help is not None
    assert 'did you mean "SQL"?' in error.help
    assert "(MQL, SQL)" in error.help


def test_a_file_that_cannot_be_read_is_not_shown(tmp_path: Path) -> None:
    # Policy text is untrusted: a path outside the root must not reach the reader at all,
    # or its first line would be printed under the error.
    secret = write(tmp_path, "secret.stage", "the secret is 42\n")
    write(tmp_path, "sub/region.stage", 'extends "../secret.stage"\n')
    code, out = lint("sub/region.stage", cwd=tmp_path)
    assert code == 1
    assert "SL121" in out
    assert "secret is 42" not in out
    assert secret.exists()


def test_an_ignore_comment_silences_only_its_own_file(tmp_path: Path) -> None:
    # global.stage line 3 declares a field no stage uses (SL302); the regional file's line 3
    # has an ignore comment for SL302, which is about its own line 3, not global.stage's.
    write(tmp_path, "global.stage", 'policy "g"\nstage field s\nfield unused: int\nstage A\n')
    regional = write(
        tmp_path,
        "regional.stage",
        'extends "global.stage"\npolicy "r"\nfield country: string  # stagelang: ignore[SL302]\n',
    )
    found = codes(regional)
    assert ("SL302", "global.stage") in found
    assert ("SL302", "regional.stage") not in found
