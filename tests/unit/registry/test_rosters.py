"""Roster files: entities survive a trip through CSV and Excel, and bad rosters are explained line by line."""

from __future__ import annotations

import csv
import io
import string
from collections.abc import Iterable
from pathlib import Path

import msgspec
import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.registry.rosters import (
    ROSTER_KINDS,
    ROSTERS,
    Choice,
    Parsed,
    Several,
    export_csv,
    export_xlsx,
    parse_csv,
    parse_xlsx,
)
from contracts import vocabulary
from contracts.registry import (
    ENTITY_NAMES,
    AdminUnit,
    Deputy,
    Entity,
    Grid,
    GridRole,
    Handler,
    LeaderAssignment,
    ReceptionSchedule,
    Station,
    User,
    entity_name,
)

SAMPLE: list[Entity] = [
    AdminUnit(code="6109", name="安康市", tier="city"),
    AdminUnit(code="610902", name="汉滨区", tier="district", parent_code="6109"),
    AdminUnit(code="610902001", name="老城街道", tier="town", parent_code="610902"),
    AdminUnit(code="610902001001", name="新城村", tier="village", parent_code="610902001"),
    Station(code="610902", name="汉滨区人大代表之家", kind="deputies_home", unit_code="610902"),
    Station(
        code="610902-W01",
        name='工作室 "商会", 一',  # quotes and a comma: CSV must quote it
        kind="workroom",
        unit_code="610902",
        site="汉滨区工商联",
        address="巴山东路1号\n二楼",  # a line break inside a cell
        phone="0915-3212345",
    ),
    Deputy(code="D0001", name="李四", congress_level="province", station_code="610902"),
    Deputy(
        code="D0002",
        name="王芳",
        congress_level="town",
        station_code="610902001001",
        phone="13800138000",
        gender="female",
        occupation="会计",
    ),
    Grid(code="G01", name="第一网格", village_code="610902001001"),
    GridRole(code="GR1", grid_code="G01", role="grid_leader", name="王芳", phone="13800138000", deputy_code="D0002"),
    GridRole(code="GR2", grid_code="G01", role="grid_member", name="赵六"),
    Handler(code="H-WATER", name="区水利局", kind="district_department", unit_code="610902"),
    Handler(
        code="H-TOWN",
        name="老城街道社会事务办",
        kind="town_office",
        unit_code="610902001",
        categories=("water_supply", "hardship", "other"),
        phone="09153200000",
        superior="张副主任",
    ),
    LeaderAssignment(code="L1", name="陈明", unit_code="610902001"),
    LeaderAssignment(code="L2", name="周强", title="区委常委", unit_code="610902001001", phone="13900000000"),
    ReceptionSchedule(code="R1", station_code="610902", deputy_codes=()),
    ReceptionSchedule(
        code="R2",
        station_code="610902001",
        deputy_codes=("D0001", "D0002"),
        days_of_month=(5, 15),
        weekdays=(1, 3),
        note="=SUM(A1:A2)",  # looks like a formula: must stay text
    ),
    User(code="admin", name="管理员", role="admin"),
    User(
        code="0915001",  # a leading zero that a number would lose
        name="王芳",
        role="deputy",
        unit_code="610902001001",
        handler_code="H-TOWN",
        deputy_code="D0002",
        phone="13800138000",
        active=False,
    ),
]


def of_kind(entities: Iterable[Entity], kind: str) -> list[Entity]:
    return sorted((e for e in entities if entity_name(e) == kind), key=lambda e: e.code)


def entities(parsed: Parsed) -> list[Entity]:
    return [row.entity for row in parsed.rows]


def csv_bytes(text: str, encoding: str = "utf-8") -> bytes:
    return text.replace("\n", "\r\n").encode(encoding)


def workbook(sheets: dict[str, list[list[object]]]) -> bytes:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --- the tables -------------------------------------------------------------------------------------


def test_every_entity_kind_has_a_roster() -> None:
    assert ROSTER_KINDS == ENTITY_NAMES


@pytest.mark.parametrize("kind", ROSTER_KINDS)
def test_each_roster_has_one_column_per_entity_field(kind: str) -> None:
    roster = ROSTERS[kind]
    fields = [f.name for f in msgspec.structs.fields(roster.type)]
    assert sorted(c.field for c in roster.columns) == sorted(fields)
    assert len({c.header for c in roster.columns}) == len(roster.columns)


