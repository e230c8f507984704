"""Roster files: registry entities to and from the CSV and Excel sheets offices keep their rosters in.

Each kind of entity has one table (`ROSTERS`) mapping a Chinese header to an entity field and a codec
between cell text and value. Exports write Chinese headers and labels; imports also take English field
names and code names, check every row completely and report every problem with its line.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import msgspec
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from contracts.registry import ENTITY_NAMES, ENTITY_TYPES, Entity, Problem, Row, entity_name

SEPARATOR = "、"  # joins several values in one cell
_SEPARATORS = re.compile(r"[、,，;；]")
_SHORTENED = re.compile(r"\d+(\.\d+)?[eE]\+\d+")  # how Excel shows a long number it has rounded
_TRUE, _FALSE = ("是", "true", "1", "yes", "y"), ("否", "false", "0", "no", "n")


class Parsed(msgspec.Struct, frozen=True):
    rows: tuple[Row, ...]
    problems: tuple[Problem, ...]


class Codec:
    """Free text: the cell's text as it is. Subclasses read and write other kinds of value."""

    empty: Any = None  # the value of an empty cell; None leaves the field to its default
    choices: tuple[str, ...] = ()  # offered in a drop-down in Excel

    def dump(self, value: Any) -> str:
        return str(value)

    def load(self, text: str) -> Any:
        return text


class Digits(Codec):
    """A code or a phone number: text, even when it is all digits."""

    def load(self, text: str) -> str:
        if _SHORTENED.fullmatch(text):
            raise ValueError(f"'{text}' is a number Excel has shortened; format the column as text and type it again")
        return text


class Choice(Codec):
    """One of a value set: written as its Chinese label, read from the label, an alias or the code name."""

    def __init__(self, noun: str, labels: dict[str, str], aliases: dict[str, str] | None = None) -> None:
        self.noun, self.labels, self.choices = noun, labels, tuple(labels.values())
        words = {
            **{code: code for code in labels},
            **{label: code for code, label in labels.items()},
            **(aliases or {}),
        }
        self._codes = {_fold(word): code for word, code in words.items()}

    def dump(self, value: str) -> str:
        return self.labels.get(value, value)

    def load(self, text: str) -> str:
        if (code := self._codes.get(_fold(text))) is None:
            raise ValueError(f"unknown {self.noun} '{text}'; expected one of {', '.join(self.choices)}")
        return code


class Number(Codec):
    """A whole number in a range."""

    def __init__(self, noun: str, low: int, high: int) -> None:
        self.noun, self.low, self.high = noun, low, high

    def load(self, text: str) -> int:
        match = re.fullmatch(r"(\d+)(\.0*)?", text)
        if match is None or not self.low <= int(match[1]) <= self.high:
            raise ValueError(f"'{text}' is not a {self.noun} ({self.low} to {self.high})")
        return int(match[1])


class YesNo(Codec):
    choices = ("是", "否")

    def dump(self, value: bool) -> str:
        return "是" if value else "否"

    def load(self, text: str) -> bool:
        if _fold(text) in _TRUE + _FALSE:
            return _fold(text) in _TRUE
        raise ValueError(f"'{text}' is not yes or no; expected 是 or 否")


class Several(Codec):
    """Several values in one cell, joined with 、 (read apart at 、 , ， ; ；)."""

    empty = ()

    def __init__(self, item: Codec) -> None:
        self.item = item

    def dump(self, values: tuple[Any, ...]) -> str:
        return SEPARATOR.join(self.item.dump(value) for value in values)

    def load(self, text: str) -> tuple[Any, ...]:
        values, reasons = [], []
        for part in filter(None, (part.strip() for part in _SEPARATORS.split(text))):
            try:
                values.append(self.item.load(part))
            except ValueError as error:
                reasons.append(str(error))
        if reasons:
            raise ValueError("; ".join(reasons))
        return tuple(values)


