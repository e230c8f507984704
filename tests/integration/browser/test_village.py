"""The village station desk on a phone, against the real platform: an intake recorded and numbered, one
recorded with no signal queued on the phone and sent once when the signal returns (with a photo), an answer
lost on the way retried with the same key and stored once, and bad input shown at its field (by the page,
and when the platform refuses it)."""

from __future__ import annotations

import io
import json
import os
import re
import struct
import time
import uuid
import zlib
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from PIL import Image
from playwright.sync_api import Locator, Page, Route, expect

from infra.runtime.platform import Platform
from tests.integration.browser.conftest import PageFor, Shot

ISSUE_NUMBER = re.compile(r"^[A-Z]+-\d{6}-\d+$")
NUMBERED_WITHIN_MS = 60_000  # intake → triage → read model, on a platform that may still be warming up
SLOW_MS = 20_000  # a page step on a busy test machine


@pytest.fixture(autouse=True)
def _patient_expectations() -> Iterator[None]:
    """A page step can take seconds when the test machine runs several platforms at once."""
    expect.set_options(timeout=SLOW_MS)
    yield
    expect.set_options(timeout=5_000)  # Playwright's default


def _unit(page: Page, platform: Platform) -> str:
    me = page.context.request.get(f"{platform.gateway_url}/api/v1/auth/me")
    assert me.status == 200, me.text()
    return str(me.json()["unit_code"])


def _received(page: Page, platform: Platform, unit: str) -> dict:
    """The station's received work list, as the signed-in user sees it through the API."""
    answer = page.context.request.get(
        f"{platform.gateway_url}/api/v1/issues/", params={"unit": unit, "scope": "received", "limit": 2000}
    )
    assert answer.status == 200, answer.text()
    return answer.json()


def _holds_exactly_one_more(page: Page, platform: Platform, unit: str, before: int, text: str) -> None:
    """The work list went up by exactly one, and exactly one issue there has this text: nothing lost, nothing
    doubled (a double would show up within the wait, since the first one already did)."""
    deadline = time.monotonic() + 20
    found = _received(page, platform, unit)
    while found["total"] < before + 1 and time.monotonic() < deadline:
        page.wait_for_timeout(300)
        found = _received(page, platform, unit)
    page.wait_for_timeout(1500)
    found = _received(page, platform, unit)
    assert found["total"] == before + 1, f"the station's work list went from {before} to {found['total']}"
    assert [i["text"] for i in found["items"]].count(text) == 1


def _open_desk(page_for: PageFor) -> Page:
    page = page_for("liaison", "phone")
    assert urlsplit(page.url).path == "/ui/village.html"
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    expect(page.get_by_test_id("station-name")).not_to_be_empty()
    expect(page.get_by_test_id("net-state")).to_have_attribute("data-state", "online")
    return page


def _fill(page: Page, text: str, phone: str | None = None) -> None:
    page.get_by_test_id("text").fill(text)
    if phone is not None:
        page.get_by_test_id("voter-phone").fill(phone)


def _newest(page: Page) -> Locator:
    return page.get_by_test_id("outbox-item").first


def _top(page: Page) -> Page:
    """Scrolled to the top, so a full-page screenshot shows the sticky tabs where a phone shows them."""
    page.evaluate("() => window.scrollTo(0, 0)")
    return page


def _fits_the_phone(page: Page) -> None:
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"the page is wider than the phone: {widths}"


def test_liaison_records_an_intake_and_sees_it_numbered_in_the_list(
    page_for: PageFor, platform: Platform, shot: Shot
) -> None:
    page = _open_desk(page_for)
    unit = _unit(page, platform)
    before = _received(page, platform, unit)["total"]
    text = f"村口道路塌方，车辆无法通行（{uuid.uuid4().hex[:8]}）"

    expect(page.get_by_test_id("channel-reception")).to_be_checked()  # the village's usual channels come first
    page.locator("label.chip", has=page.get_by_test_id("channel-visit")).click()
    _fill(page, text, phone="138 0000 1234")
    page.get_by_test_id("voter-name").fill("王大妈")
    deputies = page.get_by_test_id("deputy").locator("option")
    if deputies.count() > 1:
        page.get_by_test_id("deputy").select_option(index=1)
    shot(_top(page), "filled")
    page.get_by_test_id("submit").click()

    expect(page.get_by_test_id("text")).to_have_value("")  # ready for the next voter
    number = _newest(page).get_by_test_id("outbox-number")
    expect(number).to_have_text(ISSUE_NUMBER, timeout=NUMBERED_WITHIN_MS)
    issue_number = number.inner_text()
    expect(_newest(page).get_by_test_id("outbox-state")).to_have_text("已受理")
    shot(_top(page), "numbered")

    page.get_by_test_id("tab-issues").click()
    card = page.get_by_test_id("issues-list").locator(f'[data-number="{issue_number}"]')
    expect(card).to_be_visible()
    expect(card).to_contain_text(text)
    card.get_by_test_id("issue-open").click()
    expect(card.get_by_test_id("history-entry").first).to_contain_text("受理")
    _fits_the_phone(page)
    shot(_top(page), "history")

    _holds_exactly_one_more(page, platform, unit, before, text)
    assert _received(page, platform, unit)["items"][-1]["number"] == issue_number


