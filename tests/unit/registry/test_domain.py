"""The registry's rules: which puts and removals it accepts, what it refuses and why, all or nothing."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from msgspec.structs import replace

from common.registry.view import RegistryView
from contracts.registry import (
    AdminUnit,
    Deputy,
    Entity,
    EntityPut,
    EntityRef,
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
from services.registry.domain import Decision, decide_put, decide_remove

# -- a tiny district -----------------------------------------------------------------------------------------

CITY = AdminUnit(code="6109", name="安康市", tier="city")
DISTRICT = AdminUnit(code="610902", name="汉滨区", tier="district", parent_code="6109")
TOWN1 = AdminUnit(code="610902001", name="老城街道", tier="town", parent_code="610902")
TOWN2 = AdminUnit(code="610902002", name="新城街道", tier="town", parent_code="610902")
VILLAGE11 = AdminUnit(code="610902001001", name="东关社区", tier="village", parent_code="610902001")
VILLAGE12 = AdminUnit(code="610902001002", name="西关社区", tier="village", parent_code="610902001")  # no station
VILLAGE21 = AdminUnit(code="610902002001", name="南岭村", tier="village", parent_code="610902002")
HOME = Station(code="610902", name="汉滨区代表之家", kind="deputies_home", unit_code="610902")
WORKROOM = Station(code="610902-W01", name="工商联代表工作室", kind="workroom", unit_code="610902", site="区工商联")
CENTER1 = Station(code="610902001", name="老城中心联络站", kind="town_center", unit_code="610902001")
STATION11 = Station(code="610902001001", name="东关联络站", kind="village_station", unit_code="610902001001")
STATION21 = Station(code="610902002001", name="南岭联络站", kind="village_station", unit_code="610902002001")
WATER = Handler(
    code="water-bureau", name="区水利局", kind="district_department", unit_code="610902", categories=("water_supply",)
)
TOWN_OFFICE = Handler(
    code="t1-office", name="老城综治办", kind="town_office", unit_code="610902001", categories=("sanitation", "other")
)
D_CITY = Deputy(code="d-city", name="李四", congress_level="city", station_code="610902001")
D_DIST = Deputy(code="d-dist", name="王五", congress_level="district", station_code="610902-W01")
D_PROV = Deputy(code="d-prov", name="赵六", congress_level="province", station_code="610902")
D_TOWN = Deputy(code="d-town", name="张三", congress_level="town", station_code="610902001001", gender="female")
GRID = Grid(code="g-1", name="东关一网格", village_code="610902001001")
LEADER_ROLE = GridRole(code="gr-1", grid_code="g-1", role="grid_leader", name="张三", deputy_code="d-town")
MEMBER_ROLE = GridRole(code="gr-2", grid_code="g-1", role="grid_member", name="陈七")
LEADER = LeaderAssignment(code="lead-1", name="周八", title="副区长", unit_code="610902001")
RECEPTION = ReceptionSchedule(code="rec-1", station_code="610902001001", deputy_codes=("d-town",), days_of_month=(15,))
ADMIN = User(code="admin", name="管理员", role="admin", unit_code="610902")
DEPUTY_USER = User(code="d-town-login", name="张三", role="deputy", unit_code="610902001001", deputy_code="d-town")
TOWN_STAFF = User(code="t1-staff", name="吴九", role="town_staff", unit_code="610902001")
LIAISON = User(code="v11-liaison", name="郑十", role="station_liaison", unit_code="610902001001")
WATER_USER = User(code="water-clerk", name="钱一", role="handler", handler_code="water-bureau")

# In the order a put publishes them: units by tier, then stations, handlers, deputies, grids, grid
# roles, leaders, receptions, users; by code within a kind.
FIXTURE: tuple[Entity, ...] = (
    CITY,
    DISTRICT,
    TOWN1,
    TOWN2,
    VILLAGE11,
    VILLAGE12,
    VILLAGE21,
    HOME,
    WORKROOM,
    CENTER1,
    STATION11,
    STATION21,
    TOWN_OFFICE,
    WATER,
    D_CITY,
    D_DIST,
    D_PROV,
    D_TOWN,
    GRID,
    LEADER_ROLE,
    MEMBER_ROLE,
    LEADER,
    RECEPTION,
    ADMIN,
    DEPUTY_USER,
    TOWN_STAFF,
    LIAISON,
    WATER_USER,
)


def registry(*extra: Entity) -> RegistryView:
    return RegistryView((*FIXTURE, *extra))


def rows(*entities: Entity, first_line: int = 2) -> tuple[Row, ...]:
    """Rows as an import brings them: line 1 is the header."""
    return tuple(Row(entity=e, line=first_line + i) for i, e in enumerate(entities))


def put(*entities: Entity, view: RegistryView | None = None) -> Decision:
    return decide_put(registry() if view is None else view, rows(*entities))


def assert_accepted(decision: Decision) -> None:
    assert decision.problems == (), decision.problems
    assert not decision.refused


def assert_refused(decision: Decision, field: str, words: str = "") -> None:
    assert decision.refused
    assert decision.put == () and decision.removed == () and decision.unchanged == 0
    reasons = [p.reason for p in decision.problems if p.field == field]
    assert any(words in r for r in reasons), decision.problems


def fields(decision: Decision) -> list[str]:
    return [p.field for p in decision.problems]


def ref(entity: Entity) -> EntityRef:
    return EntityRef(entity=entity_name(entity), code=entity.code)


def remove(*entities: Entity, view: RegistryView | None = None, in_use: dict[str, int] | None = None) -> Decision:
    return decide_remove(registry() if view is None else view, [ref(e) for e in entities], in_use or {})


# -- the whole district, its order, and putting it again -----------------------------------------------------


def test_fixture_district_is_accepted_from_an_empty_registry_in_publishing_order() -> None:
    decision = decide_put(RegistryView(), rows(*reversed(FIXTURE)))
    assert_accepted(decision)
    assert decision.put == FIXTURE
    assert decision.unchanged == 0


@settings(max_examples=50, deadline=None)
@given(st.permutations(FIXTURE))
def test_any_row_order_gives_the_same_decision(order: list[Entity]) -> None:
    decision = decide_put(RegistryView(), rows(*order))
    assert_accepted(decision)
    assert decision.put == FIXTURE


def test_putting_the_same_rows_again_changes_nothing() -> None:
    first = decide_put(RegistryView(), rows(*FIXTURE))
    view = RegistryView()
    for entity in first.put:
        view.apply(EntityPut(entity=entity, command_id=uuid.uuid4()))
    second = decide_put(view, rows(*FIXTURE))
    assert_accepted(second)
    assert second.put == ()
    assert second.unchanged == len(FIXTURE)


def test_only_rows_that_differ_are_put() -> None:
    renamed = replace(TOWN2, name="新城街道办")
    decision = put(CITY, renamed, D_TOWN)
    assert_accepted(decision)
    assert decision.put == (renamed,)
    assert decision.unchanged == 2


def test_put_orders_parents_before_children_and_kinds_by_dependency() -> None:
    town = AdminUnit(code="610902003", name="江北街道", tier="town", parent_code="610902")
    village = AdminUnit(code="610902003001", name="江北村", tier="village", parent_code="610902003")
    station = Station(code="610902003001", name="江北联络站", kind="village_station", unit_code="610902003001")
    deputy = Deputy(code="d-new", name="孙二", congress_level="town", station_code="610902003001")
    user = User(code="u-new", name="孙二", role="deputy", unit_code="610902003001", deputy_code="d-new")
    decision = put(user, deputy, station, village, town)
    assert_accepted(decision)
    assert decision.put == (town, village, station, deputy, user)


# -- all or nothing, every problem ---------------------------------------------------------------------------


def test_one_bad_row_refuses_the_whole_command() -> None:
    good = AdminUnit(code="610902001003", name="北关社区", tier="village", parent_code="610902001")
    bad = replace(D_CITY, code="d-new", congress_level="national")
    decision = put(good, bad)
    assert_refused(decision, "congress_level")
    assert [(p.line, p.entity, p.code) for p in decision.problems] == [(3, "deputy", "d-new")]


def test_every_problem_is_reported_with_its_line() -> None:
    bad_deputy = replace(D_CITY, code="d-new", station_code="nowhere")
    bad_grid = Grid(code="g-2", name="二网格", village_code="610902001")
    bad_both = replace(WATER, code="health", kind="bureau", categories=())
    decision = put(bad_deputy, CITY, bad_grid, bad_both)
    assert [(p.line, p.field) for p in decision.problems] == [
        (2, "station_code"),
        (4, "village_code"),
        (5, "kind"),
        (5, "categories"),
    ]
    assert decision.put == ()


# -- value sets ----------------------------------------------------------------------------------------------

NEW_RECEPTION = replace(RECEPTION, code="rec-2")


@pytest.mark.parametrize(
    ("entity", "field", "words"),
    [
        (AdminUnit(code="610902003", name="x", tier="county", parent_code="610902"), "tier", "city, district"),
        (Station(code="610902002", name="x", kind="hall", unit_code="610902002"), "kind", "deputies_home"),
        (replace(D_CITY, code="d-new", congress_level="national"), "congress_level", "province"),
        (replace(D_CITY, code="d-new", gender="other"), "gender", "'male', 'female'"),
        (replace(MEMBER_ROLE, code="gr-3", role="captain"), "role", "grid_leader, grid_member"),
        (replace(WATER, code="health", kind="bureau"), "kind", "district_department"),
        (replace(WATER, code="health", categories=("water_supply", "potholes")), "categories", "potholes"),
        (replace(WATER, code="health", categories=()), "categories", "at least one category"),
        (replace(ADMIN, code="u-new", role="king"), "role", "station_liaison"),
        (replace(NEW_RECEPTION, days_of_month=(0, 15)), "days_of_month", "1..31"),
        (replace(NEW_RECEPTION, days_of_month=(32,)), "days_of_month", "1..31"),
        (replace(NEW_RECEPTION, days_of_month=(), weekdays=(0,)), "weekdays", "1 (Monday) .. 7"),
        (replace(NEW_RECEPTION, days_of_month=(), weekdays=(8,)), "weekdays", "1 (Monday) .. 7"),
        (replace(NEW_RECEPTION, days_of_month=(), weekdays=()), "days_of_month", "at least one day"),
        (replace(NEW_RECEPTION, deputy_codes=()), "deputy_codes", "at least one deputy"),
    ],
)
def test_values_outside_their_set_are_refused(entity: Entity, field: str, words: str) -> None:
    assert_refused(put(entity), field, words)


@pytest.mark.parametrize(
    "entity",
    [
        replace(D_CITY, code="d-new", gender=None),
        replace(D_CITY, code="d-new", gender="male"),
        replace(NEW_RECEPTION, days_of_month=(1, 31)),
        replace(NEW_RECEPTION, days_of_month=(), weekdays=(1, 7)),
        replace(WATER, code="health", categories=("serious_illness_aid", "medical_insurance")),
    ],
)
def test_values_inside_their_set_are_accepted(entity: Entity) -> None:
    assert_accepted(put(entity))


# -- codes ---------------------------------------------------------------------------------------------------


def town(code: str, parent: str | None = "610902", tier: str = "town") -> AdminUnit:
    return AdminUnit(code=code, name="新单元", tier=tier, parent_code=parent)


@pytest.mark.parametrize(
    ("unit", "words"),
    [
        (town("61090200A"), "9 digits"),
        (town("61090200"), "9 digits"),
        (town("６１０９０２００３"), "9 digits"),  # full-width digits are not division codes
        (town("610902003001"), "9 digits"),
        (town("610903001"), "starts with its parent's code '610902'"),
    ],
)
def test_unit_codes_follow_the_division_code_of_their_tier(unit: AdminUnit, words: str) -> None:
    assert_refused(put(unit), "code", words)


def test_a_district_code_nests_under_its_city() -> None:
    assert_accepted(put(town("610903", parent="6109", tier="district")))
    assert_refused(put(town("611003", parent="6109", tier="district")), "code", "starts with its parent's code '6109'")


def test_a_new_city_has_four_digits_and_no_parent() -> None:
    assert_accepted(put(AdminUnit(code="6110", name="商洛市", tier="city")))
    assert_refused(put(AdminUnit(code="61100", name="商洛市", tier="city")), "code", "4 digits")


@pytest.mark.parametrize(
    ("station", "field", "words"),
    [
        (Station(code="610902002-1", name="x", kind="town_center", unit_code="610902002"), "code", "'610902002'"),
        (replace(WORKROOM, code="610902-W1"), "code", "'-W' and two digits"),
        (replace(WORKROOM, code="610902-X01"), "code", "'-W' and two digits"),
        (replace(WORKROOM, code="610902-W012"), "code", "'-W' and two digits"),
        (replace(WORKROOM, code="610902001-W01"), "code", "e.g. 610902-W01"),
    ],
)
def test_station_codes_follow_their_unit(station: Station, field: str, words: str) -> None:
    assert_refused(put(station), field, words)


@pytest.mark.parametrize(
    "station",
    [
        replace(WORKROOM, code="610902-W02"),
        Station(code="610902001-W01", name="项目工作室", kind="workroom", unit_code="610902001", site="安置点"),
        Station(code="610902002", name="新城中心联络站", kind="town_center", unit_code="610902002"),
    ],
)
def test_station_codes_that_follow_their_unit_are_accepted(station: Station) -> None:
    assert_accepted(put(station))


@pytest.mark.parametrize("code", ["Water", "-water", "_water", "water.bureau", "水利局", "a" * 64, ""])
def test_a_handler_code_must_be_a_topic_name(code: str) -> None:
    assert_refused(put(replace(WATER, code=code)), "code", "names its topic")


@pytest.mark.parametrize("code", ["a" * 63, "0-health_bureau"])
def test_handler_codes_that_name_a_topic_are_accepted(code: str) -> None:
    assert_accepted(put(replace(WATER, code=code)))


PLAIN_CODED = [D_CITY, GRID, MEMBER_ROLE, LEADER, RECEPTION, ADMIN]


@pytest.mark.parametrize("entity", PLAIN_CODED, ids=entity_name)
@pytest.mark.parametrize("code", [" x", "-x", "x y", "张三", "a" * 65])
def test_other_codes_are_plain_identifiers(entity: Entity, code: str) -> None:
    assert_refused(put(replace(entity, code=code)), "code", "letters, digits")


@pytest.mark.parametrize("entity", PLAIN_CODED, ids=entity_name)
def test_plain_identifiers_are_accepted(entity: Entity) -> None:
    assert_accepted(put(replace(entity, code="X.1_y-" + "z" * 58)))


# -- the same entity twice -----------------------------------------------------------------------------------


def test_the_same_entity_twice_is_refused_on_the_later_line() -> None:
    new_town = town("610902003")
    decision = put(new_town, D_CITY, replace(new_town, name="另一个"))
    assert [(p.line, p.field, p.entity, p.code, p.reason) for p in decision.problems] == [
        (4, "code", "admin_unit", "610902003", "appears twice in this import, first on line 2")
    ]


def test_the_same_entity_twice_without_lines_is_refused() -> None:
    decision = decide_put(registry(), [Row(entity=D_CITY), Row(entity=D_CITY)])
    assert [p.reason for p in decision.problems] == ["appears twice in this command"]


def test_a_unit_and_a_station_may_share_a_code() -> None:
    assert_accepted(put(DISTRICT, HOME))


# -- parents -------------------------------------------------------------------------------------------------


def test_a_unit_and_its_parent_may_come_in_one_command_in_any_order() -> None:
    village = AdminUnit(code="610902003001", name="江北村", tier="village", parent_code="610902003")
    decision = put(village, town("610902003"))
    assert_accepted(decision)
    assert [u.code for u in decision.put] == ["610902003", "610902003001"]


@pytest.mark.parametrize(
    ("unit", "words"),
    [
        (town("610902003001", parent="610902003", tier="village"), "'610902003' is not in the registry"),
        (town("610902003001", parent="610902", tier="village"), "the parent of a village is a town"),
        (town("610902003", parent=None), "needs parent_code: the code of its district"),
        (AdminUnit(code="6110", name="商洛市", tier="city", parent_code="6109"), "a city has no parent"),
    ],
)
def test_a_unit_sits_exactly_one_tier_under_an_existing_parent(unit: AdminUnit, words: str) -> None:
    assert_refused(put(unit), "parent_code", words)


def test_a_cycle_of_parents_is_refused() -> None:
    # A registry cannot get here through these rules; the guard is for one that did.
    view = registry(town("610902003001", parent="610902003", tier="village"))
    decision = put(town("610902003", parent="610902003001"), view=view)
    assert_refused(decision, "parent_code", "makes a cycle")


def test_a_tier_cannot_change_while_the_unit_has_children_or_stations() -> None:
    decision = put(replace(TOWN1, tier="district"))
    assert_refused(decision, "tier", "child units 610902001001, 610902001002 and stations 610902001")
    assert_refused(put(replace(TOWN2, tier="district")), "tier", "while it has child units 610902002001")


def test_a_tier_change_of_a_bare_unit_is_refused_by_its_code_alone() -> None:
    decision = put(replace(VILLAGE12, tier="town"))
    assert "tier" not in fields(decision)
    assert_refused(decision, "code", "9 digits")


# -- stations ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("station", "field", "words"),
    [
        (replace(HOME, code="610902002", unit_code="610902002"), "unit_code", "belongs to a district"),
        (replace(HOME, code="610902-H"), "kind", "'610902' already has the deputies' home: '610902'"),
        (replace(CENTER1, code="610902001002", unit_code="610902001002"), "unit_code", "belongs to a town"),
        (replace(CENTER1, code="610902001-C"), "kind", "already has a town center station"),
        (replace(STATION11, code="610902002", unit_code="610902002"), "unit_code", "belongs to a village"),
        (replace(STATION11, code="610902001001-2"), "kind", "already has a village station"),
        (replace(WORKROOM, code="610902001001-W01", unit_code="610902001001"), "unit_code", "a district or a town"),
        (replace(WORKROOM, code="610902-W02", site=None), "site", "needs its site"),
        (replace(WORKROOM, code="610902-W02", site=""), "site", "needs its site"),
        (replace(STATION11, code="610902001003", unit_code="610902001003"), "unit_code", "not in the registry"),
    ],
)
def test_stations_sit_where_their_kind_belongs(station: Station, field: str, words: str) -> None:
    assert_refused(put(station), field, words)


def test_a_village_without_a_station_may_get_one() -> None:
    assert_accepted(put(replace(STATION11, code="610902001002", unit_code="610902001002")))


def test_two_homes_for_one_district_in_one_command_are_reported_once_on_the_later_row() -> None:
    district = AdminUnit(code="610903", name="新区", tier="district", parent_code="6109")
    home = replace(HOME, code="610903", unit_code="610903")
    decision = put(district, home, replace(home, code="610903-2"))
    kind_problems = [(p.line, p.code) for p in decision.problems if p.field == "kind"]
    assert kind_problems == [(4, "610903-2")]


# -- deputies ------------------------------------------------------------------------------------------------

GROUPING = [
    ("province", "610902", True),
    ("province", "610902001", False),
    ("province", "610902001001", False),
    ("province", "610902-W01", False),
    ("city", "610902", True),
    ("city", "610902001", True),
    ("city", "610902001001", False),
    ("city", "610902-W01", False),
    ("district", "610902", True),
    ("district", "610902001", True),
    ("district", "610902-W01", True),
    ("district", "610902001001", False),
    ("town", "610902001001", True),
    ("town", "610902-W01", True),
    ("town", "610902001", False),
    ("town", "610902", False),
]


@pytest.mark.parametrize(("level", "station_code", "allowed"), GROUPING)
def test_deputies_are_grouped_by_their_congress_level(level: str, station_code: str, allowed: bool) -> None:
    decision = put(Deputy(code="d-new", name="新代表", congress_level=level, station_code=station_code))
    if allowed:
        assert_accepted(decision)
    else:
        assert_refused(decision, "station_code", f"a {level} deputy is grouped at")


def test_the_grouping_refusal_names_the_rule() -> None:
    decision = put(replace(D_TOWN, code="d-new", station_code="610902001"))
    assert [p.reason for p in decision.problems] == [
        "a town deputy is grouped at a village station or a workroom, not at a town center station"
    ]


def test_a_deputy_needs_an_existing_station() -> None:
    assert_refused(put(replace(D_TOWN, station_code="610902001002")), "station_code", "not in the registry")


# -- grids and grid roles ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("village_code", "words"), [("610902001003", "not in the registry"), ("610902001", "'610902001' is a town")]
)
def test_a_grid_lies_in_an_existing_village(village_code: str, words: str) -> None:
    assert_refused(put(replace(GRID, code="g-2", village_code=village_code)), "village_code", words)


def test_a_grid_role_needs_an_existing_grid() -> None:
    assert_refused(put(replace(MEMBER_ROLE, code="gr-3", grid_code="g-9")), "grid_code", "not in the registry")


def test_a_grid_has_one_leader_and_many_members() -> None:
    assert_refused(put(replace(LEADER_ROLE, code="gr-3", deputy_code=None)), "role", "already has a grid leader")
    assert_accepted(put(replace(MEMBER_ROLE, code="gr-3")))


def test_a_grid_leader_may_be_handed_over_in_one_command() -> None:
    new_leader = replace(MEMBER_ROLE, role="grid_leader")
    assert_accepted(put(replace(LEADER_ROLE, role="grid_member"), new_leader))


def test_a_grid_role_names_an_existing_deputy_who_holds_no_other() -> None:
    assert_refused(put(replace(MEMBER_ROLE, deputy_code="d-none")), "deputy_code", "not in the registry")
    assert_refused(put(replace(MEMBER_ROLE, deputy_code="d-town")), "deputy_code", "already holds grid role 'gr-1'")
    assert_accepted(put(replace(MEMBER_ROLE, deputy_code="d-city")))


# -- handlers and leaders ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "unit_code", "words"),
    [
        ("district_department", "610902001", "expected a district; '610902001' is a town"),
        ("town_office", "610902", "expected a town; '610902' is a district"),
        ("city_department", "610902", "expected a city"),
        ("town_office", "610902003", "not in the registry"),
    ],
)
def test_a_handler_belongs_to_a_unit_of_its_kind_tier(kind: str, unit_code: str, words: str) -> None:
    assert_refused(put(replace(WATER, code="health", kind=kind, unit_code=unit_code)), "unit_code", words)


def test_a_city_department_belongs_to_the_city() -> None:
    assert_accepted(put(replace(WATER, code="city-water", kind="city_department", unit_code="6109")))


@pytest.mark.parametrize(("unit_code", "allowed"), [("610902001", True), ("610902001001", True), ("610902", False)])
def test_a_leader_answers_for_a_town_or_a_village(unit_code: str, allowed: bool) -> None:
    decision = put(replace(LEADER, code="lead-2", unit_code=unit_code))
    if allowed:
        assert_accepted(decision)
    else:
        assert_refused(decision, "unit_code", "expected a town or a village")


def test_a_leader_needs_an_existing_unit() -> None:
    assert_refused(put(replace(LEADER, unit_code="6109020099")), "unit_code", "not in the registry")


# -- receptions ----------------------------------------------------------------------------------------------


def test_a_reception_is_at_an_existing_station_with_deputies_grouped_there() -> None:
    assert_refused(put(replace(RECEPTION, station_code="610902001002")), "station_code", "not in the registry")
    assert_refused(put(replace(RECEPTION, deputy_codes=("d-none",))), "deputy_codes", "not in the registry")
    decision = put(replace(RECEPTION, deputy_codes=("d-town", "d-city")))
    assert_refused(decision, "deputy_codes", "deputy 'd-city' is grouped at '610902001'")


# -- users ---------------------------------------------------------------------------------------------------

USER_CASES = [
    (replace(ADMIN, unit_code="6109"), None, ""),
    (replace(ADMIN, unit_code="610902001"), "unit_code", "expected a district or a city"),
    (replace(ADMIN, role="oversight"), None, ""),
    (replace(ADMIN, role="district_staff", unit_code="610902001001"), "unit_code", "expected a district or a city"),
    (replace(TOWN_STAFF, unit_code="610902002"), None, ""),
    (replace(TOWN_STAFF, unit_code="610902"), "unit_code", "expected a town"),
    (replace(LIAISON, role="station_head"), None, ""),
    (replace(LIAISON, unit_code="610902001"), None, ""),
    (replace(LIAISON, unit_code="610902"), None, ""),
    (replace(LIAISON, unit_code="610902001002"), "unit_code", "'610902001002' has none"),
    (replace(LIAISON, unit_code="610902002"), "unit_code", "'610902002' has none"),
    (replace(LIAISON, unit_code="6109"), "unit_code", "expected a village or a town or a district"),
    (replace(ADMIN, role="leader", unit_code="610902001001"), None, ""),
    (replace(ADMIN, role="leader"), "unit_code", "expected a town or a village"),
    (replace(WATER_USER, unit_code="610902"), "unit_code", "expected no unit_code"),
    (replace(WATER_USER, handler_code=None), "handler_code", "none given"),
    (replace(WATER_USER, handler_code="roads"), "handler_code", "'roads' is not in the registry"),
    (replace(WATER_USER, handler_code="t1-office"), None, ""),
    (replace(DEPUTY_USER, deputy_code=None), "deputy_code", "none given"),
    (replace(DEPUTY_USER, deputy_code="d-none"), "deputy_code", "not in the registry"),
    (replace(DEPUTY_USER, unit_code="610902001"), "unit_code", "its station's unit, '610902001001'"),
    (replace(DEPUTY_USER, unit_code="610902", deputy_code="d-dist"), None, ""),
    (replace(ADMIN, unit_code="610999"), "unit_code", "'610999' is not in the registry"),
    (replace(ADMIN, unit_code=None), "unit_code", "none given"),
    (replace(ADMIN, handler_code="water-bureau"), "handler_code", "only a handler account"),
    (replace(ADMIN, deputy_code="d-town"), "deputy_code", "only a deputy account"),
]


@pytest.mark.parametrize(("user", "field", "words"), USER_CASES)
def test_a_user_is_scoped_to_a_unit_or_handler_fitting_its_role(user: User, field: str | None, words: str) -> None:
    decision = put(replace(user, code="u-new"))
    if field is None:
        assert_accepted(decision)
    else:
        assert_refused(decision, field, words)


# -- changes that would strand what points at them -----------------------------------------------------------


def test_moving_a_deputy_is_refused_where_its_reception_and_account_would_break() -> None:
    decision = put(replace(D_TOWN, station_code="610902002001"))
    assert [(p.line, p.entity, p.code, p.field) for p in decision.problems] == [
        (None, "reception", "rec-1", "deputy_codes"),
        (None, "user", "d-town-login", "unit_code"),
    ]


def test_changing_a_station_rechecks_its_deputies() -> None:
    decision = put(replace(CENTER1, kind="village_station"))
    assert [(p.line, p.entity, p.code, p.field) for p in decision.problems] == [
        (2, "station", "610902001", "unit_code"),
        (None, "deputy", "d-city", "station_code"),
    ]


def test_changing_a_unit_rechecks_what_sits_under_it() -> None:
    decision = put(replace(TOWN2, tier="village"))  # wrong on its own, and for its village
    assert (None, "admin_unit", "610902002001") in [(p.line, p.entity, p.code) for p in decision.problems]


def test_renaming_a_unit_strands_nothing() -> None:
    decision = put(replace(TOWN1, name="老城街道办事处"), replace(CITY, name="安康"))
    assert_accepted(decision)
    assert [e.code for e in decision.put] == ["6109", "610902001"]


def test_a_change_that_fixes_its_referrers_in_the_same_command_is_accepted() -> None:
    moved = replace(D_TOWN, station_code="610902002001")
    reception = replace(RECEPTION, station_code="610902002001")
    decision = put(moved, reception, replace(DEPUTY_USER, unit_code="610902002001"))
    assert_accepted(decision)
    assert len(decision.put) == 3


# -- removal -------------------------------------------------------------------------------------------------


def test_removing_an_unknown_kind_is_refused() -> None:
    decision = decide_remove(registry(), [EntityRef(entity="committee", code="c-1")], {})
    assert [(p.field, p.entity, p.code) for p in decision.problems] == [("entity", "committee", "c-1")]
    assert "expected one of admin_unit, station" in decision.problems[0].reason


def test_removing_what_does_not_exist_changes_nothing() -> None:
    decision = decide_remove(registry(), [EntityRef(entity="user", code="nobody")], {})
    assert_accepted(decision)
    assert decision.removed == () and decision.unchanged == 1


def test_removing_a_leaf_is_accepted() -> None:
    decision = remove(ADMIN)
    assert_accepted(decision)
    assert decision.removed == (ref(ADMIN),) and decision.unchanged == 0


def test_the_same_ref_twice_is_removed_once() -> None:
    decision = remove(ADMIN, ADMIN)
    assert decision.removed == (ref(ADMIN),) and decision.unchanged == 1


def test_a_unit_with_anything_under_it_is_not_removed() -> None:
    decision = remove(TOWN1)
    assert [p.reason for p in decision.problems] == [
        "still has child units: 610902001001, 610902001002; remove those first or in the same command",
        "still has stations: 610902001; remove those first or in the same command",
        "still has handlers: t1-office; remove those first or in the same command",
        "still has leaders: lead-1; remove those first or in the same command",
        "still has users: t1-staff; remove those first or in the same command",
    ]
    assert decision.removed == ()
    assert_refused(remove(VILLAGE11), "code", "still has grids: g-1")


def test_a_unit_removed_with_everything_under_it_is_accepted_children_first() -> None:
    decision = remove(TOWN2, VILLAGE21, STATION21)
    assert_accepted(decision)
    assert decision.removed == (ref(STATION21), ref(VILLAGE21), ref(TOWN2))


def test_a_station_with_deputies_receptions_or_station_accounts_is_not_removed() -> None:
    decision = remove(STATION11)
    assert [p.reason.split(":")[0] for p in decision.problems] == [
        "still has grouped deputies",
        "still has receptions",
        "station accounts v11-liaison need a station at '610902001001'; remove them too",
    ]
    cleared = remove(STATION11, D_TOWN, RECEPTION, LEADER_ROLE, DEPUTY_USER)
    assert [p.reason for p in cleared.problems] == [
        "station accounts v11-liaison need a station at '610902001001'; remove them too"
    ]
    assert_accepted(remove(STATION11, D_TOWN, RECEPTION, LEADER_ROLE, DEPUTY_USER, LIAISON))


def test_a_station_account_keeps_its_unit_while_another_station_remains() -> None:
    head = User(code="home-head", name="主任", role="station_head", unit_code="610902")
    view = registry(head)
    assert_accepted(remove(WORKROOM, D_DIST, view=view))
    assert_refused(remove(WORKROOM, D_DIST, HOME, D_PROV, view=view), "code", "station accounts home-head")


def test_a_deputy_with_a_grid_role_reception_or_account_is_not_removed() -> None:
    decision = remove(D_TOWN)
    assert [p.reason.split(":")[0] for p in decision.problems] == [
        "still has a grid role",
        "still has receptions",
        "still has a user account",
    ]


def test_a_grid_with_roles_and_a_handler_with_users_are_not_removed() -> None:
    decision = remove(GRID, WATER)
    assert [(p.entity, p.reason.split(";")[0]) for p in decision.problems] == [
        ("grid", "still has grid roles: gr-1, gr-2"),
        ("handler", "still has users: water-clerk"),
    ]
    assert_accepted(remove(GRID, LEADER_ROLE, MEMBER_ROLE, WATER, WATER_USER))


@pytest.mark.parametrize(
    ("count", "reason"), [(1, "1 open issue still points at it"), (3, "3 open issues still point at it")]
)
def test_anything_open_issues_point_at_is_not_removed(count: int, reason: str) -> None:
    decision = remove(LEADER, in_use={"leader:lead-1": count})
    assert [(p.entity, p.code, p.reason) for p in decision.problems] == [("leader", "lead-1", reason)]
    assert_accepted(remove(LEADER, in_use={"leader:lead-1": 0, "station:610902": 4}))


def test_removing_the_whole_district_publishes_children_before_parents() -> None:
    decision = remove(*FIXTURE)
    assert_accepted(decision)
    assert decision.removed == tuple(ref(e) for e in reversed(FIXTURE))
