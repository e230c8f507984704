"""Refills an empty broker from the archive: same topics, partitions, keys, values, headers, timestamps and order."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import msgspec
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.producer.message_accumulator import BatchBuilder

from infra.archive.catalog import partitions_for
from infra.archive.segments import Entry, chain_hash, list_partitions, live_segments, read_partition

_BATCH_BYTES = 1024 * 1024  # ~2,000 records of 500 bytes: one produce request carries many
_MAX_REQUEST_BYTES = 16 * 1024 * 1024  # a single record larger than a batch goes alone


class RestoreRefused(RuntimeError):
    """The broker is not in a state the archive can be restored into; the message says why."""


class PartitionRestore(msgspec.Struct):
    topic: str
    partition: int
    archived_first: int = -1  # -1: nothing archived
    archived_next: int = 0
    sent: int = 0
    broker_end: int = -1
    problem: str | None = None

    @property
    def offset_shift(self) -> int:
        """How far restored offsets sit below archived ones: 0 unless older segments were pruned."""
        return max(self.archived_first, 0)


class RestoreReport(msgspec.Struct):
    topics_created: list[str]
    partitions: list[PartitionRestore]
    records: int
    seconds: float

    @property
    def mismatches(self) -> list[PartitionRestore]:
        return [p for p in self.partitions if p.problem]


class _Refill:
    """One partition's refill: batches filled until full, each sent only after the one before is stored."""

    def __init__(self, producer: AIOKafkaProducer, topic: str, partition: int, directory: Path) -> None:
        self.producer, self.directory = producer, directory
        self.report = PartitionRestore(topic, partition)
        self.last: Entry | None = None
        self._batch: BatchBuilder = producer.create_batch()
        self._batch_first = 0

    async def run(self) -> PartitionRestore:
        for entry in read_partition(self.directory):
            if self.last is None:
                self.report.archived_first = entry.offset
            if not self._add(entry):
                await self._send()
                if not self._add(entry):  # larger than a whole batch
                    await self._send_alone(entry)
            self.last, self.report.archived_next = entry, entry.offset + 1
        await self._send()
        return self.report

    def _add(self, entry: Entry) -> bool:
        added = self._batch.append(
            key=entry.key, value=entry.value, timestamp=entry.timestamp_ms, headers=entry.headers
        )
        if added is not None and self._batch.record_count() == 1:
            self._batch_first = entry.offset
        return added is not None

    async def _send(self) -> None:
        """Send the batch in hand and wait until the broker has stored it; start a fresh one."""
        if count := self._batch.record_count():
            self._batch.close()
            topic, partition = self.report.topic, self.report.partition
            stored = await (await self.producer.send_batch(self._batch, topic, partition=partition))
            self._expect_offset(self._batch_first, stored.offset)
            self.report.sent += count
        self._batch = self.producer.create_batch()

    async def _send_alone(self, entry: Entry) -> None:
        stored = await self.producer.send_and_wait(
            self.report.topic, entry.value, key=entry.key, partition=self.report.partition,
            timestamp_ms=entry.timestamp_ms, headers=entry.headers,
        )  # fmt: skip
        self._expect_offset(entry.offset, stored.offset)
        self.report.sent += 1
        self._batch = self.producer.create_batch()

    def _expect_offset(self, archived: int, restored: int) -> None:
        if restored != archived - self.report.offset_shift and self.report.problem is None:
            self.report.problem = f"archived offset {archived} was restored at offset {restored}"

    def judge(self, broker_end: int, at_end: ConsumerRecord | None) -> None:
        """Compare the broker's end, and its last record, with the archive's."""
        report = self.report
        report.broker_end = broker_end
        expected = report.archived_next - report.offset_shift if self.last else 0
        if report.problem is None and broker_end != expected:
            report.problem = f"the broker's partition ends at offset {broker_end}, the archive's at {expected}"
        elif report.problem is None and self.last is not None and not _same(self.last, at_end):
            report.problem = f"the broker's last record differs from the archived entry at offset {self.last.offset}"


def _same(entry: Entry, record: ConsumerRecord | None) -> bool:
    """The broker's record carries exactly the archived entry's timestamp, key, value and headers."""
    if record is None:
        return False
    content = (record.timestamp, record.key, record.value, list(record.headers))
    return chain_hash(entry.prev, entry.offset, *content) == entry.hash


