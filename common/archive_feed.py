"""The archive's feed: every producer with an outbox hands the archiver what the broker acknowledged, in Valkey.

Tansu's memory engine walks every batch a partition holds on each fetch that returns records from it, so an
archiver reading every partition from the broker cost it a lump of CPU each batch (23 ms on a bench
platform), and the intakes that met the lump made the archive-on platform's p99 longer (README, "Benchmark").
The producers already keep each acknowledged record in their outbox, in a Valkey transaction; they now also
add it, as the broker holds it, to `archive:feed:<epoch>:<topic>:<partition>`, scored by its offset. The
archiver takes a partition's records from there while they follow on from what it archived, and reads the
broker only where the feed cannot say (`infra.archive.service`): at the start, where an offset is missing
(a record published without an outbox, or by a process that died before its transaction), and now and then
for a partition the feed has been silent about.
"""

from __future__ import annotations

from collections import defaultdict

import msgspec
import redis.asyncio as aioredis

from common.bus import Published


class FedRecord(msgspec.Struct, array_like=True, frozen=True):
    """A record as the broker holds it: what the archive writes (`infra.archive.writer.ArchiveRecord`)."""

    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]


encode_fed = msgspec.msgpack.Encoder().encode
decode_fed = msgspec.msgpack.Decoder(FedRecord).decode


FEED_PREFIX = "archive:feed:"


def feed_key(epoch: str, topic: str, partition: int) -> str:
    return f"{FEED_PREFIX}{epoch}:{topic}:{partition}"


def stage_feed(pipe: aioredis.client.Pipeline, epoch: str, published: list[Published]) -> None:
    """Queue, in the caller's transaction, the acknowledged records for the archiver: one command a partition."""
    by_key: dict[str, dict[bytes, int]] = defaultdict(dict)
    for p in published:
        fed = FedRecord(p.offset, p.timestamp, p.record.key.encode(), p.record.value, p.headers)
        by_key[feed_key(epoch, p.record.topic, p.partition)][encode_fed(fed)] = p.offset
    for key, members in by_key.items():
        pipe.zadd(key, members)  # type: ignore[arg-type]