def _fold(word: str) -> str:
    return word.strip().lower().replace("（", "(").replace("）", ")")


TEXT, DIGITS = Codec(), Digits()
TIER = Choice(
    "tier",
    {"city": "市", "district": "区", "town": "镇", "village": "村"},
    {"街道": "town", "镇(街道)": "town", "社区": "village", "村(社区)": "village"},
)
STATION_KIND = Choice(
    "station kind",
    {"deputies_home": "代表之家", "town_center": "中心联络站", "village_station": "联络站", "workroom": "代表工作室"},
)
CONGRESS_LEVEL = Choice(
    "congress level",
    {"province": "省", "city": "市", "district": "区", "town": "镇"},
    {"省级": "province", "市级": "city", "区级": "district", "镇级": "town"},
)
GRID_ROLE = Choice("grid role", {"grid_leader": "网长", "grid_member": "网格员"})
HANDLER_KIND = Choice(
    "handler kind", {"district_department": "区直部门", "town_office": "镇站办所", "city_department": "市级部门"}
)
USER_ROLE = Choice(
    "user role",
    {
        "station_liaison": "联络员",
        "station_head": "站长",
        "town_staff": "镇人大办",
        "district_staff": "区人大工委",
        "handler": "承办单位",
        "deputy": "代表",
        "leader": "包抓领导",
        "oversight": "督查",
        "admin": "管理员",
    },
)
GENDER = Choice("gender", {"male": "男", "female": "女"})
CATEGORY = Choice(
    "category",
    {
        "serious_illness_aid": "大病救助",
        "medical_insurance": "医疗保险",
        "water_supply": "供水",
        "roads_and_landslides": "道路与滑坡",
        "sanitation": "环境卫生",
        "neighbour_disputes": "邻里纠纷",
        "hardship": "生活困难",
        "industry_loans": "产业贷款",
        "schooling": "就学",
        "employment": "就业",
        "other": "其他",
    },
)
DAY_OF_MONTH, WEEKDAY = Number("day of the month", 1, 31), Number("weekday (1 is Monday)", 1, 7)


@dataclass(frozen=True)
class Column:
    header: str  # what an office calls it
    field: str  # the entity field
    codec: Codec = TEXT

    def dump(self, entity: Entity) -> str:
        value = getattr(entity, self.field)
        return "" if value is None else self.codec.dump(value)


@dataclass(frozen=True)
class Roster:
    kind: str  # the entity name
    title: str  # the sheet's name
    columns: tuple[Column, ...]

    @cached_property
    def type(self) -> type[Entity]:
        return dict(zip(ENTITY_NAMES, ENTITY_TYPES, strict=True))[self.kind]

    @cached_property
    def field_types(self) -> dict[str, Any]:
        return {field.name: field.type for field in msgspec.structs.fields(self.type)}

    @cached_property
    def required(self) -> frozenset[str]:
        return frozenset(field.name for field in msgspec.structs.fields(self.type) if field.required)

    @property
    def headers(self) -> list[str]:
        return [column.header for column in self.columns]

    def column_named(self, header: str) -> Column | None:
        """The column a header names: its Chinese header, or its field name in any case."""
        header = header.strip().rstrip("*＊").strip()
        return next((c for c in self.columns if header in (c.header, c.field) or header.lower() == c.field), None)

    def cells(self, entity: Entity) -> list[str]:
        return [column.dump(entity) for column in self.columns]


