"""Feedback on issue events, with fakes of the ports: a completed or resolved issue is fed back to its
voter and deputy at once, and the issue's copy moves on; the topic's events are never refused."""

from __future__ import annotations

import logging
from datetime import timedelta

import msgspec
import pytest

from contracts.base import derive_event_id
from contracts.commands import Notification
from contracts.issues import IssueClosed, IssueFedBack, IssueResolved
from contracts.topics import HEADER_MESSAGE_TYPE, ISSUE_EVENTS, NOTIFICATIONS
from services.feedback.ports import Clock, IssueStateStore
from tests.unit.feedback.conftest import (
    DEPUTY,
    ISSUE,
    ORIGIN,
    RESULT,
    TOWN,
    VILLAGE,
    FakeClock,
    FakeIssueStates,
    Feed,
    completed,
    referred_to_town,
    resolved_on_spot,
)


def test_fakes_satisfy_the_ports(states: FakeIssueStates, clock: FakeClock) -> None:
    assert isinstance(states, IssueStateStore)
    assert isinstance(clock, Clock)


async def test_completed_referral_is_fed_back_to_voter_and_deputy(
    feed: Feed, states: FakeIssueStates, clock: FakeClock
) -> None:
    assert await feed(*referred_to_town()) == []
    cause = completed()
    fed, to_voter, to_deputy = await feed(cause)

    assert (fed.topic, fed.key, fed.headers[HEADER_MESSAGE_TYPE]) == (
        ISSUE_EVENTS.name,
        ISSUE,
        "feedback.issue_fed_back.v1",
    )
    event = msgspec.json.decode(fed.value, type=IssueFedBack)
    assert event.event_id == derive_event_id(cause.event_id, "fed_back")
    assert (event.causation_id, event.correlation_id, event.origin_trace) == (cause.event_id, "submission-1", ORIGIN)
    assert (event.to_deputy, event.to_voter, event.occurred_at) == (DEPUTY, True, clock.moment)
    assert event.message == f"您反映的问题（{ISSUE}）已办理：{RESULT}。请对办理结果评价：满意、基本满意或不满意。"

    assert [(r.topic, r.key) for r in (to_voter, to_deputy)] == [(NOTIFICATIONS.name, ISSUE)] * 2
    voter, deputy = (msgspec.json.decode(r.value, type=Notification) for r in (to_voter, to_deputy))
    assert (voter.recipient, voter.text) == ("voter", event.message)
    assert deputy.recipient == f"deputy:{DEPUTY}"
    assert ISSUE in deputy.text and RESULT in deputy.text
    assert {voter.causation_id, deputy.causation_id} == {event.event_id}

    state = states.kept[ISSUE]
    assert (state.state, state.fed_back_at) == ("fed_back", clock.moment)


async def test_review_resolution_is_fed_back(feed: Feed, states: FakeIssueStates) -> None:
    triaged_at_village = referred_to_town()[:2]
    resolved = IssueResolved(issue_id=ISSUE, tier="village", unit=VILLAGE, resolution="村两委会协调修复了水管")
    fed, *notes = await feed(*triaged_at_village, resolved)
    assert "已办理：村两委会协调修复了水管" in msgspec.json.decode(fed.value, type=IssueFedBack).message
    assert len(notes) == 2
    assert states.kept[ISSUE].state == "fed_back"


async def test_issue_resolved_on_spot_is_fed_back_to_the_voter_alone(feed: Feed, states: FakeIssueStates) -> None:
    fed, to_voter = await feed(*resolved_on_spot())
    event = msgspec.json.decode(fed.value, type=IssueFedBack)
    assert event.to_deputy is None
    assert event.message.startswith(f"您反映的问题（{ISSUE}）已立即解决：当场联系保洁员清运了垃圾。")
    assert msgspec.json.decode(to_voter.value, type=Notification).recipient == "voter"
    assert states.kept[ISSUE].state == "fed_back"


async def test_redelivered_completion_yields_identical_records(feed: Feed, clock: FakeClock) -> None:
    await feed(*referred_to_town())
    cause = completed()
    first = await feed(cause)
    clock.advance(timedelta(hours=1))  # a redelivery comes later: the time is the kept one
    again = await feed(cause)
    assert again == first


async def test_feedback_coming_back_on_the_topic_changes_nothing(feed: Feed, states: FakeIssueStates) -> None:
    await feed(*referred_to_town())
    fed, *_ = await feed(completed())
    before = states.kept[ISSUE]
    assert await feed(msgspec.json.decode(fed.value, type=IssueFedBack)) == []
    assert states.kept[ISSUE] is before


async def test_an_event_the_copy_refuses_is_logged_and_the_copy_kept(
    feed: Feed, states: FakeIssueStates, caplog: pytest.LogCaptureFixture
) -> None:
    await feed(*referred_to_town())
    before = states.kept[ISSUE]
    with caplog.at_level(logging.WARNING):
        assert await feed(IssueClosed(issue_id=ISSUE, tier="town")) == []  # never fed back: not for closing
    assert states.kept[ISSUE] == before
    assert "never fed back" in caplog.records[-1].reason


async def test_events_of_an_issue_never_received_are_logged_not_refused(feed: Feed, states: FakeIssueStates) -> None:
    assert await feed(completed()) == []
    assert states.kept == {}


async def test_every_other_event_is_folded_without_output(feed: Feed, states: FakeIssueStates) -> None:
    events = referred_to_town()
    assert await feed(*events) == []
    state = states.kept[ISSUE]
    assert (state.state, state.tier, state.unit, state.deputy_code) == ("assigned", "town", TOWN, DEPUTY)
    assert state.applied == tuple(str(e.event_id) for e in events)
