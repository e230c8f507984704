"""A quiet reader's longer fetch wait on the real broker: set on aiokafka's own fetcher, shortened again by
the next record, which still arrives (`common.fetch_pace`)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable

from common.fetch_pace import FetchPace
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
