"""How far a consumer group has got, kept in Valkey with its state: handled event ids and positions."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import redis.asyncio as aioredis

# One command for a whole batch's marks: building 500 SETs is most of a batch's client-side Valkey work.
_MARK = "for _, key in ipairs(KEYS) do redis.call('SET', key, '1', 'EX', ARGV[1]) end"


class ProcessedEvents:
    """Which event ids a consumer group has fully handled (state stored and outputs published):
    a key `<group>:done:<event id>` each, expiring after `ttl_s`."""

    def __init__(self, redis: aioredis.Redis, group: str, ttl_s: int) -> None:
        self._redis, self._prefix, self._ttl_s = redis, f"{group}:done:", ttl_s

    async def unseen(self, ids: list[str]) -> set[str]:
        if not ids:
            return set()
        found = await self._redis.mget([self._prefix + event_id for event_id in ids])
        return {event_id for event_id, hit in zip(ids, found, strict=True) if hit is None}

    def mark(self, pipe: aioredis.client.Pipeline, ids: list[str]) -> None:
        if ids:
            pipe.eval(_MARK, len(ids), *(self._prefix + event_id for event_id in ids), self._ttl_s)


class Positions:
    """A consumer group's next offset per partition, kept with its state."""

    def __init__(self, redis: aioredis.Redis, group: str) -> None:
        self._redis, self._key = redis, f"{group}:positions"

    def advance(self, pipe: aioredis.client.Pipeline, records: tuple[Any, ...]) -> None:
        after: dict[str, int] = {}
        for r in records:
            field = f"{r.topic}:{r.partition}"
            after[field] = max(after.get(field, 0), r.offset + 1)
        if after:
            pipe.hset(self._key, mapping=after)

    async def stored(self) -> dict[tuple[str, int], int]:
        positions = {}
        for field, value in (await self._redis.hgetall(self._key)).items():
            topic, _, partition = field.decode().rpartition(":")
            positions[(topic, int(partition))] = int(value)
        return positions

    async def behind(self, ends: Mapping[tuple[str, int], int]) -> int:
        """How many records the group has yet to handle, given each (topic, partition)'s end offset."""
        stored = await self.stored()
        return sum(max(0, end - stored.get(tp, 0)) for tp, end in ends.items())


async def clamp_positions(redis: aioredis.Redis, ends: dict[str, int]) -> dict[str, int]:
    """A new broker holds less than the old one did (what the archive had): no group may keep a position
    past a partition's end, or it would skip the records the outboxes publish again there. Run it before
    any consumer starts. Returns what was moved back, by `group topic:partition`."""
    moved: dict[str, int] = {}
    async for key in redis.scan_iter(match="*:positions", count=1000):
        for field, value in (await redis.hgetall(key)).items():
            end = ends.get(field.decode(), 0)
            if int(value) > end:
                await redis.hset(key, field, end)
                moved[f"{key.decode().removesuffix(':positions')} {field.decode()}"] = int(value) - end
    return moved
