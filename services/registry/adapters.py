"""Valkey implementation of the registry's usage counts. Every step is a set operation, so a
redelivered issue event changes nothing."""

from __future__ import annotations

from collections.abc import Sequence

import redis.asyncio as aioredis


def _usage(key: str) -> str:
    return f"registry:usage:{key}"


def _refs(issue_id: str) -> str:
    return f"registry:issue-refs:{issue_id}"


class RedisUsage:
    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis

    async def counts(self, keys: Sequence[str]) -> dict[str, int]:
        async with self._redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.scard(_usage(key))
            return dict(zip(keys, await pipe.execute(), strict=True))

    async def note(self, issue_id: str, keys: Sequence[str]) -> None:
        if not keys:
            return
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.sadd(_refs(issue_id), *keys)
            for key in keys:
                pipe.sadd(_usage(key), issue_id)
            await pipe.execute()

    async def release(self, issue_id: str) -> None:
        keys = [k.decode() for k in await self._redis.smembers(_refs(issue_id))]
        async with self._redis.pipeline(transaction=True) as pipe:
            for key in keys:
                pipe.srem(_usage(key), issue_id)
            await pipe.execute()

    async def restore(self, issue_id: str) -> None:
        keys = [k.decode() for k in await self._redis.smembers(_refs(issue_id))]
        async with self._redis.pipeline(transaction=True) as pipe:
            for key in keys:
                pipe.sadd(_usage(key), issue_id)
            await pipe.execute()
