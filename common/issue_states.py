"""Each service's own copy of every issue's lifecycle state (`contracts.lifecycle`), in Valkey.

A service that changes issues folds every issue event into its copy, and checks each change it makes
against it; a change it makes is folded in at once, and again (a no-op, by event id) when it comes
back on the topic. Keys are `<owner>:issue-state:<issue id>`."""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

import msgspec
import redis.asyncio as aioredis

from contracts.lifecycle import IssueState


class IssueStates:
    """Read through and write back: a consumer loads a batch's issues in one round trip (`prefetch`),
    its handlers read and change them in memory, and `flush` writes every change in one round trip at
    the end of the batch, before anything is published. A crash before the flush loses only changes
    whose causes will be redelivered, and handlers derive the same changes again."""

    def __init__(self, redis: aioredis.Redis, owner: str, cached: int = 100_000) -> None:
        self._redis, self._owner, self._cached = redis, owner, cached
        self._decoder = msgspec.json.Decoder(IssueState)
        self._cache: OrderedDict[str, IssueState | None] = OrderedDict()
        self._dirty: dict[str, IssueState] = {}

    def _key(self, issue_id: str) -> str:
        return f"{self._owner}:issue-state:{issue_id}"

    def _remember(self, issue_id: str, state: IssueState | None) -> None:
        self._cache[issue_id] = state
        self._cache.move_to_end(issue_id)
        while len(self._cache) > self._cached:
            oldest, _ = self._cache.popitem(last=False)
            if oldest in self._dirty:  # never forget an unwritten change
                self._cache[oldest] = self._dirty[oldest]
                break

    async def get(self, issue_id: str) -> IssueState | None:
        if issue_id in self._cache:
            self._cache.move_to_end(issue_id)
            return self._cache[issue_id]
        stored = await self._redis.get(self._key(issue_id))
        state = self._decoder.decode(stored) if stored else None
        self._remember(issue_id, state)
        return state

    async def prefetch(self, issue_ids: Sequence[str]) -> None:
        missing = list(dict.fromkeys(i for i in issue_ids if i not in self._cache))
        if missing:
            stored = await self._redis.mget([self._key(i) for i in missing])
            for issue_id, value in zip(missing, stored, strict=True):
                self._remember(issue_id, self._decoder.decode(value) if value else None)

    async def put(self, *states: IssueState) -> None:
        for state in states:
            self._dirty[state.issue_id] = state
            self._remember(state.issue_id, state)

    async def flush(self) -> None:
        if self._dirty:
            changed, self._dirty = self._dirty, {}
            try:
                await self._redis.mset(self._encoded(changed))  # one command, no pipeline: the hot path's flush
            except BaseException:
                self._dirty = changed | self._dirty  # written with the next flush, after the redelivery
                raise

    def _encoded(self, changed: dict[str, IssueState]) -> dict[str, bytes]:
        return {self._key(i): msgspec.json.encode(s) for i, s in changed.items()}

    def stage(self, pipe: aioredis.client.Pipeline) -> Callable[[], None]:
        """Queue the changes' write in the caller's pipeline (one transaction with the caller's own writes);
        returns what keeps them for the next flush if that pipeline fails."""
        changed, self._dirty = self._dirty, {}
        if changed:
            pipe.mset(self._encoded(changed))

        def undo() -> None:
            self._dirty = changed | self._dirty  # written with the next flush, after the redelivery

        return undo


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


def batch_hooks(states: IssueStates) -> dict[str, Callable[..., Awaitable[None]]]:
    """`prefetch` and `flush` for a Consumer whose handlers read and write `states`."""

    async def prefetch(messages: list[object]) -> None:
        await states.prefetch([i for m in messages if isinstance(i := getattr(m, "issue_id", None), str)])

    return {"prefetch": prefetch, "flush": states.flush}
