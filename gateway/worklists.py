"""The gateway's work lists: which issues sit at each unit, which a station received, which each handler
holds, and what became of each review decision. Built by the projector, read by the API.

The projector folds every issue event through the lifecycle (`contracts.lifecycle`) into the gateway's
own copy of each issue's state, and files the issue under the unit it now sits at and the handlers it
is referred to. The API checks a reply or a rating against that copy before it sends the command on,
so a clearly impossible step is a 409 at once; the owning service still decides."""

from __future__ import annotations

import logging
from collections.abc import Callable

import msgspec
import redis.asyncio as aioredis

from common.issue_states import IssueStates
from contracts.base import IssueEvent
from contracts.commands import DecisionRefusal, ReviewDecisionApplied, ReviewDecisionRefused, ReviewPartDone
from contracts.lifecycle import TERMINAL, IllegalTransition, IssueState, apply

log = logging.getLogger(__name__)


def _at(unit: str) -> str:
    return f"gw:at:{unit}"


def _received(unit: str) -> str:
    return f"gw:received:{unit}"


def _handler(code: str) -> str:
    return f"gw:handler:{code}"


def _collected(deputy_code: str) -> str:
    return f"gw:deputy:{deputy_code}"


class WorkLists:
    """`cached=0` (the API's side) reads every state from Valkey; the projector keeps a cache and writes
    a batch's changes in its one transaction (`stage`, `gateway.projector.write_batch`)."""

    def __init__(self, redis: aioredis.Redis, cached: int = 0) -> None:
        self._redis = redis
        self.states = IssueStates(redis, "gw", cached=cached)
        self._queued: list[tuple[str, tuple[object, ...]]] = []  # index changes, written by `stage`

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
        await self.states.put(after)
        score = after.received_at.timestamp()
        queue = self._queued.append
        if before and before.unit and before.unit != after.unit:
            queue(("zrem", (_at(before.unit), after.issue_id)))
        if after.unit:
            if after.state in TERMINAL:
                queue(("zrem", (_at(after.unit), after.issue_id)))
            else:
                queue(("zadd", (_at(after.unit), {after.issue_id: score})))
        if before is None:
            queue(("zadd", (_received(after.station_code.split("-W")[0]), {after.issue_id: score})))
            if after.deputy_code:
                queue(("zadd", (_collected(after.deputy_code), {after.issue_id: score})))
        for code in _handlers(before):
            if code not in _handlers(after):
                queue(("zrem", (_handler(code), after.issue_id)))
        for code in _handlers(after):
            queue(("zadd", (_handler(code), {after.issue_id: score})))
        if after.referral_id:
            queue(("set", (f"gw:referral:{after.referral_id}", after.issue_id)))
        queue(("hset", (f"gw:issue:{after.issue_id}",), {"mapping": _summary(after)}))  # type: ignore[arg-type]
        return after

    def stage(self, pipe: aioredis.client.Pipeline) -> Callable[[], None]:
        """Queue the batch's states and index changes in the caller's transaction; returns what keeps them
        for the next batch's write if it fails."""
        undo_states = self.states.stage(pipe)
        queued, self._queued = self._queued, []
        for name, args, *kwargs in queued:
            getattr(pipe, name)(*args, **(kwargs[0] if kwargs else {}))

        def undo() -> None:
            undo_states()
            self._queued = queued + self._queued

        return undo

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

    async def collected_by(self, deputy_code: str) -> list[str]:
        """The issues a deputy collected, oldest first."""
        return [n.decode() for n in await self._redis.zrange(_collected(deputy_code), 0, -1)]

    async def page(
        self, unit: str, received: bool, offset: int, limit: int, newest_first: bool
    ) -> tuple[int, list[str]]:
        """One page of the issues sitting at (or received at) one unit, and how many there are: only the
        page is read from Valkey, so a page costs the same whatever the list's length."""
        key = _received(unit) if received else _at(unit)
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zcard(key)
            if newest_first:
                pipe.zrevrange(key, offset, offset + limit - 1)
            else:
                pipe.zrange(key, offset, offset + limit - 1)
            total, numbers = await pipe.execute()
        return int(total), [n.decode() for n in numbers]

    async def held_by(self, handler_code: str) -> list[str]:
        return [n.decode() for n in await self._redis.zrange(_handler(handler_code), 0, -1)]

    async def issue_of_referral(self, referral_id: str) -> str | None:
        found = await self._redis.get(f"gw:referral:{referral_id}")
        return found.decode() if found else None


