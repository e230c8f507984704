"""Each service's own copy of every issue's lifecycle state (`contracts.lifecycle`), in Valkey.

A service that changes issues folds every issue event into its copy, and checks each change it makes
against it; a change it makes is folded in at once, and again (a no-op, by event id) when it comes
back on the topic. Keys are `<owner>:issue-state:<issue id>`."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence

import msgspec
import redis.asyncio as aioredis

from contracts.lifecycle import IssueState


class IssueStates:
    def __init__(self, redis: aioredis.Redis, owner: str) -> None:
        self._redis, self._owner = redis, owner
        self._decoder = msgspec.json.Decoder(IssueState)

    def _key(self, issue_id: str) -> str:
        return f"{self._owner}:issue-state:{issue_id}"

    async def get(self, issue_id: str) -> IssueState | None:
        stored = await self._redis.get(self._key(issue_id))
        return self._decoder.decode(stored) if stored else None

    async def get_many(self, issue_ids: Sequence[str]) -> dict[str, IssueState]:
        if not issue_ids:
            return {}
        stored = await self._redis.mget([self._key(i) for i in issue_ids])
        return {i: self._decoder.decode(s) for i, s in zip(issue_ids, stored, strict=True) if s}

    async def put(self, *states: IssueState) -> None:
        if states:
            await self._redis.mset({self._key(s.issue_id): msgspec.json.encode(s) for s in states})


class IssueLocks:
    """One asyncio lock per issue: a service's consumers (issue events, and its own commands) must not
    interleave a read and a write of the same issue's state. (Across instances the partitioning by
    issue number keeps one issue's events on one instance; see README "Known limits".)"""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}

    @contextlib.asynccontextmanager
    async def hold(self, issue_id: str) -> AsyncIterator[None]:
        lock = self._locks.setdefault(issue_id, asyncio.Lock())
        try:
            async with lock:
                yield
        finally:
            if not lock.locked() and not lock._waiters:  # type: ignore[attr-defined]
                self._locks.pop(issue_id, None)
