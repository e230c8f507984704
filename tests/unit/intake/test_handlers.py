"""Intake's handler with an in-memory store: a submission in, one numbered IssueReceived out."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import msgspec
import pytest

from contracts.intake import SubmitIntake
from contracts.issues import IssueReceived
from contracts.topics import HEADER_EVENT_ID, HEADER_MESSAGE_TYPE, ISSUE_EVENTS
from services.intake.domain import InvalidSubmission, format_issue_number
from services.intake.handlers import IntakeDeps, on_submit_intake
from services.intake.ports import IntakeStore


class FakeIntakeStore:
    def __init__(self) -> None:
        self.numbers: dict[uuid.UUID, str] = {}
        self.sequences: dict[tuple[str, str], int] = {}
        self.records: dict[str, SubmitIntake] = {}

    async def register(self, submission: SubmitIntake, prefix: str, month: str) -> str:
        if submission.submission_id not in self.numbers:
            sequence = self.sequences[(prefix, month)] = self.sequences.get((prefix, month), 0) + 1
            number = self.numbers[submission.submission_id] = format_issue_number(prefix, month, sequence)
            self.records[number] = submission
        return self.numbers[submission.submission_id]


@pytest.fixture
def store() -> FakeIntakeStore:
    return FakeIntakeStore()


@pytest.fixture
def deps(store: FakeIntakeStore) -> IntakeDeps:
    return IntakeDeps(store=store, number_prefix="HB")


def submission(channel: str = "hotline") -> SubmitIntake:
    return SubmitIntake(
        occurred_at=datetime(2026, 11, 30, 16, 30, tzinfo=UTC),
        submission_id=uuid.uuid4(),
        channel=channel,
        station_code="610902001001",
        kind="problem",
        text="通村公路滑坡，车辆无法通行",
    )


def test_fake_store_satisfies_the_port(store: FakeIntakeStore) -> None:
    assert isinstance(store, IntakeStore)


async def test_redelivered_submission_keeps_its_number_and_bytes(deps: IntakeDeps) -> None:
    command = submission()
    first = await on_submit_intake(command, deps)
    again = await on_submit_intake(command, deps)
    assert [r.key for r in first] == [r.key for r in again] == ["HB-202612-000001"]
    assert first[0].value == again[0].value
    assert first[0].headers == again[0].headers


async def test_two_submissions_get_consecutive_numbers_in_the_district_month(deps: IntakeDeps) -> None:
    (first,) = await on_submit_intake(submission(), deps)
    (second,) = await on_submit_intake(submission(), deps)
    assert (first.key, second.key) == ("HB-202612-000001", "HB-202612-000002")


async def test_issue_received_goes_to_issue_events_keyed_by_number(deps: IntakeDeps, store: FakeIntakeStore) -> None:
    command = submission()
    (record,) = await on_submit_intake(command, deps)
    assert record.topic == ISSUE_EVENTS.name
    received = msgspec.json.decode(record.value, type=IssueReceived)
    assert received.issue_id == record.key
    assert received.submission_id == command.submission_id
    assert record.headers[HEADER_MESSAGE_TYPE] == "intake.issue_received.v1"
    assert record.headers[HEADER_EVENT_ID] == str(received.event_id)
    assert store.records == {record.key: command}


async def test_invalid_channel_is_rejected_as_a_value_error_without_a_number(
    deps: IntakeDeps, store: FakeIntakeStore
) -> None:
    with pytest.raises(ValueError, match="channel") as caught:
        await on_submit_intake(submission(channel="fax"), deps)
    assert isinstance(caught.value, InvalidSubmission)
    assert store.numbers == {}
    assert store.records == {}
