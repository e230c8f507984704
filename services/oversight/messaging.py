"""Oversight's wiring: the ledgers (rebuilt from the issue topic at every start, then followed), the records
(contacts, training, funds, callbacks: rebuilt from the records topic after the ledgers, then followed), the
registry cache, the supervision clock, and the read-only queries served beside `/health`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from faststream.kafka import KafkaBroker

from common.clock import Clock
from common.outbox import Outbox
from common.registry.cache import RegistryCache
from common.ticker import publisher
from common.topic_follower import TopicFollower
from contracts.topics import ISSUE_EVENTS, OVERSIGHT_RECORDS
from services.oversight import assessment
from services.oversight.ledger import Ledger
from services.oversight.queries import Queries
from services.oversight.records import Records
from services.oversight.settings import OversightSettings
from services.oversight.supervision import Supervisor


class _Served:
    """Adds the queries' routes to the health server (see common.service.Resource)."""

    def __init__(self, queries: Queries) -> None:
        self.routes = queries.routes

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None


def wire(settings: OversightSettings):  # type: ignore[no-untyped-def]
    model = assessment.load_model(Path(settings.assessment_file) if settings.assessment_file else None)

    def attach(broker: KafkaBroker, redis: aioredis.Redis, outbox: Outbox | None) -> list:  # type: ignore[type-arg]
        ledger = Ledger()
        book = Records(ledger, salt=settings.callback_salt)
        registry = RegistryCache(settings.kafka_bootstrap, poll_ms=settings.kafka_fetch_max_wait_quiet_ms)

        def on_issue_event(record: Any) -> None:
            ledger.apply_raw(record.value)
            if book.waiting and record.key:  # a callback folded before its issue's close: settle it now
                book.settle(record.key.decode(errors="replace"))

        follower = TopicFollower(settings.kafka_bootstrap, ISSUE_EVENTS.name, on_issue_event, poll_ms=250)
        records_follower = TopicFollower(
            settings.kafka_bootstrap, OVERSIGHT_RECORDS.name, lambda record: book.apply_raw(record.value), poll_ms=250
        )

        publish = publisher(broker, redis, outbox)
        queries = Queries(ledger, lambda: registry.view, Clock(redis), settings.district_code, model, book)
        supervisor = Supervisor(ledger, lambda: registry.view, redis, publish, model, settings.supervision_every_s)
        return [registry, follower, records_follower, _Served(queries), supervisor]

    return attach
