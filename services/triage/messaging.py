"""Triage's subscriptions and its month-end step: the only module of triage that knows about the broker."""

from __future__ import annotations

import logging
from functools import partial
from pathlib import Path

import redis.asyncio as aioredis
from faststream.kafka import KafkaBroker

from common.clock import Clock, month_of
from common.consumer import Consumer
from common.issue_states import IssueLocks, IssueStates
from common.outbox import Outbox
from common.registry.cache import RegistryCache
from common.ticker import Ticker, publisher
from contracts.topics import ISSUE_EVENTS, REVIEW_DECISIONS
from services.triage import domain, reviews
from services.triage.adapters import RedisPendingIndex, RedisReviews, RedisTriageStore
from services.triage.handlers import TriageDeps, flush, month_end, on_issue_event, on_review, prefetch
from services.triage.settings import TriageSettings

log = logging.getLogger(__name__)


def wire(settings: TriageSettings):  # type: ignore[no-untyped-def]
    rules_file = Path(settings.category_rules_file) if settings.category_rules_file else domain.RULES_FILE
    rules = domain.CategoryRules.load(rules_file)
    policy = reviews.Policy.parse(settings.review_deadline_days, settings.month_end_policy)

    def attach(broker: KafkaBroker, redis: aioredis.Redis, outbox: Outbox | None) -> list:  # type: ignore[type-arg]
        # Quiet: triage syncs its copy whenever an intake names a station it does not know yet.
        registry = RegistryCache(settings.kafka_bootstrap, poll_ms=settings.kafka_fetch_max_wait_quiet_ms)
        clock, publish = Clock(redis), publisher(broker, redis, outbox)
        deps = TriageDeps(
            store=RedisTriageStore(redis),
            rules=rules,
            registry=registry,
            states=IssueStates(redis, "triage"),
            locks=IssueLocks(),
            pending=RedisPendingIndex(redis),
            reviews=RedisReviews(redis),
            policy=policy,
            clock=clock,
        )
        for topic, group, handle in (
            (ISSUE_EVENTS, settings.consumer_group, on_issue_event),
            (REVIEW_DECISIONS, settings.reviews_group, on_review),
        ):
            Consumer(
                broker=broker,
                redis=redis,
                settings=settings,
                topic=topic,
                group=group,
                handle=partial(handle, deps=deps),
                outbox=outbox,
                prefetch=partial(prefetch, deps=deps),
                flush=partial(flush, deps=deps),
                skip_own=topic is ISSUE_EVENTS,  # triage's own events are in its copy before they are published
                # a decision is on the path to its referral; an intake's triage is seen in a list later
                gather_ms=settings.kafka_gather_ms if topic is ISSUE_EVENTS else 0,
            )

        async def month_end_step() -> None:
            now = await clock.now()
            if done := await month_end(deps, now, month_of(now), publish):
                log.info("month end", extra={"issues": done, "month": month_of(now)})

        # the registry loads before the consumers start; month end steps on the platform clock
        return [registry, Ticker("month end", month_end_step, settings.month_end_check_s)]

    return attach
