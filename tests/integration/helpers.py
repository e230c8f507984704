"""Shared by the integration tests: the fast settings they run with, and writing to a topic directly
(reading a whole topic is infra.topic_reader.read_topic)."""

from __future__ import annotations

from aiokafka import AIOKafkaProducer

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