def _summary(state: IssueState) -> dict[str, str]:
    """Where the issue sits and who holds it, as the lifecycle says, for the issue's summary."""
    return {
        "state": state.state,
        "tier": state.tier or "",
        "unit": state.unit or "",
        "referral_id": state.referral_id or "",
        "handler_code": state.handler_code or "",
        "co_handlers": ",".join(state.co_handlers),
        "deadline": state.deadline.isoformat() if state.deadline else "",
        "satisfaction": state.satisfaction or "",
        "reopened": str(state.reopened),
        "deputy_code": state.deputy_code or "",
    }


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
    """What became of each decision of a review (kept 90 days): the issues applied, and the refusals
    with their reasons, so a 10,000-decision review's progress is two counts, not 10,000 records."""

    TTL_S = 90 * 24 * 3600

    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis
        self._decoder = msgspec.json.Decoder(DecisionRefusal)
        self._noted: dict[str, dict[str, bytes | str]] = {}  # hash key -> issue -> outcome, until `flush`

    async def open(self, record: ReviewRecord) -> None:
        await self._redis.set(f"gw:review:{record.review_id}", msgspec.json.encode(record), ex=self.TTL_S)

    def note(self, outcome: ReviewPartDone | ReviewDecisionApplied | ReviewDecisionRefused) -> None:
        """Keep outcomes for the batch's `flush`: a 10,000-decision review is a few writes, not 10,000."""
        applied: dict[str, str] = {}
        refused: list[DecisionRefusal] = []
        if isinstance(outcome, ReviewPartDone):
            applied, refused = outcome.applied, list(outcome.refused)
        elif isinstance(outcome, ReviewDecisionApplied):  # one record a decision, as triage once published
            applied = {outcome.issue_id: outcome.decision}
        else:
            refused = [
                DecisionRefusal(
                    issue_id=outcome.issue_id, decision=outcome.decision, field=outcome.field, reason=outcome.reason
                )
            ]
        key = f"gw:review:{outcome.review_id}"
        if applied:
            self._noted.setdefault(f"{key}:applied", {}).update(applied)
        if refused:
            self._noted.setdefault(f"{key}:refused", {}).update({r.issue_id: msgspec.json.encode(r) for r in refused})

    async def flush(self) -> None:
        if not self._noted:
            return
        noted, self._noted = self._noted, {}
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                for key, outcomes in noted.items():
                    pipe.hset(key, mapping=outcomes)
                    pipe.expire(key, self.TTL_S)
                await pipe.execute()
        except BaseException:
            for key, outcomes in noted.items():  # written with the next flush, after the redelivery
                self._noted[key] = outcomes | self._noted.get(key, {})
            raise

    async def get(
        self, review_id: str, every: bool = False
    ) -> tuple[ReviewRecord | None, int, list[DecisionRefusal], dict[str, str]]:
        """The review, how many decisions were applied, the refusals, and (if `every`) issue -> decision applied."""
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.get(f"gw:review:{review_id}")
            pipe.hlen(f"gw:review:{review_id}:applied")
            pipe.hvals(f"gw:review:{review_id}:refused")
            if every:
                pipe.hgetall(f"gw:review:{review_id}:applied")
            record, applied, refused, *rest = await pipe.execute()
        return (
            msgspec.json.decode(record, type=ReviewRecord) if record else None,
            applied,
            [self._decoder.decode(r) for r in refused],
            {k.decode(): v.decode() for k, v in rest[0].items()} if rest else {},
        )
