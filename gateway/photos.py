"""Photos on an intake: the station's phone attaches them after the intake's 202, one per request.

A photo may show people, so it is personal data: it is sealed (AES-256-GCM, `common.pii`, its own key
purpose) before it is stored, shown only to accounts that see the issue (the same 404 as a missing one
for everyone else), and every view is recorded in the unmasked-data audit (`gateway.contacts`).

Valkey holds, per submission: `gw:photos:owner:<submission>` → the receiving station (written when the
intake is accepted: who may attach), `gw:photos:<submission>` → the list of photo entries (id, content
type, size), `gw:photos:key:<submission>:<Idempotency-Key>` → the photo stored under that key; per photo:
`gw:photo:<photo id>` → the sealed bytes and `gw:photo-of:<photo id>` → its submission. At most
`MAX_PHOTOS` of at most `MAX_BYTES` each (≤25 MB an intake, which Valkey carries for now).

Every photo is decoded and encoded again before it is kept (`scrubbed`): what a camera writes beside
the picture (EXIF with the place it was taken, the phone's make, XMP, comments) never reaches storage,
the picture is turned upright by its EXIF orientation first, and a file that only starts like an
image, or decodes to more than `MAX_PIXELS`, is refused."""

from __future__ import annotations

import asyncio
import io
import logging
import uuid
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, get, post
from litestar.datastructures import State, UploadFile
from litestar.enums import RequestEncodingType
from litestar.exceptions import ClientException, NotFoundException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.params import Body, FromPath
from litestar.response import Response
from PIL import Image, ImageOps, UnidentifiedImageError

from common.pii import Sealer
from gateway.access import INTAKE_ROLES, STAFF_ROLES, no_issue, sees_issue, station_unit
from gateway.auth import Principal, requires
from gateway.contacts import record_view
from gateway.intakes import IdempotencyKey

