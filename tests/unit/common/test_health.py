"""The health endpoint over a real loopback socket: 200 when every check passes, 503 naming the one that fails."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from common.health import Check, HealthServer


async def passes() -> bool:
    return True


async def is_down() -> bool:
    return False


async def raises() -> bool:
    raise ConnectionRefusedError("valkey is not answering")


async def serving(checks: dict[str, Check]) -> HealthServer:
    server = HealthServer("intake", "127.0.0.1", 0, checks)
    await server.start()
    return server


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5.0) as client:
        yield client


async def test_healthy_service_answers_200_with_every_check_ok(client: httpx.AsyncClient) -> None:
    server = await serving({"redis": passes, "kafka": passes})
    try:
        assert server.port != 0
        response = await client.get(f"http://127.0.0.1:{server.port}/health")
    finally:
        await server.stop()
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"service": "intake", "status": "ok", "checks": {"redis": "ok", "kafka": "ok"}}


async def test_raising_check_makes_the_service_503_and_is_named(client: httpx.AsyncClient) -> None:
    server = await serving({"redis": raises, "kafka": passes})
    try:
        response = await client.get(f"http://127.0.0.1:{server.port}/healthz")
    finally:
        await server.stop()
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"] == {"redis": "error: ConnectionRefusedError", "kafka": "ok"}


async def test_check_answering_false_is_reported_down(client: httpx.AsyncClient) -> None:
    server = await serving({"kafka": is_down})
    try:
        response = await client.get(f"http://127.0.0.1:{server.port}/health")
    finally:
        await server.stop()
    assert response.status_code == 503
    assert response.json()["checks"] == {"kafka": "down"}


async def test_unknown_path_is_404(client: httpx.AsyncClient) -> None:
    server = await serving({"redis": passes})
    try:
        response = await client.get(f"http://127.0.0.1:{server.port}/metrics")
    finally:
        await server.stop()
    assert response.status_code == 404
    assert response.json() == {"error": "not found"}


async def test_stopped_server_no_longer_accepts_connections(client: httpx.AsyncClient) -> None:
    server = await serving({"redis": passes})
    url = f"http://127.0.0.1:{server.port}/health"
    assert (await client.get(url)).status_code == 200
    await server.stop()
    with pytest.raises(httpx.ConnectError):
        await client.get(url)
