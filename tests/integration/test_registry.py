"""The registry on the real platform: the demo district loaded through roster imports, changes checked
by the registry service, caches rebuilt from the compacted topic, rosters in and out."""

from __future__ import annotations

import io
import uuid
from collections import Counter

import httpx
import openpyxl
import pytest

from common.registry import rosters
from common.registry.cache import RegistryCache
from gateway.registry_api import KINDS, entity_name_of
from infra.runtime.platform import Platform
from services.registry.demo import demo_district
from tests.integration.test_first_path import submit, wait_for_issue

API = "/api/v1/registry"
DEMO = demo_district()


@pytest.fixture
async def client(platform: Platform, admin_headers: dict[str, str]):
    async with httpx.AsyncClient(base_url=platform.gateway_url, timeout=60, headers=admin_headers) as http:
        yield http


def workroom(code: str, unit: str = "610902002") -> dict:
    return {"name": "测试代表工作室", "kind": "workroom", "unit_code": unit, "site": "测试项目现场"}


async def test_the_demo_district_has_the_real_size(client: httpx.AsyncClient) -> None:
    counts = (await client.get(f"{API}/")).json()["counts"]
    assert counts["deputies"] == 1968
    assert counts["grid-roles"] == 576 + 1326
    villages = (await client.get(f"{API}/lookups/subtree/610902", params={"tier": "village"})).json()
    towns = (await client.get(f"{API}/units", params={"tier": "town"})).json()
    assert (len(villages), towns["total"]) == (387, 28)
    levels = Counter(
        d["congress_level"] for d in (await client.get(f"{API}/deputies", params={"limit": 5000})).json()["items"]
    )
    assert levels == {"province": 6, "city": 80, "district": 329, "town": 1553}


async def test_a_cache_that_starts_late_sees_the_same_registry(platform: Platform, client: httpx.AsyncClient) -> None:
    late = RegistryCache(platform.kafka_bootstrap)
    await late.start()  # reads the compacted topic from offset 0
    try:
        assert [e for e in DEMO if late.view.get(type(e), e.code) != e] == []
        for kind, cls in KINDS.items():  # and exactly what the gateway's cache serves
            served = await client.get(f"{API}/exports/{kind}.csv")
            assert rosters.export_csv(late.view.all(cls), entity_name_of(cls)) == served.content, kind
    finally:
        await late.stop()


async def test_exporting_then_importing_the_same_workbook_changes_nothing(client: httpx.AsyncClient) -> None:
    exported = await client.get(f"{API}/exports/registry.xlsx")
    assert exported.status_code == 200
    workbook = openpyxl.load_workbook(io.BytesIO(exported.content), read_only=True)
    assert "代表" in workbook.sheetnames and "行政单元" in workbook.sheetnames
    total = sum((await client.get(f"{API}/")).json()["counts"].values())

    response = await client.post(f"{API}/imports", files={"data": ("registry.xlsx", exported.content)})
    assert response.status_code == 200, response.text
    assert (response.json()["put"], response.json()["removed"], response.json()["unchanged"]) == (0, 0, total)

    deputies_csv = await client.get(f"{API}/exports/deputies.csv")
    assert deputies_csv.content.startswith("\ufeff编码".encode())
    again = await client.post(
        f"{API}/imports", params={"kind": "deputies"}, files={"data": ("d.csv", deputies_csv.content)}
    )
    assert (again.status_code, again.json()["put"]) == (200, 0)


async def test_an_import_reports_every_bad_row_with_its_line_and_applies_none(client: httpx.AsyncClient) -> None:
    header = "编码,姓名,代表级别,编组站点编码,电话\n"
    unreadable = header + "D90001,赵一,乡,610902001001,\nD90002,,镇,610902001001,\n"
    response = await client.post(
        f"{API}/imports", params={"kind": "deputies"}, files={"data": ("d.csv", unreadable.encode())}
    )
    assert response.status_code == 422
    assert sorted((p["line"], p["field"]) for p in response.json()["problems"]) == [(2, "congress_level"), (3, "name")]

    # readable, but one row breaks the grouping rule and one names no station: the good row is not applied
    grouped = header + "D90003,钱二,镇,610902001001,\nD90004,孙三,省,610902001001,\nD90005,李四,镇,610902999999,\n"
    response = await client.post(
        f"{API}/imports", params={"kind": "deputies"}, files={"data": ("d.csv", grouped.encode())}
    )
    assert response.status_code == 422, response.text
    problems = {(p["line"], p["field"]) for p in response.json()["problems"]}
    assert problems == {(3, "station_code"), (4, "station_code")}
    assert any("province" in p["reason"] for p in response.json()["problems"] if p["line"] == 3)
    assert (await client.get(f"{API}/deputies/D90003")).status_code == 404


async def test_one_entity_is_put_read_and_removed(client: httpx.AsyncClient) -> None:
    put = await client.put(f"{API}/stations/610902002-W09", json=workroom("610902002-W09"))
    assert (put.status_code, put.json()["status"], put.json()["put"]) == (200, "applied", 1)
    assert (await client.get(f"{API}/stations/610902002-W09")).json()["site"] == "测试项目现场"
    same = await client.put(f"{API}/stations/610902002-W09", json=workroom("610902002-W09"))
    assert (same.json()["put"], same.json()["unchanged"]) == (0, 1)

    removed = await client.delete(f"{API}/stations/610902002-W09")
    assert (removed.status_code, removed.json()["removed"]) == (200, 1)
    assert (await client.get(f"{API}/stations/610902002-W09")).status_code == 404


