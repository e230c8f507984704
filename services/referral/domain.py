"""Pure referral rules: the referral (交办单) an assignment makes, and the issue event each handler reply is."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import NamedTuple, TypedDict

from contracts.base import TraceContext, derive_event_id
from contracts.commands import (
    AcceptReferral,
    HandlerReply,
    ReferralIssued,
    ReportProgress,
    ReportResult,
    ReportUnable,
)
from contracts.issues import (
    IssueAssigned,
    ProgressReported,
    ReferralAccepted,
    ReferralCompleted,
    ReferralSent,
    ReferralUnable,
)
from contracts.lifecycle import IssueState
from contracts.topics import Topic, referral_topic

SUMMARY_CHARS = 300  # what a referral carries of the issue's text
UNCATEGORIZED = "other"  # an issue our copy never saw triaged

ReplyEvent = ReferralAccepted | ProgressReported | ReferralCompleted | ReferralUnable


class _ReplyFields(TypedDict):
    event_id: uuid.UUID
    occurred_at: datetime
    correlation_id: str | None
    causation_id: uuid.UUID
    issue_id: str
    origin_trace: TraceContext | None
    referral_id: str
    handler_code: str


class Allotment(NamedTuple):
    """The number an assignment's referral got among the issue's referrals, and when it was issued."""

    number: int
    issued_at: datetime


def summary_of(text: str) -> str:
    return text[:SUMMARY_CHARS]


def referral_id(issue_id: str, number: int) -> str:
    """`R-<issue>-<n>`: the issue's n-th referral (a referral the handler could not take, or a reopened
    issue, is followed by a new one)."""
    return f"R-{issue_id}-{number}"


def referrals_issued(
    assigned: IssueAssigned, referral: str, *, category: str, summary: str, issued_at: datetime
) -> list[tuple[Topic, ReferralIssued]]:
    """One referral for the lead on its own topic, then one for each co-handler on theirs (联合办结).
    Ids derive from the assignment and the handler, so a redelivery issues the same referrals."""
    roles = [(assigned.handler_code, "lead")] + [(code, "co") for code in assigned.co_handlers]
    return [
        (
            referral_topic(code),
            ReferralIssued(
                event_id=derive_event_id(assigned.event_id, f"referral_issued:{code}"),
                occurred_at=issued_at,
                correlation_id=assigned.correlation_id,
                causation_id=assigned.event_id,
                referral_id=referral,
                issue_id=assigned.issue_id,
                handler_code=code,
                role=role,
                deadline=assigned.deadline,
                category=category,
                summary=summary,
            ),
        )
        for code, role in roles
    ]


def referral_sent(assigned: IssueAssigned, referral: str, issued_at: datetime) -> ReferralSent:
    return ReferralSent(
        event_id=derive_event_id(assigned.event_id, "referral_sent"),
        occurred_at=issued_at,
        correlation_id=assigned.correlation_id,
        causation_id=assigned.event_id,
        issue_id=assigned.issue_id,
        origin_trace=assigned.origin_trace,
        referral_id=referral,
        handler_code=assigned.handler_code,
        co_handlers=assigned.co_handlers,
        deadline=assigned.deadline,
        tier=assigned.tier,
        unit=assigned.unit,
    )


def reply_event(reply: HandlerReply, state: IssueState, now: datetime) -> ReplyEvent:
    """The issue event a handler's reply is. Whether it may happen (the referral, the handler, the
    state) is the lifecycle's to say when the event is applied."""
    common = _ReplyFields(
        event_id=derive_event_id(reply.event_id, "reply"),
        occurred_at=now,
        correlation_id=reply.correlation_id,
        causation_id=reply.event_id,
        issue_id=reply.issue_id,
        origin_trace=state.origin_trace,
        referral_id=reply.referral_id,
        handler_code=reply.handler_code,
    )
    if isinstance(reply, AcceptReferral):
        return ReferralAccepted(**common)
    if isinstance(reply, ReportProgress):
        return ProgressReported(**common, note=reply.note)
    if isinstance(reply, ReportResult):
        return ReferralCompleted(**common, result=reply.result)
    if isinstance(reply, ReportUnable):
        return ReferralUnable(**common, reason_code=reply.reason_code, reason=reply.reason)
    raise ValueError(f"type: {type(reply).__name__} is not a handler reply the referral service knows")
