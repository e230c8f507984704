"""The oversight dashboard and the registry administration page on a desk, against the real platform: the
ledger in a table and a chart (ECharts on a canvas, under a strict Content-Security-Policy), the monthly
report as a real workbook; a roster exported, a handler created through the form and found in the list, and
a refused change shown at the field the registry named."""

from __future__ import annotations

import io
import re
import time
import uuid

import httpx
import pytest
from openpyxl import load_workbook
from playwright.sync_api import Locator, Page, Route, expect

from gateway.web import WEB
from infra.runtime.platform import Platform
from tests.integration.browser.conftest import PageFor, Shot

# What the platform should send; the page and ECharts must work under it (no inline script or style, no eval).
STRICT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
ECHARTS = WEB / "vendor" / "echarts" / "echarts.min.js"
INTAKES = (  # (channel, station, text): issues for the ledger to count
    ("visit", "610902001001", "村道路灯损坏，夜间出行不便"),
    ("reception", "610902002003", "自来水管破裂，饮水困难"),
    ("hotline", "610902003004", "低保申请迟迟没有回音"),
)
LEDGER_WITHIN_S = 60
CHART_WITHIN_MS = 30_000  # 1 MB of script to parse, on a machine that may be busy


def _collected(client: httpx.Client) -> int:
    response = client.get("/api/v1/oversight/ledgers", params={"by": "town"})
    return sum(row.get("collected", 0) for row in response.json()) if response.status_code == 200 else 0


@pytest.fixture
def counted_issues(platform: Platform, admin_headers: dict[str, str]) -> None:
    """A few intakes this month, and the oversight ledger counting them."""
    with httpx.Client(base_url=platform.gateway_url, headers=admin_headers, timeout=30) as client:
        for n, (channel, station, text) in enumerate(INTAKES, 1):
            body = {"channel": channel, "station_code": station, "kind": "problem", "text": text}
            sent = client.post("/api/v1/intakes", json=body, headers={"Idempotency-Key": f"oversight-browser-{n}"})
            assert sent.status_code in (200, 202), sent.text
        deadline = time.monotonic() + LEDGER_WITHIN_S
        while _collected(client) < len(INTAKES):
            assert time.monotonic() < deadline, "the oversight ledger did not count the intakes"
            time.sleep(0.5)


def _with_strict_csp(page: Page) -> list[str]:
    """Serve the web pages with STRICT_CSP; returns the list the page's CSP complaints are gathered in."""

    def add_policy(route: Route) -> None:
        response = route.fetch()
        route.fulfill(response=response, headers={**response.headers, "content-security-policy": STRICT_CSP})

    complaints: list[str] = []
    page.route("**/ui/**", add_policy)
    page.on("console", lambda m: complaints.append(m.text) if "Content Security Policy" in m.text else None)
    return complaints


def test_oversight_sees_the_ledger_in_a_table_and_a_chart_and_downloads_the_monthly_workbook(
    page_for: PageFor, counted_issues: None, shot: Shot
) -> None:
    assert ECHARTS.is_file(), f"{ECHARTS} is missing: run `python -m infra.web_assets` (make install does)"
    page = page_for("oversight", device="desk")
    expect(page).to_have_url(re.compile(r"/ui/oversight\.html"))  # the first page of the role
    complaints = _with_strict_csp(page)
    page.goto("/ui/oversight.html")

    expect(page.get_by_test_id("tab-ledger")).to_have_attribute("aria-selected", "true")
    table = page.get_by_test_id("ledger-table")
    expect(table).to_be_visible()
    expect(table.locator("tbody tr").first).to_be_visible()
    expect(table.locator("thead")).to_contain_text("收集")
    expect(table.locator("tfoot")).to_contain_text("合计")
    chart = page.get_by_test_id("ledger-chart")
    expect(chart.locator("canvas").first).to_be_attached(timeout=CHART_WITHIN_MS)  # loaded after the tables
    box = chart.bounding_box()
    assert box is not None and box["width"] > 200 and box["height"] > 200, box
    shot(page, "ledger")

    page.get_by_test_id("tab-reports").click()
    with page.expect_download() as downloading:
        page.get_by_test_id("download-xlsx").click()
    download = downloading.value
    assert download.suggested_filename.endswith(".xlsx")
    workbook = load_workbook(io.BytesIO(download.path().read_bytes()))
    assert workbook.sheetnames, "the monthly report has no sheets"
    assert complaints == [], complaints


def test_without_the_chart_library_the_ledger_is_still_all_there_in_the_table(
    page_for: PageFor, counted_issues: None
) -> None:
    page = page_for("oversight", device="desk")
    page.route("**/ui/vendor/echarts/**", lambda route: route.fulfill(status=404, body="not installed"))
    page.goto("/ui/oversight.html")

    expect(page.get_by_test_id("ledger-table").locator("tbody tr").first).to_be_visible()
    expect(page.locator("#chart-missing")).to_be_visible()
    expect(page.get_by_test_id("ledger-chart")).to_be_hidden()


def _field(page: Page, name: str) -> Locator:
    return page.get_by_test_id(f"field-{name}")


def test_admin_exports_a_roster_creates_a_handler_and_sees_a_refusal_at_the_field(
    page_for: PageFor, shot: Shot
) -> None:
    page = page_for("admin", device="desk")
    page.goto("/ui/admin.html")

    page.get_by_test_id("kind-stations").click()
    expect(page.get_by_test_id("kind-stations")).to_have_attribute("aria-selected", "true")
    expect(page.get_by_test_id("list-table")).to_be_visible()
    with page.expect_download() as downloading:
        page.get_by_test_id("export-csv").click()
    download = downloading.value
    assert download.suggested_filename == "stations.csv"
    roster = download.path().read_text("utf-8-sig").splitlines()
    assert roster[0].startswith("编码,名称,类型") and len(roster) > 400, roster[:2]

    code = f"d-test-{uuid.uuid4().hex[:6]}"
    page.get_by_test_id("kind-handlers").click()
    expect(page.get_by_test_id("list-table")).to_be_visible()
    page.get_by_test_id("new-entity").click()
    _field(page, "code").fill(code)
    _field(page, "name").fill("汉滨区测试督办局")
    _field(page, "kind").select_option("district_department")
    _field(page, "unit_code").fill("610902")
    page.get_by_test_id("field-categories-other").check()
    _field(page, "phone").fill("0915-1234567")
    page.get_by_test_id("save-entity").click()

    expect(page.get_by_test_id("entity-fields")).to_contain_text("汉滨区测试督办局", timeout=20_000)
    page.get_by_test_id("list-search").fill(code)
    expect(page.get_by_test_id(f"row-{code}")).to_be_visible()
    expect(page.get_by_test_id(f"row-{code}")).to_contain_text("区直部门")

    page.get_by_test_id("edit-entity").click()
    expect(_field(page, "code")).to_have_js_property("readOnly", True)
    _field(page, "unit_code").fill("000000")  # no such unit: the registry refuses it
    page.get_by_test_id("save-entity").click()
    problem = page.get_by_test_id("problem-unit_code")
    expect(problem).to_be_visible(timeout=20_000)
    expect(problem).to_contain_text("000000")
    expect(_field(page, "unit_code")).to_have_attribute("aria-invalid", "true")
    shot(page, "refused")
