"""Valkey implementation of intake's store. Numbers are unique across any number of instances."""

from __future__ import annotations

import msgspec
import redis.asyncio as aioredis

from contracts.intake import SubmitIntake

# One atomic step: a submission already numbered keeps its number; otherwise it takes the next one
# of its month and its record is kept under that number.
_REGISTER = """
local existing = redis.call('GET', KEYS[1])
if existing then return existing end
local n = redis.call('INCR', KEYS[2])
local number = ARGV[1] .. '-' .. ARGV[2] .. '-' .. string.format('%06d', n)
redis.call('SET', KEYS[1], number)
redis.call('SET', 'intake:record:' .. number, ARGV[3])
return number
"""


class RedisIntakeStore:
    def __init__(self, redis: aioredis.Redis) -> None:
        self._register = redis.register_script(_REGISTER)

    async def register(self, submission: SubmitIntake, prefix: str, month: str) -> str:
        number = await self._register(
            keys=[f"intake:submission:{submission.submission_id}", f"intake:seq:{prefix}:{month}"],
            args=[prefix, month, msgspec.json.encode(submission)],
        )
        return number.decode() if isinstance(number, bytes) else str(number)
