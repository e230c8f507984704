"""`make chaos`: under a steady load of intakes, kill -9 each part in turn, then prove nothing was lost.

The same code runs in short form inside `make test` (tests/integration/test_chaos.py)."""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx
import msgspec
import redis.asyncio as aioredis
from aiokafka import AIOKafkaProducer

from common.outbox import EPOCH_KEY, archive_hwm_key
from common.progress import Positions
from contracts.topics import DEAD_LETTER, DLQ_GROUP, DLQ_OFFSET, DLQ_PARTITION, DLQ_TOPIC, ISSUE_EVENTS, SUBMISSIONS
from infra.runtime.demo import ADMIN, load_demo_registry
from infra.runtime.platform import APPLICATION_PARTS, Platform, Ports
from infra.runtime.supervisor import Supervisor
from infra.topic_reader import high_watermarks, read_topic
from services.registry.demo import demo_district

BODY = {"channel": "hotline", "station_code": "610902001001", "kind": "problem", "text": "通村公路滑坡，路面塌方"}
# Consumer groups whose lag must return to zero, and the topic each reads.
GROUPS = {"intake": SUBMISSIONS.name, "triage": ISSUE_EVENTS.name, "gateway-projector": ISSUE_EVENTS.name}
ALL_KILLABLE = ("valkey", "broker", *APPLICATION_PARTS)


