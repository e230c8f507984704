"""The registry's subscriptions: the only module of the registry that knows about the broker."""

from __future__ import annotations

from functools import partial

import msgspec
import redis.asyncio as aioredis
from faststream.kafka import KafkaBroker

from common.consumer import Consumer
from common.outbox import Outbox
from common.registry.cache import RegistryCache
from contracts.topics import ISSUE_EVENTS, REGISTRY_COMMANDS
from services.registry.adapters import RedisUsage
from services.registry.handlers import USAGE_EVENTS, RegistryDeps, on_command, on_issue_event
from services.registry.settings import RegistrySettings


def wire(settings: RegistrySettings):  # type: ignore[no-untyped-def]
    def attach(broker: KafkaBroker, redis: aioredis.Redis, outbox: Outbox | None) -> list[RegistryCache]:
        registry = RegistryCache(settings.kafka_bootstrap, poll_ms=settings.kafka_fetch_max_wait_ms)
        deps = RegistryDeps(registry=registry, usage=RedisUsage(redis))
        Consumer(
            broker=broker,
            redis=redis,
            # One command per batch: each is checked against what the one before it published.
            settings=msgspec.structs.replace(settings, kafka_max_records=1),
            topic=REGISTRY_COMMANDS,
            group=settings.consumer_group,
            handle=partial(on_command, deps=deps),
            outbox=outbox,
        )
        Consumer(
            broker=broker,
            redis=redis,
            settings=settings,
            topic=ISSUE_EVENTS,
            group=settings.usage_group,
            handle=partial(on_issue_event, deps=deps),
            outbox=outbox,
            flush=deps.usage.flush,
            wants=USAGE_EVENTS,
            fetch_max_wait_ms=settings.kafka_fetch_max_wait_quiet_ms,  # counts a tenth of a second later are fine
        )
        return [registry]  # loaded before the consumers start

    return attach
