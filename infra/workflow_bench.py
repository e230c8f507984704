"""The workflow's speed on the embedded default (issue #4), part of `make bench`:

1. a month-end review applying 10,000 decisions (half resolve, half assign to a department) at the
   district, timed from the `POST /api/v1/reviews` to the last decision applied, as its outcomes say;
2. a review decision's trip to the department: one-decision reviews at 100 /s, each timed from its
   `POST` to the `ReferralIssued` on the department's own topic (p50 / p99), beside the trip from
   intake `POST` to `IssueTriaged` measured in the same run. A record's arrival is its timestamp (the
   moment its producer sent it), so the bench's own polling of the topic is not counted.

`python -m infra.workflow_bench` runs only these, on its own platform."""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import msgspec
from aiokafka import AIOKafkaConsumer

from contracts.commands import ReferralIssued
from contracts.issues import IssueTriaged
from contracts.topics import ISSUE_EVENTS, referral_topic
from infra.loadgen import Connection, submit
from infra.runtime.demo import admin_headers, load_demo_registry
from infra.runtime.platform import Platform, Ports
from services.registry.demo import demo_district

DISTRICT = "610902"
HANDLER = "d-water"


def _pct(values: list[float], q: int) -> float:
    return round(statistics.quantiles(values, n=100, method="inclusive")[q - 1], 1) if len(values) > 1 else values[0]


class Watch:
    """Notes when each issue's IssueTriaged, and each referral on the department's topic, were sent
    (the records' timestamps, in seconds since the epoch)."""

    def __init__(self, bootstrap: str) -> None:
        self.triaged: dict[str, float] = {}
        self.referred: dict[str, float] = {}
        self._consumer = AIOKafkaConsumer(
            ISSUE_EVENTS.name,
            referral_topic(HANDLER).name,
            bootstrap_servers=bootstrap,
            group_id=f"bench-{uuid.uuid4()}",
            auto_offset_reset="latest",
            fetch_max_wait_ms=20,
            session_timeout_ms=6000,
            heartbeat_interval_ms=1000,
        )
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._consumer.start()
        while not self._consumer.assignment():
            await asyncio.sleep(0.1)
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        triaged, referral = msgspec.json.Decoder(IssueTriaged), msgspec.json.Decoder(ReferralIssued)
        async for record in self._consumer:
            now = record.timestamp / 1000
            if record.topic == ISSUE_EVENTS.name and b"issue_triaged" in record.value[:80]:
                self.triaged.setdefault(triaged.decode(record.value).issue_id, now)
            elif record.topic != ISSUE_EVENTS.name:
                self.referred.setdefault(referral.decode(record.value).issue_id, now)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
        await self._consumer.stop()


async def _intakes(gateway: str, count: int, text: str, headers: dict[str, str]) -> list[str]:
    """Submit `count` intakes at the district's deputies' home; return their issue numbers once triaged."""
    body = msgspec.json.encode({"channel": "window", "station_code": DISTRICT, "kind": "problem", "text": text})
    ids: list[str] = []
    queue = iter(range(count))
    connections = [await Connection.open(gateway, headers) for _ in range(32)]

    async def worker(connection: Connection) -> None:
        for _ in queue:
            ids.append(await submit(connection, body))

    await asyncio.gather(*(worker(c) for c in connections))
    for c in connections:
        await c.close()
    numbers: list[str] = []
    async with httpx.AsyncClient(base_url=gateway, timeout=30, headers=headers) as client:
        for submission in ids:
            for _ in range(600):
                status = (await client.get(f"/api/v1/intakes/{submission}")).json()
                if number := status.get("issue_number"):
                    numbers.append(number)
                    break
                await asyncio.sleep(0.05)
    return numbers


async def _wait_pending_at_district(client: httpx.AsyncClient, count: int, timeout_s: float = 300) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        listed = (await client.get("/api/v1/issues/", params={"unit": DISTRICT, "limit": 1})).json()
        if listed["total"] >= count:
            return
        await asyncio.sleep(0.5)
    raise TimeoutError(f"fewer than {count} issues reached the district's review")


