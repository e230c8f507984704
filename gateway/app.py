"""The gateway's Litestar application: the JSON API over the bus and the read model."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from faststream.kafka import KafkaBroker
from litestar import Controller, Litestar, Request, Router, get
from litestar.config.compression import CompressionConfig
from litestar.datastructures import State
from litestar.response import Response
from litestar.stores.redis import RedisStore
from redis.exceptions import ConnectionError as RedisConnectionError

from common.bus import make_broker
from common.clock import Clock
from common.fetch_pace import FetchPace
from common.health import broker_and_redis, check_health
from common.logs import setup_logging
from common.outbox import Outbox, current_epoch
from common.pii import Sealer, derive
from common.redis import make_redis
from common.registry.cache import RegistryCache
from common.settings import load_settings
from common.telemetry import setup_tracing
from gateway.access import no_issue, sees_issue
from gateway.auth import AuthController, Credentials, ensure_platform_admin, requires
from gateway.callers import CallerController, CallerIndex, load_key, load_keys
from gateway.contacts import ContactController
from gateway.intakes import IntakeController
from gateway.open311 import Open311Controller, Open311KeyController
from gateway.oversight_api import OversightController
from gateway.oversight_records_api import OversightRecordsController
from gateway.photos import PhotoController
from gateway.public_api import PublicController, public_rate_limit
from gateway.readmodel import IssueReadModel, RegistryOutcomes
from gateway.registry_api import RegistryController
from gateway.schemas import IssueView
from gateway.security import clients_behind, security_headers
from gateway.settings import GatewaySettings
from gateway.spans import server_spans
from gateway.submissions import Locations, SubmissionDesk
from gateway.web import web_routes
from gateway.workflow_api import ClockController, ReferralController, ReviewController, WorkController
from gateway.worklists import ReviewOutcomes, WorkLists

log = logging.getLogger("gateway")
API = "/api/v1"


class IssueController(Controller):
    path = f"{API}/issues"
    tags = ["issues"]

    @get(
        "/{number:str}",
        operation_id="getIssue",
        summary="An issue and its history (within your scope)",
        guards=[requires()],
    )
    async def issue(self, request: Request, number: str, state: State) -> IssueView:
        view = await state.issues.issue(number)
        if view is None or not sees_issue(request.state.principal, state.registry.view, view):
            raise no_issue(number)
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
        registry = RegistryCache(settings.kafka_bootstrap, pace=FetchPace.of(settings))
        oversight = httpx.AsyncClient(base_url=settings.oversight_url, timeout=60)
        pii_secret, pii_old = load_key(settings.pii_key_file), load_keys(settings.pii_old_key_files)
        credentials = Credentials(
            redis,
            lockout_after=settings.auth_lockout_after,
            lockout_s=settings.auth_lockout_s,
            session_ttl_s=settings.session_ttl_s,
        )
        await ensure_platform_admin(credentials, settings.admin_password_file)
        await registry.start()
        outbox = (  # swept by the gateway-projector (README "Nothing lost"); nobody would without the archiver
            Outbox(redis, "gateway", await current_epoch(redis), settings.outbox_republish_after_s)
            if settings.outbox_enabled
            else None
        )
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
            callers=CallerIndex(
                redis, derive(pii_secret, "caller-index"), tuple(derive(old, "caller-index") for old in pii_old)
            ),
            sealer=Sealer(pii_secret, old_secrets=pii_old),
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

    public_limit = public_rate_limit(settings.public_requests_per_minute)
    return Litestar(
        route_handlers=[
            AuthController,
            CallerController,
            ContactController,
            IntakeController,
            PhotoController,
            IssueController,
            WorkController,
            ReviewController,
            ReferralController,
            ClockController,
            OversightController,
            OversightRecordsController,
            RegistryController,
            Open311KeyController,
            health,
            # what answers without an account is rate-limited per client address
            Router(
                path="/", route_handlers=[PublicController, Open311Controller], middleware=[public_limit.middleware]
            ),
            *web_routes,
        ],
        exception_handlers={RedisConnectionError: _store_unavailable},
        # the client's own address first (behind a trusted proxy), for the spans and the rate limit
        middleware=[*clients_behind(settings.trusted_proxies), server_spans(provider), security_headers],
        compression_config=CompressionConfig(backend="gzip", gzip_compress_level=6),  # pages, ECharts, lists
        stores={"rate_limit": RedisStore.with_client(url=settings.redis_url, namespace="gw:ratelimit")},
        lifespan=[lifespan],
    )
