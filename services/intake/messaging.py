"""Intake's subscriptions: the only module of intake that knows about the broker."""

from __future__ import annotations

from functools import partial

import redis.asyncio as aioredis
from faststream.kafka import KafkaBroker

from common.consumer import Consumer
from common.outbox import Outbox
from contracts.topics import SUBMISSIONS
from services.intake.adapters import RedisIntakeStore
from services.intake.handlers import IntakeDeps, on_submit_intake
from services.intake.settings import IntakeSettings


def wire(settings: IntakeSettings):  # type: ignore[no-untyped-def]
    def attach(broker: KafkaBroker, redis: aioredis.Redis, outbox: Outbox | None) -> None:
        deps = IntakeDeps(store=RedisIntakeStore(redis), number_prefix=settings.issue_number_prefix)
        Consumer(
            broker=broker,
            redis=redis,
            settings=settings,
            topic=SUBMISSIONS,
            group=settings.consumer_group,
            handle=partial(on_submit_intake, deps=deps),
            outbox=outbox,
            gather_ms=settings.intake_gather_ms,
        )

    return attach
