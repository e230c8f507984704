"""Oversight's published results: assessment scores (考核) with the inputs that produced them, for the
district's other systems. Supervision of overdue work (督办) travels on the issue topic as
`IssueSupervised`; notices and reports are served by oversight, not published."""

from __future__ import annotations

import msgspec

from contracts.base import Event


class ScoreInput(msgspec.Struct, frozen=True, kw_only=True):
    """One indicator of a score: value = numerator / denominator (inverted where lower is better)."""

    indicator: str
    value: float
    weight: float
    points: float
    numerator: int
    denominator: int


class AssessmentScored(Event, frozen=True, kw_only=True, tag="oversight.assessment_scored.v1"):
    """A department's, town's or village's score for a month, explained line by line."""

    period: str  # YYYY-MM
    kind: str  # department / town / village
    key: str  # handler or unit code
    name: str
    score: float  # 0..100
    rank: int
    inputs: tuple[ScoreInput, ...]


AssessmentMessage = AssessmentScored
