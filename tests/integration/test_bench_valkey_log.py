"""Before each latency window the bench has Valkey rewrite its append-only file, and waits until it has:
a rewrite Valkey starts by itself would otherwise fall inside one platform's window and not another's."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from infra.bench import compact_valkey_log
from infra.runtime.platform import Platform


async def test_the_bench_waits_until_valkey_has_rewritten_its_file(platform: Platform) -> None:
    redis = aioredis.Redis.from_url(platform.redis_url)
    filler = [f"test:bench-valkey-log:{n}" for n in range(20_000)]  # ~20 MB: a rewrite long enough to be seen
    try:
        for start in range(0, len(filler), 2_000):
            await redis.mset({key: b"x" * 1_000 for key in filler[start : start + 2_000]})
        before = (await redis.info("persistence"))["aof_rewrites"]
        # two at once: the second either finds the first's rewrite running (Valkey refuses to start another
        # then, and the bench waits for that one) or starts its own; either returns only once none runs
        took = await asyncio.gather(compact_valkey_log(platform.redis_url), compact_valkey_log(platform.redis_url))
        after = await redis.info("persistence")
    finally:
        await redis.delete(*filler)
        await redis.aclose()
    assert after["aof_rewrites"] > before
    assert after["aof_rewrite_in_progress"] == 0 and after["aof_rewrite_scheduled"] == 0
    assert all(seconds > 0 for seconds in took)
