"""Valkey implementation of intake's store. Numbers are unique across any number of instances."""

from __future__ import annotations

import uuid

import msgspec
import redis.asyncio as aioredis

from contracts.intake import SubmitIntake

# One atomic step: a submission already numbered keeps its number; otherwise take the next one.
_NUMBER_FOR = """
local existing = redis.call('GET', KEYS[1])
if existing then return existing end
local n = redis.call('INCR', KEYS[2])
local number = ARGV[1] .. '-' .. ARGV[2] .. '-' .. string.format('%06d', n)
redis.call('SET', KEYS[1], number)
return number
"""


class RedisIntakeStore:
    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis
        self._number_for = redis.register_script(_NUMBER_FOR)

    async def number_for(self, submission_id: uuid.UUID, prefix: str, month: str) -> str:
        number = await self._number_for(
            keys=[f"intake:submission:{submission_id}", f"intake:seq:{prefix}:{month}"], args=[prefix, month]
        )
        return number.decode() if isinstance(number, bytes) else str(number)

    async def save(self, number: str, submission: SubmitIntake) -> None:
        await self._redis.set(f"intake:record:{number}", msgspec.json.encode(submission), nx=True)
