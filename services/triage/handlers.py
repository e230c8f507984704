"""Triage's handlers: issue events in (folded into triage's copy of each issue, triaging new ones),
review decisions in (applied to their issue, or refused with the reason), month end on the clock."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

import msgspec

from common.bus import Outgoing, outgoing
from common.clock import CHINA
from common.issue_states import IssueLocks, IssueStates
from common.registry.cache import LiveRegistry
from contracts.base import IssueEvent, Message, derive_event_id
from contracts.commands import DecisionRefusal, RecordReview, RecordReviewDecision, ReviewPartDone
from contracts.issues import IssueReceived, IssueResolvedOnSpot
from contracts.lifecycle import IllegalTransition, IssueState, apply
from contracts.topics import ISSUE_EVENTS, REVIEW_OUTCOMES
from services.triage import domain, reviews
from services.triage.adapters import RedisPendingIndex, RedisReviews
from services.triage.ports import Clock, TriageStore

log = logging.getLogger(__name__)
Publish = Callable[[list[Outgoing]], Awaitable[None]]


class TriageDeps(msgspec.Struct, frozen=True, kw_only=True):
    store: TriageStore
    rules: domain.CategoryRules
    registry: LiveRegistry
    states: IssueStates
    locks: IssueLocks
    pending: RedisPendingIndex
    reviews: RedisReviews
    policy: reviews.Policy
    clock: Clock


async def prefetch(messages: list[Message], deps: TriageDeps) -> None:
    """Load every issue a batch touches in one round trip (a merge's target too)."""
    decisions = [m for m in messages if isinstance(m, RecordReviewDecision)]
    decisions += [d for m in messages if isinstance(m, RecordReview) for d in m.decisions]  # type: ignore[misc]
    ids = [m.issue_id for m in messages if isinstance(m, IssueEvent)] + [d.issue_id for d in decisions]
    ids += [d.into_issue_id for d in decisions if d.into_issue_id]
    await deps.states.prefetch(ids)


async def flush(deps: TriageDeps) -> None:
    await asyncio.gather(deps.states.flush(), deps.pending.flush(), deps.reviews.flush())


async def _keep(deps: TriageDeps, state: IssueState) -> None:
    await deps.states.put(state)
    await deps.pending.note(state.issue_id, state.month if state.state == "pending_review" else None)


def _fold(state: IssueState | None, event: IssueEvent) -> IssueState | None:
    """Fold an event from the topic. The topic is the truth: an event our copy finds illegal means the
    copy missed something (it cannot make the event untrue), so it is logged and the copy kept."""
    try:
        return apply(state, event)
    except IllegalTransition as exc:
        log.warning("issue event does not fit triage's copy of the issue", extra={"error": str(exc)})
        return state


async def on_issue_received(event: IssueReceived, deps: TriageDeps, state: IssueState | None) -> list[Outgoing]:
    if deps.registry.view.station(event.station_code) is None:
        await deps.registry.sync()  # a station created a moment ago may not have reached us yet
    now = await deps.clock.now()  # the platform's clock, as month end's: the review's month is counted on it
    decided = await deps.store.keep_first(domain.triage(event, deps.rules, deps.registry.view, now=now))
    out: list[IssueEvent] = [domain.triaged_event(event, decided)]
    if event.on_spot_resolution:
        out.append(
            IssueResolvedOnSpot(
                event_id=derive_event_id(event.event_id, "resolved_on_spot"),
                occurred_at=decided.decided_at,
                correlation_id=event.correlation_id,
                causation_id=event.event_id,
                issue_id=event.issue_id,
                origin_trace=event.trace,
                tier=decided.responsible_tier,
                unit=decided.responsible_unit,
                resolution=event.on_spot_resolution,
                resolved_by=event.deputy_code,
            )
        )
    for made in out:
        state = apply(state, made)  # our own steps: illegal would be a bug, so it raises
    if state is not None:
        await _keep(deps, state)
    return [outgoing(ISSUE_EVENTS, event.issue_id, made) for made in out]


async def on_issue_event(event: Message, deps: TriageDeps) -> list[Outgoing]:
    if not isinstance(event, IssueEvent):
        return []
    async with deps.locks.hold(event.issue_id):
        before = await deps.states.get(event.issue_id)
        state = _fold(before, event)
        if isinstance(event, IssueReceived) and state is not None:
            # Always, even if our copy is past it: a redelivery after a crash must publish again what the
            # first delivery may not have (the same ids, so readers drop what they already have).
            return await on_issue_received(event, deps, state)
        if state is not None and state is not before:
            await _keep(deps, state)
    return []


async def on_review(command: Message, deps: TriageDeps) -> list[Outgoing]:
    """A review (or a part of a big one): each decision applied to its issue or refused, in order, and
    one record of what became of them all. A record of one decision, as reviews were once published, is
    a part of one."""
    if isinstance(command, RecordReview):
        decisions, part = command.each(), command.part
    elif isinstance(command, RecordReviewDecision):
        decisions, part = [command], 1
    else:
        return []
    out: list[Outgoing] = []
    applied: dict[str, str] = {}
    refused: list[DecisionRefusal] = []
    for decision in decisions:
        decided = await _decide(decision, deps)
        if isinstance(decided, reviews.Refusal):
            refused.append(
                DecisionRefusal(
                    issue_id=decision.issue_id, decision=decision.decision, field=decided.field, reason=decided.reason
                )
            )
        else:
            applied[decision.issue_id] = decision.decision
            out.append(outgoing(ISSUE_EVENTS, decision.issue_id, decided))
    done = ReviewPartDone(
        event_id=derive_event_id(command.event_id, "outcome"),
        correlation_id=command.correlation_id,
        causation_id=command.event_id,
        review_id=command.review_id,
        part=part,
        applied=applied,
        refused=tuple(refused),
    )
    return [*out, outgoing(REVIEW_OUTCOMES, command.review_id, done)]


async def _decide(command: RecordReviewDecision, deps: TriageDeps) -> reviews.Decided | reviews.Refusal:
    """One decision: the event it becomes, folded into triage's copy at once, or why it is refused."""
    deps.reviews.note(
        command.review_id,
        {
            "tier": command.tier,
            "unit": command.unit,
            "month": command.month,
            "held_on": command.held_on.isoformat() if command.held_on else "",
            "participants": "、".join(command.participants),
            "decided_by": command.decided_by or "",
        },
    )
    async with deps.locks.hold(command.issue_id):
        state = await deps.states.get(command.issue_id)
        today = command.occurred_at.astimezone(CHINA).date()
        decided = reviews.decide(command, state, deps.registry.view, today, deps.policy)
        if not isinstance(decided, reviews.Refusal) and command.decision == "merge":
            if await deps.states.get(command.into_issue_id or "") is None:
                decided = reviews.Refusal("into_issue_id", f"no issue {command.into_issue_id}")
        if not isinstance(decided, reviews.Refusal):
            await _keep(deps, apply(state, decided))
    return decided


async def month_end(deps: TriageDeps, now: datetime, month: str, publish: Publish) -> int:
    """The month-end step for every issue still waiting for the review of a month before `month`.
    Each step is published before triage's copy records it: a crash in between repeats the step with
    the same event id next time, and readers drop the repeat."""
    done = 0
    await flush(deps)
    for issue_id in await deps.pending.waiting_before(month):
        async with deps.locks.hold(issue_id):
            state = await deps.states.get(issue_id)
            event = reviews.month_end(state, deps.registry.view, deps.policy, now) if state else None
            if state is None or event is None:
                await deps.pending.note(issue_id, state.month if state and state.state == "pending_review" else None)
                continue
            await publish([outgoing(ISSUE_EVENTS, issue_id, event)])
            await _keep(deps, apply(state, event))
            done += 1
    await flush(deps)
    return done
