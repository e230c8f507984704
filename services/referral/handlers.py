"""The referral service's handlers: assignments in, referrals out; handlers' replies in, issue events out."""

from __future__ import annotations

import asyncio
import logging

import msgspec

from common.bus import Outgoing, outgoing
from common.issue_states import IssueLocks
from contracts import lifecycle
from contracts.base import IssueEvent, Message
from contracts.commands import HandlerReply
from contracts.issues import IssueAssigned, IssueReceived
from contracts.lifecycle import IssueState
from contracts.topics import ISSUE_EVENTS
from services.referral import domain
from services.referral.ports import Clock, IssueStore, IssueTexts, ReferralNumbers, TopicAdmin

log = logging.getLogger(__name__)


class ReferralDeps(msgspec.Struct, frozen=True, kw_only=True):
    states: IssueStore
    texts: IssueTexts
    numbers: ReferralNumbers
    topics: TopicAdmin
    clock: Clock
    locks: IssueLocks  # shared by both consumers: a reply and an issue event must not interleave


def fold(state: IssueState | None, event: IssueEvent) -> IssueState | None:
    """Our copy of the issue with an event from the issue topic applied, or as it was if it refuses it.

    The topic is the truth: its producer checked the event against its own copy before publishing, and
    the topic keeps it whatever we think of it. If our copy refuses it, our copy is what is behind (an
    event it never got, a state it lost). Dead-lettering the event would change nothing on the topic and
    would only hide it, so we keep our copy, warn, and go on with the next event."""
    try:
        return lifecycle.apply(state, event)
    except lifecycle.IllegalTransition as exc:
        log.warning(
            "issue event does not fit our copy of the issue; copy kept as it was",
            extra={"event_id": str(event.event_id), "type": type(event).__name__, "reason": str(exc)},
        )
        return state


async def on_issue_event(event: Message, deps: ReferralDeps) -> list[Outgoing]:
    if not isinstance(event, IssueEvent):
        return []
    async with deps.locks.hold(event.issue_id):
        state = await deps.states.get(event.issue_id)
        folded = fold(state, event)
        if isinstance(event, IssueReceived):
            await deps.texts.keep(event.issue_id, domain.summary_of(event.text))
        if folded is not None and folded != state:
            await deps.states.put(folded)
        if isinstance(event, IssueAssigned):
            return await refer(event, folded, deps)
    return []


async def refer(assigned: IssueAssigned, state: IssueState | None, deps: ReferralDeps) -> list[Outgoing]:
    """The referral an assignment makes: to the lead and each co-handler, and `ReferralSent` on the issue.

    The referral's number and time are kept the first time, so a redelivered assignment yields the
    same records. It is issued even if our copy refused the assignment: the topic says it was made."""
    now = await deps.clock.now()
    allotment, summary = await asyncio.gather(  # two round trips at once: a referral is awaited
        deps.numbers.allot(assigned.issue_id, assigned.event_id, now), deps.texts.get(assigned.issue_id)
    )
    referral = domain.referral_id(assigned.issue_id, allotment.number)
    issued = domain.referrals_issued(
        assigned,
        referral,
        category=state.category if state and state.category else domain.UNCATEGORIZED,
        summary=summary or "",
        issued_at=allotment.issued_at,
    )
    sent = domain.referral_sent(assigned, referral, allotment.issued_at)
    after = fold(state, sent)  # ours: folded at once, and again (a no-op) when it comes back on the topic
    if after is not None and after != state:
        await deps.states.put(after)
    await deps.topics.ensure([topic for topic, _ in issued])
    log.info("referral issued", extra={"referral_id": referral, "handlers": len(issued)})
    return [outgoing(topic, assigned.issue_id, message) for topic, message in issued] + [
        outgoing(ISSUE_EVENTS, assigned.issue_id, sent)
    ]


async def on_reply(reply: HandlerReply, deps: ReferralDeps) -> list[Outgoing]:
    """A handler's reply becomes an issue event if the lifecycle allows it. A refusal (no such referral,
    not this referral's handler, already completed, ...) is an `IllegalTransition`, a ValueError: the
    consumer dead-letters the reply with the reason and nothing changes. A co-handler's reply is emitted
    too; the lifecycle keeps it without moving the issue (only the lead completes a joint referral)."""
    async with deps.locks.hold(reply.issue_id):
        state = await deps.states.get(reply.issue_id)
        if state is None:
            raise ValueError(f"issue_id: {reply.issue_id} has no referral known to the referral service")
        event = domain.reply_event(reply, state, await deps.clock.now())
        after = lifecycle.apply(state, event)
        if after != state:
            await deps.states.put(after)
    return [outgoing(ISSUE_EVENTS, reply.issue_id, event)]
