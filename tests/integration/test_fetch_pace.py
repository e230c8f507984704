"""A quiet reader's longer fetch wait on the real broker: set on aiokafka's own fetcher, shortened again by
the next record, which still arrives (`common.fetch_pace`)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from common.fetch_pace import FetchPace, Gathering
from common.topic_follower import TopicFollower
from infra.runtime.platform import Platform
from tests.integration.helpers import produce


async def until(condition: Callable[[], bool], timeout_s: float = 10.0) -> float:
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout_s
        await asyncio.sleep(0.01)
    return time.monotonic() - started


async def test_a_quiet_follower_waits_longer_and_takes_the_next_record_with_the_short_wait(platform: Platform) -> None:
    topic = f"test.pace.{uuid.uuid4().hex[:8]}"
    await produce(platform.kafka_bootstrap, topic, b"first", key=b"k")  # the broker makes the topic
    seen: list[bytes] = []
    follower = TopicFollower(
        platform.kafka_bootstrap, topic, lambda r: seen.append(r.value), pace=FetchPace(20, 100, quiet_after_s=1.0)
    )
    await follower.start(timeout_s=30)
    try:
        fetcher = follower._consumer._fetcher  # type: ignore[union-attr]
        assert seen == [b"first"]
        await until(lambda: fetcher._fetch_max_wait_ms == 100)  # a second without a record
        await produce(platform.kafka_bootstrap, topic, b"second", key=b"k")
        await until(lambda: b"second" in seen, timeout_s=5)
        assert fetcher._fetch_max_wait_ms == 20  # records came: the short wait again
    finally:
        await follower.stop()


async def test_a_gathering_reader_takes_records_in_few_batches_without_leaving_any_behind(platform: Platform) -> None:
    """On the real broker and aiokafka's fetcher (which stops asking while it holds records nobody took): with
    records every 10 ms for 1.5 s, a reader gathering for 100 ms takes them in about one batch per 100 ms,
    every one of them, in order, and none a whole gather late as a plain sleep before the fetch left them."""
    topic = f"test.gather.{uuid.uuid4().hex[:8]}"
    await produce(platform.kafka_bootstrap, topic, b"-1", key=b"k")  # the broker makes the topic
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=platform.kafka_bootstrap, auto_offset_reset="earliest", fetch_max_wait_ms=20
    )
    await consumer.start()
    producer = AIOKafkaProducer(bootstrap_servers=platform.kafka_bootstrap, acks="all")
    await producer.start()
    gathering, batches, late_ms = Gathering(0.1), [], []
    try:
        first = await gathering.next_batch(consumer, wait_ms=10_000, most=500)
        assert [r.value for records in first.values() for r in records] == [b"-1"]  # after a pause: at once

        async def send() -> None:
            for n in range(150):
                await producer.send(topic, str(n).encode(), key=b"k")
                await asyncio.sleep(0.01)

        sending = asyncio.create_task(send())
        taken: list[int] = []
        while len(taken) < 150:
            batch = await gathering.next_batch(consumer, wait_ms=2_000, most=500)
            assert batch, "records stopped coming"
            now_ms = time.time() * 1000
            records = [r for rs in batch.values() for r in rs]
            batches.append(len(records))
            taken += [int(r.value) for r in records]
            late_ms += [now_ms - r.timestamp for r in records]
        await sending
    finally:
        await producer.stop()
        await consumer.stop()
    assert taken == list(range(150))  # every record, once, in order
    assert len(batches) <= 25  # ~16 at one batch per 100 ms; without gathering, one or two records a batch
    late_ms.sort()
    assert late_ms[len(late_ms) // 2] < 100  # ~50 ms on average; a sleep before the fetch alone gave ~150
