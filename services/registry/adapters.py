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
    """What `note` adds is written with the batch's `flush`, in one transaction; `release` and `restore`
    (closes and reopens, far rarer) write what is noted before them first, so the order holds."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis
        self._noted: list[tuple[str, Sequence[str]]] = []

    async def counts(self, keys: Sequence[str]) -> dict[str, int]:
        async with self._redis.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.scard(_usage(key))
            return dict(zip(keys, await pipe.execute(), strict=True))

    async def note(self, issue_id: str, keys: Sequence[str]) -> None:
        if keys:
            self._noted.append((issue_id, keys))

    async def flush(self) -> None:
        if not self._noted:
            return
        noted, self._noted = self._noted, []
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                for issue_id, keys in noted:
                    pipe.sadd(_refs(issue_id), *keys)
                    for key in keys:
                        pipe.sadd(_usage(key), issue_id)
                await pipe.execute()
        except BaseException:
            self._noted = noted + self._noted
            raise

    async def release(self, issue_id: str) -> None:
        await self.flush()
        keys = [k.decode() for k in await self._redis.smembers(_refs(issue_id))]
        async with self._redis.pipeline(transaction=True) as pipe:
            for key in keys:
                pipe.srem(_usage(key), issue_id)
            await pipe.execute()

    async def restore(self, issue_id: str) -> None:
        await self.flush()
        keys = [k.decode() for k in await self._redis.smembers(_refs(issue_id))]
        async with self._redis.pipeline(transaction=True) as pipe:
            for key in keys:
                pipe.sadd(_usage(key), issue_id)
            await pipe.execute()
