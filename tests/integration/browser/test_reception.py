"""The town's public reception day (公开接访日) at its central liaison station, on a desk against the real platform
and the demo district: the town staff see whether today is a reception day (and the next one when it is not),
the deputies on duty from the registry's schedule, record what two voters raise before two deputies, see both
numbered in today's list with their deputy and each deputy's count, and log each deputy's reception for
oversight once; a bad field is shown at the field, by the page and when the platform refuses it; English is
one button away.

The demo district schedules every town's central station for the 15th of each month
(services/registry/demo.py `_receptions`). Unless the platform's today is a 15th, the tests that need a
reception day give the station a second schedule, for today's day of the month, with the same deputies, and
remove it afterwards. (Not the platform clock: it only moves forward, and a month end would escalate the other
tests' issues.)"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import date
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Locator, Page, Route, expect

from infra.runtime.platform import Platform
from tests.integration.browser.conftest import PageFor, Shot
from tests.integration.browser.steps import issue_of, platform_today

ISSUE_NUMBER = re.compile(r"^[A-Z]+-\d{6}-\d+$")
NUMBERED_WITHIN_MS = 60_000  # intake → triage → read model, on a platform that may still be warming up
SLOW_MS = 20_000  # a page step on a busy test machine
SETTLES_S = 60.0  # a record → oversight's figures
RECEPTION_DAY = 15  # "每月15日为公开接访日"


@pytest.fixture(autouse=True)
def _patient_expectations() -> Iterator[None]:
    """A page step can take seconds when the test machine runs the platform beside the browser."""
    expect.set_options(timeout=SLOW_MS)
    yield
    expect.set_options(timeout=5_000)  # Playwright's default


def _next_reception_day(today: date) -> date:
    if today.day <= RECEPTION_DAY:
        return today.replace(day=RECEPTION_DAY)
    return date(today.year + (today.month == 12), today.month % 12 + 1, RECEPTION_DAY)


@pytest.fixture
def reception_today(admin: httpx.Client, platform: Platform) -> Iterator[Callable[[str], date]]:
    """Makes today a reception day at a station (a schedule for today's day of the month, the deputies of its
    15th), and removes what it added when the test ends."""
    added: list[str] = []

    def make(station: str) -> date:
        today = platform_today(admin)
        if today.day == RECEPTION_DAY:
            return today
        fifteenth = admin.get(f"/api/v1/registry/receptions/R-{station}")
        assert fifteenth.status_code == 200, fifteenth.text
        code = f"R-TEST-{station}"
        body = {
            "station_code": station,
            "deputy_codes": fifteenth.json()["deputy_codes"],
            "days_of_month": [today.day],
            "note": "测试：今天也接访",
        }
        put = admin.put(f"/api/v1/registry/receptions/{code}", json=body)
        assert put.status_code == 200, put.text
        added.append(code)
        return today

    yield make
    for code in added:
        assert admin.delete(f"/api/v1/registry/receptions/{code}").status_code == 200


def _station(page: Page, platform: Platform) -> str:
    """The town's central station: the town staff's unit has one, under the same code."""
    me = page.context.request.get(f"{platform.gateway_url}/api/v1/auth/me")
    assert me.status == 200, me.text()
    return str(me.json()["unit_code"])


def _on_duty(admin: httpx.Client, station: str, day: date) -> list[dict]:
    answer = admin.get(f"/api/v1/registry/lookups/on-duty/{station}", params={"date": day.isoformat()})
    assert answer.status_code == 200, answer.text
    return list(answer.json())


def _open_desk(page: Page) -> Page:
    page.goto("/ui/reception.html")
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    expect(page.get_by_test_id("station-name")).to_contain_text("中心联络站")
    return page


def _record(page: Page, deputy: str, text: str, *, kind: str = "problem", name: str = "", phone: str = "") -> None:
    page.get_by_test_id("deputy").select_option(deputy)
    page.locator("label.chip", has=page.get_by_test_id(f"kind-{kind}")).click()
    page.get_by_test_id("text").fill(text)
    page.get_by_test_id("voter-name").fill(name)
    page.get_by_test_id("voter-phone").fill(phone)
    page.get_by_test_id("submit").click()


def _row(page: Page, text: str) -> Locator:
    return page.get_by_test_id("today-item").filter(has_text=text)


def _duty(page: Page, deputy: str) -> Locator:
    return page.locator(f'[data-testid=duty-item][data-deputy="{deputy}"]')


def _contacts(admin: httpx.Client, month: str) -> dict[str, dict]:
    answer = admin.get("/api/v1/oversight/records/contacts", params={"by": "deputy", "period": month})
    assert answer.status_code == 200, answer.text
    return {row["key"]: row for row in answer.json()}


def test_town_staff_receive_voters_on_the_reception_day_and_log_each_deputys_reception(
    page_for: PageFor, platform: Platform, admin: httpx.Client, shot: Shot, reception_today: Callable[[str], date]
) -> None:
    page = page_for("town", "desk")
    page.goto("/ui/")
    expect(page.get_by_test_id("page-reception")).to_have_text("公开接访日")  # among the town staff's pages
    page.get_by_test_id("page-reception").click()
    page.wait_for_url(lambda url: urlsplit(url).path == "/ui/reception.html")
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    station = _station(page, platform)

    today = platform_today(admin)
    if today.day != RECEPTION_DAY:  # an ordinary day: the page says so, and when the next one is
        expect(page.get_by_test_id("day-state")).to_have_attribute("data-state", "not-reception-day")
        expect(page.get_by_test_id("day-state")).to_have_text("今天不是公开接访日")
        expect(page.get_by_test_id("next-day")).to_have_attribute("data-day", _next_reception_day(today).isoformat())
        expect(page.get_by_test_id("next-day")).to_contain_text("15日")
        shot(page, "ordinary-day")

    day = reception_today(station)
    _open_desk(page)
    expect(page.get_by_test_id("day-state")).to_have_attribute("data-state", "reception-day")
    expect(page.get_by_test_id("day-state")).to_have_text("今天是公开接访日")
    expect(page.get_by_test_id("today")).to_contain_text(f"{day.month}月{day.day}日")
    expect(page.get_by_test_id("next-day")).to_be_hidden()
    on_duty = _on_duty(admin, station, day)
    assert len(on_duty) >= 2, f"the demo schedules too few deputies at {station}: {on_duty}"
    expect(page.get_by_test_id("duty-item")).to_have_count(len(on_duty))
    for deputy in on_duty:
        expect(_duty(page, deputy["code"]).get_by_test_id("duty-name")).to_have_text(deputy["name"])
        expect(_duty(page, deputy["code"]).get_by_test_id("duty-count")).to_have_text("接待选民 0 人")
    on_duty_group = page.get_by_test_id("deputy").locator("optgroup").first
    expect(on_duty_group).to_have_attribute("label", "今日接访代表")  # the deputies on duty come first
    expect(on_duty_group.locator("option")).to_have_count(len(on_duty))
    shot(page, "reception-day")

    first, second = on_duty[0], on_duty[1]
    tag = uuid.uuid4().hex[:8]
    road = f"镇上到村里的公交班次太少，群众出行不便（{tag}）"
    school = f"建议在中心小学门口设置减速带（{tag}）"
    _record(page, first["code"], road, name="张秀英", phone="139 1234 5678")
    expect(page.get_by_test_id("text")).to_have_value("")  # ready for the next voter
    expect(page.get_by_test_id("voter-phone")).to_have_value("")
    expect(page.get_by_test_id("deputy")).to_have_value("")
    expect(page.get_by_test_id("kind-problem")).to_be_checked()
    expect(page.get_by_test_id("tracking-code")).not_to_be_empty()
    _record(page, second["code"], school, kind="suggestion")

    numbers = {}
    for text, deputy in ((road, first), (school, second)):
        row = _row(page, text)
        expect(row).to_have_attribute("data-number", ISSUE_NUMBER, timeout=NUMBERED_WITHIN_MS)
        expect(row.get_by_test_id("today-number")).to_have_text(ISSUE_NUMBER, timeout=NUMBERED_WITHIN_MS)
        expect(row).to_have_attribute("data-deputy", deputy["code"])
        expect(row.get_by_test_id("today-deputy")).to_have_text(deputy["name"])
        expect(_duty(page, deputy["code"]).get_by_test_id("duty-count")).to_have_text("接待选民 1 人")
        numbers[text] = row.get_attribute("data-number")
    rows = page.get_by_test_id("today-item")
    expect(rows.first).to_contain_text(school)  # newest first
    expect(rows.nth(1)).to_contain_text(road)
    shot(page, "two-voters")

    for text, deputy in ((road, first), (school, second)):
        issue = issue_of(admin, numbers[text])
        assert (issue["channel"], issue["deputy_code"], issue["station_code"]) == ("reception", deputy["code"], station)
        assert issue["text"] == text
    assert issue_of(admin, numbers[school])["kind"] == "suggestion"

    # the end of the day: those who received voters are ticked, the others not; one record each
    expect(_duty(page, first["code"]).get_by_test_id("duty-present")).to_be_checked()
    expect(_duty(page, second["code"]).get_by_test_id("duty-present")).to_be_checked()
    for idle in on_duty[2:]:
        expect(_duty(page, idle["code"]).get_by_test_id("duty-present")).not_to_be_checked()
    page.get_by_test_id("record-receptions").click()
    for deputy in (first, second):
        expect(_duty(page, deputy["code"]).get_by_test_id("duty-recorded")).to_have_text("已记录接访，接待选民 1 人")
    shot(page, "receptions-logged")

    month = f"{day:%Y-%m}"
    deadline = time.monotonic() + SETTLES_S
    rows_by_deputy = _contacts(admin, month)
    while not {first["code"], second["code"]} <= rows_by_deputy.keys() and time.monotonic() < deadline:
        time.sleep(0.3)
        rows_by_deputy = _contacts(admin, month)
    for deputy in (first, second):
        row = rows_by_deputy.get(deputy["code"])
        assert row and (row["receptions"], row["voters_met"]) == (1, 1), rows_by_deputy
    assert not {d["code"] for d in on_duty[2:]} & rows_by_deputy.keys(), "deputies not ticked were logged"

    # the same desk later (or another one): logged deputies stay logged, nothing is logged twice
    _open_desk(page)
    expect(_duty(page, first["code"]).get_by_test_id("duty-recorded")).to_be_visible()
    expect(_duty(page, first["code"]).get_by_test_id("duty-count")).to_have_text("接待选民 1 人")
    page.get_by_test_id("record-receptions").click()
    expect(page.get_by_test_id("close-error")).to_have_text("请先勾选到站接访的代表")
    page.wait_for_timeout(1500)
    again = _contacts(admin, month)
    assert (again[first["code"]]["receptions"], again[second["code"]]["receptions"]) == (1, 1)


def test_a_bad_field_is_shown_at_the_field_by_the_page_and_when_the_platform_refuses_it(
    page_for: PageFor, platform: Platform, admin: httpx.Client, shot: Shot, reception_today: Callable[[str], date]
) -> None:
    page = page_for("town", "desk")
    page.goto("/ui/")
    station = _station(page, platform)
    day = reception_today(station)
    _open_desk(page)
    deputy = _on_duty(admin, station, day)[-1]
    text = f"农村低保评定不公开，群众有意见（{uuid.uuid4().hex[:8]}）"

    page.get_by_test_id("text").fill(text)
    page.get_by_test_id("submit").click()  # no deputy chosen
    expect(page.get_by_test_id("error-deputy")).to_have_text("请选择接访代表")
    expect(page.get_by_test_id("deputy")).to_have_attribute("aria-invalid", "true")
    assert page.evaluate("() => document.activeElement?.dataset.testid") == "deputy"  # the cursor is there

    sent: list[dict] = []

    def spoil_the_phone_once(route: Route) -> None:
        body = json.loads(route.request.post_data or "{}")
        sent.append({"key": route.request.headers.get("idempotency-key"), "body": body})
        if len(sent) > 1:
            return route.continue_()
        body["voter"]["phone"] = "12"  # as an older page might send it: the platform's own check refuses it
        return route.continue_(post_data=json.dumps(body))

    page.route("**/api/v1/intakes", spoil_the_phone_once)
    _record(page, deputy["code"], text, phone="13800138000")
    expect(page.get_by_test_id("error-voter-phone")).to_contain_text("电话号码格式不对")
    expect(page.get_by_test_id("voter-phone")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_test_id("text")).to_have_value(text)  # nothing typed is lost
    expect(_row(page, text)).to_have_count(0)
    shot(page, "refused-phone")

    page.get_by_test_id("voter-phone").fill("13800138001")
    page.get_by_test_id("submit").click()
    expect(page.get_by_test_id("text")).to_have_value("")
    expect(_row(page, text)).to_have_attribute("data-number", ISSUE_NUMBER, timeout=NUMBERED_WITHIN_MS)
    assert len(sent) == 2 and sent[0]["key"] != sent[1]["key"], "a changed intake is a new one, with a new key"
    assert issue_of(admin, str(_row(page, text).get_attribute("data-number")))["deputy_code"] == deputy["code"]

    page.set_viewport_size({"width": 800, "height": 1180})  # a tablet, upright: one column, nothing off the side
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"the page is wider than the tablet: {widths}"
    shot(page, "tablet")


def test_english_is_one_button_away(
    page_for: PageFor, platform: Platform, shot: Shot, reception_today: Callable[[str], date]
) -> None:
    page = page_for("town", "desk")
    page.goto("/ui/")
    reception_today(_station(page, platform))
    _open_desk(page)
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    expect(page.locator("header.top h1")).to_have_text("Reception day")
    expect(page.get_by_test_id("day-state")).to_have_text("Today is a public reception day")
    expect(page.locator("#duty-title")).to_have_text("Deputies on duty today")
    expect(page.get_by_test_id("record")).to_contain_text("Receiving deputy")
    expect(page.get_by_test_id("submit")).to_have_text("Record")
    expect(page.get_by_test_id("record-receptions")).to_have_text("Log today's receptions")
    expect(page.get_by_test_id("kinds")).to_contain_text("Suggestion")
    shot(page, "english")