def test_intake_recorded_offline_waits_on_the_phone_and_is_sent_once(
    page_for: PageFor, platform: Platform, shot: Shot
) -> None:
    page = _open_desk(page_for)
    unit = _unit(page, platform)
    before = _received(page, platform, unit)["total"]
    kept = page.evaluate(
        """async () => {
            await navigator.serviceWorker.ready;
            const found = [];
            for (const name of await caches.keys())
                for (const request of await (await caches.open(name)).keys()) found.push(new URL(request.url).pathname);
            return found;
        }"""
    )
    assert "/ui/village.html" in kept and "/ui/assets/outbox.js" in kept, f"the app shell is not on the phone: {kept}"
    assert not [path for path in kept if not path.startswith("/ui/")], f"only the app shell may be kept: {kept}"
    text = f"三组饮水管道冻裂，需要维修（{uuid.uuid4().hex[:8]}）"

    page.context.set_offline(True)
    expect(page.get_by_test_id("net-state")).to_have_attribute("data-state", "offline")
    _fill(page, text)
    page.get_by_test_id("submit").click()

    expect(page.get_by_test_id("queue-count")).to_have_text("待发送 1 条")
    expect(_newest(page)).to_have_attribute("data-state", "queued")
    expect(_newest(page)).to_contain_text(text)
    shot(_top(page), "queued")

    page.reload()  # with no signal the page opens from the phone, the queue still there
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    expect(page.get_by_test_id("station-name")).not_to_be_empty()
    expect(page.get_by_test_id("queue-count")).to_have_text("待发送 1 条")
    expect(page.get_by_test_id("net-state")).to_have_attribute("data-state", "offline")
    assert _received(page, platform, unit)["total"] == before  # (the test's own request is not cut off)

    page.context.set_offline(False)
    expect(_newest(page).get_by_test_id("outbox-number")).to_be_visible(timeout=NUMBERED_WITHIN_MS)
    expect(page.get_by_test_id("queue-count")).to_be_hidden()
    expect(page.get_by_test_id("net-state")).to_have_attribute("data-state", "online")
    shot(_top(page), "sent")

    _holds_exactly_one_more(page, platform, unit, before, text)


def test_an_answer_lost_on_the_way_is_retried_with_the_same_key_and_stored_once(
    page_for: PageFor, platform: Platform
) -> None:
    page = _open_desk(page_for)
    unit = _unit(page, platform)
    before = _received(page, platform, unit)["total"]
    text = f"希望村里增设路灯（{uuid.uuid4().hex[:8]}）"
    keys: list[str] = []

    def lose_the_first_answer(route: Route) -> None:
        keys.append(route.request.headers.get("idempotency-key", ""))
        if len(keys) == 1:
            route.fetch()  # the platform takes it in ...
            route.abort("connectionreset")  # ... and the phone never hears the 202
        else:
            route.continue_()

    page.route("**/api/v1/intakes", lose_the_first_answer)
    page.locator("label.chip", has=page.get_by_test_id("kind-suggestion")).click()
    _fill(page, text)
    page.get_by_test_id("submit").click()

    expect(_newest(page).get_by_test_id("outbox-number")).to_be_visible(timeout=NUMBERED_WITHIN_MS)
    assert len(keys) >= 2 and len(set(keys)) == 1 and keys[0], f"every try must carry the one key: {keys}"
    _holds_exactly_one_more(page, platform, unit, before, text)


def test_bad_phone_number_is_shown_at_the_phone_field(page_for: PageFor, shot: Shot) -> None:
    page = _open_desk(page_for)
    items_before = page.get_by_test_id("outbox-item").count()

    _fill(page, "邻里纠纷需要调解", phone="call me")
    page.get_by_test_id("submit").click()

    error = page.get_by_test_id("error-voter-phone")
    expect(error).to_be_visible()
    expect(error).to_contain_text("电话号码格式不对")
    expect(page.get_by_test_id("voter-phone")).to_have_attribute("aria-invalid", "true")
    assert page.evaluate("() => document.activeElement?.dataset.testid") == "voter-phone"  # the cursor is there
    expect(page.get_by_test_id("error-text")).to_be_hidden()
    assert page.get_by_test_id("outbox-item").count() == items_before  # nothing queued
    shot(_top(page), "bad-phone")


