"""The TextMate grammar for .stage files, run by a real TextMate engine.

editors/vscode/syntaxes/stage.tmLanguage.json is what VS Code (and any editor or highlighter
that reads TextMate grammars) uses to colour policy files. These tests tokenize the bundled
policies, the test policies and every policy example of the language reference with
textmate-grammar-python (a Python port of vscode-textmate, the engine VS Code uses, with the
same Oniguruma regular expressions; it is in the test extra), and hold each token's colour
class to what stagelang's own parser says the token is: a keyword is coloured as a keyword, a
field or stage name never is, strings, numbers, dates and durations are coloured as such,
and comments are comments to the end of the line.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from lark import Token
from lark.exceptions import LarkError

from stagelang.syntax.formatter import _comment_in
from stagelang.syntax.parser import _parser

textmate = pytest.importorskip(
    "textmate_grammar.parsers.base",
    reason="textmate-grammar-python is in the test extra: pip install '.[test]'",
)

ROOT = Path(__file__).resolve().parent.parent
GRAMMAR = ROOT / "editors" / "vscode" / "syntaxes" / "stage.tmLanguage.json"
PACKAGE = ROOT / "editors" / "vscode" / "package.json"

# The engine logs every stretch of text no rule colours (spaces, mostly) as a warning.
logging.getLogger("textmate_grammar").setLevel(logging.ERROR)

KEYWORDS = {
    "POLICY", "EXTENDS", "USE", "ID", "STAGE", "FIELD", "SEGMENT", "OUTCOME", "INVARIANT",
    "IMPLIES", "REQUIRES", "IN", "INSTEAD", "EXIT", "WHEN", "VALUES", "FROM", "REQUIRED",
    "SEPARATOR", "AND", "OR", "NOT", "CONTAINS", "IS", "SET", "MISSING", "ALLOW", "SKIP",
    "BACK", "TO", "ENTERED", "EXPECT", "DWELL",
}  # fmt: skip
# Token kinds of stagelang's lexer, and the scope (or scope prefix) the grammar must give them.
EXPECTED = {
    "STRING": "string.quoted.double.stage",
    "INT": "constant.numeric.stage",
    "DECIMAL": "constant.numeric.stage",
    "DATE": "constant.numeric.date.stage",
    "DURATION": "constant.numeric.duration.stage",
    "TRUE": "constant.language.boolean.stage",
    "FALSE": "constant.language.boolean.stage",
    "TODAY": "constant.language.today.stage",
    "COUNT": "support.function.count.stage",
    "COMPARE_OP": "keyword.operator.comparison.stage",
}


def _policies() -> Iterator[tuple[str, str]]:
    """(name, text) of every policy that parses: the bundled ones, the tests', the docs'."""
    files = sorted([*ROOT.glob("policies/*.stage"), *ROOT.glob("tests/data/*.stage")])
    for path in files:
        yield str(path.relative_to(ROOT)), path.read_text("utf-8")
    reference = (ROOT / "docs" / "language.md").read_text("utf-8")
    for number, block in enumerate(re.findall(r"```stage\n(.*?)```", reference, re.S)):
        yield f"docs/language.md example {number + 1}", block


def _lark_tokens(text: str) -> list[Token] | None:
    """The tokens stagelang's own parser reads, or None if the text does not parse."""
    try:
        return [t for t in _parser().parse_interactive(text).iter_parse() if t.type != "_NL"]
    except LarkError:
        return None


POLICIES = [(name, text) for name, text in _policies() if _lark_tokens(text) is not None]


@pytest.fixture(scope="module")
def engine() -> object:
    grammar = json.loads(GRAMMAR.read_text("utf-8"))
    return textmate.LanguageParser(grammar)


def scopes_by_place(engine: object, text: str) -> dict[tuple[int, int], list[str]]:
    """The scopes the engine gives each character, by (line from 1, column from 1)."""
    places: dict[tuple[int, int], list[str]] = {}
    element = engine.parse_string(text)  # type: ignore[attr-defined]
    for (line, column), content, scopes in element.flatten():
        for offset in range(len(content)):
            places[(line + 1, column + offset + 1)] = scopes
    return places


