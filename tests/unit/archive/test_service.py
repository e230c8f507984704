"""The archiver's loop with fakes: fsync, then progress in Valkey under the epoch, then commit; divergence pauses;
partitions move between the broker and the producers' feed."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from aiokafka import TopicPartition
from redis.exceptions import ConnectionError as RedisConnectionError

from common.settings import load_settings
from infra.archive.feed import Taken, follow_on
from infra.archive.segments import read_partition
from infra.archive.service import Archiver, ArchiveSettings, _SeekToArchive
from infra.archive.writer import ArchiveWriter
from tests.unit.archive.conftest import TOPIC, record, records

TP0, TP1 = TopicPartition(TOPIC, 0), TopicPartition(TOPIC, 1)


class FakeConsumer:
    """aiokafka's consumer as the archiver uses it; `broker` holds each partition's records."""

    def __init__(self, assigned: tuple[TopicPartition, ...] = ()) -> None:
        self.committed: list[dict] = []
        self.paused_log: list[TopicPartition] = []
        self.sought: dict[TopicPartition, int] = {}
        self.assigned, self.held = set(assigned), set[TopicPartition]()
        self.broker: dict[TopicPartition, list] = {tp: [] for tp in assigned}
        self.position: dict[TopicPartition, int] = dict.fromkeys(assigned, 0)
        self.polled: dict[TopicPartition, int] = {}  # when a fetch last answered for it (ms)
        self.fetched: list[set[TopicPartition]] = []  # the partitions each getmany asked the broker for

    async def commit(self, offsets: dict) -> None:
        if not offsets:
            raise ValueError(offsets)  # as aiokafka does
        self.committed.append(dict(offsets))

    def assignment(self) -> set[TopicPartition]:
        return set(self.assigned)

    def paused(self) -> set[TopicPartition]:
        return set(self.held)

    def pause(self, *tps: TopicPartition) -> None:
        self.paused_log.extend(tps)
        self.held |= set(tps)

    def resume(self, *tps: TopicPartition) -> None:
        self.held -= set(tps)

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.sought[tp] = self.position[tp] = offset

    def highwater(self, tp: TopicPartition) -> int | None:
        return len(self.broker[tp]) if tp in self.polled else None

    def last_poll_timestamp(self, tp: TopicPartition) -> int | None:
        return self.polled.get(tp)

    async def getmany(self, timeout_ms: int, max_records: int) -> dict:
        asked = self.assigned - self.held
        self.fetched.append(asked)
        batch = {}
        for tp in asked:
            self.polled[tp] = int(time.time() * 1000) + 1
            if got := self.broker[tp][self.position[tp] :]:
                batch[tp], self.position[tp] = got, self.position[tp] + len(got)
        return batch


class FakeFeed:
    """The producers' feed: records by partition, taken from the offset asked for."""

    def __init__(self) -> None:
        self.records: dict[TopicPartition, list] = {}
        self.trimmed: dict[TopicPartition, int] = {}

    async def take(self, wanted: dict, trim: dict, most: int) -> dict:
        self.trimmed.update({**trim, **wanted})
        held = {tp: [r for r in self.records.get(tp, []) if r.offset >= nxt] for tp, nxt in wanted.items()}
        return {tp: follow_on(rs, wanted[tp]) for tp, rs in held.items() if rs}


class FakeRedis:
    def __init__(self, root: Path) -> None:
        self.root, self.writes, self.down = root, [], False

    async def hset(self, key: str, mapping: dict) -> int:
        if self.down:
            raise RedisConnectionError("valkey is down")
        on_disk = len(list(read_partition(self.root / TOPIC / "0")))
        self.writes.append((key, dict(mapping), on_disk))
        return len(mapping)


def make_archiver(tmp_path: Path) -> tuple[Archiver, FakeConsumer, FakeRedis, ArchiveWriter]:
    writer, consumer, redis = ArchiveWriter(tmp_path), FakeConsumer(), FakeRedis(tmp_path)
    return Archiver(ArchiveSettings(), consumer, writer, redis, epoch="3"), consumer, redis, writer  # type: ignore[arg-type]


