"""The hotline's caller lookup: a caller's earlier issues by phone number, so a repeat call joins the issue
it belongs to instead of becoming a second one.

The gateway files each intake's submission under a keyed hash of the caller's phone number
(`gw:caller:<HMAC-SHA256(key, digits)>` → submission ids by time), never the number itself; the key is
the platform's personal-data key (`PII_KEY_FILE`, made once per data directory). Only staff see the
answer, only the issues inside their subtree, and voters only masked."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import time
import uuid
from pathlib import Path
from typing import Any

from litestar import Controller, Request, get
from litestar.datastructures import State

from gateway.access import STAFF_ROLES, sees_issue
from gateway.auth import requires
from gateway.schemas import IssueView
from gateway.workflow_api import field_error

log = logging.getLogger(__name__)
API = "/api/v1/callers"
KEEP_S = 400 * 86400  # a caller's history reaches back a little over a year


def load_key(path: str) -> bytes:
    """The personal-data key from its file; without one (a unit test, a bare gateway) a key for this
    process only, so nothing filed under it outlives the process."""
    if path:
        return Path(path).read_text("utf-8").strip().encode()
    log.warning("PII_KEY_FILE is not set: caller lookups last only as long as this process")
    return secrets.token_bytes(32)


def digits(phone: str) -> str:
    """A phone number as dialled: digits only, without China's +86 / 0086 prefix."""
    found = re.sub(r"\D", "", phone)
    return found[2:] if len(found) == 13 and found.startswith("86") else found.removeprefix("0086")


class CallerIndex:
    """Files under the current key; finds under it and under retired keys (`PII_OLD_KEY_FILES`), so a
    caller filed before a key rotation is still found until their entries age out (`KEEP_S`)."""

    def __init__(self, redis: Any, key: bytes, old_keys: tuple[bytes, ...] = ()) -> None:
        self._redis, self._key, self._old_keys = redis, key, old_keys

    def _name(self, phone: str, key: bytes | None = None) -> str:
        return "gw:caller:" + hmac.new(key or self._key, digits(phone).encode(), hashlib.sha256).hexdigest()

    async def file(self, phone: str, submission_id: uuid.UUID) -> None:
        name, now = self._name(phone), time.time()
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.zadd(name, {str(submission_id): now})
            pipe.zremrangebyscore(name, 0, now - KEEP_S)
            pipe.expire(name, KEEP_S)
            await pipe.execute()

    async def submissions(self, phone: str) -> list[uuid.UUID]:
        """The caller's submissions, newest first (200 at most)."""
        names = [self._name(phone, key) for key in (self._key, *self._old_keys)]
        async with self._redis.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.zrevrange(name, 0, 199, withscores=True)
            found = {s: at for listed in await pipe.execute() for s, at in listed}
        newest = sorted(found, key=lambda s: found[s], reverse=True)[:200]
        return [uuid.UUID(s.decode() if isinstance(s, bytes) else s) for s in newest]


def load_keys(paths: str) -> tuple[bytes, ...]:
    """Retired personal-data keys, from their files (comma-separated paths; empty: none)."""
    return tuple(load_key(path) for path in (p.strip() for p in paths.split(",")) if path)


class CallerController(Controller):
    path = API
    tags = ["workflow"]

    @get(
        "/",
        operation_id="callerIssues",
        summary="A caller's earlier issues by phone number (staff; your subtree only; voters masked)",
        guards=[requires(*STAFF_ROLES)],
    )
    async def issues(self, request: Request, phone: str, state: State) -> dict[str, object]:
        if not 5 <= len(digits(phone)) <= 20:
            raise field_error("phone", "a phone number has 5 to 20 digits")
        numbers = [n for s in await state.callers.submissions(phone) if (n := await state.issues.number_for(s))]
        view, principal = state.registry.view, request.state.principal
        items: list[IssueView] = [i for i in await state.issues.summaries(numbers) if sees_issue(principal, view, i)]
        return {"total": len(items), "items": items}
