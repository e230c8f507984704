"""Supervision on the platform clock (督办): a referral past its deadline raises a supervision item on its
issue and notifies the handler's superior and the leaders in charge of that subtree, once per referral;
an issue a tier's monthly review left undecided raises one too, once per month, telling the leaders;
and when a month has ended, its assessment scores are published with the inputs behind them."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis

from common.bus import Outgoing, outgoing
from common.clock import CHINA, Clock, month_of
from common.registry.view import RegistryView
from common.ticker import Ticker
from contracts.base import EVENT_ID_NAMESPACE, derive_event_id
from contracts.calendar import previous_month
from contracts.commands import Notification
from contracts.issues import IssueSupervised
from contracts.oversight import AssessmentScored, ScoreInput
from contracts.registry import Handler
from contracts.topics import ASSESSMENTS, ISSUE_EVENTS, NOTIFICATIONS
from services.oversight import assessment
from services.oversight.ledger import Ledger
from services.oversight.views import OverdueItem, UnreviewedItem

log = logging.getLogger(__name__)
Publish = Callable[[list[Outgoing]], Awaitable[None]]


def supervision_records(item: OverdueItem, view: RegistryView) -> list[Outgoing]:
    """The supervision item on the issue, and who is told: the handler's superior, the leaders in charge."""
    cause = uuid.uuid5(EVENT_ID_NAMESPACE, f"overdue:{item.referral_id}")
    event = IssueSupervised(
        event_id=derive_event_id(cause, "supervised"),
        issue_id=item.issue_id,
        supervision_id=f"S-{item.referral_id}",
        reason=f"referral {item.referral_id} to {item.handler_name} passed its deadline {item.deadline}",
        referral_id=item.referral_id,
        overdue_days=item.days_overdue,
    )
    text = (
        f"督办：{item.handler_name}承办的问题（{item.issue_id}）已逾期{item.days_overdue}天"
        f"（期限{item.deadline}），请督促办理。"
    )
    handler = view.get(Handler, item.handler_code)
    recipients = [f"superior:{handler.superior}" if handler and handler.superior else f"handler:{item.handler_code}"]
    # the leaders in charge of the subtree it came from (a town's, and the district's if any)
    leaders = view.leaders_over(item.town) if item.town else []
    recipients += [f"leader:{leader.code}" for leader in leaders or view.leaders_over(item.unit)]
    notes = [
        Notification(event_id=derive_event_id(cause, f"notify:{who}"), issue_id=item.issue_id, recipient=who, text=text)
        for who in recipients
    ]
    return [outgoing(ISSUE_EVENTS, item.issue_id, event)] + [outgoing(NOTIFICATIONS, item.issue_id, n) for n in notes]


def unreviewed_records(item: UnreviewedItem, view: RegistryView) -> list[Outgoing]:
    """A supervision item on an issue its tier's review left undecided, and the leaders in charge told."""
    cause = uuid.uuid5(EVENT_ID_NAMESPACE, f"unreviewed:{item.issue_id}:{item.month}:{item.unit}")
    event = IssueSupervised(
        event_id=derive_event_id(cause, "supervised"),
        issue_id=item.issue_id,
        supervision_id=f"S-{item.issue_id}-{item.month}",
        reason=f"the {item.tier} review of {item.unit_name} did not decide it in {item.month}",
    )
    text = f"督办：{item.unit_name}{item.month}月研判未处理问题（{item.issue_id}），请督促研判。"
    leaders = view.leaders_over(item.unit)
    notes = [
        Notification(
            event_id=derive_event_id(cause, f"notify:{leader.code}"),
            issue_id=item.issue_id,
            recipient=f"leader:{leader.code}",
            text=text,
        )
        for leader in leaders
    ]
    return [outgoing(ISSUE_EVENTS, item.issue_id, event)] + [outgoing(NOTIFICATIONS, item.issue_id, n) for n in notes]


def assessment_records(scores: list, period: str) -> list[Outgoing]:  # list[Score]
    out = []
    for s in scores:
        inputs = tuple(
            ScoreInput(
                indicator=line.indicator,
                value=line.value,
                weight=line.weight,
                points=line.points,
                numerator=line.numerator,
                denominator=line.denominator,
            )
            for line in s.lines
        )
        cause = uuid.uuid5(EVENT_ID_NAMESPACE, f"assessment:{period}:{s.kind}:{s.key}")
        event = AssessmentScored(
            event_id=derive_event_id(cause, "scored"),
            period=period,
            kind=s.kind,
            key=s.key,
            name=s.name,
            score=s.score,
            rank=s.rank,
            inputs=inputs,
        )
        out.append(outgoing(ASSESSMENTS, f"{s.kind}:{s.key}", event))
    return out


class Supervisor:
    def __init__(
        self,
        ledger: Ledger,
        registry: Callable[[], RegistryView],
        redis: aioredis.Redis,
        publish: Publish,
        model: assessment.Model,
        every_s: float,
    ) -> None:
        self._ledger, self._registry, self._redis, self._publish = ledger, registry, redis, publish
        self._model, self._clock = model, Clock(redis)
        self._ticker = Ticker("supervision", self.tick, every_s)

    async def start(self) -> None:
        await self._ticker.start()

    async def stop(self) -> None:
        await self._ticker.stop()

    async def tick(self) -> int:
        now = await self._clock.now()
        today, view = now.astimezone(CHINA).date(), self._registry()
        raised = 0
        for item in self._ledger.overdue(view, today):
            if await self._redis.sismember("oversight:supervised", item.referral_id):
                continue
            await self._publish(supervision_records(item, view))  # published first: a crash repeats it, same ids
            await self._redis.sadd("oversight:supervised", item.referral_id)
            raised += 1
        for unreviewed in self._ledger.unreviewed(view):
            marker = f"unreviewed:{unreviewed.issue_id}:{unreviewed.month}"
            if await self._redis.sismember("oversight:supervised", marker):
                continue
            await self._publish(unreviewed_records(unreviewed, view))
            await self._redis.sadd("oversight:supervised", marker)
            raised += 1
        previous = previous_month(month_of(now))
        if await self._redis.set(f"oversight:scored:{previous}", "1", nx=True):
            scores = [
                s
                for kind in self._model.indicators
                for s in assessment.score(self._ledger, view, self._model, kind=kind, period=previous, today=today)
            ]
            try:
                await self._publish(assessment_records(scores, previous))
            except BaseException:
                await self._redis.delete(f"oversight:scored:{previous}")
                raise
            log.info("assessment published", extra={"period": previous, "scores": len(scores)})
        if raised:
            log.info("supervision raised", extra={"items": raised})
        return raised
