"""The registry's subscriptions: the only module of the registry that knows about the broker."""

from __future__ import annotations

import asyncio
import logging
import time
from functools import partial

import msgspec
import redis.asyncio as aioredis
from aiokafka import AIOKafkaConsumer, TopicPartition
from faststream.kafka import KafkaBroker

from common.consumer import Consumer
from common.fetch_pace import FetchPace
from common.outbox import Outbox
from common.progress import Positions
from common.registry.cache import RegistryCache
from common.service import Resource
from contracts.topics import ISSUE_EVENTS, REGISTRY_COMMANDS
from services.registry.adapters import RedisUsage
from services.registry.handlers import USAGE_EVENTS, RegistryDeps, on_command, on_issue_event
from services.registry.settings import RegistrySettings

log = logging.getLogger(__name__)


class UsageCatchUp:
    """Waits until the usage counts have taken in every issue event published so far: the issue topic's
    end offsets, from the broker, against the usage group's positions, kept in Valkey with the counts.
    A removal is checked only then, so an issue received a moment ago still holds its station."""

    def __init__(self, bootstrap: str, redis: aioredis.Redis, group: str, timeout_s: float = 10.0) -> None:
        self._bootstrap, self._positions, self._timeout_s = bootstrap, Positions(redis, group), timeout_s
        self._ends: AIOKafkaConsumer | None = None

    async def start(self) -> None:
        self._ends = AIOKafkaConsumer(bootstrap_servers=self._bootstrap, enable_auto_commit=False)  # never fetches
        await self._ends.start()

    async def stop(self) -> None:
        if self._ends is not None:
            await self._ends.stop()

    async def caught_up(self) -> bool:
        assert self._ends is not None, "start() first"
        partitions = [TopicPartition(ISSUE_EVENTS.name, p) for p in range(ISSUE_EVENTS.partitions)]
        ends = {(tp.topic, tp.partition): end for tp, end in (await self._ends.end_offsets(partitions)).items()}
        deadline = time.monotonic() + self._timeout_s
        while True:
            if await self._positions.behind(ends) == 0:
                return True
            if time.monotonic() > deadline:
                log.warning("usage counts still behind the issue topic: removal checked against them as they are")
                return False
            await asyncio.sleep(0.02)


def wire(settings: RegistrySettings):  # type: ignore[no-untyped-def]
    def attach(broker: KafkaBroker, redis: aioredis.Redis, outbox: Outbox | None) -> list[Resource]:
        registry = RegistryCache(settings.kafka_bootstrap, pace=FetchPace.of(settings))
        catch_up = UsageCatchUp(settings.kafka_bootstrap, redis, settings.usage_group)
        deps = RegistryDeps(registry=registry, usage=RedisUsage(redis), usage_caught_up=catch_up.caught_up)
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
            # Counts a tenth of a second later are fine: a removal first waits for them to catch up.
            fetch_max_wait_ms=settings.kafka_fetch_max_wait_quiet_ms,
            gather_ms=settings.kafka_gather_ms,
        )
        return [registry, catch_up]  # started before the consumers

    return attach
