"""The demo district: Hanbin at the source's real size, every reference resolving, the registry's rules kept."""

from __future__ import annotations

import re
import time
from collections import Counter

import pytest

from common.registry.view import RegistryView
from contracts.registry import (
    AdminUnit,
    Deputy,
    Entity,
    Grid,
    GridRole,
    Handler,
    LeaderAssignment,
    ReceptionSchedule,
    Row,
    Station,
    User,
    entity_name,
)
from contracts.vocabulary import CATEGORIES, USER_ROLES
from services.registry.demo import demo_district
from services.registry.demo_names import TOWNS
from services.registry.domain import decide_put

MOBILE = re.compile(r"1[358][0-9]{9}")
ORDER = ("admin_unit", "station", "handler", "deputy", "grid", "grid_role", "leader", "reception", "user")
GROUPED_AT = {
    "province": {"deputies_home"},
    "city": {"town_center", "deputies_home"},
    "district": {"town_center", "deputies_home", "workroom"},
    "town": {"village_station"},
}


@pytest.fixture(scope="module")
def full() -> list[Entity]:
    return demo_district()


@pytest.fixture(scope="module")
def view(full: list[Entity]) -> RegistryView:
    return RegistryView(full)


def test_full_district_is_built_well_under_a_second() -> None:
    started = time.perf_counter()
    demo_district()
    assert time.perf_counter() - started < 1.0


def test_the_same_call_gives_the_same_district() -> None:
    assert demo_district() == demo_district()
    assert demo_district("small") == demo_district("small")
    assert demo_district("small", seed=1) != demo_district("small")


def test_unknown_size_is_refused() -> None:
    with pytest.raises(ValueError, match="size"):
        demo_district("huge")


def test_entities_come_in_dependency_order_and_units_by_tier(full: list[Entity]) -> None:
    kinds = [ORDER.index(entity_name(e)) for e in full]
    assert kinds == sorted(kinds)
    tiers = [e.tier for e in full if isinstance(e, AdminUnit)]
    assert tiers == sorted(tiers, key=("city", "district", "town", "village").index)


def test_codes_are_unique_per_kind(full: list[Entity]) -> None:
    keys = Counter((entity_name(e), e.code) for e in full)
    assert [key for key, n in keys.items() if n > 1] == []


def test_units_are_hanbins_real_towns_and_387_villages(view: RegistryView) -> None:
    units = Counter(u.tier for u in view.all(AdminUnit))
    assert units == {"city": 1, "district": 1, "town": 28, "village": 387}
    assert view.unit("6109").name == "安康市"
    assert view.unit("610902") == AdminUnit(code="610902", name="汉滨区", tier="district", parent_code="6109")
    towns = view.children("610902")
    assert [t.code for t in towns] == [f"610902{i:03d}" for i in range(1, 29)]
    assert [t.name for t in towns] == list(TOWNS)
    for town in towns:
        villages = view.children(town.code)
        assert 8 <= len(villages) <= 22
        assert [v.code for v in villages] == [f"{town.code}{i:03d}" for i in range(1, len(villages) + 1)]
        assert len({v.name for v in villages}) == len(villages)
        assert all(v.name.endswith(("村", "社区")) and v.tier == "village" for v in villages)


def test_stations_per_kind_serve_their_units(view: RegistryView) -> None:
    stations = view.all(Station)
    assert Counter(s.kind for s in stations) == {
        "deputies_home": 1,
        "town_center": 28,
        "village_station": 387,
        "workroom": 8,
    }
    tier_of = {"deputies_home": "district", "town_center": "town", "village_station": "village"}
    for station in stations:
        unit = view.unit(station.unit_code)
        assert unit is not None
        if station.kind == "workroom":
            assert unit.tier in ("district", "town")
            assert re.fullmatch(rf"{unit.code}-W[0-9]{{2}}", station.code) and station.site
        else:
            assert unit.tier == tier_of[station.kind] and station.code == unit.code
    assert view.station("610902").name == "汉滨区人大代表之家"
    assert view.station("610902001").name == "老城街道人大代表中心联络站"
    sites = {s.site for s in stations if s.kind == "workroom"}
    assert {"高新安商总会", "张坝公路重点项目建设现场"} <= sites


