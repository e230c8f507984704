"""The web interface's static pages are served under /ui/, and / leads there."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import TestClient

from gateway.web import WEB, web_routes


def test_the_root_leads_to_the_sign_in_page_which_is_served_in_chinese() -> None:
    with TestClient(Litestar(route_handlers=web_routes)) as client:
        root = client.get("/", follow_redirects=False)
        assert root.status_code in (301, 302, 307, 308)
        assert root.headers["location"] == "/ui/"
        page = client.get("/ui/")
        assert page.status_code == 200
        assert 'lang="zh-CN"' in page.text
        assert "/ui/assets/index.js" in page.text


def test_pages_carry_no_inline_script_so_the_csp_can_forbid_it() -> None:
    for page in WEB.rglob("*.html"):
        text = page.read_text("utf-8")
        assert "<script>" not in text and "onclick=" not in text and "style=" not in text, page.name
