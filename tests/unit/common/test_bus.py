"""Records built for the bus carry their trace and identity; publishing keeps the order given."""

from __future__ import annotations

import asyncio
import random
import uuid
from types import SimpleNamespace

import msgspec
import pytest
from aiokafka.errors import KafkaError
from opentelemetry.sdk.trace import TracerProvider

from common.bus import Outgoing, outgoing, publish_all
from contracts.base import TraceContext
from contracts.issues import IssueTriaged
from contracts.topics import HEADER_EVENT_ID, HEADER_MESSAGE_TYPE, ISSUE_EVENTS
from tests.fake_broker import connected, header_dict

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


class QueueingBroker:
    """Like the real producer: a publish queues the record at once (the queue order is the order a
    partition stores) and returns a future the broker acknowledges after a random short delay."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)
        self.queued: list[tuple[str, bytes, bytes, dict[str, str]]] = []
        self.in_flight = self.most_in_flight = 0
        self.config = connected(self)

    async def send(
        self, topic: str, value: bytes, *, key: bytes, headers: list[tuple[str, bytes]], timestamp_ms: int
    ) -> asyncio.Future[SimpleNamespace]:
        self.queued.append((topic, key, value, header_dict(headers)))
        offset = len(self.queued) - 1
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        future: asyncio.Future[SimpleNamespace] = asyncio.get_running_loop().create_future()

        def acknowledge() -> None:
            self.in_flight -= 1
            future.set_result(SimpleNamespace(partition=0, offset=offset))

        asyncio.get_running_loop().call_later(self.random.uniform(0, 0.003), acknowledge)
        return future


async def test_publish_all_queues_in_the_order_given_across_keys_and_topics() -> None:
    records = [
        Outgoing(topic, f"registry:{n % 4}", f"{topic}/{n}".encode(), {"n": str(n)})
        for n in range(40)
        for topic in ("registry.entities.v1", "platform.dead-letter.v1")
    ]
    broker = QueueingBroker(seed=7)
    published = await publish_all(broker, records)
    # each stamped with who published it (`broker.config.client_id`)
    assert broker.queued == [(r.topic, r.key.encode(), r.value, r.headers | {"producer": "test"}) for r in records]
    assert [p.record for p in published] == records
    assert [p.offset for p in published] == list(range(len(records)))  # each with its own acknowledgement


async def test_publish_all_awaits_the_acknowledgements_together() -> None:
    records = [Outgoing("issue.events.v1", f"HB-202612-{n:06d}", b"x", {}) for n in range(30)]
    broker = QueueingBroker(seed=1)
    await publish_all(broker, records)
    assert broker.most_in_flight == 30
    assert broker.in_flight == 0  # nothing returns before every record is acknowledged


async def test_publish_all_with_nothing_to_send_publishes_nothing() -> None:
    broker = QueueingBroker(seed=0)
    assert await publish_all(broker, []) == []
    assert broker.queued == []


async def test_a_broker_not_connected_is_a_kafka_error_so_callers_keep_the_record_for_the_outbox() -> None:
    unconnected = SimpleNamespace(config=SimpleNamespace(producer=SimpleNamespace(_producer=SimpleNamespace())))
    with pytest.raises(KafkaError):
        await publish_all(unconnected, [outgoing(ISSUE_EVENTS, "HB-202612-000001", triaged())])  # type: ignore[arg-type]
