"""Ratings and close-out, with fakes of the ports: a content voter closes the issue, a dissatisfied one
reopens it where it came from; anything out of turn is a ValueError the consumer dead-letters."""

from __future__ import annotations

from datetime import timedelta

import msgspec
import pytest

from common.bus import Outgoing
from contracts.base import derive_event_id
from contracts.commands import CloseUnreachable, RateIssue
from contracts.issues import IssueClosed, IssueEventMessage, IssueRated, IssueReopened
from contracts.topics import ISSUE_EVENTS
from services.feedback.handlers import FeedbackDeps, on_rating
from tests.unit.feedback.conftest import (
    ISSUE,
    ORIGIN,
    TOWN,
    VILLAGE,
    FakeClock,
    FakeIssueStates,
    Feed,
    completed,
    referred_to_town,
    resolved_on_spot,
)

_events = msgspec.json.Decoder(IssueEventMessage)


def decoded(records: list[Outgoing]) -> list[object]:
    assert {(r.topic, r.key) for r in records} == {(ISSUE_EVENTS.name, ISSUE)}
    return [_events.decode(r.value) for r in records]


def rate(satisfaction: str, comment: str | None = None) -> RateIssue:
    return RateIssue(issue_id=ISSUE, satisfaction=satisfaction, comment=comment, correlation_id="rating-1")


@pytest.fixture
async def fed_back(feed: Feed) -> None:
    await feed(*referred_to_town(), completed())


@pytest.mark.usefixtures("fed_back")
@pytest.mark.parametrize("satisfaction", ["satisfied", "basically_satisfied"])
async def test_content_rating_closes_the_issue_at_the_tier_that_resolved_it(
    satisfaction: str, deps: FeedbackDeps, states: FakeIssueStates
) -> None:
    command = rate(satisfaction, "水通了")
    rated, closed = decoded(await on_rating(command, deps))

    assert isinstance(rated, IssueRated) and isinstance(closed, IssueClosed)
    assert rated.event_id == derive_event_id(command.event_id, "rated")
    assert (rated.satisfaction, rated.comment, rated.causation_id, rated.origin_trace) == (
        satisfaction,
        "水通了",
        command.event_id,
        ORIGIN,
    )
    assert (closed.tier, closed.reason, closed.unreachable) == ("town", f"rated {satisfaction}", False)
    assert closed.causation_id == rated.event_id
    assert states.kept[ISSUE].state == "closed"


@pytest.mark.usefixtures("fed_back")
async def test_dissatisfied_rating_reopens_at_the_assigning_tier(deps: FeedbackDeps, states: FakeIssueStates) -> None:
    rated, reopened = decoded(await on_rating(rate("dissatisfied", "水压还是不够"), deps))

    assert isinstance(rated, IssueRated) and rated.satisfaction == "dissatisfied"
    assert isinstance(reopened, IssueReopened)
    assert (reopened.tier, reopened.unit, reopened.reason) == ("town", TOWN, "voter dissatisfied: 水压还是不够")
    state = states.kept[ISSUE]
    assert (state.state, state.tier, state.unit, state.reopened) == ("pending_review", "town", TOWN, 1)


async def test_dissatisfied_rating_of_an_on_spot_resolution_reopens_where_it_was_resolved(
    feed: Feed, deps: FeedbackDeps
) -> None:
    await feed(*resolved_on_spot())
    _, reopened = decoded(await on_rating(rate("dissatisfied"), deps))
    assert isinstance(reopened, IssueReopened)
    assert (reopened.tier, reopened.unit, reopened.reason) == ("village", VILLAGE, "voter dissatisfied")


@pytest.mark.usefixtures("fed_back")
async def test_redelivered_rating_yields_identical_records(deps: FeedbackDeps, states: FakeIssueStates) -> None:
    command = rate("satisfied")
    first = await on_rating(command, deps)
    kept = states.kept[ISSUE]
    assert await on_rating(command, deps) == first
    assert states.kept[ISSUE] == kept


@pytest.mark.usefixtures("fed_back")
async def test_rating_twice_is_refused(deps: FeedbackDeps, states: FakeIssueStates) -> None:
    await on_rating(rate("satisfied"), deps)
    kept = states.kept[ISSUE]
    with pytest.raises(ValueError, match="already rated"):
        await on_rating(rate("dissatisfied"), deps)
    assert states.kept[ISSUE] == kept


async def test_rating_before_feedback_is_refused(feed: Feed, deps: FeedbackDeps, states: FakeIssueStates) -> None:
    await feed(*referred_to_town())
    kept = states.kept[ISSUE]
    with pytest.raises(ValueError, match="the issue is assigned"):
        await on_rating(rate("satisfied"), deps)
    assert states.kept[ISSUE] == kept


async def test_rating_an_unknown_issue_is_refused(deps: FeedbackDeps, states: FakeIssueStates) -> None:
    with pytest.raises(ValueError, match="unknown issue"):
        await on_rating(rate("satisfied"), deps)
    assert states.kept == {}


@pytest.mark.usefixtures("fed_back")
async def test_a_satisfaction_outside_the_vocabulary_is_refused_by_name(deps: FeedbackDeps) -> None:
    with pytest.raises(ValueError, match="satisfaction: 'great' is not one of satisfied, basically_satisfied"):
        await on_rating(rate("great"), deps)


def close_unreachable() -> CloseUnreachable:
    return CloseUnreachable(issue_id=ISSUE, reason="三次电话联系选民未接通", closed_by="hotline-07")


@pytest.mark.usefixtures("fed_back")
async def test_closing_unrated_waits_for_the_window_after_feedback(
    deps: FeedbackDeps, states: FakeIssueStates, clock: FakeClock
) -> None:
    fed_back_at = states.kept[ISSUE].fed_back_at
    assert fed_back_at is not None
    clock.advance(timedelta(days=7) - timedelta(seconds=1))
    may_close_from = (fed_back_at + timedelta(days=7)).isoformat(timespec="minutes")
    with pytest.raises(ValueError, match="may be closed unrated from then") as refused:
        await on_rating(close_unreachable(), deps)
    assert may_close_from in str(refused.value)
    assert states.kept[ISSUE].state == "fed_back"

    clock.advance(timedelta(seconds=1))
    command = close_unreachable()
    (closed,) = decoded(await on_rating(command, deps))
    assert isinstance(closed, IssueClosed)
    assert (closed.unreachable, closed.reason, closed.tier) == (True, "三次电话联系选民未接通", "town")
    assert closed.event_id == derive_event_id(command.event_id, "closed")
    assert states.kept[ISSUE].state == "closed"


@pytest.mark.usefixtures("fed_back")
async def test_redelivered_close_yields_identical_records(deps: FeedbackDeps, clock: FakeClock) -> None:
    clock.advance(timedelta(days=8))
    command = close_unreachable()
    assert await on_rating(command, deps) == await on_rating(command, deps)


@pytest.mark.usefixtures("fed_back")
async def test_a_rated_issue_is_not_closed_unrated(deps: FeedbackDeps, clock: FakeClock) -> None:
    await on_rating(rate("dissatisfied"), deps)
    clock.advance(timedelta(days=30))
    with pytest.raises(
        ValueError, match="only an issue fed back and not rated can be closed unrated; it is pending_review"
    ):
        await on_rating(close_unreachable(), deps)


async def test_closing_an_issue_never_fed_back_is_refused(feed: Feed, deps: FeedbackDeps) -> None:
    await feed(*referred_to_town())
    with pytest.raises(ValueError, match="it is assigned"):
        await on_rating(close_unreachable(), deps)
