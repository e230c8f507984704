"""What several browser tests share: an issue's state read through the API (for assertions, never to drive
a page), a handler's login made as an administrator would, the platform's today, and finding a card in a
paged list."""

from __future__ import annotations

import time
import uuid
from datetime import date, datetime
from zoneinfo import ZoneInfo

import httpx
from playwright.sync_api import Locator, Page, expect

CHINA = ZoneInfo("Asia/Shanghai")

SETTLES_S = 60.0  # intake → triage → read model, or reply → referral → feedback, on a busy two-core machine


def issue_of(admin: httpx.Client, number: str) -> dict:
    response = admin.get(f"/api/v1/issues/{number}")
    assert response.status_code == 200, response.text
    return response.json()


def until_state(
    admin: httpx.Client, number: str, states: str | set[str], timeout_s: float = SETTLES_S, **fields: object
) -> dict:
    """The issue once it is in one of `states` with the given field values; fails after `timeout_s`."""
    wanted = {states} if isinstance(states, str) else states
    deadline = time.monotonic() + timeout_s
    found: dict = {}
    while time.monotonic() < deadline:
        found = issue_of(admin, number)
        if found.get("state") in wanted and all(found.get(k) == v for k, v in fields.items()):
            return found
        time.sleep(0.2)
    raise AssertionError(f"{number} never reached {wanted} {fields}: {found}")


def platform_today(admin: httpx.Client) -> date:
    """Today by the platform's clock, in China time."""
    return datetime.fromisoformat(admin.get("/api/v1/clock/").json()["now"]).astimezone(CHINA).date()


def handler_login(admin: httpx.Client, handler_code: str) -> tuple[str, str]:
    """A login for a handler (the demo has one only for d-transport), made through the registry and the
    password API as an administrator would."""
    login = f"h-{uuid.uuid4().hex[:8]}"
    put = admin.put(
        f"/api/v1/registry/users/{login}", json={"name": "经办人", "role": "handler", "handler_code": handler_code}
    )
    assert put.status_code in (200, 202), put.text
    password = f"pw-{uuid.uuid4().hex}"
    deadline = time.monotonic() + SETTLES_S
    while (answer := admin.put(f"/api/v1/auth/passwords/{login}", json={"password": password})).status_code == 404:
        assert time.monotonic() < deadline, f"the registry never made {login}"
        time.sleep(0.2)
    assert answer.status_code == 204, answer.text
    return login, password


def find_card(page: Page, testid: str, pager: str, loaded: Locator, loads_ms: int = 30_000) -> Locator:
    """The card, paging forward through a list (once `loaded` shows) until it shows."""
    expect(loaded).to_be_visible(timeout=loads_ms)
    card = page.get_by_test_id(testid)
    for _ in range(50):
        if card.count():
            return card
        following = page.get_by_test_id(f"{pager}-next")
        if not following.count() or following.is_disabled():
            break
        following.click()
        page.wait_for_timeout(300)
    expect(card).to_be_visible()
    return card
