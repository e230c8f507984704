"""The gateway's records API for oversight: checked requests become commands on the records topic, keyed by the
record id; a bad value is a 4xx naming the field, and nothing is published."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import httpx
import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from common.clock import Clock
from common.registry.view import RegistryView
from contracts.oversight import (
    AllocateFunds,
    OversightRecordMessage,
    RecordCallback,
    RecordContact,
    RecordTraining,
    record_event_id,
)
from contracts.topics import OVERSIGHT_RECORDS
from gateway.auth import PLATFORM_ADMIN
from gateway.oversight_records_api import OversightRecordsController
from tests.fake_broker import connected

API = "/api/v1/oversight/records"
CLOSED, OPEN = "HB-202603-000001", "HB-202603-000002"


class FakeBroker:
    def __init__(self) -> None:
        self.published: list[tuple[str, bytes, Any]] = []
        self.config = connected(self)

    async def send(self, topic: str, value: bytes, *, key: bytes, **_: Any) -> asyncio.Future[Any]:
        self.published.append((topic, key, msgspec.json.decode(value, type=OversightRecordMessage)))
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        done.set_result(SimpleNamespace(partition=0, offset=len(self.published)))
        return done


class FakeRedis:
    async def get(self, key: str) -> None:  # the platform clock's offset: none
        return None


class FakeStates:
    async def get(self, issue_id: str) -> Any:
        return {CLOSED: SimpleNamespace(state="closed"), OPEN: SimpleNamespace(state="assigned")}.get(issue_id)


class RootSessions:
    """Every bearer token is a session of the platform's first administrator (the scope checks are
    tested in tests/unit/gateway/test_access.py)."""

    async def session(self, token: str) -> str:
        return PLATFORM_ADMIN


@pytest.fixture
async def client(view: RegistryView) -> AsyncIterator[AsyncTestClient[Litestar]]:
    app = Litestar(route_handlers=[OversightRecordsController])
    app.state.update(
        broker=FakeBroker(),
        clock=Clock(FakeRedis()),  # type: ignore[arg-type]
        registry=SimpleNamespace(view=view),
        work=SimpleNamespace(states=FakeStates()),
        credentials=RootSessions(),
    )
    async with AsyncTestClient(app=app) as test_client:
        test_client.headers["Authorization"] = "Bearer root"
        yield test_client


def published(client: AsyncTestClient[Litestar]) -> list[tuple[str, bytes, Any]]:
    return client.app.state.broker.published  # type: ignore[no-any-return]


CONTACT = {
    "deputy_code": "D00017",
    "station_code": "610902001001",
    "kind": "visit",
    "held_on": "2026-03-05",
    "voters_met": 4,
}
TRAINING = {
    "unit_code": "610902001",
    "held_on": "2026-03-12",
    "audience": "grid_leader",
    "attendee_codes": ["610902001001-G01-L", "D00017"],
    "attendees": 9,
    "topic": "网格员履职培训",
}
FUNDS = {"issue_id": CLOSED, "amount_yuan": 5000, "purpose": "水管维修", "approved_by": "主任会议", "month": "2026-03"}
CALLBACK = {"issue_id": CLOSED, "answer": "dissatisfied", "called_by": "督查室", "note": "水管仍漏"}


@pytest.mark.parametrize(
    ("path", "body", "cls"),
    [
        ("/contacts", CONTACT, RecordContact),
        ("/training", TRAINING, RecordTraining),
        ("/funds", FUNDS, AllocateFunds),
        ("/callbacks", CALLBACK, RecordCallback),
    ],
)
async def test_a_record_is_published_keyed_by_its_id(
    client: AsyncTestClient[Litestar], path: str, body: dict[str, Any], cls: type
) -> None:
    answer = await client.post(f"{API}{path}", json=body)
    assert answer.status_code == 202, answer.text
    record_id = answer.json()["record_id"]
    [(topic, key, command)] = published(client)
    assert (topic, key, type(command), command.record_id) == (
        OVERSIGHT_RECORDS.name,
        record_id.encode(),
        cls,
        record_id,
    )
    assert command.event_id == record_event_id(cls.__struct_config__.tag, record_id)


async def test_a_retried_record_keeps_its_id_and_event_id(client: AsyncTestClient[Litestar]) -> None:
    for _ in range(2):
        answer = await client.post(f"{API}/contacts", json=CONTACT | {"record_id": "CT-0001"})
        assert answer.status_code == 202 and answer.json() == {"record_id": "CT-0001"}
    first, second = (command for _, _, command in published(client))
    assert first.event_id == second.event_id and first.kind == "visit" and first.voters_met == 4


@pytest.mark.parametrize(
    ("path", "body", "field", "status"),
    [
        ("/contacts", CONTACT | {"kind": "phone"}, "kind", 400),
        ("/contacts", CONTACT | {"deputy_code": "D99999"}, "deputy_code", 400),
        ("/contacts", CONTACT | {"station_code": "999"}, "station_code", 400),
        ("/contacts", CONTACT | {"voters_met": -1}, "voters_met", 400),
        ("/contacts", CONTACT | {"held_on": "2099-01-01"}, "held_on", 400),
        ("/contacts", CONTACT | {"voter": "x"}, "voter", 400),
        ("/contacts", CONTACT | {"record_id": "has space"}, "record_id", 400),
        ("/training", TRAINING | {"unit_code": "610902"}, "unit_code", 400),
        ("/training", TRAINING | {"audience": "voters"}, "audience", 400),
        ("/training", TRAINING | {"attendee_codes": ["D00017", "nobody"]}, "attendee_codes[1]", 400),
        ("/training", TRAINING | {"attendees": 1}, "attendees", 400),
        ("/funds", FUNDS | {"amount_yuan": 0}, "amount_yuan", 400),
        ("/funds", FUNDS | {"month": "2026-3"}, "month", 400),
        ("/funds", FUNDS | {"issue_id": "HB-202603-000009"}, "issue_id", 400),
        ("/callbacks", CALLBACK | {"answer": "happy"}, "answer", 400),
        ("/callbacks", CALLBACK | {"issue_id": OPEN}, "issue_id", 409),
    ],
)
async def test_a_bad_record_names_the_field_and_publishes_nothing(
    client: AsyncTestClient[Litestar], path: str, body: dict[str, Any], field: str, status: int
) -> None:
    answer = await client.post(f"{API}{path}", json=body)
    assert answer.status_code == status, answer.text
    found = answer.json()
    named = [
        found["detail"].split(":")[0],
        *(e["key"] for e in found["extra"]),
        *(e["message"] for e in found["extra"]),
    ]
    assert any(field == n or f"`{field}`" in n for n in named), found  # an unknown field is named in the message
    assert published(client) == []


async def test_the_figures_are_asked_of_oversight(client: AsyncTestClient[Litestar]) -> None:
    asked: list[str] = []

    def oversight(request: httpx.Request) -> httpx.Response:
        asked.append(f"{request.url.path}?{request.url.query.decode()}")
        return httpx.Response(200, json={"from": "oversight"})

    client.app.state.oversight = httpx.AsyncClient(
        base_url="http://oversight", transport=httpx.MockTransport(oversight)
    )
    for path in (
        "/contacts?by=town&period=2026",
        "/training",
        "/funds?period=all",
        "/callbacks",
        "/callbacks/due?share=0.1",
    ):
        answer = await client.get(f"{API}{path}")
        assert answer.status_code == 200 and answer.json() == {"from": "oversight"}
    assert asked == [
        "/contacts?by=town&period=2026",
        "/training?",
        "/funds?period=all",
        "/callbacks?",
        "/callbacks/due?share=0.1",
    ]
