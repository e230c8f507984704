"""The gateway's read model, pure part: what each issue event changes in the summary and adds to the history."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from contracts.issues import IssueAssigned, IssueClosed, IssueReceived, IssueSupervised, IssueTriaged
from gateway.readmodel import history_entry, summary_changes

NUMBER = "HB-202612-000001"
AT = datetime(2026, 11, 30, 16, 30, tzinfo=UTC)


def received(voter_masked: str | None = "张** 139****5678") -> IssueReceived:
    return IssueReceived(
        event_id=uuid.UUID("00000000-0000-4000-8000-000000000001"),
        occurred_at=AT,
        correlation_id="corr",
        causation_id=uuid.uuid4(),
        issue_id=NUMBER,
        submission_id=uuid.uuid4(),
        channel="visit",
        station_code="610902001",
        kind="problem",
        text="二组自来水管损坏",
        voter_masked=voter_masked,
    )


TRIAGED = IssueTriaged(
    occurred_at=AT, issue_id=NUMBER, category="water_supply", responsible_tier="town", responsible_unit="610902001"
)


def test_issue_received_sets_the_summary_with_the_masked_voter() -> None:
    assert summary_changes(received()) == {
        "state": "received",
        "number": NUMBER,
        "kind": "problem",
        "channel": "visit",
        "station_code": "610902001",
        "text": "二组自来水管损坏",
        "received_at": "2026-11-30T16:30:00+00:00",
        "voter": "张** 139****5678",
    }


def test_issue_received_without_a_voter_leaves_the_voter_empty() -> None:
    assert summary_changes(received(voter_masked=None))["voter"] == ""


def test_issue_triaged_sets_category_and_responsible_tier() -> None:
    assert summary_changes(TRIAGED) == {
        "category": "water_supply",
        "responsible_tier": "town",
        "responsible_unit": "610902001",
    }


def test_supervision_changes_nothing_in_the_summary() -> None:
    supervised = IssueSupervised(issue_id=NUMBER, supervision_id="S1", reason="overdue", overdue_days=3)
    assert summary_changes(supervised) == {}


def test_assignment_leaves_the_summary_to_the_lifecycle_state() -> None:
    assigned = IssueAssigned(issue_id=NUMBER, tier="town", unit="610902001", handler_code="w", deadline=date.today())
    assert summary_changes(assigned) == {}


def test_history_of_receipt_leaves_out_the_text_and_base_fields() -> None:
    event = received()
    entry = history_entry(event)
    assert entry.type == "intake.issue_received.v1"
    assert entry.event_id == "00000000-0000-4000-8000-000000000001"
    assert entry.occurred_at == AT
    assert entry.details == {
        "channel": "visit",
        "station_code": "610902001",
        "kind": "problem",
        "voter_masked": "张** 139****5678",
    }


def test_history_of_triage_lists_the_decision() -> None:
    entry = history_entry(TRIAGED)
    assert entry.type == "triage.issue_triaged.v1"
    assert entry.details == {"category": "water_supply", "responsible_tier": "town", "responsible_unit": "610902001"}


def test_history_details_are_plain_json_values_without_empty_ones() -> None:
    assigned = IssueAssigned(
        issue_id=NUMBER, tier="town", unit="610902001", handler_code="water", deadline=date(2026, 12, 31)
    )
    assert history_entry(assigned).details == {
        "tier": "town",
        "unit": "610902001",
        "handler_code": "water",
        "deadline": "2026-12-31",
    }
    closed = IssueClosed(issue_id=NUMBER, tier="town")
    assert history_entry(closed).details == {"tier": "town", "by_oversight": False, "unreachable": False}
