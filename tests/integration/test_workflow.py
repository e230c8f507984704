"""The source's month, reproduced on the real platform with the demo district: villages resolve most of
their issues and escalate the rest, a town resolves most of those, the district assigns its share to
departments (one answered by the example department system), and a city-linkage case goes all the
way to the city. Then feedback, ratings, a reopen, and month end on a clock moved forward."""

from __future__ import annotations

import asyncio
import io
import uuid
from collections import Counter
from datetime import date, timedelta

import httpx
import msgspec
import openpyxl
import pytest

from common.registry.cache import RegistryCache
from contracts.issues import IssueEventMessage
from contracts.topics import ISSUE_EVENTS, NOTIFICATIONS
from infra.department import run_department
from infra.runtime.platform import Platform
from infra.topic_reader import read_topic
from services.oversight.ledger import Ledger
from tests.integration.test_first_path import submit, wait_for_issue

TOWN = "610902001"
DISTRICT = "610902"
CITY = "6109"


@pytest.fixture
async def client(platform: Platform, admin_headers: dict[str, str]):
    async with httpx.AsyncClient(base_url=platform.gateway_url, timeout=30, headers=admin_headers) as http:
        yield http


async def intake(client: httpx.AsyncClient, station: str, text: str, **extra: object) -> str:
    body = {"channel": "visit", "station_code": station, "kind": "problem", "text": text, **extra}
    response = await submit(client, body, key=str(uuid.uuid4()))
    assert response.status_code == 202, response.text
    return (await wait_for_issue(client, response.json()["submission_id"]))["number"]


async def issue(client: httpx.AsyncClient, number: str) -> dict:
    return (await client.get(f"/api/v1/issues/{number}")).json()


async def until(client: httpx.AsyncClient, number: str, state: str, timeout_s: float = 20.0, **fields: object) -> dict:
    """Wait until the issue is in `state` with the given fields (True: any non-empty value)."""
    found: dict = {}
    for _ in range(int(timeout_s / 0.05)):
        found = await issue(client, number)
        if found.get("state") == state and all(
            bool(found.get(k)) if v is True else found.get(k) == v for k, v in fields.items()
        ):
            return found
        await asyncio.sleep(0.05)
    raise AssertionError(f"{number} is not {state} {fields}: {found}")


async def review(client: httpx.AsyncClient, tier: str, unit: str, month: str, decisions: list[dict]) -> dict:
    body = {"tier": tier, "unit": unit, "month": month, "held_on": f"{month}-25", "participants": ["站长", "联络员"]}
    response = await client.post("/api/v1/reviews", json=body | {"decisions": decisions})
    assert response.status_code == 202, response.text
    for _ in range(400):
        status = (await client.get(response.json()["status_url"])).json()
        if status["pending"] == 0:
            return status
        await asyncio.sleep(0.05)
    raise AssertionError(f"review {status} never finished")


