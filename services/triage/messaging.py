"""Triage's subscriptions and its month-end clock: the only module of triage that knows about the broker."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from functools import partial
from pathlib import Path

import redis.asyncio as aioredis
from faststream.kafka import KafkaBroker

from common.bus import Outgoing, publish_all
from common.clock import Clock, month_of
from common.consumer import TRANSIENT, Consumer
from common.issue_states import IssueLocks, IssueStates
from common.outbox import Outbox
from common.registry.cache import RegistryCache
from contracts.topics import ISSUE_EVENTS, REVIEW_DECISIONS
from services.triage import domain, reviews
from services.triage.adapters import RedisPendingIndex, RedisReviews, RedisTriageStore
from services.triage.handlers import TriageDeps, flush, month_end, on_issue_event, on_review_decision, prefetch
from services.triage.settings import TriageSettings

log = logging.getLogger(__name__)


class MonthEnd:
    """Watches the platform clock; once a month has ended, takes the month-end step for every issue its
    tier's review left undecided (escalate or carry over, by the tier's policy)."""

    def __init__(
        self, deps: TriageDeps, redis: aioredis.Redis, broker: KafkaBroker, outbox: Outbox | None, every_s: float
    ):
        self._deps, self._redis, self._broker, self._outbox, self._every_s = deps, redis, broker, outbox, every_s
        self._clock = Clock(redis)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _publish(self, records: list[Outgoing]) -> None:
        published = await publish_all(self._broker, records)
        if self._outbox:
            async with self._redis.pipeline(transaction=True) as pipe:
                self._outbox.keep(pipe, published)
                await pipe.execute()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._every_s)
            try:
                now = await self._clock.now()
                if done := await month_end(self._deps, now, month_of(now), self._publish):
                    log.info("month end", extra={"issues": done, "month": month_of(now)})
            except TRANSIENT as exc:
                log.warning("month end step failed; will try again", extra={"error": repr(exc)})


def wire(settings: TriageSettings):  # type: ignore[no-untyped-def]
    rules_file = Path(settings.category_rules_file) if settings.category_rules_file else domain.RULES_FILE
    rules = domain.CategoryRules.load(rules_file)
    policy = reviews.Policy.parse(settings.review_deadline_days, settings.month_end_policy)

    def attach(broker: KafkaBroker, redis: aioredis.Redis, outbox: Outbox | None) -> list:  # type: ignore[type-arg]
        registry = RegistryCache(settings.kafka_bootstrap, poll_ms=settings.kafka_fetch_max_wait_ms)
        deps = TriageDeps(
            store=RedisTriageStore(redis),
            rules=rules,
            registry=registry,
            states=IssueStates(redis, "triage"),
            locks=IssueLocks(),
            pending=RedisPendingIndex(redis),
            reviews=RedisReviews(redis),
            policy=policy,
        )
        for topic, group, handle in (
            (ISSUE_EVENTS, settings.consumer_group, on_issue_event),
            (REVIEW_DECISIONS, settings.reviews_group, on_review_decision),
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
            )
        month_end_clock = MonthEnd(deps, redis, broker, outbox, settings.month_end_check_s)
        return [registry, month_end_clock]  # the registry loads before the consumers start

    return attach
