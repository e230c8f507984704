"""Feedback's subscriptions: the only module of feedback that knows about the broker."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

import redis.asyncio as aioredis
from faststream.kafka import KafkaBroker

from common.consumer import Consumer
from common.issue_states import IssueLocks, batch_hooks
from common.outbox import Outbox
from common.service import Resource
from contracts.topics import ISSUE_EVENTS, RATINGS
from services.feedback import adapters
from services.feedback.handlers import FeedbackDeps, on_issue_event, on_rating
from services.feedback.settings import FeedbackSettings


def wire(settings: FeedbackSettings):  # type: ignore[no-untyped-def]
    def attach(broker: KafkaBroker, redis: aioredis.Redis, outbox: Outbox | None) -> list[Resource]:
        deps = FeedbackDeps(
            states=adapters.issue_states(redis),
            locks=IssueLocks(),  # one set for both consumers: they read and write the same issues' states
            clock=adapters.platform_clock(redis),
            unreachable_after=timedelta(days=settings.unreachable_after_days),
        )
        Consumer(
            broker=broker,
            redis=redis,
            settings=settings,
            topic=ISSUE_EVENTS,
            group=settings.consumer_group,
            handle=partial(on_issue_event, deps=deps),
            outbox=outbox,
            **batch_hooks(deps.states),
            fetch_max_wait_ms=settings.events_fetch_max_wait_ms,
            gather_ms=settings.kafka_gather_ms,
            skip_own=True,  # feedback's own events are in its copy before they are published
        )
        Consumer(
            broker=broker,
            redis=redis,
            settings=settings,
            topic=RATINGS,
            group=settings.ratings_group,
            handle=partial(on_rating, deps=deps),
            outbox=outbox,
            **batch_hooks(deps.states),
            fetch_max_wait_ms=settings.kafka_fetch_max_wait_quiet_ms,
            gather_ms=settings.kafka_gather_ms,
        )
        return []

    return attach