async def test_the_sources_month_from_the_villages_to_the_city(platform: Platform, client: httpx.AsyncClient) -> None:
    month = (await client.get("/api/v1/clock/")).json()["month"]
    villages = [
        u["code"]
        for u in (await client.get(f"/api/v1/registry/lookups/subtree/{TOWN}", params={"tier": "village"})).json()
    ][:3]

    # -- villages: 13 issues; 2 resolved on the spot at intake, 8 resolved by the village reviews, 3 escalated
    on_spot = [await intake(client, villages[0], "路灯不亮", on_spot_resolution="联络员当场联系电工修好")]
    on_spot.append(await intake(client, villages[1], "垃圾桶满了", on_spot_resolution="当场通知保洁员清运"))
    texts = ["村口垃圾堆放", "二组自来水管损坏", "邻里宅基地纠纷", "通村公路滑坡", "低保申请没回音"]
    village_issues = {
        v: [await intake(client, v, texts[(i + n) % 5]) for i in range(3)] for n, v in enumerate(villages)
    }
    for number in on_spot:
        await until(client, number, "fed_back")  # feedback follows a resolution at once

    escalated_from_villages: list[str] = []
    for n, (village, numbers) in enumerate(village_issues.items()):
        decisions = [{"issue_id": x, "decision": "resolve", "note": "村两委会研究后解决"} for x in numbers[:2]]
        if n < 2:
            decisions.append({"issue_id": numbers[2], "decision": "resolve", "note": "协调解决"})
        else:
            decisions.append({"issue_id": numbers[2], "decision": "escalate", "note": "村里解决不了"})
            escalated_from_villages.append(numbers[2])
        status = await review(client, "village", village, month, decisions)
        assert status["refused"] == 0, status
    extra = [await intake(client, villages[n], "产业贷款申请难") for n in range(2)]
    for n, number in enumerate(extra):
        status = await review(client, "village", villages[n], month, [{"issue_id": number, "decision": "escalate"}])
        assert status["applied"] == 1, status
        escalated_from_villages.append(number)
    for number in escalated_from_villages:
        await until(client, number, "pending_review", tier="town")
    at_town = (await client.get("/api/v1/issues/", params={"unit": TOWN})).json()
    assert set(escalated_from_villages) <= {i["number"] for i in at_town["items"]}

    # -- the town presidium: resolves 1 of 3, escalates 2 to the district
    town_status = await review(
        client,
        "town",
        TOWN,
        month,
        [
            {"issue_id": escalated_from_villages[0], "decision": "resolve", "note": "镇主席团协调解决"},
            {"issue_id": escalated_from_villages[1], "decision": "escalate"},
            {"issue_id": escalated_from_villages[2], "decision": "escalate"},
        ],
    )
    assert (town_status["applied"], town_status["refused"]) == (3, 0), town_status

    # -- a refused decision says why: an issue at the district cannot be decided by the town again
    refused = await review(
        client, "town", TOWN, month, [{"issue_id": escalated_from_villages[1], "decision": "resolve", "note": "x"}]
    )
    assert refused["refused"] == 1 and "district" in refused["outcomes"][0]["reason"]

    # -- bad review input names the field
    bad = await client.post(
        "/api/v1/reviews",
        json={
            "tier": "town",
            "unit": TOWN,
            "month": month,
            "held_on": f"{month}-25",
            "decisions": [{"issue_id": extra[0], "decision": "assign"}],
        },
    )
    assert bad.status_code == 400 and "decisions[0].handler_code" in bad.json()["detail"]
    wrong_unit = await client.post(
        "/api/v1/reviews",
        json={
            "tier": "district",
            "unit": TOWN,
            "month": month,
            "held_on": f"{month}-25",
            "decisions": [{"issue_id": extra[0], "decision": "escalate"}],
        },
    )
    assert wrong_unit.status_code == 400 and "unit" in wrong_unit.json()["detail"]

    # -- the city-linkage case: city deputies at the deputies' home
    linkage = await intake(
        client,
        DISTRICT,
        "十余名市人大代表反映：市级医院停止向区里推送辖区居民住院费用数据，一半医保基金无法监管",
        deputy_code="D00010",
    )

    # -- the district directors' meeting: assigns both, takes the linkage case to the city
    for number in escalated_from_villages[1:]:
        await until(client, number, "pending_review", tier="district")
    district_status = await review(
        client,
        "district",
        DISTRICT,
        month,
        [
            {"issue_id": escalated_from_villages[1], "decision": "assign", "handler_code": "d-finance"},
            {
                "issue_id": escalated_from_villages[2],
                "decision": "assign",
                "handler_code": "d-agriculture-forestry-water",
                "co_handlers": ["d-finance"],
            },
            {"issue_id": linkage, "decision": "escalate", "note": "市区联动"},
        ],
    )
    assert district_status["refused"] == 0, district_status
    completed_by_department, still_in_progress = escalated_from_villages[1], escalated_from_villages[2]
    await until(client, completed_by_department, "assigned", referral_id=True)

    # the finance bureau's own system takes its referral from its topic and replies
    handled = await asyncio.wait_for(
        run_department(platform.kafka_bootstrap, "d-finance", result="贴息贷款已落实", stop_after=2), 60
    )
    assert handled >= 1
    await until(client, completed_by_department, "fed_back")

    # the lead of the joint referral accepts and reports progress through the API: it stays in progress
    joint = await until(client, still_in_progress, "assigned", referral_id=True)
    assert joint["co_handlers"] == ["d-finance"]
    url = f"/api/v1/referrals/{joint['referral_id']}/replies"
    assert (
        await client.post(url, json={"handler_code": "d-agriculture-forestry-water", "kind": "accepted"})
    ).status_code == 202
    assert (
        await client.post(
            url, json={"handler_code": "d-agriculture-forestry-water", "kind": "progress", "note": "已立项"}
        )
    ).status_code == 202
    await until(client, still_in_progress, "in_progress")
    stranger = await client.post(url, json={"handler_code": "d-health", "kind": "completed", "result": "x"})
    # a handler that holds no part of the referral is answered as if the referral did not exist
    assert stranger.status_code == 404 and "no referral" in stranger.json()["detail"]

    # -- the city's face-to-face meeting with the medical insurance bureau
    await until(client, linkage, "pending_review", tier="city")
    city_status = await review(
        client,
        "city",
        CITY,
        month,
        [{"issue_id": linkage, "decision": "assign", "handler_code": "c-medical-insurance"}],
    )
    assert city_status["applied"] == 1, city_status
    city_referral = await until(client, linkage, "assigned", referral_id=True)
    done = await client.post(
        f"/api/v1/referrals/{city_referral['referral_id']}/replies",
        json={
            "handler_code": "c-medical-insurance",
            "kind": "completed",
            "result": "市医保局面对面协调，市级医院恢复推送住院费用数据",
        },
    )
    assert done.status_code == 202, done.text
    await until(client, linkage, "fed_back")

    # -- ratings: satisfied closes, dissatisfied reopens where it was resolved
    resolved_in_village = village_issues[villages[0]][0]
    await until(client, resolved_in_village, "fed_back")
    assert (
        await client.post(f"/api/v1/issues/{linkage}/rating", json={"satisfaction": "satisfied"})
    ).status_code == 202
    assert (
        await client.post(
            f"/api/v1/issues/{resolved_in_village}/rating",
            json={"satisfaction": "dissatisfied", "comment": "垃圾又堆起来了"},
        )
    ).status_code == 202
    closed = await until(client, linkage, "closed")
    reopened = await until(client, resolved_in_village, "pending_review")
    assert (reopened["tier"], reopened["unit"], reopened["reopened"]) == ("village", villages[0], 1)
    twice = await client.post(f"/api/v1/issues/{linkage}/rating", json={"satisfaction": "satisfied"})
    assert twice.status_code == 409
    never_fed_back = await client.post(f"/api/v1/issues/{still_in_progress}/close", json={"reason": "联系不上"})
    assert never_fed_back.status_code == 409

    # -- the counts per tier equal what the scenario put in
    kinds = Counter()
    for number in [*on_spot, *(x for xs in village_issues.values() for x in xs), *extra, linkage]:
        for entry in (await issue(client, number))["history"]:
            kinds[(entry["type"], entry["details"].get("tier") or entry["details"].get("from_tier"))] += 1
    assert kinds[("triage.issue_resolved_on_spot.v1", "village")] == 2
    assert kinds[("triage.issue_resolved.v1", "village")] == 8
    assert kinds[("triage.issue_escalated.v1", "village")] == 3
    assert kinds[("triage.issue_resolved.v1", "town")] == 1
    assert kinds[("triage.issue_escalated.v1", "town")] == 2
    assert kinds[("triage.issue_assigned.v1", "district")] == 2
    assert kinds[("triage.issue_escalated.v1", "district")] == 1
    assert kinds[("triage.issue_assigned.v1", "city")] == 1
    assert (await issue(client, still_in_progress))["state"] == "in_progress"
    assert closed["history"][-1]["type"] == "feedback.issue_closed.v1"

    # -- one issue, one path: every event of the city case links back to the intake's trace
    records = await read_topic(platform.kafka_bootstrap, ISSUE_EVENTS.name)
    decoder = msgspec.json.Decoder(IssueEventMessage)
    events = [decoder.decode(r.value) for r in records if r.key == linkage.encode()]
    received = events[0]
    trace_id = received.trace.traceparent.split("-")[1]
    assert len(events) >= 8
    unlinked = [type(e).__name__ for e in events[1:] if not (e.origin_trace and trace_id in e.origin_trace.traceparent)]
    assert unlinked == []
    assert all(e.trace is not None for e in events)

    # ... and every span that handled one of its later events, in any service, is in the intake's trace or
    # links back to it: an SRE follows the issue from the village (here: the district) to the city
    await asyncio.sleep(0.5)  # the span exporters flush every 200 ms here
    spans = [msgspec.json.decode(line) for line in platform.traces_file.read_bytes().splitlines() if line]
    handled = [
        s for s in spans if s["attributes"].get("issue.id") == linkage and s["name"] == f"{ISSUE_EVENTS.name} process"
    ]
    assert {s["service"] for s in handled} >= {"triage", "referral", "feedback", "gateway-projector"}
    assert [s for s in handled if s["trace_id"] != trace_id and trace_id not in s["links"]] == []

    # -- feedback went to the voter and to the deputy who collected it
    notes = await read_topic(platform.kafka_bootstrap, NOTIFICATIONS.name)
    recipients = {msgspec.json.decode(r.value)["recipient"] for r in notes if r.key == linkage.encode()}
    assert recipients == {"voter", "deputy:D00010"}


