"""Security headers on every answer the gateway gives.

The pages under /ui/ carry no inline script or style, so the Content-Security-Policy allows only the
gateway's own origin; the API's JSON and downloads get the same headers (they cost nothing and stop a
response being framed or sniffed). The OpenAPI pages under /schema load their viewers from a CDN, so
they get no CSP: they hold no personal data."""

from __future__ import annotations

from collections.abc import Callable

from granian.utils.proxies import wrap_asgi_with_proxy_headers
from litestar.types import ASGIApp, Message, Receive, Scope, Send

CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: blob:",
        "connect-src 'self'",
        "worker-src 'self'",
        "manifest-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"permissions-policy", b"camera=(self), geolocation=(self), microphone=(), payment=(), usb=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
)


WITH_CSP = (*HEADERS, (b"content-security-policy", CSP.encode()))
OURS = frozenset(name for name, _ in WITH_CSP)


def _with_ours(headers: list[tuple[bytes, bytes]], ours: tuple[tuple[bytes, bytes], ...]) -> list[tuple[bytes, bytes]]:
    """`headers` and ours after them, but not one a handler set itself (it knows better)."""
    present = {name.lower() for name, _ in headers}
    if present.isdisjoint(OURS):  # nearly every answer: none of ours set by its handler
        return [*headers, *ours]
    return [*headers, *(h for h in ours if h[0] not in present)]


def security_headers(app: ASGIApp) -> ASGIApp:
    """An ASGI middleware: adds the headers to every HTTP response start it passes through."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        ours = HEADERS if scope["path"].startswith("/schema") else WITH_CSP

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = _with_ours(message.get("headers", []), ours)
            await send(message)

        await app(scope, receive, send_with_headers)

    return middleware


def clients_behind(trusted_proxies: str) -> list[Callable[[ASGIApp], ASGIApp]]:
    """An ASGI middleware that takes the client's address from `X-Forwarded-For` (and the scheme from
    `X-Forwarded-Proto`) on requests that come from one of `trusted_proxies` (addresses or networks,
    comma-separated), so the public channel's rate limit counts voters, not the reverse proxy. The
    address is the last one the proxies did not add themselves. Without trusted proxies (empty) the
    headers are ignored, since anyone can write them: no middleware. Granian's own helper does the parsing."""
    trusted = [host.strip() for host in trusted_proxies.split(",") if host.strip()]
    return [lambda app: wrap_asgi_with_proxy_headers(app, trusted)] if trusted else []
