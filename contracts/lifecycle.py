"""The one definition of an issue's legal transitions (DESIGN.md section 3): issue events folded into an `IssueState`.

Every service folds the issue topic through `apply` and checks each change it makes with `check` before
publishing it, so no service moves an issue in a way another would refuse. Pure: no I/O, no clock."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, Final, TypeAlias

import msgspec
from msgspec.structs import replace

from contracts.base import IssueEvent, TraceContext
from contracts.calendar import month_of, next_month
from contracts.issues import (
    IssueAssigned,
    IssueCarriedOver,
    IssueClosed,
    IssueEscalated,
    IssueFedBack,
    IssueMerged,
    IssueRated,
    IssueReceived,
    IssueReopened,
    IssueResolved,
    IssueResolvedOnSpot,
    IssueSupervised,
    IssueTriaged,
    ProgressReported,
    ReferralAccepted,
    ReferralCompleted,
    ReferralSent,
    ReferralUnable,
)
from contracts.vocabulary import SATISFACTION, TIERS, UNABLE_REASONS

STATES: Final = (
    "received",
    "pending_review",
    "resolved_on_spot",
    "assigned",
    "in_progress",
    "completed",
    "fed_back",
    "rated",
    "closed",
    "merged",
)
TERMINAL: Final = frozenset({"closed", "merged"})
OPEN_STATES: Final = frozenset(STATES) - TERMINAL
APPLIED_KEPT: Final = 64  # event ids remembered per issue: enough to drop any redelivery the bus makes

_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
_CONTENT = ("satisfied", "basically_satisfied")
_NEXT = {  # what an open state waits for: the second half of the reason an event is refused
    "received": "it can only be triaged",
    "pending_review": "it waits for its review to resolve, escalate, carry over, assign or merge it",
    "resolved_on_spot": "it can only be fed back",
    "assigned": "it waits for its referral to be sent and answered by its handlers",
    "in_progress": "it waits for its handlers to report progress, complete it or declare it unable",
    "completed": "it can only be fed back",
    "fed_back": "it can only be rated, or closed unrated when the voter cannot be reached",
    "rated": "it can only be closed (when satisfied) or reopened (when dissatisfied)",
}


class IllegalTransition(ValueError):
    """An event the issue's current state does not allow; nothing was changed."""

    def __init__(self, issue_id: str, event_type: str, reason: str) -> None:
        super().__init__(f"{issue_id}: cannot apply {event_type}: {reason}")
        self.issue_id, self.event_type, self.reason = issue_id, event_type, reason


