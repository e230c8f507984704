"""The submission desk against a real Valkey: concurrent intakes share one pipeline to Valkey, and still each
is stored once per Idempotency-Key, in its own atomic step, before it is answered."""

from __future__ import annotations

import asyncio
import socket
import uuid

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError

from common.bus import Outgoing, Published
from common.outbox import Outbox
from gateway.submissions import PENDING, IdempotencyConflict, Locations, SubmissionDesk

TTL_S = 3600


def desk_on(redis: aioredis.Redis) -> SubmissionDesk:
    return SubmissionDesk(redis, Outbox(redis, "gateway", "1", republish_after_s=30), TTL_S)


def submission() -> tuple[Outgoing, uuid.UUID]:
    submission_id = uuid.uuid4()
    return Outgoing("intake.submissions.v1", str(submission_id), b"{}", {"event-id": str(uuid.uuid4())}), submission_id


async def test_concurrent_submissions_are_each_kept_with_what_belongs_to_them(redis: aioredis.Redis) -> None:
    desk = desk_on(redis)
    made = [submission() for _ in range(50)]
    accepted = await asyncio.gather(
        *(desk.accept(record, sid, None, "fp", {f"gw:photos:owner:{sid}": "610902001001"}) for record, sid in made)
    )
    assert [a.submission_id for a in accepted] == [sid for _, sid in made]
    assert await redis.zcard(PENDING) == 50
    assert await redis.hlen("outbox:gateway") == 50
    for a in accepted:
        assert await redis.get(f"gw:photos:owner:{a.submission_id}") == b"610902001001"
        assert await redis.get(f"gw:track:code:{a.tracking_code.replace('-', '')}") == str(a.submission_id).encode()


async def test_without_the_archiver_nothing_is_kept_that_nobody_would_sweep(redis: aioredis.Redis) -> None:
    """`OUTBOX_ENABLED=false` (a platform without the archiver): the submission is still accepted once per key,
    with its tracking code and what belongs to it, but no outbox entry is left to grow for ever."""
    desk = SubmissionDesk(redis, None, TTL_S)
    (record, sid), (again, again_id) = submission(), submission()
    first = await desk.accept(record, sid, "key-2", "fp", {f"gw:photos:owner:{sid}": "610902001001"})
    assert await desk.accept(again, again_id, "key-2", "fp") == first
    assert await redis.zcard(PENDING) == 1
    assert await redis.get(f"gw:photos:owner:{sid}") == b"610902001001"
    assert await redis.get(f"gw:track:code:{first.tracking_code.replace('-', '')}") == str(sid).encode()
    assert await redis.keys("outbox:*") == []


async def test_one_key_sent_twice_at_once_is_stored_once_and_answered_alike(redis: aioredis.Redis) -> None:
    desk = desk_on(redis)
    (first_record, first_id), (second_record, second_id) = submission(), submission()
    first, second = await asyncio.gather(
        desk.accept(first_record, first_id, "key-1", "fp"), desk.accept(second_record, second_id, "key-1", "fp")
    )
    assert first == second and first.submission_id == first_id
    assert await redis.zcard(PENDING) == 1
    other_record, other_id = submission()
    with pytest.raises(IdempotencyConflict):
        await desk.accept(other_record, other_id, "key-1", "another body")


async def test_a_valkey_that_lost_its_scripts_is_given_the_step_again(redis: aioredis.Redis) -> None:
    desk = desk_on(redis)
    await desk.accept(*submission(), None, "fp")
    await redis.script_flush()
    accepted = await asyncio.gather(*(desk.accept(*submission(), None, "fp") for _ in range(3)))
    assert len({a.submission_id for a in accepted}) == 3
    assert await redis.zcard(PENDING) == 4


async def test_every_caller_of_a_batch_learns_that_valkey_is_unreachable() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here
    unreachable = aioredis.Redis.from_url(f"redis://127.0.0.1:{port}")
    desk = desk_on(unreachable)
    answers = await asyncio.gather(*(desk.accept(*submission(), None, "fp") for _ in range(3)), return_exceptions=True)
    assert all(isinstance(a, RedisConnectionError) for a in answers), answers
    await unreachable.aclose()


async def test_locations_are_written_together_after_their_gather(redis: aioredis.Redis) -> None:
    """Each acknowledged submission's entry is located (its partition and offset in the due set, for the
    sweeper to confirm against the archive's marks), several in one write once the gather is over."""
    outbox = Outbox(redis, "gateway", "1", republish_after_s=30)
    desk, locations = SubmissionDesk(redis, outbox, TTL_S), Locations(redis, outbox, every_s=0.2)
    made = [submission() for _ in range(3)]
    for record, sid in made:
        await desk.accept(record, sid, None, "fp")
    noting = asyncio.create_task(locations.run())
    try:
        for offset, (record, _) in enumerate(made):
            locations.note([Published(record, 5, offset, 1_764_000_000_000, [])])
        await asyncio.sleep(0.05)
        assert all(m.decode().endswith("|-1|-1|0") for m in await redis.zrange("outbox:gateway:due", 0, -1))
        await asyncio.sleep(0.4)
        located = sorted(m.decode() for m in await redis.zrange("outbox:gateway:due", 0, -1))
    finally:
        noting.cancel()
    expected = sorted(f"{r.headers['event-id']}|1|intake.submissions.v1|5|{n}|0" for n, (r, _) in enumerate(made))
    assert located == expected
