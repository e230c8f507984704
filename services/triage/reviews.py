"""Pure rules of the monthly reviews (研判) and of month end: what a decision becomes, or why it is refused.

A review at a tier (the village committee, the town presidium, the district directors' meeting, the
city's face-to-face meeting) decides each open issue sitting at its unit: resolve it at this tier,
assign it to a handler with a deadline (one lead, co-handlers for joint handling), escalate it to the
parent tier (the district reaches the city through city linkage), or merge it into another issue.
Whether the issue may take that step is the lifecycle's call (`contracts.lifecycle`); whether the
handler, the parent unit and the deadline make sense is the registry's and this module's.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

import msgspec

from common.clock import month_of
from common.registry.view import RegistryView
from contracts.base import EVENT_ID_NAMESPACE, derive_event_id
from contracts.commands import RecordReviewDecision
from contracts.issues import IssueAssigned, IssueCarriedOver, IssueEscalated, IssueMerged, IssueResolved
from contracts.lifecycle import IssueState, check, parent_tier
from contracts.registry import Handler
from contracts.vocabulary import TIERS

# Which handlers a tier may assign to: its own unit's, except that a village assigns to its town's
# offices (a village has no departments of its own).
_HANDLER_KIND = {
    "village": "town_office",
    "town": "town_office",
    "district": "district_department",
    "city": "city_department",
}

Decided = IssueResolved | IssueAssigned | IssueEscalated | IssueMerged


class Refusal(msgspec.Struct, frozen=True):
    field: str
    reason: str


class Policy(msgspec.Struct, frozen=True, kw_only=True):
    """Per-tier settings: the default referral deadline, and what month end does to an undecided issue."""

    deadline_days: dict[str, int]
    month_end: dict[str, str]  # tier -> "escalate" or "carry_over"

    @classmethod
    def parse(cls, deadline_days: str, month_end: str) -> Policy:
        days = {tier: int(n) for tier, n in _pairs(deadline_days, "REVIEW_DEADLINE_DAYS")}
        ends = dict(_pairs(month_end, "MONTH_END_POLICY"))
        for tier, action in ends.items():
            if action not in ("escalate", "carry_over"):
                raise ValueError(f"MONTH_END_POLICY: {tier}={action}: expected escalate or carry_over")
        return cls(deadline_days=days, month_end=ends)


def _pairs(spec: str, name: str) -> list[tuple[str, str]]:
    pairs = []
    for item in filter(None, (part.strip() for part in spec.split(","))):
        tier, _, value = item.partition(":")
        if tier not in TIERS or not value:
            raise ValueError(f"{name}: {item!r} is not <tier>:<value> with a tier of {', '.join(TIERS)}")
        pairs.append((tier, value))
    return pairs


def handler_unit(view: RegistryView, tier: str, unit: str) -> str | None:
    """The unit whose handlers a review at (tier, unit) assigns to."""
    if tier == "village":
        found = view.unit(unit)
        return found.parent_code if found else None
    return unit


def _check_handler(view: RegistryView, tier: str, unit: str, code: str) -> str | None:
    handler = view.get(Handler, code)
    if handler is None:
        return f"no handler {code} in the registry"
    owner = handler_unit(view, tier, unit)
    if handler.unit_code != owner or handler.kind != _HANDLER_KIND[tier]:
        return f"{code} ({handler.name}) is not a handler a {tier} review at {unit} can assign to"
    return None


def decide(
    command: RecordReviewDecision, state: IssueState | None, view: RegistryView, today: date, policy: Policy
) -> Decided | Refusal:
    """The event a review decision becomes, or why it cannot be taken. Pure: the same inputs give the
    same event (its id derives from the command), so a redelivered decision changes nothing."""
    if command.tier not in TIERS:
        return Refusal("tier", f"{command.tier!r} is not one of {', '.join(TIERS)}")
    common = {
        "event_id": derive_event_id(command.event_id, "decided"),
        "occurred_at": command.occurred_at,
        "correlation_id": command.correlation_id,
        "causation_id": command.event_id,
        "issue_id": command.issue_id,
        "origin_trace": state.origin_trace if state else None,
    }
    event: Decided
    if command.decision == "resolve":
        if not (command.note or "").strip():
            return Refusal("note", "say how the tier resolved it")
        event = IssueResolved(
            **common, tier=command.tier, unit=command.unit, resolution=command.note, review_id=command.review_id
        )
    elif command.decision == "assign":
        if not command.handler_code:
            return Refusal("handler_code", "an assignment needs a lead handler")
        for field, code in [("handler_code", command.handler_code), *(("co_handlers", c) for c in command.co_handlers)]:
            if problem := _check_handler(view, command.tier, command.unit, code):
                return Refusal(field, problem)
        deadline = command.deadline or today + timedelta(days=policy.deadline_days.get(command.tier, 30))
        if deadline < today:
            return Refusal("deadline", f"{deadline} is already past")
        event = IssueAssigned(
            **common,
            tier=command.tier,
            unit=command.unit,
            handler_code=command.handler_code,
            co_handlers=tuple(command.co_handlers),
            deadline=deadline,
            review_id=command.review_id,
        )
    elif command.decision == "escalate":
        escalated = escalation(state, view, command.tier, command.unit, common, reason=command.note)
        if isinstance(escalated, Refusal):
            return escalated
        event = msgspec.structs.replace(escalated, review_id=command.review_id)
    elif command.decision == "merge":
        if not command.into_issue_id or command.into_issue_id == command.issue_id:
            return Refusal("into_issue_id", "name the other issue this one duplicates")
        event = IssueMerged(**common, into_issue_id=command.into_issue_id, review_id=command.review_id)
    else:
        return Refusal("decision", f"{command.decision!r} is not resolve, assign, escalate or merge")
    if reason := check(state, event):
        return Refusal("issue_id", reason)
    return event


def escalation(
    state: IssueState | None, view: RegistryView, tier: str, unit: str, common: dict, *, reason: str | None = None
) -> IssueEscalated | Refusal:
    to_tier = parent_tier(tier)
    found = view.unit(unit)
    if to_tier is None or found is None or not found.parent_code:
        return Refusal("decision", f"{tier} {unit} has no tier above it to escalate to")
    return IssueEscalated(
        **common,
        from_tier=tier,
        from_unit=unit,
        to_tier=to_tier,
        to_unit=found.parent_code,
        reason=reason,
        city_linkage=to_tier == "city",
    )


def month_end(
    state: IssueState, view: RegistryView, policy: Policy, now: datetime
) -> IssueEscalated | IssueCarriedOver | None:
    """What month end does to an issue still waiting for a review of a month that has ended: escalate
    it where the tier's policy says so (never past the city), otherwise carry it over, visibly."""
    if state.state != "pending_review" or not state.month or state.month >= month_of(now):
        return None
    assert state.tier and state.unit
    cause = uuid.uuid5(EVENT_ID_NAMESPACE, f"month-end:{state.issue_id}:{state.month}:{state.tier}:{state.unit}")
    common = {
        "event_id": derive_event_id(cause, "month-end"),
        "occurred_at": now,
        "issue_id": state.issue_id,
        "origin_trace": state.origin_trace,
    }
    if policy.month_end.get(state.tier) == "escalate" and state.tier != "city":
        escalated = escalation(
            state, view, state.tier, state.unit, common, reason=f"not reviewed in {state.month}: escalated by policy"
        )
        if isinstance(escalated, IssueEscalated):
            return msgspec.structs.replace(escalated, automatic=True)
    return IssueCarriedOver(**common, tier=state.tier, unit=state.unit, month=state.month)
