"""Issue events folded into the referral service's copy; an assignment makes the referral."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import msgspec
import pytest

from contracts.base import derive_event_id
from contracts.commands import ReferralIssued
from contracts.issues import IssueEventMessage, IssueFedBack, ReferralSent, ReferralUnable
from contracts.topics import HEADER_EVENT_ID, HEADER_MESSAGE_TYPE, ISSUE_EVENTS, referral_topic
from services.referral.domain import SUMMARY_CHARS, UNCATEGORIZED
from services.referral.handlers import on_issue_event
from services.referral.ports import Clock, IssueStore, IssueTexts, ReferralNumbers, TopicAdmin

from .conftest import ISSUE, TEXT, Fakes, assigned, received, triaged


def decode_referral(value: bytes) -> ReferralIssued:
    return msgspec.json.decode(value, type=ReferralIssued)


def decode_event(value: bytes) -> IssueEventMessage:
    return msgspec.json.decode(value, type=IssueEventMessage)


async def consume(fakes: Fakes, *events):  # type: ignore[no-untyped-def]
    out = []
    for event in events:
        out.extend(await on_issue_event(event, fakes.deps))
    return out


def test_fakes_satisfy_the_ports(fakes: Fakes) -> None:
    assert isinstance(fakes.states, IssueStore)
    assert isinstance(fakes.texts, IssueTexts)
    assert isinstance(fakes.numbers, ReferralNumbers)
    assert isinstance(fakes.topics, TopicAdmin)
    assert isinstance(fakes.clock, Clock)


async def test_issue_events_are_folded_and_the_text_is_kept_for_the_summary(fakes: Fakes) -> None:
    assert await consume(fakes, received(), triaged()) == []
    state = fakes.states.states[ISSUE]
    assert (state.state, state.category) == ("pending_review", "water_supply")
    assert fakes.texts.texts[ISSUE] == TEXT[:SUMMARY_CHARS]


async def test_assignment_refers_the_issue_to_the_lead_and_each_co_handler(fakes: Fakes) -> None:
    await consume(fakes, received(), triaged())
    event = assigned(co_handlers=("t-finance", "t-roads"))
    lead, co1, co2, sent = await consume(fakes, event)

    assert [r.topic for r in (lead, co1, co2)] == [referral_topic(c).name for c in ("t-water", "t-finance", "t-roads")]
    assert {r.key for r in (lead, co1, co2, sent)} == {ISSUE}
    referrals = [decode_referral(r.value) for r in (lead, co1, co2)]
    assert [(r.handler_code, r.role) for r in referrals] == [
        ("t-water", "lead"),
        ("t-finance", "co"),
        ("t-roads", "co"),
    ]
    for referral in referrals:
        assert referral.referral_id == f"R-{ISSUE}-1"
        assert (referral.deadline, referral.category) == (event.deadline, "water_supply")
        assert referral.summary == TEXT[:SUMMARY_CHARS]
        assert (referral.causation_id, referral.correlation_id) == (event.event_id, "submission-1")
    assert len({r.event_id for r in referrals}) == 3
    assert fakes.topics.ensured == [referral_topic(c).name for c in ("t-water", "t-finance", "t-roads")]


async def test_assignment_publishes_referral_sent_and_folds_it_at_once(fakes: Fakes) -> None:
    await consume(fakes, received(), triaged())
    event = assigned()
    *_, record = await consume(fakes, event)

    assert record.topic == ISSUE_EVENTS.name
    sent = decode_event(record.value)
    assert isinstance(sent, ReferralSent)
    assert sent.event_id == derive_event_id(event.event_id, "referral_sent")
    assert (sent.causation_id, sent.correlation_id, sent.origin_trace) == (event.event_id, "submission-1", None)
    assert (sent.referral_id, sent.handler_code, sent.co_handlers) == (f"R-{ISSUE}-1", "t-water", ("t-finance",))
    assert (sent.deadline, sent.tier, sent.unit) == (event.deadline, "town", "610902001")
    assert record.headers[HEADER_MESSAGE_TYPE] == "referral.referral_sent.v1"
    assert record.headers[HEADER_EVENT_ID] == str(sent.event_id)
    state = fakes.states.states[ISSUE]
    assert (state.state, state.referral_id) == ("assigned", f"R-{ISSUE}-1")

    before = state
    assert await consume(fakes, sent) == []  # our own event coming back on the topic changes nothing
    assert fakes.states.states[ISSUE] == before


async def test_redelivered_assignment_gives_identical_records(fakes: Fakes) -> None:
    await consume(fakes, received(), triaged())
    event = assigned()
    first = await consume(fakes, event)
    fakes.clock.moment = datetime(2026, 12, 9, tzinfo=UTC)  # redelivered a week later
    again = await consume(fakes, event)
    assert again == first


async def test_the_next_assignment_of_the_issue_gets_the_next_referral_number(fakes: Fakes) -> None:
    await consume(fakes, received(), triaged())
    *_, sent_record = await consume(fakes, assigned(co_handlers=()))
    sent = decode_event(sent_record.value)
    unable = ReferralUnable(
        issue_id=ISSUE,
        referral_id=sent.referral_id,
        handler_code="t-water",
        reason_code="no_funds",
        reason="无应急资金",
    )
    await consume(fakes, unable)
    assert fakes.states.states[ISSUE].state == "pending_review"

    lead, _ = await consume(fakes, assigned(co_handlers=()))
    assert decode_referral(lead.value).referral_id == f"R-{ISSUE}-2"


async def test_an_issue_event_our_copy_refuses_is_logged_not_dead_lettered(
    fakes: Fakes, caplog: pytest.LogCaptureFixture
) -> None:
    await consume(fakes, received(), triaged())
    before = fakes.states.states[ISSUE]
    fed_back = IssueFedBack(issue_id=ISSUE, message="已处理")  # never completed: our copy refuses it
    with caplog.at_level(logging.WARNING):
        assert await consume(fakes, fed_back) == []
    assert fakes.states.states[ISSUE] == before
    assert "copy kept as it was" in caplog.text


async def test_an_assignment_our_copy_never_saw_coming_is_still_referred(fakes: Fakes) -> None:
    lead, _, sent = await consume(fakes, assigned())  # the topic says it was assigned: the handlers must hear
    referral = decode_referral(lead.value)
    assert (referral.category, referral.summary) == (UNCATEGORIZED, "")
    assert isinstance(decode_event(sent.value), ReferralSent)
    assert ISSUE not in fakes.states.states


async def test_a_bad_handler_code_is_a_value_error(fakes: Fakes) -> None:
    await consume(fakes, received(), triaged())
    with pytest.raises(ValueError, match="handler_code"):
        await consume(fakes, assigned(co_handlers=("Not A Code",)))
