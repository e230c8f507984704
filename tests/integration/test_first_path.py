"""The first path over HTTP on the real broker and Valkey: submit, number, triage, read back."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import msgspec
import pytest

from contracts.issues import IssueReceived
from contracts.topics import ISSUE_EVENTS, SUBMISSIONS
from infra.runtime.platform import Platform
from infra.topic_reader import read_topic

WATER = {
    "channel": "visit",
    "station_code": "610902001001",
    "kind": "problem",
    "text": "二组自来水管损坏，三天没水吃",
    "voter": {"name": "李建国", "phone": "13912345678", "address": "一组12号"},
}


async def submit(client: httpx.AsyncClient, body: dict, key: str | None = None) -> httpx.Response:
    return await client.post("/api/v1/intakes", json=body, headers={"Idempotency-Key": key} if key else {})


async def wait_for_issue(client: httpx.AsyncClient, submission_id: str, *, triaged: bool = True) -> dict:
    for _ in range(200):
        status = (await client.get(f"/api/v1/intakes/{submission_id}")).json()
        if number := status.get("issue_number"):
            issue = (await client.get(f"/api/v1/issues/{number}")).json()
            if not triaged or issue.get("category"):
                return issue
        await asyncio.sleep(0.05)
    raise AssertionError(f"submission {submission_id} never became a triaged issue")


@pytest.fixture
async def client(platform: Platform, admin_headers: dict[str, str]):
    async with httpx.AsyncClient(base_url=platform.gateway_url, timeout=10, headers=admin_headers) as http:
        yield http


async def test_submission_becomes_numbered_triaged_issue_with_history(client: httpx.AsyncClient) -> None:
    response = await submit(client, WATER)
    assert response.status_code == 202
    issue = await wait_for_issue(client, response.json()["submission_id"])

    assert issue["number"].startswith("HB-") and len(issue["number"].split("-")[2]) == 6
    assert (issue["category"], issue["responsible_tier"], issue["state"]) == (
        "water_supply",
        "village",
        "pending_review",
    )
    assert [h["type"] for h in issue["history"]] == ["intake.issue_received.v1", "triage.issue_triaged.v1"]
    assert issue["voter"] == "李** 139****5678"


async def test_personal_data_stays_off_the_issue_events(platform: Platform, client: httpx.AsyncClient) -> None:
    issue = await wait_for_issue(client, (await submit(client, WATER)).json()["submission_id"])
    records = [
        r for r in await read_topic(platform.kafka_bootstrap, ISSUE_EVENTS.name) if r.key == issue["number"].encode()
    ]
    assert records and all(b"13912345678" not in r.value and "一组12号".encode() not in r.value for r in records)


async def test_same_idempotency_key_stores_one_issue_and_answers_the_same(platform: Platform, client) -> None:
    key = f"retry-{uuid.uuid4()}"
    answers = [await submit(client, WATER, key) for _ in range(3)]
    assert {a.status_code for a in answers} == {202}
    assert len({a.json()["submission_id"] for a in answers}) == 1
    submission_id = answers[0].json()["submission_id"]
    await wait_for_issue(client, submission_id)
    published = [
        r for r in await read_topic(platform.kafka_bootstrap, SUBMISSIONS.name) if r.key == submission_id.encode()
    ]
    assert len(published) == 1
    received = [msgspec.json.decode(r.value) for r in await read_topic(platform.kafka_bootstrap, ISSUE_EVENTS.name)]
    assert (
        sum(
            1
            for e in received
            if e["type"] == IssueReceived.__struct_config__.tag and e["submission_id"] == submission_id
        )
        == 1
    )


async def test_idempotency_key_reused_with_other_body_is_refused(client: httpx.AsyncClient) -> None:
    key = f"reuse-{uuid.uuid4()}"
    assert (await submit(client, WATER, key)).status_code == 202
    other = await submit(client, {**WATER, "text": "另一件事"}, key)
    assert other.status_code == 422
    assert other.json()["extra"][0]["key"] == "Idempotency-Key"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"station_code": "61"}, "station_code"),
        ({"channel": "fax"}, "channel"),
        ({"text": ""}, "text"),
        ({"voter": {"phone": "call me"}}, "voter.phone"),
        ({"colour": "red"}, "colour"),
    ],
)
async def test_malformed_body_names_the_field_and_stores_nothing(platform: Platform, client, change, field) -> None:
    before = len(await read_topic(platform.kafka_bootstrap, SUBMISSIONS.name))
    response = await submit(client, {**WATER, **change}, key=f"bad-{uuid.uuid4()}")
    assert response.status_code == 400
    assert field in response.text
    assert len(await read_topic(platform.kafka_bootstrap, SUBMISSIONS.name)) == before


async def test_unknown_issue_and_submission_are_404(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/issues/HB-209901-999999")).status_code == 404
    assert (await client.get(f"/api/v1/intakes/{uuid.uuid4()}")).status_code == 404
