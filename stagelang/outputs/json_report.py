"""`stagelang check --format json`: one object, `{"findings": [...], "summary": {...}}`.

Findings are written as they are found, so the output of a large export never has to be held
in memory; the summary, known only at the end, comes last. The shape is published as a JSON
Schema in docs/check-output.schema.json.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from typing import IO, TYPE_CHECKING, Any

from stagelang.checking import Summary
from stagelang.findings import Finding

if TYPE_CHECKING:
    from stagelang.waivers import WaivedFinding, Waivers


class JsonWriter:
    """Streams findings into a JSON document, then closes it with the summary."""

    def __init__(self, stream: IO[str]) -> None:
        self.stream = stream
        self.first = True
        # Waived findings are listed after the others; until then they wait on disk, so that
        # a large export's output is still never held in memory.
        self.waived: IO[str] | None = None
        stream.write('{"findings": [')

    def add(self, finding: Finding) -> None:
        separator = "" if self.first else ","
        self.first = False
        self.stream.write(f"{separator}\n  {_dump(finding.to_dict())}")

    def add_waived(self, waived: WaivedFinding) -> None:
        if self.waived is None:
            self.waived = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115
            self.waived.write("\n  ")
        else:
            self.waived.write(",\n  ")
        self.waived.write(_dump(waived.to_dict()))

    def close(
        self, summary: Summary, policy: dict[str, Any], waivers: Waivers | None = None
    ) -> None:
        end = "\n" if not self.first else ""
        self.stream.write(f"{end}],\n")
        if waivers is not None:
            self.stream.write('"waived": [')
            if self.waived is not None:
                self.waived.seek(0)
                shutil.copyfileobj(self.waived, self.stream)
                self.waived.close()
                self.stream.write("\n")
            self.stream.write("],\n")
            listed = [w.to_dict() for w in waivers.waivers]
            self.stream.write(f'"waivers": {_dump({"file": waivers.file, "waivers": listed})},\n')
        self.stream.write(f'"policy": {_dump(policy)},\n')
        self.stream.write(f'"summary": {_dump(summary.to_dict())}}}\n')


def _dump(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)
