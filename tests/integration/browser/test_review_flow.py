"""The monthly review and the referral it makes, in a real browser against the real platform: the town
presidium's review assigns an issue to a town office with a deadline in one batch (a bad field is shown at
its row and nothing is applied; a decision the platform refuses is shown with its reason while the rest
apply), the office signs for the referral and completes it on the department page, the platform then
feeds it back, and the town's leader in charge sees it."""

from __future__ import annotations

import re
import time
import uuid
from datetime import timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import expect

from infra.runtime.platform import Platform
from tests.integration.browser.conftest import PageFor, Shot, sign_in
from tests.integration.browser.steps import find_card as _find
from tests.integration.browser.steps import handler_login as _handler_account
from tests.integration.browser.steps import issue_of as _issue
from tests.integration.browser.steps import platform_today as _today
from tests.integration.browser.steps import until_state as _until

ROAD = "镇上主干道路面塌陷，车辆无法通行"
DUMP = "集镇垃圾转运站臭气扰民"
CHINA = ZoneInfo("Asia/Shanghai")
INVALID = re.compile(r"\binvalid\b")
SETTLES_S = 45  # intake → triage → read model, or reply → referral → feedback, on a busy two-core machine
LOADS_MS = 30_000  # a page's first lists, when the machine is busy


def _intake_at(admin: httpx.Client, station: str, text: str) -> str:
    """An intake at the town center station, numbered and waiting for the town's review."""
    body = {"channel": "reception", "station_code": station, "kind": "problem", "text": text}
    accepted = admin.post("/api/v1/intakes", json=body, headers={"Idempotency-Key": str(uuid.uuid4())})
    assert accepted.status_code == 202, accepted.text
    deadline = time.monotonic() + SETTLES_S
    while time.monotonic() < deadline:
        number = admin.get(accepted.json()["status_url"]).json().get("issue_number")
        if number:
            return str(_until(admin, number, {"pending_review"}, tier="town", unit=station)["number"])
        time.sleep(0.2)
    raise AssertionError(f"the intake {text!r} was never numbered")


@pytest.mark.timeout(900)  # run alone, this test also waits for the session's platform to start
def test_town_review_assigns_and_the_town_office_completes_it(
    page_for: PageFor, platform: Platform, admin: httpx.Client, shot: Shot
) -> None:
    town_page = page_for("town", "desk")
    town = town_page.context.request.get(f"{platform.gateway_url}/api/v1/auth/me").json()["unit_code"]
    road, dump = _intake_at(admin, town, ROAD), _intake_at(admin, town, DUMP)
    category = _issue(admin, road)["category"]
    offices = admin.get("/api/v1/registry/lookups/handlers-for", params={"category": category, "unit": town}).json()
    assert offices, f"no town office of {town} takes {category}"
    office = offices[0]["code"]
    deadline = (_today(admin) + timedelta(days=10)).isoformat()

    # -- the town presidium: assign the road to the office; a merge id too long for the platform first
    town_page.goto("/ui/review.html")
    expect(town_page.get_by_test_id("meeting-title")).to_contain_text("人大主席团会议", timeout=LOADS_MS)
    pending = town_page.locator("[data-testid=pending-total]:not(:empty)")
    road_card = _find(town_page, f"issue-{road}", "pending-pager", pending)
    road_card.get_by_test_id("decide-assign").check()
    expect(road_card.get_by_test_id("handler").locator(f"option[value='{office}']")).to_have_count(1, timeout=LOADS_MS)
    road_card.get_by_test_id("handler").select_option(office)
    road_card.get_by_test_id("deadline-input").fill(deadline)
    dump_card = _find(town_page, f"issue-{dump}", "pending-pager", pending)
    dump_card.get_by_test_id("decide-merge").check()
    dump_card.get_by_test_id("into").fill("HB-" + "9" * 70)
    town_page.get_by_test_id("participants").fill("镇人大主席、镇人大办主任、城建办主任")
    town_page.get_by_test_id("apply-review").click()
    expect(dump_card).to_have_class(INVALID)  # the 400 named decisions[1].into_issue_id
    expect(dump_card.locator("[data-field=into_issue_id]")).to_have_class(INVALID)
    expect(dump_card.get_by_test_id("field-error")).to_contain_text("64")
    assert _issue(admin, road)["state"] == "pending_review", "a refused batch applies nothing"
    shot(town_page, "review-field-error")

    # -- again: the road is assigned, the merge into itself is refused by the platform with its reason
    dump_card.get_by_test_id("into").fill(dump)
    shot(town_page, "review-decided")
    town_page.get_by_test_id("apply-review").click()
    outcome = town_page.get_by_test_id("outcome")
    expect(outcome).to_have_attribute("data-pending", "0", timeout=SETTLES_S * 1000)
    expect(town_page.get_by_test_id(f"outcome-{road}")).to_have_attribute("data-status", "applied")
    expect(town_page.get_by_test_id(f"outcome-{dump}")).to_have_attribute("data-status", "refused")
    expect(town_page.get_by_test_id(f"outcome-{dump}")).to_have_attribute("data-field", "into_issue_id")
    expect(dump_card).to_have_class(INVALID)
    expect(town_page.get_by_test_id(f"referral-{road}")).to_be_visible(timeout=SETTLES_S * 1000)
    shot(town_page, "review-applied")
    assigned = _until(admin, road, {"assigned", "in_progress"}, handler_code=office)
    assert assigned["deadline"] == deadline

    # -- the town office signs for it and completes it
    login, password = _handler_account(admin, office)
    office_page = page_for(None, "desk")
    sign_in(office_page, login, password)
    office_page.goto("/ui/department.html")
    referral = office_page.get_by_test_id(f"referral-{road}")
    accept = referral.get_by_test_id("reply-accepted")
    settle_by = time.monotonic() + SETTLES_S
    while not accept.is_visible():  # the referral service sends the referral a moment after the assignment
        assert time.monotonic() < settle_by, "the referral never reached the department page"
        office_page.get_by_test_id("refresh").click()
        office_page.wait_for_timeout(1500)
    expect(referral.get_by_test_id("deadline")).to_have_text(re.compile(r"\d"))
    shot(office_page, "department-referral")
    accept.click()
    expect(referral).to_have_attribute("data-state", "in_progress", timeout=SETTLES_S * 1000)
    referral.get_by_test_id("open-completed").click()
    referral.get_by_test_id("reply-result").fill("城建办组织抢修，路面已修复，恢复通行")
    shot(office_page, "department-completing")
    referral.get_by_test_id("reply-submit").click()
    expect(referral).to_have_count(0, timeout=SETTLES_S * 1000)
    shot(office_page, "department-done")
    done = _until(admin, road, {"completed", "fed_back"})
    assert done["handler_code"] == office
    fed_back = _until(admin, road, {"fed_back"})  # the result goes back to the voter on its own

    # -- the leader in charge of the town sees it
    leader_page = page_for("leader", "desk")
    leader_page.goto("/ui/leader.html")
    expect(leader_page.get_by_test_id("all-total")).not_to_be_empty(timeout=LOADS_MS)
    leader_page.get_by_test_id("state-filter").select_option(fed_back["state"])
    filtered = leader_page.locator(f"[data-testid=all-list][data-state={fed_back['state']}]")
    expect(_find(leader_page, f"issue-{road}", "all-pager", filtered)).to_contain_text(ROAD)
    shot(leader_page, "leader")
