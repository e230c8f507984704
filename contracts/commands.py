"""Commands about existing issues: review decisions, handler replies and voters' ratings."""

from __future__ import annotations

from datetime import date

import msgspec

from contracts.base import Command, Event, IssueCommand, derive_event_id

# The most decisions one RecordReview carries, and the most bytes of them: a bigger review is published
# in parts (~150 KB a record with short notes), so each record stays well under a consumer's 1 MB fetch
# of a partition and triage works through one in ~0.1 s.
REVIEW_PART_SIZE = 500
REVIEW_PART_BYTES = 512 * 1024


class RecordReviewDecision(IssueCommand, frozen=True, kw_only=True, tag="gateway.record_review_decision.v1"):
    """One decision of a tier's monthly review about one issue."""

    review_id: str
    tier: str
    unit: str
    month: str
    decision: str  # resolve / assign / escalate / merge
    handler_code: str | None = None
    co_handlers: tuple[str, ...] = ()
    deadline: date | None = None
    into_issue_id: str | None = None
    note: str | None = None  # for "resolve": how it was resolved
    decided_by: str | None = None
    held_on: date | None = None  # the day the review met
    participants: tuple[str, ...] = ()  # who took part


class ReviewItem(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One decision of a review, about one issue (a number that names no issue is refused, not undecodable)."""

    issue_id: str
    decision: str  # resolve / assign / escalate / merge
    handler_code: str | None = None
    co_handlers: tuple[str, ...] = ()
    deadline: date | None = None
    into_issue_id: str | None = None
    note: str | None = None  # for "resolve": how it was resolved


class RecordReview(Command, frozen=True, kw_only=True, tag="gateway.record_review.v1"):
    """A tier's monthly review: its decisions in the order taken, or one part of them for a review of
    more than `REVIEW_PART_SIZE` (parts numbered from 1, all under the review's key, so in order)."""

    review_id: str
    tier: str
    unit: str
    month: str
    decided_by: str | None = None
    held_on: date | None = None  # the day the review met
    participants: tuple[str, ...] = ()  # who took part
    part: int = 1
    decisions: tuple[ReviewItem, ...]

    def each(self) -> list[RecordReviewDecision]:
        """The decisions one by one, each with an id derived from the review's and the issue's."""
        shared = {
            "occurred_at": self.occurred_at,
            "correlation_id": self.correlation_id,
            "causation_id": self.event_id,
            "review_id": self.review_id,
            "tier": self.tier,
            "unit": self.unit,
            "month": self.month,
            "decided_by": self.decided_by,
            "held_on": self.held_on,
            "participants": self.participants,
        }
        return [
            RecordReviewDecision(
                event_id=derive_event_id(self.event_id, f"decision:{d.issue_id}"),
                issue_id=d.issue_id,
                decision=d.decision,
                handler_code=d.handler_code,
                co_handlers=d.co_handlers,
                deadline=d.deadline,
                into_issue_id=d.into_issue_id,
                note=d.note,
                **shared,
            )
            for d in self.decisions
        ]


# The gateway publishes whole reviews; one decision a record is still read (records already kept).
ReviewDecisionMessage = RecordReview | RecordReviewDecision


class HandlerReply(IssueCommand, frozen=True, kw_only=True):
    referral_id: str
    handler_code: str


class AcceptReferral(HandlerReply, frozen=True, kw_only=True, tag="handler.accept_referral.v1"):
    pass


class ReportProgress(HandlerReply, frozen=True, kw_only=True, tag="handler.report_progress.v1"):
    note: str


class ReportResult(HandlerReply, frozen=True, kw_only=True, tag="handler.report_result.v1"):
    result: str


class ReportUnable(HandlerReply, frozen=True, kw_only=True, tag="handler.report_unable.v1"):
    reason_code: str
    reason: str


HandlerReplyMessage = AcceptReferral | ReportProgress | ReportResult | ReportUnable


class RateIssue(IssueCommand, frozen=True, kw_only=True, tag="gateway.rate_issue.v1"):
    satisfaction: str
    comment: str | None = None
    rated_by: str | None = None  # set when a hotline operator rates on the voter's behalf


class CloseUnreachable(IssueCommand, frozen=True, kw_only=True, tag="gateway.close_unreachable.v1"):
    """Close an issue fed back to a voter who could not be reached for a rating within the allowed time."""

    reason: str
    closed_by: str | None = None


RatingMessage = RateIssue | CloseUnreachable


class ReviewDecisionApplied(Event, frozen=True, kw_only=True, tag="triage.review_decision_applied.v1"):
    review_id: str
    issue_id: str
    decision: str


class ReviewDecisionRefused(Event, frozen=True, kw_only=True, tag="triage.review_decision_refused.v1"):
    review_id: str
    issue_id: str
    decision: str
    field: str
    reason: str


class DecisionRefusal(msgspec.Struct, frozen=True, kw_only=True):
    issue_id: str
    decision: str
    field: str
    reason: str


class ReviewPartDone(Event, frozen=True, kw_only=True, tag="triage.review_part_done.v1"):
    """What became of every decision of one part of a review: applied (issue -> decision), or refused and why."""

    review_id: str
    part: int
    applied: dict[str, str]
    refused: tuple[DecisionRefusal, ...] = ()


# One record a part; one a decision is still read (records already kept)
ReviewOutcomeMessage = ReviewPartDone | ReviewDecisionApplied | ReviewDecisionRefused


class Notification(Event, frozen=True, kw_only=True, tag="feedback.notification.v1"):
    """A message for a deputy or a voter (SMS or app). Names no personal data: the sender looks up the
    voter's contact by issue number, the deputy's by code."""

    issue_id: str
    recipient: str  # "voter" or "deputy:<code>"
    text: str


class ReferralIssued(Command, frozen=True, kw_only=True, tag="referral.referral_issued.v1"):
    """A referral (交办单) on the handler's own topic, for the department's own system."""

    referral_id: str
    issue_id: str
    handler_code: str
    role: str = "lead"  # lead / co
    deadline: date
    category: str
    summary: str


ReferralMessage = ReferralIssued
