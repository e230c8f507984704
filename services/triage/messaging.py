"""Triage's subscriptions: the only module of triage that knows about the broker."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import redis.asyncio as aioredis
from faststream.kafka import KafkaBroker

from common.consumer import Consumer
from common.outbox import Outbox
from common.registry.cache import RegistryCache
from contracts.topics import ISSUE_EVENTS
from services.triage import domain
from services.triage.adapters import RedisTriageStore
from services.triage.handlers import TriageDeps, on_issue_event
from services.triage.settings import TriageSettings


def wire(settings: TriageSettings):  # type: ignore[no-untyped-def]
    rules_file = Path(settings.category_rules_file) if settings.category_rules_file else domain.RULES_FILE
    rules = domain.CategoryRules.load(rules_file)

    def attach(broker: KafkaBroker, redis: aioredis.Redis, outbox: Outbox | None) -> list[RegistryCache]:
        registry = RegistryCache(settings.kafka_bootstrap, poll_ms=settings.kafka_fetch_max_wait_ms)
        deps = TriageDeps(store=RedisTriageStore(redis), rules=rules, registry=registry)

        Consumer(
            broker=broker,
            redis=redis,
            settings=settings,
            topic=ISSUE_EVENTS,
            group=settings.consumer_group,
            handle=partial(on_issue_event, deps=deps),
            outbox=outbox,
        )
        return [registry]  # loaded before the consumer starts

    return attach
