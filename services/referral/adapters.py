"""Valkey and Kafka-admin implementations of the referral service's ports."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Sequence
from datetime import datetime

import redis.asyncio as aioredis
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError, for_code

from contracts.topics import Topic
from services.referral.domain import Allotment

log = logging.getLogger(__name__)

# number|issued-at of the assignment's referral: kept the first time, read back every later time.
_ALLOT = """
local kept = redis.call('HGET', KEYS[1], ARGV[1])
if kept then return kept end
local value = (redis.call('HLEN', KEYS[1]) + 1) .. '|' .. ARGV[2]
redis.call('HSET', KEYS[1], ARGV[1], value)
return value
"""


class RedisIssueTexts:
    """`referral:issue-text:<issue>`; what a batch keeps is written with its `flush`, in one round trip."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis
        self._unwritten: dict[str, bytes] = {}

    async def keep(self, issue_id: str, text: str) -> None:
        self._unwritten[f"referral:issue-text:{issue_id}"] = text.encode()

    async def get(self, issue_id: str) -> str | None:
        key = f"referral:issue-text:{issue_id}"
        stored = self._unwritten.get(key) or await self._redis.get(key)
        return stored.decode() if stored is not None else None

    async def flush(self) -> None:
        if not self._unwritten:
            return
        unwritten, self._unwritten = self._unwritten, {}
        try:
            await self._redis.mset(unwritten)
        except BaseException:
            self._unwritten = unwritten | self._unwritten
            raise


class RedisReferralNumbers:
    """`referral:numbers:<issue>` maps each assignment's event id to its referral's number and time."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self._allot = redis.register_script(_ALLOT)

    async def allot(self, issue_id: str, assigned_event_id: uuid.UUID, now: datetime) -> Allotment:
        stored = await self._allot(
            keys=[f"referral:numbers:{issue_id}"], args=[str(assigned_event_id), now.isoformat()]
        )
        number, _, issued_at = stored.decode().partition("|")
        return Allotment(int(number), datetime.fromisoformat(issued_at))


class KafkaTopicAdmin:
    """Creates handlers' referral topics on first use (a department added to the registry today has
    none yet), remembering which exist. Started and stopped with the service."""

    def __init__(self, bootstrap: str, *, replication_factor: int = 1, client_id: str = "referral-topics") -> None:
        self._admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id=client_id)
        self._replication_factor = replication_factor
        self._known: set[str] = set()
        self._lock = asyncio.Lock()

    async def start(self) -> None:
        await self._admin.start()
        self._known = set(await self._admin.list_topics())

    async def stop(self) -> None:
        await self._admin.close()

    async def ensure(self, topics: Sequence[Topic]) -> None:
        if all(t.name in self._known for t in topics):
            return
        async with self._lock:
            self._known |= set(await self._admin.list_topics())  # another instance may have made them
            missing = {t.name: t for t in topics if t.name not in self._known}
            if missing:
                await self._create(list(missing.values()))
                log.info("referral topics created", extra={"topics": ",".join(missing)})
            self._known |= set(missing)

    async def _create(self, topics: list[Topic]) -> None:
        response = await self._admin.create_topics(
            [NewTopic(t.name, num_partitions=t.partitions, replication_factor=self._replication_factor) for t in topics]
        )
        for topic, code, *_ in response.topic_errors:
            if code and code != TopicAlreadyExistsError.errno:  # lost a race with another instance: fine
                raise for_code(code)(f"creating topic {topic}")