def test_deputies_per_level_match_the_source(view: RegistryView) -> None:
    deputies = view.all(Deputy)
    assert len(deputies) == 1968
    assert Counter(d.congress_level for d in deputies) == {"province": 6, "city": 80, "district": 329, "town": 1553}
    assert [d.code for d in deputies] == [f"D{i:05d}" for i in range(1, 1969)]


def test_every_deputy_is_grouped_where_the_registry_allows(view: RegistryView) -> None:
    for deputy in view.all(Deputy):
        station = view.station(deputy.station_code)
        assert station is not None
        assert station.kind in GROUPED_AT[deputy.congress_level], deputy
    for station in view.all(Station):
        grouped = view.deputies_at(station.code)
        if station.kind == "village_station":
            assert len(grouped) >= 3 and len(view.grids_of(station.unit_code)) >= 1
        if station.kind == "workroom":
            assert len(grouped) >= 2 and {d.congress_level for d in grouped} == {"district"}


def test_deputies_look_real(view: RegistryView) -> None:
    for deputy in view.all(Deputy):
        assert 2 <= len(deputy.name) <= 3 and not deputy.name.isascii()
        assert MOBILE.fullmatch(deputy.phone or "")
        assert deputy.gender in ("male", "female") and deputy.occupation
    phones = [d.phone for d in view.all(Deputy)]
    assert len(set(phones)) == len(phones)


def test_grids_have_one_leader_each_and_every_role_is_a_deputy(view: RegistryView) -> None:
    grids, roles = view.all(Grid), view.all(GridRole)
    assert len(grids) == 576
    assert Counter(r.role for r in roles) == {"grid_leader": 576, "grid_member": 1326}
    for grid in grids:
        assert [r.role for r in view.grid_roles(grid.code)].count("grid_leader") == 1
    holders = [r.deputy_code for r in roles]
    assert None not in holders and len(set(holders)) == 1902


def test_grid_roles_are_held_by_the_villages_own_or_its_towns_center_deputies(view: RegistryView) -> None:
    town_deputies_with_a_role = 0
    for role in view.all(GridRole):
        deputy = view.get(Deputy, role.deputy_code or "")
        village = view.get(Grid, role.grid_code).village_code
        assert (role.name, role.phone) == (deputy.name, deputy.phone)
        if deputy.station_code == village:
            town_deputies_with_a_role += 1
        else:
            assert deputy.station_code == view.unit(village).parent_code
            assert deputy.congress_level in ("city", "district")
    assert town_deputies_with_a_role == 1553


def test_handlers_per_kind_take_known_categories(view: RegistryView) -> None:
    handlers = view.all(Handler)
    kinds = Counter(h.kind for h in handlers)
    assert kinds["district_department"] == 16 and 4 <= kinds["city_department"] <= 6
    for handler in handlers:
        assert handler.categories and set(handler.categories) <= set(CATEGORIES)
        assert handler.categories != ("other",)
        assert handler.superior and handler.phone and not handler.name.isascii()
    for town in view.children("610902"):
        offices = [h for h in view.handlers_of(town.code) if h.kind == "town_office"]
        assert 4 <= len(offices) <= 5
        assert all(h.code.startswith(f"t{town.code}-") for h in offices)
    taken = {c for h in handlers if h.kind == "district_department" for c in h.categories}
    assert taken >= set(CATEGORIES) - {"other"}
    assert view.get(Handler, "d-transport").unit_code == "610902"
    assert view.get(Handler, "t610902001-civil") is not None


def test_a_leader_is_in_charge_of_every_town_and_village(view: RegistryView) -> None:
    leaders = view.all(LeaderAssignment)
    units = [u for u in view.all(AdminUnit) if u.tier in ("town", "village")]
    assert sorted(a.code for a in leaders) == sorted(f"L-{u.code}" for u in units)
    assert all(a.unit_code == a.code.removeprefix("L-") and a.title for a in leaders)


