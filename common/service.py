"""Runs one service: logs, tracing, Redis, the broker with its consumers, and the health endpoint."""

from __future__ import annotations

import logging
from collections.abc import Callable

import redis.asyncio as aioredis
import uvloop
from faststream import FastStream
from faststream.kafka import KafkaBroker

from common.bus import make_broker
from common.health import HealthServer
from common.logs import setup_logging
from common.redis import make_redis
from common.settings import BaseSettings
from common.telemetry import setup_tracing

Wiring = Callable[[KafkaBroker, aioredis.Redis], None]


def run_service(name: str, settings: BaseSettings, wire: Wiring) -> None:
    """Block until SIGINT/SIGTERM; FastStream then finishes the batch in hand before stopping."""
    setup_logging(name, settings.log_level)
    provider = setup_tracing(name, settings)
    uvloop.run(_run(name, settings, wire, provider))  # fewer CPU cycles per socket round trip


async def _run(name: str, settings: BaseSettings, wire: Wiring, provider) -> None:  # type: ignore[no-untyped-def]
    redis = make_redis(settings.redis_url)
    broker = make_broker(settings, f"{name}-{settings.instance_id}" if settings.instance_id else name)
    wire(broker, redis)

    async def broker_ok() -> bool:
        return await broker.ping(timeout=2.0)

    async def redis_ok() -> bool:
        return bool(await redis.ping())

    health = HealthServer(name, settings.health_host, settings.health_port, {"broker": broker_ok, "redis": redis_ok})

    async def close_resources() -> None:
        await redis.aclose()
        provider.shutdown()

    app = FastStream(
        broker,
        logger=logging.getLogger(name),
        after_startup=[health.start],
        on_shutdown=[health.stop],
        after_shutdown=[close_resources],
    )
    await app.run()
