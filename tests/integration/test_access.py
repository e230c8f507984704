"""Access on the real platform: every role sees its own subtree (a handler its own referrals) and nothing
else, and whatever lies outside is answered exactly like what does not exist, so guessing numbers teaches
nothing. Public voters reach an issue only through its tracking code."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest

from contracts.topics import SUBMISSIONS
from infra.runtime.demo import DEMO_LOGINS
from infra.runtime.platform import Platform
from infra.topic_reader import read_topic

DISTRICT, MY_VILLAGE, OTHER_VILLAGE = "610902", "610902001001", "610902002001"
NOWHERE = "HB-209912-999999"
WATER = {"channel": "visit", "kind": "problem", "text": "自来水管道破裂，全组停水三天"}


def _detail_without(response: httpx.Response, number: str) -> tuple[int, str]:
    """The status and the detail with the asked-for number taken out: what a guesser could compare."""
    return response.status_code, str(response.json().get("detail", "")).replace(number, "<n>")


@pytest.fixture(scope="module")
def admin(platform: Platform, admin_headers: dict[str, str]) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=platform.gateway_url, timeout=30, headers=admin_headers) as client:
        yield client


@pytest.fixture(scope="module")
def sessions(platform: Platform, demo_passwords: dict[str, str]) -> dict[str, dict[str, str]]:
    """A signed-in session for every demo login (one per role)."""
    found = {}
    for login, password in demo_passwords.items():
        signed = httpx.post(
            f"{platform.gateway_url}/api/v1/auth/sign-in", json={"login": login, "password": password}, timeout=30
        )
        assert signed.status_code == 200, signed.text
        found[login] = {"Authorization": f"Bearer {signed.json()['token']}"}
    return found


def _issue_at(admin: httpx.Client, station: str, text: str) -> str:
    accepted = admin.post("/api/v1/intakes", json={**WATER, "station_code": station, "text": text})
    assert accepted.status_code == 202, accepted.text
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        status = admin.get(accepted.json()["status_url"]).json()
        if number := status.get("issue_number"):
            if admin.get(f"/api/v1/issues/{number}").json().get("category"):
                return str(number)
        time.sleep(0.1)
    raise AssertionError("the intake never became a triaged issue")


@pytest.fixture(scope="module")
def issues(admin: httpx.Client) -> dict[str, str]:
    return {
        "mine": _issue_at(admin, MY_VILLAGE, "访问测试：本村的事"),
        "other": _issue_at(admin, OTHER_VILLAGE, "访问测试：别的镇的事"),
        "district": _issue_at(admin, DISTRICT, "访问测试：区里的事"),
    }


# who sees what: the demo's town, village staff, deputy and leader belong to town 610902001 and its first
# village; the handler (a district department) holds no referral for these issues yet
SEES = {
    "admin": {"mine", "other", "district"},
    "oversight": {"mine", "other", "district"},
    "district": {"mine", "other", "district"},
    "town": {"mine"},
    "leader": {"mine"},
    "liaison": {"mine"},
    "head": {"mine"},
    "deputy": {"mine"},
    "handler": set(),
}


@pytest.mark.parametrize("login", DEMO_LOGINS)
def test_an_issue_outside_the_scope_answers_exactly_like_one_that_does_not_exist(
    platform: Platform, sessions: dict[str, dict[str, str]], issues: dict[str, str], login: str
) -> None:
    with httpx.Client(base_url=platform.gateway_url, timeout=30, headers=sessions[login]) as client:
        missing = client.get(f"/api/v1/issues/{NOWHERE}")
        assert missing.status_code == 404
        for which, number in issues.items():
            found = client.get(f"/api/v1/issues/{number}")
            if which in SEES[login]:
                assert found.status_code == 200, (login, which, found.text)
                assert found.json()["number"] == number
            else:
                assert _detail_without(found, number) == _detail_without(missing, NOWHERE), (login, which)
                # the steps on it answer alike too (a rating, a close), whatever the role may do
                for path, body in (("rating", {"satisfaction": "satisfied"}), ("close", {"reason": "无法联系"})):
                    tried, unknown = (client.post(f"/api/v1/issues/{n}/{path}", json=body) for n in (number, NOWHERE))
                    assert _detail_without(tried, number) == _detail_without(unknown, NOWHERE), (login, path)


@pytest.mark.parametrize("login", DEMO_LOGINS)
def test_a_unit_outside_the_scope_answers_like_a_unit_that_does_not_exist(
    platform: Platform, sessions: dict[str, dict[str, str]], login: str
) -> None:
    with httpx.Client(base_url=platform.gateway_url, timeout=30, headers=sessions[login]) as client:
        missing = client.get("/api/v1/issues/", params={"unit": "999999999999"})
        other = client.get("/api/v1/issues/", params={"unit": OTHER_VILLAGE})
        if login in ("admin", "oversight", "district"):
            assert other.status_code == 200
        else:
            assert other.status_code == missing.status_code == 400
            assert other.json()["detail"].replace(OTHER_VILLAGE, "<u>") == missing.json()["detail"].replace(
                "999999999999", "<u>"
            )


def test_a_handler_replying_to_another_handlers_referral_gets_the_answer_for_no_referral(
    platform: Platform, sessions: dict[str, dict[str, str]], admin: httpx.Client, issues: dict[str, str]
) -> None:
    month = admin.get("/api/v1/clock/").json()["month"]
    review = {
        "tier": "district",
        "unit": DISTRICT,
        "month": month,
        "held_on": f"{month}-20",
        "decisions": [{"issue_id": issues["district"], "decision": "assign", "handler_code": "d-water"}],
    }
    assert admin.post("/api/v1/reviews", json=review).status_code == 202
    deadline = time.monotonic() + 30
    while (referral := admin.get(f"/api/v1/issues/{issues['district']}").json().get("referral_id")) is None:
        assert time.monotonic() < deadline, "the assignment was never applied"
        time.sleep(0.1)
    with httpx.Client(base_url=platform.gateway_url, timeout=30, headers=sessions["handler"]) as client:
        # the demo handler is d-transport: it neither sees the issue nor can reply to the referral
        assert client.get(f"/api/v1/issues/{issues['district']}").status_code == 404
        for handler_code in ("d-transport", "d-water"):
            tried = client.post(
                f"/api/v1/referrals/{referral}/replies", json={"handler_code": handler_code, "kind": "accepted"}
            )
            unknown = client.post(
                "/api/v1/referrals/RF-NOWHERE/replies", json={"handler_code": handler_code, "kind": "accepted"}
            )
            assert tried.status_code == unknown.status_code, (handler_code, tried.text, unknown.text)
        assert client.get("/api/v1/referrals/", params={"handler": "d-water"}).status_code == 400


def test_a_town_cannot_hold_the_districts_review_nor_record_intakes_at_another_towns_station(
    platform: Platform, sessions: dict[str, dict[str, str]], admin: httpx.Client
) -> None:
    month = admin.get("/api/v1/clock/").json()["month"]
    with httpx.Client(base_url=platform.gateway_url, timeout=30, headers=sessions["town"]) as town:
        review = {"tier": "district", "unit": DISTRICT, "month": month, "held_on": f"{month}-20"}
        decision = {"issue_id": NOWHERE, "decision": "escalate"}
        refused = town.post("/api/v1/reviews", json=review | {"decisions": [decision]})
        assert refused.status_code == 400 and refused.json()["extra"][0]["key"] == "unit"
        elsewhere = town.post("/api/v1/intakes", json={**WATER, "station_code": OTHER_VILLAGE})
        assert elsewhere.status_code == 400 and elsewhere.json()["extra"][0]["key"] == "station_code"
    with httpx.Client(base_url=platform.gateway_url, timeout=30, headers=sessions["handler"]) as handler:
        assert handler.post("/api/v1/intakes", json={**WATER, "station_code": MY_VILLAGE}).status_code == 403
        assert handler.get("/api/v1/oversight/ledgers").status_code == 403


def test_without_an_account_only_the_public_voter_channel_answers(platform: Platform) -> None:
    with httpx.Client(base_url=platform.gateway_url, timeout=30) as anonymous:
        for method, path in (
            ("GET", f"/api/v1/issues/{NOWHERE}"),
            ("GET", "/api/v1/issues/?unit=610902"),
            ("POST", "/api/v1/intakes"),
            ("POST", "/api/v1/reviews"),
            ("GET", "/api/v1/referrals/?handler=d-water"),
            ("POST", "/api/v1/referrals/RF-1/replies"),
            ("POST", f"/api/v1/issues/{NOWHERE}/rating"),
            ("GET", "/api/v1/oversight/ledgers"),
            ("GET", "/api/v1/oversight/records/contacts"),
            ("GET", "/api/v1/registry/stations"),
            ("GET", "/api/v1/registry/exports/users.csv"),
        ):
            assert anonymous.request(method, path, json={}).status_code == 401, (method, path)
        assert anonymous.get("/api/v1/public/stations").status_code == 200


def test_a_voter_follows_and_rates_only_through_the_tracking_code(platform: Platform, admin: httpx.Client) -> None:
    body = {"station_code": MY_VILLAGE, "kind": "problem", "text": "路灯坏了一个月没人修", "phone": "13912345678"}
    with httpx.Client(base_url=platform.gateway_url, timeout=30) as voter:
        first = voter.post("/api/v1/public/intakes", json=body, headers={"Idempotency-Key": "voter-lamp-1"})
        again = voter.post("/api/v1/public/intakes", json=body, headers={"Idempotency-Key": "voter-lamp-1"})
        assert first.status_code == again.status_code == 202
        code = first.json()["tracking_code"]
        assert again.json()["tracking_code"] == code  # a retry is one submission with one code
        deadline = time.monotonic() + 30
        while (tracked := voter.get(f"/api/v1/public/track/{code}").json()).get("state") != "pending_review":
            assert time.monotonic() < deadline, tracked
            time.sleep(0.1)
        assert tracked["number"].startswith("HB-") and tracked["category"]
        assert "13912345678" not in str(tracked) and "voter" not in tracked  # no personal data comes back
        assert tracked["can_rate"] is False
        assert voter.get(f"/api/v1/public/track/{code.lower().replace('-', ' ')}").json()["number"] == tracked["number"]
        wrong = voter.get("/api/v1/public/track/0000-0000-0000")
        assert wrong.status_code == 404
        early = voter.post(f"/api/v1/public/track/{code}/rating", json={"satisfaction": "satisfied"})
        assert early.status_code == 409 and early.json()["extra"][0]["key"] == "satisfaction"
        no_phone = voter.post("/api/v1/public/intakes", json={k: v for k, v in body.items() if k != "phone"})
        assert no_phone.status_code == 400 and "phone" in no_phone.text


def test_every_answer_carries_the_security_headers(platform: Platform) -> None:
    for path in ("/ui/", "/api/v1/public/stations", f"/api/v1/issues/{NOWHERE}"):
        headers = httpx.get(f"{platform.gateway_url}{path}", timeout=30).headers
        assert "script-src 'self'" in headers["content-security-policy"], path
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "no-referrer"


def test_a_voters_contact_is_ciphertext_at_rest_and_unmasked_only_for_those_handling_the_issue(
    platform: Platform, sessions: dict[str, dict[str, str]], admin: httpx.Client
) -> None:
    phone, name = "13687654321", "欧阳娜娜"
    body = {**WATER, "station_code": MY_VILLAGE, "text": "访问测试：联系方式", "voter": {"name": name, "phone": phone}}
    with httpx.Client(base_url=platform.gateway_url, timeout=30, headers=sessions["liaison"]) as liaison:
        accepted = liaison.post("/api/v1/intakes", json=body)
        assert accepted.status_code == 202, accepted.text
        deadline = time.monotonic() + 30
        while not (number := liaison.get(accepted.json()["status_url"]).json().get("issue_number")):
            assert time.monotonic() < deadline
            time.sleep(0.1)
        shown = liaison.get(f"/api/v1/issues/{number}").json()
        assert shown["voter"] == "欧*** 136****4321"  # the masked form is what the issue shows
        unmasked = liaison.get(f"/api/v1/issues/{number}/contact")  # the receiving station handles it
        assert unmasked.status_code == 200 and unmasked.json()["phone"] == phone and unmasked.json()["name"] == name
    with httpx.Client(base_url=platform.gateway_url, timeout=30, headers=sessions["town"]) as town:
        assert town.get(f"/api/v1/issues/{number}").status_code == 200  # the town sees it, masked ...
        assert town.get(f"/api/v1/issues/{number}/contact").status_code == 403  # ... but does not handle it
    with httpx.Client(base_url=platform.gateway_url, timeout=30, headers=sessions["oversight"]) as oversight:
        views = oversight.get("/api/v1/audit/unmasked", params={"number": number}).json()
        assert [(v["login"], v["number"]) for v in views] == [("liaison", number)]
    # nothing at rest holds the contact in the clear: the submission on the bus carries it sealed
    records = asyncio.run(read_topic(platform.kafka_bootstrap, SUBMISSIONS.name, timeout=10))
    carried = [r.value for r in records if "访问测试：联系方式".encode() in r.value]
    assert carried and all(phone.encode() not in v and name.encode() not in v for v in carried)
    assert all(phone.encode() not in r.value for r in records)


def test_a_town_lists_what_sits_at_it_what_it_received_and_everything_under_it(
    platform: Platform, sessions: dict[str, dict[str, str]], issues: dict[str, str]
) -> None:
    with httpx.Client(base_url=platform.gateway_url, timeout=30, headers=sessions["town"]) as town:

        def listed(scope: str, unit: str = "610902001") -> set[str]:
            answer = town.get("/api/v1/issues/", params={"unit": unit, "scope": scope, "limit": 2000})
            assert answer.status_code == 200, answer.text
            return {i["number"] for i in answer.json()["items"]}

        assert issues["mine"] in listed("subtree")  # it sits at the town's first village
        assert issues["mine"] not in listed("at")
        assert issues["mine"] in listed("received", MY_VILLAGE) and issues["mine"] not in listed("received")
        every = {"unit": MY_VILLAGE, "scope": "received", "limit": 2000}
        oldest = [i["number"] for i in town.get("/api/v1/issues/", params=every).json()["items"]]
        newest = [i["number"] for i in town.get("/api/v1/issues/", params=every | {"order": "desc"}).json()["items"]]
        assert newest == oldest[::-1] and len(oldest) >= 1
