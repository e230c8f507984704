"""Reading a whole topic from offset 0 into memory, then following it: the registry caches and
oversight's ledgers are built this way, with nothing but the topic.

`start()` returns once every partition has been read to its end, so a part that starts late holds
the same as one that ran all along; a background task then follows the topic. `sync()` waits until
every record published before the call has been applied.

Tansu answers ListOffsets with the last batch's base offset + 1, which is short of the end when that
batch held several records; the rest of the batch comes in the same fetch, so `sync()` waits for the
answered offset and then for one more poll, which drains what the fetch buffered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from common.fetch_pace import FetchPace

log = logging.getLogger(__name__)


class TopicFollower:
    def __init__(
        self,
        bootstrap: str,
        topic: str,
        apply: Callable[[Any], None],
        poll_ms: int = 20,
        max_records: int = 5_000,
        pace: FetchPace | None = None,
    ) -> None:
        """`pace`: its short wait instead of `poll_ms`, and its long one in quiet spells (`common.fetch_pace`)."""
        self.applied = 0  # records handed to `apply`
        self._bootstrap, self._topic, self._apply = bootstrap, topic, apply
        self._poll_ms, self._max_records = pace.busy_ms if pace else poll_ms, max_records
        self._pace = pace
        self._consumer: AIOKafkaConsumer | None = None
        self._partitions: list[TopicPartition] = []
        self._task: asyncio.Task[None] | None = None
        self._next: dict[TopicPartition, int] = {}  # the offset after the last one applied
        self._polled = asyncio.Condition()
        self._polls = 0

    async def start(self, timeout_s: float = 120.0) -> None:
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap,
            enable_auto_commit=False,
            auto_offset_reset="earliest",  # never jump to the end: every record is needed
            fetch_max_wait_ms=self._poll_ms,
            max_partition_fetch_bytes=4 * 1024 * 1024,
        )
        await self._consumer.start()
        await self._consumer.topics()
        partitions = self._consumer.partitions_for_topic(self._topic) or set()
        if not partitions:
            await self._consumer.stop()
            raise RuntimeError(f"topic {self._topic} does not exist: create the topics first")
        self._partitions = [TopicPartition(self._topic, p) for p in sorted(partitions)]
        self._consumer.assign(self._partitions)
        for tp in self._partitions:
            self._consumer.seek(tp, 0)
        self._task = asyncio.create_task(self._follow())
        try:
            await asyncio.wait_for(self.sync(), timeout_s)
        except TimeoutError:
            await self.stop()
            raise TimeoutError(f"could not read {self._topic} to its end in {timeout_s} s") from None
        log.info("topic read to its end", extra={"topic": self._topic, "records": self.applied})

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._consumer:
            await self._consumer.stop()
            self._consumer = None

    async def sync(self) -> None:
        """Wait until everything published before this call has been applied."""
        assert self._consumer is not None, "start() first"
        ends = await self._consumer.end_offsets(self._partitions)
        async with self._polled:
            await self._polled.wait_for(lambda: all(self._next.get(tp, 0) >= end for tp, end in ends.items()))
            polls = self._polls
            await self._polled.wait_for(lambda: self._polls > polls)

    async def _follow(self) -> None:
        assert self._consumer is not None
        while True:
            try:
                batches = await self._consumer.getmany(timeout_ms=self._poll_ms, max_records=self._max_records)
            except Exception as exc:  # the broker away: keep what we have, try again
                log.warning("topic unavailable; retrying", extra={"topic": self._topic, "error": repr(exc)})
                await asyncio.sleep(1.0)
                continue
            for tp, records in batches.items():
                for record in records:
                    self.applied += 1
                    self._apply(record)
                if records:
                    self._next[tp] = records[-1].offset + 1
            if self._pace:
                if any(batches.values()):
                    self._pace.came(self._consumer)
                else:
                    self._pace.look(self._consumer)
            async with self._polled:
                self._polls += 1
                self._polled.notify_all()
