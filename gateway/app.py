"""The gateway's Litestar application: the JSON API over the bus and the read model."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import httpx
import msgspec
from aiokafka.errors import KafkaError
from faststream.kafka import KafkaBroker
from litestar import Controller, Litestar, Request, get, post
from litestar.datastructures import State
from litestar.exceptions import ClientException, NotFoundException
from litestar.params import Parameter
from litestar.plugins.opentelemetry import OpenTelemetryConfig, OpenTelemetryPlugin
from litestar.response import Response
from redis.exceptions import ConnectionError as RedisConnectionError

from common.bus import Outgoing, make_broker, outgoing, publish_all
from common.clock import Clock
from common.health import broker_and_redis, check_health
from common.logs import setup_logging
from common.outbox import Outbox, current_epoch
from common.redis import make_redis
from common.registry.cache import RegistryCache
from common.settings import load_settings
from common.telemetry import setup_tracing
from contracts.intake import SubmitIntake, VoterContact
from contracts.topics import SUBMISSIONS
from gateway.auth import AuthController, Credentials, ensure_platform_admin
from gateway.oversight_api import OversightController
from gateway.oversight_records_api import OversightRecordsController
from gateway.readmodel import IssueReadModel, RegistryOutcomes
from gateway.registry_api import RegistryController
from gateway.schemas import IntakeAccepted, IntakeRequest, IssueView, SubmissionStatus
from gateway.settings import GatewaySettings
from gateway.submissions import IdempotencyConflict, Locations, SubmissionDesk, fingerprint
from gateway.web import web_routes
from gateway.workflow_api import ClockController, ReferralController, ReviewController, WorkController
from gateway.worklists import ReviewOutcomes, WorkLists

log = logging.getLogger("gateway")
API = "/api/v1"
IdempotencyKey = Annotated[
    str | None,
    Parameter(
        header="Idempotency-Key",
        required=False,
        min_length=1,
        max_length=128,
        description="a retried request with the same key is stored once and answered the same",
    ),
]


class IntakeController(Controller):
    path = f"{API}/intakes"
    tags = ["intake"]

    @post("/", status_code=202, operation_id="submitIntake", summary="Submit a voter's problem, opinion or suggestion")
    async def submit(self, data: IntakeRequest, state: State, idempotency_key: IdempotencyKey = None) -> IntakeAccepted:
        command = SubmitIntake(
            submission_id=uuid.uuid4(),
            channel=data.channel,
            station_code=data.station_code,
            kind=data.kind,
            text=data.text,
            voter=msgspec.convert(msgspec.to_builtins(data.voter), VoterContact) if data.voter else None,
            deputy_code=data.deputy_code,
            on_spot_resolution=data.on_spot_resolution,
        )
        if state.registry.view.station(data.station_code) is None:
            raise ClientException(
                status_code=400,
                detail=f"station_code: no station {data.station_code} in the registry",
                extra=[{"key": "station_code", "message": "no such station", "source": "body"}],
            )
        desk: SubmissionDesk = state.desk
        record = outgoing(SUBMISSIONS, str(command.submission_id), command)
        try:
            accepted = await desk.accept(
                record, command.submission_id, idempotency_key, fingerprint(msgspec.json.encode(data))
            )
        except IdempotencyConflict:
            raise ClientException(
                status_code=422,
                detail="Idempotency-Key was already used with a different body",
                extra=[{"key": "Idempotency-Key", "message": "reused with a different body", "source": "header"}],
            ) from None
        if accepted.submission_id == command.submission_id:
            await _publish(state, record)
        return IntakeAccepted(
            submission_id=accepted.submission_id, status_url=f"{API}/intakes/{accepted.submission_id}"
        )

    @get("/{submission_id:uuid}", operation_id="getSubmissionStatus", summary="What became of a submission")
    async def status(self, submission_id: uuid.UUID, state: State) -> SubmissionStatus:
        number = await state.issues.number_for(submission_id)
        if number:
            return SubmissionStatus(
                submission_id=submission_id, status="received", issue_number=number, issue_url=f"{API}/issues/{number}"
            )
        if await state.desk.is_pending(submission_id):
            return SubmissionStatus(submission_id=submission_id, status="accepted")
        raise NotFoundException(f"no submission {submission_id}")


async def _publish(state: State, record: Outgoing) -> None:
    """Publish now if the broker answers in time; the submission is already in the outbox either way,
    so a broker that is down delays it but cannot lose it, and the voter still gets a 202."""
    try:
        published = await asyncio.wait_for(publish_all(state.broker, [record]), state.publish_timeout_s)
    except (TimeoutError, KafkaError) as exc:
        log.warning("submission kept for the outbox to publish", extra={"error": repr(exc)})
        return
    state.locations.note(published)


class IssueController(Controller):
    path = f"{API}/issues"
    tags = ["issues"]

    @get("/{number:str}", operation_id="getIssue", summary="An issue and its history")
    async def issue(self, number: str, state: State) -> IssueView:
        view = await state.issues.issue(number)
        if view is None:
            raise NotFoundException(f"no issue {number}")
        return view


@get("/health", operation_id="health", include_in_schema=False)
async def health(state: State) -> Response[dict[str, object]]:
    healthy, report = await check_health("gateway", broker_and_redis(state.broker, state.redis))
    return Response(report, status_code=200 if healthy else 503)


def _store_unavailable(_: Request, exc: RedisConnectionError) -> Response[dict[str, object]]:
    log.warning("Valkey unavailable", extra={"error": repr(exc)})
    return Response(
        {"status_code": 503, "detail": "temporarily unavailable; retry with the same Idempotency-Key"},
        status_code=503,
        headers={"Retry-After": "1"},
    )


def create_app(settings: GatewaySettings | None = None) -> Litestar:
    settings = settings or load_settings(GatewaySettings)
    setup_logging("gateway", settings.log_level)
    provider = setup_tracing("gateway", settings)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        redis = make_redis(settings.redis_url)
        broker: KafkaBroker = make_broker(settings, "gateway")
        await broker.start()
        registry = RegistryCache(settings.kafka_bootstrap, poll_ms=settings.kafka_fetch_max_wait_ms)
        oversight = httpx.AsyncClient(base_url=settings.oversight_url, timeout=60)
        credentials = Credentials(
            redis,
            lockout_after=settings.auth_lockout_after,
            lockout_s=settings.auth_lockout_s,
            session_ttl_s=settings.session_ttl_s,
        )
        await ensure_platform_admin(credentials, settings.admin_password_file)
        await registry.start()
        outbox = Outbox(redis, "gateway", await current_epoch(redis), settings.outbox_republish_after_s)
        locations = Locations(redis, outbox)
        noting = asyncio.create_task(locations.run())
        app.state.update(
            redis=redis,
            broker=broker,
            locations=locations,
            publish_timeout_s=settings.publish_timeout_s,
            desk=SubmissionDesk(redis, outbox, settings.idempotency_ttl_s),
            issues=IssueReadModel(redis),
            registry=registry,
            registry_outcomes=RegistryOutcomes(redis),
            registry_wait_s=settings.registry_wait_s,
            work=WorkLists(redis),
            review_outcomes=ReviewOutcomes(redis),
            clock_adjustable=settings.clock_adjustable,
            unreachable_after_days=settings.unreachable_after_days,
            oversight=oversight,
            credentials=credentials,
            clock=Clock(redis),  # one reading of the platform clock's offset per half second, not per request
        )
        try:
            yield
        finally:
            noting.cancel()
            await locations.flush()
            await registry.stop()
            await oversight.aclose()
            await broker.stop()
            await redis.aclose()
            provider.shutdown()

    return Litestar(
        route_handlers=[
            AuthController,
            IntakeController,
            IssueController,
            WorkController,
            ReviewController,
            ReferralController,
            ClockController,
            OversightController,
            OversightRecordsController,
            RegistryController,
            health,
            *web_routes,
        ],
        exception_handlers={RedisConnectionError: _store_unavailable},
        lifespan=[lifespan],
        plugins=[
            OpenTelemetryPlugin(
                OpenTelemetryConfig(tracer_provider=provider, exclude=["/health"], exclude_spans=["receive", "send"])
            )
        ],
    )
