"""An example department system: how a department's (or office's) own software talks to the platform.

This is the integration guide in code form. It needs nothing of the platform but its published
contracts (`contracts/`, also exported as JSON Schema and AsyncAPI), a Kafka client and a JSON codec.

    python -m infra.department --bootstrap 127.0.0.1:9092 --handler d-water [--result "..."]
        [--unable no_funds:"..."] [--once]

What to read
    Your own topic and nothing else: `referrals.<handler code>.v1` (`contracts.topics.referral_topic`),
    with your own consumer group (here `dept-<handler code>`), from the earliest offset the first time so
    no referral sent before your system started is missed. Each record is a `ReferralIssued`
    (JSON, field `type` = "referral.referral_issued.v1"); skip any other `type`: it is a newer message
    your version does not know. `role` says whether you lead the referral ("lead") or help the lead
    ("co", 联合办结); `deadline`, `category` and `summary` say what is asked and by when.

What to reply
    On `referral.replies.v1` (`contracts.topics.HANDLER_REPLIES`), one command per step, each carrying
    the referral's `issue_id`, `referral_id` and your `handler_code`:
      AcceptReferral   you have it (签收)
      ReportProgress   a note on how it goes (optional, as often as useful)
      ReportResult     done, with the result (办结); only the lead's result completes the referral
      ReportUnable     you cannot, with a `reason_code` (no_funds, no_project, outside_remit,
                       needs_higher_tier, policy_limit, other) and a reason; the issue goes back to
                       the review that assigned it
    A co-handler accepts, reports progress and may report its own part (result or unable) before the
    lead completes; the platform keeps those without moving the issue.

Keys, ids, headers
    The record key is the issue number (`issue_id`), so one issue's replies stay in order. Every
    command has an `event_id` (a UUID); set headers `message-type` (the `type` tag) and `event-id`, and
    the referral's `traceparent` if you have one, so the platform's trace follows the issue into your
    reply. Replies are idempotent by event id: the platform handles each event id once, so derive your
    reply ids from the referral's (as `replies_for` does) and a resend after a crash changes nothing.
    Commit your consumer's offset only after your replies are acknowledged (acks=all).

What you get back
    A reply the platform refuses (not your referral, already completed, unknown reason code) is put on
    the dead-letter topic with the reason; an accepted one becomes an issue event that the voters,
    deputies and oversight see.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from collections.abc import Sequence

import msgspec
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import OffsetAndMetadata

from contracts.base import derive_event_id
from contracts.commands import AcceptReferral, HandlerReply, ReferralIssued, ReportResult, ReportUnable
from contracts.topics import HANDLER_REPLIES, HEADER_EVENT_ID, HEADER_MESSAGE_TYPE, referral_topic

log = logging.getLogger("department")

_referral = msgspec.json.Decoder(ReferralIssued)
_encoder = msgspec.json.Encoder()
DEFAULT_RESULT = "已办结"


class _TypeOnly(msgspec.Struct):
    type: str = ""


def replies_for(
    referral: ReferralIssued, *, result: str = DEFAULT_RESULT, unable: tuple[str, str] | None = None
) -> list[HandlerReply]:
    """What this department answers to one referral: accept it, then (if it leads) its result, or that
    it cannot (`unable` = (reason_code, reason)). Ids derive from the referral's, so answering the same
    referral twice sends the same commands, which the platform handles once."""
    about = {
        "correlation_id": referral.correlation_id,
        "causation_id": referral.event_id,
        "trace": referral.trace,
        "issue_id": referral.issue_id,
        "referral_id": referral.referral_id,
        "handler_code": referral.handler_code,
    }
    replies: list[HandlerReply] = [AcceptReferral(event_id=derive_event_id(referral.event_id, "accept"), **about)]
    if referral.role != "lead":
        return replies
    if unable is not None:
        code, reason = unable
        replies.append(
            ReportUnable(
                event_id=derive_event_id(referral.event_id, "unable"), reason_code=code, reason=reason, **about
            )
        )
    else:
        replies.append(ReportResult(event_id=derive_event_id(referral.event_id, "result"), result=result, **about))
    return replies


def reply_record(reply: HandlerReply) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """(key, value, headers) of a reply on the replies topic."""
    headers = {HEADER_MESSAGE_TYPE: type(reply).__struct_config__.tag or "", HEADER_EVENT_ID: str(reply.event_id)}
    if reply.trace is not None:
        headers["traceparent"] = reply.trace.traceparent
        if reply.trace.tracestate:
            headers["tracestate"] = reply.trace.tracestate
    return reply.issue_id.encode(), _encoder.encode(reply), [(k, v.encode()) for k, v in headers.items()]


def read_referral(value: bytes | None) -> ReferralIssued | None:
    """The referral in a record, or None for a message type this version does not know (or garbage)."""
    try:
        if msgspec.json.decode(value or b"", type=_TypeOnly).type != ReferralIssued.__struct_config__.tag:
            return None
        return _referral.decode(value or b"")
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        log.warning("skipped a record that is not a referral: %s", exc)
        return None


async def run_department(
    bootstrap: str,
    handler: str,
    *,
    result: str = DEFAULT_RESULT,
    unable: tuple[str, str] | None = None,
    stop_after: int | None = None,
) -> int:
    """Answer referrals on `handler`'s topic until cancelled, or until `stop_after` referrals have been
    answered; return how many were."""
    consumer = AIOKafkaConsumer(
        referral_topic(handler).name,
        bootstrap_servers=bootstrap,
        group_id=f"dept-{handler}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    await consumer.start()
    answered = 0
    try:
        while stop_after is None or answered < stop_after:
            done: dict[TopicPartition, OffsetAndMetadata] = {}
            for partition, records in (await consumer.getmany(timeout_ms=500)).items():
                for record in records:
                    if stop_after is not None and answered >= stop_after:
                        break  # left for the next run: not committed
                    referral = read_referral(record.value)
                    if referral is not None:
                        await _answer(producer, referral, result=result, unable=unable)
                        answered += 1
                    done[partition] = OffsetAndMetadata(record.offset + 1, "")
            if done:
                await consumer.commit(done)  # after the replies are acknowledged: a crash resends, never loses
    finally:
        await consumer.stop()
        await producer.stop()
    return answered


async def _answer(
    producer: AIOKafkaProducer, referral: ReferralIssued, *, result: str, unable: tuple[str, str] | None
) -> None:
    for reply in replies_for(referral, result=result, unable=unable):
        key, value, headers = reply_record(reply)
        await producer.send_and_wait(HANDLER_REPLIES.name, value, key=key, headers=headers)
    log.info("answered referral %s (%s) of issue %s", referral.referral_id, referral.role, referral.issue_id)


def parse_unable(text: str) -> tuple[str, str]:
    """`no_funds:缺少资金` -> ("no_funds", "缺少资金")."""
    code, sep, reason = text.partition(":")
    if not sep or not code or not reason:
        raise argparse.ArgumentTypeError('--unable takes REASON_CODE:REASON, e.g. no_funds:"缺少维修资金"')
    return code, reason


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m infra.department", description=__doc__.splitlines()[0])
    parser.add_argument("--bootstrap", required=True, help="Kafka bootstrap HOST:PORT")
    parser.add_argument("--handler", required=True, help="this department's handler code, e.g. d-water")
    parser.add_argument("--result", default=DEFAULT_RESULT, help="the result reported for referrals it leads")
    parser.add_argument("--unable", type=parse_unable, help="REASON_CODE:REASON: report unable instead of a result")
    parser.add_argument("--once", action="store_true", help="stop after answering one referral")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    stop_after = 1 if args.once else None
    asyncio.run(
        run_department(args.bootstrap, args.handler, result=args.result, unable=args.unable, stop_after=stop_after)
    )


if __name__ == "__main__":
    main()
