"""What publishing reaches through on a broker (`common.bus.publish_all`): a test's fake stands where aiokafka's
producer does, so the fake exercises the same path the platform runs."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any


def connected(producer: Any) -> SimpleNamespace:
    """A broker's `config` whose producer is `producer` (an object with aiokafka's `send`)."""
    return SimpleNamespace(producer=SimpleNamespace(_producer=SimpleNamespace(producer=producer)), client_id="test")


def header_dict(headers: list[tuple[str, bytes]] | None) -> dict[str, str]:
    return {name: value.decode() for name, value in headers or ()}
