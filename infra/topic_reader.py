"""Reading whole topics for checks and tests: every record from offset 0 up to the high watermark.

The high watermark comes from fetch responses: Tansu's ListOffsets ("end offsets") answers the last
batch's base offset + 1, which undercounts whenever a producer sent several records in one batch."""

from __future__ import annotations

import time

from aiokafka import AIOKafkaConsumer, TopicPartition


async def _consumer(bootstrap: str, topics: set[str]) -> tuple[AIOKafkaConsumer, list[TopicPartition]]:
    # Tansu sometimes answers a first fetch with "out of range": never let that jump to the end.
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest", fetch_max_wait_ms=20
    )
    await consumer.start()
    await consumer.topics()  # fetches the cluster metadata
    partitions = [TopicPartition(t, p) for t in sorted(topics) for p in sorted(consumer.partitions_for_topic(t) or ())]
    consumer.assign(partitions)
    for tp in partitions:
        consumer.seek(tp, 0)
    return consumer, partitions


async def read_topic(bootstrap: str, topic: str, timeout: float = 30.0) -> list:  # list[ConsumerRecord]
    consumer, partitions = await _consumer(bootstrap, {topic})
    try:
        records: list = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for batch in (await consumer.getmany(timeout_ms=100, max_records=10_000)).values():
                records.extend(batch)
            if await _all_caught_up(consumer, partitions):
                return records
        raise TimeoutError(f"could not read {topic} to its end in {timeout} s")
    finally:
        await consumer.stop()


async def high_watermarks(bootstrap: str, topics: set[str], timeout: float = 30.0) -> dict[str, int]:
    """`topic:partition` -> the offset the next record will get."""
    consumer, partitions = await _consumer(bootstrap, topics)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            await consumer.getmany(timeout_ms=100, max_records=10_000)
            if await _all_caught_up(consumer, partitions):
                return {f"{tp.topic}:{tp.partition}": consumer.highwater(tp) for tp in partitions}
        raise TimeoutError(f"no high watermark for every partition of {sorted(topics)} in {timeout} s")
    finally:
        await consumer.stop()


async def _all_caught_up(consumer: AIOKafkaConsumer, partitions: list[TopicPartition]) -> bool:
    for tp in partitions:
        highwater = consumer.highwater(tp)
        if highwater is None or await consumer.position(tp) < highwater:
            return False
    return True
