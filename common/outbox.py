"""Every producer keeps what it published until the event archive holds it, and publishes again what
the archive never got (a broker that died between its acknowledgement and the archive's write).

Entries live in Valkey beside the producer's state: `outbox:<owner>` (event id -> the record) and
`outbox:<owner>:due` (a member per entry naming where the broker put it, scored by when to look at it
again). The archiver records how far it has written each partition in `archive:hwm:<epoch>`; the
launcher starts a new epoch with every new broker, so an offset is only ever compared with the archive
marks of the broker that gave it out. The sweeper reads only the members to confirm entries, and the
records themselves only for what it must publish again.
"""

from __future__ import annotations

import logging
import time
from typing import NamedTuple

import msgspec
import redis.asyncio as aioredis
from faststream.kafka import KafkaBroker
from redis.commands.core import AsyncScript

from common.archive_feed import stage_feed
from common.bus import Outgoing, Published, publish_all

log = logging.getLogger(__name__)
EPOCH_KEY = "platform:epoch"
# A sweep looks at the due entries in slices, each its own step in Valkey, which serves nobody else while
# one runs: after a burst (a 5,000-intake run, a big review) thousands fall due at once, and steps of
# 2,000 held every part's commands up for their whole length. Up to SWEEP_SLICES slices a sweep; what is
# left waits for the next.
SWEEP_SLICE = 250
SWEEP_SLICES = 40