log = logging.getLogger("gateway")
API = "/api/v1"
MAX_PHOTOS = 5
MAX_BYTES = 5 * 1024 * 1024
MULTIPART_SLACK = 64 * 1024  # boundaries and part headers around the one file
MAX_PIXELS = 40_000_000  # a phone's largest pictures are ~50 MP; beyond this, decoding is a memory bomb
FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}
# magic bytes → content type; anything else is refused whatever its name or declared type says
SIGNATURES = ((b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"))

# Atomic, so neither a retry nor two photos sent at once can pass the limit or store one key twice.
# KEYS: the key's record, the submission's list, the sealed photo, the photo's submission
# ARGV: photo id, its entry, the sealed bytes, the limit, the submission id
STORE = """
local found = redis.call('GET', KEYS[1])
if found then return found end
if redis.call('LLEN', KEYS[2]) >= tonumber(ARGV[4]) then return false end
redis.call('SET', KEYS[3], ARGV[3])
redis.call('SET', KEYS[4], ARGV[5])
redis.call('RPUSH', KEYS[2], ARGV[2])
redis.call('SET', KEYS[1], ARGV[1])
return ARGV[1]
"""


class PhotoUpload(msgspec.Struct):
    data: UploadFile  # one image: JPEG, PNG or WebP, at most 5 MB


class PhotoEntry(msgspec.Struct, kw_only=True):
    photo_id: str
    content_type: str
    size: int


class Photo(msgspec.Struct, kw_only=True):
    photo_id: str
    content_type: str
    size: int
    url: str


def image_type(head: bytes) -> str | None:
    """The image's type by its first bytes, or None for anything but JPEG, PNG and WebP."""
    for magic, content_type in SIGNATURES:
        if head.startswith(magic):
            return content_type
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


def refused(status_code: int, reason: str) -> ClientException:
    return ClientException(
        status_code=status_code, detail=f"data: {reason}", extra=[{"key": "data", "message": reason, "source": "body"}]
    )


def check_photo(content: bytes) -> str:
    """The photo's content type; raises a 413 or 400 naming `data` for one too large, empty or not an image."""
    if len(content) > MAX_BYTES:
        raise refused(413, f"a photo is at most {MAX_BYTES // (1024 * 1024)} MB")
    content_type = image_type(content[:12])
    if content_type is None:
        raise refused(400, "not a JPEG, PNG or WebP image")
    return content_type


def scrubbed(content: bytes, content_type: str) -> bytes:
    """The picture alone, in the same format: decoded, turned upright by its EXIF orientation, and
    encoded again without any metadata. Raises a 400 naming `data` for a file that does not decode."""
    try:
        with Image.open(io.BytesIO(content), formats=[FORMATS[content_type]]) as image:
            if image.width * image.height > MAX_PIXELS:
                raise refused(400, f"a photo has at most {MAX_PIXELS // 1_000_000} million pixels")
            upright = ImageOps.exif_transpose(image)
            out = io.BytesIO()
            if content_type == "image/jpeg":
                upright.convert("RGB").save(out, "JPEG", quality=90, optimize=True)
            elif content_type == "image/png":
                upright.save(out, "PNG", optimize=False)  # no text or eXIf chunks: only what is passed is written
            else:
                upright.save(out, "WEBP", quality=90)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise refused(400, "the image could not be read") from exc
    return out.getvalue()


def shown(entry: PhotoEntry) -> Photo:
    return Photo(**msgspec.structs.asdict(entry), url=f"{API}/photos/{entry.photo_id}")


class PhotoStore:
    """The photos of submissions in Valkey, sealed."""

    def __init__(self, redis: Any, sealer: Sealer) -> None:
        self._redis, self._sealer = redis, sealer
        self._entry = msgspec.json.Decoder(PhotoEntry)

    async def owner(self, submission_id: str) -> str | None:
        station = await self._redis.get(f"gw:photos:owner:{submission_id}")
        return station.decode() if station else None

    async def add(self, submission_id: str, key: str | None, content: bytes, content_type: str) -> PhotoEntry | None:
        """Store a photo once per key; the entry stored (now or before, under the key), or None when full."""
        photo_id = str(uuid.uuid4())
        entry = PhotoEntry(photo_id=photo_id, content_type=content_type, size=len(content))
        keys = (
            f"gw:photos:key:{submission_id}:{key or photo_id}",
            f"gw:photos:{submission_id}",
            f"gw:photo:{photo_id}",
            f"gw:photo-of:{photo_id}",
        )
        sealed = self._sealer.seal_bytes(content, photo_id)
        args = (photo_id, msgspec.json.encode(entry), sealed, MAX_PHOTOS, submission_id)
        stored = await self._redis.eval(STORE, len(keys), *keys, *args)
        if stored is None:
            return None
        stored_id = stored.decode() if isinstance(stored, bytes) else str(stored)
        if stored_id == photo_id:
            return entry
        return next((e for e in await self.entries(submission_id) if e.photo_id == stored_id), None)

    async def entries(self, submission_id: str) -> list[PhotoEntry]:
        return [self._entry.decode(raw) for raw in await self._redis.lrange(f"gw:photos:{submission_id}", 0, -1)]

    async def submission_of(self, photo_id: str) -> str | None:
        found = await self._redis.get(f"gw:photo-of:{photo_id}")
        return found.decode() if found else None

    async def opened(self, photo_id: str) -> bytes | None:
        sealed = await self._redis.get(f"gw:photo:{photo_id}")
        return self._sealer.open_bytes(sealed, photo_id) if sealed else None


def _too_large(_: Request[Any, Any, Any], __: RequestEntityTooLarge) -> Response[dict[str, Any]]:
    """A body past the route's limit is cut off before it is parsed: answered like a photo too large."""
    error = refused(413, f"a photo is at most {MAX_BYTES // (1024 * 1024)} MB")
    return Response({"status_code": 413, "detail": error.detail, "extra": error.extra}, status_code=413)


def no_photo(photo_id: str) -> NotFoundException:
    return NotFoundException(f"no photo {photo_id}")


class PhotoController(Controller):
    path = API
    tags = ["personal data"]
    exception_handlers = {RequestEntityTooLarge: _too_large}

    @post(
        "/intakes/{submission_id:uuid}/photos",
        status_code=201,
        operation_id="attachPhoto",
        summary="Attach a photo (JPEG, PNG or WebP, ≤5 MB, ≤5 an intake) to an intake of your subtree",
        guards=[requires(*INTAKE_ROLES)],
        request_max_body_size=MAX_BYTES + MULTIPART_SLACK,
    )
    async def attach(
        self,
        request: Request[Any, Any, Any],
        submission_id: FromPath[uuid.UUID],
        data: Annotated[PhotoUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
        state: State,
        idempotency_key: IdempotencyKey = None,
    ) -> Photo:
        principal: Principal = request.state.principal
        store = PhotoStore(state.redis, state.sealer)
        station = await store.owner(str(submission_id))
        unit = station_unit(state.registry.view, station) if station else None
        if unit is None or not principal.sees_unit(state.registry.view, unit):
            raise NotFoundException(f"no submission {submission_id}")  # the same answer as status()
        content = await data.data.read(MAX_BYTES + 1)
        content_type = check_photo(content)
        content = await asyncio.to_thread(scrubbed, content, content_type)  # tens of ms: off the event loop
        entry = await store.add(str(submission_id), idempotency_key, content, content_type)
        if entry is None:
            raise refused(400, f"an intake has at most {MAX_PHOTOS} photos")
        log.info("photo attached", extra={"login": principal.login, "photo_id": entry.photo_id})
        return shown(entry)

    @get(
        "/issues/{number:str}/photos",
        operation_id="issuePhotos",
        summary="The photos of an issue (within your scope)",
        guards=[requires(*STAFF_ROLES, "handler", "deputy")],
    )
    async def listed(self, request: Request[Any, Any, Any], number: FromPath[str], state: State) -> list[Photo]:
        issue = await state.issues.issue(number)
        if issue is None or not sees_issue(request.state.principal, state.registry.view, issue):
            raise no_issue(number)
        submission = await state.redis.get(f"gw:submission-of:{number}")
        if not submission:
            return []
        return [shown(e) for e in await PhotoStore(state.redis, state.sealer).entries(submission.decode())]

    @get(
        "/photos/{photo_id:str}",
        operation_id="photo",
        summary="A photo's image, for those who see its issue; every view is recorded",
        guards=[requires(*STAFF_ROLES, "handler", "deputy")],
        media_type="application/octet-stream",
    )
    async def photo(self, request: Request[Any, Any, Any], photo_id: FromPath[str], state: State) -> Response[bytes]:
        principal: Principal = request.state.principal
        store = PhotoStore(state.redis, state.sealer)
        submission = await store.submission_of(photo_id)
        number = await state.issues.number_for(uuid.UUID(submission)) if submission else None
        issue = await state.issues.issue(number) if number else None
        if issue is None or not sees_issue(principal, state.registry.view, issue):
            raise no_photo(photo_id)
        entry = next((e for e in await store.entries(str(submission)) if e.photo_id == photo_id), None)
        if entry is None:
            raise no_photo(photo_id)
        await record_view(state.redis, principal, issue.number, "photo", photo_id)  # recorded before it is shown
        content = await store.opened(photo_id)
        if content is None:
            raise no_photo(photo_id)
        log.info("photo shown", extra={"issue_id": issue.number, "login": principal.login, "photo_id": photo_id})
        return Response(content, media_type=entry.content_type, headers={"Cache-Control": "private, no-store"})
