"""One issue's whole life, through the real pages in a real browser against the real platform.

A village liaison on a phone records a voter's problem (name and phone given) and sees its issue number and
the voter's tracking code; with no signal records a second one, sees it queued, and sees it sent and numbered
once the signal is back (each stored exactly once). The village station head escalates the first issue to the
town in the village review; the town staff assigns it to a town office with a deadline in the town's review
batch; the office signs for it and completes it on the department page; the platform feeds the result back;
the voter, not signed in, opens the tracking page on a phone, follows the timeline and rates it 满意; and the
oversight office's ledger for the town counts it (the page's table before and after, checked against
GET /api/v1/oversight/ledgers)."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import Locator, Page, expect

from infra.runtime.platform import Platform
from tests.integration.browser.conftest import PageFor, Shot, sign_in
from tests.integration.browser.steps import find_card as _find
from tests.integration.browser.steps import handler_login as _handler_account
from tests.integration.browser.steps import platform_today as _today
from tests.integration.browser.steps import until_state as _until

TOWN = "610902001"  # the demo's first town: `town` works here; `liaison` and `head` at its village 610902001001
VILLAGE = "610902001001"
ISSUE_NUMBER = re.compile(r"^[A-Z]+-\d{6}-\d+$")
TRACKING_CODE = re.compile(r"^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$")
CHINA = ZoneInfo("Asia/Shanghai")
SETTLES_S = 60  # intake → triage → read model, review → referral, reply → feedback: on a busy two-core machine
SETTLES_MS = SETTLES_S * 1000
LOADS_MS = 30_000  # a page's first lists, when the machine is busy
# The ledger's columns (the page's own headings, oversight-strings.js) this test follows, and by how much
# each must go up for the town: two intakes collected at its village, the first escalated from the village,
# assigned by the town, completed by its office, closed satisfied.
LEDGER_COLUMNS = {
    "收集": "collected",
    "上报": "escalated",
    "交办": "assigned",
    "办结": "completed",
    "销号": "closed",
    "满意": "satisfied",
}
RISES = {"collected": 2, "escalated": 1, "assigned": 1, "completed": 1, "closed": 1, "satisfied": 1}


@pytest.fixture(autouse=True)
def _patient_expectations() -> Iterator[None]:
    """A page step can take seconds on a shared two-core machine running the whole platform."""
    expect.set_options(timeout=20_000)
    yield
    expect.set_options(timeout=10_000)  # the browser conftest's


# -- reading state through the API (assertions only) -----------------------------------------------------


def _get(page: Page, platform: Platform, path: str, **params: object) -> object:
    """A GET with the page's own session (its cookies), as that user sees it."""
    answer = page.context.request.get(f"{platform.gateway_url}{path}", params=params or None)
    assert answer.status == 200, f"{path}: {answer.status} {answer.text()}"
    return answer.json()


def _received_texts(page: Page, platform: Platform, unit: str) -> tuple[int, list[str]]:
    found = _get(page, platform, "/api/v1/issues/", unit=unit, scope="received", limit=2000)
    assert isinstance(found, dict)
    return found["total"], [item["text"] for item in found["items"]]


# -- the pages -------------------------------------------------------------------------------------------


def _top(page: Page) -> Page:
    """Scrolled to the top, so a full-page screenshot of the phone shows its sticky header where it is."""
    page.evaluate("() => window.scrollTo(0, 0)")
    return page


def _open_review(page: Page, meeting: str) -> Locator:
    """The review page, its meeting named; returns what shows the pending list has loaded."""
    page.goto("/ui/review.html")
    expect(page.get_by_test_id("meeting-title")).to_contain_text(meeting, timeout=LOADS_MS)
    return page.locator("[data-testid=pending-total]:not(:empty)")


def _apply_review(page: Page, number: str) -> None:
    """Submit the batch and wait until the platform says what became of it: this issue's decision applied."""
    page.get_by_test_id("apply-review").click()
    expect(page.get_by_test_id("outcome")).to_have_attribute("data-pending", "0", timeout=SETTLES_MS)
    expect(page.get_by_test_id(f"outcome-{number}")).to_have_attribute("data-status", "applied")


