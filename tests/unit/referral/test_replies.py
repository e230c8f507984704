"""Handlers' replies become issue events when the lifecycle allows them, and are refused otherwise."""

from __future__ import annotations

import uuid

import msgspec
import pytest

from contracts import lifecycle
from contracts.base import TraceContext, derive_event_id
from contracts.commands import AcceptReferral, HandlerReply, ReportProgress, ReportResult, ReportUnable
from contracts.issues import (
    IssueEventMessage,
    ProgressReported,
    ReferralAccepted,
    ReferralCompleted,
    ReferralSent,
    ReferralUnable,
)
from contracts.lifecycle import IssueState
from contracts.topics import ISSUE_EVENTS
from services.referral.handlers import on_reply

from .conftest import ISSUE, NOW, Fakes, assigned, received, triaged

REFERRAL = f"R-{ISSUE}-1"


def referred(fakes: Fakes, co_handlers: tuple[str, ...] = ("t-finance",)) -> IssueState:
    event = assigned(co_handlers=co_handlers)
    sent = ReferralSent(
        issue_id=ISSUE,
        referral_id=REFERRAL,
        handler_code=event.handler_code,
        co_handlers=event.co_handlers,
        deadline=event.deadline,
        tier=event.tier,
        unit=event.unit,
    )
    return fakes.seed(received(), triaged(), event, sent)


def reply_of(kind: type[HandlerReply], handler: str = "t-water", referral: str = REFERRAL) -> HandlerReply:
    extra = {
        AcceptReferral: {},
        ReportProgress: {"note": "已进场施工"},
        ReportResult: {"result": "水管已修复，恢复供水"},
        ReportUnable: {"reason_code": "no_funds", "reason": "缺少维修资金"},
    }[kind]
    return kind(correlation_id="dept-1", issue_id=ISSUE, referral_id=referral, handler_code=handler, **extra)


async def emitted(reply: HandlerReply, fakes: Fakes) -> IssueEventMessage:
    (record,) = await on_reply(reply, fakes.deps)
    assert (record.topic, record.key) == (ISSUE_EVENTS.name, ISSUE)
    return msgspec.json.decode(record.value, type=IssueEventMessage)


@pytest.mark.parametrize(
    ("kind", "event_type", "state_after"),
    [
        (AcceptReferral, ReferralAccepted, "in_progress"),
        (ReportProgress, ProgressReported, "in_progress"),
        (ReportResult, ReferralCompleted, "completed"),
        (ReportUnable, ReferralUnable, "pending_review"),
    ],
)
async def test_each_reply_of_the_lead_becomes_its_issue_event(
    fakes: Fakes, kind: type[HandlerReply], event_type: type, state_after: str
) -> None:
    referred(fakes)
    reply = reply_of(kind)
    event = await emitted(reply, fakes)

    assert type(event) is event_type
    assert event.event_id == derive_event_id(reply.event_id, "reply")
    assert (event.causation_id, event.correlation_id, event.occurred_at) == (reply.event_id, "dept-1", NOW)
    assert (event.referral_id, event.handler_code) == (REFERRAL, "t-water")
    assert fakes.states.states[ISSUE].state == state_after


async def test_reply_fields_are_carried_into_the_event(fakes: Fakes) -> None:
    referred(fakes)
    completed = await emitted(reply_of(ReportResult), fakes)
    assert isinstance(completed, ReferralCompleted) and completed.result == "水管已修复，恢复供水"

    other = Fakes()
    referred(other)
    unable = await emitted(reply_of(ReportUnable), other)
    assert isinstance(unable, ReferralUnable)
    assert (unable.reason_code, unable.reason) == ("no_funds", "缺少维修资金")
    assert other.states.states[ISSUE].unable == 1


async def test_the_event_carries_the_trace_of_the_issues_intake(fakes: Fakes) -> None:
    state = referred(fakes)
    origin = TraceContext(traceparent="00-" + "a" * 32 + "-" + "b" * 16 + "-01")
    fakes.states.states[ISSUE] = msgspec.structs.replace(state, origin_trace=origin)
    assert (await emitted(reply_of(AcceptReferral), fakes)).origin_trace == origin


async def test_a_strangers_reply_is_refused_and_changes_nothing(fakes: Fakes) -> None:
    before = referred(fakes)
    with pytest.raises(ValueError, match="t-roads is not a handler") as refused:
        await on_reply(reply_of(ReportResult, handler="t-roads"), fakes.deps)
    assert isinstance(refused.value, lifecycle.IllegalTransition)
    assert fakes.states.states[ISSUE] == before


async def test_a_reply_to_another_referral_is_refused(fakes: Fakes) -> None:
    referred(fakes)
    with pytest.raises(ValueError, match="not R-HB-202612-000001-9"):
        await on_reply(reply_of(AcceptReferral, referral=f"R-{ISSUE}-9"), fakes.deps)


async def test_a_reply_about_an_issue_never_seen_is_refused(fakes: Fakes) -> None:
    with pytest.raises(ValueError, match="issue_id"):
        await on_reply(reply_of(AcceptReferral), fakes.deps)


async def test_a_reply_after_completion_is_refused(fakes: Fakes) -> None:
    referred(fakes)
    await on_reply(reply_of(ReportResult), fakes.deps)
    with pytest.raises(ValueError, match="completed"):
        await on_reply(reply_of(ReportProgress), fakes.deps)


async def test_a_co_handlers_completion_is_emitted_but_does_not_complete_the_issue(fakes: Fakes) -> None:
    referred(fakes)
    await on_reply(reply_of(AcceptReferral), fakes.deps)
    event = await emitted(reply_of(ReportResult, handler="t-finance"), fakes)
    assert isinstance(event, ReferralCompleted) and event.handler_code == "t-finance"
    state = fakes.states.states[ISSUE]
    assert state.state == "in_progress"
    assert state.co_replies == ("t-finance:referral.referral_completed.v1",)

    await on_reply(reply_of(ReportResult), fakes.deps)  # the lead's result completes the joint referral
    assert fakes.states.states[ISSUE].state == "completed"


async def test_a_co_handlers_unable_is_emitted_and_the_lead_keeps_the_referral(fakes: Fakes) -> None:
    referred(fakes)
    event = await emitted(reply_of(ReportUnable, handler="t-finance"), fakes)
    assert isinstance(event, ReferralUnable)
    state = fakes.states.states[ISSUE]
    assert (state.state, state.referral_id, state.unable) == ("assigned", REFERRAL, 0)


async def test_a_redelivered_reply_emits_the_same_event_again(fakes: Fakes) -> None:
    referred(fakes)
    reply = reply_of(AcceptReferral)
    first = await emitted(reply, fakes)
    after = fakes.states.states[ISSUE]
    again = await emitted(reply, fakes)  # stored, but maybe not published before a crash
    assert again == first
    assert fakes.states.states[ISSUE] == after


async def test_an_unknown_reason_code_is_refused(fakes: Fakes) -> None:
    referred(fakes)
    reply = ReportUnable(
        event_id=uuid.uuid4(),
        issue_id=ISSUE,
        referral_id=REFERRAL,
        handler_code="t-water",
        reason_code="too_busy",
        reason="人手不够",
    )
    with pytest.raises(ValueError, match="reason code"):
        await on_reply(reply, fakes.deps)
