"""A step a service takes on the platform clock, every few seconds (triage's month end, oversight's
supervision). A failure of the platform itself is logged and the step tried again at the next tick."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis
from faststream.kafka import KafkaBroker

from common.bus import Outgoing, publish_all
from common.consumer import TRANSIENT
from common.outbox import Outbox

log = logging.getLogger(__name__)


class Ticker:
    """A Resource (see common.service) that runs `step` every `every_s` seconds while the service runs."""

    def __init__(self, name: str, step: Callable[[], Awaitable[object]], every_s: float) -> None:
        self.name, self._step, self._every_s = name, step, every_s
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._every_s)
            try:
                await self._step()
            except TRANSIENT as exc:
                log.warning("step failed; will try again", extra={"step": self.name, "error": repr(exc)})


def publisher(
    broker: KafkaBroker, redis: aioredis.Redis, outbox: Outbox | None
) -> Callable[[list[Outgoing]], Awaitable[None]]:
    """Publish records outside a consumer, kept in the outbox until the archive holds them, as a
    consumer's output is."""

    async def publish(records: list[Outgoing]) -> None:
        published = await publish_all(broker, records)
        if outbox:
            async with redis.pipeline(transaction=True) as pipe:
                outbox.keep(pipe, published)
                await pipe.execute()

    return publish
