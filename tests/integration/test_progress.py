"""A consumer group's positions, kept in Valkey with its state: how far behind a topic's end it is."""

from __future__ import annotations

from types import SimpleNamespace

import redis.asyncio as aioredis

from common.progress import Positions


async def test_behind_counts_what_the_group_has_not_handled_up_to_each_end(redis: aioredis.Redis) -> None:
    positions = Positions(redis, "registry-usage")
    handled = [SimpleNamespace(topic="issue.events.v1", partition=p, offset=o) for p, o in ((0, 4), (0, 9), (1, 2))]
    async with redis.pipeline(transaction=True) as pipe:
        positions.advance(pipe, tuple(handled))
        await pipe.execute()
    assert await positions.stored() == {("issue.events.v1", 0): 10, ("issue.events.v1", 1): 3}

    ends = {("issue.events.v1", 0): 12, ("issue.events.v1", 1): 3, ("issue.events.v1", 2): 5}
    assert await positions.behind(ends) == 2 + 0 + 5  # partition 2 never read: all of it
    # a position past an end (a broker restored with less than it had) is not negative lag
    assert await positions.behind({("issue.events.v1", 0): 8}) == 0
