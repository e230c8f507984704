"""Base Structs shared by every event and command on the bus."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

import msgspec

SCHEMA_VERSION = 1

# Derived event ids are uuid5 under this namespace, so a handler that runs twice for the
# same input emits byte-identical ids and consumers can drop the duplicate.
EVENT_ID_NAMESPACE = uuid.UUID("6f1c1f52-5b0e-4c1e-9d51-3a0b7e9c2a10")


def utc_now() -> datetime:
    return datetime.now(UTC)


def derive_event_id(cause: uuid.UUID, what: str) -> uuid.UUID:
    """The id of the event `what` caused by the message `cause`: stable across redeliveries."""
    return uuid.uuid5(EVENT_ID_NAMESPACE, f"{cause}:{what}")


class TraceContext(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """W3C trace context of the span that produced a message (also sent as record headers)."""

    traceparent: str
    tracestate: str | None = None


IssueNumber = Annotated[str, msgspec.Meta(min_length=1, max_length=40, pattern=r"^[A-Z]{1,6}-\d{6}-\d{6,}$")]


class Message(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    """Fields every message carries. Subclasses set `tag="<producer>.<name>.v<major>"`."""

    event_id: uuid.UUID = msgspec.field(default_factory=uuid.uuid4)
    occurred_at: datetime = msgspec.field(default_factory=utc_now)
    schema_version: int = SCHEMA_VERSION
    correlation_id: str | None = None
    causation_id: uuid.UUID | None = None
    trace: TraceContext | None = None


class Event(Message, frozen=True, kw_only=True):
    """Something that happened: named in the past tense."""


class Command(Message, frozen=True, kw_only=True):
    """Something asked of the owner of a piece of state: named in the imperative."""


class IssueEvent(Event, frozen=True, kw_only=True):
    """An event in the life of one issue; its key on the bus is the issue number.

    `origin_trace` is the trace of the intake that started the issue: a span for any later step
    links to it, so one issue can be followed across every tier and service."""

    issue_id: IssueNumber
    origin_trace: TraceContext | None = None


class IssueCommand(Command, frozen=True, kw_only=True):
    """A command about one existing issue; keyed by the issue number."""

    issue_id: IssueNumber
