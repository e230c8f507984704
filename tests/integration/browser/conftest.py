"""The web interface in a real browser: headless Chromium (Debian's `chromium`, never Playwright's download)
driven by Playwright's sync API against the session's platform (tests/integration/conftest.py).

Fixtures:
- `browser` (session): Chromium at `$CHROMIUM` or /usr/bin/chromium (`make browser` installs it).
- `demo_passwords` (session): {login: password} for every demo login, fresh for this run.
- `page_for(login, device="desk")`: a page in a context of its own, signed in through the sign-in page when
  `login` is given (`sign_in` below, the real form). `device` is "phone" (390x844, touch, 2x) or "desk"
  (1366x900); zh-CN, China time; relative URLs are the platform's. Every request and websocket to a host other
  than 127.0.0.1 is aborted. `page.context.request` calls the API with the page's cookies. The contexts close
  after the test.
- `shot(page, name)`: a full-page PNG `<test>-<name>.png` in `$TEST_ARTIFACTS` or var/test-artifacts/screenshots;
  a failing test gets `<test>-failed-<n>.png` of each of its pages without asking.

Offline: `page.context.set_offline(True)` cuts the context's network (requests fail, `navigator.onLine`
turns false, `offline` fires); `set_offline(False)` brings it back.

Errors in the page: an uncaught error (`pageerror`) fails the test at teardown; a test that provokes one on
purpose says so with `@pytest.mark.page_errors_allowed`. Console errors (a failed request logs one) are
reported with a failure but do not fail a test by themselves.

Browser tests are sync. Between two sync calls Playwright leaves its own event loop marked as this thread's
running loop (its dispatcher greenlet is paused inside that loop), and pytest-asyncio would then refuse to
run any async test later in the session ("cannot be called from a running event loop"). So the mark is only
there while a browser test runs: `_playwright_loop` puts it back before each test here and takes it off after.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Error,
    Page,
    Playwright,
    expect,
    sync_playwright,
)

from infra.runtime.platform import Platform

CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOOPBACK = "127.0.0.1"
SIGN_IN_PATHS = ("/ui/", "/ui/index.html")
Device = Literal["phone", "desk"]
PageFor = Callable[..., Page]  # page_for(login: str | None, device: Device = "desk") -> Page
Shot = Callable[[Page, str], Path]

expect.set_options(timeout=10_000)  # a loaded two-core machine runs the whole platform beside the browser


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "page_errors_allowed: an uncaught error in the page does not fail the test")


@dataclass
class _Driver:
    playwright: Playwright
    browser: Browser
    loop: asyncio.AbstractEventLoop | None


@dataclass
class _Opened:
    """What one test opened, for the teardown and the failure hook."""

    contexts: list[BrowserContext] = field(default_factory=list)
    pages: list[Page] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)


OPENED = pytest.StashKey[_Opened]()


def _chromium() -> str:
    path = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    if not os.access(path, os.X_OK):
        pytest.fail(
            f"no Chromium at {path}: run `make browser` or, as root, "
            "`apt-get install -y --no-install-recommends chromium` (or set CHROMIUM to a Chromium)",
            pytrace=False,
        )
    return path


@pytest.fixture(scope="session")
def _driver() -> Iterator[_Driver]:
    executable = _chromium()
    playwright = sync_playwright().start()
    loop = asyncio._get_running_loop()  # Playwright's own, marked running from here on (see the module doc)
    try:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
    except BaseException:
        playwright.stop()
        raise
    asyncio._set_running_loop(None)
    yield _Driver(playwright, browser, loop)
    asyncio._set_running_loop(loop)
    try:
        browser.close()
    finally:
        playwright.stop()  # ends Playwright's loop, which takes the running mark off


@pytest.fixture(autouse=True)
def _playwright_loop(_driver: _Driver) -> Iterator[None]:
    if _driver.loop is None:  # a Playwright that no longer marks its loop: nothing to do
        yield
        return
    asyncio._set_running_loop(_driver.loop)
    try:
        yield
    finally:
        asyncio._set_running_loop(None)


@pytest.fixture(scope="session")
def browser(_driver: _Driver) -> Browser:
    return _driver.browser


def _devices(browser: Browser) -> dict[Device, dict]:
    major = browser.version.split(".")[0]
    phone_agent = (
        f"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
        f"Chrome/{major}.0.0.0 Mobile Safari/537.36"
    )
    return {
        "phone": {
            "viewport": {"width": 390, "height": 844},
            "is_mobile": True,
            "has_touch": True,
            "device_scale_factor": 2,
            "user_agent": phone_agent,
        },
        "desk": {"viewport": {"width": 1366, "height": 900}},
    }


def _keep_to_loopback(context: BrowserContext) -> None:
    def outside(url: str) -> bool:
        return urlsplit(url).hostname != LOOPBACK

    context.route("**/*", lambda route: route.continue_() if not outside(route.request.url) else route.abort())
    context.route_web_socket(outside, lambda socket: socket.close())


def _watch(page: Page, opened: _Opened) -> None:
    if page in opened.pages:
        return
    opened.pages.append(page)

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            opened.console_errors.append(f"{message.location.get('url', page.url)}: {message.text}")

    def page_error(error: Error) -> None:
        opened.page_errors.append(f"{page.url}: {error.stack or f'{error.name}: {error.message}'}")

    page.on("console", console)
    page.on("pageerror", page_error)


def sign_in(page: Page, login: str, password: str) -> None:
    """Sign in through the sign-in page and wait until it has gone somewhere else (only until the next page has
    begun to arrive: what that page shows is for the test to wait for)."""
    page.goto("/ui/")
    page.fill("#login", login)
    page.fill("#password", password)
    page.click("button#sign-in")
    try:
        page.wait_for_url(lambda url: urlsplit(url).path not in SIGN_IN_PATHS, wait_until="commit", timeout=30_000)
    except Error:
        refusal = page.locator("#sign-in-error")
        said = refusal.text_content() if refusal.is_visible() else "nothing"
        raise AssertionError(f"{login} stayed on the sign-in page; it said {said}") from None


@pytest.fixture
def page_for(
    request: pytest.FixtureRequest, browser: Browser, platform: Platform, demo_passwords: dict[str, str]
) -> Iterator[PageFor]:
    opened = request.node.stash.setdefault(OPENED, _Opened())
    devices = _devices(browser)

    def open_page(login: str | None, device: Device = "desk") -> Page:
        context = browser.new_context(
            base_url=platform.gateway_url, locale="zh-CN", timezone_id="Asia/Shanghai", **devices[device]
        )
        opened.contexts.append(context)
        _keep_to_loopback(context)
        context.on("page", lambda page: _watch(page, opened))
        page = context.new_page()
        _watch(page, opened)
        if login is not None:
            sign_in(page, login, demo_passwords[login])
        return page

    yield open_page
    failing = bool(opened.page_errors) and not request.node.get_closest_marker("page_errors_allowed")
    if failing:
        _shoot_all(request.node, opened, "page-error")
    for context in opened.contexts:
        try:
            context.close()
        except Error:
            pass  # already gone with a crashed page: nothing left to close
    if failing:
        pytest.fail("uncaught errors in the page:\n" + "\n".join(opened.page_errors), pytrace=False)


def artifacts_dir(config: pytest.Config) -> Path:
    directory = Path(os.environ.get("TEST_ARTIFACTS") or config.rootpath / "var" / "test-artifacts" / "screenshots")
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _file_name(*parts: str) -> str:
    return re.sub(r"[^\w.-]+", "_", "-".join(parts)).strip("_") + ".png"


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Shot:
    def save(page: Page, name: str) -> Path:
        path = artifacts_dir(request.config) / _file_name(request.node.name, name)
        page.screenshot(path=path, full_page=True)
        return path

    return save


def _shoot_all(item: pytest.Item, opened: _Opened, name: str) -> list[str]:
    """A screenshot of every page the test opened; what became of each, for the report."""
    notes = []
    for n, page in enumerate(opened.pages, 1):
        path = artifacts_dir(item.config) / _file_name(item.name, f"{name}-{n}")
        try:
            page.screenshot(path=path, full_page=True)
            notes.append(f"{page.url}: {path}")
        except Error as error:
            notes.append(f"no screenshot of page {n}: {error.message}")
    return notes


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    opened = item.stash.get(OPENED, None)
    if opened is None or not report.failed:
        return report
    if report.when == "call":  # the pages are still open (the teardown closes them)
        report.sections.append(("browser screenshots", "\n".join(_shoot_all(item, opened, "failed"))))
    if opened.console_errors:
        report.sections.append(("browser console errors", "\n".join(opened.console_errors)))
    return report


@pytest.fixture
def admin(platform: Platform, admin_headers: dict[str, str]) -> Iterator[httpx.Client]:
    """The platform's first administrator through the API: to read state for assertions, and to make the
    logins a test needs (never to do what the page under test should do)."""
    with httpx.Client(base_url=platform.gateway_url, headers=admin_headers, timeout=30) as client:
        yield client
