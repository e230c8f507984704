"""Open311 GeoReport v2, pure parts and routes: the state mapping, the error format, the format suffixes, key
hashing, and the routes on Litestar's TestClient over small fakes of Valkey, the desk, the broker and the read model."""

from __future__ import annotations

import asyncio
import hashlib
import re
import tomllib
import uuid
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from xml.etree import ElementTree as ET

import msgspec
import pytest
from litestar.datastructures import State
from litestar.testing import TestClient, create_test_client

from common.pii import Sealer
from common.registry.view import RegistryView
from contracts.intake import SubmitIntake
from contracts.lifecycle import STATES
from contracts.registry import AdminUnit, Handler, Station
from contracts.vocabulary import CATEGORIES
from gateway import open311
from gateway.open311 import (
    ApiKey,
    Open311Controller,
    Open311Error,
    Open311Store,
    hash_key,
    request_row,
    split_format,
    status_of,
    window,
)
from gateway.schemas import HistoryEntry, IssueView
from gateway.submissions import Accepted, IdempotencyConflict
from tests.fake_broker import connected

ROOT = Path(__file__).resolve().parents[3]
NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
VILLAGE, TOWN = "610902001001", "610902001"
VIEW = RegistryView(
    [
        AdminUnit(code="610902", name="汉滨区", tier="district"),
        AdminUnit(code=TOWN, name="关庙镇", tier="town", parent_code="610902"),
        AdminUnit(code=VILLAGE, name="一村", tier="village", parent_code=TOWN),
        Station(code=VILLAGE, name="一村联络站", kind="village_station", unit_code=VILLAGE),
        Station(code=TOWN, name="关庙镇中心联络站", kind="town_center", unit_code=TOWN),
        Handler(code="t-water", name="关庙镇水利站", kind="town_office", unit_code=TOWN),
    ]
)


class FakeValkey:
    """The few Valkey commands the Open311 store uses."""

    def __init__(self) -> None:
        self.strings: dict[str, bytes] = {}
        self.sets: dict[str, set[str]] = defaultdict(set)
        self.hashes: dict[str, dict[str, str]] = defaultdict(dict)
        self.zsets: dict[str, dict[str, float]] = defaultdict(dict)

    async def get(self, key: str) -> bytes | None:
        return self.strings.get(key)

    async def mget(self, keys: list[str]) -> list[bytes | None]:
        return [self.strings.get(k) for k in keys]

    async def set(self, key: str, value: bytes, nx: bool = False) -> bool | None:
        if nx and key in self.strings:
            return None
        self.strings[key] = value
        return True

    async def delete(self, *keys: str) -> int:
        return sum(self.strings.pop(k, None) is not None for k in keys)

    async def sadd(self, key: str, *members: str) -> None:
        self.sets[key].update(members)

    async def srem(self, key: str, *members: str) -> None:
        self.sets[key].difference_update(members)

    async def smembers(self, key: str) -> set[str]:
        return set(self.sets[key])

    async def srandmember(self, key: str, count: int) -> list[str]:
        return sorted(self.sets[key])[:count]

    async def hset(self, key: str, field: str, value: str) -> None:
        self.hashes[key][field] = value

    async def hmget(self, key: str, fields: list[str]) -> list[str | None]:
        return [self.hashes[key].get(f) for f in fields]

    async def zadd(self, key: str, mapping: dict[str, float], nx: bool = False) -> None:
        for member, score in mapping.items():
            if not (nx and member in self.zsets[key]):
                self.zsets[key][member] = score

    async def zscore(self, key: str, member: str) -> float | None:
        return self.zsets[key].get(member)

    async def zrevrangebyscore(self, key: str, high: float, low: float, start: int, num: int) -> list[str]:
        found = sorted(((s, m) for m, s in self.zsets[key].items() if low <= s <= high), reverse=True)
        return [m for _, m in found][start : start + num]


class FakeDesk:
    """SubmissionDesk's contract: the first acceptance for a key wins; another body with it is a conflict."""

    def __init__(self) -> None:
        self.first: dict[str, Accepted] = {}
        self.kept: list[SubmitIntake] = []

    async def accept(
        self, record: Any, submission_id: uuid.UUID, key: str | None, body_fingerprint: str, also: Any = None
    ) -> Accepted:
        if key in self.first:
            if self.first[key].fingerprint != body_fingerprint:
                raise IdempotencyConflict
            return self.first[key]
        mine = Accepted(submission_id, body_fingerprint)
        if key:
            self.first[key] = mine
        self.kept.append(msgspec.json.decode(record.value, type=SubmitIntake))
        return mine


