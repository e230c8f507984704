"""Photos on an intake, on the real platform: the village liaison attaches them to an intake it recorded (a
retry stores one), the town that sees the issue lists and fetches them (the same pixels, no metadata), a
handler who does not see it gets the answer for no issue, a text file dressed as a JPEG is refused naming
`data`, every view is in the audit, and Valkey holds the photos only sealed."""

from __future__ import annotations

import io
import os
import struct
import time
import zlib
from collections.abc import Iterator

import httpx
import pytest
import redis
from PIL import Image

from infra.runtime.platform import Platform

MY_VILLAGE = "610902001001"  # the demo liaison's station, in the demo town's first village
NOWHERE = "HB-209912-999999"


def png(side: int = 24) -> bytes:
    """A PNG of random pixels (so its bytes are found nowhere else by chance)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    rows = b"".join(b"\0" + os.urandom(side * 3) for _ in range(side))
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def pixels(content: bytes) -> tuple[tuple[int, int], list[object]]:
    with Image.open(io.BytesIO(content)) as image:
        return image.size, list(image.convert("RGB").get_flattened_data())


@pytest.fixture(scope="module")
def clients(platform: Platform, demo_passwords: dict[str, str]) -> Iterator[dict[str, httpx.Client]]:
    opened = {}
    for login in ("liaison", "town", "handler", "oversight"):
        signed = httpx.post(
            f"{platform.gateway_url}/api/v1/auth/sign-in",
            json={"login": login, "password": demo_passwords[login]},
            timeout=30,
        )
        assert signed.status_code == 200, signed.text
        headers = {"Authorization": f"Bearer {signed.json()['token']}"}
        opened[login] = httpx.Client(base_url=platform.gateway_url, timeout=30, headers=headers)
    yield opened
    for client in opened.values():
        client.close()


def _numbered(client: httpx.Client, status_url: str) -> str:
    deadline = time.monotonic() + 60
    while not (number := client.get(status_url).json().get("issue_number")):
        assert time.monotonic() < deadline, "the intake was never numbered"
        time.sleep(0.2)
    return str(number)


def test_photos_are_attached_once_sealed_shown_to_those_who_see_the_issue_and_every_view_audited(
    platform: Platform, clients: dict[str, httpx.Client]
) -> None:
    liaison, town, handler = clients["liaison"], clients["town"], clients["handler"]
    intake = {"channel": "visit", "kind": "problem", "station_code": MY_VILLAGE, "text": "照片测试：桥面开裂"}
    accepted = liaison.post("/api/v1/intakes", json=intake, headers={"Idempotency-Key": os.urandom(8).hex()})
    assert accepted.status_code == 202, accepted.text
    photos_url = f"/api/v1/intakes/{accepted.json()['submission_id']}/photos"
    images = [png(), png()]

    def attach(content: bytes, key: str, name: str = "IMG_0001.jpg") -> httpx.Response:
        files = {"data": (name, content, "image/jpeg")}  # the name and declared type say JPEG: the bytes decide
        return liaison.post(photos_url, files=files, headers={"Idempotency-Key": key})

    first, retried, second = attach(images[0], "p-1"), attach(images[0], "p-1"), attach(images[1], "p-2")
    assert [a.status_code for a in (first, retried, second)] == [201, 201, 201], second.text
    assert retried.json() == first.json()  # the same key stored it once
    assert first.json()["content_type"] == "image/png" and first.json()["size"] == len(images[0])
    text = attach(b"this is a text file, not a photo\n", "p-3", name="notes.jpg")
    assert text.status_code == 400 and text.json()["extra"][0]["key"] == "data", text.text

    number = _numbered(liaison, accepted.json()["status_url"])
    listed = town.get(f"/api/v1/issues/{number}/photos")
    assert listed.status_code == 200, listed.text
    assert listed.json() == [first.json(), second.json()]
    kept = []
    for photo, content in zip(listed.json(), images, strict=True):
        shown = town.get(photo["url"])
        assert shown.status_code == 200 and pixels(shown.content) == pixels(content)  # encoded again, the same picture
        kept.append(shown.content)
        assert shown.headers["content-type"] == "image/png"
        assert shown.headers["cache-control"] == "private, no-store"

    # the demo handler (a district department with no referral for it) does not see the issue
    outside, unknown = handler.get(f"/api/v1/issues/{number}/photos"), handler.get(f"/api/v1/issues/{NOWHERE}/photos")
    assert outside.status_code == unknown.status_code == 404
    assert outside.json()["detail"].replace(number, "<n>") == unknown.json()["detail"].replace(NOWHERE, "<n>")
    assert handler.get(first.json()["url"]).status_code == 404

    audit = clients["oversight"].get("/api/v1/audit/unmasked", params={"number": number, "what": "photo"}).json()
    seen = sorted((v["login"], v["photo_id"]) for v in audit)
    assert seen == sorted(("town", p["photo_id"]) for p in listed.json())

    store = redis.Redis.from_url(platform.redis_url)
    try:
        for photo in listed.json():
            assert store.exists(f"gw:photo:{photo['photo_id']}")
        for key in store.scan_iter(match="gw:photo:*", count=1000):
            value = store.get(key) if store.type(key) == b"string" else b""
            assert value and not any(content in value for content in images + kept), key
    finally:
        store.close()
