"""Runs one service: logs, tracing, Redis, the broker with its consumers, the outbox sweeper, health."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from typing import Protocol

import redis.asyncio as aioredis
import uvloop
from faststream import FastStream
from faststream.kafka import KafkaBroker

from common.bus import make_broker
from common.consumer import TRANSIENT
from common.health import HealthServer, broker_and_redis
from common.logs import setup_logging
from common.outbox import Outbox, current_epoch
from common.redis import make_redis
from common.settings import BaseSettings
from common.telemetry import setup_tracing


class Resource(Protocol):
    """Something a service starts before its consumers and stops after them (a registry cache). One with
    a `routes` attribute (path -> handler) is also served read-only beside `/health`."""

    async def start(self) -> None: ...
    async def stop(self) -> None: ...


Wiring = Callable[[KafkaBroker, aioredis.Redis, Outbox | None], Sequence[Resource] | None]
log = logging.getLogger(__name__)


def run_service(name: str, settings: BaseSettings, wire: Wiring, outbox_owner: str | None = None) -> None:
    """Block until SIGINT/SIGTERM; FastStream then finishes the batch in hand before stopping."""
    setup_logging(name, settings.log_level)
    provider = setup_tracing(name, settings)
    uvloop.run(_run(name, settings, wire, outbox_owner or name, provider))  # fewer cycles per round trip


async def _run(name: str, settings: BaseSettings, wire: Wiring, owner: str, provider) -> None:  # type: ignore[no-untyped-def]
    redis = make_redis(settings.redis_url)
    broker = make_broker(settings, f"{name}-{settings.instance_id}" if settings.instance_id else name)
    outbox = Outbox(redis, owner, "0", settings.outbox_republish_after_s) if settings.outbox_enabled else None
    resources = list(wire(broker, redis, outbox) or ())
    sweeper: list[asyncio.Task[None]] = []

    routes = {path: route for r in resources for path, route in getattr(r, "routes", {}).items()}
    health = HealthServer(name, settings.health_host, settings.health_port, broker_and_redis(broker, redis), routes)

    async def start_resources() -> None:
        for resource in resources:
            await resource.start()

    async def stop_resources() -> None:
        for resource in reversed(resources):
            await resource.stop()

    async def start_outbox() -> None:
        if outbox:
            outbox.epoch = await current_epoch(redis)  # the broker's life this process publishes into
            sweeper.append(asyncio.create_task(_sweep_forever(outbox, broker, settings.outbox_sweep_every_s)))

    async def stop_outbox() -> None:
        for task in sweeper:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def close_resources() -> None:
        await redis.aclose()
        provider.shutdown()

    app = FastStream(
        broker,
        logger=logging.getLogger(name),
        on_startup=[start_resources, start_outbox],
        after_startup=[health.start],
        on_shutdown=[health.stop, stop_outbox],
        after_shutdown=[stop_resources, close_resources],
    )
    await app.run()


async def _sweep_forever(outbox: Outbox, broker: KafkaBroker, every_s: float) -> None:
    while True:
        await asyncio.sleep(every_s)
        try:
            await outbox.sweep(broker)
        except TRANSIENT as exc:
            log.warning("outbox sweep failed; will try again", extra={"error": repr(exc), "owner": outbox.owner})
