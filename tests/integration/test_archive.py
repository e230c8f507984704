"""The archive end to end: archive two topics from a real Tansu broker, lose the broker, restore it into a fresh one."""

from __future__ import annotations

import asyncio
import json
import socket
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import redis
import redis.asyncio as aioredis
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from common.bus import Outgoing, make_broker, publish_all
from common.outbox import Outbox, current_epoch
from common.settings import BaseSettings, load_settings
from contracts.topics import ISSUE_EVENTS, referral_topic
from infra.archive.bench import free_port
from infra.archive.restore import RestoreRefused, broker_is_empty, restore
from infra.archive.segments import read_partition
from infra.archive.verify import verify
from infra.runtime.components import redis_url, tansu_argv, valkey_argv
from infra.runtime.platform import REPO
from infra.runtime.processes import Part, wait_until
from infra.topics import ensure_topics

REFERRALS = referral_topic("water-bureau")  # a per-department topic: not in ALL_TOPICS
TOPICS = (ISSUE_EVENTS, REFERRALS)
FAST_GROUP = {"KAFKA_SESSION_TIMEOUT_MS": "1000", "KAFKA_HEARTBEAT_INTERVAL_MS": "300"}  # COMPONENTS.md

Snapshot = dict[tuple[str, int], list[tuple]]


@pytest.fixture
def parts(tmp_path: Path) -> Iterator[Callable[[str, list[str], dict[str, str]], Part]]:
    """Starts processes of the test in their own sessions; every one is stopped at the end, whatever happened."""
    started: list[Part] = []

    def start(name: str, argv: list[str], env: dict[str, str]) -> Part:
        part = Part(name, argv, env, log_path=tmp_path / "logs" / f"{name}-{len(started)}.log")
        part.start(REPO)
        started.append(part)
        return part

    yield start
    for part in reversed(started):
        part.kill()


@pytest.fixture
def valkey(tmp_path: Path, parts: Callable) -> str:
    port = free_port()
    parts("valkey", valkey_argv(tmp_path, port), {})
    url = redis_url(tmp_path, port)
    client = redis.Redis.from_url(url, socket_timeout=1)
    assert wait_until(lambda: _answers(client.ping), 10), "valkey did not start"
    client.close()
    return url


def start_broker(parts: Callable) -> tuple[Part, str]:
    port = free_port()
    broker = parts("broker", tansu_argv(port), {})
    assert wait_until(lambda: _answers(lambda: socket.create_connection(("127.0.0.1", port), 0.2).close()), 10)
    return broker, f"127.0.0.1:{port}"


def start_archiver(parts: Callable, bootstrap: str, redis_url_: str, archive_dir: Path) -> Part:
    env = {
        "KAFKA_BOOTSTRAP": bootstrap,
        "REDIS_URL": redis_url_,
        "ARCHIVE_DIR": str(archive_dir),
        "HEALTH_PORT": "0",
        "ARCHIVE_LAG_WINDOW_S": "1",
        "PYTHONUNBUFFERED": "1",
        **FAST_GROUP,
    }
    return parts("archiver", [sys.executable, "-m", "infra.archive.service"], env)


def _answers(call: Callable[[], object]) -> bool:
    try:
        call()
        return True
    except Exception:
        return False


def log_lines(part: Part) -> list[dict]:
    assert part.log_path is not None
    lines = part.log_path.read_text().splitlines() if part.log_path.exists() else []
    return [json.loads(line) for line in lines if line.startswith("{")]


async def produce(bootstrap: str, per_topic: dict[str, int], seconds: float) -> None:
    """Keyed records with headers (and a few without a key), spread over `seconds` in small bursts."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        bursts = 20
        for burst in range(bursts):
            sends = []
            for topic, count in per_topic.items():
                for n in range(burst * count // bursts, (burst + 1) * count // bursts):
                    key = None if n % 17 == 0 else f"HB-202611-{n:06d}".encode()
                    headers = [("message-type", b"test.v1"), ("event-id", f"{topic}-{n}".encode())]
                    sends.append(await producer.send(topic, f'{{"n":{n}}}'.encode(), key=key, headers=headers))
            await asyncio.gather(*sends)
            await asyncio.sleep(seconds / bursts)
    finally:
        await producer.stop()


async def snapshot(bootstrap: str) -> Snapshot:
    """Every record of TOPICS, read to the fetch's high watermark (Tansu's ListOffsets undercounts)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=20)
    await consumer.start()
    try:
        tps = [TopicPartition(t.name, p) for t in TOPICS for p in range(t.partitions)]
        consumer.assign(tps)
        for tp in tps:
            consumer.seek(tp, 0)
        seen: Snapshot = {(tp.topic, tp.partition): [] for tp in tps}
        waiting = set(tps)
        while waiting:
            for tp, records in (await consumer.getmany(timeout_ms=200)).items():
                seen[(tp.topic, tp.partition)] += [
                    (r.offset, r.key, r.value, tuple(r.headers), r.timestamp) for r in records
                ]
            for tp in list(waiting):
                if consumer.highwater(tp) is not None and await consumer.position(tp) >= consumer.highwater(tp):
                    waiting.discard(tp)
        return seen
    finally:
        await consumer.stop()


