"""The archiver's loop with fakes: fsync, then progress in Valkey under the epoch, then commit; divergence pauses."""

from __future__ import annotations

from pathlib import Path

from aiokafka import TopicPartition
from redis.exceptions import ConnectionError as RedisConnectionError

from common.settings import load_settings
from infra.archive.segments import read_partition
from infra.archive.service import Archiver, ArchiveSettings, _SeekToArchive
from infra.archive.writer import ArchiveWriter
from tests.unit.archive.conftest import TOPIC, record, records

TP0, TP1 = TopicPartition(TOPIC, 0), TopicPartition(TOPIC, 1)


class FakeConsumer:
    def __init__(self) -> None:
        self.committed: list[dict] = []
        self.paused: list[TopicPartition] = []
        self.sought: dict[TopicPartition, int] = {}

    async def commit(self, offsets: dict) -> None:
        if not offsets:
            raise ValueError(offsets)  # as aiokafka does
        self.committed.append(dict(offsets))

    def pause(self, *tps: TopicPartition) -> None:
        self.paused.extend(tps)

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.sought[tp] = offset


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
    assert consumer.paused == [TP0, TP0]
    assert archiver.status()["diverged"] == [f"{TOPIC}:0"]
    assert writer.next_offset(TOPIC, 0) == 5 and writer.next_offset(TOPIC, 1) == 2
    writer.close()


async def test_assigned_partitions_are_sought_to_the_last_archived_record(tmp_path: Path) -> None:
    archiver, consumer, _, writer = make_archiver(tmp_path)
    await archiver.archive({TP0: records(0, 7)})
    await _SeekToArchive(consumer, writer).on_partitions_assigned([TP0, TP1])  # type: ignore[arg-type]
    assert consumer.sought == {TP0: 6, TP1: 0}
    writer.close()


def test_settings_come_from_the_environment() -> None:
    settings = load_settings(ArchiveSettings, {"ARCHIVE_DIR": "/data/archive", "ARCHIVE_RETENTION_DAYS": "400"})
    assert (settings.archive_dir, settings.archive_retention_days) == ("/data/archive", 400)
    assert settings.consumer_group == "archiver" and settings.archive_segment_bytes == 64 * 1024 * 1024
