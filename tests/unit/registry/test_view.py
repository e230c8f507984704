"""The registry's in-memory view: its lookups, and its indexes staying right through changes."""

from __future__ import annotations

import uuid
from datetime import date

from common.registry.view import RegistryView
from contracts.registry import (
    AdminUnit,
    Deputy,
    EntityPut,
    EntityRef,
    EntityRemoved,
    Handler,
    LeaderAssignment,
    ReceptionSchedule,
    Station,
)

CITY = AdminUnit(code="6109", name="安康市", tier="city")
DISTRICT = AdminUnit(code="610902", name="汉滨区", tier="district", parent_code="6109")
TOWN = AdminUnit(code="610902001", name="老城街道", tier="town", parent_code="610902")
TOWN2 = AdminUnit(code="610902002", name="新城街道", tier="town", parent_code="610902")
VILLAGES = [
    AdminUnit(code=f"61090200{t}00{v}", name=f"村{t}{v}", tier="village", parent_code=f"61090200{t}")
    for t in (1, 2)
    for v in (1, 2, 3)
]
CENTER = Station(code="610902001", name="中心联络站", kind="town_center", unit_code="610902001")
VILLAGE_STATION = Station(code="610902001001", name="联络站", kind="village_station", unit_code="610902001001")
DEPUTIES = [
    Deputy(code="D00001", name="王芳", congress_level="town", station_code="610902001001"),
    Deputy(code="D00002", name="李强", congress_level="town", station_code="610902001001"),
    Deputy(code="D00003", name="张伟", congress_level="district", station_code="610902001"),
]
ROADS_TOWN = Handler(
    code="t610902001-build",
    name="村镇建设办",
    kind="town_office",
    unit_code="610902001",
    categories=("roads_and_landslides",),
)
ROADS_DISTRICT = Handler(
    code="d-transport",
    name="交通运输局",
    kind="district_department",
    unit_code="610902",
    categories=("roads_and_landslides",),
)
WATER = Handler(
    code="d-water", name="水利局", kind="district_department", unit_code="610902", categories=("water_supply",)
)
LEADERS = [
    LeaderAssignment(code="L-610902001", name="陈主任", unit_code="610902001"),
    LeaderAssignment(code="L-610902001001", name="刘书记", unit_code="610902001001"),
]
_ID = uuid.UUID("00000000-0000-4000-8000-000000000001")
RECEPTIONS = [
    ReceptionSchedule(code="R-610902001", station_code="610902001", deputy_codes=("D00003",), days_of_month=(15,)),
    ReceptionSchedule(code="R-610902001001", station_code="610902001001", deputy_codes=("D00001",), weekdays=(3,)),
]


def view() -> RegistryView:
    units = [CITY, DISTRICT, TOWN, TOWN2, *VILLAGES]
    return RegistryView(
        [*units, CENTER, VILLAGE_STATION, *DEPUTIES, ROADS_TOWN, ROADS_DISTRICT, WATER, *LEADERS, *RECEPTIONS]
    )


def codes(entities: list) -> list[str]:  # type: ignore[type-arg]
    return [e.code for e in entities]


def test_parent_chain_goes_up_to_the_city_nearest_first() -> None:
    assert codes(view().parent_chain("610902001002")) == ["610902001002", "610902001", "610902", "6109"]
    assert view().parent_chain("999") == []


def test_subtree_lists_the_unit_and_everything_under_it_or_one_tier_of_it() -> None:
    v = view()
    assert codes(v.subtree("610902001")) == ["610902001", "610902001001", "610902001002", "610902001003"]
    assert len(v.subtree("6109", tier="village")) == 6
    assert codes(v.subtree("610902", tier="town")) == ["610902001", "610902002"]
    assert v.subtree("nowhere") == []


def test_scope_check_follows_the_parent_chain() -> None:
    v = view()
    assert v.in_subtree("610902001002", "610902001")
    assert v.in_subtree("610902001", "610902001")
    assert not v.in_subtree("610902002001", "610902001")


def test_station_and_deputies_of_a_village() -> None:
    v = view()
    assert codes(v.stations_of("610902001001")) == ["610902001001"]
    assert codes(v.deputies_at("610902001001")) == ["D00001", "D00002"]
    assert v.tier_of_station("610902001") == ("town", "610902001")


def test_handlers_for_a_category_are_those_of_the_tier_that_refers() -> None:
    v = view()
    assert codes(v.handlers_for("roads_and_landslides", "610902001")) == ["t610902001-build"]
    assert codes(v.handlers_for("roads_and_landslides", "610902")) == ["d-transport"]
    assert v.handlers_for("roads_and_landslides", "610902001001") == []  # a village refers to nobody outside
    assert v.handlers_for("schooling", "610902") == []


def test_leaders_over_a_village_include_those_of_its_town() -> None:
    assert codes(view().leaders_over("610902001001")) == ["L-610902001001", "L-610902001"]


def test_who_is_on_duty_at_a_station_on_a_day() -> None:
    v = view()
    assert codes(v.on_duty("610902001", date(2026, 12, 15))) == ["D00003"]  # the public reception day
    assert v.on_duty("610902001", date(2026, 12, 16)) == []
    assert codes(v.on_duty("610902001001", date(2026, 12, 2))) == ["D00001"]  # a Wednesday


def test_moving_a_deputy_moves_it_between_stations() -> None:
    v = view()
    v.apply(
        EntityPut(
            entity=Deputy(code="D00002", name="李强", congress_level="town", station_code="610902001002"),
            command_id=_ID,
        )
    )
    assert codes(v.deputies_at("610902001001")) == ["D00001"]
    assert codes(v.deputies_at("610902001002")) == ["D00002"]


def test_removing_an_entity_drops_it_from_every_index() -> None:
    v = view()
    v.apply(EntityRemoved(ref=EntityRef(entity="admin_unit", code="610902001003"), command_id=_ID))
    v.apply(EntityRemoved(ref=EntityRef(entity="handler", code="d-water"), command_id=_ID))
    assert "610902001003" not in codes(v.subtree("610902001"))
    assert v.handlers_for("water_supply", "610902") == []
    assert v.referrers("handlers", "610902") == {"d-transport"}
    v.remove("handler", "never-existed")  # removing what is not there changes nothing
    assert v.count(Handler) == 2
