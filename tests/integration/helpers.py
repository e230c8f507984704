"""Shared by the integration tests: the fast settings they run with, a Valkey of a test's own, and writing to
a topic directly (reading a whole topic is infra.topic_reader.read_topic)."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from aiokafka import AIOKafkaProducer

from infra.runtime.components import redis_url, valkey_argv

# Faster group joins than the production defaults (COMPONENTS.md): fine on loopback.
FAST_ENV = {
    "KAFKA_SESSION_TIMEOUT_MS": "6000",
    "KAFKA_HEARTBEAT_INTERVAL_MS": "1000",
    "OTEL_BSP_SCHEDULE_DELAY": "200",
    "HANDLER_BACKOFF_MS": "20",
    "SUPERVISION_EVERY_S": "1",
    # every test and browser reaches the public API from 127.0.0.1: one address for the whole run; the
    # limit itself is tested in tests/unit/gateway/test_public_api.py
    "PUBLIC_REQUESTS_PER_MINUTE": "100000",
}


async def produce(bootstrap: str, topic: str, value: bytes, key: bytes | None, headers: list | None = None) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=key, headers=headers or [])
    finally:
        await producer.stop()


@contextlib.contextmanager
def own_valkey(var: Path) -> Iterator[str]:
    """A Valkey of the test's own on a free loopback port, with its files in `var`: its URL; killed after."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(valkey_argv(var, port), stdout=subprocess.DEVNULL)
    try:
        for _ in range(100):
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        yield redis_url(var, port)
    finally:
        server.kill()
        server.wait()
