"""How long the broker may hold a consumer's fetch: short while records come, longer once none have.

A consumer with nothing to read asks again after every wait, and each ask costs the broker and the
consumer CPU whether or not anything came (Tansu answers a held fetch once records come, but late: with one
reader, a record waited up to about half the wait, README "Benchmark"). With every wait at
20 ms an idle platform burnt 0.45-0.52 of a core; with every wait at 100 ms, 0.27-0.33 (README
"Benchmark"). A `FetchPace` keeps the short wait while records come and lengthens it once none has come
for `quiet_after_s`; the first record after a quiet spell may then wait up to the long wait, and the
records after it the short one again.

The wait is aiokafka's fetcher's own setting, read for every fetch request it builds: a private attribute
(`Fetcher._fetch_max_wait_ms`, aiokafka 0.14, pinned in requirements.lock; `tests/unit/common/
test_fetch_pace.py` fails if it goes away). Without it, a pace changes nothing and the wait stays short.

`Gathering` paces the other way, under load: a reader off the paths people wait on takes its batches at most
so often (`KAFKA_GATHER_MS`), so each batch's fixed cost is paid for more records."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from common.settings import BaseSettings


class FetchPace:
    def __init__(
        self, busy_ms: int, quiet_ms: int, quiet_after_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.busy_ms, self.quiet_ms, self.quiet_after_s = busy_ms, quiet_ms, quiet_after_s
        self._clock = clock
        self._last = clock()
        # nothing to change if the waits are the same, or quiet spells are not looked for (0)
        self.enabled = quiet_ms > busy_ms and quiet_after_s > 0

    @classmethod
    def of(cls, settings: BaseSettings, busy_ms: int | None = None) -> FetchPace:
        """The services' waits (`KAFKA_FETCH_MAX_WAIT_MS` or `busy_ms`, `KAFKA_FETCH_MAX_WAIT_QUIET_MS`,
        `KAFKA_QUIET_AFTER_S`)."""
        busy = busy_ms or settings.kafka_fetch_max_wait_ms
        return cls(busy, settings.kafka_fetch_max_wait_quiet_ms, settings.kafka_quiet_after_s)

    def came(self, consumer: Any) -> None:
        """Records came: the short wait from the next fetch on."""
        self._last = self._clock()
        self._set(consumer, self.busy_ms)

    def look(self, consumer: Any) -> None:
        """Called now and then: the long wait once nothing has come for `quiet_after_s`."""
        if self._clock() - self._last >= self.quiet_after_s:
            self._set(consumer, self.quiet_ms)

    def _set(self, consumer: Any, wait_ms: int) -> None:
        fetcher = getattr(consumer, "_fetcher", None)
        if self.enabled and fetcher is not None and getattr(fetcher, "_fetch_max_wait_ms", wait_ms) != wait_ms:
            fetcher._fetch_max_wait_ms = wait_ms


GATHER_LAST_MS = 10  # after a gathering wait: time for one more fetch of what came since the fetcher last asked


class Gathering:
    """How a reader off the paths people wait on takes its batches (`KAFKA_GATHER_MS`): while records keep
    coming, the next batch is fetched `gather_s` after the last one began, and records gather meanwhile; the
    first records after a pause come at once. aiokafka's fetcher stops asking the broker while it holds
    records nobody has taken, so what it holds may date from early in the wait: one short wait more takes
    what came since. `gather_s=0`: every batch at once, as the readers people wait on take them.

    `hold_fetches`: the consumer's partitions stay paused from the end of one batch to the start of the next,
    so the fetcher asks the broker once a batch, for everything. Without it the fetcher keeps asking for
    every partition it holds no records of, and each ask comes back as soon as any of them has one; each
    costs the broker a pass over the partitions that have records, and the archiver asks for all of them. A
    reader of six topics with records every 5 ms, gathering for 500 ms as the archiver does, sent 34-35
    fetches in 4 s without holding, 18-19 holding only while it gathered (its fetcher asked again while the
    archiver wrote), and 11 holding between batches (`tests/integration/test_fetch_pace.py`). Partitions
    the reader wants left alone (the archiver's diverged ones) it pauses through `keep_paused`."""

    def __init__(self, gather_s: float, hold_fetches: bool = False) -> None:
        self.gather_s, self.hold_fetches, self._last_batch_at = gather_s, hold_fetches, 0.0
        self.full = False  # the last batch held `most` records: more are waiting, nothing needs to gather
        self._held: set[Any] = set()  # `hold_fetches`: the partitions this gathering paused after the last batch

    def keep_paused(self, consumer: Any, *partitions: Any) -> None:
        """Pause these for good: no later batch resumes them."""
        consumer.pause(*partitions)
        self._held -= set(partitions)

    def include(self, *partitions: Any) -> None:
        """`hold_fetches`: partitions paused for good until now join the next batch."""
        self._held |= set(partitions)

    async def next_batch(self, consumer: Any, *, wait_ms: int, most: int) -> dict[Any, list]:
        """The next batch from aiokafka's `consumer`, by partition: at most `most` records, within `wait_ms`
        of the fetch (empty if none came). After a full batch the next is fetched at once."""
        waited = await self.wait_turn()
        batch = await self.fetch(consumer, wait_ms=wait_ms, most=most, waited=waited)
        self.took(sum(map(len, batch.values())), most)
        return batch

    async def wait_turn(self) -> bool:
        """Sleep until the next batch is due; whether it slept."""
        wait = 0.0 if self.full else self._last_batch_at + self.gather_s - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        return wait > 0

    async def fetch(self, consumer: Any, *, wait_ms: int, most: int, waited: bool) -> dict[Any, list]:
        """A batch now, from what gathered (`waited`: records gathered while the reader slept)."""
        if self.hold_fetches:
            return await self._fetch_once(consumer, wait_ms, most)
        batch = await consumer.getmany(timeout_ms=wait_ms, max_records=most)
        if waited and batch and (held := sum(map(len, batch.values()))) < most:
            for tp, records in (await consumer.getmany(timeout_ms=GATHER_LAST_MS, max_records=most - held)).items():
                batch.setdefault(tp, []).extend(records)
        return batch

    def took(self, records: int, most: int) -> None:
        """A batch of `records` was taken: the next is due `gather_s` from now, or at once if it was full."""
        if records:
            self._last_batch_at = time.monotonic()
        self.full = records >= most

    async def _fetch_once(self, consumer: Any, wait_ms: int, most: int) -> dict[Any, list]:
        """What the partitions held since the last batch gathered, in one fetch; paused again before anything
        else runs, so the fetcher asks for nothing until the next batch. (No short wait after it: the fetcher
        asked nothing while the records gathered.)"""
        consumer.resume(*(self._held & consumer.assignment()))  # those a rebalance took are not ours to resume
        try:
            return await consumer.getmany(timeout_ms=wait_ms, max_records=most)
        finally:
            self._held = consumer.assignment() - consumer.paused()
            consumer.pause(*self._held)
