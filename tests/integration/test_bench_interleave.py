"""The bench compares the archive off and on with both platforms up, sending to each in turn while the other is
frozen: a frozen platform takes no part until thawed, and then handles what came meanwhile."""

from __future__ import annotations

import asyncio

import pytest

from infra.bench import (
    BODY_BYTES,
    ReceivedWatch,
    Sender,
    freeze,
    interleaved_bursts,
    interleaved_latency,
    process_state,
    settle,
    sign_in,
    thaw,
)
from infra.loadgen import Connection, submit
from infra.runtime.platform import Platform


def states(platform: Platform) -> set[str]:
    """The states of every part's process."""
    return {process_state(part.process.pid) for part in platform.parts.values() if part.process is not None}


async def test_a_frozen_platform_answers_only_once_thawed(platform: Platform) -> None:
    auth = await sign_in(platform)
    watch = ReceivedWatch(platform.kafka_bootstrap)
    await watch.start()
    connection = await Connection.open(platform.gateway_url, auth)
    try:
        freeze(platform)
        try:
            frozen = states(platform)
            sending = asyncio.create_task(submit(connection, BODY_BYTES))
            await asyncio.sleep(1.0)
            answered_while_frozen = sending.done()
        finally:
            thaw(platform)
        submission = await asyncio.wait_for(sending, timeout=30)
        await watch.wait_for([submission], timeout=30)
    finally:
        await connection.close()
        await watch.stop()
    assert frozen == {"T"}
    assert not answered_while_frozen
    assert "T" not in states(platform)
    assert submission in watch.seen


async def test_interleaved_load_reaches_each_platform_in_its_slices(platform: Platform) -> None:
    sender = Sender(platform, await sign_in(platform), ReceivedWatch(platform.kafka_bootstrap))
    await sender.watch.start()
    await sender.open(connections=8)
    try:
        await interleaved_latency([sender], rate=20.0, seconds=2.0, slice_s=1.0)
    finally:
        await sender.close()
        await sender.watch.stop()
    figures = sender.figures(20.0)
    assert figures["sent"] == figures["received"] == 40  # two slices of a second at 20 /s, each received
    assert figures["platform_cpu_ms_per_intake"] > 0
    by_part = figures["cpu_ms_per_intake_by_part"]
    assert set(by_part) == set(platform.parts) and by_part["gateway"] > 0  # every part, the one sent to busy
    assert sum(by_part.values()) == pytest.approx(figures["platform_cpu_ms_per_intake"])
    assert [len(ids) for ids in sender.slices] == [20, 20]
    by_slice, whole = sender.p99_ms_by_block(1), sender.p99_ms_by_block(2)
    assert len(by_slice) == 2 and len(whole) == 1 and whole[0] == figures["p99_ms"]
    assert "T" not in states(platform)  # left running


async def test_interleaved_bursts_give_each_round_its_share_and_measure_each(platform: Platform) -> None:
    sender = Sender(platform, await sign_in(platform), ReceivedWatch(platform.kafka_bootstrap))
    await sender.watch.start()
    try:
        await interleaved_bursts([sender], count=25, rounds=2, concurrency=4)
    finally:
        await sender.watch.stop()
    assert [b["submissions"] for b in sender.bursts] == [13, 12]  # the odd one in the first round
    assert [b["received"] for b in sender.bursts] == [13, 12]
    assert all(b["end_to_end_per_s"] > 0 and b["platform_cpu_ms_per_intake"] > 0 for b in sender.bursts)
    # each burst ended once the archive, too, held all it caused: nothing is left behind for the next
    assert "archiver" in platform.parts
    await settle(platform, timeout_s=0.1)  # TimeoutError if any reader or the archive were still behind
