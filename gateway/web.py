"""The web interface: static pages (zh-CN first, English second) over the JSON API, served under `/ui/`.

Pages are plain HTML with one ES module each and no inline script or style, so the Content-Security-Policy
can forbid inline code. Each page talks to `/api/v1` with the session cookie and `X-Requested-With: fetch`
(the CSRF proof `gateway.auth` asks of cookie requests). Third-party browser code (ECharts) is fetched from
the npm registry at install time into `gateway/web/vendor/` (`python -m infra.web_assets`), never from a CDN."""

from __future__ import annotations

from pathlib import Path

from litestar import get
from litestar.datastructures import CacheControlHeader
from litestar.response import Redirect
from litestar.static_files import create_static_files_router

WEB = Path(__file__).parent / "web"


@get("/", include_in_schema=False)
async def home() -> Redirect:
    return Redirect("/ui/")


@get("/favicon.ico", include_in_schema=False, status_code=204, cache_control=CacheControlHeader(max_age=86400))
async def favicon() -> None:
    """No icon yet: an empty answer, so browsers stop asking and no page logs a 404."""


ui = create_static_files_router(
    path="/ui",
    directories=[WEB],
    html_mode=True,
    name="ui",
    cache_control=CacheControlHeader(no_cache=True),  # revalidate: a new release shows at once
)

web_routes = [home, favicon, ui]
