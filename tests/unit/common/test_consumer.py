"""A consumer's batch with fakes: decode, skip the unknown, retry or dead-letter, handle each event once."""

from __future__ import annotations

import asyncio
import inspect
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import faststream.kafka.subscriber.usecase as usecase
import msgspec
import pytest
import redis.exceptions
from aiokafka import TopicPartition
from aiokafka.errors import KafkaTimeoutError
from faststream import AckPolicy
from faststream.kafka import KafkaBroker

import common.consumer as consumer_module
import common.fetch_pace as fetch_pace_module
from common.bus import Outgoing
from common.consumer import BATCH_WAIT_MS, UNCONFIRMED_MAX, Consumer
from common.fetch_pace import GATHER_LAST_MS
from common.outbox import Outbox
from common.settings import BaseSettings, load_settings
from contracts.issues import IssueReceived
from contracts.topics import DEAD_LETTER, ISSUE_EVENTS
from tests.fake_broker import connected, header_dict

SETTINGS = load_settings(BaseSettings, {"HANDLER_ATTEMPTS": "3", "HANDLER_BACKOFF_MS": "1"})


class FakeBroker:
    def __init__(self) -> None:
        self.subscription: dict[str, Any] = {}
        self.published: list[Outgoing] = []
        self.config = connected(self)

    def subscriber(self, *topics: str, **kwargs: Any) -> Callable[[Any], Any]:
        self.subscription = {"topics": topics, **kwargs}
        return lambda on_batch: on_batch

    async def send(
        self, topic: str, value: bytes, *, key: bytes, headers: list[tuple[str, bytes]], timestamp_ms: int
    ) -> asyncio.Future[SimpleNamespace]:
        self.published.append(Outgoing(topic, key.decode(), value, header_dict(headers)))
        acknowledged = asyncio.get_running_loop().create_future()
        acknowledged.set_result(SimpleNamespace(partition=0, offset=len(self.published) - 1))
        return acknowledged


class FakePipeline:
    def __init__(self, data: dict[str, object]) -> None:
        self.data, self.queued = data, []

    async def __aenter__(self) -> FakePipeline:
        return self

    async def __aexit__(self, *_: object) -> None:
        self.queued.clear()

    def eval(self, script: str, numkeys: int, *args: object) -> None:
        """Only the processed marks' script: SET each key to 1."""
        assert "redis.call('SET', key, '1'" in script
        self.queued.append(lambda: [self.data.__setitem__(str(k), 1) for k in args[:numkeys]] and None)

    def hset(self, key: str, field: str | None = None, value: object = None, mapping: dict | None = None) -> None:
        items = dict(mapping or {}) | ({field: value} if field is not None else {})
        self.queued.append(lambda: self.data.setdefault(key, {}).update(items) or len(items))

    def zadd(self, key: str, mapping: dict[str, float]) -> None:
        self.queued.append(lambda: self.data.setdefault(key, {}).update(mapping) or len(mapping))

    async def execute(self) -> list[object]:
        results, self.queued = [op() for op in self.queued], []
        return results


class FakeRedis:
    def __init__(self) -> None:
        self.data: dict[str, object] = {}

    def pipeline(self, transaction: bool = True) -> FakePipeline:
        return FakePipeline(self.data)

    async def mget(self, keys: list[str]) -> list[object]:
        return [self.data.get(k) for k in keys]


@dataclass
class Record:
    value: bytes
    key: bytes | None = b"HB-202612-000001"
    topic: str = ISSUE_EVENTS.name
    partition: int = 3
    offset: int = 42
    headers: list[tuple[str, bytes]] = field(default_factory=lambda: [("message-type", b"intake.issue_received.v1")])


def received_bytes(event_id: uuid.UUID | None = None) -> bytes:
    event = IssueReceived(
        event_id=event_id or uuid.uuid4(), issue_id="HB-202612-000001", submission_id=uuid.uuid4(),
        channel="visit", station_code="610902001", kind="problem", text="二组自来水管损坏",
    )  # fmt: skip
    return msgspec.json.encode(event)


class Handler:
    """Fails with the given exceptions in turn, then answers one record per message."""

    def __init__(self, *failures: BaseException) -> None:
        self.failures, self.seen = list(failures), []

    async def __call__(self, message: IssueReceived) -> list[Outgoing]:
        self.seen.append(message.event_id)
        if self.failures:
            raise self.failures.pop(0)
        return [Outgoing("out.v1", message.issue_id, str(message.event_id).encode(), {})]


@dataclass
class Harness:
    broker: FakeBroker
    redis: FakeRedis
    consumer: Consumer


