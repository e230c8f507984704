"""The short crash run: under load, kill -9 a service, the gateway, the archiver, Valkey and the broker,
then stop and start the whole platform; no acknowledged intake is lost or doubled. (`make chaos` kills
every part.)"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import httpx
import pytest

from contracts.topics import ISSUE_EVENTS, SUBMISSIONS
from infra.chaos import BODY, converge, run
from infra.runtime.demo import admin_headers, load_demo_registry
from infra.runtime.platform import Platform, Ports
from infra.runtime.supervisor import Supervisor
from infra.topic_reader import high_watermarks
from services.registry.demo import demo_district
from tests.integration.helpers import FAST_ENV

KILLED = ("intake", "gateway", "archiver", "valkey", "broker")
ENV = {
    **FAST_ENV,
    "OUTBOX_REPUBLISH_AFTER_S": "2",
    "KAFKA_SESSION_TIMEOUT_MS": "3000",
    "KAFKA_HEARTBEAT_INTERVAL_MS": "500",
    "PUBLISH_TIMEOUT_S": "1",
}


@pytest.fixture(scope="module")
def crashing_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    var_dir: Path = tmp_path_factory.mktemp("chaos-var")
    with Platform(var_dir, Ports.free(), env=ENV) as platform:
        load_demo_registry(platform.gateway_url, demo_district("small"), admin_password=platform.admin_password)
        yield platform


@pytest.mark.chaos
def test_no_acknowledged_intake_is_lost_or_doubled_whatever_is_killed(crashing_platform: Platform) -> None:
    report, load = run(crashing_platform, KILLED, rate=15.0, pause_s=2.0, poison=2)
    print("chaos run:", asdict(report))
    assert report.acknowledged > 100
    assert (report.lost, report.duplicated, report.without_full_history) == (0, 0, 0), asdict(report)
    assert report.dead_letters == report.poison_sent == 2
    assert report.lag == dict.fromkeys(report.lag, 0)
    assert set(report.recovery_s) == set(KILLED)

    crashing_platform.stop()
    crashing_platform.start()  # Ctrl-C, then `make run` again: topics come back from the archive
    again = asyncio.run(converge(crashing_platform, load, poison=2))
    assert again.ok, asdict(again)


def test_the_gateway_takes_intakes_while_the_broker_is_down(crashing_platform: Platform) -> None:
    """The 202 comes once the submission is in the gateway's outbox; the broker's return brings it through."""
    with httpx.Client(base_url=crashing_platform.gateway_url, timeout=30) as client:
        auth = admin_headers(client, crashing_platform.admin_password)
    crashing_platform.parts["broker"].kill()
    started = time.monotonic()
    response = httpx.post(f"{crashing_platform.gateway_url}/api/v1/intakes", json=BODY, timeout=10, headers=auth)
    assert response.status_code == 202
    assert time.monotonic() - started < 5  # the publish timeout (1 s here), not the client's
    Supervisor(crashing_platform).check()  # restores the broker and restarts the parts around it

    async def issue_number() -> str | None:
        async with httpx.AsyncClient(base_url=crashing_platform.gateway_url, headers=auth) as client:
            status = (await client.get(response.json()["status_url"])).json()
        return status.get("issue_number")

    async def wait() -> str | None:
        for _ in range(150):
            if number := await issue_number():
                return number
            await asyncio.sleep(0.2)
        return None

    assert asyncio.run(wait()), "the submission taken while the broker was down never became an issue"


def test_a_compacted_broker_holds_the_same_records_and_the_platform_goes_on(crashing_platform: Platform) -> None:
    """`compact_broker` refills a new broker from the archive (each partition in large batches): every record
    is back at its offset, none published twice, and intakes go through as before."""
    with httpx.Client(base_url=crashing_platform.gateway_url, timeout=30) as client:
        auth = admin_headers(client, crashing_platform.admin_password)
        before = client.post("/api/v1/intakes", json=BODY, headers=auth).json()
        assert _issue_number(client, before["status_url"], auth), "no issue before the compaction"
    topics = {SUBMISSIONS.name, ISSUE_EVENTS.name}
    held = asyncio.run(high_watermarks(crashing_platform.kafka_bootstrap, topics))
    assert sum(held.values()) >= 3  # at least the submission above, its IssueReceived and IssueTriaged
    old_broker = crashing_platform.parts["broker"].process

    crashing_platform.compact_broker()

    assert crashing_platform.parts["broker"].process is not old_broker
    assert set(crashing_platform.status().values()) == {"healthy"}, crashing_platform.status()
    assert asyncio.run(high_watermarks(crashing_platform.kafka_bootstrap, topics)) == held
    with httpx.Client(base_url=crashing_platform.gateway_url, timeout=30) as client:
        after = client.post("/api/v1/intakes", json=BODY, headers=auth).json()
        assert _issue_number(client, after["status_url"], auth), "no issue after the compaction"
        assert _issue_number(client, before["status_url"], auth)


def _issue_number(client: httpx.Client, status_url: str, auth: dict[str, str]) -> str | None:
    for _ in range(150):
        if number := client.get(status_url, headers=auth).json().get("issue_number"):
            return str(number)
        time.sleep(0.2)
    return None
