"""Taking a submission in: idempotency by key, and a durable pending record before it is published."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
import uuid
from collections.abc import Mapping

import msgspec
import redis.asyncio as aioredis
from redis.exceptions import NoScriptError

from common.bus import Outgoing, Published
from common.outbox import Outbox
from gateway.tracking import new_tracking_code, shown, tracking_key

log = logging.getLogger(__name__)
# The outbox's two keys empty (the step then keeps nothing) and four placeholders, so the arguments after
# them stay where `_ACCEPT` looks for them.
NO_OUTBOX: tuple[list[str], list[object]] = (["", ""], ["", "", "", 0])
PENDING = "gw:pending"  # sorted set: submission id -> accepted at (unix s); left when IssueReceived is seen

# One atomic step. With a key already used: return what it was first used for. Otherwise remember
# the key (if any), mark the submission pending (for its status), put it in the gateway's outbox,
# which publishes it again until the event archive holds it (once answered 202 it is never lost), and
# write what belongs with the submission (its tracking code, sealed contact, photo owner): all or nothing.
# No outbox keys (a platform without the archiver, `OUTBOX_ENABLED=false`): nothing would ever confirm or
# sweep the entry, so none is kept.
_ACCEPT = """
if KEYS[1] ~= '' then
  local first = redis.call('GET', KEYS[1])
  if first then return first end
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[4])
if KEYS[3] ~= '' then
  redis.call('HSET', KEYS[3], ARGV[5], ARGV[6])
  redis.call('ZADD', KEYS[4], ARGV[8], ARGV[7])
end
for i = 5, #KEYS do
  redis.call('SET', KEYS[i], ARGV[i + 4])
end
return false
"""


class Accepted(msgspec.Struct, frozen=True):
    submission_id: uuid.UUID
    fingerprint: str
    tracking_code: str = ""  # what the voter follows the issue with (kept with the key, so a retry gets it)


class IdempotencyConflict(Exception):
    """The same Idempotency-Key came with a different body."""


def fingerprint(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


Run = tuple[list[str], list[object], asyncio.Future[object]]  # one caller's keys and arguments, and its answer


class BatchedScript:
    """One Lua script run for many concurrent callers: what the callers bring while a batch is on its way
    goes together in the next pipeline. Each run stays one atomic step of its own, and each caller gets
    its own answer only once Valkey has given it, so nothing is answered before it is stored; but the
    client's cost per command (a pooled connection, a round trip, its bookkeeping) is paid once a batch,
    which was most of the CPU an intake spent on Valkey."""

    def __init__(self, redis: aioredis.Redis, script: str) -> None:
        self._redis, self._script = redis, redis.register_script(script)
        self._waiting: list[Run] = []
        self._sending: asyncio.Task[None] | None = None

    async def __call__(self, keys: list[str], args: list[object]) -> object:
        answer: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        self._waiting.append((keys, args, answer))
        if self._sending is None or self._sending.done():
            self._sending = asyncio.create_task(self._send())
        return await answer

    async def _send(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                results = await self._run(batch)
            except Exception as exc:  # Valkey unreachable, say: every caller of the batch learns it
                results = [exc] * len(batch)
            for (_, _, answer), result in zip(batch, results, strict=True):
                if answer.done():  # its caller went away; the step ran (or failed) all the same
                    continue
                if isinstance(result, Exception):
                    answer.set_exception(result)
                else:
                    answer.set_result(result)

    async def _run(self, batch: list[Run]) -> list[object]:
        """Each run's reply or error, in order; a Valkey that lost its scripts (restarted) is given it again."""
        results = await self._pipeline(batch)
        unknown = [i for i, r in enumerate(results) if isinstance(r, NoScriptError)]
        if unknown:
            await self._redis.script_load(self._script.script)
            for i, result in zip(unknown, await self._pipeline([batch[i] for i in unknown]), strict=True):
                results[i] = result
        return results

    async def _pipeline(self, batch: list[Run]) -> list[object]:
        async with self._redis.pipeline(transaction=False) as pipe:
            for keys, args, _ in batch:
                pipe.evalsha(self._script.sha, len(keys), *keys, *args)
            return list(await pipe.execute(raise_on_error=False))


class SubmissionDesk:
    def __init__(self, redis: aioredis.Redis, outbox: Outbox | None, ttl_s: int) -> None:
        self._redis, self._outbox, self._ttl_s = redis, outbox, ttl_s
        self._accept = BatchedScript(redis, _ACCEPT)
        self._decoder = msgspec.json.Decoder(Accepted)

    async def accept(
        self,
        record: Outgoing,
        submission_id: uuid.UUID,
        idempotency_key: str | None,
        body_fingerprint: str,
        also: Mapping[str, str] | None = None,
    ) -> Accepted:
        """The first acceptance for this key (maybe an earlier one), or this one if new: then `record`,
        the submission to publish, is durably kept in the outbox, its tracking code filed, and each of
        `also` (key → value) set, in the same atomic step."""
        code, submission = new_tracking_code(), str(submission_id)
        mine = Accepted(submission_id, body_fingerprint, shown(code))
        outbox_keys, outbox_args = self._outbox.unpublished(record) if self._outbox else NO_OUTBOX
        extra = {tracking_key(code): submission, **(also or {})}
        first = await self._accept(
            [f"gw:idem:{idempotency_key}" if idempotency_key else "", PENDING, *outbox_keys, *extra],
            [msgspec.json.encode(mine), time.time(), self._ttl_s, submission, *outbox_args, *extra.values()],
        )
        if first is None:
            return mine
        earlier = self._decoder.decode(first)
        if earlier.fingerprint != body_fingerprint:
            raise IdempotencyConflict
        return earlier

    async def is_pending(self, submission_id: uuid.UUID) -> bool:
        return await self._redis.zscore(PENDING, str(submission_id)) is not None


# How long Locations gathers before it writes. A write costs the gateway ~0.3 ms of CPU however few it
# carries (redis-py's pipeline), and at 10 ms each intake at 50 /s had one of its own: the gateway's
# largest share of the archive's cost (0.4-0.54 ms an intake, side by side). The sweeper looks at an
# entry only after OUTBOX_REPUBLISH_AFTER_S (10 s), so half a second later is the same to it.
LOCATE_EVERY_S = 0.5


class Locations:
    """Notes where the broker put each submission, in batches off the request path. A note lost in a
    crash costs nothing but one more publication by the sweeper, which consumers drop as a duplicate."""

    def __init__(self, redis: aioredis.Redis, outbox: Outbox | None, every_s: float = LOCATE_EVERY_S) -> None:
        self._redis, self._outbox, self._every_s = redis, outbox, every_s
        self._noted: list[Published] = []
        self._wake = asyncio.Event()

    def note(self, published: list[Published]) -> None:
        if self._outbox is None:
            return  # nothing kept, nothing to locate
        self._noted.extend(published)
        self._wake.set()

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            await asyncio.sleep(self._every_s)  # gather what the next requests bring
            await self.flush()

    async def flush(self) -> None:
        self._wake.clear()
        batch, self._noted = self._noted, []
        if not batch or self._outbox is None:  # (with no outbox, `note` keeps nothing: mypy needs the check)
            return
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                self._outbox.locate(pipe, batch)
                await pipe.execute()
        except aioredis.RedisError as exc:
            log.warning("locations not noted; the sweeper will publish these again", extra={"error": repr(exc)})