def consumer_on(broker: FakeBroker, store: FakeRedis, handle: Any, **options: Any) -> Consumer:
    """Triage's consumer of the issue events, on the fakes."""
    return Consumer(
        broker=broker, redis=store, settings=SETTINGS, topic=ISSUE_EVENTS, group="triage", handle=handle, **options
    )


@pytest.fixture
def make() -> Callable[[Callable[[Any], Awaitable[list[Outgoing]]]], Harness]:
    def build(handle: Callable[[Any], Awaitable[list[Outgoing]]]) -> Harness:
        broker, store = FakeBroker(), FakeRedis()
        return Harness(broker, store, consumer_on(broker, store, handle))

    return build


async def settled(consumer: Consumer, records: tuple[Record, ...]) -> None:
    """Handle a batch and wait for its confirmation (publish, then marks), which goes on in the background."""
    await consumer.process(records)
    await consumer.drain()


def test_subscribes_as_a_batch_group_committing_after_the_work(make: Callable[..., Harness]) -> None:
    sub = make(Handler()).broker.subscription
    assert sub["topics"] == (ISSUE_EVENTS.name,)
    assert (sub["group_id"], sub["batch"], sub["auto_offset_reset"]) == ("triage", True, "earliest")
    assert sub["ack_policy"] is AckPolicy.MANUAL  # the consumer confirms and rewinds by itself


async def test_undecodable_record_is_dead_lettered_with_its_original_bytes(make: Callable[..., Harness]) -> None:
    h = make(handler := Handler())
    await settled(h.consumer, (Record(b"{not json"),))
    (dead,) = h.broker.published
    assert (dead.topic, dead.key, dead.value) == (DEAD_LETTER.name, "HB-202612-000001", b"{not json")
    assert dead.headers["dlq.reason"].startswith("undecodable")
    assert dead.headers["message-type"] == "intake.issue_received.v1"  # the original headers are kept
    expected = {"dlq.topic": ISSUE_EVENTS.name, "dlq.partition": "3", "dlq.offset": "42", "dlq.attempts": "0"}
    assert expected.items() <= dead.headers.items()
    assert dead.headers["dlq.group"] == "triage"
    assert handler.seen == []


async def test_known_type_with_missing_fields_is_dead_lettered(make: Callable[..., Harness]) -> None:
    h = make(Handler())
    await settled(h.consumer, (Record(b'{"type": "intake.issue_received.v1", "issue_id": "HB-202612-000001"}'),))
    assert [d.headers["dlq.reason"][:11] for d in h.broker.published] == ["undecodable"]


async def test_record_of_an_unknown_type_is_skipped_not_dead_lettered(make: Callable[..., Harness]) -> None:
    h = make(handler := Handler())
    await settled(h.consumer, (Record(b'{"type": "future.issue_weighed.v1", "weight": 3}'),))
    assert h.broker.published == []
    assert handler.seen == []


async def test_value_error_is_dead_lettered_after_one_attempt(make: Callable[..., Harness]) -> None:
    event_id = uuid.uuid4()
    h = make(handler := Handler(ValueError("illegal transition")))
    await settled(h.consumer, (Record(received_bytes(event_id)),))
    (dead,) = h.broker.published
    assert dead.topic == DEAD_LETTER.name
    assert dead.headers["dlq.attempts"] == "1"
    assert dead.headers["dlq.reason"] == "ValueError: illegal transition"
    assert len(handler.seen) == 1
    assert f"triage:done:{event_id}" in h.redis.data  # a redelivery is not dead-lettered twice


async def test_passing_failure_is_retried_and_the_output_published(make: Callable[..., Harness]) -> None:
    event_id = uuid.uuid4()
    h = make(handler := Handler(RuntimeError("blip"), RuntimeError("blip")))
    await settled(h.consumer, (Record(received_bytes(event_id)),))
    assert handler.seen == [event_id] * 3
    assert h.broker.published == [Outgoing("out.v1", "HB-202612-000001", str(event_id).encode(), {"producer": "test"})]
    assert f"triage:done:{event_id}" in h.redis.data


async def test_lasting_failure_is_dead_lettered_after_every_attempt(make: Callable[..., Harness]) -> None:
    h = make(handler := Handler(*(RuntimeError("still broken") for _ in range(3))))
    await settled(h.consumer, (Record(received_bytes()),))
    (dead,) = h.broker.published
    assert (dead.topic, dead.headers["dlq.attempts"]) == (DEAD_LETTER.name, "3")
    assert dead.headers["dlq.reason"] == "RuntimeError: still broken"
    assert len(handler.seen) == SETTINGS.handler_attempts


