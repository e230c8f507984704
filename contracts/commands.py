"""Commands about existing issues: review decisions, handler replies and voters' ratings."""

from __future__ import annotations

from datetime import date

from contracts.base import Command, Event, IssueCommand


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


ReviewDecisionMessage = RecordReviewDecision


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


ReviewOutcomeMessage = ReviewDecisionApplied | ReviewDecisionRefused


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
