"""A fuzz run for people (text) and for programs (JSON).

Every record shown is a policy test case in TOML, so an author can paste a counterexample into
`NAME.test.toml` and keep it as a regression test once the policy is fixed.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from stagelang.fuzzing import PROPERTIES, FuzzReport
from stagelang.fuzzing.questions import Question
from stagelang.fuzzing.search import Answer
from stagelang.policy_tests import outcome, toml_case

_MARK = {"holds": "ok", "fails": "FAIL", "unfinished": "??"}


def render_text(report: FuzzReport, *, show_examples: bool = False) -> str:
    """The run, property by property; failures with their smallest counterexample."""
    budget = report.budget
    lines = [
        f"Fuzzing {report.policy.file} (seed {budget.seed}, up to {budget.max_examples} "
        f"examples per question, today = {report.today.isoformat()})",
    ]
    for kind, title in PROPERTIES.items():
        answers = [a for a in report.answers if a.question.property == kind]
        if kind == "walk":
            lines.extend(_walk_lines(report))
            continue
        if not answers:
            continue
        lines.append("")
        lines.append(title)
        for answer in answers:
            lines.extend(_answer_lines(report, answer, show_examples))

    lines.append("")
    lines.append(_summary(report))
    return "\n".join(lines) + "\n"


def _answer_lines(report: FuzzReport, answer: Answer, show_examples: bool) -> list[str]:
    question = answer.question
    if question.property == "replacement":
        return _replacement_lines(report, answer)
    lines = [f"  {_MARK[answer.status]:4}  {question.subject}"]
    if answer.status == "unfinished":
        lines.append("        the deadline came before the search finished")
    elif answer.status == "fails" and question.property == "invariant":
        lines.append("        broken by this conforming record:")
        lines.extend(_case_lines(report, question.subject, answer.example))
    elif answer.status == "fails":
        what = "conforms there" if question.property == "reachable" else "meets both"
        lines.append(
            f"        no record {what} in {answer.tried} tries: probably impossible. "
            "Never true together:"
        )
        lines.extend(f"          {text}" for text in answer.never_together)
    elif question.property == "invariant" and _unreachable(report, question):
        lines.append("        holds only because no record conforms there (see above)")
    elif show_examples and answer.example is not None:
        lines.extend(_case_lines(report, question.subject, answer.example))
    return lines


def _unreachable(report: FuzzReport, question: Question) -> bool:
    return any(
        a.question.property == "reachable"
        and a.status == "fails"
        and (a.question.stage, a.question.inside) == (question.stage, question.inside)
        for a in report.answers
    )


def _replacement_lines(report: FuzzReport, answer: Answer) -> list[str]:
    lines = [f"  {answer.question.subject}"]
    if answer.example is None:
        lines.append(f"        no such record found in {answer.tried} tries")
    else:
        lines.extend(f"        does not meet: {text}" for text in answer.not_true)
        lines.extend(_case_lines(report, answer.question.subject, answer.example))
    return lines


def _case_lines(report: FuzzReport, name: str, record: dict[str, Any] | None) -> list[str]:
    if record is None:
        return []
    expect = outcome(report.policy, record, report.today)
    text = toml_case(name, expect, record)
    return ["          " + line if line else "" for line in text.splitlines()]


def _walk_lines(report: FuzzReport) -> list[str]:
    walks = report.walks
    if walks is None:
        return []
    lines = [
        "",
        PROPERTIES["walk"],
        f"  {_MARK[walks.status]:4}  no record enters a stage without meeting its criteria",
    ]
    if walks.status == "unfinished":
        lines.append("        the deadline came before the search finished")
    if walks.walk is not None:
        lines.append(f"        {walks.walk.broken}")
        lines.append("        starting from:")
        lines.extend(f"          {name} = {value!r}" for name, value in walks.walk.start.items())
        lines.extend(f"        {number}. {step}" for number, step in enumerate(walks.walk.log, 1))
    return lines


def _summary(report: FuzzReport) -> str:
    failed = len(report.failures) + (1 if report.walks and report.walks.status == "fails" else 0)
    if report.unfinished:
        return f"Unfinished: the deadline came first ({failed} properties failed so far)."
    if failed:
        return f"{failed} {'property' if failed == 1 else 'properties'} failed."
    return "Every property holds (within the search budget; see docs/fuzz.md)."


def render_json(report: FuzzReport) -> str:
    """The run as one JSON document."""
    walks = report.walks
    document = {
        "policy": report.policy.file,
        "seed": report.budget.seed,
        "max_examples": report.budget.max_examples,
        "today": report.today.isoformat(),
        "holds": report.holds,
        "questions": [_answer_json(report, a) for a in report.answers],
        "walks": None
        if walks is None
        else {
            "status": walks.status,
            "broken": walks.walk.broken if walks.walk else None,
            "start": _plain(walks.walk.start) if walks.walk else None,
            "steps": walks.walk.log if walks.walk else None,
        },
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def _answer_json(report: FuzzReport, answer: Answer) -> dict[str, Any]:
    question = answer.question
    return {
        "property": question.property,
        "subject": question.subject,
        "stage": question.stage,
        "status": answer.status,
        "example": None if answer.example is None else _plain(answer.example),
        "verdict": None
        if answer.example is None
        else outcome(report.policy, answer.example, report.today),
        "never_true_together": answer.never_together,
        "not_met": answer.not_true,
    }


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value
