"""One real platform (Tansu, Valkey, every service and the gateway as processes) for the integration tests."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis

from infra.runtime.demo import DEMO_LOGINS, load_demo_registry
from infra.runtime.demo import admin_headers as admin_sign_in
from infra.runtime.platform import Platform, Ports
from tests.integration.helpers import FAST_ENV, own_valkey


@pytest.fixture(scope="session")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    var_dir: Path = tmp_path_factory.mktemp("platform-var")
    with Platform(var_dir, Ports.free(), env=FAST_ENV) as running:
        load_demo_registry(running.gateway_url, admin_password=running.admin_password)  # the real-size district
        yield running
    if os.environ.get("KEEP_PLATFORM_LOGS"):
        print(f"platform logs kept in {var_dir / 'logs'}")


@pytest.fixture(scope="module")
def scratch_valkey(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Valkey of the test module's own, not the platform's: for tests of one piece on a real server."""
    with own_valkey(tmp_path_factory.mktemp("scratch-valkey")) as url:
        yield url


@pytest.fixture
async def redis(scratch_valkey: str) -> AsyncIterator[aioredis.Redis]:
    """A client of the module's own Valkey, emptied before each test."""
    client = aioredis.Redis.from_url(scratch_valkey)
    await client.flushdb()
    yield client
    await client.aclose()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration" in str(item.path):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def demo_passwords(platform: Platform, admin_headers: dict[str, str]) -> dict[str, str]:
    """A fresh password for each demo login (one per role), set once per run by the platform's
    administrator: every test that signs in as a demo login uses these (tests must not set their own)."""
    passwords = {}
    with httpx.Client(base_url=platform.gateway_url, headers=admin_headers, timeout=30) as client:
        for login in DEMO_LOGINS:
            password = f"demo-{login}-{secrets.token_urlsafe(9)}"
            response = client.put(f"/api/v1/auth/passwords/{login}", json={"password": password})
            assert response.status_code == 204, f"password of {login}: {response.status_code} {response.text}"
            passwords[login] = password
    return passwords


@pytest.fixture(scope="session")
def admin_headers(platform: Platform) -> dict[str, str]:
    """A session of the platform's first administrator, for the routes that change the registry or the clock."""
    with httpx.Client(base_url=platform.gateway_url, timeout=30) as client:
        return admin_sign_in(client, platform.admin_password)
