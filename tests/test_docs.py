"""The language reference, docs/language.md, checked against the tool it describes.

Conventions the reference follows (and these tests rely on):
- each rule code has a section opened by `<a id="sl101"></a>`, holding one ```stage block
  that triggers exactly that code and, right after it, a ```text block with the output of
  `stagelang lint --no-color example.stage`;
- every other ```stage block is a complete policy that checks without errors; fragments sit
  in plain ``` blocks;
- the tour shows policies/japan.stage as it is, and the grammar section copies the .lark file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

import stagelang
from stagelang.cli import main
from stagelang.diagnostics import Severity
from stagelang.rules import RULES

ROOT = Path(__file__).parent.parent
DOC = ROOT / "docs" / "language.md"
GRAMMAR = ROOT / "stagelang" / "grammar" / "stagelang.lark"
TOUR_POLICY = ROOT / "policies" / "japan.stage"
TOUR_BASE = ROOT / "policies" / "global.stage"
# Valid examples are checked as if they sat beside the bundled policies, so that the tour's
# `extends "global.stage"` finds its file.
EXAMPLE_FILE = str(ROOT / "policies" / "example.stage")
# A rule example that needs a second file (the policy an `extends` names) gives it in a
# ```stage block whose first line is `# file: NAME.stage`; it is written beside the example.
_SIDE_FILE = re.compile(r"^# file: ([\w.-]+\.stage)\n")

RULES_HEADING = "## Rule codes"
_FENCE = re.compile(r"^```(\w*)\s*$")
_ANCHOR = re.compile(r'<a id="(sl\d{3})"></a>')
_HEADING = re.compile(r"^(#{1,6}) (.+)$")
_LINK = re.compile(r"\]\(#([^)\s]+)\)")


@dataclass(frozen=True)
class Block:
    """A fenced block of the reference, and where it sits."""

    language: str
    text: str
    line: int  # the line of the opening fence, counting from 1
    heading: str  # the nearest heading above it
    code: str | None  # the rule code whose section holds it, if any


@dataclass(frozen=True)
class Reference:
    blocks: list[Block]
    headings: list[str]
    anchors: list[str]
    links: list[str]


def read_reference(text: str) -> Reference:
    """Split the reference into fenced blocks, headings, explicit anchors and local links."""
    blocks: list[Block] = []
    headings: list[str] = []
    anchors: list[str] = []
    links: list[str] = []
    lines = text.splitlines()
    heading, code, in_rules = "", None, False
    index = 0
    while index < len(lines):
        line = lines[index]
        fence = _FENCE.match(line)
        if fence:
            start = index
            index += 1
            body: list[str] = []
            while index < len(lines) and lines[index] != "```":
                body.append(lines[index])
                index += 1
            assert index < len(lines), f"docs/language.md:{start + 1}: a ``` block is not closed"
            text_of_block = "\n".join(body) + "\n" if body else ""
            blocks.append(Block(fence[1], text_of_block, start + 1, heading, code))
            index += 1
            continue
        title = _HEADING.match(line)
        if title:
            heading = title[2].strip()
            headings.append(heading)
            if len(title[1]) == 2:
                in_rules = line.strip() == RULES_HEADING
                code = None
        for anchor in _ANCHOR.findall(line):
            anchors.append(anchor)
            assert in_rules, f"docs/language.md:{index + 1}: rule anchor outside {RULES_HEADING}"
            code = anchor.upper()
        links.extend(_LINK.findall(line))
        index += 1
    return Reference(blocks, headings, anchors, links)


def slug(heading: str) -> str:
    """The anchor a Markdown renderer (GitHub's) makes for a heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


REFERENCE = read_reference(DOC.read_text(encoding="utf-8"))


def rule_blocks(code: str) -> list[Block]:
    return [block for block in REFERENCE.blocks if block.code == code]


def rule_example(code: str) -> tuple[Block, Block]:
    """The ```stage example of a rule code's section, and the ```text output after it."""
    blocks = rule_blocks(code)
    examples = [
        i
        for i, block in enumerate(blocks)
        if block.language == "stage" and not _SIDE_FILE.match(block.text)
    ]
    assert len(examples) == 1, f"{code}: expected one ```stage example, found {len(examples)}"
    position = examples[0]
    assert position + 1 < len(blocks) and blocks[position + 1].language == "text", (
        f"{code}: the example at line {blocks[position].line} needs a ```text block after it"
    )
    return blocks[position], blocks[position + 1]


def write_side_files(code: str, folder: Path) -> None:
    """The other policy files a rule example refers to, written into `folder`."""
    for block in rule_blocks(code):
        side = _SIDE_FILE.match(block.text)
        if block.language == "stage" and side:
            (folder / side[1]).write_text(block.text[side.end() :], encoding="utf-8")


def codes_of(source: str, folder: Path) -> list[str]:
    _, diagnostics = stagelang.check_source(source, str(folder / "example.stage"))
    return [diagnostic.code for diagnostic in diagnostics]


DOCUMENTED_CODES = sorted({block.code for block in REFERENCE.blocks if block.code})
VALID_EXAMPLES = [
    block for block in REFERENCE.blocks if block.language == "stage" and block.code is None
]


def valid_example_id(block: Block) -> str:
    return f"{slug(block.heading)}-line{block.line}"


# Rule codes --------------------------------------------------------------------------------


@pytest.mark.parametrize("code", sorted(RULES))
def test_every_rule_code_has_a_section_with_an_example(code: str) -> None:
    assert code.lower() in REFERENCE.anchors, f'no <a id="{code.lower()}"></a> section'
    rule = RULES[code]
    headings = [block.heading for block in rule_blocks(code)]
    assert headings, f"{code}: the section has no example"
    assert headings[0] == f"{code} {rule.name}"
    example, output = rule_example(code)
    assert example.text.strip(), f"{code}: the example is empty"
    assert output.text.strip(), f"{code}: the lint output is empty"


@pytest.mark.parametrize("code", sorted(RULES))
def test_rule_section_states_the_severity(code: str) -> None:
    doc = DOC.read_text(encoding="utf-8")
    anchor = f'<a id="{code.lower()}"></a>'
    assert anchor in doc, f"no {anchor} section"
    section = doc.split(anchor, 1)[1].split("<a id=", 1)[0]
    assert f"Severity: {RULES[code].severity}." in section


@pytest.mark.parametrize("code", DOCUMENTED_CODES)
def test_rule_example_triggers_its_code(code: str, tmp_path: Path) -> None:
    example, _ = rule_example(code)
    write_side_files(code, tmp_path)
    found = codes_of(example.text, tmp_path)
    assert code in found, f"docs/language.md:{example.line}: the {code} example gives {found}"
    assert set(found) == {code}, (
        f"docs/language.md:{example.line}: the {code} example should give only {code}: {found}"
    )


@pytest.mark.parametrize("code", DOCUMENTED_CODES)
def test_rule_example_output_is_what_lint_prints(
    code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    example, output = rule_example(code)
    (tmp_path / "example.stage").write_text(example.text, encoding="utf-8")
    write_side_files(code, tmp_path)
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["lint", "--no-color", "example.stage"])
    expected_exit = 1 if RULES[code].severity is Severity.ERROR else 0
    assert result.exit_code == expected_exit, result.output
    assert result.stdout.rstrip("\n") == output.text.rstrip("\n"), (
        f"docs/language.md:{output.line}: the {code} output is out of date; run "
        f"`stagelang lint --no-color example.stage` on the example and paste:\n{result.stdout}"
    )


def test_documented_rule_codes_exist() -> None:
    unknown = sorted(set(DOCUMENTED_CODES) - set(RULES))
    assert not unknown, f"sections for codes stagelang does not have: {unknown}"
    assert sorted(anchor.upper() for anchor in REFERENCE.anchors) == sorted(RULES)


# Valid examples ----------------------------------------------------------------------------


def test_the_reference_has_valid_examples() -> None:
    assert len(VALID_EXAMPLES) >= 3


@pytest.mark.parametrize("block", VALID_EXAMPLES, ids=valid_example_id)
def test_valid_example_checks_without_errors(block: Block) -> None:
    _, diagnostics = stagelang.check_source(block.text, EXAMPLE_FILE)
    errors = [diagnostic.short() for diagnostic in diagnostics if diagnostic.is_error]
    assert not errors, f"docs/language.md:{block.line}: the example has errors:\n" + "\n".join(
        errors
    )


def test_tour_shows_the_bundled_policies_as_they_are() -> None:
    base, tour = VALID_EXAMPLES[0], VALID_EXAMPLES[1]
    assert base.heading == tour.heading == "A short tour"
    assert base.text == TOUR_BASE.read_text(encoding="utf-8")
    assert tour.text == TOUR_POLICY.read_text(encoding="utf-8")


# The grammar and the links -----------------------------------------------------------------


def _rule_lines(text: str) -> list[str]:
    """The grammar's lines without comments and blank lines."""
    return [
        line.rstrip()
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("//")
    ]


def test_grammar_section_matches_the_grammar_file() -> None:
    shown = [block for block in REFERENCE.blocks if block.language == "lark"]
    assert len(shown) == 1, "expected one ```lark block"
    assert _rule_lines(shown[0].text) == _rule_lines(GRAMMAR.read_text(encoding="utf-8"))


def test_local_links_point_at_anchors() -> None:
    targets = set(REFERENCE.anchors) | {slug(heading) for heading in REFERENCE.headings}
    broken = sorted(set(REFERENCE.links) - targets)
    assert REFERENCE.links, "no local links found: is the reference parsed?"
    assert not broken, f"links to anchors that do not exist: {broken}"


def test_rule_help_urls_point_into_this_reference() -> None:
    for rule in RULES.values():
        page, anchor = rule.help_url.split("#")
        assert (ROOT / page).resolve() == DOC.resolve()
        assert anchor in REFERENCE.anchors
