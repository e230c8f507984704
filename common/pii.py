"""Voters' personal data: masked for everyone, sealed (encrypted) wherever it is stored.

The gateway seals a voter's contact with AES-256-GCM before the submission leaves it, so the submissions
topic, the event archive, the outboxes and intake's records hold only ciphertext; it also sends the
masked form (张* 138****1234) that every reader may see. Only the gateway opens a sealed contact, for
those who handle the issue, and it records each time it does (`gateway.contacts`).

The key comes from `PII_KEY_FILE` (made once per data directory by the embedded runtime); the sealing
key and the hotline's phone-hashing key are derived from it for their own purpose, so neither can stand
in for the other. A sealed value names its key (`v1.<key id>.<base64 nonce+ciphertext>`), so a key can
be rotated: a `Sealer` given the old secrets still opens what they sealed (the gateway's `PII_OLD_KEY_FILES`).
Photos (`gateway.photos`) are sealed with a key of their own purpose (`seal-photo`), as raw bytes
(`v1.<key id>.` + nonce + ciphertext: base64 would add a third to every photo), bound to the photo's id."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

import msgspec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from contracts.intake import VoterContact

VERSION = "v1"


def derive(secret: bytes, purpose: str) -> bytes:
    """A 32-byte key for one purpose, from the key file's secret (HMAC-SHA256 as the KDF)."""
    return hmac.new(secret, f"deputies-platform/{purpose}".encode(), hashlib.sha256).digest()


class Sealer:
    def __init__(self, secret: bytes, old_secrets: tuple[bytes, ...] = ()) -> None:
        self.key_id, self._keys = _keyring(secret, old_secrets, "seal-contact")
        self._key = self._keys[self.key_id]
        self.photo_key_id, self._photo_keys = _keyring(secret, old_secrets, "seal-photo")
        self._encode = msgspec.json.Encoder()
        self._decode = msgspec.json.Decoder(VoterContact)

    def seal(self, contact: VoterContact) -> str:
        nonce = os.urandom(12)
        sealed = AESGCM(self._key).encrypt(nonce, self._encode.encode(contact), self.key_id.encode())
        return f"{VERSION}.{self.key_id}.{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def open(self, sealed: str) -> VoterContact:
        """Raises ValueError for a value this platform did not seal, or sealed with a key it no longer has."""
        try:
            version, key_id, body = sealed.split(".", 2)
            raw = base64.urlsafe_b64decode(body)
            key = self._keys[key_id]
            if version != VERSION:
                raise ValueError(version)
            return self._decode.decode(AESGCM(key).decrypt(raw[:12], raw[12:], key_id.encode()))
        except Exception as exc:  # a wrong key, a torn value, a forgery: all the same to the caller
            raise ValueError("cannot open this sealed contact") from exc

    def seal_bytes(self, data: bytes, bound_to: str) -> bytes:
        """Seal raw bytes (a photo) with the photo key; `bound_to` (the photo's id) must be given again to open it,
        so a sealed value copied under another id does not open."""
        nonce = os.urandom(12)
        sealed = AESGCM(self._photo_keys[self.photo_key_id]).encrypt(nonce, data, _bound(self.photo_key_id, bound_to))
        return f"{VERSION}.{self.photo_key_id}.".encode() + nonce + sealed

    def open_bytes(self, sealed: bytes, bound_to: str) -> bytes:
        """Raises ValueError for bytes this platform did not seal for `bound_to`, or with a key it no longer has."""
        try:
            version, key_id, raw = sealed.split(b".", 2)
            if version.decode() != VERSION:
                raise ValueError(version)
            key = self._photo_keys[key_id.decode()]
            return AESGCM(key).decrypt(raw[:12], raw[12:], _bound(key_id.decode(), bound_to))
        except Exception as exc:
            raise ValueError("cannot open these sealed bytes") from exc


def _keyring(secret: bytes, old_secrets: tuple[bytes, ...], purpose: str) -> tuple[str, dict[str, bytes]]:
    """The current key's id, and every key (current and old) by id, for one purpose."""
    key = derive(secret, purpose)
    key_id = hashlib.sha256(key).hexdigest()[:8]
    keys = {key_id: key}
    for old in old_secrets:
        old_key = derive(old, purpose)
        keys.setdefault(hashlib.sha256(old_key).hexdigest()[:8], old_key)
    return key_id, keys


def _bound(key_id: str, bound_to: str) -> bytes:
    return f"{key_id}|{bound_to}".encode()


def mask_name(name: str) -> str:
    name = name.strip()
    return name[:1] + "*" * max(1, len(name) - 1) if name else ""


def mask_phone(phone: str) -> str:
    """Mobile numbers keep their first 3 and last 4 digits (138****1234), landlines their last 2, and
    anything shorter nothing."""
    digits = "".join(c for c in phone if c.isdigit())
    if len(digits) >= 11:
        return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
    return "*" * (len(digits) - 2) + digits[-2:] if len(digits) >= 7 else "*" * len(digits)


def mask_voter(voter: VoterContact | None) -> str | None:
    """What anyone may see of a voter: 张* 138****1234. Addresses are never shown masked."""
    if voter is None:
        return None
    parts = [p for p in (mask_name(voter.name or ""), mask_phone(voter.phone or "")) if p]
    return " ".join(parts) or None
