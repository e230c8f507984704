"""The registry's handlers: commands in, entity events and an outcome out; issue events in, usage noted."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import msgspec

from common.bus import Outgoing, outgoing
from common.registry.cache import LiveRegistry
from contracts.base import Message, derive_event_id
from contracts.issues import IssueAssigned, IssueClosed, IssueMerged, IssueReceived, IssueReopened
from contracts.registry import (
    EntityPut,
    EntityRemoved,
    PutEntities,
    RegistryCommandApplied,
    RegistryCommandRefused,
    RemoveEntities,
    entity_key,
    entity_name,
)
from contracts.topics import REGISTRY_ENTITIES, REGISTRY_OUTCOMES
from services.registry import domain
from services.registry.ports import Usage

log = logging.getLogger(__name__)


class RegistryDeps(msgspec.Struct, frozen=True, kw_only=True):
    registry: LiveRegistry  # the service's own cache of its topic
    usage: Usage
    # Waits until the usage counts hold every issue event published so far (None: count them as they are).
    usage_caught_up: Callable[[], Awaitable[bool]] | None = None


async def on_command(command: PutEntities | RemoveEntities, deps: RegistryDeps) -> list[Outgoing]:
    await deps.registry.sync()  # check against everything published before, by any instance
    view = deps.registry.view
    if isinstance(command, PutEntities):
        decision = domain.decide_put(view, command.rows)
    else:
        if deps.usage_caught_up is not None:
            await deps.usage_caught_up()  # an issue received a moment ago still holds its station
        in_use = await deps.usage.counts([entity_key(r.entity, r.code) for r in command.refs])
        decision = domain.decide_remove(view, command.refs, in_use)
    return decision_records(command, decision)


def decision_records(command: PutEntities | RemoveEntities, decision: domain.Decision) -> list[Outgoing]:
    """The entity events of a decision, in order, then its outcome. Ids derive from the command, so a
    redelivered command that changes nothing more publishes an outcome its readers already have."""

    def common(what: str) -> dict[str, object]:
        return {
            "event_id": derive_event_id(command.event_id, what),
            "correlation_id": command.correlation_id,
            "causation_id": command.event_id,
            "trace": command.trace,
        }

    out = []
    for entity in decision.put:
        key = entity_key(entity_name(entity), entity.code)
        event = EntityPut(**common(f"put:{key}"), entity=entity, command_id=command.command_id)
        out.append(outgoing(REGISTRY_ENTITIES, key, event))
    for ref in decision.removed:
        key = entity_key(ref.entity, ref.code)
        out.append(
            outgoing(
                REGISTRY_ENTITIES, key, EntityRemoved(**common(f"remove:{key}"), ref=ref, command_id=command.command_id)
            )
        )
    outcome: RegistryCommandApplied | RegistryCommandRefused
    if decision.problems:
        outcome = RegistryCommandRefused(**common("outcome"), command_id=command.command_id, problems=decision.problems)
        log.info(
            "registry command refused",
            extra={"command_id": str(command.command_id), "problems": len(decision.problems)},
        )
    else:
        outcome = RegistryCommandApplied(
            **common("outcome"),
            command_id=command.command_id,
            put=len(decision.put),
            removed=len(decision.removed),
            unchanged=decision.unchanged,
        )
    out.append(outgoing(REGISTRY_OUTCOMES, str(command.command_id), outcome))
    return out


USAGE_EVENTS = frozenset(
    str(e.__struct_config__.tag) for e in (IssueReceived, IssueAssigned, IssueClosed, IssueMerged, IssueReopened)
)


async def on_issue_event(event: Message, deps: RegistryDeps) -> list[Outgoing]:
    """Keep count of what open issues point at, so nothing they need is removed."""
    if isinstance(event, IssueReceived):
        keys = [entity_key("station", event.station_code)]
        if event.deputy_code:
            keys.append(entity_key("deputy", event.deputy_code))
        await deps.usage.note(event.issue_id, keys)
    elif isinstance(event, IssueAssigned):
        handlers = (event.handler_code, *event.co_handlers)
        await deps.usage.note(event.issue_id, [entity_key("handler", code) for code in handlers])
    elif isinstance(event, IssueClosed | IssueMerged):
        await deps.usage.release(event.issue_id)
    elif isinstance(event, IssueReopened):
        await deps.usage.restore(event.issue_id)
    return []
