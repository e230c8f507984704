"""The outbox against a real Valkey: what the archive holds is forgotten, what it never got is sent again."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import redis.asyncio as aioredis

from common.bus import Outgoing, Published
from common.outbox import SWEEP_SLICE, Outbox, archive_hwm_key
from tests.fake_broker import connected


class RecordingBroker:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes]] = []
        self.config = connected(self)

    async def send(
        self, topic: str, value: bytes, *, key: bytes, headers: list[tuple[str, bytes]], timestamp_ms: int
    ) -> asyncio.Future[SimpleNamespace]:
        self.sent.append((topic, value))
        acknowledged = asyncio.get_running_loop().create_future()
        acknowledged.set_result(SimpleNamespace(partition=0, offset=100 + len(self.sent)))
        return acknowledged


def record(n: int) -> Outgoing:
    return Outgoing("issue.events.v1", f"HB-202611-{n:06d}", f"event {n}".encode(), {"event-id": f"e{n}"})


def acked(n: int, partition: int, offset: int) -> Published:
    return Published(record(n), partition, offset, 1_764_000_000_000 + offset, [])


async def keep(redis: aioredis.Redis, outbox: Outbox, published: list[Published]) -> None:
    async with redis.pipeline(transaction=True) as pipe:
        outbox.keep(pipe, published)
        await pipe.execute()


async def test_what_the_archive_holds_is_forgotten_and_the_rest_sent_again(redis: aioredis.Redis) -> None:
    outbox, broker = Outbox(redis, "triage", "3", republish_after_s=0), RecordingBroker()
    await keep(redis, outbox, [acked(1, 2, 10), acked(2, 2, 11)])
    await redis.hset(archive_hwm_key("3"), "issue.events.v1:2", 11)  # the archive has offset 10, not 11

    assert await outbox.sweep(broker) == (1, 1)
    assert broker.sent == [("issue.events.v1", b"event 2")]
    assert await outbox.pending() == 1  # event 2, now at its new offset, waits for the archive again

    await redis.hset(archive_hwm_key("3"), "issue.events.v1:0", 200)
    await redis.zadd("outbox:triage:due", {m: 0 for m in await redis.zrange("outbox:triage:due", 0, -1)})
    assert await outbox.sweep(broker) == (1, 0)
    assert await outbox.pending() == 0 and await redis.hlen("outbox:triage") == 0


async def test_a_sweep_drops_a_full_batch_of_archived_entries_in_valkey(redis: aioredis.Redis) -> None:
    outbox, broker = Outbox(redis, "referral", "4", republish_after_s=0), RecordingBroker()
    await keep(redis, outbox, [acked(n, n % 3, n) for n in range(1, 1_301)])
    await redis.hset(archive_hwm_key("4"), mapping={f"issue.events.v1:{p}": 1_201 for p in range(3)})

    assert await outbox.sweep(broker) == (1_200, 100)  # offsets 1..1200 archived; 1201..1300 not yet
    assert len(broker.sent) == 100
    assert await redis.hlen("outbox:referral") == await outbox.pending() == 100


async def test_an_offset_is_judged_only_by_its_own_brokers_archive(redis: aioredis.Redis) -> None:
    old, broker = Outbox(redis, "intake", "1", republish_after_s=0), RecordingBroker()
    await keep(redis, old, [acked(3, 0, 5)])
    await redis.hset(archive_hwm_key("2"), "issue.events.v1:0", 99)  # a later broker got far further
    await redis.hset(archive_hwm_key("1"), "issue.events.v1:0", 5)  # but this record's broker archived < 6
    assert await Outbox(redis, "intake", "2", republish_after_s=0).sweep(broker) == (0, 1)


async def test_a_record_never_acknowledged_is_published_by_the_sweeper(redis: aioredis.Redis) -> None:
    outbox, broker = Outbox(redis, "gateway", "1", republish_after_s=0), RecordingBroker()
    keys, args = outbox.unpublished(record(4))
    await redis.hset(keys[0], args[0], args[1])
    await redis.zadd(keys[1], {args[2]: args[3]})
    assert await outbox.sweep(broker) == (0, 1)
    assert broker.sent == [("issue.events.v1", b"event 4")]


async def test_only_one_instance_sweeps_at_a_time(redis: aioredis.Redis) -> None:
    outbox, broker = Outbox(redis, "triage", "1", republish_after_s=0), RecordingBroker()
    await keep(redis, outbox, [acked(5, 0, 1)])
    await redis.set("outbox:triage:lock", 1)  # another instance holds the sweep
    assert await outbox.sweep(broker) == (0, 0)
    assert broker.sent == []


async def test_a_sweep_takes_a_backlog_in_short_steps_and_each_entry_once(redis: aioredis.Redis) -> None:
    """Valkey serves nobody else while a step runs: thousands of entries fall due at once after a burst."""
    outbox, broker = Outbox(redis, "feedback", "5", republish_after_s=0), RecordingBroker()
    await keep(redis, outbox, [acked(n, 0, n) for n in range(1, 1_101)])
    await redis.hset(archive_hwm_key("5"), "issue.events.v1:0", 1_001)  # 1..1000 archived, 1001..1100 not yet
    steps = (await redis.info("commandstats")).get("cmdstat_evalsha", {}).get("calls", 0)

    assert await outbox.sweep(broker) == (1_000, 100)  # each sent again once, though due again at once (after 0 s)
    assert len(broker.sent) == 100
    slices = -(-1_100 // SWEEP_SLICE)  # the last one not full
    assert (await redis.info("commandstats"))["cmdstat_evalsha"]["calls"] - steps == slices
