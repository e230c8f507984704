"""Oversight's published results: assessment scores (考核) with the inputs that produced them, for the
district's other systems. Supervision of overdue work (督办) travels on the issue topic as
`IssueSupervised`; notices and reports are served by oversight, not published. The records oversight keeps
(deputies' contacts with voters, training, emergency funds, callbacks) come to it as commands from the gateway."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Final

import msgspec

from contracts.base import Command, Event, IssueNumber, derive_event_id


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


# -- Records kept by oversight: deputies' contact with voters, training, emergency funds, callbacks ------------------
# Commands from the gateway on `OVERSIGHT_RECORDS`, keyed by `record_id`. A record id is recorded once per kind: a
# repeat (a retried request) changes nothing. Value sets travel as strings; oversight checks them against these.

CONTACT_KINDS: Final = ("reception", "visit")  # 接访 / 走访
TRAINING_AUDIENCES: Final = ("station_staff", "grid_leader", "grid_member", "deputy")
CALLBACK_ANSWERS: Final = ("satisfied", "basically_satisfied", "dissatisfied", "unreachable")
RECORD_ID_NAMESPACE: Final = uuid.UUID("0b8e2f4a-6d1c-4f0e-a3b5-7c9d1e2f3a40")


def record_event_id(kind: str, record_id: str) -> uuid.UUID:
    """The event id of record `record_id` of a kind (the message's tag): the same for every retry of it."""
    return derive_event_id(RECORD_ID_NAMESPACE, f"{kind}:{record_id}")


class RecordContact(Command, frozen=True, kw_only=True, tag="gateway.record_contact.v1"):
    """A deputy received voters at a station (接访) or visited them (走访), and how many voters were met."""

    record_id: str
    deputy_code: str
    station_code: str
    kind: str  # CONTACT_KINDS
    held_on: date
    voters_met: int  # >= 0
    note: str | None = None


class RecordTraining(Command, frozen=True, kw_only=True, tag="gateway.record_training.v1"):
    """A training session held in a town or village, for one audience, and who attended."""

    record_id: str
    unit_code: str  # a town or a village
    held_on: date
    audience: str  # TRAINING_AUDIENCES
    attendee_codes: tuple[str, ...] = ()  # grid-role or deputy codes of those who attended, where known
    attendees: int  # the head count
    topic: str


class AllocateFunds(Command, frozen=True, kw_only=True, tag="gateway.allocate_funds.v1"):
    """Money from the district's emergency reserve (应急资金) allocated to an issue lower tiers cannot pay for."""

    record_id: str
    issue_id: IssueNumber
    amount_yuan: int  # > 0
    purpose: str
    approved_by: str
    month: str  # YYYY-MM: the month whose use of the reserve it counts in


class RecordCallback(Command, frozen=True, kw_only=True, tag="gateway.record_callback.v1"):
    """An independent callback (回访抽查) to the voter of a closed issue: what the voter says of the result."""

    record_id: str
    issue_id: IssueNumber
    answer: str  # CALLBACK_ANSWERS
    called_by: str
    note: str | None = None


OversightRecordMessage = RecordContact | RecordTraining | AllocateFunds | RecordCallback