class FakeBroker:
    def __init__(self) -> None:
        self.published: list[bytes] = []
        self.config = connected(self)

    async def send(self, topic: str, value: bytes, **_: Any) -> asyncio.Future[Any]:
        self.published.append(value)
        done = asyncio.get_running_loop().create_future()
        done.set_result(SimpleNamespace(partition=0, offset=len(self.published)))
        return done


class FakeIssues:
    """The read model: submissions numbered by the test, issues as IssueViews."""

    def __init__(self) -> None:
        self.numbers: dict[uuid.UUID, str] = {}
        self.views: dict[str, IssueView] = {}

    async def number_for(self, submission_id: uuid.UUID) -> str | None:
        return self.numbers.get(submission_id)

    async def numbers_for(self, submission_ids: list[str]) -> list[str | None]:
        return [self.numbers.get(uuid.UUID(s)) for s in submission_ids]

    async def submissions_for(self, numbers: list[str]) -> list[str | None]:
        by_number = {n: str(s) for s, n in self.numbers.items()}
        return [by_number.get(n) for n in numbers]

    async def issue(self, number: str) -> IssueView | None:
        return self.views.get(number)


class FakeClock:
    def __init__(self) -> None:
        self.at = NOW

    async def now(self) -> datetime:
        return self.at


class Platform(SimpleNamespace):
    redis: FakeValkey
    desk: FakeDesk
    broker: FakeBroker
    issues: FakeIssues
    clock: FakeClock

    def number(self, token: str, number: str, state: str = "pending_review", **fields: Any) -> IssueView:
        """The intake service numbered the submission and triage filed it: what the read model now shows."""
        submission_id = uuid.UUID(token)
        kept = next(k for k in self.desk.kept if k.submission_id == submission_id)
        view = IssueView(
            number=number,
            state=state,
            kind=kept.kind,
            channel=kept.channel,
            station_code=kept.station_code,
            text=kept.text,
            received_at=NOW + timedelta(seconds=1),
            voter="李** 139****5678",
            **fields,
        )
        self.issues.numbers[submission_id] = number
        self.issues.views[number] = view
        return view


SEALER = Sealer(b"open311-test-secret")


async def _file_caller(phone: str, submission_id: uuid.UUID) -> None:
    """The hotline's caller index: not what these tests look at."""


@pytest.fixture
def platform() -> Platform:
    return Platform(redis=FakeValkey(), desk=FakeDesk(), broker=FakeBroker(), issues=FakeIssues(), clock=FakeClock())


@pytest.fixture
def client(platform: Platform) -> Iterator[TestClient[Any]]:
    state = State(
        {
            **vars(platform),
            "locations": SimpleNamespace(note=lambda published: None),
            "publish_timeout_s": 1.0,
            "registry": SimpleNamespace(view=VIEW),
            "sealer": SEALER,
            "callers": SimpleNamespace(file=_file_caller),
        }
    )
    with create_test_client([Open311Controller], state=state) as test_client:
        yield test_client


@pytest.fixture
def api_key(platform: Platform) -> str:
    key = "o311_test-key"
    record = ApiKey(station_code=VILLAGE, name="随手拍", created_at=NOW)
    asyncio.run(Open311Store(platform.redis).add_key(key, record))
    return key


WATER = {"service_code": "water_supply", "description": "二组自来水管损坏，三天没水吃", "address_string": "二组"}


def create(client: TestClient[Any], api_key: str | None, fmt: str = "json", headers: Any = None, **fields: str) -> Any:
    body = (WATER | fields) | ({"api_key": api_key} if api_key else {})
    return client.post(f"/open311/v2/requests.{fmt}", data=body, headers=headers or {})


# --- pure parts ---------------------------------------------------------------------------------------


def test_only_the_terminal_states_are_closed_and_every_state_has_a_chinese_note() -> None:
    assert {s: status_of(s) for s in STATES if status_of(s) == "closed"} == {"closed": "closed", "merged": "closed"}
    assert set(open311.STATUS_NOTES) == set(STATES)
    assert all(re.search(r"[\u4e00-\u9fff]", note) for note in open311.STATUS_NOTES.values())


