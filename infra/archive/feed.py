"""The archiver's side of the feed (`common.archive_feed`): what the producers handed over, partition by partition."""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

import redis.asyncio as aioredis
from aiokafka import TopicPartition

from common.archive_feed import FEED_PREFIX, FedRecord, decode_fed, feed_key


class Taken(NamedTuple):
    """A partition's fed records: those that follow on from the archive, and whether any lie beyond a gap."""

    records: list[FedRecord]
    gap_at: int | None  # the first offset missing before a fed record, if one is


def follow_on(records: Iterable[FedRecord], next_offset: int) -> Taken:
    """The run of `records` (in offset order) from `next_offset` without a gap."""
    run: list[FedRecord] = []
    expected = next_offset
    for record in records:
        if record.offset < expected:
            continue  # archived already (or handed over twice)
        if record.offset > expected:
            return Taken(run, expected)
        run.append(record)
        expected += 1
    return Taken(run, None)


class FeedReader:
    def __init__(self, redis: aioredis.Redis, epoch: str) -> None:
        self.redis, self.epoch = redis, epoch

    async def take(
        self, wanted: dict[TopicPartition, int], trim: dict[TopicPartition, int], most: int
    ) -> dict[TopicPartition, Taken]:
        """For each partition of `wanted`, what the feed holds from its next offset (at most `most` records a
        partition), in one round trip; first, each partition of `wanted` and `trim` loses what lies below its
        next offset, which the archive holds."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for tp, next_offset in {**trim, **wanted}.items():
                pipe.zremrangebyscore(self._key(tp), "-inf", f"({next_offset}")
            for tp, next_offset in wanted.items():
                pipe.zrangebyscore(self._key(tp), next_offset, "+inf", start=0, num=most)
            replies = await pipe.execute()
        fed = replies[len(replies) - len(wanted) :]
        return {
            tp: follow_on(map(decode_fed, members), next_offset)
            for (tp, next_offset), members in zip(wanted.items(), fed, strict=True)
            if members
        }

    async def drop_other_epochs(self) -> int:
        """Feeds of earlier brokers: nobody will read them again."""
        mine, dropped = f"{FEED_PREFIX}{self.epoch}:", 0
        async for key in self.redis.scan_iter(match=f"{FEED_PREFIX}*", count=500):
            if not key.decode().startswith(mine):
                dropped += await self.redis.unlink(key)
        return dropped

    def _key(self, tp: TopicPartition) -> str:
        return feed_key(self.epoch, tp.topic, tp.partition)
