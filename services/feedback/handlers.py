"""Feedback's handlers: issue events in, feedback and notifications out; ratings in, rated and closed or
reopened out. Each works under the issue's lock, on feedback's own copy of the issue's state."""

from __future__ import annotations

import logging
from datetime import timedelta

import msgspec

from common.bus import Outgoing, outgoing
from common.issue_states import IssueLocks
from contracts.base import IssueEvent, Message
from contracts.commands import CloseUnreachable, RateIssue
from contracts.issues import IssueClosed, IssueRated, IssueReopened
from contracts.lifecycle import IllegalTransition, IssueState, apply
from contracts.topics import ISSUE_EVENTS, NOTIFICATIONS
from services.feedback import domain
from services.feedback.ports import Clock, IssueStateStore

log = logging.getLogger(__name__)


class FeedbackDeps(msgspec.Struct, frozen=True):
    states: IssueStateStore
    locks: IssueLocks
    clock: Clock
    unreachable_after: timedelta


async def on_issue_event(event: Message, deps: FeedbackDeps) -> list[Outgoing]:
    """Fold the event into feedback's copy; feed back an issue the event completed or resolved on the spot."""
    if not isinstance(event, IssueEvent):
        return []
    async with deps.locks.hold(event.issue_id):
        state = await deps.states.get(event.issue_id)
        try:
            folded = apply(state, event)
        except IllegalTransition as illegal:
            # The topic is the truth: its events were published by their owners after their own checks, and
            # every later event builds on them. Dead-lettering one here would only leave this copy behind the
            # topic; so keep the copy as it is, say so, and carry on with the next event.
            log.warning(
                "issue event does not fit feedback's copy of the issue; copy kept",
                extra={"event_id": str(event.event_id), "event_type": illegal.event_type, "reason": illegal.reason},
            )
            return []
        out: list[Outgoing] = []
        if domain.feedback_due(event, folded):
            folded, out = await _feed_back(folded, event, deps)
        if folded is not state:
            await deps.states.put(folded)
        return out


async def _feed_back(
    folded: IssueState, cause: domain.Outcome, deps: FeedbackDeps
) -> tuple[IssueState, list[Outgoing]]:
    """Feedback for the outcome `cause` reports, folded in at once so a rating finds the issue fed back.
    Redelivered, the cause was fed back before: the same feedback again, at the time kept in the state."""
    already = str(domain.fed_back_id(cause)) in folded.applied
    now = folded.fed_back_at if already and folded.fed_back_at else await deps.clock.now()
    fed_back = domain.feed_back(folded, cause, now)
    out = [outgoing(ISSUE_EVENTS, fed_back.issue_id, fed_back)]
    out += [outgoing(NOTIFICATIONS, n.issue_id, n) for n in domain.notifications(fed_back, cause)]
    return apply(folded, fed_back), out


async def on_rating(command: Message, deps: FeedbackDeps) -> list[Outgoing]:
    """A voter's rating, or a close of an issue whose voter could not be reached. Anything the issue's state
    does not allow (rating twice, rating before feedback, closing too soon) is a ValueError naming why:
    the consumer dead-letters the command with that reason."""
    if not isinstance(command, RateIssue | CloseUnreachable):
        return []
    async with deps.locks.hold(command.issue_id):
        state = await deps.states.get(command.issue_id)
        if isinstance(command, RateIssue):
            events = _rate(state, command)
        else:
            # The gateway stamps the command with the platform clock; our own reading may be up to half a
            # second behind a clock just moved forward, so the later of the two is "now".
            now = max(await deps.clock.now(), command.occurred_at)
            events = [domain.close_unreachable(state, command, now, deps.unreachable_after)]
        folded = state
        for event in events:
            folded = apply(folded, event)  # IllegalTransition is a ValueError: dead-lettered with its reason
        if folded is not state and folded is not None:
            await deps.states.put(folded)
        return [outgoing(ISSUE_EVENTS, event.issue_id, event) for event in events]


def _rate(state: IssueState | None, command: RateIssue) -> list[IssueRated | IssueClosed | IssueReopened]:
    rated = domain.rating(command, state)
    rated_state = apply(state, rated)
    return [rated, domain.after_rating(rated_state, rated)]
