"""Triage's handlers: issue events in, triage decisions out."""

from __future__ import annotations

import msgspec

from common.bus import Outgoing, outgoing
from common.registry.cache import LiveRegistry
from contracts.base import Message, utc_now
from contracts.issues import IssueReceived
from contracts.topics import ISSUE_EVENTS
from services.triage import domain
from services.triage.ports import TriageStore


class TriageDeps(msgspec.Struct, frozen=True):
    store: TriageStore
    rules: domain.CategoryRules
    registry: LiveRegistry


async def on_issue_received(event: IssueReceived, deps: TriageDeps) -> list[Outgoing]:
    if deps.registry.view.station(event.station_code) is None:
        await deps.registry.sync()  # a station created a moment ago may not have reached us yet
    decided = await deps.store.keep_first(domain.triage(event, deps.rules, deps.registry.view, now=utc_now()))
    return [outgoing(ISSUE_EVENTS, event.issue_id, domain.triaged_event(event, decided))]


async def on_issue_event(event: Message, deps: TriageDeps) -> list[Outgoing]:
    if isinstance(event, IssueReceived):
        return await on_issue_received(event, deps)
    return []  # triage's own events and later stages are not its input yet
