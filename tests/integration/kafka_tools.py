"""Writing to topics directly in tests; reading them is infra.topic_reader.read_topic."""

from __future__ import annotations

from aiokafka import AIOKafkaProducer


async def produce(bootstrap: str, topic: str, value: bytes, key: bytes | None, headers: list | None = None) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=key, headers=headers or [])
    finally:
        await producer.stop()