async def test_lost_redis_rewinds_the_batch_without_dead_letter(
    make: Callable[..., Harness], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(consumer_module, "REWIND_PAUSE_S", 0)
    h = make(handler := Handler(redis.exceptions.ConnectionError("gone")))
    await settled(h.consumer, (Record(received_bytes()), Record(received_bytes(), offset=43)))
    assert len(handler.seen) == 1
    assert h.broker.published == []
    assert h.redis.data == {}
    kafka = Assigned()
    await h.consumer._next_batch(kafka)  # the next fetch starts where the batch did
    assert kafka.sought == [(TP, 42)]


async def test_same_event_twice_in_one_batch_is_handled_once(make: Callable[..., Harness]) -> None:
    event_id = uuid.uuid4()
    h = make(handler := Handler())
    value = received_bytes(event_id)
    await settled(h.consumer, (Record(value), Record(value, offset=43)))
    assert handler.seen == [event_id]
    assert len(h.broker.published) == 1


async def test_event_already_processed_is_not_handled_again(make: Callable[..., Harness]) -> None:
    done, fresh = uuid.uuid4(), uuid.uuid4()
    h = make(handler := Handler())
    h.redis.data[f"triage:done:{done}"] = 1
    await settled(h.consumer, (Record(received_bytes(done)), Record(received_bytes(fresh), offset=43)))
    assert handler.seen == [fresh]
    await settled(h.consumer, (Record(received_bytes(fresh), offset=43),))  # redelivered after the commit was lost
    assert handler.seen == [fresh]
    assert len(h.broker.published) == 1


async def test_published_records_wait_in_the_outbox_and_the_position_is_kept_with_them() -> None:
    broker, store = FakeBroker(), FakeRedis()
    consumer = consumer_on(broker, store, Handler(), outbox=Outbox(store, "triage", "7", republish_after_s=10))
    await settled(consumer, (Record(received_bytes(), offset=42), Record(received_bytes(), offset=43)))
    assert len(store.data["outbox:triage"]) == len(store.data["outbox:triage:due"]) == 2
    assert store.data["triage:positions"] == {f"{ISSUE_EVENTS.name}:3": 44}


async def test_skip_own_passes_over_what_this_process_published_and_still_moves_the_position() -> None:
    broker, store = FakeBroker(), FakeRedis()
    consumer = consumer_on(broker, store, handler := Handler(), skip_own=True)
    ours, theirs = uuid.uuid4(), uuid.uuid4()
    kind = ("message-type", b"intake.issue_received.v1")
    await settled(
        consumer,
        (
            Record(received_bytes(ours), offset=42, headers=[kind, ("producer", b"test")]),  # our client id
            Record(received_bytes(theirs), offset=43, headers=[kind, ("producer", b"intake")]),
        ),
    )
    assert handler.seen == [theirs]
    assert f"triage:done:{ours}" not in store.data  # never handled, so never marked
    assert store.data["triage:positions"] == {f"{ISSUE_EVENTS.name}:3": 44}


async def test_without_skip_own_a_process_handles_its_own_records(make: Callable[..., Harness]) -> None:
    h = make(handler := Handler())
    event_id = uuid.uuid4()
    await settled(h.consumer, (Record(received_bytes(event_id), headers=[("producer", b"test")]),))
    assert handler.seen == [event_id]


async def test_a_replayed_poison_record_is_dead_lettered_once(make: Callable[..., Harness]) -> None:
    h = make(Handler())
    await settled(h.consumer, (Record(b"{not json", offset=7),))
    await settled(h.consumer, (Record(b"{not json", offset=7),))  # the same record read again
    await settled(h.consumer, (Record(b"{not json", offset=8),))  # another poison record, same bytes
    assert len(h.broker.published) == 2


class QuietThenBusy:
    """aiokafka's consumer as the batch loop sees it: nothing in the first wait, then two partitions' records."""

    def __init__(self) -> None:
        self.waits: list[tuple[int, int | None]] = []
        self.answers: list[dict[str, list[str]]] = [{}, {"p0": ["a", "b"], "p1": ["c"]}]

    async def getmany(self, timeout_ms: int, max_records: int | None = None) -> dict[str, list[str]]:
        self.waits.append((timeout_ms, max_records))
        return self.answers.pop(0)


async def test_the_batch_loop_waits_in_the_fetcher_and_never_sleeps(monkeypatch: pytest.MonkeyPatch) -> None:
    """FastStream's own loop sleeps `batch_timeout_ms` after an empty wait, so a record that came meanwhile
    waited for the sleep too; the consumer's loop waits only in `getmany`, which returns when records come."""

    async def no_sleep(_seconds: float) -> None:
        raise AssertionError("the batch loop slept")

    monkeypatch.setattr(usecase.anyio, "sleep", no_sleep)
    consumer = consumer_on(KafkaBroker("127.0.0.1:9"), FakeRedis(), Handler())  # never connects
    subscriber, fetcher = consumer._subscriber, QuietThenBusy()
    # FastStream's consume loop asks `self.get_msg` for each batch: the consumer's own wait is the one it uses
    assert "self.get_msg(consumer)" in inspect.getsource(type(subscriber)._run_consume_loop)
    assert await subscriber.get_msg(fetcher) == ()
    assert await subscriber.get_msg(fetcher) == ("a", "b", "c")
    assert fetcher.waits == [(BATCH_WAIT_MS, SETTINGS.kafka_max_records)] * 2


class Trickle:
    """aiokafka's consumer as the batch loop sees it, on a clock: each answer comes after so many seconds (an
    empty one after the whole wait)."""

    def __init__(self, now: list[float], answers: list[tuple[dict[str, list[str]], float]]) -> None:
        self.now, self.answers, self.waits = now, answers, []

    async def getmany(self, timeout_ms: int, max_records: int | None = None) -> dict[str, list[str]]:
        self.waits.append(timeout_ms)
        answer, after_s = self.answers.pop(0)
        self.now[0] += after_s if answer else timeout_ms / 1000
        return answer


async def test_a_consumer_off_the_waited_paths_gathers_what_comes_into_one_batch(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With `gather_ms`, the first record after a pause makes a batch at once. While records keep coming, the
    next batch is fetched `gather_ms` after the last one began (records gather in the broker and the fetcher
    meanwhile), with one short wait more for what the fetcher had not asked for yet. A batch that took longer
    than `gather_ms` is followed at once."""
    now, slept = [1000.0], []

    async def sleep(seconds: float) -> None:
        slept.append(round(seconds, 3))
        now[0] += seconds

    monkeypatch.setattr(fetch_pace_module, "time", SimpleNamespace(monotonic=lambda: now[0]))
    monkeypatch.setattr(fetch_pace_module.asyncio, "sleep", sleep)
    consumer = consumer_on(FakeBroker(), FakeRedis(), Handler(), gather_ms=100)
    fetcher = Trickle(now, [({"p0": ["a"]}, 0.5)])
    assert await consumer._next_batch(fetcher) == ("a",)  # after a pause: at once
    assert slept == [] and fetcher.waits == [BATCH_WAIT_MS]

    now[0] += 0.03  # the batch took 30 ms; records keep coming
    fetcher = Trickle(now, [({"p0": ["b"]}, 0.0), ({"p1": ["c"]}, 0.002)])
    assert await consumer._next_batch(fetcher) == ("b", "c")
    assert slept == [0.07] and fetcher.waits == [BATCH_WAIT_MS, GATHER_LAST_MS]

    now[0] += 0.2  # this one took 200 ms
    fetcher = Trickle(now, [({"p0": ["d"]}, 0.0)])
    assert await consumer._next_batch(fetcher) == ("d",)
    assert slept == [0.07] and fetcher.waits == [BATCH_WAIT_MS]

    on_the_path = consumer_on(FakeBroker(), FakeRedis(), Handler())  # without `gather_ms`: never
    fetcher = Trickle(now, [({"p0": ["e"]}, 0.0), ({"p0": ["f"]}, 0.0)])
    assert await on_the_path._next_batch(fetcher) == ("e",)
    assert await on_the_path._next_batch(fetcher) == ("f",)
    assert slept == [0.07] and fetcher.waits == [BATCH_WAIT_MS] * 2


TP = TopicPartition(ISSUE_EVENTS.name, 3)


class Assigned:
    """aiokafka's consumer as a rewind sees it: what it holds, and where it was told to fetch from."""

    def __init__(self) -> None:
        self.sought: list[tuple[TopicPartition, int]] = []
        self.commits: list[dict[TopicPartition, int]] = []

    def assignment(self) -> set[TopicPartition]:
        return {TP}

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.sought.append((tp, offset))

    async def getmany(self, timeout_ms: int, max_records: int | None = None) -> dict[str, list[str]]:
        return {}

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        self.commits.append(dict(offsets))


class HeldBroker(FakeBroker):
    """A broker that acknowledges only when told to, or fails the records it is told to."""

    def __init__(self) -> None:
        super().__init__()
        self.held: list[asyncio.Future[SimpleNamespace]] = []

    async def send(
        self, topic: str, value: bytes, *, key: bytes, headers: list[tuple[str, bytes]], timestamp_ms: int
    ) -> asyncio.Future[SimpleNamespace]:
        self.published.append(Outgoing(topic, key.decode(), value, header_dict(headers)))
        self.held.append(asyncio.get_running_loop().create_future())
        return self.held[-1]

    def acknowledge(self) -> None:
        for offset, ack in enumerate(self.held):
            if not ack.done():
                ack.set_result(SimpleNamespace(partition=3, offset=offset))

    def fail(self) -> None:
        for ack in self.held:
            if not ack.done():
                ack.set_exception(KafkaTimeoutError())


async def until(condition: Callable[[], bool]) -> None:
    for _ in range(200):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("never came true")


async def test_the_next_batch_is_handled_while_the_first_is_confirmed_and_published_after_it() -> None:
    broker, store = HeldBroker(), FakeRedis()
    consumer = consumer_on(broker, store, handler := Handler())
    first, second = uuid.uuid4(), uuid.uuid4()
    await consumer.process((Record(received_bytes(first), offset=42),))
    await consumer.process((Record(received_bytes(second), offset=43),))  # not held up by the first's broker
    assert handler.seen == [first, second]
    await until(lambda: len(broker.published) == 1)
    for _ in range(20):
        await asyncio.sleep(0)
    assert [m.value for m in broker.published] == [str(first).encode()]  # the second waits for the first's ack
    assert "triage:positions" not in store.data  # nothing marked before the broker has it
    broker.acknowledge()
    await until(lambda: len(broker.published) == 2)
    broker.acknowledge()
    await consumer.drain()
    assert [m.value for m in broker.published] == [str(first).encode(), str(second).encode()]
    assert {f"triage:done:{first}", f"triage:done:{second}"} <= store.data.keys()
    assert store.data["triage:positions"] == {f"{ISSUE_EVENTS.name}:3": 44}


async def test_a_failed_publish_rewinds_to_the_first_batch_not_confirmed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(consumer_module, "REWIND_PAUSE_S", 0)
    broker, store = HeldBroker(), FakeRedis()
    consumer = consumer_on(broker, store, Handler())
    await consumer.process((Record(received_bytes(), offset=42),))
    await consumer.process((Record(received_bytes(), offset=43),))
    await until(lambda: len(broker.published) == 1)
    broker.fail()
    await consumer.drain()
    assert len(broker.published) == 1  # the second batch's record never went out after the first's failed
    assert store.data == {}  # neither batch marked: both come again
    kafka = Assigned()
    await consumer._next_batch(kafka)
    assert kafka.sought == [(TP, 42)]
    await consumer._next_batch(kafka)  # rewound once, not again
    assert kafka.sought == [(TP, 42)]


async def test_at_most_so_many_batches_wait_for_confirmation() -> None:
    broker, store = HeldBroker(), FakeRedis()
    consumer = consumer_on(broker, store, handler := Handler())
    for offset in range(UNCONFIRMED_MAX):
        await consumer.process((Record(received_bytes(), offset=offset),))
    one_more = asyncio.create_task(consumer.process((Record(received_bytes(), offset=UNCONFIRMED_MAX),)))
    for _ in range(50):
        await asyncio.sleep(0)
    assert len(handler.seen) == UNCONFIRMED_MAX and not one_more.done()  # it waits for the oldest
    while not one_more.done():
        broker.acknowledge()
        await asyncio.sleep(0)
    while len(broker.published) < UNCONFIRMED_MAX + 1:
        broker.acknowledge()
        await asyncio.sleep(0)
    broker.acknowledge()
    await consumer.drain()
    assert len(handler.seen) == UNCONFIRMED_MAX + 1
    assert store.data["triage:positions"] == {f"{ISSUE_EVENTS.name}:3": UNCONFIRMED_MAX + 1}


async def test_the_broker_hears_the_confirmed_position_at_most_once_a_second(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(consumer_module, "COMMIT_EVERY_S", 0.05)
    consumer = consumer_on(FakeBroker(), FakeRedis(), Handler())
    kafka = consumer._subscriber.consumer = Assigned()
    for offset in (42, 43, 44):
        await settled(consumer, (Record(received_bytes(), offset=offset),))
    assert kafka.commits == [{TP: 43}]  # the first at once, the rest later together
    await asyncio.sleep(0.1)
    await consumer.drain()
    assert kafka.commits == [{TP: 43}, {TP: 45}]
