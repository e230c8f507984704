"""Every producer keeps what it published until the event archive holds it, and publishes again what
the archive never got (a broker that died between its acknowledgement and the archive's write).

Entries live in Valkey beside the producer's state: `outbox:<owner>` (event id -> entry) and
`outbox:<owner>:due` (event id -> when to look at it again). The archiver records how far it has
written each partition in `archive:hwm:<epoch>`; the launcher starts a new epoch with every new broker,
so an offset is only ever compared with the archive of the broker that gave it out.
"""

from __future__ import annotations

import logging
import time

import msgspec
import redis.asyncio as aioredis
from faststream.kafka import KafkaBroker

from common.bus import Outgoing, Published, publish_all

log = logging.getLogger(__name__)
EPOCH_KEY = "platform:epoch"


def archive_hwm_key(epoch: str) -> str:
    return f"archive:hwm:{epoch}"


class Entry(msgspec.Struct, array_like=True):
    topic: str
    key: str
    value: bytes
    headers: dict[str, str]
    epoch: str = ""
    partition: int = -1  # -1: not yet acknowledged by a broker
    offset: int = -1
    attempts: int = 0

    @classmethod
    def of(cls, record: Outgoing) -> Entry:
        return cls(record.topic, record.key, record.value, record.headers)

    def record(self) -> Outgoing:
        return Outgoing(self.topic, self.key, self.value, self.headers)


_entries = msgspec.msgpack.Encoder()
_entry = msgspec.msgpack.Decoder(Entry)


async def current_epoch(redis: aioredis.Redis) -> str:
    epoch = await redis.get(EPOCH_KEY)
    return epoch.decode() if epoch else "0"


class Outbox:
    def __init__(self, redis: aioredis.Redis, owner: str, epoch: str, republish_after_s: float) -> None:
        self._redis, self.owner, self.epoch, self.after_s = redis, owner, epoch, republish_after_s
        self._hash, self._due, self._lock = f"outbox:{owner}", f"outbox:{owner}:due", f"outbox:{owner}:lock"

    def unpublished(self, record: Outgoing) -> tuple[list[str], list[str | bytes | float]]:
        """Keys and arguments for writing `record` as not yet published (for a caller's Lua step)."""
        event_id = record.headers["event-id"]
        return [self._hash, self._due], [event_id, _entries.encode(Entry.of(record)), time.time() + self.after_s]

    def keep(self, pipe: aioredis.client.Pipeline, published: list[Published]) -> None:
        """Queue, in the caller's transaction, the entries of records the broker acknowledged."""
        due = time.time() + self.after_s
        for p in published:
            event_id = p.record.headers.get("event-id") or f"{p.record.topic}:{p.partition}:{p.offset}"
            entry = Entry(
                p.record.topic, p.record.key, p.record.value, p.record.headers, self.epoch, p.partition, p.offset
            )
            pipe.hset(self._hash, event_id, _entries.encode(entry))
            pipe.zadd(self._due, {event_id: due})

    async def sweep(self, broker: KafkaBroker) -> tuple[int, int]:
        """Drop what the archive holds and publish again what it does not; returns (confirmed, republished)."""
        if not await self._redis.set(self._lock, 1, nx=True, px=30_000):
            return 0, 0  # another instance of this owner is sweeping
        try:
            return await self._sweep(broker)
        finally:
            await self._redis.delete(self._lock)

    async def _sweep(self, broker: KafkaBroker) -> tuple[int, int]:
        now = time.time()
        ids = [i.decode() for i in await self._redis.zrangebyscore(self._due, "-inf", now, start=0, num=1000)]
        if not ids:
            return 0, 0
        raw = await self._redis.hmget(self._hash, ids)
        entries = {i: _entry.decode(r) for i, r in zip(ids, raw, strict=True) if r is not None}
        marks = await self._archived_marks({e.epoch for e in entries.values()})
        confirmed = [i for i, e in entries.items() if marks.get((e.epoch, f"{e.topic}:{e.partition}"), -1) > e.offset]
        again = {i: e for i, e in entries.items() if i not in set(confirmed)}
        published = await publish_all(broker, [e.record() for e in again.values()]) if again else []
        async with self._redis.pipeline(transaction=True) as pipe:
            gone = confirmed + [i for i in ids if i not in entries]
            if gone:
                pipe.hdel(self._hash, *gone)
                pipe.zrem(self._due, *gone)
            for (event_id, old), p in zip(again.items(), published, strict=True):
                entry = Entry(
                    old.topic, old.key, old.value, old.headers, self.epoch, p.partition, p.offset, old.attempts + 1
                )
                pipe.hset(self._hash, event_id, _entries.encode(entry))
                pipe.zadd(self._due, {event_id: now + min(300.0, self.after_s * 2**entry.attempts)})
            await pipe.execute()
        if again:
            log.warning(
                "published again what the archive never got", extra={"owner": self.owner, "republished": len(again)}
            )
        return len(confirmed), len(again)

    async def _archived_marks(self, epochs: set[str]) -> dict[tuple[str, str], int]:
        marks: dict[tuple[str, str], int] = {}
        for epoch in epochs - {""}:
            for field, value in (await self._redis.hgetall(archive_hwm_key(epoch))).items():
                marks[(epoch, field.decode())] = int(value)
        return marks

    async def pending(self) -> int:
        return int(await self._redis.zcard(self._due))
