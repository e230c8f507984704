"""The gateway's scope rules (gateway/access.py) on the small demo district; the same rules on the real
platform, for every demo role, are in tests/integration/test_access.py."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from common.registry.view import RegistryView
from contracts.registry import Station
from gateway.access import sees_issue
from gateway.auth import ROOT, Principal
from gateway.schemas import IssueView
from services.registry.demo import demo_district

T0 = datetime(2026, 3, 2, tzinfo=UTC)


@pytest.fixture(scope="module")
def view() -> RegistryView:
    return RegistryView(demo_district("small"))


def who(role: str, unit: str | None = None, handler: str | None = None, deputy: str | None = None) -> Principal:
    return Principal(
        login=f"{role}-1", name="某某", role=role, unit_code=unit, handler_code=handler, deputy_code=deputy
    )


def issue(station: str, unit: str | None = None, **more: object) -> IssueView:
    return IssueView(
        number="HB-202603-000001",
        state="pending_review",
        kind="problem",
        channel="visit",
        station_code=station,
        text="饮水",
        received_at=T0,
        unit=unit,
        **more,  # type: ignore[arg-type]
    )


def test_staff_see_what_was_received_sits_or_is_answered_for_in_their_subtree(view: RegistryView) -> None:
    village_issue = issue("610902001001", unit="610902001001")
    escalated_to_district = issue("610902001001", unit="610902", responsible_unit="610902")
    assert sees_issue(who("station_liaison", "610902001001"), view, village_issue)
    assert sees_issue(who("station_liaison", "610902001001"), view, escalated_to_district)  # its own voter's
    assert sees_issue(who("town_staff", "610902001"), view, village_issue)
    assert not sees_issue(who("town_staff", "610902002"), view, village_issue)
    assert not sees_issue(who("station_liaison", "610902001002"), view, village_issue)
    assert sees_issue(who("district_staff", "610902"), view, village_issue)
    assert sees_issue(ROOT, view, village_issue)


def test_a_workrooms_issue_belongs_to_the_workrooms_unit(view: RegistryView) -> None:
    workroom = next(s for s in view.all(Station) if s.kind == "workroom")
    at_workroom = issue(workroom.code, unit=workroom.unit_code)
    assert sees_issue(who("district_staff", "610902"), view, at_workroom)
    assert not sees_issue(who("station_liaison", "610902001001"), view, at_workroom)


def test_a_handler_sees_only_the_issues_it_holds_a_referral_for(view: RegistryView) -> None:
    held = issue("610902", unit="610902", handler_code="d-water", co_handlers=["d-transport"])
    assert sees_issue(who("handler", handler="d-water"), view, held)
    assert sees_issue(who("handler", handler="d-transport"), view, held)  # a co-handler
    assert not sees_issue(who("handler", handler="d-health"), view, held)
    assert not sees_issue(who("handler", handler=None), view, held)
    assert not sees_issue(who("handler", handler="d-water"), view, issue("610902", unit="610902"))


def test_a_deputy_sees_what_they_collected_wherever_it_went(view: RegistryView) -> None:
    collected = issue("610902", unit="610902", deputy_code="D00001")
    assert sees_issue(who("deputy", "610902002001", deputy="D00001"), view, collected)
    assert not sees_issue(who("deputy", "610902002001", deputy="D00002"), view, collected)
