"""The projector writes a batch's projection in one transaction, on a real Valkey: an API reader never sees
an issue half projected (its category from the triage, and still the state "received" of its first event).
Before, the history and summary, the states and the work lists were three round trips, and
`test_first_path` once read an issue in between."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from contracts.issues import IssueReceived, IssueTriaged
from gateway.projector import write_batch
from gateway.readmodel import IssueReadModel
from gateway.submissions import PENDING
from gateway.worklists import WorkLists

AT = datetime(2026, 11, 30, 16, 30, tzinfo=UTC)
WRITES = {"EVALSHA", "MSET", "ZADD", "ZREM", "HSET", "SET", "RPUSH", "SADD"}


def events(number: str) -> list[IssueReceived | IssueTriaged]:
    received = IssueReceived(
        occurred_at=AT,
        correlation_id="corr",
        causation_id=uuid.uuid4(),
        issue_id=number,
        submission_id=uuid.uuid4(),
        channel="visit",
        station_code="610902001001",
        kind="problem",
        text="二组自来水管损坏",
    )
    triaged = IssueTriaged(
        occurred_at=AT,
        issue_id=number,
        category="water_supply",
        responsible_tier="village",
        responsible_unit="610902001001",
    )
    return [received, triaged]


async def test_a_batch_is_one_transaction_and_no_reader_sees_an_issue_half_projected(
    redis: aioredis.Redis, scratch_valkey: str
) -> None:
    issues, work = IssueReadModel(redis), WorkLists(redis, cached=1_000)
    numbers = [f"HB-202611-{n:06d}" for n in range(1, 201)]
    for number in numbers:
        for event in events(number):
            await issues.apply(event)
            await work.apply(event)

    reader = aioredis.Redis.from_url(scratch_valkey)
    seen_half: list[str] = []
    reads = 0
    done = asyncio.Event()

    async def read_all_the_while() -> None:
        nonlocal reads
        api = IssueReadModel(reader)
        while not done.is_set():
            for view in await api.summaries(numbers):
                reads += 1
                if view.category and view.state == "received":
                    seen_half.append(view.number)

    async with aioredis.Redis.from_url(scratch_valkey).monitor() as monitor:
        watching = asyncio.create_task(read_all_the_while())
        await write_batch(redis, issues, work)
        done.set()
        await watching
        await redis.set("test:end-of-batch", 1)
        commands: list[str] = []
        while "test:end-of-batch" not in (command := (await monitor.next_command())["command"]):
            commands.append(command.split()[0].upper())
    await reader.aclose()

    written = [n for n, command in enumerate(commands) if command in WRITES]
    assert commands.count("MULTI") == commands.count("EXEC") == 1
    assert commands.index("MULTI") < written[0] and written[-1] < commands.index("EXEC"), commands
    assert seen_half == [] and reads > 0
    for view in await IssueReadModel(redis).summaries(numbers):
        assert (view.category, view.state) == ("water_supply", "pending_review")
    assert len(await work.received_at(["610902001001"])) == 200


async def test_a_failed_batch_is_kept_and_written_whole_by_the_next_flush(redis: aioredis.Redis) -> None:
    """Valkey applies a transaction's other commands when one fails, and the batch is then handled again:
    every writer keeps what it staged, and writing it twice changes nothing (one history entry an event)."""
    issues, work = IssueReadModel(redis), WorkLists(redis, cached=1_000)
    number = "HB-202611-000001"
    for event in events(number):
        await issues.apply(event)
        await work.apply(event)
    await redis.set(PENDING, "not a sorted set")  # the ZREM of IssueReceived's submission fails inside EXEC
    with pytest.raises(ResponseError):
        await write_batch(redis, issues, work)
    await redis.delete(PENDING)

    await write_batch(redis, issues, work)

    view = await IssueReadModel(redis).issue(number)
    assert view is not None and (view.category, view.state) == ("water_supply", "pending_review")
    assert [h.type for h in view.history] == ["intake.issue_received.v1", "triage.issue_triaged.v1"]
    assert await work.received_at(["610902001001"]) == [number]
    assert await WorkLists(redis).states.get(number) is not None
