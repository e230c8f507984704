"""Creates every platform topic with its partition count from contracts/: `python -m infra.topics`."""

from __future__ import annotations

import asyncio
import logging

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from common.logs import setup_logging
from common.settings import BaseSettings, load_settings
from contracts.topics import ALL_TOPICS, Topic

log = logging.getLogger("topics")


class TopicSettings(BaseSettings, frozen=True, kw_only=True):
    topic_replication_factor: int = 1


async def ensure_topics(
    bootstrap: str, topics: tuple[Topic, ...] = ALL_TOPICS, replication_factor: int = 1
) -> list[str]:
    """Create the topics that do not exist yet; return their names. Existing topics are left alone."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="topics")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for t in topics if t.name not in existing]
        if missing:
            await admin.create_topics(
                [
                    NewTopic(
                        t.name,
                        num_partitions=t.partitions,
                        replication_factor=replication_factor,
                        topic_configs={"cleanup.policy": "compact"} if t.compacted else {},
                    )
                    for t in missing
                ]
            )
        return [t.name for t in missing]
    finally:
        await admin.close()


def main() -> None:
    settings = load_settings(TopicSettings)
    setup_logging("topics", settings.log_level)
    created = asyncio.run(ensure_topics(settings.kafka_bootstrap, replication_factor=settings.topic_replication_factor))
    log.info("topics ready", extra={"topics_created": ",".join(created) or "none"})


if __name__ == "__main__":
    main()
