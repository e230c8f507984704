"""The archiver: appends every record of every platform topic to the archive, fsynced, then notes progress in Valkey.

Run with `python -m infra.archive.service`. The archive itself is the archiver's position: on assignment each
partition is sought to the archive's last offset (re-read once to prove the broker's history is the archive's),
so a record is never archived twice or skipped. Committed offsets are informational only.

A partition is read from the broker until the archive has caught up with it, then from the feed the producers
keep in Valkey (`common.archive_feed`), which costs the broker nothing. It goes back to the broker for a while
where the feed cannot say what comes next: an offset the feed has skipped for `ARCHIVE_GAP_WAIT_S` (a record
published without an outbox, or by a process that died before noting it), or a partition the feed has brought
nothing of for `ARCHIVE_QUIET_RECHECK_S` (a fetch that finds nothing new costs the broker almost nothing).
Before it stops, it reads every partition from the broker until it holds all the broker has.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import signal
import time

import redis.asyncio as aioredis
import uvloop
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError
from redis.exceptions import RedisError

from common.fetch_pace import Gathering
from common.logs import setup_logging
from common.redis import make_redis
from common.settings import BaseSettings, load_settings
from infra.archive.catalog import platform_topic_pattern
from infra.archive.feed import FeedReader
from infra.archive.health import ArchiverHealth
from infra.archive.lag import LagSummary, LagWindow
from infra.archive.prune import DEFAULT_RETENTION_DAYS, prune
from infra.archive.segments import DEFAULT_SEGMENT_BYTES
from infra.archive.writer import ArchiveWriter, Diverged

log = logging.getLogger("archiver")
EPOCH_KEY = "platform:epoch"
PROGRESS_KEY = "archive:hwm:{epoch}"


class ArchiveSettings(BaseSettings, frozen=True, kw_only=True):
    archive_dir: str = "var/archive"
    archive_retention_days: int = DEFAULT_RETENTION_DAYS
    archive_segment_bytes: int = DEFAULT_SEGMENT_BYTES
    archive_topic_pattern: str = platform_topic_pattern()
    archive_max_records: int = 20_000  # per getmany: one fsync per touched segment per batch
    # Larger batches mean fewer wakeups and fsyncs: the archive's lag only delays outbox confirmations.
    archive_fetch_max_wait_ms: int = 200
    # While records keep coming, the next batch this long after the last began: each costs a fetch across
    # every topic, fsyncs and a Valkey write, and the archive's lag only delays the outboxes' confirmations.
    # 2 s, not 500 ms: the archiver's CPU at 50 intakes/s fell from 0.41 to 0.14 ms an intake (README).
    archive_gather_ms: int = 2000
    archive_prune_interval_s: float = 3600.0
    archive_lag_window_s: float = 60.0
    archive_metadata_max_age_ms: int = 5_000  # how soon a new `referrals.<code>.v1` topic is picked up
    archive_feed: bool = True  # false: every partition is read from the broker, as before the feed
    # A producer notes what the broker acknowledged within milliseconds (the gateway within 0.5 s): an offset
    # missing longer than this is read from the broker.
    archive_gap_wait_s: float = 3.0
    # A partition the feed has said nothing of for this long is looked at on the broker: a record published
    # without an outbox, with nothing fed after it, is archived within about this long.
    archive_quiet_recheck_s: float = 3.0
    consumer_group: str = "archiver"


class _SeekToArchive(ConsumerRebalanceListener):
    def __init__(self, archiver: Archiver) -> None:
        self.archiver = archiver

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        pass  # every batch is flushed before the next getmany: nothing is held for a revoked partition

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        self.archiver.assigned(assigned)


class Archiver:
    def __init__(
        self,
        settings: ArchiveSettings,
        consumer: AIOKafkaConsumer,
        writer: ArchiveWriter,
        redis: aioredis.Redis,
        epoch: str,
    ) -> None:
        self.settings, self.consumer, self.writer, self.redis, self.epoch = settings, consumer, writer, redis, epoch
        self.lag = LagWindow()
        self.last_lag: LagSummary | None = None
        self.diverged: set[str] = set()
        self._unrecorded: dict[str, int] = {}  # progress not yet written to Valkey
        self.gathering = Gathering(settings.archive_gather_ms / 1000, hold_fetches=True)
        self.feed = FeedReader(redis, epoch) if settings.archive_feed else None
        self.fed: dict[TopicPartition, float] = {}  # partitions read from the feed -> when it last brought one
        self._gaps: dict[TopicPartition, tuple[int, float]] = {}  # fed partition -> (offset missing, since)
        self._from_broker_since: dict[TopicPartition, int] = {}  # ms: a fetch answered after this can end it
        self.counts = {"from_feed": 0, "from_broker": 0, "gaps": 0, "rechecks": 0}

    def assigned(self, partitions: list[TopicPartition]) -> None:
        """Newly assigned partitions are read from the broker, from one record before the archive's next: the
        writer compares that record with the last archived entry."""
        since = int(time.time() * 1000)
        for tp in partitions:
            self.fed.pop(tp, None)
            self._gaps.pop(tp, None)
            self._from_broker_since[tp] = since
            self.consumer.seek(tp, max(self.writer.next_offset(tp.topic, tp.partition) - 1, 0))

    async def run(self, stop: asyncio.Event) -> None:
        """Archive until `stop` is set; the batch in hand is always flushed first."""
        next_prune, next_lag = 0.0, time.monotonic() + self.settings.archive_lag_window_s
        while not stop.is_set():
            batch = await self.next_batch()
            if batch:
                await self.archive(batch)
            self.review()
            if time.monotonic() >= next_prune:
                await self._prune()
                next_prune = time.monotonic() + self.settings.archive_prune_interval_s
            if time.monotonic() >= next_lag:
                self._report_lag()
                next_lag = time.monotonic() + self.settings.archive_lag_window_s
        await self.last_pass()
        self._report_lag()

    async def last_pass(self, timeout_s: float = 5.0) -> None:
        """Before stopping, read every partition from the broker until the archive holds all it has: what was
        published without an outbox may not be fed yet, and a stopped platform's broker keeps nothing."""
        for tp in list(self.fed):
            self._read_from_broker(tp, check_last=True)
        deadline, waiting = time.monotonic() + timeout_s, list(self.consumer.assignment())
        while time.monotonic() < deadline:
            waiting = [tp for tp in self.consumer.assignment() if not self._is_diverged(tp) and not self._caught_up(tp)]
            if not waiting:
                return
            most = self.settings.archive_max_records
            if batch := await self.gathering.fetch(self.consumer, wait_ms=500, most=most, waited=False):
                self.counts["from_broker"] += sum(map(len, batch.values()))
                await self.archive(batch)
        log.warning("the archive had not caught up with the broker when the archiver stopped",
                    extra={"partitions": len(waiting)})  # fmt: skip

    async def next_batch(self) -> dict[TopicPartition, list]:
        """What gathered since the last batch: from the broker for the partitions read there, then the feed's."""
        most = self.settings.archive_max_records
        waited = await self.gathering.wait_turn()
        batch: dict[TopicPartition, list] = {}
        if self._reading_broker():
            batch = await self.gathering.fetch(self.consumer, wait_ms=500, most=most, waited=waited)
        elif not waited and not self.gathering.full:
            await asyncio.sleep(0.5)  # nothing came last time: ask the feed again in a while
        taken = sum(map(len, batch.values()))
        self.counts["from_broker"] += taken
        for tp, records in (await self._take_fed(most)).items():
            batch.setdefault(tp, []).extend(records)
            taken += len(records)
        self.gathering.took(taken, most)
        return batch

    def _reading_broker(self) -> bool:
        assignment = self.consumer.assignment()
        return not assignment or any(tp not in self.fed and not self._is_diverged(tp) for tp in assignment)

    async def _take_fed(self, most: int) -> dict[TopicPartition, list]:
        if self.feed is None or not self.consumer.assignment():
            return {}
        wanted = {tp: self.writer.next_offset(tp.topic, tp.partition) for tp in self.fed}
        trim = {
            tp: self.writer.next_offset(tp.topic, tp.partition)
            for tp in self.consumer.assignment() - self.fed.keys()
            if not self._is_diverged(tp)
        }
        try:
            taken = await self.feed.take(wanted, trim, most)
        except (RedisError, OSError) as exc:  # the broker stays: gaps and quiet partitions are read there
            log.warning("could not read the archive's feed from Valkey", extra={"error": repr(exc)})
            return {}
        now, batch = time.monotonic(), {}
        for tp, (records, gap_at) in taken.items():
            if records:
                batch[tp] = records
                self.fed[tp] = now
                self.counts["from_feed"] += len(records)
            self._note_gap(tp, gap_at, now)
        for tp in wanted.keys() - taken.keys():
            self._gaps.pop(tp, None)  # the feed holds nothing past the archive: no gap it can show
        return batch

    def _note_gap(self, tp: TopicPartition, gap_at: int | None, now: float) -> None:
        if gap_at is None:
            self._gaps.pop(tp, None)
        elif self._gaps.get(tp, (None,))[0] != gap_at:
            self._gaps[tp] = (gap_at, now)

    def review(self) -> None:
        """Move partitions between the broker and the feed: to the feed once the archive has caught up with
        the broker, back to the broker for a gap the feed has not filled, or after a quiet spell."""
        assignment = self.consumer.assignment()
        for held in (self.fed, self._gaps, self._from_broker_since):
            for tp in held.keys() - assignment:  # a rebalance took it
                del held[tp]
        if self.feed is None:
            return
        now = time.monotonic()
        for tp in assignment - self.fed.keys():
            if not self._is_diverged(tp) and self._caught_up(tp):
                self.gathering.keep_paused(self.consumer, tp)
                self._from_broker_since.pop(tp, None)
                # as if fed a while ago, by chance: quiet partitions are looked at on the broker a few at a
                # time, not all in one fetch (each costs the broker ~0.15 ms even when it finds nothing)
                self.fed[tp] = now - random.uniform(0, self.settings.archive_quiet_recheck_s / 2)
        for tp, last_fed in list(self.fed.items()):
            gap = self._gaps.get(tp)
            if gap is not None and now - gap[1] >= self.settings.archive_gap_wait_s:
                self.counts["gaps"] += 1
                log.info("a record the feed skipped is read from the broker",
                         extra={"topic": tp.topic, "partition": tp.partition, "offset": gap[0]})  # fmt: skip
                self._read_from_broker(tp, check_last=True)
            elif now - last_fed >= self.settings.archive_quiet_recheck_s:
                self.counts["rechecks"] += 1
                self._read_from_broker(tp, check_last=False)  # a fetch that finds nothing costs the broker least

    def _caught_up(self, tp: TopicPartition) -> bool:
        """A fetch answered since the partition went to the broker says the archive holds all it has."""
        answered_at, end = self.consumer.last_poll_timestamp(tp), self.consumer.highwater(tp)
        if answered_at is None or end is None or answered_at < self._from_broker_since.get(tp, 0):
            return False
        return self.writer.next_offset(tp.topic, tp.partition) >= end

    def _read_from_broker(self, tp: TopicPartition, check_last: bool) -> None:
        """From the archive's next offset, or (`check_last`) from the last one archived: the writer then compares
        the broker's record with it, so a feed that ever differed from the broker is caught like a broker
        that does (the partition pauses and health turns red)."""
        del self.fed[tp]
        self._gaps.pop(tp, None)
        self._from_broker_since[tp] = int(time.time() * 1000)
        next_offset = self.writer.next_offset(tp.topic, tp.partition)
        self.consumer.seek(tp, max(next_offset - 1, 0) if check_last else next_offset)
        self.gathering.include(tp)

    def _is_diverged(self, tp: TopicPartition) -> bool:
        return f"{tp.topic}:{tp.partition}" in self.diverged

    async def archive(self, batch: dict[TopicPartition, list]) -> None:
        """Append, fsync, then record progress in Valkey, then commit (informational)."""
        progress, appended = self._append(batch)
        await asyncio.to_thread(self.writer.flush)
        durable_at_ms = time.time() * 1000
        for records in appended:
            self.lag.add(durable_at_ms, (record.timestamp for record in records))
        self._unrecorded.update({f"{tp.topic}:{tp.partition}": offset for tp, offset in progress.items()})
        await self._record_progress()
        if progress:
            with contextlib.suppress(KafkaError):  # a rebalance may have taken the partition: the archive decides
                await self.consumer.commit(progress)

    def _append(self, batch: dict[TopicPartition, list]) -> tuple[dict[TopicPartition, int], list[list]]:
        progress: dict[TopicPartition, int] = {}
        appended: list[list] = []
        for tp, records in batch.items():
            try:
                count = self.writer.append(tp.topic, tp.partition, records)
            except Diverged as exc:
                self._diverge(tp, exc)
                continue
            progress[tp] = self.writer.next_offset(tp.topic, tp.partition)
            appended.append(records[len(records) - count :])
        return progress, appended

    def _diverge(self, tp: TopicPartition, exc: Diverged) -> None:
        self.diverged.add(f"{tp.topic}:{tp.partition}")
        self.fed.pop(tp, None)
        self.gathering.keep_paused(self.consumer, tp)
        log.error(
            "the broker's history differs from the archive: partition paused; restore the broker from the archive "
            "or investigate before archiving it again",
            extra={"topic": tp.topic, "partition": tp.partition, "offset": exc.offset},
        )

    async def _record_progress(self) -> None:
        if not self._unrecorded:
            return
        try:
            await self.redis.hset(PROGRESS_KEY.format(epoch=self.epoch), mapping=self._unrecorded)
        except (RedisError, OSError) as exc:  # the archive is durable already; retried with the next batch
            log.warning("could not record archive progress in Valkey", extra={"error": repr(exc)})
        else:
            self._unrecorded = {}

    async def _prune(self) -> None:
        report = await asyncio.to_thread(prune, self.writer.root, self.settings.archive_retention_days)
        if report.deleted_segments:
            log.info("archive pruned", extra={"segments": report.deleted_segments, "bytes": report.deleted_bytes})

    def _report_lag(self) -> None:
        if summary := self.lag.roll():
            self.last_lag = summary
            log.info(
                "archive lag",
                extra={"records": summary.records, "lag_p50_ms": summary.p50_ms, "lag_p99_ms": summary.p99_ms,
                       "lag_max_ms": summary.max_ms, "partitions_fed": len(self.fed), **self.counts},
            )  # fmt: skip

    def status(self) -> dict[str, object]:
        lag = self.last_lag
        return {
            "dir": str(self.writer.root),
            "epoch": self.epoch,
            "lag_p50_ms": lag.p50_ms if lag else None,
            "lag_p99_ms": lag.p99_ms if lag else None,
            "diverged": sorted(self.diverged),
            "partitions_fed": len(self.fed),
            "partitions_from_broker": len(self.consumer.assignment()) - len(self.fed),
            "records": dict(self.counts),
        }


