"""Open311 GeoReport v2 on the real platform, spoken to by a third-party client: `georeport` (PyPI) lists the
services and reads requests in JSON and XML. It cannot create requests nor resolve tokens (its README says
so), so those two calls are plain form posts and GETs with httpx, as the spec writes them."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterator
from typing import TypeVar

import httpx
import pytest
import requests
from georeport import GeoReport

from contracts.topics import SUBMISSIONS
from infra.runtime.platform import Platform
from infra.topic_reader import read_topic

STATION = "610902001001"  # a village station of the demo district
VOTER = {"first_name": "建国", "last_name": "李", "phone": "13912345678", "email": "li.jianguo@example.org"}
T = TypeVar("T")


def until(probe: Callable[[], T | None], what: str, timeout_s: float = 30.0) -> T:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if (found := probe()) is not None:
            return found
        time.sleep(0.1)
    raise AssertionError(f"{what} within {timeout_s} s")


@pytest.fixture(scope="module")
def http(platform: Platform) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{platform.gateway_url}/open311/v2", timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def keys(platform: Platform, admin_headers: dict[str, str]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{platform.gateway_url}/api/v1/open311/keys", timeout=30, headers=admin_headers) as c:
        yield c


@pytest.fixture(scope="module")
def api_key(keys: httpx.Client) -> str:
    issued = keys.post("/", json={"station_code": STATION, "name": "随手拍 app"})
    assert issued.status_code == 201, issued.text
    body = issued.json()
    assert body["station_code"] == STATION and len(body["key_id"]) == 64 and body["key"].startswith("o311_")
    return str(body["key"])


@pytest.fixture(scope="module")
def client(platform: Platform) -> GeoReport:
    return GeoReport(f"{platform.gateway_url}/open311/v2")


def create(http: httpx.Client, api_key: str, idempotency_key: str | None = None, **fields: str) -> httpx.Response:
    form = {"api_key": api_key, "service_code": "water_supply", "description": "二组自来水管损坏，三天没水吃"}
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
    return http.post("/requests.json", data=form | {"address_string": "关庙镇一村二组"} | fields, headers=headers)


def request_id(http: httpx.Client, token: str) -> str:
    def probe() -> str | None:
        answer = http.get(f"/tokens/{token}.json")
        assert answer.status_code == 200, answer.text
        return answer.json()[0].get("service_request_id")

    return until(probe, f"token {token} never became a request id")


def test_a_third_party_client_lists_services_and_follows_a_request_it_posted(
    platform: Platform, http: httpx.Client, client: GeoReport, api_key: str
) -> None:
    services = client.get_service_list()
    assert [s["service_code"] for s in services][:3] == ["serious_illness_aid", "medical_insurance", "water_supply"]
    assert services[2]["service_name"] == "饮水安全" and services[2]["metadata"] is False
    assert client.get_service_definition("water_supply") == {"service_code": "water_supply", "attributes": []}
    as_xml = GeoReport(client.root_address, output_format="xml")
    assert [s["service_name"] for s in as_xml.get_service_list()] == [s["service_name"] for s in services]

    retry_key = f"app-{uuid.uuid4()}"
    answers = [create(http, api_key, retry_key, **VOTER) for _ in range(3)]
    assert [a.status_code for a in answers] == [202] * 3, answers[0].text
    assert len({a.json()[0]["token"] for a in answers}) == 1
    token = answers[0].json()[0]["token"]
    number = request_id(http, token)

    def triaged() -> dict | None:
        found = client.get_service_request(number)
        waiting = found["service_code"] == "water_supply" and found["status_notes"].startswith("待研判")
        return found if waiting else None  # triaged: its category known and waiting for its review

    request = until(triaged, f"{number} was never triaged")
    assert (request["service_request_id"], request["status"]) == (number, "open")
    assert request["status_notes"].startswith("待研判") and request["service_name"] == "饮水安全"
    assert request["description"] == "二组自来水管损坏，三天没水吃" and request["address"] == "关庙镇一村二组"
    assert request["agency_responsible"] and request["requested_datetime"].endswith("+08:00")
    assert [r["service_request_id"] for r in client.get_service_requests(service_request_id=number)] == [number]
    assert number in [r["service_request_id"] for r in client.get_service_requests(status="open")]
    assert number not in [r["service_request_id"] for r in client.get_service_requests(status="closed")]
    assert GeoReport(client.root_address, output_format="xml").get_service_request(number)["status"] == "open"

    for shown in (
        http.get(f"/requests/{number}.json").text,
        http.get(f"/requests.xml?service_request_id={number}").text,
    ):
        assert all(value not in shown for value in ("李建国", "建国", "13912345678", "example.org"))

    published = [
        r for r in asyncio.run(read_topic(platform.kafka_bootstrap, SUBMISSIONS.name)) if r.key == token.encode()
    ]
    assert len(published) == 1  # three posts with one Idempotency-Key: one submission
    # the contact travels sealed (only its mask in the clear), and the email is not kept at all
    assert b"13912345678" not in published[0].value and "李** 139****5678".encode() in published[0].value
    assert b"example.org" not in published[0].value


def test_a_bad_key_and_a_missing_description_are_refused_naming_the_field(
    http: httpx.Client, client: GeoReport, api_key: str
) -> None:
    refused = create(http, "o311_not-a-key")
    assert refused.status_code == 403
    assert refused.json() == [{"code": 403, "description": "api_key: missing, unknown or revoked"}]
    missing = create(http, api_key, description="")
    assert (missing.status_code, missing.json()) == (400, [{"code": 400, "description": "description: required"}])
    with pytest.raises(requests.HTTPError) as not_found:
        client.get_service_request("HB-000000-000000")
    assert not_found.value.response.status_code == 404


def test_a_revoked_key_is_refused(http: httpx.Client, keys: httpx.Client) -> None:
    issued = keys.post("/", json={"station_code": STATION, "name": "试用"}).json()
    assert issued["key_id"] in [k["key_id"] for k in keys.get("/").json()]
    assert create(http, issued["key"]).status_code == 202
    assert keys.delete(f"/{issued['key_id']}").status_code == 204
    assert create(http, issued["key"]).status_code == 403
    assert keys.post("/", json={"station_code": "999999999999", "name": "x"}).status_code == 400
