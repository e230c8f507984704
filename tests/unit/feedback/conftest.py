"""In-memory fakes of feedback's ports, and an issue's life up to the point feedback takes over."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta

import pytest

from common.bus import Outgoing
from common.issue_states import IssueLocks
from contracts.base import IssueEvent, TraceContext
from contracts.issues import (
    IssueAssigned,
    IssueEscalated,
    IssueReceived,
    IssueResolvedOnSpot,
    IssueTriaged,
    ReferralCompleted,
    ReferralSent,
)
from contracts.lifecycle import IssueState
from services.feedback.handlers import FeedbackDeps, on_issue_event

ISSUE = "HB-202611-000123"
VILLAGE, TOWN = "610902001001", "610902001"
DEPUTY = "D-610902001-007"
ORIGIN = TraceContext(traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
T0 = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
RESULT = "已更换二组自来水主管，恢复正常供水"


class FakeIssueStates:
    def __init__(self) -> None:
        self.kept: dict[str, IssueState] = {}

    async def get(self, issue_id: str) -> IssueState | None:
        return self.kept.get(issue_id)

    async def put(self, *states: IssueState) -> None:
        self.kept.update({s.issue_id: s for s in states})


class FakeClock:
    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    async def now(self) -> datetime:
        return self.moment

    def advance(self, by: timedelta) -> None:
        self.moment += by


@pytest.fixture
def states() -> FakeIssueStates:
    return FakeIssueStates()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0 + timedelta(days=25))


@pytest.fixture
def deps(states: FakeIssueStates, clock: FakeClock) -> FeedbackDeps:
    return FeedbackDeps(states=states, locks=IssueLocks(), clock=clock, unreachable_after=timedelta(days=7))


def received(deputy_code: str | None = DEPUTY) -> IssueReceived:
    return IssueReceived(
        occurred_at=T0,
        correlation_id="submission-1",
        trace=ORIGIN,
        issue_id=ISSUE,
        submission_id=uuid.uuid4(),
        channel="visit",
        station_code=VILLAGE,
        kind="problem",
        text="二组自来水管损坏，三天没水吃",
        deputy_code=deputy_code,
    )


def referred_to_town() -> list[IssueEvent]:
    """Received at a village, escalated by its review to the town, assigned there to a town office."""
    deadline = date(2026, 12, 20)
    common = {"issue_id": ISSUE, "correlation_id": "submission-1", "origin_trace": ORIGIN}
    return [
        received(),
        IssueTriaged(**common, category="water_supply", responsible_tier="village", responsible_unit=VILLAGE),
        IssueEscalated(**common, from_tier="village", from_unit=VILLAGE, to_tier="town", to_unit=TOWN),
        IssueAssigned(**common, tier="town", unit=TOWN, handler_code="town-water", deadline=deadline),
        ReferralSent(**common, referral_id="R-1", handler_code="town-water", deadline=deadline, tier="town", unit=TOWN),
    ]


def completed() -> ReferralCompleted:
    return ReferralCompleted(
        issue_id=ISSUE,
        correlation_id="submission-1",
        origin_trace=ORIGIN,
        referral_id="R-1",
        handler_code="town-water",
        result=RESULT,
    )


def resolved_on_spot() -> list[IssueEvent]:
    """A voter's issue with no deputy, resolved at once by the village station that received it."""
    common = {"issue_id": ISSUE, "correlation_id": "submission-1", "origin_trace": ORIGIN}
    return [
        received(deputy_code=None),
        IssueTriaged(**common, category="sanitation", responsible_tier="village", responsible_unit=VILLAGE),
        IssueResolvedOnSpot(**common, tier="village", unit=VILLAGE, resolution="当场联系保洁员清运了垃圾"),
    ]


Feed = Callable[..., Awaitable[list[Outgoing]]]


@pytest.fixture
def feed(deps: FeedbackDeps) -> Feed:
    """Hand events to the issue-event handler in order; return what the last one produced."""

    async def run(*events: IssueEvent) -> list[Outgoing]:
        out: list[Outgoing] = []
        for event in events:
            out = await on_issue_event(event, deps)
        return out

    return run
