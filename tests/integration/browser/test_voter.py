"""The voters' page on a phone, without an account: a voter picks a station, raises a problem, keeps the
tracking code, follows the issue with it (triaged within seconds), and rates the result once it is fed back;
a wrong code and a missing phone number are told plainly, at the place they are about."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import httpx
from playwright.sync_api import Page, expect

from tests.integration.browser.conftest import PageFor, Shot
from tests.integration.browser.steps import until_state

VILLAGE_STATION = "610902001001"  # a village station of the demo district's first town
TRACKING_CODE = re.compile(r"^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$")
TRIAGE_S = 30  # the platform triages within a second or two; generous for a loaded test machine


def _open(page: Page) -> None:
    page.goto("/ui/voter.html", wait_until="domcontentloaded")
    expect(page.get_by_test_id("town").locator("option")).not_to_have_count(1)  # the stations have loaded


def _pick_station(page: Page, code: str) -> str:
    """Find the station by searching for its name, as a voter would; returns the name."""
    name = page.evaluate(
        "async (code) => (await (await fetch('/api/v1/public/stations')).json()).find((s) => s.code === code).name",
        code,
    )
    page.get_by_test_id("station-search").fill(name[:4])
    page.locator(f"[data-testid=station-result][data-code='{code}']").click()
    expect(page.get_by_test_id("station")).to_have_value(code)
    expect(page.get_by_test_id("station-results")).to_be_hidden()
    return name


def _raise_problem(page: Page, text: str, phone: str) -> str:
    """Fill the form (the station already picked), submit, and return the tracking code shown."""
    page.get_by_test_id("kind-problem").check()
    page.get_by_test_id("text").fill(text)
    page.get_by_test_id("phone").fill(phone)
    page.get_by_test_id("name").fill("张三")
    page.get_by_test_id("submit").click()
    code = page.get_by_test_id("tracking-code")
    expect(code).to_have_text(TRACKING_CODE, timeout=15_000)
    return code.inner_text()


def _tracked(page: Page, step: str) -> None:
    expect(page.locator(f"[data-testid=step][data-step={step}]")).to_be_visible(timeout=TRIAGE_S * 1000)


def test_a_voter_raises_a_problem_on_a_phone_and_follows_it_by_code(page_for: PageFor, shot: Shot) -> None:
    page = page_for(None, "phone")
    _open(page)
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.get_by_test_id("tab-submit")).to_have_text("我要反映")
    expect(page.get_by_test_id("staff-sign-in")).to_have_attribute("href", "/ui/")
    expect(page.get_by_test_id("privacy-note")).to_contain_text("只有办理此事的工作人员能看到")
    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"the voter page is wider than the phone: {width}"

    _pick_station(page, VILLAGE_STATION)
    page.get_by_test_id("kind-problem").check()
    page.get_by_test_id("text").fill("村口路灯坏了一个多月，晚上出行不安全")
    page.get_by_test_id("phone").fill("13800138000")
    shot(page, "form")
    page.get_by_test_id("submit").click()

    code_node = page.get_by_test_id("tracking-code")
    expect(code_node).to_have_text(TRACKING_CODE, timeout=15_000)
    code = code_node.inner_text()
    expect(page.get_by_test_id("done")).to_contain_text("请记下或截图保存")
    expect(page.get_by_test_id("copy-code")).to_be_visible()
    shot(page, "tracking-code")

    page.get_by_test_id("go-track").click()
    assert urlsplit(page.url).fragment == code
    _tracked(page, "received")
    _tracked(page, "triaged")
    expect(page.locator("[data-testid=step][data-step=received] [data-testid=step-name]")).to_have_text("已受理")
    expect(page.locator("[data-testid=step][data-step=triaged] [data-testid=step-name]")).to_have_text("已分类")
    expect(page.get_by_test_id("track-number")).to_have_text(re.compile(r"\S+"))
    expect(page.get_by_test_id("track-text")).to_have_text("村口路灯坏了一个多月，晚上出行不安全")
    # not fed back yet: no rating offered, only a word on when it will be
    expect(page.get_by_test_id("rating-form")).to_be_hidden()
    expect(page.get_by_test_id("rating-note")).to_have_text("办理结果反馈给您之后，可以在这里评价。")
    assert "13800138000" not in page.locator("main").inner_text(), "the tracking page shows nobody's phone"
    shot(page, "tracking")

    # the code alone, in a fresh page (another phone), opens straight on the issue
    other = page_for(None, "phone")
    other.goto(f"/ui/voter.html#{code.lower()}", wait_until="domcontentloaded")
    _tracked(other, "triaged")
    expect(other.get_by_test_id("track-code-input")).to_have_value(code)


def test_a_wrong_code_says_no_issue_has_it(page_for: PageFor) -> None:
    page = page_for(None, "phone")
    page.goto("/ui/voter.html#ZZZZ-ZZZZ-ZZZZ", wait_until="domcontentloaded")
    message = page.get_by_test_id("track-message")
    expect(message).to_have_text("没有找到这个查询码对应的事项，请核对后再试。")
    expect(page.get_by_test_id("track-result")).to_be_hidden()

    page.get_by_test_id("track-code-input").fill("not a code")
    page.get_by_test_id("track-submit").click()
    expect(message).to_have_text("没有找到这个查询码对应的事项，请核对后再试。")


def test_a_missing_phone_is_shown_at_the_phone_field(page_for: PageFor) -> None:
    page = page_for(None, "phone")
    _open(page)
    sent: list[str] = []
    page.on("request", lambda request: request.method == "POST" and sent.append(request.url))
    _pick_station(page, VILLAGE_STATION)
    page.get_by_test_id("text").fill("垃圾没人清运")
    page.get_by_test_id("submit").click()

    error = page.get_by_test_id("error-phone")
    expect(error).to_be_visible()
    expect(error).to_contain_text("请填写电话号码")
    expect(page.get_by_test_id("phone")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_test_id("phone")).to_be_focused()
    expect(page.get_by_test_id("done")).to_be_hidden()
    assert sent == [], "nothing is sent without a phone number"

    page.get_by_test_id("phone").fill("0915-3421076")
    expect(error).to_be_hidden()


def test_the_voter_rates_the_result_once_it_is_fed_back(page_for: PageFor, shot: Shot, admin: httpx.Client) -> None:
    page = page_for(None, "phone")
    _open(page)
    _pick_station(page, VILLAGE_STATION)
    _raise_problem(page, "二组自来水管破裂，停水两天", "13900139000")
    page.get_by_test_id("go-track").click()
    _tracked(page, "triaged")
    number = page.get_by_test_id("track-number").inner_text()

    # the village review resolves it; feedback follows a resolution at once
    month = admin.get("/api/v1/clock/").json()["month"]
    review = {
        "tier": "village",
        "unit": VILLAGE_STATION,
        "month": month,
        "held_on": f"{month}-25",
        "participants": ["站长", "联络员"],
        "decisions": [{"issue_id": number, "decision": "resolve", "note": "村两委会安排维修，已恢复供水"}],
    }
    answer = admin.post("/api/v1/reviews", json=review)
    assert answer.status_code == 202, answer.text
    until_state(admin, number, "fed_back")

    page.get_by_test_id("track-refresh").click()
    expect(page.get_by_test_id("rating-form")).to_be_visible(timeout=10_000)
    _tracked(page, "fed_back")
    expect(page.locator("[data-testid=step][data-step=resolved] [data-testid=step-text]")).to_have_text(
        "村两委会安排维修，已恢复供水"
    )
    page.get_by_test_id("satisfaction-satisfied").check()
    page.get_by_test_id("rating-comment").fill("修得很快")
    shot(page, "rating")
    page.get_by_test_id("rating-submit").click()

    expect(page.get_by_test_id("track-satisfaction")).to_have_text("满意", timeout=20_000)
    expect(page.get_by_test_id("rating-form")).to_be_hidden()
    closed = until_state(admin, number, "closed")
    assert closed["satisfaction"] == "satisfied"
    _tracked(page, "rated")
    shot(page, "rated")
