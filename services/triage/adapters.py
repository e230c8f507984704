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


def month_number(month: str) -> int:
    year, number = month.split("-")
    return int(year) * 12 + int(number) - 1


class RedisPendingIndex:
    """Issues waiting for a review, scored by the month of the review they wait for, so month end
    finds the ones whose month has ended without scanning every issue."""

    KEY = "triage:pending"

    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis

    async def note(self, issue_id: str, month: str | None) -> None:
        if month is None:
            await self._redis.zrem(self.KEY, issue_id)
        else:
            await self._redis.zadd(self.KEY, {issue_id: month_number(month)})

    async def waiting_before(self, month: str, limit: int = 1000) -> list[str]:
        found = await self._redis.zrangebyscore(self.KEY, "-inf", f"({month_number(month)}", start=0, num=limit)
        return [i.decode() for i in found]


class RedisReviews:
    """The record of each review: tier, unit, month, the day it met and who took part."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis

    async def note(self, review_id: str, record: dict[str, str]) -> None:
        key = f"triage:review:{review_id}"
        if not await self._redis.exists(key):
            await self._redis.hset(key, mapping=record)
