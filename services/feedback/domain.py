"""Feedback's pure rules: when an issue is fed back and what its deputy and voter are told, what a rating
does to it, and when an issue whose voter cannot be reached may be closed unrated."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Final, TypeAlias, TypeGuard

from contracts.base import derive_event_id
from contracts.commands import CloseUnreachable, Notification, RateIssue
from contracts.issues import (
    IssueClosed,
    IssueFedBack,
    IssueRated,
    IssueReopened,
    IssueResolved,
    IssueResolvedOnSpot,
    ReferralCompleted,
)
from contracts.lifecycle import IssueState, return_point
from contracts.vocabulary import SATISFACTION

# The states in which an issue waits for its feedback; this service feeds it back as soon as it gets there.
FEEDBACK_DUE: Final = frozenset({"completed", "resolved_on_spot"})
CONTENT: Final = ("satisfied", "basically_satisfied")  # ratings that close the issue; the rest reopen it
VOTER: Final = "voter"

Outcome: TypeAlias = ReferralCompleted | IssueResolved | IssueResolvedOnSpot
OUTCOMES: Final = (ReferralCompleted, IssueResolved, IssueResolvedOnSpot)


# ---- what deputies and voters are told (zh-CN, in the source article's words) ----


def outcome_of(cause: Outcome) -> str:
    """The handler's result (办理结果), or how the tier resolved it."""
    return cause.result if isinstance(cause, ReferralCompleted) else cause.resolution


def how_done(on_spot: bool) -> str:
    return "已立即解决" if on_spot else "已办理"


def voter_text(issue_id: str, outcome: str, *, on_spot: bool = False) -> str:
    return f"您反映的问题（{issue_id}）{how_done(on_spot)}：{outcome}。请对办理结果评价：满意、基本满意或不满意。"


def deputy_text(issue_id: str, outcome: str, *, on_spot: bool = False) -> str:
    return f"您收集的选民问题（{issue_id}）{how_done(on_spot)}：{outcome}。办理结果已反馈选民，请跟踪选民评价。"


def deputy_recipient(deputy_code: str) -> str:
    return f"deputy:{deputy_code}"


# ---- feedback ----


def fed_back_id(cause: Outcome) -> uuid.UUID:
    return derive_event_id(cause.event_id, "fed_back")


def feedback_due(cause: object, folded: IssueState) -> TypeGuard[Outcome]:
    """Whether `cause`, just folded into `folded`, calls for feedback: it left the issue completed or
    resolved on the spot, or it did so before and its feedback was folded in already (a redelivery)."""
    if not isinstance(cause, OUTCOMES):
        return False
    return folded.state in FEEDBACK_DUE or str(fed_back_id(cause)) in folded.applied


def feed_back(folded: IssueState, cause: Outcome, now: datetime) -> IssueFedBack:
    """The feedback to the voter (and the deputy who brought the issue) of the outcome `cause` reports."""
    on_spot = isinstance(cause, IssueResolvedOnSpot)
    return IssueFedBack(
        event_id=fed_back_id(cause),
        occurred_at=now,
        correlation_id=cause.correlation_id,
        causation_id=cause.event_id,
        issue_id=folded.issue_id,
        origin_trace=cause.origin_trace or folded.origin_trace,
        to_deputy=folded.deputy_code,
        to_voter=True,
        message=voter_text(folded.issue_id, outcome_of(cause), on_spot=on_spot),
    )


def notifications(fed_back: IssueFedBack, cause: Outcome) -> list[Notification]:
    """One message for the voter, and one for the deputy when a deputy brought the issue."""
    on_spot = isinstance(cause, IssueResolvedOnSpot)
    texts = {VOTER: fed_back.message}
    if fed_back.to_deputy:
        texts[deputy_recipient(fed_back.to_deputy)] = deputy_text(fed_back.issue_id, outcome_of(cause), on_spot=on_spot)
    return [
        Notification(
            event_id=derive_event_id(fed_back.event_id, f"notify:{recipient}"),
            occurred_at=fed_back.occurred_at,
            correlation_id=fed_back.correlation_id,
            causation_id=fed_back.event_id,
            issue_id=fed_back.issue_id,
            recipient=recipient,
            text=text,
        )
        for recipient, text in texts.items()
    ]


