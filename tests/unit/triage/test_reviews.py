"""The monthly review's rules: what each decision becomes, why one is refused, and month end by policy."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from common.registry.view import RegistryView
from contracts.commands import RecordReviewDecision
from contracts.issues import (
    IssueAssigned,
    IssueCarriedOver,
    IssueEscalated,
    IssueMerged,
    IssueReceived,
    IssueResolved,
    IssueTriaged,
)
from contracts.lifecycle import IssueState, apply
from contracts.registry import AdminUnit, Handler
from services.triage.reviews import Policy, Refusal, decide, month_end

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
TODAY = date(2026, 11, 20)
POLICY = Policy.parse("village:7,town:15,district:30,city:30", "village:escalate,town:carry_over")
REGISTRY = RegistryView(
    [
        AdminUnit(code="6109", name="安康市", tier="city"),
        AdminUnit(code="610902", name="汉滨区", tier="district", parent_code="6109"),
        AdminUnit(code="610902001", name="老城街道", tier="town", parent_code="610902"),
        AdminUnit(code="610902001001", name="东坝社区", tier="village", parent_code="610902001"),
        Handler(
            code="t610902001-civil",
            name="社会事务办",
            kind="town_office",
            unit_code="610902001",
            categories=("hardship",),
        ),
        Handler(
            code="d-finance",
            name="财政局",
            kind="district_department",
            unit_code="610902",
            categories=("industry_loans",),
        ),
        Handler(
            code="d-water", name="水利局", kind="district_department", unit_code="610902", categories=("water_supply",)
        ),
        Handler(
            code="c-water", name="市水利局", kind="city_department", unit_code="6109", categories=("water_supply",)
        ),
    ]
)


def pending(tier: str = "village", unit: str = "610902001001", number: str = "HB-202611-000001") -> IssueState:
    received = IssueReceived(
        occurred_at=NOW,
        issue_id=number,
        submission_id=uuid.uuid4(),
        channel="visit",
        station_code=unit,
        kind="problem",
        text="饮水困难",
    )
    triaged = IssueTriaged(
        occurred_at=NOW, issue_id=number, category="water_supply", responsible_tier=tier, responsible_unit=unit
    )
    return apply(apply(None, received), triaged)


def decision(kind: str, tier: str = "village", unit: str = "610902001001", **fields: object) -> RecordReviewDecision:
    return RecordReviewDecision(
        occurred_at=NOW,
        issue_id="HB-202611-000001",
        review_id="RV-1",
        tier=tier,
        unit=unit,
        month="2026-11",
        decision=kind,
        **fields,
    )


def test_resolve_needs_to_say_how() -> None:
    assert decide(decision("resolve"), pending(), REGISTRY, TODAY, POLICY) == Refusal(
        "note", "say how the tier resolved it"
    )
    event = decide(decision("resolve", note="村委会协调修复"), pending(), REGISTRY, TODAY, POLICY)
    assert isinstance(event, IssueResolved) and (event.tier, event.resolution) == ("village", "村委会协调修复")


def test_a_village_assigns_to_its_towns_offices_with_the_default_deadline() -> None:
    event = decide(decision("assign", handler_code="t610902001-civil"), pending(), REGISTRY, TODAY, POLICY)
    assert isinstance(event, IssueAssigned)
    assert (event.handler_code, event.deadline) == ("t610902001-civil", date(2026, 11, 27))


def test_a_district_assigns_jointly_with_its_own_departments_and_an_explicit_deadline() -> None:
    command = decision(
        "assign", "district", "610902", handler_code="d-water", co_handlers=("d-finance",), deadline=date(2026, 12, 31)
    )
    event = decide(command, pending("district", "610902"), REGISTRY, TODAY, POLICY)
    assert (
        isinstance(event, IssueAssigned)
        and event.co_handlers == ("d-finance",)
        and event.deadline == date(2026, 12, 31)
    )


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({}, "handler_code"),
        ({"handler_code": "nobody"}, "handler_code"),
        ({"handler_code": "c-water"}, "handler_code"),  # a city department is not the district's to assign
        ({"handler_code": "d-water", "co_handlers": ("t610902001-civil",)}, "co_handlers"),
        ({"handler_code": "d-water", "deadline": date(2026, 11, 1)}, "deadline"),
    ],
)
def test_an_assignment_the_district_cannot_make_is_refused_naming_the_field(fields: dict, field: str) -> None:
    refused = decide(
        decision("assign", "district", "610902", **fields), pending("district", "610902"), REGISTRY, TODAY, POLICY
    )
    assert isinstance(refused, Refusal) and refused.field == field and refused.reason


def test_assigning_an_issue_that_sits_at_another_tier_is_refused_by_the_lifecycle() -> None:
    refused = decide(
        decision("assign", "district", "610902", handler_code="d-water"), pending(), REGISTRY, TODAY, POLICY
    )
    assert isinstance(refused, Refusal) and refused.field == "issue_id"


def test_escalation_goes_to_the_parent_unit_and_the_district_reaches_the_city_by_linkage() -> None:
    up = decide(decision("escalate"), pending(), REGISTRY, TODAY, POLICY)
    assert isinstance(up, IssueEscalated) and (up.to_tier, up.to_unit, up.city_linkage) == ("town", "610902001", False)
    linked = decide(decision("escalate", "district", "610902"), pending("district", "610902"), REGISTRY, TODAY, POLICY)
    assert isinstance(linked, IssueEscalated) and (linked.to_unit, linked.city_linkage) == ("6109", True)
    top = decide(decision("escalate", "city", "6109"), pending("city", "6109"), REGISTRY, TODAY, POLICY)
    assert isinstance(top, Refusal)


def test_merge_names_another_issue() -> None:
    assert isinstance(decide(decision("merge"), pending(), REGISTRY, TODAY, POLICY), Refusal)
    merged = decide(decision("merge", into_issue_id="HB-202611-000009"), pending(), REGISTRY, TODAY, POLICY)
    assert isinstance(merged, IssueMerged)


def test_an_unknown_decision_is_refused() -> None:
    refused = decide(decision("ignore"), pending(), REGISTRY, TODAY, POLICY)
    assert isinstance(refused, Refusal) and refused.field == "decision"


def test_the_same_decision_gives_the_same_event() -> None:
    command = decision("resolve", note="好了")
    assert decide(command, pending(), REGISTRY, TODAY, POLICY) == decide(command, pending(), REGISTRY, TODAY, POLICY)


def test_month_end_escalates_where_the_policy_says_and_carries_over_elsewhere() -> None:
    later = datetime(2026, 12, 2, tzinfo=UTC)
    up = month_end(pending(), REGISTRY, POLICY, later)
    assert isinstance(up, IssueEscalated) and up.automatic and up.to_tier == "town"
    kept = month_end(pending("town", "610902001"), REGISTRY, POLICY, later)
    assert isinstance(kept, IssueCarriedOver) and kept.month == "2026-11"
    assert apply(pending("town", "610902001"), kept).month == "2026-12"
    assert month_end(pending(), REGISTRY, POLICY, NOW) is None  # its month has not ended
    assert month_end(pending(), REGISTRY, POLICY, later) == up  # the same step, the same id


def test_policy_names_a_bad_setting() -> None:
    with pytest.raises(ValueError, match="MONTH_END_POLICY"):
        Policy.parse("village:7", "village:forget")
    with pytest.raises(ValueError, match="REVIEW_DEADLINE_DAYS"):
        Policy.parse("hamlet:7", "")
