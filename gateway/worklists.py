"""The gateway's work lists: which issues sit at each unit, which a station received, which each handler
holds, and what became of each review decision. Built by the projector, read by the API.

The projector folds every issue event through the lifecycle (`contracts.lifecycle`) into the gateway's
own copy of each issue's state, and files the issue under the unit it now sits at and the handlers it
is referred to. The API checks a reply or a rating against that copy before it sends the command on,
so a clearly impossible step is a 409 at once; the owning service still decides."""

from __future__ import annotations

import logging

import msgspec
import redis.asyncio as aioredis

from common.issue_states import IssueStates
from contracts.base import IssueEvent
from contracts.commands import ReviewDecisionApplied, ReviewDecisionRefused
from contracts.lifecycle import TERMINAL, IllegalTransition, IssueState, apply

log = logging.getLogger(__name__)


def _at(unit: str) -> str:
    return f"gw:at:{unit}"


def _received(unit: str) -> str:
    return f"gw:received:{unit}"


def _handler(code: str) -> str:
    return f"gw:handler:{code}"


class WorkLists:
    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis
        self.states = IssueStates(redis, "gw")

    async def apply(self, event: IssueEvent) -> IssueState | None:
        """Fold one event and refile the issue; returns its new state."""
        before = await self.states.get(event.issue_id)
        try:
            after = apply(before, event)
        except IllegalTransition as exc:  # the topic is the truth; our copy missed something
            log.warning("issue event does not fit the gateway's copy", extra={"error": str(exc)})
            return before
        if after is before:
            return after
        score = after.received_at.timestamp()
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(f"gw:issue-state:{after.issue_id}", msgspec.json.encode(after))
            if before and before.unit and before.unit != after.unit:
                pipe.zrem(_at(before.unit), after.issue_id)
            if after.unit:
                if after.state in TERMINAL:
                    pipe.zrem(_at(after.unit), after.issue_id)
                else:
                    pipe.zadd(_at(after.unit), {after.issue_id: score})
            if before is None:
                unit = after.station_code.split("-W")[0]
                pipe.zadd(_received(unit), {after.issue_id: score})
            for code in _handlers(before):
                if code not in _handlers(after):
                    pipe.zrem(_handler(code), after.issue_id)
            for code in _handlers(after):
                pipe.zadd(_handler(code), {after.issue_id: score})
            if after.referral_id:
                pipe.set(f"gw:referral:{after.referral_id}", after.issue_id)
            await pipe.execute()
        return after

    async def sitting_at(self, units: list[str]) -> list[str]:
        """Issue numbers sitting at any of the units now, oldest first."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for unit in units:
                pipe.zrange(_at(unit), 0, -1, withscores=True)
            found = [pair for rows in await pipe.execute() for pair in rows]
        return [n.decode() for n, _ in sorted(found, key=lambda pair: pair[1])]

    async def received_at(self, units: list[str]) -> list[str]:
        async with self._redis.pipeline(transaction=False) as pipe:
            for unit in units:
                pipe.zrange(_received(unit), 0, -1, withscores=True)
            found = [pair for rows in await pipe.execute() for pair in rows]
        return [n.decode() for n, _ in sorted(found, key=lambda pair: pair[1])]

    async def held_by(self, handler_code: str) -> list[str]:
        return [n.decode() for n in await self._redis.zrange(_handler(handler_code), 0, -1)]

    async def issue_of_referral(self, referral_id: str) -> str | None:
        found = await self._redis.get(f"gw:referral:{referral_id}")
        return found.decode() if found else None


def _handlers(state: IssueState | None) -> tuple[str, ...]:
    if state is None or state.handler_code is None or state.state not in ("assigned", "in_progress"):
        return ()
    return (state.handler_code, *state.co_handlers)


class ReviewRecord(msgspec.Struct, kw_only=True):
    review_id: str
    tier: str
    unit: str
    month: str
    decisions: int


class ReviewOutcomes:
    """What became of each decision of a review (kept 90 days)."""

    TTL_S = 90 * 24 * 3600

    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis

    async def open(self, record: ReviewRecord) -> None:
        await self._redis.set(f"gw:review:{record.review_id}", msgspec.json.encode(record), ex=self.TTL_S)

    async def apply(self, outcome: ReviewDecisionApplied | ReviewDecisionRefused) -> None:
        key = f"gw:review:{outcome.review_id}:outcomes"
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, outcome.issue_id, msgspec.json.encode(outcome))
            pipe.expire(key, self.TTL_S)
            await pipe.execute()

    async def get(
        self, review_id: str
    ) -> tuple[ReviewRecord | None, list[ReviewDecisionApplied | ReviewDecisionRefused]]:
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.get(f"gw:review:{review_id}")
            pipe.hvals(f"gw:review:{review_id}:outcomes")
            record, outcomes = await pipe.execute()
        decoder = msgspec.json.Decoder(ReviewDecisionApplied | ReviewDecisionRefused)
        return (
            msgspec.json.decode(record, type=ReviewRecord) if record else None,
            [decoder.decode(o) for o in outcomes],
        )
