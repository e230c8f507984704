"""A tiny HTTP health endpoint beside each service's broker: GET /health -> 200 or 503 with JSON; and
any read-only routes the service adds."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from urllib.parse import parse_qsl, urlsplit

import msgspec
import redis.asyncio as aioredis
from faststream.kafka import KafkaBroker

log = logging.getLogger(__name__)

Check = Callable[[], Awaitable[bool]]


async def check_health(service: str, checks: dict[str, Check]) -> tuple[bool, dict[str, object]]:
    """Run every check (3 s each at most); healthy when all say ok. The same report for every part."""
    results: dict[str, str] = {}
    for name, check in checks.items():
        try:
            ok = await asyncio.wait_for(check(), timeout=3.0)
        except Exception as exc:  # a failing dependency is a report, not a crash
            ok, results[name] = False, f"error: {type(exc).__name__}"
        else:
            results[name] = "ok" if ok else "down"
    healthy = all(v == "ok" for v in results.values())
    return healthy, {"service": service, "status": "ok" if healthy else "degraded", "checks": results}


def broker_and_redis(broker: KafkaBroker, redis: aioredis.Redis) -> dict[str, Check]:
    """The checks every part that talks to the bus and Valkey reports."""

    async def broker_ok() -> bool:
        return await broker.ping(timeout=2.0)

    async def redis_ok() -> bool:
        return bool(await redis.ping())

    return {"broker": broker_ok, "redis": redis_ok}


Route = Callable[[dict[str, str]], Awaitable[tuple[int, str, bytes]]]  # query -> (status, content type, body)


class HealthServer:
    """`/health` for the launcher and the orchestrator; a part may add read-only routes beside it (oversight
    answers its ledger queries here)."""

    def __init__(
        self, service: str, host: str, port: int, checks: dict[str, Check], routes: dict[str, Route] | None = None
    ) -> None:
        self.service, self.host, self.port, self.checks = service, host, port, checks
        self.routes = dict(routes or {})
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("health endpoint listening", extra={"url": f"http://{self.host}:{self.port}/health"})

    async def stop(self) -> None:
        if self._server:
            self._server.close()
            await self._server.wait_closed()

    async def report(self) -> tuple[bool, dict[str, object]]:
        return await check_health(self.service, self.checks)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = await asyncio.wait_for(reader.readline(), timeout=5.0)
            while (await asyncio.wait_for(reader.readline(), timeout=5.0)) not in (b"\r\n", b"\n", b""):
                pass
            parts = request_line.split()
            url = urlsplit(parts[1].decode("latin-1")) if len(parts) >= 2 else urlsplit("/")
            content_type = "application/json"
            if url.path in ("/health", "/healthz"):
                healthy, body = await self.report()
                status, payload = ("200 OK" if healthy else "503 Service Unavailable"), msgspec.json.encode(body)
            elif route := self.routes.get(url.path):
                code, content_type, payload = await route(dict(parse_qsl(url.query)))
                status = f"{code} {HTTPStatus(code).phrase}"
            else:
                status, payload = "404 Not Found", msgspec.json.encode({"error": "not found"})
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(payload)}\r\n"
                "Connection: close\r\n\r\n".encode()
                + payload
            )
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()
