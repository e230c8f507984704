"""The Redis (Valkey) client every part uses: a blocking pool, so bursts queue instead of failing."""

from __future__ import annotations

import redis.asyncio as aioredis


def make_redis(url: str, max_connections: int = 64) -> aioredis.Redis:
    pool = aioredis.BlockingConnectionPool.from_url(url, max_connections=max_connections, timeout=10)
    return aioredis.Redis(connection_pool=pool)
