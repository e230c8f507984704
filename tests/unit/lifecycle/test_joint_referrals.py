"""Joint handling: only the lead completes a referral; co-handlers' replies are kept, even late ones."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from contracts.issues import (
    IssueAssigned,
    IssueReceived,
    IssueTriaged,
    ReferralAccepted,
    ReferralCompleted,
    ReferralSent,
)
from contracts.lifecycle import IllegalTransition, IssueState, apply

AT = datetime(2026, 11, 20, tzinfo=UTC)
N = "HB-202611-000042"
REFERRAL = {"issue_id": N, "referral_id": "R-HB-202611-000042-1"}


def assigned() -> IssueState:
    state = None
    for event in (
        IssueReceived(
            occurred_at=AT,
            issue_id=N,
            submission_id=uuid.uuid4(),
            channel="visit",
            station_code="610902",
            kind="problem",
            text="产业路损毁",
        ),
        IssueTriaged(
            occurred_at=AT,
            issue_id=N,
            category="roads_and_landslides",
            responsible_tier="district",
            responsible_unit="610902",
        ),
        IssueAssigned(
            occurred_at=AT,
            issue_id=N,
            tier="district",
            unit="610902",
            handler_code="d-transport",
            co_handlers=("d-finance",),
            deadline=date(2026, 12, 20),
        ),
        ReferralSent(
            occurred_at=AT,
            issue_id=N,
            referral_id=REFERRAL["referral_id"],
            handler_code="d-transport",
            co_handlers=("d-finance",),
            deadline=date(2026, 12, 20),
            tier="district",
            unit="610902",
        ),
    ):
        state = apply(state, event)
    assert state is not None
    return state


def test_a_co_handler_completing_does_not_complete_the_referral() -> None:
    state = apply(assigned(), ReferralCompleted(**REFERRAL, handler_code="d-finance", result="资金已拨付"))
    assert state.state == "assigned"
    assert state.co_replies == ("d-finance:referral.referral_completed.v1",)


def test_a_co_handlers_late_reply_after_the_lead_completed_is_kept() -> None:
    done = apply(assigned(), ReferralCompleted(**REFERRAL, handler_code="d-transport", result="道路已修复"))
    late = apply(done, ReferralCompleted(**REFERRAL, handler_code="d-finance", result="资金已拨付"))
    assert (done.state, late.state) == ("completed", "completed")
    assert late.co_replies == ("d-finance:referral.referral_completed.v1",)


def test_a_stranger_still_cannot_reply_after_completion() -> None:
    done = apply(assigned(), ReferralCompleted(**REFERRAL, handler_code="d-transport", result="道路已修复"))
    with pytest.raises(IllegalTransition):
        apply(done, ReferralAccepted(**REFERRAL, handler_code="d-health"))
    with pytest.raises(IllegalTransition):  # nor the lead a second time
        apply(done, ReferralCompleted(**REFERRAL, handler_code="d-transport", result="again"))