@pytest.mark.parametrize(
    ("kind", "field", "values"),
    [
        ("admin_unit", "tier", vocabulary.TIERS),
        ("station", "kind", vocabulary.STATION_KINDS),
        ("deputy", "congress_level", vocabulary.CONGRESS_LEVELS),
        ("grid_role", "role", vocabulary.GRID_ROLES),
        ("handler", "kind", vocabulary.HANDLER_KINDS),
        ("handler", "categories", vocabulary.CATEGORIES),
        ("user", "role", vocabulary.USER_ROLES),
    ],
)
def test_every_vocabulary_value_has_a_chinese_label(kind: str, field: str, values: tuple[str, ...]) -> None:
    codec = next(c.codec for c in ROSTERS[kind].columns if c.field == field)
    choice = codec.item if isinstance(codec, Several) else codec
    assert isinstance(choice, Choice)
    assert tuple(choice.labels) == values
    assert all(not label.isascii() for label in choice.labels.values())


# --- round trips ------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ROSTER_KINDS)
def test_csv_round_trip_gives_back_the_same_entities(kind: str) -> None:
    parsed = parse_csv(export_csv(SAMPLE, kind), kind)
    assert parsed.problems == ()
    assert entities(parsed) == of_kind(SAMPLE, kind)


def test_xlsx_round_trip_gives_back_the_same_entities() -> None:
    parsed = parse_xlsx(export_xlsx(SAMPLE))
    assert parsed.problems == ()
    assert entities(parsed) == [e for kind in ROSTER_KINDS for e in of_kind(SAMPLE, kind)]


def test_export_sorts_by_code_and_parse_keeps_file_lines() -> None:
    parsed = parse_csv(export_csv(reversed(SAMPLE), "admin_unit"), "admin_unit")
    assert [(row.entity.code, row.line) for row in parsed.rows] == [
        ("6109", 2),
        ("610902", 3),
        ("610902001", 4),
        ("610902001001", 5),
    ]


def test_a_cell_spanning_lines_counts_its_lines() -> None:
    parsed = parse_csv(export_csv(SAMPLE, "station"), "station")
    assert [row.line for row in parsed.rows] == [2, 3]  # the workroom's address takes lines 3 and 4
    data = export_csv([*SAMPLE, Station(code="X", name="n", kind="workroom", unit_code="u")], "station")
    assert [row.line for row in parse_csv(data, "station").rows] == [2, 3, 5]


def test_kinds_limit_what_xlsx_exports_and_reads() -> None:
    data = export_xlsx(SAMPLE, ["deputy", "grid"])
    assert openpyxl.load_workbook(io.BytesIO(data)).sheetnames == ["代表", "网格"]
    assert entities(parse_xlsx(data, ["grid"])) == of_kind(SAMPLE, "grid")


def test_an_empty_export_is_a_template_that_parses_to_nothing() -> None:
    assert parse_xlsx(export_xlsx([])) == Parsed(rows=(), problems=())
    assert parse_csv(export_csv([], "user"), "user") == Parsed(rows=(), problems=())


# --- round trips of generated entities --------------------------------------------------------------

CODE_CHARS = string.ascii_letters + string.digits + "-_新城村"
codes = st.from_regex(r"\A[0-9]{4,12}\Z") | st.text(CODE_CHARS, min_size=1, max_size=64)
phones = st.from_regex(r"\A\+?[0-9][0-9-]{0,19}\Z")


def texts(max_size: int) -> st.SearchStrategy[str]:
    chars = st.characters(categories=("L", "N", "P", "S", "Zs"))
    return st.text(chars, min_size=1, max_size=max_size).map(str.strip).filter(bool)


def optional(strategy: st.SearchStrategy) -> st.SearchStrategy:
    return st.none() | strategy


def several(strategy: st.SearchStrategy) -> st.SearchStrategy:
    return st.lists(strategy, max_size=3).map(tuple)


