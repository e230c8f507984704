"""Intake's pure rules: what a valid submission is, issue numbers by the district's month, masking of voters."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import msgspec
import pytest

from common.pii import Sealer, mask_name, mask_phone, mask_voter
from contracts.base import derive_event_id
from contracts.intake import SubmitIntake, VoterContact
from services.intake.domain import InvalidSubmission, check_submission, format_issue_number, numbering_month, receive

VOTER = VoterContact(name="张三丰", phone="13912345678", address="汉滨区新城街道二组12号")


def submission(**changes: object) -> SubmitIntake:
    fields: dict[str, object] = {
        "event_id": uuid.UUID("11111111-2222-4333-8444-555555555555"),
        "occurred_at": datetime(2026, 11, 30, 16, 30, tzinfo=UTC),
        "submission_id": uuid.UUID("aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"),
        "channel": "visit",
        "station_code": "610902001",
        "kind": "problem",
        "text": "二组自来水管损坏，已经停水三天",
        "voter": VOTER,
        "deputy_code": "D042",
    }
    return SubmitIntake(**(fields | changes))


def test_a_complete_submission_passes_the_checks() -> None:
    check_submission(submission())


@pytest.mark.parametrize(
    ("field", "bad"),
    [("channel", "carrier_pigeon"), ("kind", "complaint"), ("text", ""), ("text", "  \n\t ")],
)
def test_each_bad_field_is_named_in_the_rejection(field: str, bad: str) -> None:
    with pytest.raises(InvalidSubmission) as caught:
        check_submission(submission(**{field: bad}))
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}:")


def test_an_invalid_submission_is_a_value_error_so_it_is_never_retried() -> None:
    assert issubclass(InvalidSubmission, ValueError)


@pytest.mark.parametrize(
    ("at", "month"),
    [
        (datetime(2026, 11, 30, 15, 59, 59, tzinfo=UTC), "202611"),
        (datetime(2026, 11, 30, 16, 0, tzinfo=UTC), "202612"),
        (datetime(2026, 11, 30, 16, 30, tzinfo=UTC), "202612"),
        (datetime(2026, 12, 31, 16, 0, tzinfo=UTC), "202701"),
    ],
)
def test_numbering_month_follows_china_standard_time(at: datetime, month: str) -> None:
    assert numbering_month(at) == month


def test_issue_number_pads_the_sequence_to_six_digits() -> None:
    assert format_issue_number("HB", "202612", 7) == "HB-202612-000007"
    assert format_issue_number("HB", "202612", 1_234_567) == "HB-202612-1234567"


@pytest.mark.parametrize(
    ("name", "masked"),
    [("张三丰", "张**"), ("李", "李*"), ("  王五 ", "王*"), ("欧阳娜娜", "欧***"), ("", ""), ("   ", "")],
)
def test_mask_name_keeps_only_the_family_name_character(name: str, masked: str) -> None:
    assert mask_name(name) == masked


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("13912345678", "139****5678"),
        ("139-1234-5678", "139****5678"),
        ("+86 139 1234 5678", "861******5678"),
        ("12345", "*****"),
        ("123456", "******"),
        ("", ""),
        ("no digits", ""),
    ],
)
def test_mask_phone_hides_the_middle_digits(phone: str, masked: str) -> None:
    assert mask_phone(phone) == masked


def test_mask_phone_hides_some_digit_of_a_seven_digit_landline() -> None:
    assert mask_phone("8123456") != "8123456"


def test_mask_voter_shows_masked_name_and_phone_but_never_the_address() -> None:
    assert mask_voter(VOTER) == "张** 139****5678"
    assert mask_voter(VoterContact(phone="13912345678")) == "139****5678"
    assert mask_voter(VoterContact(address="汉滨区新城街道二组12号")) is None
    assert mask_voter(VoterContact()) is None
    assert mask_voter(None) is None


def test_receive_builds_the_same_bytes_every_time() -> None:
    first = msgspec.json.encode(receive(submission(), "HB-202612-000001"))
    again = msgspec.json.encode(receive(submission(), "HB-202612-000001"))
    assert first == again


def test_received_event_id_is_derived_from_the_submission() -> None:
    command = submission()
    received = receive(command, "HB-202612-000001")
    assert received.event_id == derive_event_id(command.event_id, "received")
    assert received.causation_id == command.event_id
    assert received.correlation_id == str(command.submission_id)
    assert received.occurred_at == command.occurred_at
    assert (received.issue_id, received.station_code, received.text) == (
        "HB-202612-000001",
        "610902001",
        command.text,
    )


def test_received_event_carries_no_personal_data_in_clear() -> None:
    wire = msgspec.json.encode(receive(submission(), "HB-202612-000001")).decode()
    assert "张三丰" not in wire
    assert "13912345678" not in wire
    assert "新城街道" not in wire
    assert msgspec.json.decode(wire)["voter_masked"] == "张** 139****5678"


def test_a_sealed_contact_travels_as_ciphertext_and_intake_passes_on_only_the_mask() -> None:
    sealer = Sealer(b"a-data-directory-secret")
    sealed = sealer.seal(VOTER)
    assert "13912345678" not in sealed and "张三丰" not in sealed and sealed.startswith("v1.")
    assert sealer.open(sealed) == VOTER
    received = receive(submission(voter=None, voter_sealed=sealed, voter_masked=mask_voter(VOTER)), "HB-202612-000001")
    assert received.voter_masked == "张** 139****5678"
    assert "13912345678" not in msgspec.json.encode(received).decode()


def test_a_contact_opens_only_with_its_own_or_a_kept_old_key() -> None:
    old, new = Sealer(b"last-year"), Sealer(b"this-year", old_secrets=(b"last-year",))
    sealed_last_year = old.seal(VOTER)
    assert new.open(sealed_last_year) == VOTER  # rotated: the old key is kept for what it sealed
    with pytest.raises(ValueError):
        Sealer(b"someone-else").open(sealed_last_year)
    tampered = sealed_last_year[:-4] + ("AAAA" if not sealed_last_year.endswith("AAAA") else "BBBB")
    with pytest.raises(ValueError):
        old.open(tampered)