class IssueState(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Where one issue stands, as every service sees it after folding the same events."""

    issue_id: str
    state: str
    station_code: str
    received_at: datetime
    tier: str | None = None  # where it sits now: the tier/unit whose review holds it, or that assigned it
    unit: str | None = None
    category: str | None = None
    deputy_code: str | None = None
    month: str | None = None  # YYYY-MM of the review it waits for
    received_tier: str | None = None  # the receiving station's tier/unit
    received_unit: str | None = None
    assigned_tier: str | None = None  # the tier/unit whose review assigned it (unable/reopen come back here)
    assigned_unit: str | None = None
    resolved_tier: str | None = None  # the tier/unit that resolved it (on the spot, at review, or by its referral)
    resolved_unit: str | None = None
    referral_id: str | None = None
    handler_code: str | None = None  # the lead handler
    co_handlers: tuple[str, ...] = ()
    deadline: date | None = None
    co_replies: tuple[str, ...] = ()  # "<handler>:<event tag>" of co-handlers' replies, kept
    resolved_on_spot: bool = False
    fed_back_at: datetime | None = None
    satisfaction: str | None = None
    reopened: int = 0
    escalated: int = 0
    unable: int = 0
    merged_into: str | None = None
    origin_trace: TraceContext | None = None
    applied: tuple[str, ...] = ()  # ids of the events folded in, the latest APPLIED_KEPT; a repeat is a no-op


class _Refused(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason


def apply(state: IssueState | None, event: IssueEvent) -> IssueState:
    """Fold one event. Returns the new state; the same state if event.event_id was applied before;
    raises IllegalTransition (and changes nothing: states are immutable) for anything illegal."""
    event_id = str(event.event_id)
    if state is not None and event_id in state.applied:
        return state
    try:
        folded = _fold(state, event)
    except _Refused as refused:
        raise IllegalTransition(event.issue_id, _tag(event), refused.reason) from None
    return replace(folded, applied=(*folded.applied, event_id)[-APPLIED_KEPT:])


def check(state: IssueState | None, event: IssueEvent) -> str | None:
    """None if legal, else the reason (convenience over apply)."""
    try:
        apply(state, event)
    except IllegalTransition as illegal:
        return illegal.reason
    return None


def parent_tier(tier: str) -> str | None:
    """The tier a review escalates to: village -> town -> district -> city -> None."""
    if tier not in TIERS:
        raise ValueError(f"unknown tier {tier!r}")
    index = TIERS.index(tier)
    return TIERS[index - 1] if index else None


def return_point(state: IssueState) -> tuple[str, str]:
    """(tier, unit) where "unable" or "reopen" sends the issue back: the assigning tier/unit if it was
    assigned, else the resolving tier/unit."""
    if state.assigned_tier is not None and state.assigned_unit is not None:
        return state.assigned_tier, state.assigned_unit
    if state.resolved_tier is not None and state.resolved_unit is not None:
        return state.resolved_tier, state.resolved_unit
    raise ValueError(f"{state.issue_id} was never assigned or resolved: it has no return point")


def is_overdue(state: IssueState, today: date) -> bool:
    """Assigned (or in progress) past its deadline: oversight supervises it; the state does not change."""
    return state.state in ("assigned", "in_progress") and state.deadline is not None and state.deadline < today


def _fold(state: IssueState | None, event: IssueEvent) -> IssueState:
    if state is None:
        if not isinstance(event, IssueReceived):
            raise _Refused("unknown issue: nothing was received under this number")
        return _received(event)
    _require(event.issue_id == state.issue_id, f"the event is about {event.issue_id}, not {state.issue_id}")
    _require(not isinstance(event, IssueReceived), "already received")
    rule = _RULES.get(type(event))
    if rule is None:  # a newer producer's event type: tolerated, so old services keep folding
        return state
    if state.state in TERMINAL:
        raise _Refused(_terminal(state, event))
    return rule(state, event)


def _terminal(state: IssueState, event: IssueEvent) -> str:
    if state.state == "merged":
        return f"the issue is merged into {state.merged_into}"
    if isinstance(event, IssueRated) and state.satisfaction is not None:
        return f"already rated ({state.satisfaction}); the issue is closed"
    return "the issue is closed"


def _require(condition: bool, reason: str) -> None:
    if not condition:
        raise _Refused(reason)


def _in(state: IssueState, *states: str) -> None:
    _require(state.state in states, f"the issue is {state.state}; {_NEXT[state.state]}")


def _here(state: IssueState, tier: str, unit: str) -> None:
    _require(
        (tier, unit) == (state.tier, state.unit), f"the issue sits at {state.tier} {state.unit}, not at {tier} {unit}"
    )


def _tag(event: IssueEvent) -> str:
    tag = type(event).__struct_config__.tag
    return str(tag) if tag is not None else type(event).__name__


_NO_REFERRAL: Final = {"referral_id": None, "handler_code": None, "co_handlers": (), "deadline": None, "co_replies": ()}


def _received(event: IssueReceived) -> IssueState:
    return IssueState(
        issue_id=event.issue_id,
        state="received",
        station_code=event.station_code,
        received_at=event.occurred_at,
        deputy_code=event.deputy_code,
        origin_trace=event.trace or event.origin_trace,
    )


def _triaged(state: IssueState, event: IssueTriaged) -> IssueState:
    _in(state, "received")
    tier, unit = event.responsible_tier, event.responsible_unit
    _require(tier in TIERS, f"unknown tier {tier!r}")
    month = month_of(event.occurred_at)
    changes = {"tier": tier, "unit": unit, "received_tier": tier, "received_unit": unit, "month": month}
    return replace(state, state="pending_review", category=event.category, **changes)


def _resolved_on_spot(state: IssueState, event: IssueResolvedOnSpot) -> IssueState:
    _in(state, "pending_review")
    _require(state.escalated == 0, "an escalated issue is no longer resolved on the spot")
    received = (state.received_tier, state.received_unit)
    _require((state.tier, state.unit) == received, "only the receiving tier resolves an issue on the spot")
    _here(state, event.tier, event.unit)
    resolved = {"resolved_tier": event.tier, "resolved_unit": event.unit, "assigned_tier": None, "assigned_unit": None}
    return replace(state, state="resolved_on_spot", resolved_on_spot=True, **resolved)


def _resolved(state: IssueState, event: IssueResolved) -> IssueState:
    _in(state, "pending_review")
    _here(state, event.tier, event.unit)
    resolved = {"resolved_tier": event.tier, "resolved_unit": event.unit, "assigned_tier": None, "assigned_unit": None}
    return replace(state, state="completed", **resolved)


def _escalated(state: IssueState, event: IssueEscalated) -> IssueState:
    _in(state, "pending_review")
    _here(state, event.from_tier, event.from_unit)
    parent = parent_tier(event.from_tier)
    _require(parent is not None, "the city is the top tier: it has nowhere to escalate to")
    _require(event.to_tier == parent, f"a {event.from_tier} escalates to its {parent}, not to the {event.to_tier}")
    linkage = (
        "escalating to the city goes through city_linkage" if parent == "city" else "city_linkage is only for the city"
    )
    _require(event.city_linkage == (parent == "city"), linkage)
    month = month_of(event.occurred_at)
    return replace(state, tier=event.to_tier, unit=event.to_unit, escalated=state.escalated + 1, month=month)


def _carried_over(state: IssueState, event: IssueCarriedOver) -> IssueState:
    _in(state, "pending_review")
    _here(state, event.tier, event.unit)
    _require(bool(_MONTH.match(event.month)), f"{event.month!r} is not a month (YYYY-MM)")
    waits = state.month or event.month
    _require(event.month >= waits, f"the issue waits for the {waits} review, not for {event.month}'s")
    return replace(state, month=next_month(event.month))


def _assigned(state: IssueState, event: IssueAssigned) -> IssueState:
    _in(state, "pending_review")
    _here(state, event.tier, event.unit)
    lead = event.handler_code
    _require(lead not in event.co_handlers, f"{lead} cannot be both the lead and a co-handler")
    handlers = {"handler_code": lead, "co_handlers": event.co_handlers, "deadline": event.deadline}
    where = {"assigned_tier": event.tier, "assigned_unit": event.unit, "resolved_tier": None, "resolved_unit": None}
    return replace(state, state="assigned", **where, **(_NO_REFERRAL | handlers))


def _merged(state: IssueState, event: IssueMerged) -> IssueState:
    _in(state, "pending_review")
    _require(event.into_issue_id != state.issue_id, "an issue cannot be merged into itself")
    return replace(state, state="merged", merged_into=event.into_issue_id)


def _referral_sent(state: IssueState, event: ReferralSent) -> IssueState:
    _in(state, "assigned")
    _require(state.referral_id is None, f"referral {state.referral_id} was already sent")
    _require(event.handler_code == state.handler_code, f"the lead is {state.handler_code}, not {event.handler_code}")
    return replace(state, referral_id=event.referral_id)


_Reply: TypeAlias = ReferralAccepted | ProgressReported | ReferralCompleted | ReferralUnable


def _by_lead(state: IssueState, event: _Reply) -> bool:
    """True for the lead handler's reply, False for a co-handler's; refuses anyone else's. A co-handler's
    reply still counts once the lead has completed: joint handlers often report after the lead."""
    late = state.state in ("completed", "fed_back", "rated") and event.handler_code in state.co_handlers
    if not late:
        _in(state, "assigned", "in_progress")
    _require(state.referral_id is not None, "no referral sent yet")
    referral = state.referral_id
    _require(event.referral_id == referral, f"the issue's referral is {referral}, not {event.referral_id}")
    if event.handler_code == state.handler_code:
        return True
    _require(event.handler_code in state.co_handlers, f"{event.handler_code} is not a handler of referral {referral}")
    return False


def _kept(state: IssueState, event: _Reply) -> IssueState:
    reply = f"{event.handler_code}:{_tag(event)}"  # a co-handler's reply is kept, once, for the joint result
    return state if reply in state.co_replies else replace(state, co_replies=(*state.co_replies, reply))


def _progressed(state: IssueState, event: ReferralAccepted | ProgressReported) -> IssueState:
    return replace(state, state="in_progress") if _by_lead(state, event) else _kept(state, event)


def _referral_completed(state: IssueState, event: ReferralCompleted) -> IssueState:
    if not _by_lead(state, event):
        return _kept(state, event)
    return replace(state, state="completed", resolved_tier=state.assigned_tier, resolved_unit=state.assigned_unit)


def _referral_unable(state: IssueState, event: ReferralUnable) -> IssueState:
    lead = _by_lead(state, event)
    _require(event.reason_code in UNABLE_REASONS, f"unknown reason code {event.reason_code!r}")
    if not lead:
        return _kept(state, event)
    tier, unit = return_point(state)
    month = month_of(event.occurred_at)
    back = {"tier": tier, "unit": unit, "month": month, "unable": state.unable + 1}
    return replace(state, state="pending_review", **back, **_NO_REFERRAL)


def _fed_back(state: IssueState, event: IssueFedBack) -> IssueState:
    _in(state, "completed", "resolved_on_spot")
    return replace(state, state="fed_back", fed_back_at=event.occurred_at)


def _rated(state: IssueState, event: IssueRated) -> IssueState:
    _require(state.state != "rated", f"already rated ({state.satisfaction})")
    _in(state, "fed_back")
    _require(event.satisfaction in SATISFACTION, f"unknown satisfaction {event.satisfaction!r}")
    return replace(state, state="rated", satisfaction=event.satisfaction)


def _closed(state: IssueState, event: IssueClosed) -> IssueState:
    reason = (event.reason or "").strip()
    if event.by_oversight:
        _require(bool(reason), "an oversight close needs a reason")
    elif state.state == "rated":
        _require(state.satisfaction in _CONTENT, "a dissatisfied rating reopens the issue; it cannot be closed")
    elif state.state == "fed_back":
        _require(event.unreachable, f"the issue is fed_back; {_NEXT['fed_back']}")
        _require(bool(reason), "closing unrated (voter unreachable) needs a reason")
    else:
        _require(False, f"closing an issue that was never fed back (it is {state.state})")
    return replace(state, state="closed")


def _reopened(state: IssueState, event: IssueReopened) -> IssueState:
    _in(state, "rated")
    _require(state.satisfaction == "dissatisfied", f"only a dissatisfied rating reopens (it was {state.satisfaction})")
    tier, unit = return_point(state)
    _require(
        (event.tier, event.unit) == (tier, unit), f"the issue goes back to {tier} {unit}, not {event.tier} {event.unit}"
    )
    back = {"tier": tier, "unit": unit, "month": month_of(event.occurred_at), "reopened": state.reopened + 1}
    cleared = {"satisfaction": None, "fed_back_at": None, "resolved_on_spot": False}
    return replace(state, state="pending_review", **back, **cleared, **_NO_REFERRAL)


def _supervised(state: IssueState, event: IssueSupervised) -> IssueState:
    return state  # recorded (in `applied`) but no change: overdue work is supervised, not moved


_RULES: Final[dict[type[IssueEvent], Callable[[IssueState, Any], IssueState]]] = {
    IssueTriaged: _triaged,
    IssueResolvedOnSpot: _resolved_on_spot,
    IssueEscalated: _escalated,
    IssueResolved: _resolved,
    IssueCarriedOver: _carried_over,
    IssueAssigned: _assigned,
    IssueMerged: _merged,
    ReferralSent: _referral_sent,
    ReferralAccepted: _progressed,
    ProgressReported: _progressed,
    ReferralCompleted: _referral_completed,
    ReferralUnable: _referral_unable,
    IssueFedBack: _fed_back,
    IssueRated: _rated,
    IssueClosed: _closed,
    IssueReopened: _reopened,
    IssueSupervised: _supervised,
}
