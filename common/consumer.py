"""How every service consumes: batches, at-least-once, idempotent by event id, poison to dead-letter.

A batch is fetched, each message decoded and handled inside its own trace span, the handlers' state
stored, the resulting records published and acknowledged by the broker, and only then the handled
event ids marked and the group's position advanced (in Valkey, in one transaction). A crash anywhere
before that transaction redelivers the batch; handlers are idempotent and derive their output event
ids from their input, so the redelivery changes nothing downstream.

The batches overlap: once a batch's state is stored, the next one is fetched and handled while the
broker acknowledges the first one's records and its marks are written (its *confirmation*). What the
next batch reads is already stored, and nothing is given up: a batch's records are published only
after every earlier batch's records were acknowledged, and its marks written only after theirs, so
order per partition and "marked means published" hold as before. A confirmation that fails rewinds
the consumer to the first batch not confirmed, as a crash would.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import logging
import time
import typing
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
import redis.asyncio as aioredis
import redis.exceptions
from aiokafka import ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from opentelemetry import trace
from opentelemetry.trace import SpanKind

from common.bus import Outgoing, publish_all
from common.fetch_pace import FetchPace, Gathering
from common.logs import current_issue_id
from common.outbox import Outbox
from common.progress import Positions, ProcessedEvents
from common.settings import BaseSettings
from common.telemetry import extract_context, link_to
from contracts.base import Message
from contracts.topics import (
    DEAD_LETTER,
    DLQ_ATTEMPTS,
    DLQ_GROUP,
    DLQ_OFFSET,
    DLQ_PARTITION,
    DLQ_REASON,
    DLQ_TOPIC,
    HEADER_MESSAGE_TYPE,
    HEADER_PRODUCER,
    Topic,
)

log = logging.getLogger(__name__)
tracer = trace.get_tracer(__name__)

Handler = Callable[[Any], Awaitable[list[Outgoing]]]
BATCH_WAIT_MS = 1000  # how long one wait for records may last; it ends early when any come
UNCONFIRMED_MAX = 4  # batches handled and not yet confirmed, at most: the next waits for the oldest
COMMIT_EVERY_S = 1.0  # how often the broker hears the group's position (Valkey's is the one used)
REWIND_PAUSE_S = 1.0  # after a failure, before fetching again: a broker or Valkey that is down stays so a while

# Failures of the platform, not of the message: rewind and try the batch again, never dead-letter.
TRANSIENT: tuple[type[BaseException], ...] = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    redis.exceptions.BusyLoadingError,
    KafkaError,
    OSError,
    TimeoutError,
)


def message_tags(union: Any) -> frozenset[str]:
    members = typing.get_args(union) or (union,)
    return frozenset(m.__struct_config__.tag for m in members)


class _ResumeFromState(ConsumerRebalanceListener):
    """Seek each assigned partition to the position kept with the state. (After a broker restore the
    launcher first clamps kept positions to what the broker holds: see `clamp_positions`.)"""

    def __init__(self, consumer: Consumer) -> None:
        self._consumer = consumer

    async def on_partitions_revoked(self, revoked: Any) -> None:
        await self._consumer.drain()  # what is in hand is confirmed (or failed) before another takes it

    async def on_partitions_assigned(self, assigned: Any) -> None:
        self._consumer.watch_pace()
        self._consumer.forget_unconfirmed()  # drained on revocation; from here Valkey's positions rule
        kafka = self._consumer._subscriber.consumer
        stored = await self._consumer._positions.stored()
        for tp in assigned:
            if (tp.topic, tp.partition) in stored:
                kafka.seek(tp, stored[(tp.topic, tp.partition)])


class _Batch:
    """A batch handled and not yet confirmed: where to rewind to if it is not, and how far it got."""

    __slots__ = ("acknowledged", "confirmed", "earliest")

    def __init__(self, records: tuple[Any, ...]) -> None:
        self.earliest: dict[TopicPartition, int] = {}
        for r in records:
            tp = TopicPartition(r.topic, r.partition)
            self.earliest[tp] = min(self.earliest.get(tp, r.offset), r.offset)
        loop = asyncio.get_running_loop()
        self.acknowledged: asyncio.Future[bool] = loop.create_future()  # its records are all in the broker
        self.confirmed: asyncio.Future[bool] = loop.create_future()  # and its marks are written

    def failed(self) -> None:
        for step in (self.acknowledged, self.confirmed):
            if not step.done():
                step.set_result(False)


class DeadLetter(Exception):
    def __init__(self, reason: str, attempts: int) -> None:
        super().__init__(reason)
        self.reason, self.attempts = reason, attempts


class Consumer:
    """One consumer group on one topic, handing each message to `handle`.

    The group's position is kept in Valkey with its state (in one transaction with the processed marks
    and the outbox entries), and the consumer seeks to it when partitions are assigned: after a broker
    restart, with committed offsets gone, it resumes where its state says it was.
    """

    def __init__(
        self,
        *,
        broker: KafkaBroker,
        redis: aioredis.Redis,
        settings: BaseSettings,
        topic: Topic,
        group: str,
        handle: Handler,
        outbox: Outbox | None = None,
        prefetch: Callable[[list[Message]], Awaitable[None]] | None = None,
        flush: Callable[[], Awaitable[None]] | None = None,
        wants: frozenset[str] | None = None,
        skip_own: bool = False,
        fetch_max_wait_ms: int | None = None,
        gather_ms: int = 0,
    ) -> None:
        self.broker, self.settings, self.topic, self.group, self.handle = broker, settings, topic, group, handle
        self.outbox = outbox
        self._prefetch, self._flush = prefetch, flush  # batch-wide reads before the handlers, writes after
        # Only these message types are decoded and handled; others are passed over by their header.
        self._wants = {t.encode() for t in wants} if wants is not None else None
        # Records this process published itself are passed over by their producer header: its handlers
        # folded each into the state before publishing it (`skip_own`, for the issue events' consumers).
        self._me = broker.config.client_id.encode() if skip_own else None
        self._redis = redis
        self._decoder = msgspec.json.Decoder(topic.messages)
        self._tags = message_tags(topic.messages)
        self._processed = ProcessedEvents(redis, group, settings.processed_ttl_s)
        self._positions = Positions(redis, group)
        fetch_max_wait = fetch_max_wait_ms or settings.kafka_fetch_max_wait_ms
        self._pace = FetchPace.of(settings, fetch_max_wait)
        self._pacing: asyncio.Task[None] | None = None
        self._gathering = Gathering(gather_ms / 1000)  # off the paths people wait on: batches gather
        self._subscriber = broker.subscriber(
            topic.name,
            group_id=group,
            batch=True,
            max_records=settings.kafka_max_records,
            # The consumer confirms and rewinds by itself (`_confirm`, `_rewind_if_failed`); the broker
            # hears the position now and then (`_commit_now_and_then`), never past what Valkey holds.
            ack_policy=AckPolicy.MANUAL,
            auto_offset_reset="earliest",  # a new group must not skip what was published before it
            # How long the broker may hold a fetch open: the services' default (20 ms) where latency
            # matters; longer where it does not, since every open fetch costs Tansu CPU (COMPONENTS.md).
            fetch_max_wait_ms=fetch_max_wait,
            session_timeout_ms=settings.kafka_session_timeout_ms,
            heartbeat_interval_ms=settings.kafka_heartbeat_interval_ms,
            listener=_ResumeFromState(self),
            decoder=_undecoded,  # `process` decodes the raw records itself, into the topic's own types
        )
        self._subscriber(self._on_batch)
        # FastStream's batch loop waits `batch_timeout_ms` for records and, finding none, sleeps as long
        # again: a record that came during the sleep waited for it, up to 20 ms more a hop (its default,
        # 200 ms, cost up to 400). aiokafka's `getmany` returns the moment the fetcher holds records, so
        # the loop waits there instead, and never sleeps. (The fetcher itself fetches in the background.)
        self._subscriber.get_msg = self._next_batch
        self._unconfirmed: deque[_Batch] = deque()
        self._confirmations: set[asyncio.Task[None]] = set()
        self._committed_at, self._committing = 0.0, False
        self._commit_later: asyncio.TimerHandle | None = None
        self._position: dict[TopicPartition, int] = {}  # the next offset per partition, as confirmed
        stop = getattr(self._subscriber, "stop", None)
        if stop is not None:  # FastStream stops the subscribers before the producer: confirm what is in hand

            async def stop_then_confirm() -> None:
                await stop()
                await self.drain()
                if self._commit_later is not None:
                    self._commit_later.cancel()

            self._subscriber.stop = stop_then_confirm

    async def _next_batch(self, consumer: Any) -> tuple[Any, ...]:
        await self._rewind_if_failed(consumer)
        batches = await self._gathering.next_batch(
            consumer, wait_ms=BATCH_WAIT_MS, most=self.settings.kafka_max_records
        )
        return tuple(itertools.chain.from_iterable(batches.values()))

    def watch_pace(self) -> None:
        """Lengthen the fetch wait in quiet spells (`common.fetch_pace`), from the first assignment on."""
        if self._pace.enabled and self._pacing is None:
            self._pacing = asyncio.create_task(self._look_at_pace(), name=f"fetch pace {self.group}")

    async def _look_at_pace(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            with contextlib.suppress(Exception):  # a consumer stopping or restarting: look again later
                self._pace.look(self._subscriber.consumer)

    async def _on_batch(self, _body: Any) -> None:
        self._pace.came(self._subscriber.consumer)  # records came: the short wait from the next fetch on
        await self.process(self.broker.context.get_local("message").raw_message)

    async def process(self, records: tuple[Any, ...]) -> None:
        """Handle a batch and store the handlers' state; its confirmation goes on in the background
        (`drain` waits for it). A failure here is logged and rewound at the next fetch."""
        batch = _Batch(records)
        earlier = self._unconfirmed[-1] if self._unconfirmed else None
        self._unconfirmed.append(batch)
        try:
            while len(self._unconfirmed) > UNCONFIRMED_MAX:
                if not await self._unconfirmed[0].confirmed:
                    raise _EarlierFailed
                self._unconfirmed.popleft()
            out, handled = await self._handle_batch(records)
        except Exception as exc:
            batch.failed()
            _log_failure(exc, self.group)
            return
        self._in_background(self._confirm(batch, earlier, out, handled, records))

    async def _confirm(
        self, batch: _Batch, earlier: _Batch | None, out: list[Outgoing], handled: list[str], records: tuple[Any, ...]
    ) -> None:
        try:
            if earlier is not None and not await earlier.acknowledged:
                raise _EarlierFailed
            published = await publish_all(self.broker, out)
            batch.acknowledged.set_result(True)
            if earlier is not None and not await earlier.confirmed:
                raise _EarlierFailed
            async with self._redis.pipeline(transaction=True) as pipe:  # marks, position and outbox together
                self._processed.mark(pipe, handled)
                self._positions.advance(pipe, records)
                if self.outbox:
                    self.outbox.keep(pipe, published)
                await pipe.execute()
            batch.confirmed.set_result(True)
        except Exception as exc:
            _log_failure(exc, self.group)
            return
        finally:
            batch.failed()  # whatever it did not get to (an error, or a stop that cut it short) failed
        for r in records:
            self._position[TopicPartition(r.topic, r.partition)] = r.offset + 1
        self._commit_now_and_then()

    def _in_background(self, work: Awaitable[None]) -> None:
        """Run `work` as a task that `drain` waits for."""
        task = asyncio.ensure_future(work)
        self._confirmations.add(task)
        task.add_done_callback(self._confirmations.discard)

    async def drain(self) -> None:
        """Wait until every batch handled so far is confirmed, or has failed."""
        while self._confirmations:
            await asyncio.gather(*self._confirmations, return_exceptions=True)

    def forget_unconfirmed(self) -> None:
        self._unconfirmed.clear()

    async def _rewind_if_failed(self, consumer: Any) -> None:
        """Forget the batches confirmed; if one failed, seek back to the first not confirmed (every later
        one fails with it, never confirmed past it) and fetch again from there after a pause."""
        self._forget_confirmed()
        if not any(b.confirmed.done() and not b.confirmed.result() for b in self._unconfirmed):
            return
        await asyncio.wait([b.confirmed for b in self._unconfirmed])
        self._forget_confirmed()
        earliest: dict[TopicPartition, int] = {}
        for batch in self._unconfirmed:
            for tp, offset in batch.earliest.items():
                earliest[tp] = min(earliest.get(tp, offset), offset)
        self._unconfirmed.clear()
        assigned = consumer.assignment()
        for tp, offset in earliest.items():
            if tp in assigned:  # a partition taken away meanwhile is sought by its new owner, from Valkey
                consumer.seek(tp, offset)
        log.warning("batches not confirmed: fetching them again", extra={"group": self.group, "from": str(earliest)})
        await asyncio.sleep(REWIND_PAUSE_S)

    def _forget_confirmed(self) -> None:
        while self._unconfirmed and self._unconfirmed[0].confirmed.done() and self._unconfirmed[0].confirmed.result():
            self._unconfirmed.popleft()

    def _commit_now_and_then(self) -> None:
        """Tell the broker the confirmed position at most once a `COMMIT_EVERY_S`, off the batches' path.
        Only for tools that read the group's committed offsets: the consumer resumes from Valkey's."""
        wait = self._committed_at + COMMIT_EVERY_S - time.monotonic()
        if self._committing or self._commit_later is not None:
            return
        if wait > 0:  # the last batch of a burst is told too, a little later
            self._commit_later = asyncio.get_running_loop().call_later(wait, self._commit_when_due)
            return
        kafka = getattr(self._subscriber, "consumer", None)
        try:
            assigned = kafka.assignment() if kafka is not None else set()
        except Exception:  # the consumer stopping
            return
        offsets = {tp: offset for tp, offset in self._position.items() if tp in assigned}
        if not offsets:
            return
        self._committing, self._committed_at = True, time.monotonic()

        async def commit() -> None:
            try:
                await kafka.commit(offsets)
            except Exception as exc:  # a rebalance under way, a broker away: the next one will do
                log.debug("position not committed to the broker", extra={"error": repr(exc), "group": self.group})
            finally:
                self._committing = False
            if any(self._position.get(tp) != offset for tp, offset in offsets.items()):
                self._commit_now_and_then()  # batches confirmed meanwhile: told at the next turn

        self._in_background(commit())

    def _commit_when_due(self) -> None:
        self._commit_later = None
        self._commit_now_and_then()

    async def _handle_batch(self, records: tuple[Any, ...]) -> tuple[list[Outgoing], list[str]]:
        """Decode and handle each record once, and store the handlers' state: what to publish, and the
        event ids handled."""
        decoded: list[tuple[Any, Message]] = []
        undecodable: dict[str, tuple[Any, str]] = {}  # stable id -> (record, reason)
        for record in records:
            if (self._wants is not None or self._me is not None) and self._passed_over(record):
                continue
            try:
                decoded.append((record, self._decoder.decode(record.value)))
            except (msgspec.ValidationError, msgspec.DecodeError) as exc:
                if not self._is_unknown_type(record.value):  # a newer producer's type is not for us: skip it
                    undecodable[_record_id(record)] = (record, f"undecodable: {exc}")
        # Which events are new, and the state the batch touches, in two round trips at once (a redelivered
        # event's state is loaded too: harmless, and it saves waiting for one answer before asking the other).
        unseen = self._processed.unseen([str(m.event_id) for _, m in decoded] + list(undecodable))
        if self._prefetch:
            fresh, _ = await asyncio.gather(unseen, self._prefetch([m for _, m in decoded]))
        else:
            fresh = await unseen
        out = [self._dead_letter(r, reason, 0) for rid, (r, reason) in undecodable.items() if rid in fresh]
        handled: list[str] = [rid for rid in undecodable if rid in fresh]
        for record, message in decoded:
            event_id = str(message.event_id)
            if event_id not in fresh:
                continue
            fresh.discard(event_id)  # the same event twice in one batch is handled once
            try:
                out.extend(await self._handle_one(record, message))
            except DeadLetter as dead:
                out.append(self._dead_letter(record, dead.reason, dead.attempts))
            handled.append(event_id)
        if self._flush:
            await self._flush()  # the handlers' state, before anything they caused is published
        return out, handled

    async def _handle_one(self, record: Any, message: Message) -> list[Outgoing]:
        issue_id = getattr(message, "issue_id", None)
        token = current_issue_id.set(issue_id)
        attributes = {
            "messaging.system": "kafka",
            "messaging.destination.name": record.topic,
            "messaging.kafka.partition": record.partition,
            "messaging.kafka.offset": record.offset,
            "messaging.consumer.group.name": self.group,
            "messaging.message.id": str(message.event_id),
            "message.type": message.__struct_config__.tag or "",
        }
        if issue_id:
            attributes["issue.id"] = issue_id
        origin = getattr(message, "origin_trace", None)
        try:
            with tracer.start_as_current_span(
                f"{record.topic} process",
                context=extract_context(record.headers),
                kind=SpanKind.CONSUMER,
                attributes=attributes,
                links=link_to(origin.traceparent if origin else None),  # back to the issue's intake
            ) as span:
                return await self._with_retries(message, span)
        finally:
            current_issue_id.reset(token)

    async def _with_retries(self, message: Message, span: trace.Span) -> list[Outgoing]:
        attempts = self.settings.handler_attempts
        for attempt in range(1, attempts + 1):
            try:
                return await self.handle(message)
            except TRANSIENT:
                raise
            except Exception as exc:
                span.record_exception(exc)
                # A ValueError is the message's own fault (bad value, illegal transition): retrying cannot help.
                if attempt == attempts or isinstance(exc, ValueError):
                    log.error("message dead-lettered", exc_info=True, extra={"group": self.group})
                    raise DeadLetter(f"{type(exc).__name__}: {exc}", attempt) from exc
                await asyncio.sleep(self.settings.handler_backoff_ms / 1000 * 2 ** (attempt - 1))
        raise AssertionError("unreachable")

    def _passed_over(self, record: Any) -> bool:
        headers = dict(record.headers or ())
        if self._me is not None and headers.get(HEADER_PRODUCER) == self._me:
            return True
        return self._wants is not None and headers.get(HEADER_MESSAGE_TYPE) not in self._wants

    def _is_unknown_type(self, value: bytes) -> bool:
        try:
            tag = msgspec.json.decode(value, type=_TypeOnly).type
        except (msgspec.ValidationError, msgspec.DecodeError):
            return False
        return tag not in self._tags

    def _dead_letter(self, record: Any, reason: str, attempts: int) -> Outgoing:
        headers = {k: v.decode("utf-8", "replace") for k, v in (record.headers or ())}
        headers |= {
            DLQ_REASON: reason[:2000],
            DLQ_TOPIC: record.topic,
            DLQ_PARTITION: str(record.partition),
            DLQ_OFFSET: str(record.offset),
            DLQ_GROUP: self.group,
            DLQ_ATTEMPTS: str(attempts),
        }
        key = record.key.decode("utf-8", "replace") if record.key else ""
        return Outgoing(DEAD_LETTER.name, key, record.value or b"", headers)


class _EarlierFailed(Exception):
    """An earlier batch was not confirmed: this one is fetched again with it."""


def _log_failure(exc: Exception, group: str) -> None:
    if isinstance(exc, _EarlierFailed):
        return
    if isinstance(exc, TRANSIENT):
        log.warning("transient failure, batch will be retried", extra={"error": repr(exc), "group": group})
    else:
        log.error("batch failed, will be retried", exc_info=exc, extra={"group": group})


async def _undecoded(_message: Any) -> None:
    """FastStream would decode every record's JSON into dicts that nobody reads: skip it."""
    return None


def _record_id(record: Any) -> str:
    """An id for a record that has none of its own: where it sits and what it holds, so a replay of the
    same poison record is recognised and not dead-lettered twice."""
    digest = hashlib.sha256(record.value or b"").hexdigest()[:32]
    return f"record:{record.topic}:{record.partition}:{record.offset}:{digest}"


class _TypeOnly(msgspec.Struct):
    type: str