def test_receptions_are_held_by_deputies_grouped_at_the_station(view: RegistryView) -> None:
    schedules = view.all(ReceptionSchedule)
    by_station = Counter(s.station_code for s in schedules)
    for station in view.all(Station):
        expected = 0 if station.kind == "workroom" else 1
        assert by_station[station.code] == expected, station.code
    for schedule in schedules:
        assert schedule.deputy_codes
        assert all(view.get(Deputy, d).station_code == schedule.station_code for d in schedule.deputy_codes)
        if view.station(schedule.station_code).kind == "town_center":
            assert schedule.days_of_month == (15,) and not schedule.weekdays
        else:
            assert len(schedule.weekdays) == 1 and 1 <= schedule.weekdays[0] <= 5


def test_there_is_a_login_for_every_role_and_every_station(view: RegistryView) -> None:
    users = view.all(User)
    assert {u.role for u in users} == set(USER_ROLES)
    deputy = view.user("deputy")
    assert view.get(Deputy, deputy.deputy_code).congress_level == "town"
    assert view.get(Deputy, deputy.deputy_code).station_code == deputy.unit_code == "610902001001"
    assert view.user("handler").handler_code == "d-transport"
    assert (view.user("town").unit_code, view.user("leader").unit_code) == ("610902001", "610902001")
    assert view.user("liaison").unit_code == view.user("head").unit_code == "610902001001"
    for unit in view.all(AdminUnit):
        if unit.tier in ("town", "village"):
            login = f"town-{unit.code}" if unit.tier == "town" else f"liaison-{unit.code}"
            assert view.user(login).unit_code == unit.code
    assert all(not u.name.isascii() and MOBILE.fullmatch(u.phone or "") for u in users)


def test_every_reference_resolves(view: RegistryView) -> None:
    for unit in view.all(AdminUnit):
        assert unit.parent_code is None if unit.tier == "city" else view.unit(unit.parent_code)
    assert all(view.unit(s.unit_code) for s in view.all(Station))
    assert all(view.station(d.station_code) for d in view.all(Deputy))
    assert all(view.unit(g.village_code).tier == "village" for g in view.all(Grid))
    assert all(view.get(Grid, r.grid_code) and view.get(Deputy, r.deputy_code) for r in view.all(GridRole))
    assert all(view.unit(h.unit_code) for h in view.all(Handler))
    assert all(view.unit(a.unit_code) for a in view.all(LeaderAssignment))
    assert all(view.station(s.station_code) for s in view.all(ReceptionSchedule))
    for user in view.all(User):
        assert user.unit_code is None or view.unit(user.unit_code)
        assert user.handler_code is None or view.get(Handler, user.handler_code)
        assert user.deputy_code is None or view.get(Deputy, user.deputy_code)


def test_small_district_has_the_same_shape_in_miniature() -> None:
    view = RegistryView(demo_district("small"))
    assert Counter(u.tier for u in view.all(AdminUnit)) == {"city": 1, "district": 1, "town": 2, "village": 6}
    assert all(len(view.children(t.code)) == 3 for t in view.children("610902"))
    assert Counter(s.kind for s in view.all(Station)) == {
        "deputies_home": 1,
        "town_center": 2,
        "village_station": 6,
        "workroom": 2,
    }
    deputies = view.all(Deputy)
    assert {d.congress_level for d in deputies} == {"province", "city", "district", "town"}
    assert all(view.station(d.station_code).kind in GROUPED_AT[d.congress_level] for d in deputies)
    villages = [u for u in view.all(AdminUnit) if u.tier == "village"]
    assert all(len(view.deputies_at(v.code)) >= 3 and view.grids_of(v.code) for v in villages)
    roles = view.all(GridRole)
    assert len({r.deputy_code for r in roles}) == len(roles)
    assert {u.role for u in view.all(User)} == set(USER_ROLES)


@pytest.mark.parametrize("size", ["small", "full"])
def test_the_registry_accepts_the_whole_district_in_one_put(size: str) -> None:
    entities = demo_district(size)
    decision = decide_put(RegistryView(), [Row(entity=e) for e in entities])
    assert decision.problems == ()
    assert len(decision.put) == len(entities)
