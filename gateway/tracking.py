"""Tracking codes: what a voter is given for every submission, at a station, on the hotline or online, and
the only key a voter needs to follow the issue and rate it (`gateway.public_api`).

A code is 60 random bits: 12 characters of Crockford's base32 (no I, L, O, U), read aloud in three
groups (D158-MX2G-YV86). The gateway's submission desk files it (`gw:track:code:<code>` → submission id)
in the same atomic step that accepts the submission, and keeps it with the Idempotency-Key, so a retried
submission gets the code it was given the first time."""

from __future__ import annotations

import base64
import secrets
import uuid
from typing import Any

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 12
# RFC 4648 base32 digit by digit into Crockford's: the C base32 encoder does the bit slicing of every code
_CROCKFORD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", ALPHABET)
_READ_AS = str.maketrans("OIL", "011")


def new_tracking_code() -> str:
    """The first 12 base32 digits of 64 random bits: 60 of them, 5 a digit."""
    return base64.b32encode(secrets.token_bytes(8))[:CODE_LENGTH].decode().translate(_CROCKFORD)


def normalize_code(given: str) -> str:
    """What the voter typed, as stored: case, spaces and dashes do not matter; O/I/L read as 0/1/1."""
    return given.upper().replace("-", "").replace(" ", "").translate(_READ_AS)


def shown(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def tracking_key(code: str) -> str:
    return f"gw:track:code:{normalize_code(code)}"


async def submission_of(redis: Any, given: str) -> uuid.UUID | None:
    found = await redis.get(tracking_key(given))
    return uuid.UUID(found.decode() if isinstance(found, bytes) else found) if found else None
