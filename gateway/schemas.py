"""HTTP request and response bodies. Requests forbid unknown fields: a typo is an error, not data lost."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

Text = Annotated[str, msgspec.Meta(min_length=1, max_length=5000, description="what the voter raised")]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=50)]
Phone = Annotated[str, msgspec.Meta(pattern=r"^\+?[0-9][0-9 -]{4,19}$", description="digits, spaces, dashes")]
Address = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
StationCode = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^\d{6}(\d{3}){0,2}(-W\d{2})?$",
        description="station code: its unit's code (6 district, 9 town, 12 village), -Wnn for a workroom",
    ),
]
Code = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9_-]{1,40}$")]


class VoterContactIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: Name | None = None
    phone: Phone | None = None
    address: Address | None = None


class IntakeRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    channel: Literal["reception", "visit", "hotline", "online", "window", "program"]
    station_code: StationCode
    kind: Literal["problem", "opinion", "suggestion"]
    text: Text
    voter: VoterContactIn | None = None
    deputy_code: Code | None = None
    on_spot_resolution: (
        Annotated[str, msgspec.Meta(min_length=1, max_length=2000, description="resolved at once by the station: how")]
        | None
    ) = None


class IntakeAccepted(msgspec.Struct, kw_only=True):
    submission_id: uuid.UUID
    status_url: str
    tracking_code: str  # for the voter: follow and rate the issue at /ui/voter.html#<code>


class SubmissionStatus(msgspec.Struct, kw_only=True, omit_defaults=True):
    submission_id: uuid.UUID
    status: Literal["accepted", "received"]
    issue_number: str | None = None
    issue_url: str | None = None


class HistoryEntry(msgspec.Struct, kw_only=True):
    type: str
    event_id: str
    occurred_at: datetime
    details: dict[str, object]


class IssueView(msgspec.Struct, kw_only=True, omit_defaults=True):
    number: str
    state: str
    kind: str
    channel: str
    station_code: str
    text: str
    received_at: datetime
    voter: str | None = None
    deputy_code: str | None = None  # the deputy who collected it
    category: str | None = None
    responsible_tier: str | None = None
    responsible_unit: str | None = None
    tier: str | None = None  # where it sits now
    unit: str | None = None
    referral_id: str | None = None
    handler_code: str | None = None
    co_handlers: list[str] = msgspec.field(default_factory=list)
    deadline: date | None = None
    satisfaction: str | None = None
    reopened: int = 0
    history: list[HistoryEntry] = msgspec.field(default_factory=list)