def test_a_refusal_by_the_platform_is_kept_with_its_reason_and_can_be_fixed(
    page_for: PageFor, platform: Platform
) -> None:
    """The platform's own check refuses a phone number the page let through (here the request is altered on
    the way, as an older page might send it): the intake stays on the phone, refused, with the reason at the
    phone field, and goes through once fixed."""
    page = _open_desk(page_for)
    unit = _unit(page, platform)
    before = _received(page, platform, unit)["total"]
    text = f"低保申请进度咨询（{uuid.uuid4().hex[:8]}）"
    altered: list[int] = []

    def spoil_the_phone_once(route: Route) -> None:
        if altered:
            return route.continue_()
        body = json.loads(route.request.post_data or "{}")
        body["voter"]["phone"] = "12"
        altered.append(1)
        return route.continue_(post_data=json.dumps(body))

    page.route("**/api/v1/intakes", spoil_the_phone_once)
    _fill(page, text, phone="13912345678")
    page.get_by_test_id("submit").click()

    refused = _newest(page)
    expect(refused).to_have_attribute("data-state", "refused")
    expect(refused.get_by_test_id("outbox-reason")).to_contain_text("电话号码格式不对")
    expect(page.get_by_test_id("queue-count")).to_have_text("被退回 1 条")
    assert _received(page, platform, unit)["total"] == before

    refused.get_by_test_id("outbox-fix").click()
    expect(page.get_by_test_id("error-voter-phone")).to_be_visible()
    expect(page.get_by_test_id("text")).to_have_value(text)
    page.get_by_test_id("voter-phone").fill("13912345678")
    page.get_by_test_id("submit").click()

    expect(_newest(page).get_by_test_id("outbox-number")).to_be_visible(timeout=NUMBERED_WITHIN_MS)
    assert page.get_by_test_id("outbox-item").filter(has_text=text).count() == 1  # fixed in place, not copied
    _holds_exactly_one_more(page, platform, unit, before, text)


def _pixels(content: bytes) -> tuple[tuple[int, int], list[object]]:
    with Image.open(io.BytesIO(content)) as image:
        return image.size, list(image.convert("RGB").get_flattened_data())


def _png(side: int = 48) -> bytes:
    """A small PNG of random pixels: small enough that the page sends it as it is."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    rows = b"".join(b"\0" + os.urandom(side * 3) for _ in range(side))
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def test_a_photo_attached_with_no_signal_is_sent_after_its_intake_once_the_signal_returns(
    page_for: PageFor, platform: Platform, shot: Shot
) -> None:
    page = _open_desk(page_for)
    text = f"村小学围墙倒塌，学生上学不安全（{uuid.uuid4().hex[:8]}）"
    image = _png()

    page.context.set_offline(True)
    expect(page.get_by_test_id("net-state")).to_have_attribute("data-state", "offline")
    _fill(page, text)
    page.get_by_test_id("photo-input").set_input_files(
        files=[{"name": "wall.png", "mimeType": "image/png", "buffer": image}]
    )
    expect(page.get_by_test_id("photo-thumb")).to_have_count(1)
    expect(page.get_by_test_id("photo-count")).to_have_text("已选 1 / 5 张")
    shot(_top(page), "photo-chosen")
    page.get_by_test_id("submit").click()

    expect(page.get_by_test_id("photo-thumb")).to_have_count(0)  # the form is ready for the next voter
    expect(_newest(page)).to_have_attribute("data-state", "queued")
    expect(_newest(page).get_by_test_id("outbox-photos")).to_have_text("照片：已发送 0 / 1 张")
    expect(page.get_by_test_id("queue-count")).to_have_text("待发送 1 条 · 照片待发送 1 张")

    page.context.set_offline(False)
    number = _newest(page).get_by_test_id("outbox-number")
    expect(number).to_have_text(ISSUE_NUMBER, timeout=NUMBERED_WITHIN_MS)
    expect(_newest(page).get_by_test_id("outbox-photos")).to_have_text("照片：已发送 1 / 1 张")
    expect(page.get_by_test_id("queue-count")).to_be_hidden()
    shot(_top(page), "photo-sent")

    url = f"{platform.gateway_url}/api/v1/issues/{number.inner_text()}/photos"
    listed = page.context.request.get(url)
    assert listed.status == 200, listed.text()
    fetched = page.context.request.get(f"{platform.gateway_url}{listed.json()[0]['url']}")
    assert [(p["content_type"], p["size"]) for p in listed.json()] == [("image/png", len(fetched.body()))]
    assert fetched.status == 200 and _pixels(fetched.body()) == _pixels(image)  # sent as taken; kept without metadata
