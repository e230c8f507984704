"""Poison messages, replays and traces on the running platform."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid

import httpx
import msgspec
import pytest
import redis.asyncio as aioredis

from contracts.intake import SubmitIntake
from contracts.topics import DEAD_LETTER, DLQ_REASON, DLQ_TOPIC, ISSUE_EVENTS, SUBMISSIONS
from infra.runtime.platform import REPO, Platform
from infra.topic_reader import read_topic
from tests.integration.helpers import produce
from tests.integration.test_first_path import WATER, submit, wait_for_issue


async def wait_for(predicate, timeout: float = 30.0):  # type: ignore[no-untyped-def]
    for _ in range(int(timeout / 0.1)):
        if result := await predicate():
            return result
        await asyncio.sleep(0.1)
    raise AssertionError("condition not met in time")


async def test_poison_messages_go_to_dead_letter_and_the_partition_moves_on(
    platform: Platform, admin_headers: dict[str, str]
) -> None:
    key = str(uuid.uuid4()).encode()  # one key: all three land on the same partition, in this order
    good = SubmitIntake(
        submission_id=uuid.UUID(key.decode()),
        channel="window",
        station_code="610902001",
        kind="problem",
        text="后面这条必须照常办理",
    )
    await produce(platform.kafka_bootstrap, SUBMISSIONS.name, b"{not json", key)
    await produce(
        platform.kafka_bootstrap,
        SUBMISSIONS.name,
        msgspec.json.encode({**msgspec.to_builtins(good), "event_id": str(uuid.uuid4()), "channel": "carrier-pigeon"}),
        key,
    )
    await produce(platform.kafka_bootstrap, SUBMISSIONS.name, msgspec.json.encode(good), key)

    async with httpx.AsyncClient(base_url=platform.gateway_url, headers=admin_headers) as client:
        issue = await wait_for_issue(client, key.decode())
    assert issue["text"] == "后面这条必须照常办理"

    dead = [r for r in await read_topic(platform.kafka_bootstrap, DEAD_LETTER.name) if r.key == key]
    reasons = [dict(r.headers)[DLQ_REASON].decode() for r in dead]
    assert len(dead) == 2, reasons
    assert reasons[0].startswith("undecodable") and "channel" in reasons[1]
    assert {dict(r.headers)[DLQ_TOPIC] for r in dead} == {SUBMISSIONS.name.encode()}
    assert dead[0].value == b"{not json"


async def _settled_state(redis: aioredis.Redis) -> dict[str, object]:
    """The state once it stops changing: readers that poll less often (registry usage, oversight) may
    still be taking in the last events when the issue is visible."""
    state = await _state(redis)
    for _ in range(40):
        await asyncio.sleep(0.5)
        again = await _state(redis)
        if again == state:
            return state
        state = again
    raise AssertionError("the platform's state never settled")


async def _state(redis: aioredis.Redis) -> dict[str, object]:
    """Everything intake, triage and the read model hold; not the plumbing (processed marks, positions,
    outboxes, archive progress), which a replay by other groups legitimately touches."""
    state: dict[str, object] = {}
    async for key in redis.scan_iter(count=1000):
        name = key.decode()
        if ":done:" in name or name.endswith(":positions") or name.startswith(("outbox:", "archive:", "platform:")):
            continue
        if name.startswith("gw:ratelimit:"):  # the public API's request counts, not issue state
            continue
        kind = (await redis.type(key)).decode()
        if kind == "string":
            state[name] = await redis.get(key)
        elif kind == "hash":
            state[name] = await redis.hgetall(key)
        elif kind == "list":
            state[name] = await redis.lrange(key, 0, -1)
        elif kind == "set":
            state[name] = await redis.smembers(key)
        elif kind == "zset":
            state[name] = await redis.zrange(key, 0, -1)
    return state


async def test_replaying_every_topic_from_offset_zero_changes_nothing(
    platform: Platform, admin_headers: dict[str, str]
) -> None:
    async with httpx.AsyncClient(base_url=platform.gateway_url, headers=admin_headers) as client:
        for n in range(5):
            submitted = await submit(client, {**WATER, "text": f"第{n}件：路面塌方"})
            await wait_for_issue(client, submitted.json()["submission_id"])
    redis = aioredis.Redis.from_url(platform.redis_url)
    before = await _settled_state(redis)  # every group done with what the submissions caused
    issue_events_before = len(await read_topic(platform.kafka_bootstrap, ISSUE_EVENTS.name))

    # New consumer groups over the same state read every topic from offset 0 and handle it all again.
    env = {**platform._env({}), "CONSUMER_GROUP": "replay", "PROJECTOR_GROUP": "replay-projector", "HEALTH_PORT": "0"}
    replayers = [
        await asyncio.create_subprocess_exec(sys.executable, "-m", m, cwd=REPO, env=env)
        for m in ("services.intake.main", "services.triage.main", "gateway.projector")
    ]
    try:

        async def replayed() -> bool:
            done = [k async for k in redis.scan_iter(match="replay*:done:*", count=1000)]
            return len(done) >= issue_events_before

        await wait_for(replayed, timeout=60)
        await asyncio.sleep(1.0)
    finally:
        for p in replayers:
            p.terminate()
            await asyncio.wait_for(p.wait(), 20)
    after = await _settled_state(redis)
    await redis.aclose()
    assert after == before


async def test_one_trace_spans_gateway_intake_triage_and_projector(
    platform: Platform, admin_headers: dict[str, str]
) -> None:
    expected = {"gateway", "intake", "triage", "gateway-projector"}
    async with httpx.AsyncClient(base_url=platform.gateway_url, headers=admin_headers) as client:
        issue = await wait_for_issue(client, (await submit(client, WATER)).json()["submission_id"])

    async def trace_of_issue() -> tuple[set[str], set[str]] | None:
        if not platform.traces_file.exists():
            return None
        spans = [json.loads(line) for line in platform.traces_file.read_text().splitlines() if line.strip()]
        traces = {s["trace_id"] for s in spans if s["attributes"].get("issue.id") == issue["number"]}
        services = {s["service"] for s in spans if s["trace_id"] in traces}
        return (traces, services) if expected <= services else None

    traces, services = await wait_for(trace_of_issue, timeout=20)
    assert len(traces) == 1, traces
    assert expected <= services


@pytest.fixture(autouse=True)
def _platform_is_running(platform: Platform) -> None:
    assert all(p.running for p in platform.parts.values())
