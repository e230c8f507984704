"""The small demo district, simulated histories checked by the lifecycle, and hand-built issue stories."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from common.clock import CHINA
from common.registry.view import RegistryView
from contracts.base import IssueEvent
from contracts.issues import (
    IssueAssigned,
    IssueClosed,
    IssueEscalated,
    IssueFedBack,
    IssueRated,
    IssueReceived,
    IssueReopened,
    IssueResolved,
    IssueResolvedOnSpot,
    IssueTriaged,
    ReferralCompleted,
    ReferralSent,
    ReferralUnable,
)
from contracts.lifecycle import IssueState, apply, return_point
from services.oversight.ledger_bench import Simulator
from services.registry.demo import demo_district

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in China


@pytest.fixture(scope="session")
def view() -> RegistryView:
    return RegistryView(demo_district("small"))


@pytest.fixture(scope="session")
def histories(view: RegistryView) -> list[list[IssueEvent]]:
    """400 issues received over January to April 2026, every event legal by the lifecycle. Villages escalate
    and towns assign more than in life, so that many referrals are made, answered, late or left open."""
    more_referrals = {
        "village": (0.5, 0.45, 0.0, 0.03, 0.01, 0.005, 0.005),
        "town": (0.3, 0.2, 0.45, 0.03, 0.0, 0.01, 0.01),
    }
    start = datetime(2026, 1, 1, tzinfo=CHINA)
    simulated = Simulator(view, seed=20260101, start=start, days=120, weights=more_referrals).histories(400)
    for events in simulated:
        state = None
        for event in events:
            state = apply(state, event)  # raises on an illegal step
    return simulated


class Story:
    """One issue's events, made step by step and checked by the lifecycle as they are made."""

    def __init__(self, view: RegistryView, number: int, station: str, **received: Any) -> None:
        self.view, self.issue_id, self.at = view, f"HB-202603-{number:06d}", T0 + timedelta(hours=number)
        self.events: list[IssueEvent] = []
        self.state: IssueState | None = None
        fields = {"channel": "visit", "kind": "problem", "text": "…"} | received
        category = fields.pop("category", "water_supply")
        self.step(IssueReceived, days=0, submission_id=uuid.uuid4(), station_code=station, **fields)
        tier, unit = view.tier_of_station(station)
        self.step(IssueTriaged, days=0, category=category, responsible_tier=tier, responsible_unit=unit)

    @property
    def now(self) -> IssueState:
        assert self.state is not None
        return self.state

    def step(self, cls: Callable[..., IssueEvent], *, days: float = 1, **fields: Any) -> Story:
        self.at += timedelta(days=days)
        event = cls(occurred_at=self.at, issue_id=self.issue_id, **fields)
        self.state = apply(self.state, event)
        self.events.append(event)
        return self

    def here(self) -> dict[str, str]:
        return {"tier": self.now.tier or "", "unit": self.now.unit or ""}

    def on_spot(self) -> Story:
        return self.step(IssueResolvedOnSpot, resolution="当场解决", **self.here())

    def resolve(self) -> Story:
        return self.step(IssueResolved, resolution="研判解决", **self.here())

    def escalate(self) -> Story:
        unit = self.view.unit(self.now.unit or "")
        parent = self.view.unit(unit.parent_code or "") if unit else None
        assert unit is not None and parent is not None
        to = {"to_tier": parent.tier, "to_unit": parent.code, "city_linkage": parent.tier == "city"}
        return self.step(IssueEscalated, from_tier=unit.tier, from_unit=unit.code, **to)

    def assign(self, handler: str, *, deadline_in: int = 20, co: tuple[str, ...] = ()) -> Story:
        deadline = self.at.astimezone(CHINA).date() + timedelta(days=deadline_in)
        self.step(IssueAssigned, handler_code=handler, deadline=deadline, co_handlers=co, **self.here())
        referral = f"R-{self.issue_id}-{len(self.events)}"
        sent = {"handler_code": handler, "co_handlers": co, "deadline": deadline, **self.here()}
        return self.step(ReferralSent, days=0, referral_id=referral, **sent)

    def complete(self, *, days: float = 1, by: str | None = None) -> Story:
        reply = {"referral_id": self.now.referral_id, "handler_code": by or self.now.handler_code}
        return self.step(ReferralCompleted, days=days, result="已办结", **reply)

    def unable(self, reason: str = "no_funds", *, by: str | None = None) -> Story:
        reply = {"referral_id": self.now.referral_id, "handler_code": by or self.now.handler_code}
        return self.step(ReferralUnable, reason_code=reason, reason="无法办理", **reply)

    def rate(self, satisfaction: str) -> Story:
        self.step(IssueFedBack, message="已反馈")
        return self.step(IssueRated, satisfaction=satisfaction)

    def close(self) -> Story:
        return self.step(IssueClosed, tier=return_point(self.now)[0])

    def reopen(self) -> Story:
        tier, unit = return_point(self.now)
        return self.step(IssueReopened, tier=tier, unit=unit, reason="不满意")


@pytest.fixture
def story(view: RegistryView) -> Callable[..., Story]:
    def make(number: int, station: str, **received: Any) -> Story:
        return Story(view, number, station, **received)

    return make
