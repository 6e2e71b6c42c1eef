""" "Did you mean" suggestions for misspelled names."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(name: str, candidates: Iterable[str]) -> str | None:
    """The known name most like `name`, if one is close enough to be worth offering."""
    pool = list(candidates)
    by_folded = {candidate.casefold(): candidate for candidate in pool}
    if name.casefold() in by_folded:
        return by_folded[name.casefold()]
    matches = difflib.get_close_matches(name.casefold(), list(by_folded), n=1, cutoff=0.6)
    return by_folded[matches[0]] if matches else None


def did_you_mean(name: str, candidates: Iterable[str]) -> str | None:
    """A help line offering the closest known name, or None."""
    match = closest(name, candidates)
    return f'did you mean "{match}"?' if match else None