async def test_a_bad_body_names_the_field(client: httpx.AsyncClient) -> None:
    wrong_type = await client.put(f"{API}/units/610902001099", json={"name": 5, "tier": "village"})
    assert wrong_type.status_code == 400 and "name" in wrong_type.json()["detail"]
    unknown = await client.put(f"{API}/units/610902001099", json={"name": "新村", "tier": "village", "parnt": "x"})
    assert unknown.status_code == 400 and "parnt" in unknown.json()["detail"]
    refused = await client.put(
        f"{API}/units/610902001099", json={"name": "新村", "tier": "village", "parent_code": "610902"}
    )
    assert refused.status_code == 422
    assert [p["field"] for p in refused.json()["problems"]] == ["parent_code"]


async def test_an_intake_at_an_unknown_station_is_refused(client: httpx.AsyncClient) -> None:
    body = {"channel": "visit", "station_code": "610902001099", "kind": "problem", "text": "路灯坏了"}
    response = await submit(client, body)
    assert response.status_code == 400 and "station_code" in response.json()["detail"]


async def test_a_station_that_open_issues_point_at_is_not_removed(client: httpx.AsyncClient) -> None:
    assert (await client.put(f"{API}/stations/610902002-W08", json=workroom("610902002-W08"))).status_code == 200
    body = {"channel": "reception", "station_code": "610902002-W08", "kind": "problem", "text": "工地扬尘太大"}
    response = await submit(client, body, key=str(uuid.uuid4()))
    issue = await wait_for_issue(client, response.json()["submission_id"])
    assert (issue["responsible_tier"], issue["responsible_unit"]) == ("town", "610902002")  # the workroom's town

    # at once: the registry counts open issues from the issue events, and a removal waits for the counts
    # to take in every event published before it (`UsageCatchUp`)
    refused = await client.delete(f"{API}/stations/610902002-W08")
    assert refused.status_code == 422, refused.text
    assert "open issue" in refused.json()["problems"][0]["reason"]


async def test_a_restarted_service_rebuilds_the_registry_and_triages_with_it(
    platform: Platform, client: httpx.AsyncClient
) -> None:
    assert (
        await client.put(f"{API}/stations/610902003-W07", json=workroom("610902003-W07", "610902003"))
    ).status_code == 200
    platform.restart("triage")  # its cache starts empty and rebuilds from offset 0
    body = {"channel": "visit", "station_code": "610902003-W07", "kind": "problem", "text": "项目占地补偿没到位"}
    response = await submit(client, body, key=str(uuid.uuid4()))
    issue = await wait_for_issue(client, response.json()["submission_id"])
    assert (issue["responsible_tier"], issue["responsible_unit"]) == ("town", "610902003")


# the liaison of the first village, one of the demo's per-village logins (the `liaison` login's password is the
# run's demo_passwords, which the browser tests use)
LIAISON = "liaison-610902001001"


async def test_changes_need_an_administrator_and_registry_users_sign_in(
    platform: Platform, client: httpx.AsyncClient
) -> None:
    async with httpx.AsyncClient(base_url=platform.gateway_url, timeout=30) as anonymous:
        refused = await anonymous.put(f"{API}/stations/610902002-W06", json=workroom("610902002-W06"))
        assert refused.status_code == 401
        assert (await anonymous.get(f"{API}/stations/610902002")).status_code == 401  # reading needs an account too

        # the administrator gives a registry user (a village liaison) a password; the user signs in
        assert (
            await client.put(f"/api/v1/auth/passwords/{LIAISON}", json={"password": "村联络员-口令-2026"})
        ).status_code == 204
        wrong = await anonymous.post("/api/v1/auth/sign-in", json={"login": LIAISON, "password": "not it at all"})
        unknown = await anonymous.post("/api/v1/auth/sign-in", json={"login": "nobody", "password": "not it at all"})
        assert wrong.status_code == unknown.status_code == 401 and wrong.json()["detail"] == unknown.json()["detail"]
        signed = await anonymous.post("/api/v1/auth/sign-in", json={"login": LIAISON, "password": "村联络员-口令-2026"})
        assert signed.status_code == 200
        me = await anonymous.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {signed.json()['token']}"})
        assert (me.json()["role"], me.json()["login"]) == ("station_liaison", LIAISON)
        # a liaison is not an administrator
        forbidden = await anonymous.put(
            f"{API}/stations/610902002-W06",
            json=workroom("610902002-W06"),
            headers={"Authorization": f"Bearer {signed.json()['token']}"},
        )
        assert forbidden.status_code == 403

        # work lists: a village's liaison sees its village; a neighbour's is answered like a unit that does not exist
        liaison = {"Authorization": f"Bearer {signed.json()['token']}"}
        own = await anonymous.get("/api/v1/issues/", params={"unit": "610902001001"}, headers=liaison)
        neighbour = await anonymous.get("/api/v1/issues/", params={"unit": "610902001002"}, headers=liaison)
        nowhere = await anonymous.get("/api/v1/issues/", params={"unit": "610902001999"}, headers=liaison)
        assert own.status_code == 200
        assert neighbour.status_code == nowhere.status_code == 400
        assert neighbour.json()["detail"].replace("001002", "") == nowhere.json()["detail"].replace("001999", "")
        anonymous.cookies.clear()  # signing in above left the session cookie on this client
        assert (await anonymous.get("/api/v1/issues/", params={"unit": "610902001001"})).status_code == 401
        others = await anonymous.get("/api/v1/referrals/", params={"handler": "d-water"}, headers=liaison)
        assert others.status_code == 400  # a liaison holds no department's referrals