def fed_archiver(tmp_path: Path, **settings: object) -> tuple[Archiver, FakeConsumer, FakeFeed, ArchiveWriter]:
    """An archiver of TP0 and TP1 whose batches come at once, with a fake feed."""
    writer, consumer, feed = ArchiveWriter(tmp_path), FakeConsumer((TP0, TP1)), FakeFeed()
    chosen = ArchiveSettings(archive_gather_ms=0, **settings)  # type: ignore[arg-type]
    archiver = Archiver(chosen, consumer, writer, FakeRedis(tmp_path), epoch="3")  # type: ignore[arg-type]
    archiver.feed = feed  # type: ignore[assignment]
    return archiver, consumer, feed, writer


async def step(archiver: Archiver) -> None:
    """One turn of the archiver's loop."""
    if batch := await archiver.next_batch():
        await archiver.archive(batch)
    archiver.review()


async def test_a_batch_is_on_disk_before_its_progress_is_recorded_and_committed(tmp_path: Path) -> None:
    archiver, consumer, redis, writer = make_archiver(tmp_path)
    await archiver.archive({TP0: records(0, 10), TP1: records(0, 3)})
    assert redis.writes == [("archive:hwm:3", {f"{TOPIC}:0": 10, f"{TOPIC}:1": 3}, 10)]
    assert consumer.committed == [{TP0: 10, TP1: 3}]
    assert archiver.lag.roll().records == 13  # type: ignore[union-attr]
    writer.close()


async def test_progress_valkey_missed_is_recorded_with_the_next_batch(tmp_path: Path) -> None:
    archiver, _, redis, writer = make_archiver(tmp_path)
    redis.down = True
    await archiver.archive({TP1: records(0, 3)})
    redis.down = False
    await archiver.archive({TP0: records(0, 2)})
    assert redis.writes[-1][1] == {f"{TOPIC}:0": 2, f"{TOPIC}:1": 3}
    writer.close()


async def test_a_partition_whose_broker_history_differs_is_paused_and_reported(tmp_path: Path) -> None:
    archiver, consumer, _, writer = make_archiver(tmp_path)
    await archiver.archive({TP0: records(0, 5)})
    await archiver.archive({TP0: [record(4, value=b"other"), record(5)], TP1: records(0, 2)})
    await archiver.archive({TP0: [record(4, value=b"other")]})  # nothing to record or commit
    assert consumer.paused_log == [TP0, TP0]
    assert archiver.status()["diverged"] == [f"{TOPIC}:0"]
    assert writer.next_offset(TOPIC, 0) == 5 and writer.next_offset(TOPIC, 1) == 2
    writer.close()


async def test_assigned_partitions_are_sought_to_the_last_archived_record(tmp_path: Path) -> None:
    archiver, consumer, _, writer = fed_archiver(tmp_path)
    await archiver.archive({TP0: records(0, 7)})
    await _SeekToArchive(archiver).on_partitions_assigned([TP0, TP1])
    assert consumer.sought == {TP0: 6, TP1: 0}
    writer.close()


async def test_a_partition_caught_up_on_the_broker_is_then_read_from_the_feed(tmp_path: Path) -> None:
    archiver, consumer, feed, writer = fed_archiver(tmp_path)
    consumer.broker[TP0] = records(0, 5)
    archiver.assigned([TP0, TP1])
    await step(archiver)
    assert archiver.fed.keys() == {TP0, TP1} and consumer.paused() == {TP0, TP1}
    feed.records[TP0] = records(5, 9)  # what the producers noted; the broker is not asked again
    consumer.broker[TP0] += records(5, 9)
    await step(archiver)
    assert writer.next_offset(TOPIC, 0) == 9 and consumer.fetched[1:] == []
    assert archiver.counts["from_broker"] == 5 and archiver.counts["from_feed"] == 4
    assert feed.trimmed[TP0] == 5  # what the archive held was trimmed from the feed
    writer.close()


