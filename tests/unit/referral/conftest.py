"""In-memory fakes of the referral service's ports, and an issue that has reached its review."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, date, datetime

import pytest

from common.issue_states import IssueLocks
from contracts import lifecycle
from contracts.base import IssueEvent
from contracts.issues import IssueAssigned, IssueReceived, IssueTriaged
from contracts.lifecycle import IssueState
from contracts.topics import Topic
from services.referral.domain import Allotment
from services.referral.handlers import ReferralDeps

ISSUE = "HB-202612-000001"
TEXT = "二组自来水管损坏，全组三十户停水一周" * 20  # longer than a referral's summary
NOW = datetime(2026, 12, 3, 9, 30, tzinfo=UTC)


class FakeIssueStore:
    def __init__(self) -> None:
        self.states: dict[str, IssueState] = {}

    async def get(self, issue_id: str) -> IssueState | None:
        return self.states.get(issue_id)

    async def put(self, *states: IssueState) -> None:
        self.states.update({s.issue_id: s for s in states})


class FakeIssueTexts:
    def __init__(self) -> None:
        self.texts: dict[str, str] = {}

    async def keep(self, issue_id: str, text: str) -> None:
        self.texts[issue_id] = text

    async def get(self, issue_id: str) -> str | None:
        return self.texts.get(issue_id)

    async def flush(self) -> None:
        return None


class FakeReferralNumbers:
    def __init__(self) -> None:
        self.allotted: dict[str, dict[uuid.UUID, Allotment]] = {}

    async def allot(self, issue_id: str, assigned_event_id: uuid.UUID, now: datetime) -> Allotment:
        kept = self.allotted.setdefault(issue_id, {})
        return kept.setdefault(assigned_event_id, Allotment(len(kept) + 1, now))


class FakeTopicAdmin:
    def __init__(self) -> None:
        self.ensured: list[str] = []

    async def ensure(self, topics: Sequence[Topic]) -> None:
        self.ensured.extend(t.name for t in topics if t.name not in self.ensured)


class FakeClock:
    def __init__(self, now: datetime = NOW) -> None:
        self.moment = now

    async def now(self) -> datetime:
        return self.moment


class Fakes:
    def __init__(self) -> None:
        self.states, self.texts, self.numbers = FakeIssueStore(), FakeIssueTexts(), FakeReferralNumbers()
        self.topics, self.clock = FakeTopicAdmin(), FakeClock()
        self.deps = ReferralDeps(
            states=self.states,
            texts=self.texts,
            numbers=self.numbers,
            topics=self.topics,
            clock=self.clock,
            locks=IssueLocks(),
        )

    def seed(self, *events: IssueEvent) -> IssueState:
        """Put the state these events fold to, as if the service had consumed them."""
        state: IssueState | None = self.states.states.get(ISSUE)
        for event in events:
            state = lifecycle.apply(state, event)
        assert state is not None
        self.states.states[ISSUE] = state
        return state


@pytest.fixture
def fakes() -> Fakes:
    return Fakes()


def received() -> IssueReceived:
    return IssueReceived(
        occurred_at=datetime(2026, 11, 20, 10, 0, tzinfo=UTC),
        correlation_id="submission-1",
        issue_id=ISSUE,
        submission_id=uuid.uuid4(),
        channel="visit",
        station_code="610902001",
        kind="problem",
        text=TEXT,
    )


def triaged() -> IssueTriaged:
    return IssueTriaged(
        occurred_at=datetime(2026, 11, 20, 10, 1, tzinfo=UTC),
        correlation_id="submission-1",
        issue_id=ISSUE,
        category="water_supply",
        responsible_tier="town",
        responsible_unit="610902001",
    )


def assigned(co_handlers: tuple[str, ...] = ("t-finance",), event_id: uuid.UUID | None = None) -> IssueAssigned:
    return IssueAssigned(
        event_id=event_id or uuid.uuid4(),
        occurred_at=datetime(2026, 12, 1, 9, 0, tzinfo=UTC),
        correlation_id="submission-1",
        issue_id=ISSUE,
        tier="town",
        unit="610902001",
        handler_code="t-water",
        co_handlers=co_handlers,
        deadline=date(2026, 12, 31),
        review_id="town-610902001-2026-12",
    )
