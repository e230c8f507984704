"""Triage's pure rules: the category an issue's text falls in, and the tier its station belongs to."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from common.registry.view import RegistryView
from contracts.base import derive_event_id
from contracts.issues import IssueReceived
from contracts.registry import AdminUnit, Station
from services.triage.domain import (
    FALLBACK_CATEGORY,
    CategoryRule,
    CategoryRules,
    triage,
    triaged_event,
)

REGISTRY = RegistryView(
    [
        AdminUnit(code="6109", name="安康市", tier="city"),
        AdminUnit(code="610902", name="汉滨区", tier="district", parent_code="6109"),
        AdminUnit(code="610902001", name="老城街道", tier="town", parent_code="610902"),
        AdminUnit(code="610902001001", name="东坝村", tier="village", parent_code="610902001"),
        Station(code="610902", name="代表之家", kind="deputies_home", unit_code="610902"),
        Station(code="610902001", name="中心联络站", kind="town_center", unit_code="610902001"),
        Station(code="610902001001", name="东坝村联络站", kind="village_station", unit_code="610902001001"),
        Station(code="610902001-W01", name="代表工作室", kind="workroom", unit_code="610902001", site="项目现场"),
    ]
)

SHIPPED = CategoryRules.load()

EXAMPLES = [
    ("家里老人大病住院，花光了积蓄", "serious_illness_aid"),
    ("新农合报销比例太低", "medical_insurance"),
    ("二组自来水管损坏", "water_supply"),
    ("通村公路滑坡", "roads_and_landslides"),
    ("村口垃圾堆了半个月没人清运", "sanitation"),
    ("两户因宅基地边界发生纠纷", "neighbour_disputes"),
    ("申请低保一直没有批下来", "hardship"),
    ("养殖户申请贷款太难", "industry_loans"),
    ("校车停运，孩子没法按时到校", "schooling"),
    ("在外务工被拖欠工资", "employment"),
    ("建议多组织一些文艺演出", FALLBACK_CATEGORY),
]

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def received(text: str = "二组自来水管损坏", station_code: str = "610902001") -> IssueReceived:
    return IssueReceived(
        event_id=uuid.UUID("0f0e0d0c-0b0a-4908-8706-050403020100"),
        correlation_id="submission-1",
        issue_id="HB-202612-000001",
        submission_id=uuid.uuid4(),
        channel="visit",
        station_code=station_code,
        kind="problem",
        text=text,
    )


def test_shipped_rules_load_in_file_order() -> None:
    categories = [rule.category for rule in SHIPPED.rule]
    assert categories[:2] == ["serious_illness_aid", "medical_insurance"]
    assert len(categories) == len(set(categories))
    assert all(rule.phrases for rule in SHIPPED.rule)


def test_every_shipped_category_has_an_example() -> None:
    assert {c for _, c in EXAMPLES} - {FALLBACK_CATEGORY} == {rule.category for rule in SHIPPED.rule}


@pytest.mark.parametrize(("text", "category"), EXAMPLES)
def test_text_is_categorized_by_the_first_matching_rule(text: str, category: str) -> None:
    assert SHIPPED.categorize(text) == category


def test_serious_illness_wins_over_medical_insurance_when_both_are_mentioned() -> None:
    assert SHIPPED.categorize("大病住院，医保报销后还差很多") == "serious_illness_aid"


def test_text_matching_no_rule_falls_back_to_other() -> None:
    assert SHIPPED.categorize("") == "other"
    assert CategoryRules(rule=()).categorize("二组自来水管损坏") == "other"


@pytest.mark.parametrize(
    ("station", "tier", "unit"),
    [
        ("610902", "district", "610902"),
        ("610902001", "town", "610902001"),
        ("610902001001", "village", "610902001001"),
        ("610902001-W01", "town", "610902001"),  # a workroom answers at the tier of its town
    ],
)
def test_the_tier_answering_first_is_the_tier_of_the_receiving_station(station: str, tier: str, unit: str) -> None:
    decided = triage(received(station_code=station), SHIPPED, REGISTRY, now=NOW)
    assert (decided.responsible_tier, decided.responsible_unit) == (tier, unit)


@pytest.mark.parametrize("station", ["610902002", "610902001009", "6109"])
def test_a_station_the_registry_does_not_know_is_a_value_error(station: str) -> None:
    with pytest.raises(ValueError, match="station_code"):
        triage(received(station_code=station), SHIPPED, REGISTRY, now=NOW)


def test_triage_answers_for_the_issue_at_its_station() -> None:
    decided = triage(received("通村公路滑坡", "610902001001"), SHIPPED, REGISTRY, now=NOW)
    assert decided.category == "roads_and_landslides"
    assert (decided.responsible_tier, decided.responsible_unit) == ("village", "610902001001")
    assert decided.received_event_id == "0f0e0d0c-0b0a-4908-8706-050403020100"


def test_triaged_event_id_is_derived_from_the_received_event() -> None:
    event = received()
    first = triaged_event(event, triage(event, SHIPPED, REGISTRY, now=NOW))
    again = triaged_event(event, triage(event, SHIPPED, REGISTRY, now=NOW))
    assert first.event_id == again.event_id == derive_event_id(event.event_id, "triaged")
    assert first.causation_id == event.event_id
    assert first.correlation_id == event.correlation_id


def test_triaged_event_reports_the_decision_it_is_given() -> None:
    event = received()
    other_rules = CategoryRules(rule=(CategoryRule("plumbing", ("水管",)),))
    decided = triage(event, other_rules, REGISTRY, now=NOW)
    triaged = triaged_event(event, decided)
    assert (triaged.category, triaged.responsible_tier, triaged.responsible_unit) == ("plumbing", "town", "610902001")