async def test_month_end_escalates_or_carries_over_by_the_tiers_policy(
    platform: Platform, client: httpx.AsyncClient
) -> None:
    village = "610902002001"
    fed_back = await intake(client, village, "路灯不亮", on_spot_resolution="当场修好")
    await until(client, fed_back, "fed_back")
    too_soon = await client.post(f"/api/v1/issues/{fed_back}/close", json={"reason": "电话无人接听"})
    assert too_soon.status_code == 409 and "closed unrated from" in too_soon.json()["detail"]
    left = await intake(client, village, "村道边沟堵塞")
    town_issue = await intake(client, "610902002", "镇上集市占道")
    before = (await client.get("/api/v1/clock/")).json()["month"]
    moved = await client.post("/api/v1/clock/", json={"advance_days": 32})
    assert moved.status_code == 200 and moved.json()["month"] > before
    escalated = await until(client, left, "pending_review", tier="town")
    assert escalated["history"][-1]["details"].get("automatic") is True
    for _ in range(200):
        carried = await issue(client, town_issue)
        if carried["history"][-1]["type"] == "triage.issue_carried_over.v1":
            break
        await asyncio.sleep(0.05)
    assert carried["history"][-1]["type"] == "triage.issue_carried_over.v1"
    assert (carried["state"], carried["tier"]) == ("pending_review", "town")

    # a month on, the voter who could not be reached: the issue is closed unrated, with the reason kept
    closing = await client.post(f"/api/v1/issues/{fed_back}/close", json={"reason": "电话无人接听"})
    assert closing.status_code == 202, closing.text
    closed = await until(client, fed_back, "closed")
    details = closed["history"][-1]["details"]
    assert details.items() >= {"unreachable": True, "reason": "电话无人接听", "closed_by": "platform-admin"}.items()


