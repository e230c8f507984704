"""The bench times `POST` → `IssueReceived` by the record's own timestamp, not by when its reader saw it."""

from __future__ import annotations

import time
import uuid

import msgspec
from aiokafka import AIOKafkaProducer

from infra.bench import ReceivedWatch
from infra.runtime.platform import Platform
from tests.integration.helpers import produce


async def test_the_watch_notes_when_each_issue_received_was_sent_and_nothing_else(platform: Platform) -> None:
    topic = f"test.watch.{uuid.uuid4().hex[:8]}"
    await produce(platform.kafka_bootstrap, topic, b'{"type":"warm.up.v1"}', key=b"k")  # the broker makes the topic
    watch = ReceivedWatch(platform.kafka_bootstrap, topic)
    await watch.start()
    producer = AIOKafkaProducer(bootstrap_servers=platform.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        sent_ms = int(time.time() * 1000) - 5_000  # sent five seconds ago: seen now, timed then
        received = str(uuid.uuid4())
        other = str(uuid.uuid4())
        for kind, submission, at in (("intake.issue_received.v1", received, sent_ms), ("triage.other.v1", other, None)):
            value = msgspec.json.encode({"type": kind, "submission_id": submission})
            await producer.send_and_wait(topic, value, key=b"k", timestamp_ms=at)
        await watch.wait_for([received], timeout=10)
    finally:
        await producer.stop()
        await watch.stop()
    assert watch.seen == {received: sent_ms / 1000}