def test_services_are_the_categories_named_as_the_web_pages_name_them_with_triages_keywords() -> None:
    i18n = (ROOT / "gateway/web/assets/i18n.js").read_text("utf-8")
    zh_categories = re.search(r'"zh-CN": \{.*?category: \{(.*?)\}', i18n, re.S)
    assert zh_categories
    assert dict(re.findall(r'(\w+): "([^"]+)"', zh_categories.group(1))) == open311.SERVICE_NAMES
    rules = tomllib.loads((ROOT / "services/triage/categories.toml").read_text("utf-8"))["rule"]
    assert {r["category"]: tuple(r["phrases"]) for r in rules} | {"other": ()} == open311.KEYWORDS
    assert [s["service_code"] for s in open311.services()] == list(CATEGORIES)


@pytest.mark.parametrize(
    ("name", "expected"),
    [("HB-202611-000001.json", ("HB-202611-000001", "json")), ("water_supply.xml", ("water_supply", "xml"))],
)
def test_a_suffix_names_the_format(name: str, expected: tuple[str, str]) -> None:
    assert split_format(name) == expected


@pytest.mark.parametrize("name", ["HB-202611-000001", "HB-202611-000001.yaml", ".json", "a.JSON"])
def test_an_unknown_format_is_a_404(name: str) -> None:
    with pytest.raises(Open311Error) as refused:
        split_format(name)
    assert refused.value.status_code == 404 and refused.value.descriptions[0].startswith("format:")


def test_a_key_is_stored_only_as_its_sha256(platform: Platform, api_key: str) -> None:
    key_id = hashlib.sha256(api_key.encode()).hexdigest()
    assert hash_key(api_key) == key_id
    assert set(platform.redis.strings) == {f"gw:open311:key:{key_id}"}
    assert all(api_key.encode() not in value for value in platform.redis.strings.values())
    asyncio.run(Open311Store(platform.redis).revoke(key_id))
    assert not platform.redis.strings and not platform.redis.sets["gw:open311:keys"]


def test_the_window_is_the_last_90_days_unless_asked_and_never_longer() -> None:
    assert window(None, None, NOW) == (NOW - timedelta(days=90), NOW)
    start, end = window("2026-01-01", None, NOW)
    assert start.isoformat() == "2026-01-01T00:00:00+08:00" and end - start == timedelta(days=90)
    for raw, field in ((("2026-01-01T00:00:00Z", "2026-06-01T00:00:00Z"), "end_date"), (("soon", None), "start_date")):
        with pytest.raises(Open311Error) as refused:
            window(*raw, NOW)
        assert refused.value.status_code == 400 and refused.value.descriptions[0].startswith(f"{field}:")


def test_a_row_names_state_agency_and_deadline_but_never_the_voter() -> None:
    issue = IssueView(
        number="HB-202611-000001",
        state="assigned",
        kind="problem",
        channel="online",
        station_code=VILLAGE,
        text="水管坏了\n地址：二组\n类别：饮水安全",
        received_at=NOW,
        voter="李** 139****5678",
        category="water_supply",
        handler_code="t-water",
        deadline=date(2026, 12, 10),
        history=[HistoryEntry(type="x", event_id="e", occurred_at=NOW + timedelta(hours=1), details={})],
    )
    record = open311.RequestRecord(
        service_code="water_supply", station_code=VILLAGE, key_id="k", requested_at=NOW, address="二组", extra_lines=2
    )
    row = request_row(issue, record, VIEW)
    assert row["status"] == "open" and row["status_notes"] == "已交办承办单位"
    assert row["agency_responsible"] == "关庙镇水利站" and row["description"] == "水管坏了"
    assert row["requested_datetime"] == "2026-11-20T10:00:00+08:00"
    assert row["updated_datetime"] == "2026-11-20T11:00:00+08:00"
    assert row["expected_datetime"] == "2026-12-10T23:59:59+08:00"
    assert "voter" not in row and "李" not in str(row) and "139" not in str(row)


# --- routes ---------------------------------------------------------------------------------------------


