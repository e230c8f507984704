"""Builds the gateway's read model from issue events and registry outcomes: `python -m gateway.projector`."""

from __future__ import annotations

import redis.asyncio as aioredis
from faststream.kafka import KafkaBroker

from common.bus import Outgoing
from common.consumer import Consumer
from common.outbox import Outbox
from common.service import run_service
from common.settings import load_settings
from contracts.base import IssueEvent
from contracts.commands import ReviewOutcomeMessage as ReviewOutcome
from contracts.registry import RegistryCommandApplied, RegistryCommandRefused
from contracts.topics import ISSUE_EVENTS, REGISTRY_OUTCOMES, REVIEW_OUTCOMES
from gateway.readmodel import IssueReadModel, RegistryOutcomes
from gateway.settings import GatewaySettings
from gateway.worklists import ReviewOutcomes, WorkLists


async def write_batch(redis: aioredis.Redis, issues: IssueReadModel, work: WorkLists) -> None:
    """A batch's projection in one transaction: a reader never sees an issue half projected (its category
    from the triage, say, and still the state "received" from its first event)."""
    async with redis.pipeline(transaction=True) as pipe:
        # the history and summary first: the work lists' state overrides the summary's "received"
        undo = [await issues.stage(pipe), work.stage(pipe)]
        try:
            await pipe.execute()
        except BaseException:  # each keeps what it staged; the batch is handled again and written whole
            for keep in undo:
                keep()
            raise


def wire(settings: GatewaySettings):  # type: ignore[no-untyped-def]
    def attach(broker: KafkaBroker, redis: aioredis.Redis, _outbox: Outbox | None) -> None:
        issues = IssueReadModel(redis)
        work = WorkLists(redis, cached=100_000)

        async def project(event: IssueEvent) -> list[Outgoing]:
            await issues.apply(event)
            await work.apply(event)
            return []

        async def flush() -> None:
            await write_batch(redis, issues, work)

        async def prefetch(events: list[IssueEvent]) -> None:
            await work.states.prefetch([e.issue_id for e in events])

        Consumer(
            broker=broker,
            redis=redis,
            settings=settings,
            topic=ISSUE_EVENTS,
            group=settings.projector_group,
            handle=project,
            prefetch=prefetch,
            flush=flush,
            # The work lists a tenth of a second later are fine, and the broker answers fewer fetches.
            fetch_max_wait_ms=settings.kafka_fetch_max_wait_quiet_ms,
            gather_ms=settings.kafka_gather_ms,
        )

        reviews = ReviewOutcomes(redis)

        async def note_review(outcome: ReviewOutcome) -> list[Outgoing]:
            reviews.note(outcome)
            return []

        Consumer(
            broker=broker,
            redis=redis,
            settings=settings,
            topic=REVIEW_OUTCOMES,
            group=f"{settings.projector_group}-reviews",
            handle=note_review,
            flush=reviews.flush,
            fetch_max_wait_ms=settings.kafka_fetch_max_wait_quiet_ms,
            gather_ms=settings.kafka_gather_ms,
        )

        outcomes = RegistryOutcomes(redis)

        async def note_outcome(outcome: RegistryCommandApplied | RegistryCommandRefused) -> list[Outgoing]:
            await outcomes.apply(outcome)
            return []

        Consumer(
            broker=broker,
            redis=redis,
            settings=settings,
            topic=REGISTRY_OUTCOMES,
            group=f"{settings.projector_group}-registry",
            handle=note_outcome,
            fetch_max_wait_ms=settings.kafka_fetch_max_wait_quiet_ms,
            gather_ms=settings.kafka_gather_ms,
        )

    return attach


def main() -> None:
    settings = load_settings(GatewaySettings)
    # The projector publishes nothing itself; it sweeps the outbox of the gateway's HTTP workers.
    run_service("gateway-projector", settings, wire(settings), outbox_owner="gateway")


if __name__ == "__main__":
    main()