class Load:
    """Submits intakes at a steady rate, each with its own Idempotency-Key, retrying with the same key
    until it gets its 202, as a careful client (or the village app's offline queue) would."""

    def __init__(self, gateway_url: str, rate: float, password: str) -> None:
        self.gateway_url, self.rate, self._password = gateway_url, rate, password
        self._auth: dict[str, str] = {}  # a station account's session: the platform admin's
        self.acknowledged: dict[str, str] = {}  # idempotency key -> submission id
        self.attempts = 0
        self.stopping = threading.Event()  # set from the thread that runs the kills

    async def run(self) -> None:
        async with httpx.AsyncClient(base_url=self.gateway_url, timeout=5.0) as client:
            pending: set[asyncio.Task[None]] = set()
            while not self.stopping.is_set():
                task = asyncio.create_task(self._submit(client, f"chaos-{uuid.uuid4()}"))
                pending.add(task)
                task.add_done_callback(pending.discard)
                await asyncio.sleep(1 / self.rate)
            await asyncio.gather(*pending)

    async def _submit(self, client: httpx.AsyncClient, key: str) -> None:
        body = {**BODY, "text": f"{BODY['text']} {key[-6:]}"}
        while True:
            self.attempts += 1
            try:
                if not self._auth:
                    await self._sign_in(client)
                headers = {"Idempotency-Key": key, **self._auth}
                response = await client.post("/api/v1/intakes", json=body, headers=headers)
                if response.status_code == 202:
                    self.acknowledged[key] = response.json()["submission_id"]
                    return
                if response.status_code == 401:  # the session was lost with Valkey: sign in again
                    self._auth = {}
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.3)

    async def _sign_in(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/api/v1/auth/sign-in", json={"login": ADMIN, "password": self._password})
        if response.status_code == 200:
            self._auth = {"Authorization": f"Bearer {response.json()['token']}"}


@dataclass
class Report:
    acknowledged: int = 0
    found: int = 0
    duplicated: int = 0
    lost: int = 0
    without_full_history: int = 0
    dead_letters: int = 0
    poison_sent: int = 0
    lag: dict[str, int] = field(default_factory=dict)
    recovery_s: dict[str, float] = field(default_factory=dict)
    attempts: int = 0

    @property
    def ok(self) -> bool:
        return (
            self.lost == 0
            and self.duplicated == 0
            and self.without_full_history == 0
            and self.found == self.acknowledged
            and self.dead_letters == self.poison_sent
            and not any(self.lag.values())
        )


async def send_poison(bootstrap: str, count: int) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for n in range(count):
            await producer.send_and_wait(SUBMISSIONS.name, b'{"type": "poison", ' + str(n).encode(), key=b"poison")
    finally:
        await producer.stop()


async def lag_of_groups(platform: Platform) -> dict[str, int]:
    """Records each consumer group (and the archiver) has not yet handled, by the positions they keep."""
    redis = aioredis.Redis.from_url(platform.redis_url)
    try:
        ends = await high_watermarks(platform.kafka_bootstrap, {SUBMISSIONS.name, ISSUE_EVENTS.name})
        at = {(tp.rpartition(":")[0], int(tp.rpartition(":")[2])): end for tp, end in ends.items()}
        lag = {}
        for group, topic in GROUPS.items():
            lag[group] = await Positions(redis, group).behind({tp: end for tp, end in at.items() if tp[0] == topic})
        if "archiver" in platform.wanted:
            epoch = (await redis.get(EPOCH_KEY) or b"0").decode()
            marks = {k.decode(): int(v) for k, v in (await redis.hgetall(archive_hwm_key(epoch))).items()}
            lag["archiver"] = sum(end - marks.get(tp, 0) for tp, end in ends.items() if end)
        return lag
    finally:
        await redis.aclose()


async def check(platform: Platform, load: Load, poison_sent: int) -> Report:
    """Every acknowledged intake exists exactly once, with its history; nothing is stuck."""
    acknowledged = set(load.acknowledged.values())
    report = Report(acknowledged=len(acknowledged), poison_sent=poison_sent, attempts=load.attempts)
    given: dict[str, set[tuple[str, str]]] = {sid: set() for sid in acknowledged}
    triaged: set[str] = set()
    for record in await read_topic(platform.kafka_bootstrap, ISSUE_EVENTS.name):
        event = msgspec.json.decode(record.value)
        if event["type"] == "intake.issue_received.v1" and event["submission_id"] in given:
            given[event["submission_id"]].add((event["issue_id"], event["event_id"]))
        elif event["type"] == "triage.issue_triaged.v1":
            triaged.add(event["issue_id"])
    numbers = [number for pairs in given.values() for number, _ in pairs]
    report.found = sum(1 for pairs in given.values() if pairs)
    report.lost = report.acknowledged - report.found
    report.duplicated = sum(1 for pairs in given.values() if len(pairs) > 1) + len(numbers) - len(set(numbers))
    report.without_full_history = await _without_history(platform, {n for n in numbers}, triaged)
    # Distinct records dead-lettered: a crash between the dead-letter publish and the commit (Valkey killed,
    # say) publishes the same record's dead letter again, at least once like everything else.
    dead = await read_topic(platform.kafka_bootstrap, DEAD_LETTER.name)
    report.dead_letters = len({_origin(record) for record in dead})
    report.lag = await lag_of_groups(platform)
    return report


def _origin(record) -> tuple[str, str, str, str]:  # type: ignore[no-untyped-def]
    """Where a dead letter came from: the group, and the topic, partition and offset it was read at."""
    headers = {name: value.decode() for name, value in record.headers or ()}
    return (
        headers.get(DLQ_GROUP, ""),
        headers.get(DLQ_TOPIC, ""),
        headers.get(DLQ_PARTITION, ""),
        headers.get(DLQ_OFFSET, ""),
    )


async def _without_history(platform: Platform, numbers: set[str], triaged_on_topic: set[str]) -> int:
    """Issues whose read-model history is not exactly received then triaged, or never triaged on the topic."""
    async with httpx.AsyncClient(base_url=platform.gateway_url, timeout=10) as client:
        signed_in = await client.post(
            "/api/v1/auth/sign-in", json={"login": ADMIN, "password": platform.admin_password}
        )
        auth = {"Authorization": f"Bearer {signed_in.json()['token']}"}
        broken = 0
        for number in numbers:
            response = await client.get(f"/api/v1/issues/{number}", headers=auth)
            types = [h["type"] for h in response.json().get("history", [])] if response.status_code == 200 else []
            if types != ["intake.issue_received.v1", "triage.issue_triaged.v1"] or number not in triaged_on_topic:
                broken += 1
        return broken


def _supervised_sleep(supervisor: Supervisor, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        supervisor.check()
        time.sleep(0.2)


def _kill_and_time(platform: Platform, supervisor: Supervisor, name: str, timeout: float = 180.0) -> float:
    """kill -9 a part; return the seconds until the supervisor has it (and all others) healthy again."""
    platform.parts[name].kill()
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        supervisor.check()
        status = platform.status()
        if name in status and all(state == "healthy" for state in status.values()):
            return time.monotonic() - started
        time.sleep(0.2)
    raise TimeoutError(f"{name} was not healthy again within {timeout:.0f} s: {platform.status()}")


def run(platform: Platform, kill: tuple[str, ...], rate: float, pause_s: float, poison: int) -> tuple[Report, Load]:
    """Kills and restarts run on this (the main) thread, as in `make run`: a part started from a thread
    that later ends would get SIGTERM (PR_SET_PDEATHSIG follows the parent thread). Load runs beside."""
    supervisor, load = Supervisor(platform), Load(platform.gateway_url, rate, platform.admin_password)
    loading = threading.Thread(target=asyncio.run, args=(load.run(),), daemon=True)
    loading.start()
    recovery: dict[str, float] = {}
    try:
        _supervised_sleep(supervisor, pause_s)
        asyncio.run(send_poison(platform.kafka_bootstrap, poison))
        for name in kill:
            recovery[name] = round(_kill_and_time(platform, supervisor, name), 1)
            _supervised_sleep(supervisor, pause_s)
    finally:
        load.stopping.set()
        loading.join()
    report = asyncio.run(converge(platform, load, poison))
    report.recovery_s = recovery
    return report, load


async def converge(platform: Platform, load: Load, poison: int, timeout: float = 120.0) -> Report:
    """Check until everything is accounted for (outboxes republish what a dead broker lost) or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        report = await check(platform, load, poison)
        if report.ok or time.monotonic() > deadline:
            return report
        await asyncio.sleep(2.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=25.0, help="intakes per second during the run")
    parser.add_argument("--pause", type=float, default=4.0, help="seconds of load between kills")
    parser.add_argument("--kill", default=",".join(ALL_KILLABLE), help="parts to kill, in order")
    args = parser.parse_args()
    env = {"OUTBOX_REPUBLISH_AFTER_S": "3", "KAFKA_SESSION_TIMEOUT_MS": "6000", "KAFKA_HEARTBEAT_INTERVAL_MS": "1000"}
    with tempfile.TemporaryDirectory(prefix="chaos-") as var:
        platform = Platform(Path(var), Ports.free(), env=env, say=lambda line: print(f"  {line}", flush=True))
        with platform:
            load_demo_registry(platform.gateway_url, demo_district("small"), admin_password=platform.admin_password)
            report, load = run(platform, tuple(args.kill.split(",")), args.rate, args.pause, poison=3)
            print(json.dumps(asdict(report), indent=2))
            platform.stop()
            platform.start()  # the whole platform stopped and started again, as Ctrl-C then `make run`
            again = asyncio.run(converge(platform, load, 3))
    print("after a whole restart:", json.dumps(asdict(again)))
    raise SystemExit(0 if report.ok and again.ok else 1)


if __name__ == "__main__":
    main()
