"""Taking a submission in: idempotency by key, and a durable pending record before it is published."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
import uuid
from collections.abc import Mapping

import msgspec
import redis.asyncio as aioredis

from common.bus import Outgoing, Published
from common.outbox import Outbox
from gateway.tracking import new_tracking_code, shown, tracking_key

log = logging.getLogger(__name__)
PENDING = "gw:pending"  # sorted set: submission id -> accepted at (unix s); left when IssueReceived is seen

# One atomic step. With a key already used: return what it was first used for. Otherwise remember
# the key (if any), mark the submission pending (for its status), put it in the gateway's outbox,
# which publishes it again until the event archive holds it (once answered 202 it is never lost), and
# write what belongs with the submission (its tracking code, sealed contact, photo owner): all or nothing.
_ACCEPT = """
if KEYS[1] ~= '' then
  local first = redis.call('GET', KEYS[1])
  if first then return first end
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[4])
redis.call('HSET', KEYS[3], ARGV[5], ARGV[6])
redis.call('ZADD', KEYS[4], ARGV[8], ARGV[7])
for i = 5, #KEYS do
  redis.call('SET', KEYS[i], ARGV[i + 4])
end
return false
"""


class Accepted(msgspec.Struct, frozen=True):
    submission_id: uuid.UUID
    fingerprint: str
    tracking_code: str = ""  # what the voter follows the issue with (kept with the key, so a retry gets it)


class IdempotencyConflict(Exception):
    """The same Idempotency-Key came with a different body."""


def fingerprint(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


class SubmissionDesk:
    def __init__(self, redis: aioredis.Redis, outbox: Outbox, ttl_s: int) -> None:
        self._redis, self._outbox, self._ttl_s = redis, outbox, ttl_s
        self._accept = redis.register_script(_ACCEPT)
        self._decoder = msgspec.json.Decoder(Accepted)

    async def accept(
        self,
        record: Outgoing,
        submission_id: uuid.UUID,
        idempotency_key: str | None,
        body_fingerprint: str,
        also: Mapping[str, str] | None = None,
    ) -> Accepted:
        """The first acceptance for this key (maybe an earlier one), or this one if new: then `record`,
        the submission to publish, is durably kept in the outbox, its tracking code filed, and each of
        `also` (key → value) set, in the same atomic step."""
        code = new_tracking_code()
        mine = Accepted(submission_id, body_fingerprint, shown(code))
        outbox_keys, outbox_args = self._outbox.unpublished(record)
        extra = {tracking_key(code): str(submission_id), **(also or {})}
        first = await self._accept(
            keys=[f"gw:idem:{idempotency_key}" if idempotency_key else "", PENDING, *outbox_keys, *extra],
            args=[
                msgspec.json.encode(mine),
                time.time(),
                self._ttl_s,
                str(submission_id),
                *outbox_args,
                *extra.values(),
            ],
        )
        if first is None:
            return mine
        earlier = self._decoder.decode(first)
        if earlier.fingerprint != body_fingerprint:
            raise IdempotencyConflict
        return earlier

    async def is_pending(self, submission_id: uuid.UUID) -> bool:
        return await self._redis.zscore(PENDING, str(submission_id)) is not None


class Locations:
    """Notes where the broker put each submission, in batches off the request path. A note lost in a
    crash costs nothing but one more publication by the sweeper, which consumers drop as a duplicate."""

    def __init__(self, redis: aioredis.Redis, outbox: Outbox, every_s: float = 0.01) -> None:
        self._redis, self._outbox, self._every_s = redis, outbox, every_s
        self._noted: list[Published] = []
        self._wake = asyncio.Event()

    def note(self, published: list[Published]) -> None:
        self._noted.extend(published)
        self._wake.set()

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            await asyncio.sleep(self._every_s)  # gather what the next requests bring
            await self.flush()

    async def flush(self) -> None:
        self._wake.clear()
        batch, self._noted = self._noted, []
        if not batch:
            return
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                self._outbox.locate(pipe, batch)
                await pipe.execute()
        except aioredis.RedisError as exc:
            log.warning("locations not noted; the sweeper will publish these again", extra={"error": repr(exc)})
