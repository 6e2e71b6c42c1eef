"""Grouping findings for people: by unmet criterion in ladder order, then by kind of problem."""

from __future__ import annotations

from dataclasses import dataclass, field

from stagelang.findings import DATA_RULES, Finding

_TITLES = {
    "SL502": "Stage value names no stage",
    "SL503": "No stage value",
    "SL504": "Record id used more than once",
    "SL505": "Value that cannot be read",
    "SL506": "Row that cannot be read",
    "SL507": "Value of the wrong kind (record schema)",
    "SL510": "Stage skipped that may not be skipped",
    "SL511": "Move back the policy does not allow",
    "SL512": "Outcome entered from a stage it does not allow",
    "SL513": "No entered date for the current stage",
    "SL514": "Entered dates out of order",
    "SL515": "Date for a later stage than the record's",
    "SL516": "Transition while a criterion was unmet",
    "SL517": "Stalled: longer in stage than expected (warning)",
    "SL518": "Event out of time order",
}


@dataclass
class Group:
    """Findings of one kind: a title, how many there are, and the first few to show."""

    title: str
    code: str
    order: tuple[int, int]
    count: int = 0
    examples: list[Finding] = field(default_factory=list)


class Groups:
    """Collects findings into groups, keeping at most `limit` examples of each."""

    def __init__(self, criteria: list[str], limit: int) -> None:
        # Criteria appear in the order the policy lists them: by stage, then as written.
        self.position = {criterion: index for index, criterion in enumerate(criteria)}
        self.limit = limit
        self.groups: dict[str, Group] = {}

    def add(self, finding: Finding) -> bool:
        """Count a finding; True if it is one of the examples kept (at most `limit` a group)."""
        key = finding.criterion if finding.code == "SL501" and finding.criterion else finding.code
        group = self.groups.get(key)
        if group is None:
            group = self.groups[key] = Group(_title(finding), finding.code, self._order(finding))
        group.count += 1
        if len(group.examples) >= self.limit:
            return False
        group.examples.append(finding)
        return True

    def ordered(self) -> list[Group]:
        return sorted(self.groups.values(), key=lambda group: group.order)

    def _order(self, finding: Finding) -> tuple[int, int]:
        if finding.code == "SL501":
            return (0, self.position.get(finding.criterion or "", len(self.position)))
        return (1, list(DATA_RULES).index(finding.code))


def _title(finding: Finding) -> str:
    if finding.code == "SL501" and finding.criterion:
        return finding.criterion
    return _TITLES.get(finding.code, DATA_RULES[finding.code].summary)