async def test_an_offset_the_feed_skipped_is_read_from_the_broker_after_the_gap_wait(tmp_path: Path) -> None:
    archiver, consumer, feed, writer = fed_archiver(tmp_path, archive_gap_wait_s=0.2)
    archiver.assigned([TP0, TP1])
    await step(archiver)
    consumer.broker[TP0] = records(0, 4)  # offset 1 was published without an outbox
    feed.records[TP0] = [record(0), record(2), record(3)]
    await step(archiver)
    assert writer.next_offset(TOPIC, 0) == 1 and TP0 in archiver.fed  # a producer may note it yet
    await asyncio.sleep(0.25)
    await step(archiver)  # the gap is old enough: back to the broker, from the missing offset
    assert TP0 not in archiver.fed and consumer.sought[TP0] == 0  # the last fed record, to compare it
    await step(archiver)
    assert writer.next_offset(TOPIC, 0) == 4 and consumer.fetched[-1] == {TP0}
    assert archiver.counts["gaps"] == 1 and TP0 in archiver.fed  # caught up again
    assert [r.value for r in read_partition(tmp_path / TOPIC / "0")] == [r.value for r in records(0, 4)]
    writer.close()


async def test_a_fed_record_the_broker_holds_otherwise_is_caught_when_the_partition_goes_back(tmp_path: Path) -> None:
    archiver, consumer, feed, writer = fed_archiver(tmp_path, archive_gap_wait_s=0)
    archiver.assigned([TP0, TP1])
    await step(archiver)
    consumer.broker[TP0] = records(0, 4)
    feed.records[TP0] = [record(0), record(1, value=b"not what the broker holds"), record(3)]
    await step(archiver)  # 0 and 1 from the feed; 2 is missing, and the gap wait is over at once
    await step(archiver)  # from the broker from offset 1: it differs
    assert archiver.status()["diverged"] == [f"{TOPIC}:0"] and TP0 in consumer.paused()
    assert writer.next_offset(TOPIC, 0) == 2
    writer.close()


async def test_a_partition_the_feed_is_silent_about_is_looked_at_on_the_broker(tmp_path: Path) -> None:
    archiver, consumer, _, writer = fed_archiver(tmp_path, archive_quiet_recheck_s=0.2)
    archiver.assigned([TP0, TP1])
    await step(archiver)
    consumer.broker[TP1] = records(0, 2)  # published without an outbox, and nothing fed after it
    await asyncio.sleep(0.25)
    await step(archiver)  # quiet long enough: both go to the broker
    await step(archiver)
    assert writer.next_offset(TOPIC, 1) == 2 and archiver.counts["rechecks"] == 2
    assert archiver.fed.keys() == {TP0, TP1}
    writer.close()


async def test_before_stopping_it_takes_all_the_broker_has_fed_or_not(tmp_path: Path) -> None:
    archiver, consumer, _, writer = fed_archiver(tmp_path)  # quiet partitions looked at only after 3 s
    archiver.assigned([TP0, TP1])
    await step(archiver)
    consumer.broker[TP0], consumer.broker[TP1] = records(0, 3), records(0, 1)  # published without an outbox
    await archiver.last_pass()
    assert (writer.next_offset(TOPIC, 0), writer.next_offset(TOPIC, 1)) == (3, 1)
    writer.close()


async def test_without_the_feed_every_partition_stays_on_the_broker(tmp_path: Path) -> None:
    archiver, consumer, _, writer = fed_archiver(tmp_path)
    archiver.feed = None
    archiver.assigned([TP0, TP1])
    consumer.broker[TP0] = records(0, 3)
    await step(archiver)
    consumer.broker[TP0] += records(3, 5)
    await step(archiver)
    assert writer.next_offset(TOPIC, 0) == 5 and archiver.fed == {} and consumer.fetched[-1] == {TP0, TP1}
    writer.close()


def test_the_feed_gives_the_run_that_follows_on_and_where_a_gap_begins() -> None:
    assert follow_on(records(3, 6), 3) == Taken(records(3, 6), None)
    assert follow_on([*records(1, 5), record(6)], 3) == Taken(records(3, 5), 5)
    assert follow_on(records(5, 7), 3) == Taken([], 3)


def test_settings_come_from_the_environment() -> None:
    settings = load_settings(ArchiveSettings, {"ARCHIVE_DIR": "/data/archive", "ARCHIVE_RETENTION_DAYS": "400"})
    assert (settings.archive_dir, settings.archive_retention_days) == ("/data/archive", 400)
    assert settings.consumer_group == "archiver" and settings.archive_segment_bytes == 64 * 1024 * 1024