# ---- ratings and close-out ----
# Events answering a command take the command's time: a redelivered command emits the same bytes.


def rating(command: RateIssue, state: IssueState | None) -> IssueRated:
    if command.satisfaction not in SATISFACTION:
        raise ValueError(f"satisfaction: {command.satisfaction!r} is not one of {', '.join(SATISFACTION)}")
    return IssueRated(
        event_id=derive_event_id(command.event_id, "rated"),
        occurred_at=command.occurred_at,
        correlation_id=command.correlation_id,
        causation_id=command.event_id,
        issue_id=command.issue_id,
        origin_trace=state.origin_trace if state else None,
        satisfaction=command.satisfaction,
        comment=command.comment,
        rated_by=command.rated_by,
    )


def after_rating(rated: IssueState, rating: IssueRated) -> IssueClosed | IssueReopened:
    """A content voter closes the issue (销号) at the tier that resolved it; a dissatisfied one reopens it
    where it came from: the tier that assigned it, or that resolved it."""
    common = {
        "occurred_at": rating.occurred_at,
        "correlation_id": rating.correlation_id,
        "causation_id": rating.event_id,
        "issue_id": rating.issue_id,
        "origin_trace": rating.origin_trace,
    }
    if rating.satisfaction in CONTENT:
        event_id = derive_event_id(rating.event_id, "closed")
        return IssueClosed(event_id=event_id, tier=closing_tier(rated), reason=f"rated {rating.satisfaction}", **common)
    tier, unit = return_point(rated)
    reason = f"voter dissatisfied: {rating.comment}" if rating.comment else "voter dissatisfied"
    return IssueReopened(
        event_id=derive_event_id(rating.event_id, "reopened"), tier=tier, unit=unit, reason=reason, **common
    )


def closing_tier(state: IssueState) -> str:
    tier = state.resolved_tier or state.tier
    if tier is None:
        raise ValueError(f"{state.issue_id} has no tier to be closed at")
    return tier


def may_close_unrated_from(state: IssueState, window: timedelta) -> datetime | None:
    """When an issue fed back to a voter who gives no rating may be closed unrated; None if not fed back."""
    if state.state != "fed_back" or state.fed_back_at is None:
        return None
    return state.fed_back_at + window


def close_unreachable(
    state: IssueState | None, command: CloseUnreachable, now: datetime, window: timedelta
) -> IssueClosed:
    """Close unrated an issue whose voter could not be reached for `window` since the feedback.
    Raises ValueError, saying when it may be closed, for anything sooner."""
    if state is None:
        raise ValueError(f"{command.issue_id}: unknown issue")
    event_id = derive_event_id(command.event_id, "closed")
    if str(event_id) not in state.applied:  # else this command closed it already: a redelivery
        _check_unreachable_window(state, now, window)
    return IssueClosed(
        event_id=event_id,
        occurred_at=command.occurred_at,
        correlation_id=command.correlation_id,
        causation_id=command.event_id,
        issue_id=command.issue_id,
        origin_trace=state.origin_trace,
        tier=closing_tier(state),
        reason=command.reason,
        unreachable=True,
        closed_by=command.closed_by,
    )


def _check_unreachable_window(state: IssueState, now: datetime, window: timedelta) -> None:
    due = may_close_unrated_from(state, window)
    if due is None:
        raise ValueError(
            f"{state.issue_id}: only an issue fed back and not rated can be closed unrated; it is {state.state}"
        )
    if now < due:
        raise ValueError(
            f"{state.issue_id}: fed back at {_minutes(state.fed_back_at)}; the voter has until {_minutes(due)}"
            " to rate it, and it may be closed unrated from then"
        )


def _minutes(moment: datetime | None) -> str:
    return moment.isoformat(timespec="minutes") if moment else "?"