def _ledger_on_page(page: Page, town_name: str) -> dict[str, int] | None:
    """The town's figures as the oversight page's ledger table shows them (zeros when it has no row for the
    town); None while the table is not there."""
    shown = page.evaluate(
        """(name) => {
            const empty = document.querySelector("[data-testid=ledger-table-empty]");
            const table = document.querySelector("table[data-testid=ledger-table]");
            if (!table) return empty ? {} : null;
            const heads = [...table.querySelectorAll("thead th")].map((th) => th.textContent.trim());
            const row = [...table.querySelectorAll("tbody tr")].find((tr) => tr.cells[0].textContent.trim() === name);
            return row ? Object.fromEntries(heads.map((head, n) => [head, row.cells[n].textContent.trim()])) : {};
        }""",
        town_name,
    )
    if shown is None:
        return None
    return {figure: int(shown.get(head) or 0) for head, figure in LEDGER_COLUMNS.items()}


def _ledger_by_api(page: Page, platform: Platform) -> dict[str, int]:
    rows = _get(page, platform, "/api/v1/oversight/ledgers", by="town")
    assert isinstance(rows, list)
    row = next((r for r in rows if r["key"] == TOWN), {})
    return {figure: int(row.get(figure, 0)) for figure in LEDGER_COLUMNS.values()}


def _ledger_settled(
    page: Page, platform: Platform, town_name: str, wanted: Callable[[dict[str, int]], bool] | None = None
) -> dict[str, int]:
    """Refresh the ledger on the page until its row for the town agrees with the API (and, given `wanted`,
    until `wanted(figures)` holds); the figures."""
    deadline = time.monotonic() + SETTLES_S
    shown: dict[str, int] | None = None
    told: dict[str, int] = {}
    while True:
        shown = _ledger_on_page(page, town_name)
        told = _ledger_by_api(page, platform)
        if shown is not None and shown == told and (wanted is None or wanted(shown)):
            return shown
        assert time.monotonic() < deadline, f"the ledger for {town_name} never settled: page {shown}, API {told}"
        page.get_by_test_id("refresh").click()
        page.wait_for_timeout(1500)


# -- the test --------------------------------------------------------------------------------------------