_CODE = Column("编码", "code", DIGITS)
_PHONE = Column("电话", "phone", DIGITS)
ROSTERS: dict[str, Roster] = {
    roster.kind: roster
    for roster in (
        Roster(
            "admin_unit",
            "行政单元",
            (_CODE, Column("名称", "name"), Column("层级", "tier", TIER), Column("上级编码", "parent_code", DIGITS)),
        ),
        Roster(
            "station",
            "站点",
            (
                _CODE,
                Column("名称", "name"),
                Column("类型", "kind", STATION_KIND),
                Column("所属单元编码", "unit_code", DIGITS),
                Column("地点", "site"),
                Column("地址", "address"),
                _PHONE,
            ),
        ),
        Roster(
            "deputy",
            "代表",
            (
                _CODE,
                Column("姓名", "name"),
                Column("代表级别", "congress_level", CONGRESS_LEVEL),
                Column("编组站点编码", "station_code", DIGITS),
                _PHONE,
                Column("性别", "gender", GENDER),
                Column("职业", "occupation"),
            ),
        ),
        Roster("grid", "网格", (_CODE, Column("名称", "name"), Column("所属村编码", "village_code", DIGITS))),
        Roster(
            "grid_role",
            "网格人员",
            (
                _CODE,
                Column("网格编码", "grid_code", DIGITS),
                Column("角色", "role", GRID_ROLE),
                Column("姓名", "name"),
                _PHONE,
                Column("代表编码", "deputy_code", DIGITS),
            ),
        ),
        Roster(
            "handler",
            "承办单位",
            (
                _CODE,
                Column("名称", "name"),
                Column("类型", "kind", HANDLER_KIND),
                Column("所属单元编码", "unit_code", DIGITS),
                Column("受理类别", "categories", Several(CATEGORY)),
                _PHONE,
                Column("分管领导", "superior"),
            ),
        ),
        Roster(
            "leader",
            "包抓领导",
            (
                _CODE,
                Column("姓名", "name"),
                Column("职务", "title"),
                Column("包抓单元编码", "unit_code", DIGITS),
                _PHONE,
            ),
        ),
        Roster(
            "reception",
            "接访安排",
            (
                _CODE,
                Column("站点编码", "station_code", DIGITS),
                Column("接访代表编码", "deputy_codes", Several(DIGITS)),
                Column("每月日期", "days_of_month", Several(DAY_OF_MONTH)),
                Column("每周", "weekdays", Several(WEEKDAY)),
                Column("备注", "note"),
            ),
        ),
        Roster(
            "user",
            "用户",
            (
                Column("账号", "code", DIGITS),
                Column("姓名", "name"),
                Column("角色", "role", USER_ROLE),
                Column("单元编码", "unit_code", DIGITS),
                Column("部门编码", "handler_code", DIGITS),
                Column("代表编码", "deputy_code", DIGITS),
                _PHONE,
                Column("启用", "active", YesNo()),
            ),
        ),
    )
}
ROSTER_KINDS: tuple[str, ...] = tuple(kind for kind in ENTITY_NAMES if kind in ROSTERS)


def export_csv(entities: Iterable[Entity], kind: str) -> bytes:
    """One kind's roster as CSV: UTF-8 with a BOM, so Excel reads the Chinese; rows sorted by code."""
    roster = _roster(kind)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(roster.headers)
    writer.writerows(roster.cells(entity) for entity in _of_kind(entities, kind))
    return out.getvalue().encode("utf-8-sig")


def export_xlsx(entities: Iterable[Entity], kinds: Sequence[str] = ROSTER_KINDS) -> bytes:
    """A workbook with one sheet per kind (even an empty one, as a template), every cell text."""
    if not kinds:
        raise ValueError("no kinds to export")
    everything = list(entities)
    book = Workbook()
    book.remove(book.active)
    for kind in kinds:
        roster = _roster(kind)
        _write_sheet(book.create_sheet(roster.title), roster, _of_kind(everything, kind))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def parse_csv(data: bytes, kind: str) -> Parsed:
    roster = _roster(kind)
    try:
        lines = list(_csv_lines(_decode(data)))
    except (ValueError, csv.Error) as error:  # not text, or a cell past the csv module's size limit
        return Parsed(rows=(), problems=(Problem(field="file", reason=str(error), entity=kind),))
    table = _Table(roster, "file").read(lines)
    return Parsed(rows=tuple(table.rows), problems=tuple(table.problems))