names, notes = texts(100), optional(texts(200))
any_entity = st.one_of(
    st.builds(AdminUnit, code=codes, name=names, tier=st.sampled_from(vocabulary.TIERS), parent_code=optional(codes)),
    st.builds(
        Station,
        code=codes,
        name=names,
        kind=st.sampled_from(vocabulary.STATION_KINDS),
        unit_code=codes,
        site=notes,
        address=notes,
        phone=optional(phones),
    ),
    st.builds(
        Deputy,
        code=codes,
        name=names,
        congress_level=st.sampled_from(vocabulary.CONGRESS_LEVELS),
        station_code=codes,
        phone=optional(phones),
        gender=optional(st.sampled_from(("male", "female"))),
        occupation=notes,
    ),
    st.builds(Grid, code=codes, name=names, village_code=codes),
    st.builds(
        GridRole,
        code=codes,
        grid_code=codes,
        role=st.sampled_from(vocabulary.GRID_ROLES),
        name=names,
        phone=optional(phones),
        deputy_code=optional(codes),
    ),
    st.builds(
        Handler,
        code=codes,
        name=names,
        kind=st.sampled_from(vocabulary.HANDLER_KINDS),
        unit_code=codes,
        categories=several(st.sampled_from(vocabulary.CATEGORIES)),
        phone=optional(phones),
        superior=notes,
    ),
    st.builds(LeaderAssignment, code=codes, name=names, title=notes, unit_code=codes, phone=optional(phones)),
    st.builds(
        ReceptionSchedule,
        code=codes,
        station_code=codes,
        deputy_codes=several(codes),
        days_of_month=several(st.integers(1, 31)),
        weekdays=several(st.integers(1, 7)),
        note=notes,
    ),
    st.builds(
        User,
        code=codes,
        name=names,
        role=st.sampled_from(vocabulary.USER_ROLES),
        unit_code=optional(codes),
        handler_code=optional(codes),
        deputy_code=optional(codes),
        phone=optional(phones),
        active=st.booleans(),
    ),
)
rosters = st.lists(any_entity, max_size=12, unique_by=lambda e: (entity_name(e), e.code))
SLOW = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SLOW
@given(rosters)
def test_any_entities_survive_csv(generated: list[Entity]) -> None:
    for kind in ROSTER_KINDS:
        parsed = parse_csv(export_csv(generated, kind), kind)
        assert parsed.problems == ()
        assert entities(parsed) == of_kind(generated, kind)


@settings(SLOW, max_examples=40)
@given(rosters)
def test_any_entities_survive_xlsx(generated: list[Entity]) -> None:
    parsed = parse_xlsx(export_xlsx(generated))
    assert parsed.problems == ()
    assert entities(parsed) == [e for kind in ROSTER_KINDS for e in of_kind(generated, kind)]


# --- what offices send ------------------------------------------------------------------------------


def test_english_headers_in_any_case_and_order_are_read() -> None:
    data = csv_bytes("Parent_Code,TIER,name,code\n610902,镇,老城街道,610902001\n")
    assert entities(parse_csv(data, "admin_unit")) == [
        AdminUnit(code="610902001", name="老城街道", tier="town", parent_code="610902")
    ]


def test_chinese_headers_in_another_order_and_without_optional_columns() -> None:
    data = csv_bytes("姓名,编码,编组站点编码,代表级别\n李四,D1,610902,区级\n")
    assert entities(parse_csv(data, "deputy")) == [
        Deputy(code="D1", name="李四", congress_level="district", station_code="610902")
    ]


def test_labels_aliases_and_code_names_are_all_accepted() -> None:
    data = csv_bytes(
        "编码,名称,层级,上级编码\n"
        "a,a,社区,x\nb,b,街道,x\nc,c,村（社区）,x\nd,d,Village,x\ne,e,镇(街道),x\nf,f, district ,x\n"
    )
    assert [u.tier for u in entities(parse_csv(data, "admin_unit"))] == [
        "village",
        "town",
        "village",
        "village",
        "town",
        "district",
    ]


def test_several_values_split_at_any_separator() -> None:
    data = csv_bytes(
        '编码,名称,类型,所属单元编码,受理类别\nh,水务站,镇站办所,t,"供水，就学;其他；water_supply,就业、"\n'
    )
    (handler,) = entities(parse_csv(data, "handler"))
    assert handler.categories == ("water_supply", "schooling", "other", "water_supply", "employment")


@pytest.mark.parametrize(("text", "active"), [("是", True), ("否", False), ("TRUE", True), ("0", False), ("", True)])
def test_yes_and_no_in_many_words(text: str, active: bool) -> None:
    (user,) = entities(parse_csv(csv_bytes(f"账号,姓名,角色,启用\nu,张三,督查,{text}\n"), "user"))
    assert user.active is active