async def restore(root: Path | str, bootstrap: str, *, require_empty: bool = True) -> RestoreReport:
    """Create the archived topics and produce every archived entry back, partitions in parallel."""
    started = time.perf_counter()
    plan = {(topic, partition): directory for topic, partition, directory in list_partitions(Path(root))}
    if require_empty and not await broker_is_empty(bootstrap):
        raise RestoreRefused(f"the broker at {bootstrap} already holds records; restore refills an empty broker")
    created = await _ensure_topics(bootstrap, plan)
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=False, linger_ms=0,
        max_batch_size=_BATCH_BYTES, max_request_size=_MAX_REQUEST_BYTES,
    )  # fmt: skip
    await producer.start()
    try:
        refills = [_Refill(producer, topic, partition, path) for (topic, partition), path in plan.items()]
        await asyncio.gather(*(refill.run() for refill in refills))
    finally:
        await producer.stop()
    await _judge_ends(bootstrap, refills)
    reports = [refill.report for refill in refills]
    return RestoreReport(created, reports, sum(r.sent for r in reports), time.perf_counter() - started)


async def _ensure_topics(bootstrap: str, plan: dict[tuple[str, int], Path]) -> list[str]:
    """Create the archived topics the broker lacks; refuse when an existing one has too few partitions."""
    archived: dict[str, int] = {}
    for topic, partition in plan:
        archived[topic] = max(archived.get(topic, 0), partition + 1)
    wanted = {topic: partitions_for(topic, count) for topic, count in archived.items()}
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="archive-restore")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        if missing := [NewTopic(t, n, 1) for t, n in sorted(wanted.items()) if t not in existing]:
            answer = await admin.create_topics(missing)
            if failed := [(topic, code) for topic, code, *_ in answer.topic_errors if code]:
                raise RestoreRefused(f"the broker would not create topics (name, Kafka error code): {failed}")
        for described in await admin.describe_topics([t for t in wanted if t in existing]):
            name, count = described["topic"], len(described["partitions"])
            if count < wanted[name]:
                raise RestoreRefused(
                    f"topic {name} has {count} partitions on the broker; the archive needs {wanted[name]}"
                )
        return [t.name for t in missing]
    finally:
        await admin.close()


async def _judge_ends(bootstrap: str, refills: list[_Refill], timeout: float = 60.0) -> None:
    """Read each partition from just before its expected end: the high watermark and the last record.

    (Tansu's ListOffsets answers the last batch's base offset + 1, so the fetch's high watermark is used.)"""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest", fetch_max_wait_ms=20
    )
    await consumer.start()
    try:
        waiting = {TopicPartition(r.report.topic, r.report.partition): r for r in refills}
        consumer.assign(list(waiting))
        for tp, refill in waiting.items():
            consumer.seek(tp, max(refill.report.sent - 1, 0))
        await _read_to_ends(consumer, waiting, time.monotonic() + timeout)
        for refill in waiting.values():
            refill.report.problem = refill.report.problem or "the broker did not answer for this partition"
    finally:
        await consumer.stop()


async def _read_to_ends(consumer: AIOKafkaConsumer, waiting: dict[TopicPartition, _Refill], deadline: float) -> None:
    """Judge each partition once read to its high watermark, and drop it from `waiting`."""
    last_read: dict[TopicPartition, ConsumerRecord] = {}
    while waiting and time.monotonic() < deadline:
        for tp, records in (await consumer.getmany(timeout_ms=100)).items():
            last_read[tp] = records[-1]
        for tp, refill in list(waiting.items()):
            end = consumer.highwater(tp)
            if end is not None and await consumer.position(tp) >= end:
                last = last_read.get(tp)
                refill.judge(end, last if last is not None and last.offset == end - 1 else None)
                del waiting[tp]


async def broker_is_empty(bootstrap: str) -> bool:
    """No record in any topic (internal ones aside): every partition's end offset is 0."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        topics = [t for t in await consumer.topics() if not t.startswith("__")]
        partitions = [TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()]
        ends = await consumer.end_offsets(partitions) if partitions else {}
        return all(end == 0 for end in ends.values())
    finally:
        await consumer.stop()


def archive_is_empty(root: Path | str) -> bool:
    return not any(
        segment.stat().st_size > 0
        for _, _, directory in list_partitions(Path(root))
        for segment in live_segments(directory)
    )
