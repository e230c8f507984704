"""The gateway's read model of issues: built from issue events by the projector, read by the API."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import msgspec
import redis.asyncio as aioredis

from contracts.base import IssueEvent
from contracts.issues import IssueReceived, IssueSupervised
from contracts.registry import RegistryCommandApplied, RegistryCommandRefused, RegistryOutcomeMessage
from gateway.schemas import HistoryEntry, IssueView
from gateway.submissions import PENDING

_BASE_FIELDS = frozenset(
    (
        "type",
        "event_id",
        "occurred_at",
        "schema_version",
        "correlation_id",
        "causation_id",
        "trace",
        "origin_trace",
        "issue_id",
        "text",
        "submission_id",
    )
)

# Append each event once, however often it is delivered, and update the summary in the same step.
_APPLY = """
if redis.call('SADD', KEYS[2], ARGV[1]) == 0 then return 0 end
redis.call('RPUSH', KEYS[1], ARGV[2])
for i = 3, #ARGV, 2 do redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1]) end
return 1
"""


def history_entry(event: IssueEvent) -> HistoryEntry:
    fields = msgspec.structs.asdict(event)
    details = {k: v for k, v in fields.items() if k not in _BASE_FIELDS and v not in (None, (), "")}
    return HistoryEntry(
        type=event.__struct_config__.tag,
        event_id=str(event.event_id),
        occurred_at=event.occurred_at,
        details=msgspec.to_builtins(details),
    )


def summary_changes(event: IssueEvent) -> dict[str, str]:
    """What an event says about an issue besides its lifecycle state (which `note_state` files)."""
    changes: dict[str, str] = {}
    if isinstance(event, IssueReceived):
        changes |= {
            "state": "received",  # the lifecycle's state follows with the projector's batch
            "number": event.issue_id,
            "kind": event.kind,
            "channel": event.channel,
            "station_code": event.station_code,
            "text": event.text,
            "received_at": event.occurred_at.isoformat(),
            "voter": event.voter_masked or "",
        }
    elif not isinstance(event, IssueSupervised):
        for name in ("category", "responsible_tier", "responsible_unit"):
            if (value := getattr(event, name, None)) is not None:
                changes[name] = value
    return changes


class IssueReadModel:
    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis
        self._apply = redis.register_script(_APPLY)
        self._entry = msgspec.json.Encoder()
        self._entries = msgspec.json.Decoder(HistoryEntry)
        self._queued: list[IssueEvent] = []

    async def apply(self, event: IssueEvent) -> None:
        """Queue the event for the batch's write (`stage`, once per batch)."""
        self._queued.append(event)

    async def stage(self, pipe: aioredis.client.Pipeline) -> Callable[[], None]:
        """Queue in the caller's pipeline what the queued events write: each appended to its issue's history
        once, however often delivered, and the summaries updated. Returns what keeps the events for the next
        batch's write if that pipeline fails (`gateway.projector.write_batch`)."""
        queued, self._queued = self._queued, []
        for event in queued:
            number = event.issue_id
            args: list[str | bytes] = [str(event.event_id), self._entry.encode(history_entry(event))]
            for field, value in summary_changes(event).items():
                args += [field, value]
            keys = [f"gw:history:{number}", f"gw:seen:{number}", f"gw:issue:{number}"]
            await self._apply(keys=keys, args=args, client=pipe)
            if isinstance(event, IssueReceived):
                pipe.set(f"gw:submission:{event.submission_id}", number)
                pipe.set(f"gw:submission-of:{number}", str(event.submission_id))
                pipe.zrem(PENDING, str(event.submission_id))

        def undo() -> None:
            self._queued = queued + self._queued

        return undo

    async def issue(self, number: str) -> IssueView | None:
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.hgetall(f"gw:issue:{number}")
            pipe.lrange(f"gw:history:{number}", 0, -1)
            summary, history = await pipe.execute()
        if not summary or b"number" not in summary:
            return None  # an event may arrive before IssueReceived is projected: not yet visible
        return _view(summary, [self._entries.decode(h) for h in history])

    async def summaries(self, numbers: list[str]) -> list[IssueView]:
        """The issues without their history, in the order asked (those not yet visible left out)."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for number in numbers:
                pipe.hgetall(f"gw:issue:{number}")
            found = await pipe.execute()
        return [_view(summary, []) for summary in found if summary and b"number" in summary]

    async def numbers_for(self, submission_ids: list[str]) -> list[str | None]:
        """The issue number of each submission, where it has one yet."""
        found = await self._redis.mget([f"gw:submission:{s}" for s in submission_ids]) if submission_ids else []
        return [n.decode() if n else None for n in found]

    async def submissions_for(self, numbers: list[str]) -> list[str | None]:
        """The submission id behind each issue number, where the number exists."""
        found = await self._redis.mget([f"gw:submission-of:{n}" for n in numbers]) if numbers else []
        return [s.decode() if s else None for s in found]

    async def number_for(self, submission_id: uuid.UUID) -> str | None:
        number = await self._redis.get(f"gw:submission:{submission_id}")
        return number.decode() if number else None


def _view(summary: dict[bytes, bytes], history: list[HistoryEntry]) -> IssueView:
    view: dict[str, object] = {k.decode(): v.decode() for k, v in summary.items() if v}
    view["voter"] = view.get("voter") or None
    view["co_handlers"] = str(view["co_handlers"]).split(",") if view.get("co_handlers") else []
    view["history"] = history
    return msgspec.convert(view, IssueView, strict=False)


class RegistryOutcomes:
    """What became of each registry command, for the API to answer with (kept a week)."""

    TTL_S = 7 * 24 * 3600

    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis
        self._decoder = msgspec.json.Decoder(RegistryOutcomeMessage)

    async def apply(self, outcome: RegistryCommandApplied | RegistryCommandRefused) -> None:
        await self._redis.set(f"gw:registry-outcome:{outcome.command_id}", msgspec.json.encode(outcome), ex=self.TTL_S)

    async def get(self, command_id: uuid.UUID) -> RegistryCommandApplied | RegistryCommandRefused | None:
        stored = await self._redis.get(f"gw:registry-outcome:{command_id}")
        return self._decoder.decode(stored) if stored else None