# The sweep's common case in one step inside Valkey: drop every due entry of the current epoch that the
# archive holds (its offset below the partition's mark), and hand back the rest (not archived yet, never
# acknowledged, or of an earlier broker) for the sweeper to look at. Parsing thousands of members and
# packing their removal in Python cost every producer ~10 ms of CPU a sweep, all at about the same moment.
# KEYS: due set, entries, the current epoch's archive marks; ARGV: due before (a score bound: "(t"), limit, the epoch.
_CONFIRM = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
local marks, members, ids, rest = {}, {}, {}, {}
for _, member in ipairs(due) do
  local id, epoch, topic, partition, offset = string.match(member, '^(.-)|(.-)|(.-)|(.-)|(.-)|')
  local archived = false
  if id and epoch == ARGV[3] and tonumber(partition) >= 0 then
    local field = topic .. ':' .. partition
    if marks[field] == nil then marks[field] = tonumber(redis.call('HGET', KEYS[3], field) or '-1') end
    archived = marks[field] > tonumber(offset)
  end
  if archived then
    members[#members + 1], ids[#ids + 1] = member, id
  else
    rest[#rest + 1] = member
  end
end
for i = 1, #members, 500 do
  local last = math.min(i + 499, #members)
  redis.call('ZREM', KEYS[1], unpack(members, i, last))
  redis.call('HDEL', KEYS[2], unpack(ids, i, last))
end
return {#members, rest}
"""


def archive_hwm_key(epoch: str) -> str:
    return f"archive:hwm:{epoch}"


class Location(NamedTuple):
    """Where a kept record is: its due-set member is these fields joined by '|'."""

    event_id: str
    epoch: str = ""
    topic: str = ""
    partition: int = -1  # -1: not yet acknowledged by a broker
    offset: int = -1
    attempts: int = 0

    @property
    def member(self) -> str:
        return "|".join(map(str, self))

    @classmethod
    def parse(cls, member: bytes) -> Location:
        event_id, epoch, topic, partition, offset, attempts = member.decode().split("|")
        return cls(event_id, epoch, topic, int(partition), int(offset), int(attempts))


class _Record(msgspec.Struct, array_like=True):
    topic: str
    key: str
    value: bytes
    headers: dict[str, str]


_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder(_Record).decode


def _event_id(p: Published) -> str:
    return p.record.headers.get("event-id") or f"{p.record.topic}:{p.partition}:{p.offset}"


async def current_epoch(redis: aioredis.Redis) -> str:
    epoch = await redis.get(EPOCH_KEY)
    return epoch.decode() if epoch else "0"


class Outbox:
    def __init__(self, redis: aioredis.Redis, owner: str, epoch: str, republish_after_s: float) -> None:
        self._redis, self.owner, self.epoch, self.after_s = redis, owner, epoch, republish_after_s
        self._hash, self._due, self._lock = f"outbox:{owner}", f"outbox:{owner}:due", f"outbox:{owner}:lock"
        self._confirm: AsyncScript | None = None  # registered at the first sweep

    def unpublished(self, record: Outgoing) -> tuple[list[str], list[str | bytes | float]]:
        """Keys and arguments for a caller's Lua step that keeps `record` before it is published:
        HSET KEYS[1] ARGV[1] ARGV[2]; ZADD KEYS[2] ARGV[4] ARGV[3]."""
        event_id = record.headers["event-id"]
        entry = _encode(_Record(record.topic, record.key, record.value, record.headers))
        return [self._hash, self._due], [event_id, entry, Location(event_id).member, time.time() + self.after_s]

    def keep(self, pipe: aioredis.client.Pipeline, published: list[Published]) -> None:
        """Queue, in the caller's transaction, the records the broker acknowledged and where it put them."""
        if not published:
            return
        due = time.time() + self.after_s
        entries: dict[str, bytes] = {}
        members: dict[str, float] = {}
        for p in published:
            event_id, r = _event_id(p), p.record
            entries[event_id] = _encode(_Record(r.topic, r.key, r.value, r.headers))
            members[Location(event_id, self.epoch, r.topic, p.partition, p.offset).member] = due
        pipe.hset(self._hash, mapping=entries)  # two commands for a batch, not two a record
        pipe.zadd(self._due, members)
        stage_feed(pipe, self.epoch, published)

    def locate(self, pipe: aioredis.client.Pipeline, published: list[Published]) -> None:
        """Records kept by `unpublished` were acknowledged: note where, so the sweeper can confirm them."""
        if not published:
            return
        due = time.time() + self.after_s
        ids = [_event_id(p) for p in published]
        located = {
            Location(event_id, self.epoch, p.record.topic, p.partition, p.offset).member: due
            for event_id, p in zip(ids, published, strict=True)
        }
        pipe.zrem(self._due, *(Location(event_id).member for event_id in ids))  # two commands for a batch
        pipe.zadd(self._due, located)
        stage_feed(pipe, self.epoch, published)

    async def sweep(self, broker: KafkaBroker) -> tuple[int, int]:
        """Drop what the archive holds and publish again what it does not; returns (confirmed, republished)."""
        if not await self._redis.set(self._lock, 1, nx=True, px=30_000):
            return 0, 0  # another instance of this owner is sweeping
        confirmed = republished = 0
        due_before = time.time()  # what falls due again meanwhile (published again, say) waits for the next sweep
        try:
            for _ in range(SWEEP_SLICES):
                looked, dropped, again = await self._sweep_slice(broker, due_before)
                confirmed, republished = confirmed + dropped, republished + again
                if looked < SWEEP_SLICE:
                    break
            return confirmed, republished
        finally:
            await self._redis.delete(self._lock)

    async def _sweep_slice(self, broker: KafkaBroker, due_before: float) -> tuple[int, int, int]:
        """Up to SWEEP_SLICE entries due before `due_before`: (how many it looked at, confirmed, republished)."""
        now = time.time()
        self._confirm = self._confirm or self._redis.register_script(_CONFIRM)
        dropped, rest = await self._confirm(
            keys=[self._due, self._hash, archive_hwm_key(self.epoch)],
            args=[f"({due_before!r}", SWEEP_SLICE, self.epoch],
        )
        due = [Location.parse(m) for m in rest]
        if not due:
            return dropped, dropped, 0
        marks = await self._archived_marks({d.epoch for d in due})
        archived = [marks.get((d.epoch, f"{d.topic}:{d.partition}"), -1) > d.offset for d in due]
        confirmed = [d for d, done in zip(due, archived, strict=True) if done]
        again = [d for d, done in zip(due, archived, strict=True) if not done]
        records = await self._redis.hmget(self._hash, [d.event_id for d in again]) if again else []
        resend = [(d, _decode(r)) for d, r in zip(again, records, strict=True) if r is not None]
        published = await publish_all(broker, [Outgoing(r.topic, r.key, r.value, r.headers) for _, r in resend])
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.zrem(self._due, *(d.member for d in due))
            if confirmed:
                pipe.hdel(self._hash, *(d.event_id for d in confirmed))
            for (old, _), p in zip(resend, published, strict=True):
                moved = Location(old.event_id, self.epoch, p.record.topic, p.partition, p.offset, old.attempts + 1)
                pipe.zadd(self._due, {moved.member: now + min(300.0, self.after_s * 2**moved.attempts)})
            stage_feed(pipe, self.epoch, published)
            await pipe.execute()
        if resend:
            log.warning(
                "published again what the archive never got", extra={"owner": self.owner, "republished": len(resend)}
            )
        return dropped + len(due), dropped + len(confirmed), len(resend)

    async def _archived_marks(self, epochs: set[str]) -> dict[tuple[str, str], int]:
        marks: dict[tuple[str, str], int] = {}
        for epoch in epochs - {""}:
            for field, value in (await self._redis.hgetall(archive_hwm_key(epoch))).items():
                marks[(epoch, field.decode())] = int(value)
        return marks

    async def pending(self) -> int:
        return int(await self._redis.zcard(self._due))