def archived_progress(url: str) -> dict[str, int]:
    client = redis.Redis.from_url(url)
    try:
        return {k.decode(): int(v) for k, v in client.hgetall("archive:hwm:0").items()}
    finally:
        client.close()


def wait_archived(url: str, expected: dict[str, int], archiver: Part, timeout: float = 15.0) -> None:
    def done() -> bool:
        assert archiver.running, archiver.log_tail()
        progress = archived_progress(url)
        return all(progress.get(k, 0) >= v for k, v in expected.items())

    assert wait_until(done, timeout, interval=0.1), f"not archived in time: {archived_progress(url)}"


def ends(records: Snapshot) -> dict[str, int]:
    return {f"{t}:{p}": rs[-1][0] + 1 for (t, p), rs in records.items() if rs}


async def archive_a_first_broker(parts: Callable, valkey: str, archive_dir: Path, per_topic: dict) -> tuple:
    """Broker, topics, a running archiver, records produced while it runs; returns once all are archived."""
    broker, bootstrap = start_broker(parts)
    await ensure_topics(bootstrap, TOPICS)
    archiver = start_archiver(parts, bootstrap, valkey, archive_dir)
    await produce(bootstrap, {ISSUE_EVENTS.name: 1}, seconds=0)  # the archiver has joined once this is archived
    assert wait_until(lambda: bool(archived_progress(valkey)), 15, 0.1), archiver.log_tail()
    await produce(bootstrap, per_topic, seconds=2.0)
    original = await snapshot(bootstrap)
    wait_archived(valkey, ends(original), archiver)
    return broker, archiver, original


def stop_cleanly(archiver: Part) -> None:
    archiver.stop()
    assert archiver.process is not None and archiver.process.returncode == 0, archiver.log_tail()


async def test_a_lost_broker_is_restored_with_the_same_partitions_offsets_and_records(
    tmp_path: Path, parts: Callable, valkey: str
) -> None:
    archive_dir = tmp_path / "archive"
    per_topic = {ISSUE_EVENTS.name: 400, REFERRALS.name: 60}
    broker, archiver, original = await archive_a_first_broker(parts, valkey, archive_dir, per_topic)
    health = health_of(archiver)
    stop_cleanly(archiver)
    lags = [line for line in log_lines(archiver) if line["msg"] == "archive lag"]
    print("archiver lag windows (p50/p99 ms):", [(w["lag_p50_ms"], w["lag_p99_ms"], w["records"]) for w in lags])
    assert health["status"] == "ok" and health["archive"]["lag_p99_ms"] is not None
    total = sum(len(rs) for rs in original.values())
    assert verify(archive_dir).entries == total and verify(archive_dir).ok

    broker.kill()  # every record on it is gone
    _, fresh = start_broker(parts)
    assert await broker_is_empty(fresh)
    restored = await restore(archive_dir, fresh)
    assert restored.mismatches == [] and restored.records == total
    assert not await broker_is_empty(fresh)
    with pytest.raises(RestoreRefused):  # never twice into the same broker
        await restore(archive_dir, fresh)
    assert await snapshot(fresh) == original  # same partition, offset, key, value, headers, timestamp

    archiver = start_archiver(parts, fresh, valkey, archive_dir)
    await produce(fresh, {REFERRALS.name: 2}, seconds=0)
    wait_archived(valkey, ends(await snapshot(fresh)), archiver)
    stop_cleanly(archiver)
    report = verify(archive_dir)
    assert report.ok and report.entries == total + 2  # nothing archived twice, nothing skipped
    assert not [line for line in log_lines(archiver) if line["level"] == "ERROR"]


