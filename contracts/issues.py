"""Events in the life of an issue (DESIGN.md section 3), all on one topic keyed by issue number.

Personal data never appears here: `voter_masked` is what any reader may see."""

from __future__ import annotations

import uuid
from datetime import date

from contracts.base import IssueEvent


class IssueReceived(IssueEvent, frozen=True, kw_only=True, tag="intake.issue_received.v1"):
    submission_id: uuid.UUID
    channel: str
    station_code: str
    kind: str
    text: str
    voter_masked: str | None = None
    deputy_code: str | None = None
    on_spot_resolution: str | None = None  # the station resolved it at once: how


class IssueTriaged(IssueEvent, frozen=True, kw_only=True, tag="triage.issue_triaged.v1"):
    category: str
    responsible_tier: str
    responsible_unit: str


class IssueResolvedOnSpot(IssueEvent, frozen=True, kw_only=True, tag="triage.issue_resolved_on_spot.v1"):
    tier: str
    unit: str
    resolution: str
    resolved_by: str | None = None


class IssueEscalated(IssueEvent, frozen=True, kw_only=True, tag="triage.issue_escalated.v1"):
    from_tier: str
    from_unit: str
    to_tier: str
    to_unit: str
    review_id: str | None = None
    reason: str | None = None
    city_linkage: bool = False
    automatic: bool = False  # escalated at month end by the tier's policy, not by a review


class IssueResolved(IssueEvent, frozen=True, kw_only=True, tag="triage.issue_resolved.v1"):
    """A tier's review resolved the issue itself (no referral)."""

    tier: str
    unit: str
    resolution: str
    review_id: str | None = None


class IssueCarriedOver(IssueEvent, frozen=True, kw_only=True, tag="triage.issue_carried_over.v1"):
    """Left undecided at month end where the tier's policy is to carry over: it stays for next month's review."""

    tier: str
    unit: str
    month: str  # the month whose review did not decide it, YYYY-MM


class IssueAssigned(IssueEvent, frozen=True, kw_only=True, tag="triage.issue_assigned.v1"):
    tier: str
    unit: str
    handler_code: str
    deadline: date
    co_handlers: tuple[str, ...] = ()
    review_id: str | None = None


class IssueMerged(IssueEvent, frozen=True, kw_only=True, tag="triage.issue_merged.v1"):
    into_issue_id: str
    review_id: str | None = None


class ReferralSent(IssueEvent, frozen=True, kw_only=True, tag="referral.referral_sent.v1"):
    """The referral (交办单) was put on the handlers' topics."""

    referral_id: str
    handler_code: str
    co_handlers: tuple[str, ...] = ()
    deadline: date
    tier: str
    unit: str


class ReferralAccepted(IssueEvent, frozen=True, kw_only=True, tag="referral.referral_accepted.v1"):
    referral_id: str
    handler_code: str


class ProgressReported(IssueEvent, frozen=True, kw_only=True, tag="referral.progress_reported.v1"):
    referral_id: str
    handler_code: str
    note: str


class ReferralCompleted(IssueEvent, frozen=True, kw_only=True, tag="referral.referral_completed.v1"):
    referral_id: str
    handler_code: str
    result: str


class ReferralUnable(IssueEvent, frozen=True, kw_only=True, tag="referral.referral_unable.v1"):
    referral_id: str
    handler_code: str
    reason_code: str
    reason: str


class IssueFedBack(IssueEvent, frozen=True, kw_only=True, tag="feedback.issue_fed_back.v1"):
    to_deputy: str | None = None
    to_voter: bool = True
    message: str


class IssueRated(IssueEvent, frozen=True, kw_only=True, tag="feedback.issue_rated.v1"):
    satisfaction: str
    comment: str | None = None
    rated_by: str | None = None  # the voter (None), or the hotline operator who rated on their behalf


class IssueClosed(IssueEvent, frozen=True, kw_only=True, tag="feedback.issue_closed.v1"):
    tier: str
    reason: str | None = None
    by_oversight: bool = False
    unreachable: bool = False  # closed without a rating: the voter could not be reached in time
    closed_by: str | None = None  # who closed it without a rating (an operator, oversight)


class IssueReopened(IssueEvent, frozen=True, kw_only=True, tag="feedback.issue_reopened.v1"):
    tier: str
    unit: str
    reason: str


class IssueSupervised(IssueEvent, frozen=True, kw_only=True, tag="oversight.issue_supervised.v1"):
    supervision_id: str
    reason: str
    referral_id: str | None = None
    overdue_days: int = 0


IssueEventMessage = (
    IssueReceived
    | IssueTriaged
    | IssueResolvedOnSpot
    | IssueEscalated
    | IssueResolved
    | IssueCarriedOver
    | IssueAssigned
    | IssueMerged
    | ReferralSent
    | ReferralAccepted
    | ProgressReported
    | ReferralCompleted
    | ReferralUnable
    | IssueFedBack
    | IssueRated
    | IssueClosed
    | IssueReopened
    | IssueSupervised
)
