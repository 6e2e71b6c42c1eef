"""Shared test setup: Hypothesis profiles and paths to the bundled policies."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"

# "ci" keeps the whole suite within a few minutes on two cores; "dev" is quicker still, and
# "thorough" is for a long look before a release.
settings.register_profile(
    "ci", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", max_examples=60, deadline=None)
settings.register_profile("thorough", max_examples=5000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture
def japan_path() -> Path:
    return POLICIES / "japan.stage"
