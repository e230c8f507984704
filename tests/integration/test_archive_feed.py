"""The archive's feed against a real Valkey: producers add what the broker acknowledged, the archiver takes it in
offset order while it follows on, trims what it archived, and forgets the feeds of earlier brokers."""

from __future__ import annotations

import redis.asyncio as aioredis
from aiokafka import TopicPartition

from common.archive_feed import feed_key
from common.bus import Outgoing, Published
from common.outbox import Outbox
from infra.archive.feed import FeedReader

TOPIC = "issue.events.v1"
TP3, TP4 = TopicPartition(TOPIC, 3), TopicPartition(TOPIC, 4)
PRODUCER = ("producer", b"triage")


def acked(offset: int, partition: int = 3) -> Published:
    record = Outgoing(TOPIC, f"HB-202611-{offset:06d}", b'{"n":%d}' % offset, {"event-id": f"e{offset}"})
    return Published(record, partition, offset, 1_764_000_000_000 + offset, [("event-id", b"e%d" % offset), PRODUCER])


async def keep(redis: aioredis.Redis, epoch: str, published: list[Published]) -> None:
    outbox = Outbox(redis, "triage", epoch, republish_after_s=10)
    async with redis.pipeline(transaction=True) as pipe:
        outbox.keep(pipe, published)
        await pipe.execute()


async def test_the_feed_gives_records_as_the_broker_holds_them_in_offset_order(redis: aioredis.Redis) -> None:
    await keep(redis, "7", [acked(12), acked(10), acked(11), acked(14), acked(2, partition=4)])
    taken = await FeedReader(redis, "7").take({TP3: 10, TP4: 0}, {}, most=100)
    records, gap_at = taken[TP3]
    assert [r.offset for r in records] == [10, 11, 12] and gap_at == 13  # 14 waits for 13
    first = records[0]
    assert (first.key, first.value, first.timestamp) == (b"HB-202611-000010", b'{"n":10}', 1_764_000_000_010)
    assert first.headers == [("event-id", b"e10"), PRODUCER]  # as publish_all sent them
    assert taken[TP4] == ([], 0)  # offsets 0 and 1 are not fed (yet)


async def test_what_the_archive_holds_is_trimmed_from_the_feed(redis: aioredis.Redis) -> None:
    await keep(redis, "7", [acked(n) for n in range(10, 20)] + [acked(n, partition=4) for n in range(5)])
    reader = FeedReader(redis, "7")
    taken = await reader.take({TP3: 15}, {TP4: 3}, most=3)  # TP4 is being read from the broker
    assert [r.offset for r in taken[TP3].records] == [15, 16, 17] and TP4 not in taken
    assert await redis.zcard(feed_key("7", TOPIC, 3)) == 5  # 15-19 stay until the archive holds them
    assert await redis.zcard(feed_key("7", TOPIC, 4)) == 2


async def test_the_feeds_of_earlier_brokers_are_dropped(redis: aioredis.Redis) -> None:
    await keep(redis, "6", [acked(1)])
    await keep(redis, "7", [acked(2), acked(1, partition=4)])
    await redis.set("archive:hwm:6", 1)
    assert await FeedReader(redis, "7").drop_other_epochs() == 1
    left = sorted(k.decode() for k in await redis.keys("archive:*"))
    assert left == ["archive:feed:7:issue.events.v1:3", "archive:feed:7:issue.events.v1:4", "archive:hwm:6"]
