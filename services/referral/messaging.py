"""The referral service's subscriptions: the only module of referral that knows about the broker."""

from __future__ import annotations

import asyncio
from functools import partial

import redis.asyncio as aioredis
from faststream.kafka import KafkaBroker

from common.clock import Clock
from common.consumer import Consumer
from common.issue_states import IssueLocks, IssueStates, batch_hooks
from common.outbox import Outbox
from contracts.topics import HANDLER_REPLIES, ISSUE_EVENTS
from services.referral.adapters import KafkaTopicAdmin, RedisIssueTexts, RedisReferralNumbers
from services.referral.handlers import ReferralDeps, on_issue_event, on_reply
from services.referral.settings import ReferralSettings


def wire(settings: ReferralSettings):  # type: ignore[no-untyped-def]
    def attach(broker: KafkaBroker, redis: aioredis.Redis, outbox: Outbox | None) -> list[KafkaTopicAdmin]:
        topics = KafkaTopicAdmin(settings.kafka_bootstrap, replication_factor=settings.topic_replication_factor)
        deps = ReferralDeps(
            states=IssueStates(redis, "referral"),
            texts=RedisIssueTexts(redis),
            numbers=RedisReferralNumbers(redis),
            topics=topics,
            clock=Clock(redis),
            locks=IssueLocks(),
        )
        hooks = batch_hooks(deps.states)

        async def flush() -> None:
            await asyncio.gather(hooks["flush"](), deps.texts.flush())

        for topic, group, handle, fetch_max_wait_ms in (
            (ISSUE_EVENTS, settings.consumer_group, on_issue_event, settings.kafka_fetch_max_wait_ms),
            (HANDLER_REPLIES, settings.replies_group, on_reply, settings.kafka_fetch_max_wait_quiet_ms),
        ):
            Consumer(
                broker=broker,
                redis=redis,
                settings=settings,
                topic=topic,
                group=group,
                handle=partial(handle, deps=deps),
                outbox=outbox,
                prefetch=hooks["prefetch"],
                flush=flush,
                fetch_max_wait_ms=fetch_max_wait_ms,
                skip_own=topic is ISSUE_EVENTS,  # its own events are in its copy before they are published
                # an assignment is on the path to its referral; a department's reply is seen in a list later
                gather_ms=0 if topic is ISSUE_EVENTS else settings.kafka_gather_ms,
            )
        return [topics]  # started before the consumers, stopped after them

    return attach
