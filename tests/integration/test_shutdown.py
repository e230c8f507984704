"""Stopping a service mid-stream loses nothing and doubles nothing."""

from __future__ import annotations

import asyncio

import httpx
import msgspec

from contracts.issues import IssueReceived
from contracts.topics import ISSUE_EVENTS
from infra.runtime.platform import Platform
from infra.topic_reader import read_topic
from tests.integration.test_first_path import WATER

RECEIVED = IssueReceived.__struct_config__.tag.encode()


async def _submit_many(gateway: str, count: int, headers: dict[str, str]) -> list[str]:
    async with httpx.AsyncClient(base_url=gateway, timeout=10, headers=headers) as client:
        ids = []
        for n in range(count):
            response = await client.post("/api/v1/intakes", json={**WATER, "text": f"停机测试 {n}"})
            assert response.status_code == 202
            ids.append(response.json()["submission_id"])
            await asyncio.sleep(0.01)
        return ids


async def _numbers_given(platform: Platform, ids: list[str]) -> dict[str, set[tuple[str, str]]]:
    """For each submission: the (issue number, event id) pairs of the IssueReceived records on the topic."""
    given: dict[str, set[tuple[str, str]]] = {i: set() for i in ids}
    for record in await read_topic(platform.kafka_bootstrap, ISSUE_EVENTS.name):
        if RECEIVED in record.value[:40]:
            event = msgspec.json.decode(record.value)
            if event["submission_id"] in given:
                given[event["submission_id"]].add((event["issue_id"], event["event_id"]))
    return given


async def test_sigterm_mid_stream_finishes_in_hand_and_every_intake_is_received_once(
    platform: Platform, admin_headers: dict[str, str]
) -> None:
    # The intakes flow from a worker thread; the restart runs on the main thread, as the launcher's do: a
    # part started from a thread gets SIGTERM when that thread ends (PR_SET_PDEATHSIG follows the thread).
    submitting = asyncio.get_running_loop().run_in_executor(
        None, lambda: asyncio.run(_submit_many(platform.gateway_url, 150, admin_headers))
    )
    await asyncio.sleep(0.6)
    stopped = platform.parts["intake"].process
    platform.restart("intake")  # graceful stop while intakes flow
    assert stopped is not None and stopped.returncode == 0, f"the stopped intake exited {stopped.returncode}"
    ids = await submitting
    assert platform.parts["intake"].process.returncode is None  # running again after the restart

    for _ in range(200):
        given = await _numbers_given(platform, ids)
        if all(given.values()):
            break
        await asyncio.sleep(0.1)
    # Exactly one number and one event per submission (a redelivered record repeats the same event id).
    assert {len(pairs) for pairs in given.values()} == {1}, {k: v for k, v in given.items() if len(v) != 1}
    log = platform.parts["intake"].log_path.read_text()
    assert "shut down gracefully" in log, log[-3000:]
