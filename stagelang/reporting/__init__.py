"""Reports over many records: time in stage, conversion, stalls (`stagelang report`)."""

from __future__ import annotations

from stagelang.reporting.time_in_stage import Report, TimeInStage

__all__ = ["Report", "TimeInStage"]
