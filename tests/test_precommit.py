"""The pre-commit hooks (.pre-commit-hooks.yaml), run by the real pre-commit tool.

`pre-commit try-repo` installs the hooks from this checkout into a hook environment, as a user's
`.pre-commit-config.yaml` would from the repository's URL, and runs them in a throwaway git
repository holding a good policy, a bad one and one written in a hurry.

try-repo needs this checkout to be a git repository (it clones it, with uncommitted changes to
tracked files). From a tarball the tests are skipped and say why; .ci/run sets
STAGELANG_REQUIRE_PRE_COMMIT=1 so that in CI a skip is a failure instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from stagelang.syntax.formatter import format_source

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / "data"


def _why_not_runnable() -> str | None:
    try:
        import pre_commit  # noqa: F401
    except ImportError:
        return "pre-commit is not installed (it is in the test extra: pip install '.[test]')"
    if shutil.which("git") is None:
        return "git is not installed, and pre-commit needs it"
    inside = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--show-toplevel"],
        capture_output=True,
        text=True,
        check=False,
    )
    if inside.returncode != 0 or Path(inside.stdout.strip()).resolve() != ROOT:
        return "this checkout is not a git repository (a tarball?), and try-repo clones one"
    tracked = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "--error-unmatch", ".pre-commit-hooks.yaml"],
        capture_output=True,
        check=False,
    )
    if tracked.returncode != 0:
        return ".pre-commit-hooks.yaml is not tracked by git, so try-repo cannot see it"
    return None


@pytest.fixture(scope="module")
def runnable() -> None:
    reason = _why_not_runnable()
    if reason is None:
        return
    if os.environ.get("STAGELANG_REQUIRE_PRE_COMMIT"):
        pytest.fail(f"the pre-commit hooks must be tested here, but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def hook_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # One pre-commit cache for the module: the hook environment is built once per revision.
    return tmp_path_factory.mktemp("pre-commit-home")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A throwaway repository: a good policy, a bad one, a messy one and a text file."""
    _git(tmp_path, "init", "--quiet")
    shutil.copy(DATA / "ci.stage", tmp_path / "good.stage")
    shutil.copy(DATA / "misspelled.stage", tmp_path / "bad.stage")
    shutil.copy(DATA / "unformatted.stage", tmp_path / "messy.stage")
    # Not a policy: a hook that looked at it would report syntax errors.
    (tmp_path / "notes.txt").write_text("stage requires ((( not a policy\n", encoding="utf-8")
    _git(tmp_path, "add", ".")
    return tmp_path


def _git(folder: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(folder), *args], check=True, capture_output=True)


def try_repo(repo: Path, home: Path, hook: str, *files: str) -> tuple[int, str]:
    selection = ["--files", *files] if files else ["--all-files"]
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "NO_COLOR": "1"}
    env.pop("PRE_COMMIT", None)
    done = subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(ROOT), hook, *selection],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=False,
        timeout=600,
    )
    return done.returncode, done.stdout + done.stderr


@pytest.mark.usefixtures("runnable")
def test_lint_hook_rejects_the_bad_policy(repo: Path, hook_home: Path) -> None:
    code, out = try_repo(repo, hook_home, "stagelang-lint", "good.stage", "bad.stage")
    assert code == 1, out
    assert "stagelang lint" in out and "Failed" in out
    assert "error[SL101]" in out and "--> bad.stage:11:13" in out
    assert "good.stage" not in out.split("Failed", 1)[1]


@pytest.mark.usefixtures("runnable")
def test_lint_hook_passes_the_good_policy_and_ignores_other_files(
    repo: Path, hook_home: Path
) -> None:
    (repo / "bad.stage").unlink()
    _git(repo, "add", "--all")
    code, out = try_repo(repo, hook_home, "stagelang-lint")  # --all-files: notes.txt too
    assert code == 0, out
    assert "stagelang lint" in out and "Passed" in out


@pytest.mark.usefixtures("runnable")
def test_fmt_hook_fails_when_it_rewrites_and_passes_after(repo: Path, hook_home: Path) -> None:
    messy = repo / "messy.stage"
    before = messy.read_text(encoding="utf-8")

    code, out = try_repo(repo, hook_home, "stagelang-fmt", "messy.stage", "good.stage")
    assert code == 1, out
    assert "files were modified by this hook" in out
    assert messy.read_text(encoding="utf-8") == format_source(before, "messy.stage")
    assert (repo / "good.stage").read_bytes() == (DATA / "ci.stage").read_bytes()

    code, out = try_repo(repo, hook_home, "stagelang-fmt", "messy.stage", "good.stage")
    assert code == 0, out
    assert "Passed" in out
