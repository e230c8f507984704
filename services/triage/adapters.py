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
        self._changes: dict[str, str | None] = {}  # written with the batch's `flush`

    async def note(self, issue_id: str, month: str | None) -> None:
        self._changes[issue_id] = month

    async def flush(self) -> None:
        if not self._changes:
            return
        changes, self._changes = self._changes, {}
        waiting = {i: month_number(m) for i, m in changes.items() if m is not None}
        done = [i for i, m in changes.items() if m is None]
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                if waiting:
                    pipe.zadd(self.KEY, waiting)
                if done:
                    pipe.zrem(self.KEY, *done)
                await pipe.execute()
        except BaseException:
            self._changes = changes | self._changes
            raise

    async def waiting_before(self, month: str, limit: int = 1000) -> list[str]:
        found = await self._redis.zrangebyscore(self.KEY, "-inf", f"({month_number(month)}", start=0, num=limit)
        return [i.decode() for i in found]


class RedisReviews:
    """The record of each review: tier, unit, month, the day it met and who took part."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis
        self._noted: set[str] = set()  # this process's recent reviews: one write per review, not per decision
        self._unwritten: dict[str, dict[str, str]] = {}  # written with the batch's `flush`

    def note(self, review_id: str, record: dict[str, str]) -> None:
        if review_id not in self._noted:
            self._unwritten[review_id] = record

    async def flush(self) -> None:
        if not self._unwritten:
            return
        unwritten, self._unwritten = self._unwritten, {}
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for review_id, record in unwritten.items():
                    pipe.hset(f"triage:review:{review_id}", mapping=record)
                await pipe.execute()
        except BaseException:
            self._unwritten = unwritten | self._unwritten
            raise
        if len(self._noted) > 10_000:
            self._noted.clear()
        self._noted |= set(unwritten)
