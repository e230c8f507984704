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


async def fetches_and_records(bootstrap: str, topics: list[str], hold: bool, seconds: float) -> tuple[int, list[str]]:
    """Fetch requests a gathering reader of `topics` sent while records came to them in turn every 5 ms, and
    the records it took."""
    consumer = AIOKafkaConsumer(
        *topics, bootstrap_servers=bootstrap, auto_offset_reset="earliest", fetch_max_wait_ms=200
    )
    await consumer.start()
    fetches, send = 0, consumer._client.send

    async def counting(node_id: int, request: object, *args: object, **kwargs: object) -> object:
        nonlocal fetches
        fetches += type(request).__name__.startswith("FetchRequest")
        return await send(node_id, request, *args, **kwargs)

    consumer._client.send = counting
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    sent: list[str] = []

    async def feed() -> None:
        for n in range(int(seconds / 0.005)):
            sent.append(value := f"{topics[n % len(topics)]}:{n}")
            await producer.send(topics[n % len(topics)], value.encode(), key=b"k")
            await asyncio.sleep(0.005)

    gathering, taken = Gathering(0.5, hold_fetches=hold), []  # the archiver's gather
    try:
        feeding = asyncio.create_task(feed())
        while not feeding.done() or len(taken) < len(topics) + len(sent):  # with each topic's first record
            batch = await gathering.next_batch(consumer, wait_ms=500, most=10_000)
            taken += [r.value.decode() for records in batch.values() for r in records]
        assert consumer.paused() == (consumer.assignment() if hold else set())  # held until the next batch
    finally:
        await producer.stop()
        await consumer.stop()
    return fetches, taken


async def test_a_reader_holding_its_fetches_asks_the_broker_less_and_takes_every_record(platform: Platform) -> None:
    """The archiver's way (`hold_fetches`): paused from one batch to the next, its fetcher asks once a batch
    for every partition, where otherwise it asks again each time any partition has a record."""
    plain_topics, held_topics = ([f"test.hold.{uuid.uuid4().hex[:8]}.{n}" for n in range(6)] for _ in range(2))
    for topic in plain_topics + held_topics:  # the broker makes the topics
        await produce(platform.kafka_bootstrap, topic, b"-", key=b"k")
    plain, plain_taken = await fetches_and_records(platform.kafka_bootstrap, plain_topics, hold=False, seconds=4.0)
    held, held_taken = await fetches_and_records(platform.kafka_bootstrap, held_topics, hold=True, seconds=4.0)
    for topics, taken in ((plain_topics, plain_taken), (held_topics, held_taken)):
        values = [v for v in taken if v != "-"]
        assert len(values) == len(set(values)) == 800  # every record once
        for topic in topics:  # in order within each partition
            mine = [int(v.rsplit(":", 1)[1]) for v in values if v.startswith(f"{topic}:")]
            assert mine == sorted(mine)
    assert held < plain * 0.5, (held, plain)  # 11 against 34 in four seconds here (twice)


async def test_a_partition_the_reader_pauses_itself_stays_paused_from_batch_to_batch(platform: Platform) -> None:
    """The archiver pauses a partition whose broker history differs from the archive (`keep_paused`);
    gathering must not resume it, while it goes on taking the others' records."""
    topics = [f"test.hold.{uuid.uuid4().hex[:8]}.{n}" for n in range(2)]
    for topic in topics:
        await produce(platform.kafka_bootstrap, topic, b"before", key=b"k")
    consumer = AIOKafkaConsumer(*topics, bootstrap_servers=platform.kafka_bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    try:
        await until(lambda: {tp.topic for tp in consumer.assignment()} == set(topics))
        gathering, first = Gathering(0.05, hold_fetches=True), {}
        while len(first) < 2:
            for tp, records in (await gathering.next_batch(consumer, wait_ms=1000, most=100)).items():
                first[tp.topic] = [r.value for r in records]
        assert first == {topic: [b"before"] for topic in topics}
        diverged = {tp for tp in consumer.assignment() if tp.topic == topics[0]}  # its record's among them
        gathering.keep_paused(consumer, *diverged)
        for topic in topics:
            await produce(platform.kafka_bootstrap, topic, b"after", key=b"k")
        later = await gathering.next_batch(consumer, wait_ms=2000, most=100)
        assert {tp.topic: [r.value for r in records] for tp, records in later.items()} == {topics[1]: [b"after"]}
        assert consumer.paused() == consumer.assignment()  # the diverged ones, and the others until the next batch
        assert await gathering.next_batch(consumer, wait_ms=300, most=100) == {}  # never the diverged one's
        assert diverged <= consumer.paused()
    finally:
        await consumer.stop()
