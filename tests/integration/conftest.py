"""One real platform (Tansu, Valkey, every service and the gateway as processes) for the integration tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.runtime.demo import load_demo_registry
from infra.runtime.platform import Platform, Ports
from tests.integration.helpers import FAST_ENV


@pytest.fixture(scope="session")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    var_dir: Path = tmp_path_factory.mktemp("platform-var")
    with Platform(var_dir, Ports.free(), env=FAST_ENV) as running:
        load_demo_registry(running.gateway_url)  # the real-size district, through the roster import
        yield running
    if os.environ.get("KEEP_PLATFORM_LOGS"):
        print(f"platform logs kept in {var_dir / 'logs'}")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration" in str(item.path):
            item.add_marker(pytest.mark.integration)
