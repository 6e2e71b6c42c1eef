"""Rewrite the lint output under each rule-code example in docs/language.md.

    .venv/bin/python scripts/update_doc_examples.py

Each rule code's section holds a ```stage example and, below it, a ```text block with what
`stagelang lint --no-color example.stage` prints for it. This script runs the command for every
example and writes its output into the text block, so the reference never shows stale output;
tests/test_docs.py fails when someone forgets to run it.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from click.testing import CliRunner

from stagelang.cli import main

DOC = Path(__file__).resolve().parent.parent / "docs" / "language.md"
_ANCHOR = re.compile(r'<a id="sl\d{3}"></a>')


def lint_output(example: str) -> str:
    """What lint prints for the example, saved as example.stage in the current folder."""
    previous = Path.cwd()
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "example.stage").write_text(example, "utf-8")
        os.chdir(folder)  # so that the output names the file "example.stage"
        try:
            result = CliRunner().invoke(main, ["lint", "--no-color", "example.stage"])
        finally:
            os.chdir(previous)
    return result.stdout


def update(text: str) -> str:
    lines = text.split("\n")
    output: list[str] = []
    in_rules = False
    example: list[str] | None = None
    index = 0
    while index < len(lines):
        line = lines[index]
        in_rules = in_rules or bool(_ANCHOR.match(line))
        if in_rules and line == "```stage":
            end = lines.index("```", index + 1)
            example = lines[index + 1 : end]
            output.extend(lines[index : end + 1])
            index = end + 1
            continue
        if in_rules and line == "```text" and example is not None:
            end = lines.index("```", index + 1)
            printed = lint_output("\n".join(example) + "\n").rstrip("\n")
            output.extend(["```text", *printed.split("\n"), "```"])
            example = None
            index = end + 1
            continue
        output.append(line)
        index += 1
    return "\n".join(output)


if __name__ == "__main__":
    DOC.write_text(update(DOC.read_text("utf-8")), "utf-8")
