"""The example department system's pure part: what it answers to a referral, and how it is sent."""

from __future__ import annotations

import argparse
import uuid
from datetime import date

import msgspec
import pytest

from common.bus import outgoing
from contracts.base import TraceContext, derive_event_id
from contracts.commands import AcceptReferral, HandlerReplyMessage, ReferralIssued, ReportResult, ReportUnable
from contracts.topics import HANDLER_REPLIES
from infra.department import parse_unable, read_referral, replies_for, reply_record

TRACE = TraceContext(traceparent="00-" + "c" * 32 + "-" + "d" * 16 + "-01")


def referral(role: str = "lead") -> ReferralIssued:
    return ReferralIssued(
        event_id=uuid.uuid4(),
        correlation_id="submission-1",
        trace=TRACE,
        referral_id="R-HB-202612-000001-1",
        issue_id="HB-202612-000001",
        handler_code="d-water",
        role=role,
        deadline=date(2026, 12, 31),
        category="water_supply",
        summary="二组自来水管损坏",
    )


def test_the_lead_accepts_then_reports_its_result() -> None:
    issued = referral()
    accept, done = replies_for(issued, result="水管已修复")
    assert isinstance(accept, AcceptReferral) and isinstance(done, ReportResult)
    assert done.result == "水管已修复"
    for reply in (accept, done):
        assert (reply.issue_id, reply.referral_id, reply.handler_code) == (
            "HB-202612-000001",
            "R-HB-202612-000001-1",
            "d-water",
        )
        assert (reply.causation_id, reply.correlation_id, reply.trace) == (issued.event_id, "submission-1", TRACE)


def test_the_lead_reports_unable_with_its_reason_instead_of_a_result() -> None:
    _, unable = replies_for(referral(), unable=("no_funds", "缺少维修资金"))
    assert isinstance(unable, ReportUnable)
    assert (unable.reason_code, unable.reason) == ("no_funds", "缺少维修资金")


def test_a_co_handler_only_accepts() -> None:
    (accept,) = replies_for(referral(role="co"), unable=("no_funds", "ignored"))
    assert isinstance(accept, AcceptReferral)


def test_answering_the_same_referral_twice_sends_the_same_ids() -> None:
    issued = referral()
    first, again = replies_for(issued), replies_for(issued)
    assert [r.event_id for r in first] == [r.event_id for r in again]
    assert first[0].event_id == derive_event_id(issued.event_id, "accept")
    assert len({r.event_id for r in first}) == 2


def test_a_reply_record_is_what_the_platform_itself_would_publish() -> None:
    reply = replies_for(referral())[1]
    key, value, headers = reply_record(reply)
    expected = outgoing(HANDLER_REPLIES, reply.issue_id, reply)
    assert key.decode() == expected.key
    assert value == expected.value
    assert {k: v.decode() for k, v in headers} == expected.headers | {"traceparent": TRACE.traceparent}
    assert msgspec.json.decode(value, type=HandlerReplyMessage) == reply


def test_records_that_are_not_referrals_are_skipped() -> None:
    issued = referral()
    assert read_referral(msgspec.json.encode(issued)) == issued
    assert read_referral(b'{"type": "referral.referral_withdrawn.v2", "referral_id": "R-1"}') is None
    assert read_referral(b"not json") is None


def test_unable_is_given_as_code_and_reason() -> None:
    assert parse_unable("no_funds:缺少资金:年底再议") == ("no_funds", "缺少资金:年底再议")
    with pytest.raises(argparse.ArgumentTypeError):
        parse_unable("no_funds")
