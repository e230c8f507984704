"""A lean HTTP/1.1 keep-alive client for load generation: a few µs of CPU per request, so the
benchmark measures the platform rather than the client (httpx costs ~4 ms of CPU a request here)."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import msgspec


class Connection:
    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str, headers: str = ""
    ) -> None:
        self._reader, self._writer, self._host, self._headers = reader, writer, host, headers

    @classmethod
    async def open(cls, base_url: str, headers: dict[str, str] | None = None) -> Connection:
        """`headers` go with every request (a session's `Authorization`, say)."""
        url = urlsplit(base_url)
        reader, writer = await asyncio.open_connection(url.hostname, url.port or 80)
        extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
        return cls(reader, writer, url.netloc, extra)

    async def post_json(self, path: str, body: bytes, extra: str = "") -> tuple[int, bytes]:
        """`extra`: more header lines for this request alone ("Idempotency-Key: …\r\n")."""
        self._writer.write(
            f"POST {path} HTTP/1.1\r\nHost: {self._host}\r\n{self._headers}{extra}Content-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        return await self._answer()

    async def get(self, path: str) -> tuple[int, bytes]:
        self._writer.write(f"GET {path} HTTP/1.1\r\nHost: {self._host}\r\n{self._headers}\r\n".encode())
        return await self._answer()

    async def _answer(self) -> tuple[int, bytes]:
        head = await self._reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        return status, await self._reader.readexactly(length)

    async def close(self) -> None:
        self._writer.close()
        await self._writer.wait_closed()


async def submit(connection: Connection, body: bytes, key: str | None = None) -> str:
    """POST one intake (with its Idempotency-Key, if given); return its submission id."""
    status, payload = await connection.post_json("/api/v1/intakes", body, f"Idempotency-Key: {key}\r\n" if key else "")
    if status != 202:
        raise RuntimeError(f"intake answered {status}: {payload[:200]!r}")
    return msgspec.json.decode(payload)["submission_id"]