async def _read_epoch(redis: aioredis.Redis) -> str:
    epoch = await redis.get(EPOCH_KEY)
    return epoch.decode() if isinstance(epoch, bytes) else str(epoch or "0")


def _make_consumer(settings: ArchiveSettings) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=settings.consumer_group,
        client_id=f"archiver-{settings.instance_id}" if settings.instance_id else "archiver",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=settings.archive_fetch_max_wait_ms,
        session_timeout_ms=settings.kafka_session_timeout_ms,
        heartbeat_interval_ms=settings.kafka_heartbeat_interval_ms,
        metadata_max_age_ms=settings.archive_metadata_max_age_ms,
    )


async def serve(settings: ArchiveSettings) -> None:
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(signum, stop.set)
    async with contextlib.AsyncExitStack() as stack:
        writer = stack.enter_context(ArchiveWriter(settings.archive_dir, settings.archive_segment_bytes))
        redis = make_redis(settings.redis_url)
        stack.push_async_callback(redis.aclose)
        consumer = _make_consumer(settings)
        archiver = Archiver(settings, consumer, writer, redis, await _read_epoch(redis))
        await consumer.start()
        stack.push_async_callback(consumer.stop)
        if archiver.feed is not None:
            await archiver.feed.drop_other_epochs()
        consumer.subscribe(pattern=settings.archive_topic_pattern, listener=_SeekToArchive(archiver))
        health = ArchiverHealth(archiver, settings.health_host, settings.health_port)
        await health.start()
        stack.push_async_callback(health.stop)
        log.info("archiver started", extra={"dir": str(writer.root), "epoch": archiver.epoch})
        await archiver.run(stop)
    log.info("archiver stopped")


def main() -> None:
    settings = load_settings(ArchiveSettings)
    setup_logging("archiver", settings.log_level)
    uvloop.run(serve(settings))


if __name__ == "__main__":
    main()
