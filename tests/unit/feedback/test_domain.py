"""Feedback's pure rules: the Chinese texts for voters and deputies, and the ids of what feedback sends."""

from __future__ import annotations

from datetime import UTC, datetime

from common.settings import load_settings
from contracts.base import derive_event_id
from contracts.issues import IssueFedBack
from services.feedback.domain import deputy_text, notifications, voter_text
from services.feedback.settings import FeedbackSettings
from tests.unit.feedback.conftest import DEPUTY, ISSUE, RESULT, completed


def test_voter_text_names_the_issue_and_result_and_asks_for_a_rating() -> None:
    assert voter_text("HB-202611-000123", "已修复") == (
        "您反映的问题（HB-202611-000123）已办理：已修复。请对办理结果评价：满意、基本满意或不满意。"
    )
    assert voter_text(ISSUE, "当场调解", on_spot=True).startswith(f"您反映的问题（{ISSUE}）已立即解决：当场调解。")


def test_deputy_text_names_the_issue_and_result() -> None:
    assert deputy_text(ISSUE, RESULT) == (
        f"您收集的选民问题（{ISSUE}）已办理：{RESULT}。办理结果已反馈选民，请跟踪选民评价。"
    )


def fed_back(to_deputy: str | None) -> IssueFedBack:
    cause = completed()
    return IssueFedBack(
        event_id=derive_event_id(cause.event_id, "fed_back"),
        occurred_at=datetime(2026, 12, 1, tzinfo=UTC),
        correlation_id="submission-1",
        issue_id=ISSUE,
        to_deputy=to_deputy,
        message=voter_text(ISSUE, RESULT),
    )


def test_notifications_have_ids_derived_from_the_feedback() -> None:
    event = fed_back(DEPUTY)
    voter, deputy = notifications(event, completed())
    assert voter.event_id == derive_event_id(event.event_id, "notify:voter")
    assert deputy.event_id == derive_event_id(event.event_id, f"notify:deputy:{DEPUTY}")
    assert notifications(event, completed()) == [voter, deputy]


def test_without_a_deputy_only_the_voter_is_notified() -> None:
    assert [n.recipient for n in notifications(fed_back(None), completed())] == ["voter"]


def test_settings_give_a_voter_seven_days_to_rate_by_default() -> None:
    settings = load_settings(FeedbackSettings, {})
    assert (settings.consumer_group, settings.ratings_group, settings.unreachable_after_days) == (
        "feedback",
        "feedback-ratings",
        7,
    )
    assert load_settings(FeedbackSettings, {"UNREACHABLE_AFTER_DAYS": "0.5"}).unreachable_after_days == 0.5
