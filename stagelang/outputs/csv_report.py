"""`stagelang check --format csv`: the input rows with the verdict appended, for spreadsheets.

Three columns are added to each row: whether it conforms, the first stage with an unmet
criterion, and every reason in words. The file is written in the input's encoding (a CP932
export comes back as CP932, so Excel on Japanese Windows opens it as it opened the input)
unless --output-encoding says otherwise.
"""

from __future__ import annotations

import csv
import io
from typing import IO

from stagelang.checking import RecordResult

VERDICT_COLUMNS = ["stagelang_conforms", "stagelang_first_unmet_stage", "stagelang_reasons"]
WAIVED_COLUMN = "stagelang_waived"


class CsvWriter:
    """Writes each checked row, with its verdict, as soon as it is checked."""

    def __init__(
        self, binary: IO[bytes], encoding: str, columns: list[str], tsv: bool, waivers: bool = False
    ) -> None:
        self.text = io.TextIOWrapper(
            binary, encoding=encoding, newline="", errors="replace", write_through=True
        )
        self.writer = csv.writer(self.text, delimiter="\t" if tsv else ",")
        self.columns = columns
        # With a waivers file, a fourth column lists the waived findings and their waivers.
        self.waivers = waivers
        added = [*VERDICT_COLUMNS, WAIVED_COLUMN] if waivers else VERDICT_COLUMNS
        self.writer.writerow([*columns, *added])

    def add(self, result: RecordResult) -> None:
        cells = result.row.cells
        if isinstance(cells, dict):
            row = ["" if cells.get(c) is None else str(cells.get(c)) for c in self.columns]
        else:
            row = list(cells or [])
        if result.unreadable:
            verdict = ["unreadable", "", "; ".join(f.message for f in result.findings)]
        elif result.conforms_by_waivers:
            verdict = ["waived", "", ""]
        else:
            verdict = [
                "true" if result.conforms else "false",
                result.first_unmet_stage or "",
                "; ".join(f.message for f in result.findings),
            ]
        if self.waivers:
            verdict.append(
                "; ".join(f"{w.finding.message} (waiver {w.waiver.number})" for w in result.waived)
            )
        self.writer.writerow(row + verdict)

    def close(self) -> None:
        self.text.flush()
        self.text.detach()
