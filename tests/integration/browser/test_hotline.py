"""The deputies' hotline at a desk, as the district's operator: a call is recorded and numbered; the next
call from the same number shows the earlier issue (the voter masked) so the operator tells the caller where
it stands instead of recording it twice; a fed-back issue's rating is recorded on the caller's behalf."""

from __future__ import annotations

import re
import secrets

import httpx
from playwright.sync_api import Page, expect

from tests.integration.browser.conftest import PageFor, Shot
from tests.integration.browser.steps import until_state as _until

DISTRICT = "610902"  # the district, and the code of its deputies' home
NUMBERED_S = 30


def _fresh_phone() -> str:
    return "139" + "".join(secrets.choice("0123456789") for _ in range(8))


def _open_hotline(page: Page) -> None:
    page.goto("/ui/hotline.html", wait_until="domcontentloaded")
    expect(page.get_by_test_id("station")).to_have_value(DISTRICT)  # the deputies' home, by default


def _record_call(page: Page, phone: str, text: str, name: str) -> str:
    """Take a call and record it; returns the issue number the page shows once the platform has numbered it."""
    page.get_by_test_id("caller-phone").fill(phone)
    page.get_by_test_id("kind-problem").check()
    page.get_by_test_id("text").fill(text)
    page.get_by_test_id("voter-name").fill(name)
    before = page.get_by_test_id("recorded-number").count()
    page.get_by_test_id("record-submit").click()
    numbers = page.locator("[data-testid=recorded-item][data-state=numbered] [data-testid=recorded-number]")
    expect(numbers).to_have_count(before + 1, timeout=NUMBERED_S * 1000)
    return numbers.first.inner_text()


def test_a_second_call_from_the_same_number_sees_the_earlier_issue(page_for: PageFor, shot: Shot) -> None:
    page = page_for("district", "desk")
    _open_hotline(page)
    phone = _fresh_phone()

    number = _record_call(page, phone, "热线来电：小区二次供水水压不足，高层住户用不上水", "王五")
    expect(page.get_by_test_id("caller-phone")).to_have_value("")  # ready for the next call
    assert page.get_by_test_id("text").input_value() == ""

    # the next call, from the same number: the earlier issue is listed before anything is recorded
    page.get_by_test_id("next-call").click()
    page.get_by_test_id("caller-phone").fill(phone)
    page.get_by_test_id("caller-lookup").click()
    expect(page.get_by_test_id("caller")).not_to_have_attribute("data-state", "unavailable", timeout=10_000)
    earlier = page.locator(f"[data-testid=caller-issue][data-number='{number}']")
    expect(earlier).to_be_visible(timeout=15_000)
    masked = f"{phone[:3]}****{phone[-4:]}"
    expect(earlier.get_by_test_id("caller-voter")).to_have_text(re.compile(rf"^王\*\s*{re.escape(masked)}$"))
    assert phone not in page.get_by_test_id("caller").inner_text(), "the caller's number is shown masked"
    expect(page.get_by_test_id("caller-summary")).to_contain_text("不要重复登记")
    shot(page, "caller-issues")

    # the same matter: tell the caller where it stands, record nothing new
    earlier.get_by_test_id("caller-issue-open").click()
    expect(page.get_by_test_id("detail-number")).to_have_text(number)
    page.get_by_test_id("same-matter").click()
    expect(page.get_by_test_id("progress-script")).to_contain_text(number)
    expect(page.locator("[data-testid=recorded-item][data-state=told]")).to_have_count(1)
    expect(page.locator("[data-testid=recorded-item][data-state=numbered]")).to_have_count(1)
    shot(page, "told")


def test_the_operator_records_a_rating_on_the_callers_behalf(
    page_for: PageFor, shot: Shot, admin: httpx.Client
) -> None:
    page = page_for("district", "desk")
    _open_hotline(page)
    number = _record_call(page, _fresh_phone(), "热线来电：建议在汉江边增设健身器材", "赵六")

    # the district directors' meeting resolves it; feedback follows at once
    month = admin.get("/api/v1/clock/").json()["month"]
    review = {
        "tier": "district",
        "unit": DISTRICT,
        "month": month,
        "held_on": f"{month}-25",
        "decisions": [{"issue_id": number, "decision": "resolve", "note": "已纳入全民健身工程，年内安装"}],
    }
    answer = admin.post("/api/v1/reviews", json=review)
    assert answer.status_code == 202, answer.text
    _until(admin, number, "fed_back")

    page.get_by_test_id("open-number").fill(number)
    page.get_by_test_id("open-go").click()
    expect(page.get_by_test_id("detail-number")).to_have_text(number)
    expect(page.get_by_test_id("rate-form")).to_be_visible()
    page.get_by_test_id("satisfaction-basically_satisfied").check()
    page.get_by_test_id("rate-submit").click()

    expect(page.get_by_test_id("detail-satisfaction")).to_have_text("基本满意", timeout=20_000)
    expect(page.get_by_test_id("rate-form")).to_be_hidden()
    rated = admin.get(f"/api/v1/issues/{number}").json()
    assert rated["satisfaction"] == "basically_satisfied" and rated["state"] in ("rated", "closed")
    shot(page, "rated")


def test_the_hotline_is_for_the_district_operators(page_for: PageFor) -> None:
    page = page_for("liaison", "desk")
    page.goto("/ui/hotline.html", wait_until="domcontentloaded")
    expect(page.get_by_test_id("not-allowed")).to_be_visible()
    expect(page.get_by_test_id("record-submit")).to_be_hidden()