async def big_review(gateway: str, decisions: int, headers: dict[str, str]) -> dict[str, float]:
    numbers = await _intakes(gateway, decisions, "饮水管道老化，夏季经常停水", headers)
    async with httpx.AsyncClient(base_url=gateway, timeout=120, headers=headers) as client:
        await _wait_pending_at_district(client, decisions)
        month = (await client.get("/api/v1/clock/")).json()["month"]
        body = {
            "tier": "district",
            "unit": DISTRICT,
            "month": month,
            "held_on": f"{month}-28",
            "participants": ["主任", "副主任"],
            "decisions": [
                {"issue_id": n, "decision": "resolve", "note": "主任会议研究解决"}
                if i % 2
                else {"issue_id": n, "decision": "assign", "handler_code": HANDLER}
                for i, n in enumerate(numbers)
            ],
        }
        started = time.perf_counter()
        response = await client.post("/api/v1/reviews", json=body)
        accepted_s = time.perf_counter() - started
        url = response.json()["status_url"]
        while True:
            status = (await client.get(url)).json()
            if status["pending"] == 0:
                break
            await asyncio.sleep(0.05)
        applied_s = time.perf_counter() - started
    return {
        "decisions": decisions,
        "applied": status["applied"],
        "refused": status["refused"],
        "accepted_s": round(accepted_s, 2),
        "all_applied_s": round(applied_s, 2),
    }


async def decision_to_referral(
    gateway: str, watch: Watch, rate: float, seconds: float, headers: dict[str, str]
) -> dict[str, float]:
    count = int(rate * seconds)
    submitted: dict[str, float] = {}
    body = msgspec.json.encode(
        {"channel": "window", "station_code": DISTRICT, "kind": "problem", "text": "自来水管破裂"}
    )
    connection = await Connection.open(gateway, headers)
    for _ in range(count):  # the intakes, paced, to measure intake -> triaged in the same run
        started = time.time()  # wall clock, as the records' timestamps
        submitted[await submit(connection, body)] = started
        await asyncio.sleep(max(0.0, 1 / rate - (time.time() - started)))
    await connection.close()
    numbers: dict[str, float] = {}
    async with httpx.AsyncClient(base_url=gateway, timeout=30, headers=headers) as client:
        for submission, at in submitted.items():
            for _ in range(600):
                if number := (await client.get(f"/api/v1/intakes/{submission}")).json().get("issue_number"):
                    numbers[number] = at
                    break
                await asyncio.sleep(0.02)
        await _wait_pending_at_district(client, len(numbers))
        month = (await client.get("/api/v1/clock/")).json()["month"]
    decided: dict[str, float] = {}
    review = {"tier": "district", "unit": DISTRICT, "month": month, "held_on": f"{month}-28"}
    connection = await Connection.open(gateway, headers)
    for number in numbers:  # then one-decision reviews, open loop at `rate`, on the lean client (httpx
        started = time.time()  # costs milliseconds of CPU a request: on two cores, the platform's)
        decision = {"issue_id": number, "decision": "assign", "handler_code": HANDLER}
        decided[number] = started
        status, answer = await connection.post_json(
            "/api/v1/reviews", msgspec.json.encode(review | {"decisions": [decision]})
        )
        assert status == 202, answer
        await asyncio.sleep(max(0.0, 1 / rate - (time.time() - started)))
    await connection.close()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not all(n in watch.referred for n in decided):
        await asyncio.sleep(0.1)
    to_referral = [(watch.referred[n] - t) * 1000 for n, t in decided.items() if n in watch.referred]
    to_triaged = [(watch.triaged[n] - t) * 1000 for n, t in numbers.items() if n in watch.triaged]
    return {
        "rate_per_s": rate,
        "decisions": len(decided),
        "referred": len(to_referral),
        "decision_to_referral_p50_ms": _pct(to_referral, 50),
        "decision_to_referral_p99_ms": _pct(to_referral, 99),
        "intake_to_triaged_p50_ms": _pct(to_triaged, 50),
        "intake_to_triaged_p99_ms": _pct(to_triaged, 99),
    }


async def workflow_figures(platform: Platform, decisions: int, rate: float, seconds: float) -> dict[str, object]:
    watch = Watch(platform.kafka_bootstrap)
    await watch.start()
    try:
        with httpx.Client(base_url=platform.gateway_url, timeout=30) as client:
            headers = admin_headers(client, platform.admin_password)  # work lists are for signed-in users
        latency = await decision_to_referral(platform.gateway_url, watch, rate, seconds, headers)
        review = await big_review(platform.gateway_url, decisions, headers)
    finally:
        await watch.stop()
    return {"review": review, "decision_to_referral": latency}


def run(decisions: int = 10_000, rate: float = 100.0, seconds: float = 10.0) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="bench-workflow-") as var, Platform(Path(var), Ports.free()) as p:
        load_demo_registry(p.gateway_url, demo_district("small"), admin_password=p.admin_password)
        return asyncio.run(workflow_figures(p, decisions, rate, seconds))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--decisions", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    print(json.dumps(run(args.decisions, args.rate, args.seconds), indent=2))


if __name__ == "__main__":
    main()