def parse_xlsx(data: bytes, kinds: Sequence[str] | None = None) -> Parsed:
    """Reads every sheet named by a roster's title or kind (of `kinds`, default all) and ignores the others."""
    wanted = {
        _fold(name): roster
        for roster in map(_roster, ROSTER_KINDS if kinds is None else kinds)
        for name in (roster.title, roster.kind)
    }
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # openpyxl fails on a bad file in many ways: zip, XML, missing parts
        reason = f"not an Excel workbook (.xlsx): {error}"
        return Parsed(rows=(), problems=(Problem(field="file", reason=reason),))
    rows: list[Row] = []
    problems: list[Problem] = []
    try:
        sheets = [(sheet, wanted[_fold(sheet.title)]) for sheet in book.worksheets if _fold(sheet.title) in wanted]
        for sheet, roster in sheets:
            sheet.reset_dimensions()  # some writers declare a wrong size; read every row there is
            lines = (
                (n, [_cell_text(v) for v in values]) for n, values in enumerate(sheet.iter_rows(values_only=True), 1)
            )
            table = _Table(roster, "sheet", where=f"sheet {sheet.title}: ").read(lines)
            rows += table.rows
            problems += table.problems
        if not sheets:
            titles = ", ".join(dict.fromkeys(roster.title for roster in wanted.values()))
            reason = f"no sheet is a roster; name a sheet {titles} (or the English kind)"
            problems.append(Problem(field="file", reason=reason))
    finally:
        book.close()
    return Parsed(rows=tuple(rows), problems=tuple(problems))


@dataclass(frozen=True)
class _Layout:
    columns: list[Column | None]  # by position; None where a column is unknown or repeated
    complete: bool  # every required column is there


