"""The evolution rule with the real Structs: an added optional field is compatible both ways."""

from __future__ import annotations

import operator
from collections.abc import Callable
from functools import reduce
from typing import get_args

import msgspec
import pytest

from contracts.base import IssueEvent
from contracts.issues import IssueReceived, IssueTriaged
from contracts.topics import ISSUE_EVENTS


class NewerIssueReceived(IssueReceived, frozen=True, kw_only=True, tag="intake.issue_received.v1"):
    """IssueReceived as a later producer might send it: same tag, one optional field more."""

    urgency: str | None = None


class NewerIssueTriaged(IssueTriaged, frozen=True, kw_only=True, tag="triage.issue_triaged.v1"):
    sla_days: int = 15


def newer_union() -> object:
    """Today's issue-event union with the two Structs replaced by their newer versions."""
    newer = {IssueReceived: NewerIssueReceived, IssueTriaged: NewerIssueTriaged}
    return reduce(operator.or_, [newer.get(member, member) for member in get_args(ISSUE_EVENTS.messages)])


def received(cls: type[IssueReceived] = IssueReceived, **extra: object) -> IssueReceived:
    return cls(
        issue_id="XH-202503-000042",
        submission_id="4d7c1f52-5b0e-4c1e-9d51-3a0b7e9c2a10",
        channel="online",
        station_code="110105001",
        kind="problem",
        text="The street lamp at the school gate is out.",
        **extra,
    )


def triaged(cls: type[IssueTriaged] = IssueTriaged, **extra: object) -> IssueTriaged:
    return cls(
        issue_id="XH-202503-000042",
        category="infrastructure",
        responsible_tier="town",
        responsible_unit="110105001",
        **extra,
    )


def wire(message: msgspec.Struct) -> dict[str, object]:
    return msgspec.json.decode(msgspec.json.encode(message))


Make = Callable[..., msgspec.Struct]
CASES = [
    pytest.param(received, IssueReceived, NewerIssueReceived, "urgency", "high", None, id="IssueReceived"),
    pytest.param(triaged, IssueTriaged, NewerIssueTriaged, "sla_days", 5, 15, id="IssueTriaged"),
]
CASE_ARGS = ("make", "today", "newer", "field", "value", "default")


@pytest.mark.parametrize(CASE_ARGS, CASES)
def test_todays_consumer_decodes_a_newer_message(
    make: Make, today: type, newer: type, field: str, value: object, default: object
) -> None:
    sent = make(newer, **{field: value})
    decoded = msgspec.json.Decoder(ISSUE_EVENTS.messages).decode(msgspec.json.encode(sent))
    assert type(decoded) is today
    assert wire(decoded) == {k: v for k, v in wire(sent).items() if k != field}  # all it knows, unchanged


@pytest.mark.parametrize(CASE_ARGS, CASES)
def test_newer_consumer_decodes_todays_message(
    make: Make, today: type, newer: type, field: str, value: object, default: object
) -> None:
    sent = make(today)
    decoded = msgspec.json.Decoder(newer_union()).decode(msgspec.json.encode(sent))
    assert type(decoded) is newer
    assert getattr(decoded, field) == default
    assert {k: v for k, v in wire(decoded).items() if k != field} == wire(sent)


def test_a_new_required_field_would_break_newer_consumers() -> None:
    """Why the rule says "with a default": without one, today's messages no longer decode."""

    class Breaking(IssueEvent, frozen=True, kw_only=True, tag="triage.issue_triaged.v1"):
        category: str
        responsible_tier: str
        responsible_unit: str
        sla_days: int

    with pytest.raises(msgspec.ValidationError, match="sla_days"):
        msgspec.json.decode(msgspec.json.encode(triaged()), type=Breaking)


def test_an_unknown_type_tag_is_reported_at_the_type_field() -> None:
    """The consumer runtime recognises this error and skips the record instead of dead-lettering it."""
    newer_type = wire(triaged()) | {"type": "triage.issue_teleported.v1"}
    with pytest.raises(msgspec.ValidationError) as error:
        msgspec.json.Decoder(ISSUE_EVENTS.messages).decode(msgspec.json.encode(newer_type))
    assert "$.type" in str(error.value)