@pytest.mark.timeout(900)  # a shared two-core machine; run alone, this test also waits for the platform to start
def test_one_issue_from_the_village_phone_to_the_oversight_ledger(
    page_for: PageFor, platform: Platform, admin: httpx.Client, shot: Shot
) -> None:
    """Recorded on a phone (and a second one offline), escalated by the village, assigned by the town, done by
    the town office, fed back, rated 满意 by the voter, and counted in the oversight ledger for the town."""
    tag = uuid.uuid4().hex[:8]
    road = f"村道路面塌方，车辆无法通行（{tag}）"  # roads_and_landslides: the town's 村镇建设办 takes it
    pipe = f"三组饮水管道冻裂，需要维修（{tag}）"
    result = "村镇建设办组织抢修，塌方已清理，路面恢复通行"
    town_name = admin.get(f"/api/v1/registry/units/{TOWN}").json()["name"]

    # -- 0. the oversight office's ledger for the town, before
    oversight = page_for("oversight", "desk")
    oversight.goto("/ui/oversight.html")
    expect(oversight.get_by_test_id("tab-ledger")).to_have_attribute("aria-selected", "true")
    expect(oversight.get_by_test_id("ledger-by")).to_have_value("town")
    expect(oversight.locator("#ledger-table > *").first).to_be_visible(timeout=LOADS_MS)  # the table, or "none"
    before = _ledger_settled(oversight, platform, town_name)
    shot(oversight, "0-ledger-before")

    # -- 1. the village liaison, on a phone: an intake with the voter's name and phone
    liaison = page_for("liaison", device="phone")
    assert urlsplit(liaison.url).path == "/ui/village.html", liaison.url
    expect(liaison.locator("body")).to_have_attribute("data-ready", "true", timeout=LOADS_MS)
    expect(liaison.get_by_test_id("station-name")).not_to_be_empty()
    expect(liaison.get_by_test_id("net-state")).to_have_attribute("data-state", "online")
    station = _get(liaison, platform, "/api/v1/auth/me")["unit_code"]  # type: ignore[index]
    assert station == VILLAGE, station
    total_before, _ = _received_texts(liaison, platform, station)

    liaison.get_by_test_id("text").fill(road)
    liaison.get_by_test_id("voter-name").fill("王大妈")
    liaison.get_by_test_id("voter-phone").fill("138 0000 1234")
    shot(_top(liaison), "1-village-filled")
    liaison.get_by_test_id("submit").click()
    expect(liaison.get_by_test_id("text")).to_have_value("")  # ready for the next voter
    first = liaison.get_by_test_id("outbox-item").filter(has_text=road)
    expect(first.get_by_test_id("outbox-number")).to_have_text(ISSUE_NUMBER, timeout=SETTLES_MS)
    expect(first.get_by_test_id("outbox-state")).to_have_text("已受理")
    expect(first.get_by_test_id("outbox-tracking")).to_have_text(TRACKING_CODE)
    number = first.get_by_test_id("outbox-number").inner_text()
    code = first.get_by_test_id("outbox-tracking").inner_text()
    shot(_top(liaison), "1-village-numbered")

    # ... and a second one with no signal: queued on the phone, sent and numbered when the signal returns
    liaison.context.set_offline(True)
    expect(liaison.get_by_test_id("net-state")).to_have_attribute("data-state", "offline")
    liaison.get_by_test_id("text").fill(pipe)
    liaison.get_by_test_id("submit").click()
    second = liaison.get_by_test_id("outbox-item").filter(has_text=pipe)
    expect(second).to_have_attribute("data-state", "queued")
    expect(liaison.get_by_test_id("queue-count")).to_have_text("待发送 1 条")
    shot(_top(liaison), "1-village-queued-offline")
    assert pipe not in _received_texts(liaison, platform, station)[1]  # (the test's own request is not cut off)

    liaison.context.set_offline(False)
    expect(second.get_by_test_id("outbox-number")).to_have_text(ISSUE_NUMBER, timeout=SETTLES_MS)
    expect(liaison.get_by_test_id("queue-count")).to_be_hidden()
    expect(liaison.get_by_test_id("net-state")).to_have_attribute("data-state", "online")
    second_number = second.get_by_test_id("outbox-number").inner_text()
    assert second_number != number
    shot(_top(liaison), "1-village-sent")

    # each stored exactly once (a double would show within the wait, since the one sent already did)
    deadline = time.monotonic() + SETTLES_S
    while _received_texts(liaison, platform, station)[0] < total_before + 2 and time.monotonic() < deadline:
        liaison.wait_for_timeout(300)
    liaison.wait_for_timeout(2000)
    total, texts = _received_texts(liaison, platform, station)
    assert total == total_before + 2, f"the station's work list went from {total_before} to {total}"
    assert texts.count(road) == 1 and texts.count(pipe) == 1, [t for t in texts if tag in t]
    issue = _until(admin, number, {"pending_review"}, tier="village", unit=VILLAGE)
    assert issue["category"] == "roads_and_landslides", issue
    assert issue.get("voter"), f"the voter's contact was not recorded: {issue}"

    # -- 2. the village station head escalates it to the town (上报) in the village review
    head = page_for("head", "desk")
    pending = _open_review(head, "村“两委会”研判")
    card = _find(head, f"issue-{number}", "pending-pager", pending)
    expect(card).to_contain_text(road)
    card.get_by_test_id("decide-escalate").check()
    expect(card.locator(".decision-fields")).to_contain_text(town_name)  # 上报至 the town
    head.get_by_test_id("participants").fill("站长、联络员、村两委成员")
    shot(head, "2-village-review-decided")
    _apply_review(head, number)
    shot(head, "2-village-review-applied")
    _until(admin, number, {"pending_review"}, tier="town", unit=TOWN)

    # -- 3. the town staff assigns it (交办) to the town office with a deadline, in the town's review batch
    town = page_for("town", "desk")
    assert _get(town, platform, "/api/v1/auth/me")["unit_code"] == TOWN  # type: ignore[index]
    offices = _get(town, platform, "/api/v1/registry/lookups/handlers-for", category=issue["category"], unit=TOWN)
    assert isinstance(offices, list) and offices, f"no office of {TOWN} takes {issue['category']}"
    office = offices[0]["code"]
    deadline_day = (_today(admin) + timedelta(days=10)).isoformat()
    pending = _open_review(town, "人大主席团会议")
    card = _find(town, f"issue-{number}", "pending-pager", pending)
    card.get_by_test_id("decide-assign").check()
    expect(card.get_by_test_id("handler").locator(f"option[value='{office}']")).to_have_count(1, timeout=LOADS_MS)
    card.get_by_test_id("handler").select_option(office)
    card.get_by_test_id("deadline-input").fill(deadline_day)
    town.get_by_test_id("participants").fill("镇人大主席、镇人大办主任、村镇建设办主任")
    expect(town.get_by_test_id("decided-count")).to_have_text("已作出 1 项决定")
    shot(town, "3-town-review-decided")
    _apply_review(town, number)
    expect(town.get_by_test_id(f"referral-{number}")).to_be_visible(timeout=SETTLES_MS)
    shot(town, "3-town-review-applied")
    assigned = _until(admin, number, {"assigned", "in_progress"}, handler_code=office)
    assert assigned["deadline"] == deadline_day, assigned

    # -- 4. the town office signs for it (签收) and completes it (办结) on the department page
    login, password = _handler_account(admin, office)
    desk = page_for(None, "desk")
    sign_in(desk, login, password)
    desk.goto("/ui/department.html")
    referral = desk.get_by_test_id(f"referral-{number}")
    accept = referral.get_by_test_id("reply-accepted")
    settle_by = time.monotonic() + SETTLES_S
    while not accept.is_visible():  # the referral service sends the referral a moment after the assignment
        assert time.monotonic() < settle_by, "the referral never reached the department page"
        desk.get_by_test_id("refresh").click()
        desk.wait_for_timeout(1500)
    expect(referral).to_contain_text(road)
    shot(desk, "4-department-referral")
    accept.click()
    expect(referral).to_have_attribute("data-state", "in_progress", timeout=SETTLES_MS)
    referral.get_by_test_id("open-completed").click()
    referral.get_by_test_id("reply-result").fill(result)
    shot(desk, "4-department-completing")
    referral.get_by_test_id("reply-submit").click()
    expect(referral).to_have_count(0, timeout=SETTLES_MS)
    shot(desk, "4-department-done")
    assert _until(admin, number, {"completed", "fed_back"})["handler_code"] == office

    # -- 5. fed back by the platform; the voter, not signed in, follows it on a phone and rates it 满意
    _until(admin, number, {"fed_back"})
    voter = page_for(None, "phone")
    voter.goto(f"/ui/voter.html#{code}", wait_until="domcontentloaded")
    expect(voter.get_by_test_id("track-number")).to_have_text(number, timeout=LOADS_MS)
    expect(voter.get_by_test_id("track-text")).to_have_text(road)
    for step in ("received", "triaged", "escalated", "assigned", "accepted", "completed", "fed_back"):
        expect(voter.locator(f"[data-testid=step][data-step={step}]")).to_be_visible()
    expect(voter.locator("[data-testid=step][data-step=completed] [data-testid=step-text]")).to_have_text(result)
    assert "138 0000 1234" not in voter.locator("main").inner_text(), "the tracking page shows nobody's phone"
    expect(voter.get_by_test_id("rating-form")).to_be_visible()
    shot(voter, "5-voter-timeline")
    voter.get_by_test_id("satisfaction-satisfied").check()
    voter.get_by_test_id("rating-comment").fill("修得很快，谢谢")
    shot(voter, "5-voter-rating")
    voter.get_by_test_id("rating-submit").click()
    expect(voter.get_by_test_id("track-satisfaction")).to_have_text("满意", timeout=SETTLES_MS)
    expect(voter.get_by_test_id("rating-form")).to_be_hidden()
    expect(voter.locator("[data-testid=step][data-step=rated]")).to_be_visible()
    shot(voter, "5-voter-rated")
    rated = _until(admin, number, {"rated", "closed"}, satisfaction="satisfied")
    closed = _until(admin, number, {"closed"}) if rated["state"] != "closed" else rated
    assert closed["satisfaction"] == "satisfied", closed

    # -- 6. the oversight office: the ledger for the town counts it
    after = _ledger_settled(
        oversight, platform, town_name, lambda got: all(got[f] >= before[f] + n for f, n in RISES.items())
    )
    shot(oversight, "6-ledger-after")
    assert after["collected"] >= 1 and after["completed"] >= 1, after
    rises = {figure: after[figure] - before[figure] for figure in RISES}
    assert all(rises[f] >= n for f, n in RISES.items()), f"the town's ledger rose by {rises}, not at least {RISES}"
