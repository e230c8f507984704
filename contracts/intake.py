"""Submissions: from the gateway (or any intake channel) to the intake service."""

from __future__ import annotations

import uuid
from typing import Annotated

import msgspec

from contracts.base import Command

StationCode = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^\d{6}(\d{3}){0,2}(-W\d{2})?$", description="station code: its admin unit's, with -Wnn for a workroom"
    ),
]


class VoterContact(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Personal information: travels only on the submissions topic, never on issue events."""

    name: str | None = None
    phone: str | None = None
    address: str | None = None


class SubmitIntake(Command, frozen=True, kw_only=True, tag="gateway.submit_intake.v1"):
    """Record a voter's problem, opinion or suggestion. Keyed by `submission_id`."""

    submission_id: uuid.UUID
    channel: str
    station_code: StationCode
    kind: str
    text: str
    voter: VoterContact | None = None  # only from producers that cannot seal; the gateway sends voter_sealed
    deputy_code: str | None = None
    submitted_by: str | None = None
    voter_sealed: str | None = None  # the contact, encrypted by the gateway (common.pii); opaque to everyone else
    voter_masked: str | None = None  # what any reader may see: 张* 138****1234
    on_spot_resolution: str | None = None  # the station resolved it at once: how


SubmissionMessage = SubmitIntake