def test_the_service_list_in_json_and_xml(client: TestClient[Any]) -> None:
    listed = client.get("/open311/v2/services.json").json()
    assert listed[2] == {
        "service_code": "water_supply",
        "service_name": "饮水安全",
        "description": "饮水安全方面的问题：水管、自来水、饮水、吃水、停水、管道等",
        "metadata": False,
        "type": "batch",
        "keywords": "水管, 自来水, 饮水, 吃水, 停水, 管道",
        "group": "问题",
    }
    answer = client.get("/open311/v2/services.xml")
    assert answer.headers["content-type"].startswith("text/xml")
    services = ET.fromstring(answer.content)
    assert [s.findtext("service_name") for s in services] == [s["service_name"] for s in listed]
    assert services[0].findtext("metadata") == "false"
    definition = client.get("/open311/v2/services/water_supply.json").json()
    assert definition == {"service_code": "water_supply", "attributes": []}


def test_errors_are_open311_lists_in_the_format_asked(client: TestClient[Any]) -> None:
    answer = client.get("/open311/v2/services/potholes.json")
    assert answer.status_code == 404
    assert answer.json() == [{"code": 404, "description": "service_code: no service 'potholes'"}]
    errors = ET.fromstring(client.get("/open311/v2/services/potholes.xml").content)
    assert errors.tag == "errors" and errors[0].findtext("code") == "404"
    assert client.get("/open311/v2/services.yaml").json()[0]["code"] == 404
    assert client.get("/open311/v2/requests/HB-1.csv").json()[0]["description"].startswith("format:")


def test_a_missing_or_wrong_key_is_refused_before_anything_is_read(client: TestClient[Any], platform: Platform) -> None:
    for key in (None, "o311_guessed"):
        answer = create(client, key, description="")
        assert answer.status_code == 403
        assert answer.json() == [{"code": 403, "description": "api_key: missing, unknown or revoked"}]
    assert not platform.desk.kept


def test_every_wrong_field_is_named(client: TestClient[Any], api_key: str) -> None:
    answer = create(client, api_key, service_code="potholes", description=" ", lat="91", phone="call me")
    assert answer.status_code == 400
    assert [e["description"].split(":")[0] for e in answer.json()] == [
        "service_code",
        "description",
        "lat",
        "long",
        "phone",
    ]
    xml = ET.fromstring(create(client, api_key, "xml", description="").content)
    assert [e.findtext("description") for e in xml] == ["description: required"]


def test_a_request_becomes_an_online_problem_at_the_keys_station(
    client: TestClient[Any], platform: Platform, api_key: str
) -> None:
    answer = create(client, api_key, lat="32.68", long="109.02", first_name="建国", last_name="李", phone="13912345678")
    assert answer.status_code == 202
    token = answer.json()[0]["token"]
    (kept,) = platform.desk.kept
    assert str(kept.submission_id) == token and len(platform.broker.published) == 1
    assert (kept.channel, kept.kind, kept.station_code) == ("online", "problem", VILLAGE)
    assert kept.text == "二组自来水管损坏，三天没水吃\n地址：二组\n位置：32.680000,109.020000\n类别：饮水安全"
    assert kept.voter is None and kept.voter_masked == "李** 139****5678"  # the contact leaves sealed
    assert kept.voter_sealed is not None and "13912345678" not in kept.voter_sealed
    assert (SEALER.open(kept.voter_sealed).name, SEALER.open(kept.voter_sealed).phone) == ("李建国", "13912345678")


def test_email_is_not_kept_and_latin_names_read_given_name_first(
    client: TestClient[Any], platform: Platform, api_key: str
) -> None:
    create(client, api_key, service_code="other", first_name="Ann", last_name="Lee", email="ann@example.org")
    (kept,) = platform.desk.kept
    assert kept.voter_sealed is not None and SEALER.open(kept.voter_sealed).name == "Ann Lee"
    assert "example.org" not in platform.broker.published[0].decode() and kept.text.endswith("地址：二组")


def test_a_retry_with_the_same_idempotency_key_is_stored_once(
    client: TestClient[Any], platform: Platform, api_key: str
) -> None:
    answers = [create(client, api_key, headers={"Idempotency-Key": "app-42"}) for _ in range(3)]
    assert len({a.json()[0]["token"] for a in answers}) == 1 and len(platform.desk.kept) == 1
    other = create(client, api_key, headers={"Idempotency-Key": "app-42"}, description="另一件事")
    assert other.status_code == 422 and other.json()[0]["description"].startswith("Idempotency-Key:")
    assert len(platform.redis.zsets["gw:open311:requests"]) == 1


