"""Photos on intakes, pure parts and routes: the image type by its magic bytes, the size and count limits
naming `data`, sealing (no photo byte stored in the clear), scope, and the audit of every view, on Litestar's
TestClient over small fakes of Valkey, the sessions and the read model. The whole path on the real platform
is in tests/integration/test_photos.py."""

from __future__ import annotations

import io
import uuid
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from litestar.datastructures import State
from litestar.testing import TestClient, create_test_client
from PIL import Image, PngImagePlugin

from common.pii import Sealer
from common.registry.view import RegistryView
from gateway.contacts import AUDIT, ContactController
from gateway.photos import MAX_BYTES, MAX_PHOTOS, PhotoController, image_type
from gateway.schemas import IssueView
from services.registry.demo import demo_district

VIEW = RegistryView(demo_district("small"))
MY_STATION, OTHER_STATION = "610902001001", "610902005001"  # the liaison's village, and one in another town
NUMBER = "HB-202611-000001"
SEALER = Sealer(b"photo-test-secret")


def picture(seed: int = 0, size: tuple[int, int] = (4, 2)) -> Image.Image:
    return Image.new("RGB", size, (seed % 256, 40, 90))


def encoded(image: Image.Image, kind: str, **options: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, kind, **options)
    return out.getvalue()


def png(seed: int = 0) -> bytes:
    """A real 4x2 PNG, different for each seed, with a text chunk a camera app might write."""
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", f"taken by liaison {seed}")
    return encoded(picture(seed), "PNG", pnginfo=info)


def pixels(content: bytes) -> tuple[tuple[int, int], list[Any]]:
    with Image.open(io.BytesIO(content)) as image:
        return image.size, list(image.convert("RGB").get_flattened_data())


def exif_with_place(orientation: int = 1) -> Image.Exif:
    """What a phone writes: its make, where the picture was taken, which way up it was held."""
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0112] = orientation
    exif[0x8825] = {1: "N", 2: (34.0, 52.0, 10.0), 3: "E", 4: (108.0, 56.0, 30.0)}  # GPS: latitude, longitude
    return exif


JPEG = encoded(picture(9), "JPEG", exif=exif_with_place())
WEBP = encoded(picture(5), "WEBP")


class FakeValkey:
    """The few Valkey commands photos use; `eval` does what gateway.photos.STORE does, in one step."""

    def __init__(self) -> None:
        self.strings: dict[str, bytes] = {}
        self.lists: dict[str, list[bytes]] = defaultdict(list)
        self.streams: dict[str, list[tuple[bytes, dict[bytes, bytes]]]] = defaultdict(list)

    async def get(self, key: str) -> bytes | None:
        return self.strings.get(key)

    async def set(self, key: str, value: str | bytes) -> bool:
        self.strings[key] = value.encode() if isinstance(value, str) else value
        return True

    async def lrange(self, key: str, start: int, end: int) -> list[bytes]:
        return list(self.lists[key])

    async def eval(self, script: str, numkeys: int, *keys_and_args: Any) -> bytes | None:
        (key_key, list_key, blob_key, of_key), (photo_id, entry, sealed, limit, submission) = (
            keys_and_args[:numkeys],
            keys_and_args[numkeys:],
        )
        if key_key in self.strings:
            return self.strings[key_key]
        if len(self.lists[list_key]) >= limit:
            return None
        self.strings[blob_key], self.strings[of_key] = sealed, submission.encode()
        self.lists[list_key].append(entry)
        self.strings[key_key] = photo_id.encode()
        return photo_id.encode()

    async def xadd(self, key: str, fields: dict[str, str], **_: Any) -> None:
        entry_id = f"{len(self.streams[key]) + 1}-0".encode()
        self.streams[key].append((entry_id, {k.encode(): v.encode() for k, v in fields.items()}))

    async def xrevrange(self, key: str, max: str, min: str, count: int) -> list[tuple[bytes, dict[bytes, bytes]]]:
        return list(reversed(self.streams[key]))[:count]

    def stored(self) -> list[bytes]:
        """Every value held, whatever its shape."""
        return [*self.strings.values(), *(v for values in self.lists.values() for v in values)]


class FakeSessions:
    async def session(self, token: str) -> str | None:
        return token  # a test's bearer token is the login


class FakeIssues:
    def __init__(self) -> None:
        self.numbers: dict[uuid.UUID, str] = {}
        self.views: dict[str, IssueView] = {}

    async def number_for(self, submission_id: uuid.UUID) -> str | None:
        return self.numbers.get(submission_id)

    async def issue(self, number: str) -> IssueView | None:
        return self.views.get(number)


@pytest.fixture
def redis() -> FakeValkey:
    return FakeValkey()


