"""Records built for the bus carry their trace and identity; publishing keeps order within each key."""

from __future__ import annotations

import asyncio
import random
import uuid
from types import SimpleNamespace

import msgspec
from opentelemetry.sdk.trace import TracerProvider

from common.bus import Outgoing, outgoing, publish_all
from contracts.base import TraceContext
from contracts.issues import IssueTriaged
from contracts.topics import HEADER_EVENT_ID, HEADER_MESSAGE_TYPE, ISSUE_EVENTS

TRACER = TracerProvider().get_tracer("tests")  # real spans, never exported


def triaged(number: str = "HB-202612-000001", **changes: object) -> IssueTriaged:
    fields: dict[str, object] = {
        "event_id": uuid.UUID("12345678-1234-4234-8234-123456789abc"),
        "issue_id": number,
        "category": "water_supply",
        "responsible_tier": "town",
        "responsible_unit": "610902001",
    }
    return IssueTriaged(**(fields | changes))


def test_record_built_inside_a_span_carries_its_trace_in_headers_and_value() -> None:
    with TRACER.start_as_current_span("issue.events.v1 process") as span:
        record = outgoing(ISSUE_EVENTS, "HB-202612-000001", triaged())
    context = span.get_span_context()
    traceparent = record.headers["traceparent"]
    assert traceparent.startswith(f"00-{context.trace_id:032x}-{context.span_id:016x}-")
    assert record.headers[HEADER_MESSAGE_TYPE] == "triage.issue_triaged.v1"
    assert record.headers[HEADER_EVENT_ID] == "12345678-1234-4234-8234-123456789abc"
    assert msgspec.json.decode(record.value)["trace"] == {"traceparent": traceparent}
    assert (record.topic, record.key) == ("issue.events.v1", "HB-202612-000001")


def test_record_built_outside_a_span_has_no_trace() -> None:
    record = outgoing(ISSUE_EVENTS, "HB-202612-000001", triaged())
    assert "traceparent" not in record.headers
    assert set(record.headers) == {HEADER_MESSAGE_TYPE, HEADER_EVENT_ID}
    assert msgspec.json.decode(record.value)["trace"] is None


def test_a_message_keeps_the_trace_it_already_carries() -> None:
    own = TraceContext(traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
    with TRACER.start_as_current_span("later"):
        record = outgoing(ISSUE_EVENTS, "HB-202612-000001", triaged(trace=own))
    assert msgspec.json.decode(record.value)["trace"] == {"traceparent": own.traceparent}


class ShuffledBroker:
    """Acknowledges each publish after a random short delay, as partitions of a real broker would."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)
        self.published: list[tuple[str, bytes, bytes, dict[str, str]]] = []
        self.in_flight = self.most_in_flight = 0

    async def publish(self, value: bytes, *, topic: str, key: bytes, headers: dict[str, str]) -> SimpleNamespace:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        await asyncio.sleep(self.random.uniform(0, 0.003))
        self.published.append((topic, key, value, headers))
        self.in_flight -= 1
        return SimpleNamespace(partition=0, offset=len(self.published) - 1)


async def test_publish_all_keeps_order_within_each_topic_and_key() -> None:
    records = [
        Outgoing(topic, f"HB-202612-{n % 4:06d}", f"{topic}/{n}".encode(), {"n": str(n)})
        for n in range(40)
        for topic in ("issue.events.v1", "platform.dead-letter.v1")
    ]
    broker = ShuffledBroker(seed=7)
    await publish_all(broker, records)
    expected = [(r.topic, r.key.encode(), r.value, r.headers) for r in records]
    assert sorted(broker.published, key=lambda p: p[2]) == sorted(expected, key=lambda p: p[2])
    for chain in {(r.topic, r.key.encode()) for r in records}:
        sent = [p[2] for p in broker.published if p[:2] == chain]
        assert sent == [e[2] for e in expected if e[:2] == chain]


async def test_publish_all_sends_different_keys_side_by_side() -> None:
    records = [Outgoing("issue.events.v1", f"HB-202612-{n:06d}", b"x", {}) for n in range(30)]
    broker = ShuffledBroker(seed=1)
    await publish_all(broker, records)
    assert len(broker.published) == 30
    assert broker.most_in_flight == 30


async def test_publish_all_waits_for_each_record_of_a_key_before_the_next() -> None:
    records = [Outgoing("issue.events.v1", "HB-202612-000001", str(n).encode(), {}) for n in range(10)]
    broker = ShuffledBroker(seed=2)
    await publish_all(broker, records)
    assert broker.most_in_flight == 1
    assert [p[2] for p in broker.published] == [str(n).encode() for n in range(10)]


async def test_publish_all_with_nothing_to_send_publishes_nothing() -> None:
    broker = ShuffledBroker(seed=0)
    await publish_all(broker, [])
    assert broker.published == []