def test_a_token_resolves_once_the_issue_exists_and_the_request_hides_the_voter(
    client: TestClient[Any], platform: Platform, api_key: str
) -> None:
    token = create(client, api_key, first_name="建国", last_name="李", phone="13912345678").json()[0]["token"]
    assert client.get(f"/open311/v2/tokens/{token}.json").json() == [{"token": token}]
    platform.number(token, "HB-202611-000001", category="water_supply", unit=VILLAGE)

    assert client.get(f"/open311/v2/tokens/{token}.json").json() == [
        {"token": token, "service_request_id": "HB-202611-000001"}
    ]
    answer = client.get("/open311/v2/requests/HB-202611-000001.json")
    (row,) = answer.json()
    assert (row["status"], row["service_code"], row["agency_responsible"]) == ("open", "water_supply", "一村联络站")
    assert row["description"] == WATER["description"] and row["address"] == "二组"
    assert "李" not in answer.text and "139" not in answer.text
    assert client.get(f"/open311/v2/tokens/{uuid.uuid4()}.json").status_code == 404
    assert client.get("/open311/v2/tokens/not-a-token.json").status_code == 404


def test_the_list_holds_only_open311_requests_filtered_as_asked(
    client: TestClient[Any], platform: Platform, api_key: str
) -> None:
    water = create(client, api_key).json()[0]["token"]
    platform.clock.at = NOW + timedelta(minutes=1)
    road = create(client, api_key, service_code="roads_and_landslides", description="公路滑坡").json()[0]["token"]
    platform.number(water, "HB-202611-000001", state="closed", category="water_supply")
    platform.number(road, "HB-202611-000002", category="roads_and_landslides")
    platform.issues.views["HB-202611-000003"] = platform.issues.views["HB-202611-000002"]  # not from Open311
    platform.clock.at = NOW + timedelta(days=1)

    def ids(**params: str) -> list[str]:
        answer = client.get("/open311/v2/requests.json", params=params)
        assert answer.status_code == 200, answer.text
        return [r["service_request_id"] for r in answer.json()]

    assert ids() == ["HB-202611-000002", "HB-202611-000001"]
    assert ids(status="closed") == ["HB-202611-000001"]
    assert ids(service_code="roads_and_landslides,sanitation") == ["HB-202611-000002"]
    assert ids(start_date="2026-11-25T00:00:00+08:00") == []
    assert ids(service_request_id="HB-202611-000001,HB-202611-000003") == ["HB-202611-000001"]
    xml = ET.fromstring(client.get("/open311/v2/requests.xml").content)
    assert xml.tag == "service_requests" and [r.findtext("status") for r in xml] == ["open", "closed"]
    refused = client.get("/open311/v2/requests.json", params={"status": "done"})
    assert refused.status_code == 400 and refused.json()[0]["description"].startswith("status:")


def test_user_text_is_escaped_in_xml(client: TestClient[Any], platform: Platform, api_key: str) -> None:
    token = create(client, api_key, description="<b>水管</b> & \x01坏了").json()[0]["token"]
    platform.number(token, "HB-202611-000001")
    request = ET.fromstring(client.get("/open311/v2/requests/HB-202611-000001.xml").content)[0]
    assert request.findtext("description") == "<b>水管</b> & \ufffd坏了"


def test_a_request_is_found_by_number_before_anyone_asked_for_its_token(
    client: TestClient[Any], platform: Platform, api_key: str
) -> None:
    token = create(client, api_key).json()[0]["token"]
    platform.number(token, "HB-202611-000007")
    assert (
        client.get("/open311/v2/requests/HB-202611-000007.json").json()[0]["service_request_id"] == "HB-202611-000007"
    )
    assert not platform.redis.sets["gw:open311:unnumbered"]
    answer = client.get("/open311/v2/requests/HB-202611-000007.xml")
    assert answer.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    too_long = create(client, api_key, headers={"Idempotency-Key": "k" * 129})
    assert too_long.json() == [{"code": 400, "description": "Idempotency-Key: 1 to 128 characters"}]