def test_gb18030_csv_from_chinese_excel_is_read() -> None:
    text = "编码,姓名,代表级别,编组站点编码,性别\nD1,王芳,镇,610902001001,女\n"
    parsed = parse_csv(csv_bytes(text, "gb18030"), "deputy")
    assert parsed.problems == ()
    assert entities(parsed) == [
        Deputy(code="D1", name="王芳", congress_level="town", station_code="610902001001", gender="female")
    ]


def test_csv_without_bom_is_read() -> None:
    assert entities(parse_csv(csv_bytes("编码,名称,所属村编码\nG1,一组,610902001001\n"), "grid")) == [
        Grid(code="G1", name="一组", village_code="610902001001")
    ]


def test_numbers_excel_stored_as_numbers_come_back_as_digits() -> None:
    data = workbook(
        {
            "行政单元": [["编码", "名称", "层级", "上级编码"], [610902001001.0, "新城村", "村", 610902001]],
            "deputy": [
                ["code", "name", "congress_level", "station_code", "phone"],
                [7, "李四", "区", 610902.0, 13800138000.0],
            ],
            "接访安排": [["编码", "站点编码", "接访代表编码", "每月日期", "每周"], ["R", "S", 7, 15, 3.0]],
        }
    )
    parsed = parse_xlsx(data)
    assert parsed.problems == ()
    assert entities(parsed) == [
        AdminUnit(code="610902001001", name="新城村", tier="village", parent_code="610902001"),
        Deputy(code="7", name="李四", congress_level="district", station_code="610902", phone="13800138000"),
        ReceptionSchedule(code="R", station_code="S", deputy_codes=("7",), days_of_month=(15,), weekdays=(3,)),
    ]


def test_other_sheets_are_ignored_and_blank_rows_skipped() -> None:
    data = workbook(
        {
            "说明": [["这是说明"]],
            " 网格 ": [[], ["编码", "名称", "所属村编码"], [None, None, None], ["G1", "一组", "v"]],
        }
    )
    parsed = parse_xlsx(data)
    assert parsed.problems == ()
    assert [(row.entity, row.line) for row in parsed.rows] == [(Grid(code="G1", name="一组", village_code="v"), 4)]


# --- problems ---------------------------------------------------------------------------------------


def test_every_problem_in_every_bad_row_is_listed_with_its_line() -> None:
    data = csv_bytes(
        "编码,名称,层级,上级编码\n"
        "6109,安康市,市,\n"
        "1,乡一,乡,6109\n"  # line 3: unknown tier
        "\n"  # line 4: blank, skipped
        "," + "长" * 101 + ",区,6109\n"  # line 5: no code, name too long
        "610902,汉滨区,区,6109\n"
        "6109,又一个,城市,6.10902E+11\n"  # line 7: repeated code, unknown tier, a shortened number
    )
    parsed = parse_csv(data, "admin_unit")
    assert [row.entity.code for row in parsed.rows] == ["6109", "610902"]
    assert [(p.line, p.field, p.code) for p in parsed.problems] == [
        (3, "tier", "1"),
        (5, "code", None),
        (5, "name", None),
        (7, "tier", "6109"),
        (7, "parent_code", "6109"),
        (7, "code", "6109"),
    ]
    reasons = [p.reason for p in parsed.problems]
    assert reasons[0] == "unknown tier '乡'; expected one of 市, 区, 镇, 村"
    assert reasons[1] == "编码 (code) is empty; it is required"
    assert reasons[2] == "is longer than 100 characters"
    assert "Excel has shortened" in reasons[4]
    assert reasons[5] == "code '6109' is already on line 2"
    assert {p.entity for p in parsed.problems} == {"admin_unit"}


def test_bad_values_inside_lists_are_named() -> None:
    data = csv_bytes('编码,站点编码,接访代表编码,每月日期,每周\nR,S,D1,"15、32",8\n')
    parsed = parse_csv(data, "reception")
    assert parsed.rows == ()
    assert [(p.field, p.reason) for p in parsed.problems] == [
        ("days_of_month", "'32' is not a day of the month (1 to 31)"),
        ("weekdays", "'8' is not a weekday (1 is Monday) (1 to 7)"),
    ]


