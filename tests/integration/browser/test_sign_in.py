"""Signing in, in a real browser: the page in Chinese first and English on request, a wrong password refused
in place, every demo login taken to its first workspace, and signing out ending the session for good."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Page, expect

from gateway.web import WEB
from infra.runtime.platform import Platform
from tests.integration.browser.conftest import SIGN_IN_PATHS, PageFor, Shot

# login → (its role, the first page of that role in PAGES_BY_ROLE, gateway/web/assets/common.js)
FIRST_PAGES = {
    "admin": ("admin", "admin"),
    "oversight": ("oversight", "oversight"),
    "district": ("district_staff", "review"),
    "town": ("town_staff", "review"),
    "liaison": ("station_liaison", "village"),
    "head": ("station_head", "village"),
    "handler": ("handler", "department"),
    "deputy": ("deputy", "deputy"),
    "leader": ("leader", "leader"),
}


def _path(page: Page) -> str:
    return urlsplit(page.url).path


def _sign_in_form_shown(page: Page) -> None:
    expect(page.locator("section#sign-in-panel")).to_be_visible()
    expect(page.locator("#login")).to_be_editable()


def test_sign_in_page_is_in_chinese_and_switches_to_english(page_for: PageFor) -> None:
    page = page_for(None)
    page.goto("/ui/")
    _sign_in_form_shown(page)
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("section#sign-in-panel h2")).to_have_text("登录")
    expect(page.locator("section#sign-in-panel")).to_contain_text("账号")
    expect(page.locator("button#sign-in")).to_have_text("登录")

    page.locator("header.top").get_by_role("button", name="English").click()

    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("section#sign-in-panel h2")).to_have_text("Sign in")
    expect(page.locator("button#sign-in")).to_have_text("Sign in")
    expect(page.locator("header.top").get_by_role("button", name="中文")).to_be_visible()


def test_wrong_password_shows_the_error_and_stays(page_for: PageFor) -> None:
    page = page_for(None)
    page.goto("/ui/")
    _sign_in_form_shown(page)
    page.fill("#login", "town")
    page.fill("#password", "not-the-password-of-town")
    page.click("button#sign-in")

    expect(page.locator("#sign-in-error")).to_have_text("账号或密码错误")
    expect(page.locator("#sign-in-error")).to_have_attribute("role", "alert")
    expect(page.locator("button#sign-in")).to_be_enabled()  # ready for another try
    assert _path(page) in SIGN_IN_PATHS
    _sign_in_form_shown(page)


@pytest.mark.parametrize("login", list(FIRST_PAGES))
def test_each_demo_login_lands_on_its_first_workspace(page_for: PageFor, platform: Platform, login: str) -> None:
    role, first = FIRST_PAGES[login]

    page = page_for(login)

    assert _path(page) == f"/ui/{first}.html"
    me = page.context.request.get(f"{platform.gateway_url}/api/v1/auth/me")
    assert me.status == 200 and me.json()["role"] == role
    if (WEB / f"{first}.html").exists():  # some workspaces are still being written; their URL is checked above
        expect(page.get_by_test_id("sign-out")).to_be_visible()
        assert _path(page) == f"/ui/{first}.html", "the workspace sent its signed-in user back to sign in"


def test_sign_out_returns_to_sign_in_and_ends_the_session(page_for: PageFor, platform: Platform) -> None:
    page = page_for("liaison")
    page.goto("/ui/")
    expect(page.locator("#home")).to_be_visible()
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "session")

    page.get_by_test_id("sign-out").click()

    page.wait_for_url(lambda url: urlsplit(url).path in SIGN_IN_PATHS)
    _sign_in_form_shown(page)
    assert page.context.request.get(f"{platform.gateway_url}/api/v1/auth/me").status == 401
    old_cookie = httpx.get(f"{platform.gateway_url}/api/v1/auth/me", cookies={"session": token}, timeout=10)
    assert old_cookie.status_code == 401, "the session must end on the server, not only lose its cookie"


def test_sign_in_page_fits_a_phone(page_for: PageFor, shot: Shot) -> None:
    page = page_for(None, "phone")
    page.goto("/ui/")
    _sign_in_form_shown(page)
    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1], f"the sign-in page is wider than the phone: {width}"

    assert shot(page, "phone").stat().st_size > 0


def test_pages_reach_nothing_but_loopback(page_for: PageFor) -> None:
    page = page_for(None)
    page.goto("/ui/")
    outcome = page.evaluate("() => fetch('http://192.0.2.1/').then(() => 'reached', () => 'blocked')")
    assert outcome == "blocked"
