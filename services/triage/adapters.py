"""Valkey implementation of triage's store."""

from __future__ import annotations

import msgspec
import redis.asyncio as aioredis

from services.triage.domain import Triage

_KEEP_FIRST = """
local stored = redis.call('GET', KEYS[1])
if stored then return stored end
redis.call('SET', KEYS[1], ARGV[1])
return ARGV[1]
"""


class RedisTriageStore:
    def __init__(self, redis: aioredis.Redis) -> None:
        self._keep_first = redis.register_script(_KEEP_FIRST)
        self._decoder = msgspec.json.Decoder(Triage)

    async def keep_first(self, decided: Triage) -> Triage:
        stored = await self._keep_first(keys=[f"triage:issue:{decided.issue_id}"], args=[msgspec.json.encode(decided)])
        return self._decoder.decode(stored)