class _Table:
    """Reads one roster table, a header row then an entity a row, collecting every problem on the way."""

    def __init__(self, roster: Roster, source: str, where: str = "") -> None:
        self.roster, self.source, self.where = roster, source, where
        self.rows: list[Row] = []
        self.problems: list[Problem] = []
        self._lines_by_code: dict[str, int] = {}

    def read(self, lines: Iterable[tuple[int, list[str]]]) -> _Table:
        layout = None
        for line, cells in lines:
            if not any(cells):
                continue
            if layout is None:
                layout = self._layout(line, cells)
            else:
                self._row(line, cells, layout)
        if layout is None:
            headers = ", ".join(self.roster.headers)
            self._problem("file", f"the {self.source} is empty; its first row must be the header: {headers}")
        return self

    def _problem(self, field: str, reason: str, line: int | None = None, code: str | None = None) -> None:
        self.problems.append(
            Problem(field=field, reason=self.where + reason, line=line, entity=self.roster.kind, code=code)
        )

    def _layout(self, line: int, headers: list[str]) -> _Layout:
        columns: list[Column | None] = []
        for header in headers:
            column = self.roster.column_named(header) if header else None
            if header and column is None:
                expected = ", ".join(self.roster.headers)
                self._problem(
                    "header", f"unknown column '{header}'; expected {expected} (or the English field names)", line
                )
            elif column is not None and column in columns:
                self._problem(column.field, f"column '{header}' appears twice", line)
                column = None
            columns.append(column)
        missing = [c for c in self.roster.columns if c.field in self.roster.required and c not in columns]
        for column in missing:
            self._problem(column.field, f"missing column {column.header} ({column.field})", line)
        return _Layout(columns, complete=not missing)

    def _row(self, line: int, cells: list[str], layout: _Layout) -> None:
        texts = {column.field: text for column, text in zip(layout.columns, cells, strict=False) if column}
        code = texts.get("code") or None
        values, reasons = self._values(layout, texts)
        if code is not None and code in self._lines_by_code:
            reasons["code"] = f"code '{code}' is already on line {self._lines_by_code[code]}"
        elif code is not None:
            self._lines_by_code[code] = line
        for field, reason in reasons.items():
            self._problem(field, reason, line, code)
        if reasons or not layout.complete:
            return
        try:
            self.rows.append(Row(entity=msgspec.convert(values, self.roster.type), line=line))
        except msgspec.ValidationError as error:  # checked field by field already; kept as a safety net
            self._problem(_field_named(str(error)), _plain(str(error)), line, code)

    def _values(self, layout: _Layout, texts: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
        values: dict[str, Any] = {}
        reasons: dict[str, str] = {}
        for column in filter(None, layout.columns):
            text = texts.get(column.field, "")
            try:
                value = column.codec.load(text) if text else column.codec.empty
                if value is not None:
                    values[column.field] = msgspec.convert(value, self.roster.field_types[column.field])
                elif column.field in self.roster.required:
                    reasons[column.field] = f"{column.header} ({column.field}) is empty; it is required"
            except ValueError as error:  # msgspec.ValidationError is a ValueError too
                reasons[column.field] = _plain(str(error))
        return values, reasons


def _write_sheet(sheet: Worksheet, roster: Roster, entities: list[Entity]) -> None:
    sheet.append(roster.headers)
    for entity in entities:
        sheet.append([text or None for text in roster.cells(entity)])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            if cell.value is not None:
                cell.data_type = "s"  # text, even when it looks like a number or a formula
                cell.number_format = "@"
    for index, column in enumerate(roster.columns, start=1):
        letter = get_column_letter(index)
        texts = [
            column.header,
            *(str(cell.value or "") for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index)),
        ]
        sheet.column_dimensions[letter].width = min(max(8, *map(_display_width, texts)) + 2, 60)
        sheet.column_dimensions[letter].number_format = "@"  # what an office types in later stays text too
        if column.codec.choices:
            drop_down = DataValidation(type="list", formula1=f'"{",".join(column.codec.choices)}"', allow_blank=True)
            drop_down.add(f"{letter}2:{letter}1048576")
            sheet.add_data_validation(drop_down)


def _display_width(text: str) -> int:
    """Width in Excel's character units: a Chinese character is two."""
    lines = text.splitlines() or [""]
    return max(sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line) for line in lines)


def _roster(kind: str) -> Roster:
    if kind not in ROSTERS:
        raise ValueError(f"no roster for {kind!r}; expected one of {', '.join(ROSTER_KINDS)}")
    return ROSTERS[kind]


def _of_kind(entities: Iterable[Entity], kind: str) -> list[Entity]:
    return sorted((entity for entity in entities if entity_name(entity) == kind), key=lambda entity: entity.code)


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):  # GB18030 is what Chinese Excel saves CSV in
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            pass
    raise ValueError("the file is neither UTF-8 nor GB18030 text; save it from Excel as CSV UTF-8")


def _csv_lines(text: str) -> Iterator[tuple[int, list[str]]]:
    """Each record with the line it starts on (a quoted cell may span lines)."""
    reader = csv.reader(io.StringIO(text, newline=""))
    line = 1
    for record in reader:
        yield line, [cell.strip() for cell in record]
        line = reader.line_num + 1


def _cell_text(value: object) -> str:
    """A cell as text. Excel may hand back a code or phone typed as a number: 610902001001.0 is "610902001001"."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _plain(message: str) -> str:
    """A msgspec validation message in plain words, without the path."""
    message = re.sub(r" - at `\$[^`]*`$", "", message)
    message = re.sub(r"Expected `str` of length <= (\d+)", r"is longer than \1 characters", message)
    return re.sub(r"Object missing required field `(\w+)`", r"\1 is required", message)


def _field_named(message: str) -> str:
    match = re.search(r"`\$\.(\w+)", message) or re.search(r"field `(\w+)`", message)
    return match[1] if match else "row"