@pytest.fixture
def issues() -> FakeIssues:
    return FakeIssues()


@pytest.fixture
def client(redis: FakeValkey, issues: FakeIssues) -> Iterator[TestClient[Any]]:
    state = State(
        {
            "redis": redis,
            "issues": issues,
            "sealer": SEALER,
            "credentials": FakeSessions(),
            "registry": SimpleNamespace(view=VIEW),
        }
    )
    with create_test_client([PhotoController, ContactController], state=state) as test_client:
        yield test_client


def as_(login: str, key: str | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {login}"} | ({"Idempotency-Key": key} if key else {})


def accepted(redis: FakeValkey, station: str = MY_STATION) -> uuid.UUID:
    """An intake the gateway accepted at a station (what accept_intake notes for photos)."""
    submission_id = uuid.uuid4()
    redis.strings[f"gw:photos:owner:{submission_id}"] = station.encode()
    return submission_id


def numbered(redis: FakeValkey, issues: FakeIssues, submission_id: uuid.UUID, station: str = MY_STATION) -> None:
    """The read model numbered it."""
    issues.numbers[submission_id] = NUMBER
    redis.strings[f"gw:submission-of:{NUMBER}"] = str(submission_id).encode()
    issues.views[NUMBER] = IssueView(
        number=NUMBER,
        state="pending_review",
        kind="problem",
        channel="visit",
        station_code=station,
        text="村口路灯坏了",
        received_at=datetime(2026, 11, 20, tzinfo=UTC),
        unit=station,
    )


def attach(client: TestClient[Any], submission_id: uuid.UUID, content: bytes, **headers: str) -> Any:
    url = f"/api/v1/intakes/{submission_id}/photos"
    return client.post(url, files={"data": ("photo.jpg", content, "image/jpeg")}, headers=headers or as_("liaison"))


# --- pure parts ---------------------------------------------------------------------------------------


def test_an_image_is_known_by_its_first_bytes_not_its_name_or_declared_type() -> None:
    assert image_type(JPEG[:12]) == "image/jpeg"
    assert image_type(png()[:12]) == "image/png"
    assert image_type(WEBP[:12]) == "image/webp"
    for other in (b"just some text", b"GIF89a\x01\x00", b"RIFF\x24\x00\x00\x00WAVEfmt ", b"", b"\xff\xd8"):
        assert image_type(other[:12]) is None


def test_a_sealed_photo_opens_only_for_its_own_id_and_key() -> None:
    content = png(7)
    sealed = SEALER.seal_bytes(content, "photo-1")
    assert content not in sealed and sealed.startswith(f"v1.{SEALER.photo_key_id}.".encode())
    assert SEALER.open_bytes(sealed, "photo-1") == content
    assert SEALER.photo_key_id != SEALER.key_id  # the photo key is not the contact key
    for opener, bound in ((SEALER, "photo-2"), (Sealer(b"another-secret"), "photo-1")):
        with pytest.raises(ValueError):
            opener.open_bytes(sealed, bound)
    assert Sealer(b"new-secret", old_secrets=(b"photo-test-secret",)).open_bytes(sealed, "photo-1") == content


# --- routes ---------------------------------------------------------------------------------------------


def test_a_photo_is_stored_sealed_once_per_key_and_shown_as_the_same_picture_with_each_view_audited(
    client: TestClient[Any], redis: FakeValkey, issues: FakeIssues
) -> None:
    submission_id = accepted(redis)
    content = png(1)
    first = attach(client, submission_id, content, **as_("liaison", "k-1"))
    again = attach(client, submission_id, content, **as_("liaison", "k-1"))  # the answer was lost: a retry
    assert first.status_code == again.status_code == 201, first.text
    assert first.json() == again.json()
    assert first.json()["content_type"] == "image/png"

    numbered(redis, issues, submission_id)
    listed = client.get(f"/api/v1/issues/{NUMBER}/photos", headers=as_("town"))
    assert listed.status_code == 200 and listed.json() == [first.json()]
    shown = client.get(first.json()["url"], headers=as_("town"))
    assert shown.status_code == 200 and pixels(shown.content) == pixels(content)  # PNG: the very same pixels
    assert first.json()["size"] == len(shown.content) and b"taken by liaison" not in shown.content
    assert all(shown.content not in value and content not in value for value in redis.stored())  # sealed at rest
    assert shown.headers["content-type"] == "image/png" and shown.headers["cache-control"] == "private, no-store"
    (_, entry), *_ = redis.streams[AUDIT]
    assert entry[b"what"] == b"photo" and entry[b"login"] == b"town" and entry[b"number"] == NUMBER.encode()
    audit = client.get("/api/v1/audit/unmasked", params={"what": "photo"}, headers=as_("oversight")).json()
    assert [(v["login"], v["what"], v["photo_id"]) for v in audit] == [("town", "photo", first.json()["photo_id"])]


def test_what_the_camera_wrote_beside_the_picture_is_not_kept_and_the_picture_is_turned_upright(
    client: TestClient[Any], redis: FakeValkey, issues: FakeIssues
) -> None:
    submission_id = accepted(redis)
    held_sideways = encoded(picture(3, size=(40, 20)), "JPEG", exif=exif_with_place(orientation=6), quality=95)
    with Image.open(io.BytesIO(held_sideways)) as sent:
        assert sent.getexif()[0x0112] == 6 and sent.getexif().get_ifd(0x8825)  # the test's photo does carry them
    photo = attach(client, submission_id, held_sideways).json()
    numbered(redis, issues, submission_id)
    shown = client.get(photo["url"], headers=as_("town"))
    with Image.open(io.BytesIO(shown.content)) as kept:
        assert kept.format == "JPEG" and kept.size == (20, 40)  # rotated as the phone was held
        assert not kept.getexif() and "exif" not in kept.info and "xmp" not in kept.info
    assert b"PhoneMaker" not in shown.content and b"Exif" not in shown.content


def test_a_photo_too_large_or_not_an_image_is_refused_naming_data(client: TestClient[Any], redis: FakeValkey) -> None:
    submission_id = accepted(redis)
    too_large = attach(client, submission_id, b"\xff\xd8\xff" + bytes(MAX_BYTES))
    cut_off = attach(client, submission_id, b"\xff\xd8\xff" + bytes(MAX_BYTES + 200_000))  # past the body limit
    text = attach(client, submission_id, b"not a photo at all, just text")
    dressed = attach(client, submission_id, b"\xff\xd8\xff\xe0<?php system($_GET['c']); ?>" + bytes(100))
    for answer, status in ((too_large, 413), (cut_off, 413), (text, 400), (dressed, 400)):
        assert answer.status_code == status, answer.text
        assert answer.json()["detail"].startswith("data:") and answer.json()["extra"][0]["key"] == "data"
    url = f"/api/v1/intakes/{submission_id}/photos"
    missing = client.post(url, files={"photo": ("a.jpg", JPEG)}, headers=as_("liaison"))  # another field
    assert missing.status_code == 400 and missing.json()["extra"][0]["key"] == "data"
    assert not redis.lists  # nothing stored


def test_an_intake_holds_at_most_five_photos_and_a_retry_of_a_stored_one_is_still_answered(
    client: TestClient[Any], redis: FakeValkey
) -> None:
    submission_id = accepted(redis)
    stored = [attach(client, submission_id, png(n), **as_("liaison", f"k-{n}")) for n in range(MAX_PHOTOS)]
    assert [a.status_code for a in stored] == [201] * MAX_PHOTOS
    sixth = attach(client, submission_id, WEBP, **as_("liaison", "k-6"))
    assert sixth.status_code == 400 and sixth.json()["extra"][0]["key"] == "data" and "5" in sixth.json()["detail"]
    retried = attach(client, submission_id, png(0), **as_("liaison", "k-0"))
    assert retried.status_code == 201 and retried.json() == stored[0].json()
    assert len(redis.lists[f"gw:photos:{submission_id}"]) == MAX_PHOTOS


def test_a_submission_outside_the_scope_answers_like_one_that_does_not_exist(
    client: TestClient[Any], redis: FakeValkey, issues: FakeIssues
) -> None:
    elsewhere, unknown = accepted(redis, OTHER_STATION), uuid.uuid4()
    outside, missing = attach(client, elsewhere, JPEG), attach(client, unknown, JPEG)
    assert outside.status_code == missing.status_code == 404
    said = outside.json()["detail"].replace(str(elsewhere), "<s>")
    assert said == missing.json()["detail"].replace(str(unknown), "<s>")
    assert attach(client, elsewhere, JPEG, **as_("handler")).status_code == 403  # not a role that records intakes

    mine = accepted(redis)
    photo = attach(client, mine, JPEG).json()
    numbered(redis, issues, mine)
    for login in ("handler", "town-610902005"):  # a department with no referral for it, another town
        listed = client.get(f"/api/v1/issues/{NUMBER}/photos", headers=as_(login))
        fetched = client.get(photo["url"], headers=as_(login))
        assert listed.status_code == 404 and listed.json()["detail"] == f"no issue {NUMBER}"
        assert fetched.status_code == 404 and fetched.json()["detail"] == f"no photo {photo['photo_id']}"
    assert client.get("/api/v1/photos/nothing-here", headers=as_("town")).status_code == 404
    assert not redis.streams[AUDIT]  # refused views are not views
