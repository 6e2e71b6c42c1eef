"""The moves a policy allows: one step up the ladder, past stages that `allow skip`, back to
stages named by `allow back to`, and into outcomes (from the stages `allow from` lists)."""

from __future__ import annotations

from dataclasses import dataclass

from stagelang.analysis.model import CheckedPolicy, Outcome, Stage


@dataclass(frozen=True, slots=True)
class Move:
    """What is wrong with a move from one stage to another: a finding code and a sentence."""

    code: str
    message: str


class Ladder:
    """The stages of a policy by name, with the rules for moving between them."""

    def __init__(self, policy: CheckedPolicy) -> None:
        self.policy = policy
        self.stages = policy.stages
        self.ranks = {stage.name: stage.rank for stage in policy.stages}
        self.outcomes = {outcome.name: outcome for outcome in policy.outcomes}

    def stage(self, name: str) -> Stage | None:
        rank = self.ranks.get(name)
        return None if rank is None else self.stages[rank]

    def outcome(self, name: str) -> Outcome | None:
        return self.outcomes.get(name)

    def judge(self, before: str, after: str) -> Move | None:
        """The problem with moving from stage `before` to stage `after`, or None if allowed.

        Leaving an outcome (a lost deal reopened) is allowed: the policy says how records
        end a stay, not how they come back.
        """
        if before == after or before in self.outcomes:
            return None
        outcome = self.outcomes.get(after)
        if outcome is not None:
            if outcome.from_stages and before not in outcome.from_stages:
                allowed = ", ".join(outcome.from_stages)
                return Move(
                    "SL512",
                    f'moved from "{before}" to the outcome "{after}", which the policy allows '
                    f"only from {allowed}",
                )
            return None
        start, end = self.ranks[before], self.ranks[after]
        if end < start:
            if after in self.stages[start].back_to:
                return None
            return Move(
                "SL511",
                f'moved back from "{before}" to "{after}"; the policy does not allow it '
                f'(add `allow back to {after}` under "{before}" if it is a normal recycle)',
            )
        skipped = [s.name for s in self.stages[start + 1 : end] if not s.skippable]
        if skipped:
            names = ", ".join(f'"{name}"' for name in skipped)
            return Move(
                "SL510",
                f'moved from "{before}" to "{after}", skipping {names}, which the policy does '
                "not allow to be skipped",
            )
        return None