async def test_oversight_recounts_from_the_topic_supervises_overdue_work_and_reports(
    platform: Platform, client: httpx.AsyncClient
) -> None:
    """Runs after the month: the clock has moved a month on, so the scenario's open referral is overdue."""
    held = (await client.get("/api/v1/referrals/", params={"handler": "d-agriculture-forestry-water"})).json()
    assert held, "the scenario left a joint referral in progress"
    overdue_issue = held[0]["number"]
    for _ in range(300):  # supervision runs on the platform clock, every second here
        found = await issue(client, overdue_issue)
        if any(h["type"] == "oversight.issue_supervised.v1" for h in found["history"]):
            break
        await asyncio.sleep(0.1)
    supervised = [h for h in found["history"] if h["type"] == "oversight.issue_supervised.v1"]
    assert len(supervised) == 1 and supervised[0]["details"]["overdue_days"] >= 1
    overdue = (await client.get("/api/v1/oversight/overdue")).json()
    assert overdue_issue in {o["issue_id"] for o in overdue}
    notes = await read_topic(platform.kafka_bootstrap, NOTIFICATIONS.name)
    told = {msgspec.json.decode(r.value)["recipient"] for r in notes if r.key == overdue_issue.encode()}
    assert any(t.startswith("superior:") for t in told) and any(t.startswith("leader:") for t in told)

    # the town issue the month end carried over is supervised as unreviewed, and its leaders told
    unreviewed = (await client.get("/api/v1/oversight/unreviewed")).json()
    carried = [u for u in unreviewed if u["tier"] == "town"]
    assert carried, unreviewed
    for _ in range(100):
        history = (await issue(client, carried[0]["issue_id"]))["history"]
        if any("did not decide" in h["details"].get("reason", "") for h in history):
            break
        await asyncio.sleep(0.1)
    assert any("did not decide" in h["details"].get("reason", "") for h in history)

    # the service's ledgers equal a recount from nothing but the topics
    late = RegistryCache(platform.kafka_bootstrap)
    await late.start()
    try:
        clock = (await client.get("/api/v1/clock/")).json()
        today = date.fromisoformat(clock["now"][:10])
        for _ in range(20):  # the topic may still be moving (supervision of other overdue work): until it rests
            recount = Ledger()
            for record in await read_topic(platform.kafka_bootstrap, ISSUE_EVENTS.name):
                recount.apply_raw(record.value)
            differ = []
            for by in ("town", "handler", "category", "unit"):
                served = (await client.get("/api/v1/oversight/ledgers", params={"by": by, "period": "all"})).json()
                mine = msgspec.to_builtins(recount.rows(late.view, by=by, period="all", today=today))
                if served != mine:
                    differ.append(by)
            if not differ:
                break
            await asyncio.sleep(0.5)
        assert differ == []
        assert sum(r.get("collected", 0) for r in mine) == recount.issues_count() > 10
    finally:
        await late.stop()

    month_now = clock["month"]
    # a deputy's reception is counted; a callback finding the city case's "satisfied" untrue flags it
    records = "/api/v1/oversight/records"
    body = {
        "deputy_code": "D00010",
        "station_code": DISTRICT,
        "kind": "reception",
        "held_on": str(today),
        "voters_met": 12,
    }
    assert (await client.post(f"{records}/contacts", json=body)).status_code == 202
    for _ in range(100):
        contacts = (await client.get(f"{records}/contacts", params={"by": "deputy", "period": "all"})).json()
        if any(c.get("key") == "D00010" and c.get("voters_met") == 12 for c in contacts):
            break
        await asyncio.sleep(0.1)
    assert any(c.get("key") == "D00010" and c.get("voters_met") == 12 for c in contacts), contacts
    # a training of a town's grid leaders counts towards its coverage; emergency funds go to an issue
    grids = (await client.get("/api/v1/registry/grids", params={"village_code": "610902001001"})).json()["items"]
    roles = (await client.get("/api/v1/registry/grid-roles", params={"grid_code": grids[0]["code"]})).json()["items"]
    held_on = str(date.today() - timedelta(days=1))
    training = {"unit_code": TOWN, "held_on": held_on, "audience": "grid_leader", "topic": "网格员职责培训"}
    training |= {"attendee_codes": [r["code"] for r in roles], "attendees": len(roles)}
    assert (await client.post(f"{records}/training", json=training)).status_code == 202
    funds = {"issue_id": overdue_issue, "amount_yuan": 50_000, "purpose": "应急抢修", "approved_by": "district"}
    assert (await client.post(f"{records}/funds", json=funds | {"month": month_now})).status_code == 202
    for _ in range(100):
        coverage = (await client.get(f"{records}/training", params={"period": "all"})).json()
        allocated = (await client.get(f"{records}/funds", params={"period": "all"})).json()
        town_row = next((t for t in coverage if t["town"] == TOWN), None)
        if town_row and town_row["covered"] >= len(roles) and allocated["amount_yuan"] >= 50_000:
            break
        await asyncio.sleep(0.1)
    assert town_row and town_row["covered"] >= len(roles) > 0 and town_row["coverage"] > 0
    assert {i["issue_id"]: i["amount_yuan"] for i in allocated["issues"]}[overdue_issue] == 50_000

    due = (await client.get(f"{records}/callbacks/due", params={"share": "1"})).json()
    rated = [d for d in due if d.get("recorded") in ("satisfied", "basically_satisfied")]
    assert rated, due
    callback = {"issue_id": rated[0]["issue_id"], "answer": "dissatisfied", "called_by": "oversight-1"}
    assert (await client.post(f"{records}/callbacks", json=callback)).status_code == 202
    for _ in range(100):
        made = (await client.get(f"{records}/callbacks", params={"period": "all"})).json()
        if made.get("mismatched"):
            break
        await asyncio.sleep(0.1)
    assert [m["issue_id"] for m in made["mismatches"]] == [rated[0]["issue_id"]]

    scores = (await client.get("/api/v1/oversight/assessment", params={"kind": "department", "period": "all"})).json()
    assert all(abs(sum(line["points"] for line in s["lines"]) - s["score"]) < 0.01 for s in scores)
    month = clock["month"]
    xlsx = await client.get("/api/v1/oversight/monthly-report.xlsx", params={"month": month})
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    workbook = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    assert len(workbook.sheetnames) >= 5
    pdf = await client.get("/api/v1/oversight/monthly-report.pdf", params={"month": month})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
