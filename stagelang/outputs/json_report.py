"""`stagelang check --format json`: one object, `{"findings": [...], "summary": {...}}`.

Findings are written as they are found, so the output of a large export never has to be held
in memory; the summary, known only at the end, comes last. The shape is published as a JSON
Schema in docs/check-output.schema.json.
"""

from __future__ import annotations

import json
from typing import IO, Any

from stagelang.checking import Summary
from stagelang.findings import Finding


class JsonWriter:
    """Streams findings into a JSON document, then closes it with the summary."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.first = True
        stream.write('{"findings": [')

    def add(self, finding: Finding) -> None:
        separator = "" if self.first else ","
        self.first = False
        self.stream.write(f"{separator}\n  {_dump(finding.to_dict())}")

    def close(self, summary: Summary, policy: dict[str, Any]) -> None:
        end = "\n" if not self.first else ""
        self.stream.write(f"{end}],\n")
        self.stream.write(f'"policy": {_dump(policy)},\n')
        self.stream.write(f'"summary": {_dump(summary.to_dict())}}}\n')


def _dump(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)