def test_the_policies_to_tokenize_include_the_bundled_ones() -> None:
    names = [name for name, _ in POLICIES]
    assert {"policies/global.stage", "policies/japan.stage", "policies/hubspot.stage"} <= set(names)
    assert sum(name.startswith("docs/") for name in names) >= 20


@pytest.mark.parametrize(("name", "text"), POLICIES, ids=[name for name, _ in POLICIES])
def test_each_token_is_coloured_as_what_the_parser_reads(
    engine: object, name: str, text: str
) -> None:
    places = scopes_by_place(engine, text)
    tokens = _lark_tokens(text)
    assert tokens
    wrong = []
    for token in tokens:
        assert token.line is not None and token.column is not None and token.end_column
        for column in (token.column, token.end_column - 1):
            scopes = places.get((token.line, column), [])
            if not _fits(token, scopes):
                wrong.append(f"{name}:{token.line}:{column} {token.type} {token!s} got {scopes}")
    assert not wrong, "\n".join(wrong)


def _fits(token: Token, scopes: list[str]) -> bool:
    innermost = scopes[-1] if scopes else ""
    if token.type in EXPECTED:
        return EXPECTED[token.type] in scopes or (
            token.type == "STRING" and innermost.startswith("punctuation.definition.string")
        )
    if token.type in KEYWORDS:
        return innermost.startswith("keyword.")
    if token.type == "NAME":
        # A name the policy declares (field, stage, segment, type, preset): never a keyword.
        return innermost.split(".")[0] in ("variable", "entity", "support")
    return True  # punctuation: any colour will do


@pytest.mark.parametrize(("name", "text"), POLICIES, ids=[name for name, _ in POLICIES])
def test_comments_run_to_the_end_of_the_line(engine: object, name: str, text: str) -> None:
    places = scopes_by_place(engine, text)
    for number, line in enumerate(text.splitlines(), start=1):
        comment = _comment_in(line)
        if comment is None:
            continue
        start, body = comment
        for column in range(start + 1, start + len(body) + 1):
            assert "comment.line.number-sign.stage" in places[(number, column)], (
                f"{name}:{number}:{column} is not coloured as a comment: {line!r}"
            )


def test_a_hash_inside_a_string_does_not_start_a_comment(engine: object) -> None:
    text = 'segment japan: country == "J#P"  # the real comment\n'
    places = scopes_by_place(engine, text)
    assert "string.quoted.double.stage" in places[(1, 29)]
    assert "comment.line.number-sign.stage" in places[(1, 35)]


def test_keywords_are_coloured_in_any_case(engine: object) -> None:
    places = scopes_by_place(engine, "STAGE MQL REQUIRES icp_fit AND NOT need\n")
    for column in (1, 11, 28, 32):
        assert places[(1, column)][-1].startswith("keyword."), column
    assert places[(1, 7)][-1].startswith("entity.name")


def test_the_vscode_package_names_the_grammar_and_the_file_extension() -> None:
    package = json.loads(PACKAGE.read_text("utf-8"))
    (language,) = package["contributes"]["languages"]
    (grammar,) = package["contributes"]["grammars"]
    assert language["extensions"] == [".stage"]
    assert grammar["scopeName"] == json.loads(GRAMMAR.read_text("utf-8"))["scopeName"]
    assert (PACKAGE.parent / grammar["path"]).resolve() == GRAMMAR
    assert (PACKAGE.parent / language["configuration"]).is_file()


def test_the_policies_use_every_keyword_and_literal() -> None:
    # So that the colouring test above meets each kind of token at least once.
    seen = {token.type for _, text in POLICIES for token in _lark_tokens(text) or []}
    assert KEYWORDS | set(EXPECTED) <= seen, sorted(KEYWORDS | set(EXPECTED) - seen)
