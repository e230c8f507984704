"""Taking a submission in: idempotency by key, and a durable pending record before it is published."""

from __future__ import annotations

import hashlib
import time
import uuid

import msgspec
import redis.asyncio as aioredis

from contracts.intake import SubmitIntake

PENDING = "gw:pending"  # sorted set: submission id -> accepted at (unix s); left when IssueReceived is seen

# One atomic step. With a key already used: return what it was first used for. Otherwise remember
# the key (if any) and keep the submission as pending, so it is never lost once answered with 202.
_ACCEPT = """
if KEYS[1] ~= '' then
  local first = redis.call('GET', KEYS[1])
  if first then return first end
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[4])
end
redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[4])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[5])
return false
"""


class Accepted(msgspec.Struct, frozen=True):
    submission_id: uuid.UUID
    fingerprint: str


class IdempotencyConflict(Exception):
    """The same Idempotency-Key came with a different body."""


def fingerprint(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


class SubmissionDesk:
    def __init__(self, redis: aioredis.Redis, ttl_s: int) -> None:
        self._redis, self._ttl_s = redis, ttl_s
        self._accept = redis.register_script(_ACCEPT)
        self._decoder = msgspec.json.Decoder(Accepted)

    async def accept(self, command: SubmitIntake, idempotency_key: str | None, body_fingerprint: str) -> Accepted:
        """The first acceptance for this key (maybe an earlier one), or this one if new."""
        mine = Accepted(command.submission_id, body_fingerprint)
        first = await self._accept(
            keys=[
                f"gw:idem:{idempotency_key}" if idempotency_key else "",
                f"gw:pending:{command.submission_id}",
                PENDING,
            ],
            args=[
                msgspec.json.encode(mine),
                msgspec.json.encode(command),
                time.time(),
                self._ttl_s,
                str(command.submission_id),
            ],
        )
        if first is None:
            return mine
        earlier = self._decoder.decode(first)
        if earlier.fingerprint != body_fingerprint:
            raise IdempotencyConflict
        return earlier

    async def withdraw(self, submission_id: uuid.UUID, idempotency_key: str | None) -> None:
        """Forget a submission whose publication failed before it was answered: the client retries."""
        async with self._redis.pipeline(transaction=True) as pipe:
            if idempotency_key:
                pipe.delete(f"gw:idem:{idempotency_key}")
            pipe.delete(f"gw:pending:{submission_id}")
            pipe.zrem(PENDING, str(submission_id))
            await pipe.execute()

    async def is_pending(self, submission_id: uuid.UUID) -> bool:
        return await self._redis.zscore(PENDING, str(submission_id)) is not None