def test_unknown_and_repeated_headers_are_named() -> None:
    data = csv_bytes("编码,名称,所属村编码,电 话,name\nG1,一组,v,123,又一组\n")
    parsed = parse_csv(data, "grid")
    assert [(p.field, p.line) for p in parsed.problems] == [("header", 1), ("name", 1)]
    assert "unknown column '电 话'" in parsed.problems[0].reason
    assert "'name' appears twice" in parsed.problems[1].reason
    assert entities(parsed) == [Grid(code="G1", name="一组", village_code="v")]


def test_a_missing_required_column_is_one_problem_and_no_rows() -> None:
    parsed = parse_csv(csv_bytes("编码,名称\nG1,一组\nG2,二组\n"), "grid")
    assert parsed.rows == ()
    assert [(p.field, p.reason, p.line) for p in parsed.problems] == [
        ("village_code", "missing column 所属村编码 (village_code)", 1)
    ]


@pytest.mark.parametrize("data", [b"", "\ufeff".encode(), b"\r\n , ,\r\n"])
def test_an_empty_csv_is_a_problem(data: bytes) -> None:
    (problem,) = parse_csv(data, "deputy").problems
    assert problem.field == "file"
    assert problem.reason.startswith("the file is empty")


def test_a_file_that_is_not_text_is_a_problem() -> None:
    (problem,) = parse_csv(b"\xff\xfe\xff", "deputy").problems
    assert "neither UTF-8 nor GB18030" in problem.reason


def test_a_workbook_without_roster_sheets_is_a_problem() -> None:
    (problem,) = parse_xlsx(workbook({"Sheet1": [["编码", "名称"]]})).problems
    assert problem.field == "file"
    assert "行政单元" in problem.reason
    (problem,) = parse_xlsx(b"not a workbook").problems
    assert problem.reason.startswith("not an Excel workbook")


def test_xlsx_problems_name_their_sheet_and_sheet_row() -> None:
    data = workbook({"代表": [["编码", "姓名", "代表级别", "编组站点编码"], ["D1", "李四", "乡", "S"]], "网格": []})
    assert [(p.entity, p.line, p.field, p.reason) for p in parse_xlsx(data).problems] == [
        ("deputy", 2, "congress_level", "sheet 代表: unknown congress level '乡'; expected one of 省, 市, 区, 镇"),
        (
            "grid",
            None,
            "file",
            "sheet 网格: the sheet is empty; its first row must be the header: 编码, 名称, 所属村编码",
        ),
    ]


# --- real files -------------------------------------------------------------------------------------


def test_written_workbook_has_chinese_headers_bold_frozen_and_text_cells(tmp_path: Path) -> None:
    path = tmp_path / "rosters.xlsx"
    path.write_bytes(export_xlsx(SAMPLE))
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == [
        "行政单元",
        "站点",
        "代表",
        "网格",
        "网格人员",
        "承办单位",
        "包抓领导",
        "接访安排",
        "用户",
    ]
    units = book["行政单元"]
    assert [cell.value for cell in units[1]] == ["编码", "名称", "层级", "上级编码"]
    assert all(cell.font.bold for cell in units[1])
    assert units.freeze_panes == "A2"
    assert units["A5"].value == "610902001001"
    assert units["A5"].data_type == "s"
    assert units["C5"].value == "村"
    assert 8 <= units.column_dimensions["B"].width <= 60
    users = book["用户"]
    assert [users["A2"].value, users["H2"].value] == ["0915001", "否"]
    formula = book["接访安排"]["F3"]
    assert (formula.value, formula.data_type) == ("=SUM(A1:A2)", "s")
    assert parse_xlsx(path.read_bytes()).problems == ()


def test_written_csv_starts_with_a_bom_and_chinese_labels(tmp_path: Path) -> None:
    path = tmp_path / "handlers.csv"
    path.write_bytes(export_csv(SAMPLE, "handler"))
    assert path.read_bytes().startswith("\ufeff".encode())
    with path.open(encoding="utf-8-sig", newline="") as file:
        rows = list(csv.reader(file))
    assert rows[0] == ["编码", "名称", "类型", "所属单元编码", "受理类别", "电话", "分管领导"]
    assert rows[1] == [
        "H-TOWN",
        "老城街道社会事务办",
        "镇站办所",
        "610902001",
        "供水、生活困难、其他",
        "09153200000",
        "张副主任",
    ]
    assert parse_csv(path.read_bytes(), "handler").problems == ()


def test_unknown_kind_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="no roster"):
        export_csv(SAMPLE, "voter")
    with pytest.raises(ValueError, match="no roster"):
        parse_xlsx(b"", ["voter"])
