"""A part's local copy of the registry: read from the registry topic from offset 0, then kept current.

`start()` returns once the copy has caught up with the topic, so a part that starts late sees the
same registry as one that ran all along. A background task then follows the topic. `sync()` waits
until every record published before the call is applied: the registry service calls it before
checking each command, so it checks against everything it (or another instance) published before.

Tansu answers ListOffsets with the last batch's base offset + 1, which is short of the end when that
batch held several records; the rest of the batch comes in the same fetch, so `sync()` waits for the
answered offset and then for one more poll, which drains what the fetch buffered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Protocol, runtime_checkable

import msgspec
from aiokafka import AIOKafkaConsumer, TopicPartition

from common.registry.view import RegistryView
from contracts.registry import RegistryEventMessage
from contracts.topics import REGISTRY_ENTITIES, Topic

log = logging.getLogger(__name__)


@runtime_checkable
class LiveRegistry(Protocol):
    """What a handler needs of the registry: the view, and a way to wait for the latest of it."""

    view: RegistryView

    async def sync(self) -> None:
        """Return once everything published before the call is in `view`."""


class RegistryCache:
    def __init__(self, bootstrap: str, topic: Topic = REGISTRY_ENTITIES, poll_ms: int = 20) -> None:
        self.view = RegistryView()
        self.applied = 0  # records applied, skipped ones included
        self._bootstrap, self._topic, self._poll_ms = bootstrap, topic, poll_ms
        self._decoder = msgspec.json.Decoder(RegistryEventMessage)
        self._consumer: AIOKafkaConsumer | None = None
        self._partitions: list[TopicPartition] = []
        self._task: asyncio.Task[None] | None = None
        self._next: dict[TopicPartition, int] = {}  # the offset after the last one applied
        self._polled = asyncio.Condition()
        self._polls = 0

    async def start(self, timeout_s: float = 60.0) -> None:
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap,
            enable_auto_commit=False,
            auto_offset_reset="earliest",  # never jump to the end: a cache needs every record
            fetch_max_wait_ms=self._poll_ms,
            max_partition_fetch_bytes=4 * 1024 * 1024,
        )
        await self._consumer.start()
        await self._consumer.topics()
        partitions = self._consumer.partitions_for_topic(self._topic.name) or set()
        if not partitions:
            await self._consumer.stop()
            raise RuntimeError(f"topic {self._topic.name} does not exist: create the topics first")
        self._partitions = [TopicPartition(self._topic.name, p) for p in sorted(partitions)]
        self._consumer.assign(self._partitions)
        for tp in self._partitions:
            self._consumer.seek(tp, 0)
        self._task = asyncio.create_task(self._follow())
        try:
            await asyncio.wait_for(self.sync(), timeout_s)
        except TimeoutError:
            await self.stop()
            raise TimeoutError(f"could not read {self._topic.name} to its end in {timeout_s} s") from None
        log.info("registry loaded", extra={"records": self.applied})

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
                batches = await self._consumer.getmany(timeout_ms=self._poll_ms, max_records=5_000)
            except Exception as exc:  # the broker away: keep what we have, try again
                log.warning("registry topic unavailable; retrying", extra={"error": repr(exc)})
                await asyncio.sleep(1.0)
                continue
            for tp, records in batches.items():
                for record in records:
                    self._apply(record)
                if records:
                    self._next[tp] = records[-1].offset + 1
            async with self._polled:
                self._polls += 1
                self._polled.notify_all()

    def _apply(self, record) -> None:  # type: ignore[no-untyped-def]
        self.applied += 1
        try:
            self.view.apply(self._decoder.decode(record.value))
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            # a newer registry's entity or event type: not ours to understand; the rest stays usable
            log.warning("registry record skipped", extra={"offset": record.offset, "error": str(exc)})
