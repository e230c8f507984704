"""One real platform (Tansu, Valkey, every service and the gateway as processes) for the integration tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.runtime.platform import Platform, Ports

# Faster group joins than the production defaults (COMPONENTS.md): fine on loopback.
FAST_ENV = {
    "KAFKA_SESSION_TIMEOUT_MS": "6000",
    "KAFKA_HEARTBEAT_INTERVAL_MS": "1000",
    "OTEL_BSP_SCHEDULE_DELAY": "200",
    "HANDLER_BACKOFF_MS": "20",
}


@pytest.fixture(scope="session")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    var_dir: Path = tmp_path_factory.mktemp("platform-var")
    with Platform(var_dir, Ports.free(), env=FAST_ENV) as running:
        yield running
    if os.environ.get("KEEP_PLATFORM_LOGS"):
        print(f"platform logs kept in {var_dir / 'logs'}")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration" in str(item.path):
            item.add_marker(pytest.mark.integration)