async def test_a_fresh_broker_that_was_not_restored_is_not_archived_over(
    tmp_path: Path, parts: Callable, valkey: str
) -> None:
    archive_dir = tmp_path / "archive"
    broker, archiver, original = await archive_a_first_broker(parts, valkey, archive_dir, {REFERRALS.name: 20})
    stop_cleanly(archiver)
    broker.kill()
    _, fresh = start_broker(parts)
    await ensure_topics(fresh, TOPICS)
    await produce(fresh, {REFERRALS.name: 30}, seconds=0)  # another history at the same offsets
    archiver = start_archiver(parts, fresh, valkey, archive_dir)

    def diverged() -> bool:
        return bool(health_of(archiver)["archive"]["diverged"])

    assert wait_until(diverged, 15, 0.2), archiver.log_tail()
    health = health_of(archiver)
    assert health["status"] == "degraded" and health["checks"]["archive continuity"] == "down"
    stop_cleanly(archiver)
    report = verify(archive_dir)
    assert report.ok and report.entries == sum(len(rs) for rs in original.values())


def health_of(archiver: Part) -> dict:
    """The archiver's health JSON; its port is in its log (HEALTH_PORT=0 picks a free one)."""

    def url() -> str | None:
        found = [line["url"] for line in log_lines(archiver) if line["msg"] == "health endpoint listening"]
        return found[-1] if found else None

    assert wait_until(lambda: url() is not None, 10), archiver.log_tail()
    return httpx.get(str(url()), timeout=3).json()


async def publish_with_outbox(bootstrap: str, valkey: str, batches: int, per_batch: int) -> int:
    """As a service publishes: through `publish_all`, then the outbox (and so the feed) in one transaction."""
    broker = make_broker(load_settings(BaseSettings, {"KAFKA_BOOTSTRAP": bootstrap}), "feed-test")
    await broker.connect()
    client = aioredis.Redis.from_url(valkey)
    outbox = Outbox(client, "feed-test", await current_epoch(client), republish_after_s=60)
    sent = 0
    try:
        for _ in range(batches):
            records = [
                Outgoing(topic.name, f"HB-202611-{sent + n:06d}", f'{{"n":{sent + n}}}'.encode(),
                         {"message-type": "test.v1", "event-id": f"fed-{sent + n}"})
                for n in range(per_batch)
                for topic in TOPICS
            ]  # fmt: skip
            published = await publish_all(broker, records)
            async with client.pipeline(transaction=True) as pipe:
                outbox.keep(pipe, published)
                await pipe.execute()
            sent += len(records)
            await asyncio.sleep(0.05)
        return sent
    finally:
        await client.aclose()
        await broker.stop()


def archived(archive_dir: Path) -> Snapshot:
    return {
        (tp.topic, tp.partition): [
            (e.offset, e.key, e.value, tuple(map(tuple, e.headers)), e.timestamp_ms)
            for e in read_partition(archive_dir / tp.topic / str(tp.partition))
        ]
        for tp in (TopicPartition(t.name, p) for t in TOPICS for p in range(t.partitions))
    }


async def test_what_producers_feed_is_archived_as_the_broker_holds_it_and_gaps_come_from_the_broker(
    tmp_path: Path, parts: Callable, valkey: str
) -> None:
    archive_dir = tmp_path / "archive"
    _, bootstrap = start_broker(parts)
    await ensure_topics(bootstrap, TOPICS)
    archiver = start_archiver(parts, bootstrap, valkey, archive_dir)
    await publish_with_outbox(bootstrap, valkey, batches=1, per_batch=8)
    assert wait_until(lambda: bool(archived_progress(valkey)), 15, 0.1), archiver.log_tail()
    await asyncio.sleep(1.0)  # every partition has caught up on the broker and is read from the feed
    await publish_with_outbox(bootstrap, valkey, batches=10, per_batch=8)
    await produce(bootstrap, {ISSUE_EVENTS.name: 8}, seconds=0)  # no outbox: none of these is fed
    await publish_with_outbox(bootstrap, valkey, batches=10, per_batch=8)  # ... so they are gaps before these
    on_broker = await snapshot(bootstrap)
    wait_archived(valkey, ends(on_broker), archiver, timeout=20)
    health = health_of(archiver)
    stop_cleanly(archiver)

    assert archived(archive_dir) == on_broker  # offset, key, value, headers (with `producer`), timestamp
    assert verify(archive_dir).ok
    counts = health["archive"]["records"]
    print("archiver's records:", counts)
    # at least the ten batches before the gaps; a partition back on the broker for a gap takes what it finds there
    assert counts["from_feed"] >= 10 * 8 * len(TOPICS)
    assert counts["gaps"] >= 1 and counts["from_feed"] + counts["from_broker"] >= sum(map(len, on_broker.values()))
    assert not [line for line in log_lines(archiver) if line["level"] == "ERROR"]
    leftover = redis.Redis.from_url(valkey)
    try:  # what the archive holds is trimmed from the feed as it goes (the last batch's at the next turn)
        assert sum(leftover.zcard(k) for k in leftover.scan_iter("archive:feed:*")) <= 8 * len(TOPICS)
    finally:
        leftover.close()
