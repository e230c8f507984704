"""Pure rules of intake: issue numbers, what a valid submission is, masking of voters' data."""

from __future__ import annotations

from datetime import UTC, datetime

from common.pii import mask_voter
from contracts.base import derive_event_id
from contracts.calendar import CHINA
from contracts.intake import SubmitIntake
from contracts.issues import IssueReceived
from contracts.vocabulary import CHANNELS, ISSUE_KINDS


class InvalidSubmission(ValueError):
    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field


def check_submission(submission: SubmitIntake) -> None:
    if submission.channel not in CHANNELS:
        raise InvalidSubmission("channel", f"{submission.channel!r} is not one of {', '.join(CHANNELS)}")
    if submission.kind not in ISSUE_KINDS:
        raise InvalidSubmission("kind", f"{submission.kind!r} is not one of {', '.join(ISSUE_KINDS)}")
    if not submission.text.strip():
        raise InvalidSubmission("text", "must not be empty")


def numbering_month(at: datetime) -> str:
    """Issue numbers count per month of the district's own calendar (UTC+8); a naive time is UTC."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return at.astimezone(CHINA).strftime("%Y%m")


def format_issue_number(prefix: str, month: str, sequence: int) -> str:
    return f"{prefix}-{month}-{sequence:06d}"


def receive(submission: SubmitIntake, number: str) -> IssueReceived:
    """The IssueReceived for a numbered submission: the same bytes however often it is built."""
    return IssueReceived(
        event_id=derive_event_id(submission.event_id, "received"),
        occurred_at=submission.occurred_at,
        correlation_id=str(submission.submission_id),
        causation_id=submission.event_id,
        issue_id=number,
        submission_id=submission.submission_id,
        channel=submission.channel,
        station_code=submission.station_code,
        kind=submission.kind,
        text=submission.text,
        voter_masked=submission.voter_masked or mask_voter(submission.voter),  # the gateway masks what it seals
        deputy_code=submission.deputy_code,
        on_spot_resolution=submission.on_spot_resolution,
    )
